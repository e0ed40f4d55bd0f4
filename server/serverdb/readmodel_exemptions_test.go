package serverdb

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestExemptionsReportStatementsOnASnapshot: what the exemptions report
// asks of one snapshot (every figure's groups, the cases of its member
// figures, the exempted requirements with their reasons) is three
// statements (decision 0107): the requirements' family's tally, the
// safety figures' tally, and the exempted requirements. Each answer is
// what a statement of its own gives (figureGroups, figureCases, the
// reasons without a snapshot's tallies). On main the safety figures were
// a statement each for their groups and again for their cases: six.
func TestExemptionsReportStatementsOnASnapshot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	listed := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		for _, a := range readModelActors(users) {
			label := fmt.Sprintf("on %s for %s", asOf, a.Role)
			base := FigureQuery{Measure: MeasureExemptions, AsOf: asOf, From: "2026-01-01", To: asOf}
			var statements int
			fs := newFigures(countingQuerier{db.r, &statements}, db.Engine() == "postgres")
			for _, name := range FigureNames(MeasureExemptions) {
				q := base
				q.Figure = name
				want, err := figureGroups(ctx, db.r, a, q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := fs.Groups(ctx, a, q)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: groups %+v (%v) on the snapshot, %+v a statement of its own", name, label, got, err, want)
				}
			}
			for _, name := range []string{"due", "safety_not_approved", "safety_exempted"} {
				q := base
				q.Figure = name
				want, err := figureCases(ctx, db.r, a, q, "", 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				listed += len(want)
				got, err := fs.Cases(ctx, a, q, "", 1<<30)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s: cases %v (%v) on the snapshot, %v a statement of its own", name, label, got, err, want)
				}
			}
			want, err := Figures{q: db.r}.ExemptedRequirements(ctx, a, base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := fs.ExemptedRequirements(ctx, a, base)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("exempted requirements %s: %+v (%v) on the snapshot, %+v without", label, got, err, want)
			}
			if statements != 3 {
				t.Errorf("the exemptions report %s: %d statements on the snapshot, want 3", label, statements)
			}
		}
	}
	if listed == 0 {
		t.Fatal("no figure listed a case: the test tests nothing")
	}
}

// TestPerCaseFamiliesReadUngrouped: the families whose rows are rows of
// rm_cases (measure 1's, measure 8's of cases, measure 7's cases, the
// exemptions' safety figures) are tallied without a GROUP BY (decision
// 0107), and their rows are indeed one a case: count(*) is
// count(DISTINCT case_id) for every actor, on as_of days either side of
// a quarter's end. The families of requirements are grouped by case.
func TestPerCaseFamiliesReadUngrouped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	perCase := map[string]bool{}
	for measure, families := range figureFamilies {
		for _, fam := range families {
			q, err := tallyQuery(false, Actor{UserID: "admin", Role: schema.RoleAdmin}, fam,
				FigureQuery{Measure: measure, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}, 20780)
			if err != nil {
				t.Fatal(err)
			}
			grouped := strings.HasSuffix(q.b.String(), "GROUP BY b.team_id, b.officer_id, b.case_id")
			if grouped == fam.perCase {
				t.Errorf("%s's family %s: grouped %v, one row a case %v", measure, fam.name, grouped, fam.perCase)
			}
			if fam.perCase {
				perCase[measure+"."+fam.name] = true
			}
		}
	}
	want := map[string]bool{MeasureFirstHomeVisit + ".cases": true, MeasureWorkload + ".cases": true, MeasureReviews + ".cases": true,
		MeasureExemptions + ".safety": true}
	if !reflect.DeepEqual(perCase, want) {
		t.Errorf("the families tallied one row a case: %v; want %v", perCase, want)
	}
	rows := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-10-01"} {
		for measure, families := range figureFamilies {
			for _, fam := range families {
				if !fam.perCase {
					continue
				}
				for _, a := range readModelActors(users) {
					f := FigureQuery{Measure: measure, Figure: fam.figures[0], AsOf: asOf, From: "2026-07-01", To: asOf}
					d, _ := dayNumber(asOf)
					q := (&sqlb{}).within(a, f)
					if err := fam.rows(q, a, f, d); err != nil {
						t.Fatal(err)
					}
					var n, cases int
					err := db.r.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT case_id) FROM (`+q.b.String()+`) b`, q.args...).
						Scan(&n, &cases)
					if err != nil || n != cases {
						t.Errorf("%s's family %s on %s for %s: %d rows of %d cases (%v); want one a case", measure, fam.name, asOf, a.Role,
							n, cases, err)
					}
					rows += n
				}
			}
		}
	}
	if rows == 0 {
		t.Fatal("no family had a row: the test tests nothing")
	}
}

// TestExemptionsReadThePeriodsRequirementsByDueDay: the exemptions
// report's statements over requirements (its family's tally, the
// previous period's totals, a figure's rows, the exempted requirements
// with their reasons) ask for the period of the due day, a number, from
// the period's first day to its last, not of due_on, its text (decision
// 0122), so that each store reads the period's requirements by an index
// of their due day (PostgreSQL requirements_due, SQLite the skip-scan of
// requirements_team) where PostgreSQL read every requirement of the
// service and kept those whose due_on fell in the period. The rows are
// the same (a requirement's due_day is its due_on's day number,
// writeRequirements), and the answers stay the Go measures' (the
// compliance package's TestReadModelExemptionsAgree and
// TestReadModelAgreesWithTheGoMeasures). On PostgreSQL the index covers
// the columns they read (migration 0027): a quarter's requirements lie on
// nearly every heap page, so without it the range read the whole table.
func TestExemptionsReadThePeriodsRequirementsByDueDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	fq := FigureQuery{Measure: MeasureExemptions, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
	from, _ := dayNumber(fq.From)
	statements := exemptionsStatements(t, pg, f.admin, fq)
	fq.Figure = "missed"
	rows, err := figureRows(f.admin, fq)
	if err != nil {
		t.Fatal(err)
	}
	statements["missed's rows"] = rows
	for what, q := range statements {
		if !strings.Contains(q.b.String(), "r.due_day >= ?") || !slices.Contains(q.args, any(from)) ||
			strings.Contains(q.b.String(), "r.due_on >=") {
			t.Errorf("%s: the period is not asked of the due day (from %d) alone: %s", what, from, q.b.String())
		}
		plan := explainWithout(t, f.db, q, "SET LOCAL enable_seqscan = off")
		bounded := false
		for _, line := range strings.Split(plan, "\n") {
			if pg && strings.Contains(line, "Cond: (") && strings.Contains(line, "due_day >= ") && strings.Contains(line, "due_day <= ") &&
				strings.Contains(plan, "requirements_due on requirements") ||
				!pg && strings.Contains(line, "SEARCH r USING") && strings.Contains(line, "due_day>? AND due_day<?") {
				bounded = true
			}
		}
		if !bounded {
			t.Errorf("%s: the plan reads no range of the requirements' due days:\n%s", what, plan)
		}
	}
	if pg {
		// Migrations 0027 and 0030: the index holds every column the tally
		// and the totals read of a requirement (the case's start day too), so that PostgreSQL reads a
		// period's requirements from it alone (an Index Only Scan on a
		// store vacuumed since its last writes), where the heap pages it
		// read were every page of the table.
		def := rmRow(t, f.db, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'requirements_due'`)
		if len(def) != 1 || !strings.HasSuffix(def[0], "(due_day) INCLUDE (case_id, team_id, officer_id, met_day, triggered_day, start_day)") {
			t.Errorf("requirements_due is %q; want it on due_day, including the columns the exemptions' statements read", def)
		}
	}
}

// TestRequirementsCarryTheirCasesStart: each requirement row carries its
// case's supervision start as a day number (start_day, migration 0030,
// decision 0144), as rm_cases has it, after a case's start is moved later
// and back and after a rebuild; a requirement of a case started by a day
// is one with start_day by then, on every day around the moves, as the
// join to rm_cases said. On PostgreSQL the exemptions report's statements
// (the requirements' tally, the previous quarter's totals, the exempted
// requirements) read it and not rm_cases (requirements_due holds it:
// TestExemptionsReadThePeriodsRequirementsByDueDay).
func TestRequirementsCarryTheirCasesStart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	pg := f.db.Engine() == "postgres"
	caseID := f.ashaCase
	check := func(what string) {
		t.Helper()
		if n := rowCount(t, f.db, `SELECT count(*) FROM requirements WHERE case_id = ?`, caseID); n == 0 {
			t.Fatalf("%s: the case has no requirement rows: the test tests nothing", what)
		}
		if n := rowCount(t, f.db, `SELECT count(*) FROM requirements r JOIN rm_cases c ON c.case_id = r.case_id
			WHERE coalesce(r.start_day, -1) <> coalesce(c.start_day, -1)`); n != 0 {
			t.Errorf("%s: %d requirement rows whose start_day is not their case's", what, n)
		}
		for _, day := range []schema.Date{"2025-01-01", "2026-01-31", "2026-02-01", "2026-11-23", "2026-11-30", "2026-12-01", "2027-01-01"} {
			d, _ := dayNumber(day)
			joined := rowCount(t, f.db, `SELECT count(*) FROM requirements r JOIN rm_cases c ON c.case_id = r.case_id
				WHERE c.supervision_start <> '' AND c.supervision_start <= ?`, string(day))
			if own := rowCount(t, f.db, `SELECT count(*) FROM requirements r WHERE r.start_day <= ?`, d); own != joined {
				t.Errorf("%s: on %s %d requirements of cases started by start_day, %d by the case's start", what, day, own, joined)
			}
		}
	}
	check("as seeded")
	if _, err := f.db.Write(ctx, f.admin, "case", caseID, caseID, raw("supervision_start", "2026-12-01")); err != nil {
		t.Fatal(err)
	}
	check("the case's start moved after as_of")
	if _, err := f.db.Write(ctx, f.admin, "case", caseID, caseID, raw("supervision_start", "2026-02-01")); err != nil {
		t.Fatal(err)
	}
	check("the case's start moved back")
	if err := f.db.update(ctx, func(tx *wtx) error { return f.db.writeCases(tx, []string{caseID}) }); err != nil {
		t.Fatal(err)
	}
	check("the case rebuilt")
	if !pg {
		return
	}
	fq := FigureQuery{Measure: MeasureExemptions, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
	for what, q := range exemptionsStatements(t, pg, f.admin, fq) {
		if s := q.b.String(); strings.Contains(s, "rm_cases") || !strings.Contains(s, "r.start_day <= ?") {
			t.Errorf("%s: reads rm_cases, or not the requirement's start_day: %s", what, s)
		}
	}
	// A team's requirements (an overview's panel) are read from
	// requirements_team, which holds the start day too.
	def := rmRow(t, f.db, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'requirements_team'`)
	if len(def) != 1 || !strings.HasSuffix(def[0], "closed, case_id, start_day)") {
		t.Errorf("requirements_team is %q; want it to hold start_day", def)
	}
}

// exemptionsStatements are the exemptions report's statements of
// requirements for fq on the store (pg): the requirements' tally, the
// previous quarter's totals and the exempted requirements' (as
// ExemptedRequirements writes it: its text is not kept apart), by name.
func exemptionsStatements(t *testing.T, pg bool, actor Actor, fq FigureQuery) map[string]*sqlb {
	t.Helper()
	d, _ := dayNumber(fq.AsOf)
	tallied, err := tallyQuery(pg, actor, exemptionsDueFamily, fq, d)
	if err != nil {
		t.Fatal(err)
	}
	totals, _, err := totalsQuery(pg, actor, fq, []string{"exempted", "due"}, 0, make([]bool, 2))
	if err != nil {
		t.Fatal(err)
	}
	reasons := &sqlb{pg: pg}
	reasons.add(`SELECT r.case_id FROM requirements r JOIN rm_exempt a ON `)
	reasons.exemptingAssessment("a", "r.case_id", fq.AsOf, "")
	if err := exemptionsDue(reasons, actor, fq, d); err != nil {
		t.Fatal(err)
	}
	return map[string]*sqlb{"the tally": tallied, "the totals": totals, "the reasons": reasons}
}
