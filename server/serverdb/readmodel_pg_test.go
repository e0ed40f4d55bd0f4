package serverdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb/serverdbtest"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// testPostgres opens a schema of its own in the PostgreSQL database that
// DOORSTEP_TEST_POSTGRES names, dropped after the test. Without the
// variable the test is skipped, except under CI=true, where it fails.
func testPostgres(t *testing.T) *sql.DB {
	t.Helper()
	dsn := os.Getenv("DOORSTEP_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but DOORSTEP_TEST_POSTGRES is empty: the PostgreSQL tests must run in CI")
		}
		t.Skip("DOORSTEP_TEST_POSTGRES is empty: set it to a PostgreSQL DSN to run the read model's queries on PostgreSQL")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "rm_test_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := admin.Exec(`CREATE SCHEMA ` + name); err != nil {
		t.Fatalf("create schema on %s: %v", dsn, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
		if err == nil {
			a.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
			a.Close()
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(serverdbtest.TestPoolMax) // several suites at once stay under max_connections
	t.Cleanup(func() { db.Close() })
	return db
}

// pgQuerier runs the store's SQL on PostgreSQL, its ? placeholders
// numbered as PostgreSQL wants them.
type pgQuerier struct{ db *sql.DB }

func (p pgQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return p.db.QueryContext(ctx, b.String(), args...)
}

// TestReadModelQueriesOnPostgres runs every figure query of the read model
// on PostgreSQL, over the PostgreSQL tables of
// schema/sql/server-pg/0010_read_model.sql holding the rows the SQLite
// store derived, and wants the very answers SQLite gives: the SQL is
// portable, and the "C" collation orders ids as SQLite and Go do.
func TestReadModelQueriesOnPostgres(t *testing.T) {
	t.Parallel()
	pg := testPostgres(t)
	ctx := context.Background()
	db, users := readModelStore(t)

	ddl, err := os.ReadFile(filepath.Join("..", "..", "schema", "sql", "server-pg", "0010_read_model.sql"))
	if err != nil {
		t.Fatal(err)
	}
	// 0010 indexes records (0001 on PostgreSQL): its
	// columns that index reads stand in for it.
	if _, err := pg.Exec(`CREATE TABLE records (id TEXT COLLATE "C" NOT NULL PRIMARY KEY, entity TEXT COLLATE "C" NOT NULL,
		case_id TEXT COLLATE "C" NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(string(ddl)); err != nil {
		t.Fatalf("apply server-pg/0010_read_model.sql: %v", err)
	}
	applyPGFile(t, pg, "0011_read_model_contacts_households.sql")
	applyPGFile(t, pg, "0012_read_model_reviews_referrals_enquiries.sql")
	applyPGFile(t, pg, "0013_rm_qa_ratings.sql")
	applyPGFile(t, pg, "0014_rm_visits_derived.sql")
	applyPGFile(t, pg, "0015_rm_visits_partial_indexes.sql")
	applyPGFile(t, pg, "0016_requirements_first_home.sql")
	applyPGFile(t, pg, "0019_report_set_covering_indexes.sql")
	applyPGFile(t, pg, "0020_team_officer_numbers.sql")
	applyPGFile(t, pg, "0025_rm_exempt.sql")
	applyPGFile(t, pg, "0028_rm_cases_contact_days.sql")
	applyPGFile(t, pg, "0030_requirements_start_day.sql")
	// The scope reads case_scope (0001 on PostgreSQL).
	if _, err := pg.Exec(`CREATE TABLE case_scope (case_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
		officer_id TEXT COLLATE "C" NOT NULL, team_id TEXT COLLATE "C" NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, table := range append(rmTables, "case_scope", "rm_ids") {
		copyTable(t, db.r, pg, table)
	}
	// rm_contact_totals (0023) counted by its migration from the rows
	// copied: the PostgreSQL statement's sums, held to SQLite's as written.
	applyPGFile(t, pg, "0023_rm_contact_totals.sql")

	// Totals (decision 0082): PostgreSQL's the same as SQLite's Counts
	// summed.
	for _, c := range totalsCases(users) {
		want := summedCounts(t, Figures{q: db.r}, c.a, c.q, c.names)
		got, err := Figures{q: pgQuerier{pg}}.Totals(ctx, c.a, c.q, c.names)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: PostgreSQL totals %v (%v), SQLite counts summed %v", c.label, got, err, want)
		}
	}
	nonzero := 0
	for _, a := range readModelActors(users) {
		for measure, names := range map[string][]string{MeasureExemptions: {"exempted", "due", "met", "missed", "met_despite_exemption"},
			MeasureWorkload: {"caseload", "due_cases", "overdue_cases"}, MeasureFirstHomeVisit: {"numerator", "denominator"}} {
			fq := FigureQuery{Measure: measure, From: "2026-05-26", To: "2026-08-24", AsOf: "2026-08-24"}
			want, err := Figures{q: db.r}.Totals(ctx, a, fq, names)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Figures{q: pgQuerier{pg}, pg: true}.Totals(ctx, a, fq, names)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s totals for %s: PostgreSQL %v (%v), SQLite %v", measure, a.Role, got, err, want)
			}
			if slices.Max(want) > 0 {
				nonzero++
			}
		}
	}
	if nonzero < 6 {
		t.Errorf("only %d of the families' totals had a figure above zero: the comparison tested little", nonzero)
	}

	// Measure 5's report in one statement (decision 0120): PostgreSQL's
	// counts, previous totals and case list the same as SQLite's
	// statements of their own, for an admin, a supervisor and an officer.
	for _, a := range readModelActors(users) {
		fq := FigureQuery{Measure: MeasureHouseholds, From: "2026-08-25", To: "2026-11-23", AsOf: "2026-11-23"}
		prev := FigureQuery{Measure: MeasureHouseholds, From: "2026-05-27", To: "2026-08-24", AsOf: "2026-08-24"}
		names, prevNames := FigureNames(MeasureHouseholds), []string{"confirmed.numerator", "confirmed.denominator"}
		cases := fq
		cases.Figure = "cases"
		var statements int
		var got, want [3]any
		for i, fs := range []Figures{{q: db.r}, newFigures(countingQuerier{pgQuerier{pg}, &statements}, true)} {
			counts, totals, err := fs.HouseholdCounts(ctx, a, fq, names, prev, prevNames)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := fs.Cases(ctx, a, cases, "", 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			*[]*[3]any{&want, &got}[i] = [3]any{counts, totals, ids}
		}
		if !reflect.DeepEqual(got, want) || statements != 1 || len(want[2].([]string)) == 0 {
			t.Errorf("measure 5 for %s: PostgreSQL in %d statements %v, SQLite's statements %v", a.Role, statements, got, want)
		}
	}

	// On a PostgreSQL snapshot (decision 0115): measure 8's planned visits
	// counted by its cases' family's tally, one statement for the five
	// figures' groups and cases (the answers are held to figureGroups' and
	// figureCases' below); measure 7's three kinds counted from two, the
	// flags' serving the domestic-abuse flags, the RoSH assessments' with
	// the report's cases (decision 0124).
	for _, a := range readModelActors(users) {
		var statements int
		fs := newFigures(countingQuerier{pgQuerier{pg}, &statements}, true)
		planned := 0
		for _, name := range []string{"caseload", "not_started", "da_cases", "high_rosh", "planned"} {
			q := FigureQuery{Measure: MeasureWorkload, Figure: name, AsOf: "2026-11-23"}
			groups, err := fs.Groups(ctx, a, q)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fs.Cases(ctx, a, q, "", 1<<30); err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				if name == "planned" {
					planned += g.Rows
				}
			}
		}
		if statements != 1 || planned == 0 {
			t.Errorf("measure 8's cases and planned visits for %s: %d statements on a PostgreSQL snapshot, want 1; %d visits planned, want some",
				a.Role, statements, planned)
		}
		statements = 0
		cases := FigureQuery{Measure: MeasureReviews, Figure: "cases", AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
		if _, err := fs.Groups(ctx, a, cases); err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Cases(ctx, a, cases, "", 1<<30); err != nil {
			t.Fatal(err)
		}
		for _, kind := range reviewKinds {
			var names []string
			for _, f := range reviewFigures {
				names = append(names, kind+"."+f)
			}
			q := FigureQuery{Measure: MeasureReviews, Figure: names[0], AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
			if _, err := fs.Sums(ctx, a, q, names); err != nil {
				t.Fatal(err)
			}
		}
		if statements != 2 {
			t.Errorf("measure 7's cases and three kinds for %s: %d statements on a PostgreSQL snapshot, want 2", a.Role, statements)
		}
		// Measure 6's groups list its needed figure's cases too (decision
		// 0133): the report's case list is no statement of its own, and
		// what figureCases answers on SQLite.
		statements = 0
		needed := FigureQuery{Measure: MeasureInterventions, Figure: "needed", AsOf: "2026-11-23", From: "2026-01-01", To: "2026-11-23"}
		if _, err := fs.InterventionGroups(ctx, a, needed, interventionFigures()); err != nil {
			t.Fatal(err)
		}
		all, err := figureCases(ctx, db.r, a, needed, "", 1<<30)
		if err != nil || len(all) < 2 {
			t.Fatalf("measure 6's needed cases for %s: %v (%v), want some", a.Role, all, err)
		}
		for _, after := range []string{"", all[len(all)/2]} {
			got, err := fs.Cases(ctx, a, needed, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			want, err := figureCases(ctx, db.r, a, needed, after, 7)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) || len(want) == 0 {
				t.Errorf("measure 6's needed cases after %q for %s on a PostgreSQL snapshot: %v, SQLite %v", after, a.Role, got, want)
			}
		}
		if statements != 1 {
			t.Errorf("measure 6's groups and cases for %s: %d statements on a PostgreSQL snapshot, want 1", a.Role, statements)
		}
	}

	actors := readModelActors(users)
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		for _, measure := range []string{MeasureOverdue, MeasureWorkload, MeasureFirstHomeVisit, MeasureContacts, MeasureHouseholds,
			MeasureReviews, MeasureInterventions, MeasureEnquiries, MeasureExemptions} {
			for _, name := range FigureNames(measure) {
				for _, a := range actors {
					q := FigureQuery{Measure: measure, Figure: name, AsOf: asOf, From: "2026-01-01", To: asOf, WithinDays: 15}
					if name == FigureNames(measure)[0] && (measure == MeasureContacts || measure == MeasureHouseholds) {
						label := fmt.Sprintf("%s counts on %s for %s", measure, asOf, a.Role)
						want, err := Figures{q: db.r}.Counts(ctx, a, q, FigureNames(measure))
						if err != nil {
							t.Fatalf("%s on SQLite: %v", label, err)
						}
						got, err := Figures{q: pgQuerier{pg}}.Counts(ctx, a, q, FigureNames(measure))
						if err != nil {
							t.Fatalf("%s on PostgreSQL: %v", label, err)
						}
						if len(want) == 0 || !reflect.DeepEqual(got, want) {
							t.Errorf("%s: PostgreSQL counts %+v, SQLite %+v", label, got, want)
						}
						// Listing (decision 0078): the same counts, and the
						// case list of every row from the same statement.
						all := q
						all.Figure = map[string]string{MeasureContacts: "contacts", MeasureHouseholds: "cases"}[measure]
						wantIDs, err := figureCases(ctx, db.r, a, all, "", 1<<30)
						if err != nil {
							t.Fatal(err)
						}
						var statements int
						fs := newFigures(countingQuerier{pgQuerier{pg}, &statements}, true)
						got, err = fs.CountsListing(ctx, a, q, FigureNames(measure))
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s listing on PostgreSQL: %+v (%v), SQLite %+v", label, got, err, want)
						}
						listed := statements
						gotIDs, err := fs.Cases(ctx, a, all, "", 1<<30)
						if err != nil || !reflect.DeepEqual(gotIDs, wantIDs) {
							t.Errorf("%s listing on PostgreSQL: cases %v (%v), SQLite %v", label, gotIDs, err, wantIDs)
						}
						if measure == MeasureContacts && (statements != listed || len(wantIDs) == 0) {
							t.Errorf("%s listing on PostgreSQL: %d statements for the cases after the counts (%d cases); want none", label,
								statements-listed, len(wantIDs))
						}
					}
					if measure == MeasureContacts && name == "contacts" {
						label := fmt.Sprintf("contacts elsewhere on %s for %s", asOf, a.Role)
						want, err := Figures{q: db.r}.ContactsElsewhere(ctx, a, q)
						if err != nil {
							t.Fatalf("%s on SQLite: %v", label, err)
						}
						got, err := Figures{q: pgQuerier{pg}}.ContactsElsewhere(ctx, a, q)
						if err != nil {
							t.Fatalf("%s on PostgreSQL: %v", label, err)
						}
						if len(want) == 0 || !reflect.DeepEqual(got, want) {
							t.Errorf("%s: PostgreSQL lists %d, SQLite %d (%v vs %v)", label, len(got), len(want), got, want)
						}
						// On a snapshot: from one aggregated text (decision 0102).
						got, err = Figures{q: pgQuerier{pg}, pg: true}.ContactsElsewhere(ctx, a, q)
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s on a PostgreSQL snapshot: %d (%v), SQLite %d", label, len(got), err, len(want))
						}
					}
					if measure == MeasureInterventions && name == "needed" { // one statement (decision 0102), held to SQLite's a figure
						checkInterventionGroups(t, fmt.Sprintf("measure 6 on %s for %s", asOf, a.Role), Figures{q: pgQuerier{pg}, pg: true}, db.r, a, q)
					}
					label := fmt.Sprintf("%s.%s on %s for %s", measure, name, asOf, a.Role)
					want, err := figureGroups(ctx, db.r, a, q)
					if err != nil {
						t.Fatalf("%s on SQLite: %v", label, err)
					}
					got, err := figureGroups(ctx, pgQuerier{pg}, a, q)
					if err != nil {
						t.Fatalf("%s on PostgreSQL: %v", label, err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s: PostgreSQL counts %+v, SQLite %+v", label, got, want)
					}
					if _, ok := tallyFamilyOf(measure, name, true); ok { // counted with its family in one pass, on both stores
						for store, fs := range map[string]Figures{"SQLite": {q: db.r, tallies: map[tallyKey]*familyTally{}},
							"PostgreSQL":        {q: pgQuerier{pg}, tallies: map[tallyKey]*familyTally{}, pg: true},
							"a SQLite snapshot": newFigures(db.r, false), "a PostgreSQL snapshot": newFigures(pgQuerier{pg}, true)} {
							got, err := fs.Groups(ctx, a, q)
							if err != nil || !reflect.DeepEqual(got, want) {
								t.Errorf("%s with its family on %s: %+v (%v), a statement of its own %+v", label, store, got, err, want)
							}
						}
					}
					wantIDs, err := figureCases(ctx, db.r, a, q, "", 1000)
					if err != nil {
						t.Fatal(err)
					}
					if _, ok := tallyFamilyOf(measure, name, true); ok { // its cases from its family's tally, on both stores
						for store, fs := range map[string]Figures{"SQLite": newFigures(db.r, false), "PostgreSQL": newFigures(pgQuerier{pg}, true)} {
							got, err := fs.Cases(ctx, a, q, "", 1000)
							if err != nil || !reflect.DeepEqual(got, wantIDs) {
								t.Errorf("%s cases with its family on %s: %v (%v), a statement of its own %v", label, store, got, err, wantIDs)
							}
						}
					}
					gotIDs, err := figureCases(ctx, pgQuerier{pg}, a, q, "", 1000)
					if err != nil {
						t.Fatalf("%s cases on PostgreSQL: %v", label, err)
					}
					if !reflect.DeepEqual(gotIDs, wantIDs) {
						t.Errorf("%s: PostgreSQL lists %v, SQLite %v", label, gotIDs, wantIDs)
					}
					if measure == MeasureEnquiries && name == "cases" { // an agency's cases read once a snapshot (decision 0067)
						want := enquiriesOnSnapshot(ctx, t, Figures{q: db.r}, a, q)
						got := enquiriesOnSnapshot(ctx, t, Figures{q: pgQuerier{pg}, pg: true, tallies: map[tallyKey]*familyTally{},
							enquiries: map[enquiryKey][]enquiryCase{}}, a, q)
						if !reflect.DeepEqual(got, want) {
							t.Errorf("%s read once on PostgreSQL: %+v, SQLite a statement a figure %+v", label, got, want)
						}
					}
					if measure == MeasureEnquiries && strings.HasSuffix(name, ".answered") { // the days
						want, _ := enquiryDays(ctx, db.r, a, q)
						got, err := enquiryDays(ctx, pgQuerier{pg}, a, q)
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s days: PostgreSQL %+v (%v), SQLite %+v", label, got, err, want)
						}
					}
					if measure == MeasureEnquiries && strings.HasSuffix(name, ".not_requested") { // the reasons
						want, _ := notRequestedReasons(ctx, db.r, a, q)
						got, err := notRequestedReasons(ctx, pgQuerier{pg}, a, q)
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s reasons: PostgreSQL %+v (%v), SQLite %+v", label, got, err, want)
						}
					}
					if base := figureBases[measure]; base != nil && name != "cases" { // and with its family, in one pass
						family, _, _ := strings.Cut(strings.TrimPrefix(name, "inspection."), ".")
						var names []string
						for _, n := range FigureNames(measure) {
							if strings.HasPrefix(n, family+".") || strings.HasPrefix(n, "inspection."+family+".") {
								names = append(names, n)
							}
						}
						want, err := figureSums(ctx, db.r, a, q, names)
						if err != nil {
							t.Fatal(err)
						}
						got, err := figureSums(ctx, pgQuerier{pg}, a, q, names)
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s in one pass: PostgreSQL %+v (%v), SQLite %+v", label, got, err, want)
						}
						if measure == MeasureReviews { // on a snapshot, from the reviews by status (decision 0115)
							share := []string{family + ".on_time.numerator", family + ".on_time.denominator"}
							wantShare, err := figureSums(ctx, db.r, a, q, share)
							if err != nil {
								t.Fatal(err)
							}
							for store, fs := range map[string]Figures{"SQLite": newFigures(db.r, false), "PostgreSQL": newFigures(pgQuerier{pg}, true)} {
								got, err := fs.Sums(ctx, a, q, names)
								if err != nil || !reflect.DeepEqual(got, want) {
									t.Errorf("%s on a snapshot on %s: %+v (%v), figureSums %+v", label, store, got, err, want)
								}
								got, err = fs.Sums(ctx, a, q, share)
								if err != nil || !reflect.DeepEqual(got, wantShare) {
									t.Errorf("%s's share on a snapshot on %s: %+v (%v), figureSums %+v", label, store, got, err, wantShare)
								}
							}
						}
					}
					if measure == MeasureInterventions { // counted by need and status too
						want, err := keyedGroups(ctx, db.r, a, q, "need", "st")
						if err != nil {
							t.Fatal(err)
						}
						got, err := keyedGroups(ctx, pgQuerier{pg}, a, q, "need", "st")
						if err != nil || !reflect.DeepEqual(got, want) {
							t.Errorf("%s by need and status: PostgreSQL %+v (%v), SQLite %+v", label, got, err, want)
						}
						wantN, _ := notReferred(ctx, db.r, a, q)
						gotN, err := notReferred(ctx, pgQuerier{pg}, a, q)
						if err != nil || !reflect.DeepEqual(gotN, wantN) {
							t.Errorf("%s not referred: PostgreSQL %+v (%v), SQLite %+v", label, gotN, err, wantN)
						}
					}
					wantMembers, err := Figures{q: db.r}.Members(ctx, a, q)
					if err != nil {
						t.Fatal(err)
					}
					gotMembers, err := Figures{q: pgQuerier{pg}}.Members(ctx, a, q)
					if err != nil {
						t.Fatalf("%s members on PostgreSQL: %v", label, err)
					}
					if !reflect.DeepEqual(gotMembers, wantMembers) {
						t.Errorf("%s: PostgreSQL's members %v, SQLite's %v", label, gotMembers, wantMembers)
					}
				}
			}
		}
		for _, a := range actors { // measure 10's eligible cases and latest ratings
			q := QAQuery{From: "2026-01-01", End: asOf}
			if a.Role == schema.RoleOfficer {
				q.OfficerID = a.UserID
			}
			for _, f := range []func(Figures) (any, error){
				func(f Figures) (any, error) { return f.QAEligible(ctx, a, q) },
				func(f Figures) (any, error) { return f.QARatings(ctx, a, q) },
				func(f Figures) (any, error) { // the overview's window read once (decision 0077), a week of it
					w, err := f.QAWindow(ctx, a, q)
					if err != nil {
						return nil, err
					}
					week := QAQuery{From: "2026-03-02", End: "2026-03-08", OfficerID: q.OfficerID}
					e, err := w.Eligible(week)
					if err != nil {
						return nil, err
					}
					r, err := w.Ratings(week)
					return [][]any{{e, r}}, err
				},
			} {
				want, err := f(Figures{q: db.r})
				if err != nil {
					t.Fatalf("measure 10 on SQLite: %v", err)
				}
				got, err := f(Figures{q: pgQuerier{pg}})
				if err != nil {
					t.Fatalf("measure 10 on PostgreSQL: %v", err)
				}
				if !reflect.DeepEqual(got, want) || reflect.ValueOf(want).Len() == 0 {
					t.Errorf("measure 10 on %s for %s: PostgreSQL %+v, SQLite %+v", asOf, a.Role, got, want)
				}
			}
		}
		for _, a := range actors { // the exemptions report's reasons
			q := FigureQuery{AsOf: asOf, From: "2026-01-01", To: asOf}
			want, err := Figures{q: db.r}.ExemptedRequirements(ctx, a, q)
			if err != nil {
				t.Fatalf("exempted requirements on SQLite: %v", err)
			}
			got, err := Figures{q: pgQuerier{pg}}.ExemptedRequirements(ctx, a, q)
			if err != nil {
				t.Fatalf("exempted requirements on PostgreSQL: %v", err)
			}
			if !reflect.DeepEqual(got, want) || (a.Role == schema.RoleAdmin && len(want) == 0) {
				t.Errorf("exempted requirements on %s for %s: PostgreSQL %+v, SQLite %+v", asOf, a.Role, got, want)
			}
			// On a snapshot, after the report's counts, of the exempted
			// figure's cases alone (decision 0107): one statement more,
			// none when it has no case.
			var sqls []string
			fs := newFigures(recordingQuerier{pgQuerier{pg}, &sqls}, true)
			ex := q
			ex.Measure, ex.Figure = MeasureExemptions, "exempted"
			if _, err := fs.Groups(ctx, a, ex); err != nil {
				t.Fatal(err)
			}
			got, err = fs.ExemptedRequirements(ctx, a, q)
			if wantN := 1 + min(len(want), 1); err != nil || !reflect.DeepEqual(got, want) || len(sqls) != wantN ||
				(len(want) > 0 && !strings.Contains(sqls[len(sqls)-1], "r.case_id = ANY(")) {
				t.Errorf("exempted requirements on %s for %s on a PostgreSQL snapshot: %+v (%v), %d statements with the counts, the last %s; SQLite %+v, want %d, the last of the exempted cases",
					asOf, a.Role, got, err, len(sqls), sqls[len(sqls)-1], want, wantN)
			}
		}
		for _, a := range actors { // measure 1's exempted cases' reasons
			q := FigureQuery{Measure: MeasureFirstHomeVisit, AsOf: asOf, From: "2026-01-01", To: asOf}
			want, err := figureExcuses(ctx, db.r, a, q)
			if err != nil {
				t.Fatalf("excuses on SQLite: %v", err)
			}
			got, err := figureExcuses(ctx, pgQuerier{pg}, a, q)
			if err != nil || !reflect.DeepEqual(got, want) || (a.Role == schema.RoleAdmin && len(want) == 0) {
				t.Errorf("excuses on %s for %s: PostgreSQL %+v (%v), SQLite %+v", asOf, a.Role, got, err, want)
			}
			// On a snapshot, after the report's counts, the exempted
			// figure's cases read by key (decision 0107): one statement
			// more, none when it has no case.
			var sqls []string
			fs := newFigures(recordingQuerier{pgQuerier{pg}, &sqls}, true)
			ex := q
			ex.Figure = "exempted"
			if _, err := fs.Groups(ctx, a, ex); err != nil {
				t.Fatal(err)
			}
			got, err = fs.Excuses(ctx, a, q)
			if wantN := 1 + min(len(want), 1); err != nil || !reflect.DeepEqual(got, want) || len(sqls) != wantN ||
				(len(want) > 0 && strings.Contains(sqls[len(sqls)-1], "requirements")) {
				t.Errorf("excuses on %s for %s on a PostgreSQL snapshot: %+v (%v), %d statements with the counts, the last %s; SQLite %+v, want %d, the last of rm_cases and rm_safety",
					asOf, a.Role, got, err, len(sqls), sqls[len(sqls)-1], want, wantN)
			}
		}
		for _, a := range actors { // measures 1's to 8's and the exemptions' weekly trends (readmodel_trends.go)
			var weeks []Week
			for end := asOf.Time(); end.After(asOf.Time().AddDate(0, 0, -91)); end = end.AddDate(0, 0, -7) {
				weeks = append([]Week{{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)}}, weeks...)
			}
			for _, q := range []FigureQuery{{Measure: MeasureFirstHomeVisit, Figure: "denominator", AsOf: asOf},
				{Measure: MeasureEnquiries, Figure: "police.needed", AsOf: asOf, WithinDays: 15},
				{Measure: MeasureInterventions, Figure: "referred_share.denominator", AsOf: asOf},
				{Measure: MeasureExemptions, Figure: "due", AsOf: asOf},
				{Measure: MeasureReviews, Figure: "flags.on_time.denominator", AsOf: asOf},
				{Measure: MeasureContacts, Figure: "home_share.denominator", AsOf: asOf},
				{Measure: MeasureHouseholds, Figure: "children_seen.denominator", AsOf: asOf},
				{Measure: MeasureOverdue, Figure: "cases", AsOf: asOf},
				{Measure: MeasureWorkload, Figure: "due_cases", AsOf: asOf}} {
				want, err := Figures{q: db.r}.Weeks(ctx, a, q, weeks)
				if err != nil {
					t.Fatalf("%s by week on SQLite: %v", q.Measure, err)
				}
				got, err := Figures{q: pgQuerier{pg}}.Weeks(ctx, a, q, weeks)
				if err != nil {
					t.Fatalf("%s by week on PostgreSQL: %v", q.Measure, err)
				}
				if !reflect.DeepEqual(got, want) || (a.Role == schema.RoleAdmin && !slices.ContainsFunc(want, func(n int) bool { return n > 0 })) {
					t.Errorf("%s by week on %s for %s: PostgreSQL %v, SQLite %v", q.Measure, asOf, a.Role, got, want)
				}
				// The share's numerator with it, in one statement (WeeksOf,
				// decision 0072): each what Weeks gives alone, on both stores.
				if q.Measure == MeasureOverdue || q.Measure == MeasureWorkload {
					continue // a count, not a share
				}
				num := q
				num.Figure = shareNumerator[q.Figure]
				wantNum, err := Figures{q: db.r}.Weeks(ctx, a, num, weeks)
				if err != nil {
					t.Fatalf("%s by week on SQLite: %v", num.Figure, err)
				}
				for _, fs := range []Figures{{q: db.r}, {q: pgQuerier{pg}}} {
					both, err := fs.WeeksOf(ctx, a, q, []string{num.Figure, q.Figure}, weeks)
					if err != nil {
						t.Fatalf("%s's share by week: %v", q.Measure, err)
					}
					if !reflect.DeepEqual(both, [][]int{wantNum, want}) {
						t.Errorf("%s's share by week on %s for %s: one statement %v, one a figure %v and %v", q.Measure, asOf, a.Role, both, wantNum, want)
					}
				}
			}
		}
	}
}

// shareNumerator is, by the denominator of a share with a weekly trend,
// its numerator.
var shareNumerator = map[string]string{"denominator": "numerator", "police.needed": "police.answered",
	"referred_share.denominator": "referred_share.numerator", "due": "exempted", "flags.on_time.denominator": "flags.on_time.numerator",
	"home_share.denominator": "home_share.numerator", "children_seen.denominator": "children_seen.numerator"}

// applyPGFile applies one file of schema/sql/server-pg.
func applyPGFile(t *testing.T, pg *sql.DB, name string) {
	t.Helper()
	ddl, err := os.ReadFile(filepath.Join("..", "..", "schema", "sql", "server-pg", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(string(ddl)); err != nil {
		t.Fatalf("apply server-pg/%s: %v", name, err)
	}
}

// copyTable copies every row of table from the SQLite store to
// PostgreSQL.
func copyTable(t *testing.T, from, to *sql.DB, table string) {
	t.Helper()
	rows, err := from.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = fmt.Sprintf("$%d", i+1)
	}
	ins := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		if _, err := to.Exec(ins, vals...); err != nil {
			t.Fatalf("copy %s: %v", table, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// readModelStore is a store holding a synthetic service of two teams,
// with safety assessments that exempt some cases (one decided months
// after it was made) and a closed case: a SQLite file in either run, so
// its tests skip in the suite's PostgreSQL run, which would repeat them.
// It is built once a run and copied for each test (serverdbtest.Copy).
func readModelStore(t *testing.T) (*DB, []schema.User) {
	t.Helper()
	serverdbtest.NotTheEngines(t, "a SQLite store of its own")
	path := serverdbtest.Copy(t, "the read model's synthetic service", buildReadModelStore)
	db, err := Open(context.Background(), path, Options{Now: testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour)).Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, readModelUsers
}

// readModelUsers are the users of readModelStore's service, set when it
// is built (once a run); tests read them, never change them.
var readModelUsers []schema.User

// buildReadModelStore makes readModelStore's store at path, once a run
// (serverdbtest.Copy): every test opens a copy of it.
func buildReadModelStore(t testing.TB, path string) {
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour))
	db, err := Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds := synth.Generate(synth.Options{Seed: 21, Teams: 2, OfficersPerTeam: 3, CasesPerOfficer: 30, HistoryDays: 400})
	admin := Actor{UserID: "setup", Role: schema.RoleAdmin}
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, admin, tm); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Seed(ctx, admin, ds.Records); err != nil {
		t.Fatal(err)
	}
	// DA risk assessment ratings (measure 10): of every fourth case, two
	// days apart, the second the other way; some at the same instant.
	var ratings []schema.Record
	k := 0
	for _, r := range ds.Records {
		if r.Entity != "case" {
			continue
		}
		if k++; k%4 != 0 {
			continue
		}
		for i, decision := range []string{"sufficient", "insufficient"}[:1+k/4%2] {
			at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC).AddDate(0, 0, k*2+i*2*(k%3))
			ratings = append(ratings, schema.Record{Entity: "oversight", ID: schema.NewID(), CaseID: r.ID,
				Fields: schema.FieldsOf(schema.Oversight{SubjectEntity: "case", SubjectID: r.ID, Aspect: schema.AspectDARiskAssessment,
					Decision: decision, Reason: "checked", By: "setup", At: schema.Timestamp(at.Format(time.RFC3339))})})
		}
	}
	if err := db.Seed(ctx, admin, ratings); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range ds.Records {
		if r.Entity != "case" {
			continue
		}
		n++
		var c schema.Case
		b, _ := json.Marshal(r.Fields)
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		start := c.SupervisionStart.Time()
		day := func(d int) string { return string(schema.DateOf(start.AddDate(0, 0, d))) }
		var fields map[string]json.RawMessage
		switch n % 6 {
		case 0:
			fields = raw("address", "9 Other Road", "assessed_on", day(1), "decision", "exempted", "decided_on", day(2))
			if c.Address != "" {
				fields["address"], _ = json.Marshal(c.Address)
			}
		case 1:
			fields = raw("address", "9 Other Road", "assessed_on", day(1), "decision", "not_approved", "decided_on", day(90))
			if c.Address != "" {
				fields["address"], _ = json.Marshal(c.Address)
			}
		case 2:
			if _, err := db.Write(ctx, admin, "case", r.ID, "", raw("closed", true)); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			continue
		}
		if _, err := db.Write(ctx, admin, "safety_assessment", "", r.ID, fields); err != nil {
			t.Fatal(err)
		}
	}
	readModelUsers = ds.Users
}
