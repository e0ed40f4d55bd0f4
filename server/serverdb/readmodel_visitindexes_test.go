package serverdb

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
)

// explainPlan is the plan of q on db's reader, one line a step: SQLite's
// EXPLAIN QUERY PLAN details; on PostgreSQL, whose planner picks any
// index of a table this small, EXPLAIN in a transaction rolled back that
// has dropped the other indexes of rm_visits but its primary key and
// priced out sequential and plain index scans: the partial index is in
// the plan only if the statement can use it.
func explainPlan(t *testing.T, db *DB, q *sqlb) string {
	t.Helper()
	return explainWithout(t, db, q, "DROP INDEX rm_visits_case", "DROP INDEX rm_visits_contacts",
		"SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off")
}

// explainWithout is the plan of q on db's reader (see explainPlan), on
// PostgreSQL after the statements pg (in the transaction rolled back).
func explainWithout(t *testing.T, db *DB, q *sqlb, pg ...string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.r.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	postgres := db.Engine() == "postgres"
	explain := "EXPLAIN QUERY PLAN "
	if postgres {
		explain = "EXPLAIN "
		for _, s := range pg {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	rows, err := tx.QueryContext(ctx, explain+q.b.String(), q.args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q.b.String(), err)
	}
	return planText(t, rows, postgres)
}

// planText reads an EXPLAIN's rows as text, one line a step: PostgreSQL's
// plan is one text column; SQLite's detail is the fourth, after id,
// parent and an unused one.
func planText(t *testing.T, rows *sql.Rows, postgres bool) string {
	t.Helper()
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused any
		var detail string
		dest := []any{&id, &parent, &unused, &detail}
		if postgres {
			dest = dest[3:]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestVisitPartialIndexesUsed: the two partial indexes of rm_visits
// (migration 0015, decision 0064) are the ones the statements they were
// made for read, on both stores: measure 3's elsewhere_reasons from
// rm_visits_elsewhere, measure 5's partner figures from
// rm_visits_partner or, now that they read the period's partner visits
// by day in one pass (decision 0101), the signed contacts' partial index
// by day, rm_visits_contacts, where the planner finds the range cheaper
// (a small store). A partial index serves a statement only when the
// statement's conditions imply its WHERE, so a condition worded
// otherwise would lose them both.
func TestVisitPartialIndexesUsed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fq := FigureQuery{AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
	for _, shared := range []bool{false, true} { // shared: the case list's numbers at hand (decision 0111)
		for _, fixed := range []bool{false, true} { // fixed: the ids at their width (decision 0118)
			elsewhere, err := contactsElsewhere(f.admin, fq, f.db.Engine() == "postgres", shared, fixed)
			if err != nil {
				t.Fatal(err)
			}
			if plan := explainPlan(t, f.db, elsewhere); !strings.Contains(plan, "rm_visits_elsewhere") {
				t.Errorf("the elsewhere contacts' plan (shared %v, fixed %v) reads no rm_visits_elsewhere:\n%s", shared, fixed, plan)
			}
		}
	}
	partner := &sqlb{}
	if err := householdCases(partner, f.admin, fq, []string{"partner"}); err != nil {
		t.Fatal(err)
	}
	if plan := explainPlan(t, f.db, partner); !strings.Contains(plan, "rm_visits_partner") && !strings.Contains(plan, "rm_visits_contacts") {
		t.Errorf("measure 5's cases' plan reads neither rm_visits_partner nor rm_visits_contacts:\n%s", plan)
	}
}

// TestVisitRowsIndexedOnlyWhereRead: every rm_visits row gives an entry
// to its primary key and rm_visits_case (a case's visits, read by the
// writer and measure 8) and to no other index (migration 0022, decision
// 0096): the others are partial, each holding the rows the statements
// that read it ask for, so a draft or a planned visit, written again at
// each change before it is signed, is not indexed by the day it started
// (rm_visits_started was read by no statement; rm_visits_contacts holds
// the signed contacts alone).
func TestVisitRowsIndexedOnlyWhereRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	q := `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'rm_visits' AND coalesce(sql, '') NOT LIKE '% WHERE %'`
	want := "rm_visits_case sqlite_autoindex_rm_visits_1"
	if f.db.Engine() == "postgres" {
		// From the catalog, not pg_indexes: its pg_get_indexdef fails on
		// an index another test's transaction is dropping meanwhile.
		q = `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class r ON r.oid = i.indrelid
			WHERE r.relname = 'rm_visits' AND r.relnamespace = current_schema()::regnamespace AND i.indpred IS NULL`
		want = "rm_visits_case rm_visits_pkey"
	}
	names := rmRow(t, f.db, q)
	slices.Sort(names)
	if got := strings.Join(names, " "); got != want {
		t.Errorf("rm_visits' indexes that hold every row: %s; want %s", got, want)
	}
}

// TestFirstHomeIndexUsed: measure 1's cases read their first home visit's
// requirement from requirements_first_home alone (migration 0016, decision
// 0067), on both stores: the index holds every column the join reads,
// and its WHERE is the join's first_home = 1.
func TestFirstHomeIndexUsed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fq := FigureQuery{Measure: MeasureFirstHomeVisit, AsOf: "2026-11-23", From: "2026-01-01", To: "2026-11-23"}
	d, _ := dayNumber(fq.AsOf)
	cases := &sqlb{}
	if err := firstVisitCases(cases, f.admin, fq, d); err != nil {
		t.Fatal(err)
	}
	plan := explainWithout(t, f.db, cases, "DROP INDEX requirements_team", "DROP INDEX requirements_due",
		"SET LOCAL enable_seqscan = off", "SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off")
	if !strings.Contains(plan, "requirements_first_home") {
		t.Errorf("measure 1's cases' plan reads no requirements_first_home:\n%s", plan)
	}
	if f.db.Engine() != "postgres" && !strings.Contains(plan, "COVERING INDEX requirements_first_home") {
		t.Errorf("measure 1's cases read the requirements' table, not the index alone:\n%s", plan)
	}
}

// TestExemptionsTallyReadsSafetyOnce: the exemptions report's tally
// works out the cases exempted once a statement (decision 0078), from
// their spans (rm_exempt, decision 0112): on PostgreSQL the plan reads
// rm_exempt once, where exemptOn's subquery, pulled up into each of the
// four conditions that read it, read rm_safety eight times, and before
// decision 0112 the join read it twice (the exempting assessment and the
// later one it must not have); on SQLite, which builds the IN list once,
// exemptOn stays. Neither reads rm_safety.
func TestExemptionsTallyReadsSafetyOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	fq := FigureQuery{Measure: MeasureExemptions, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
	d, _ := dayNumber(fq.AsOf)
	pg := f.db.Engine() == "postgres"
	q, err := tallyQuery(pg, f.admin, exemptionsDueFamily, fq, d)
	if err != nil {
		t.Fatal(err)
	}
	plan := explainWithout(t, f.db, q)
	if n := strings.Count(plan, " on rm_exempt "); pg && n != 1 {
		t.Errorf("the exemptions' tally reads rm_exempt %d times; want 1:\n%s", n, plan)
	}
	if !pg && !strings.Contains(plan, "LIST SUBQUERY") {
		t.Errorf("the exemptions' tally works the cases exempted out once a row (SQLite):\n%s", plan)
	}
	if strings.Contains(plan, "rm_safety") {
		t.Errorf("the exemptions' tally reads rm_safety:\n%s", plan)
	}
}
