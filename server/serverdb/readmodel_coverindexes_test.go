package serverdb

import (
	"context"
	"strings"
	"testing"
)

// TestReportSetReadsItsCoveringIndexes: the indexes of migration 0019
// (decision 0087) are the ones the report set's statements read. Measure
// 8's planned visits read rm_visits_planned on both stores (PostgreSQL
// scanned every visit for them, SQLite probed every case's). On SQLite,
// where the join to each visit's or requirement's case and the
// requirements' other columns were a seek into the table a row, measure
// 3's contacts read their case from rm_cases_join alone, and the
// exemptions report's requirements from requirements_team alone; measure
// 2's and 8's requirements not met read requirements_unmet alone and
// requirements_met (migration 0026, decision 0124).
// serviceStats are the statistics of rm_cases', rm_visits' and the
// requirements' indexes that PRAGMA optimize wrote at the open of a
// 25,000-case store (doorstep bench service) with migration 0019
// (rm_visits_contacts' rows those of the signed contacts alone since
// migration 0022; rm_visits_started dropped; rm_visits_home, migration
// 0024, by the count of its entries in that store; requirements_unmet and
// requirements_met, migration 0026, as PRAGMA optimize wrote them at the
// first open of that store with it).
var serviceStats = [][3]string{
	{"rm_cases", "sqlite_autoindex_rm_cases_1", "25001 1"}, {"rm_cases", "rm_cases_join", "25001 1 1 1 1 1 1 1"},
	{"rm_cases", "rm_cases_team", "25001 334 48"}, {"rm_cases", "rm_cases_officer", "25001 48"},
	{"rm_visits", "sqlite_autoindex_rm_visits_1", "898938 1"}, {"rm_visits", "rm_visits_case", "898938 44 26 1"},
	{"rm_visits", "rm_visits_contacts", "871957 4 2 2 1 1 1 1 1 1 1 1 1"},
	{"rm_visits", "rm_visits_partner", "52904 6 1 1"}, {"rm_visits", "rm_visits_elsewhere", "392538 667 667 2 1 1 1 1"},
	{"rm_visits", "rm_visits_planned", "13886 501 1"},
	{"rm_visits", "rm_visits_home", "192560 2 1 1 1 1 1 1 1 1 1"},
	{"requirements", "sqlite_autoindex_requirements_1", "211824 11 1"}, {"requirements", "requirements_team", "211824 1001 334 2 2 2 1 1 1"},
	{"requirements", "requirements_due", "211824 15"}, {"requirements", "requirements_first", "211824 1001 2"},
	{"requirements", "requirements_first_home", "25001 1 1 1 1 1"},
	{"requirements", "requirements_unmet", "25614 4 2 2 1 1 1 1"}, {"requirements", "requirements_met", "186209 201"},
}

// explainAtServiceSize is SQLite's plan of q with the planner's
// statistics of a 25,000-case store (serviceStats), in a transaction
// rolled back: a store holding data has its own from its open (PRAGMA
// optimize); the fixture holds too few rows for them to say anything,
// and without them SQLite takes a case by its primary key, unique, over
// any other index.
func explainAtServiceSize(t *testing.T, db *DB, q *sqlb) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_stat1 WHERE tbl IN ('rm_cases', 'rm_visits', 'requirements')`); err != nil {
		t.Fatal(err)
	}
	for _, s := range serviceStats {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, s[0], s[1], s[2]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil { // the statistics read again
		t.Fatal(err)
	}
	rows, err := tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.b.String(), q.args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q.b.String(), err)
	}
	return planText(t, rows, false)
}

func TestReportSetReadsItsCoveringIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	const asOf = "2026-11-23"
	d, _ := dayNumber(asOf)

	planned, err := figureRows(f.admin, FigureQuery{Measure: MeasureWorkload, Figure: "planned", AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	plan := explainWithout(t, f.db, planned, "DROP INDEX rm_visits_case",
		"SET LOCAL enable_seqscan = off")
	if !strings.Contains(plan, "rm_visits_planned") {
		t.Errorf("measure 8's planned visits' plan reads no rm_visits_planned:\n%s", plan)
	}
	if pg {
		return // PostgreSQL hashes rm_cases and reads the requirements whole at any size: the rest is SQLite's
	}
	plan = explainAtServiceSize(t, f.db, planned)
	if !strings.Contains(plan, "COVERING INDEX rm_cases_join") {
		t.Errorf("measure 8's planned visits read their case's row, not rm_cases_join alone:\n%s", plan)
	}

	contacts, err := figureRows(f.admin, FigureQuery{Measure: MeasureContacts, Figure: "channels.face_to_face_home", AsOf: asOf,
		From: "2026-08-25", To: asOf})
	if err != nil {
		t.Fatal(err)
	}
	plan = explainAtServiceSize(t, f.db, contacts)
	if !strings.Contains(plan, "COVERING INDEX rm_cases_join") {
		t.Errorf("measure 3's contacts read their case's row, not rm_cases_join alone:\n%s", plan)
	}
	// rm_visits_contacts holds the signed contacts alone (migration 0022):
	// measure 3's visits still read it, and it alone; a figure of the
	// completed home visits, as this one, may read rm_visits_home
	// (migration 0024), which holds them alone, as measure 5's do
	// (TestHomeVisitsReadTheirIndex).
	if !strings.Contains(plan, "COVERING INDEX rm_visits_contacts") && !strings.Contains(plan, "COVERING INDEX rm_visits_home") {
		t.Errorf("measure 3's contacts do not read rm_visits_contacts alone:\n%s", plan)
	}

	// Measure 2's and 8's requirements not met: those never met from
	// requirements_unmet alone, those met after as_of from
	// requirements_met (migration 0026, decision 0124).
	for _, c := range []struct {
		what  string
		fam   figureFamily
		fq    FigureQuery
		reads []string
	}{
		{"measure 2's tally", overdueFamily, FigureQuery{Measure: MeasureOverdue, AsOf: asOf},
			[]string{"COVERING INDEX requirements_unmet", "INDEX requirements_met"}},
		{"measure 8's requirements' tally", workloadDueFamily, FigureQuery{Measure: MeasureWorkload, AsOf: asOf},
			[]string{"COVERING INDEX requirements_unmet", "INDEX requirements_met"}},
		{"the exemptions' tally", exemptionsDueFamily, FigureQuery{Measure: MeasureExemptions, AsOf: asOf, From: "2026-08-25", To: asOf},
			[]string{"COVERING INDEX requirements_team"}},
	} {
		q, err := tallyQuery(false, f.admin, c.fam, c.fq, d)
		if err != nil {
			t.Fatal(err)
		}
		plan := explainAtServiceSize(t, f.db, q)
		for _, index := range c.reads {
			if !strings.Contains(plan, index) {
				t.Errorf("%s does not read %s:\n%s", c.what, index, plan)
			}
		}
		if strings.Contains(plan, "SCAN r") || strings.Contains(plan, "SCAN c") {
			t.Errorf("%s reads every requirement:\n%s", c.what, plan)
		}
	}
}
