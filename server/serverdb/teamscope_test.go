package serverdb

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// A team's figures read the team's rows (decision 0080): the statements
// of a supervisor's (or a team-filtered) figure keep every subquery that
// reads no column of the outer row, exemptOn's cases exempted, to the
// scope's cases, so that a 500-case team's overview does not read every
// case's safety assessments. Both stores: each statement's exemption
// subquery names the scope's cases (the statement is the same SQL on
// both); on SQLite no step of the plan scans rm_exempt (rm_safety before
// decision 0112) as s (exemptOn's alias): it is searched by case. The previous period's totals
// (familyTotals) likewise (decision 0110). Before, exemptOn's subquery read every
// assessment of the service ("SCAN s"). PostgreSQL's plans of the
// fixture's near-empty tables say nothing of a 25,000-case store's (its
// plans there are in docs/performance.md, decision 0080).
func TestExemptionsKeptToTheScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sup := ActorOf(f.sue, "")
	pg := f.db.Engine() == "postgres"
	type stmt struct {
		what string
		q    *sqlb
	}
	var stmts []stmt
	for _, a := range []struct {
		who   string
		actor Actor
		team  string
	}{{"supervisor", sup, ""}, {"admin, team filter", f.admin, f.teamA.ID}} {
		for _, fq := range []FigureQuery{
			{Measure: MeasureOverdue, Figure: "cases"},
			{Measure: MeasureWorkload, Figure: "due_cases"},
			{Measure: MeasureFirstHomeVisit, Figure: "exempted", From: "2026-09-01", To: "2026-11-30"},
			{Measure: MeasureExemptions, Figure: "safety_exempted", From: "2026-09-01", To: "2026-11-30"},
			{Measure: MeasureExemptions, Figure: "exempted", From: "2026-09-01", To: "2026-11-30"},
		} {
			fq.AsOf, fq.TeamID = "2026-11-23", a.team
			q, err := figureRows(a.actor, fq)
			if err != nil {
				t.Fatal(err)
			}
			stmts = append(stmts, stmt{fmt.Sprintf("%s: %s.%s rows", a.who, fq.Measure, fq.Figure), q})
			if fam, ok := familyOf(fq.Measure, fq.Figure); ok {
				d, _ := dayNumber(fq.AsOf)
				q, err := tallyQuery(pg, a.actor, fam, fq, d)
				if err != nil {
					t.Fatal(err)
				}
				stmts = append(stmts, stmt{fmt.Sprintf("%s: %s.%s tally", a.who, fq.Measure, fq.Figure), q})
			}
		}
		// The previous period's headlines (Figures.Totals of a family,
		// decision 0110): before, their statements worked the cases
		// exempted out over the whole service.
		for _, tq := range []struct {
			measure string
			names   []string
		}{{MeasureExemptions, []string{"exempted", "due"}}, {MeasureFirstHomeVisit, []string{"numerator", "denominator"}}} {
			fq := FigureQuery{Measure: tq.measure, From: "2026-06-01", To: "2026-08-31", AsOf: "2026-08-31", TeamID: a.team}
			q, idx, err := totalsQuery(pg, a.actor, fq, tq.names, 0, make([]bool, len(tq.names)))
			if err != nil {
				t.Fatal(err)
			}
			if len(idx) != len(tq.names) {
				t.Fatalf("%s: %s totals: figures %v of one statement, want all of %v", a.who, tq.measure, idx, tq.names)
			}
			stmts = append(stmts, stmt{fmt.Sprintf("%s: %s totals %v", a.who, tq.measure, tq.names), q})
		}
	}
	scan := regexp.MustCompile(`(?m)^(SCAN s\b|SCAN rm_exempt\b|SCAN rm_safety\b)`)
	// exemptOn's subquery (or the PostgreSQL tally's join), its span's
	// days (and decision), then the scope on s.case_id.
	within := regexp.MustCompile(`(?s)FROM rm_exempt s WHERE s\.from_day <= \? AND \? < s\.to_day( AND s\.decision = \?)? AND s\.case_id IN \(SELECT case_id FROM (case_scope|rm_cases) WHERE (team_id|officer_id) = \?\)`)
	for _, s := range stmts {
		if !strings.Contains(s.q.b.String(), "FROM rm_exempt s") {
			t.Fatalf("%s: no exemption subquery in the statement:\n%s", s.what, s.q.b.String())
		}
		if !within.MatchString(s.q.b.String()) {
			t.Errorf("%s: the exemption subquery is not kept to the scope's cases:\n%s", s.what, s.q.b.String())
		}
		if pg {
			continue
		}
		if plan := explainPlan(t, f.db, s.q); scan.MatchString(plan) {
			t.Errorf("%s scans every safety assessment (SQLite):\n%s", s.what, plan)
		}
	}
	// An admin without a filter reads the service's, as before: the
	// subquery is left as it was.
	q, err := figureRows(f.admin, FigureQuery{Measure: MeasureOverdue, Figure: "cases", AsOf: "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(q.b.String(), "case_scope") || strings.Contains(q.b.String(), "FROM rm_cases WHERE") {
		t.Errorf("an admin's figure of the whole service narrows its subquery:\n%s", q.b.String())
	}
}

// Measure 9's signed visits of a period for a scope of cases (a
// supervisor's team, an officer's caseload) are read by case and day
// (records_signed_visit_case, migration 0017), not every team's visits of
// the period by the day (records_signed_visit_day), which read about
// 117,000 visit records for a 500-case team's 2,300 at 25,000 cases. On
// PostgreSQL the plan is taken with the day's index dropped (in a
// transaction rolled back) and sequential scans priced out: the case's
// index is in it only if the statement can use it.
func TestFreshnessReadsTheScopeByCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	eachScopesSignedVisits(t, f, func(who string, q *sqlb) {
		plan := explainWithout(t, f.db, q, "DROP INDEX records_signed_visit_day", "SET LOCAL enable_seqscan = off")
		if !strings.Contains(plan, "records_signed_visit_case") {
			t.Errorf("%s: the period's signed visits are not read by case (%s):\n%s", who, f.db.Engine(), plan)
		}
	})
}

// eachScopesSignedVisits calls fn with measure 9's statement of the signed
// visits of 2026-09-01 to 2026-11-30 for a supervisor's team and for an
// officer's caseload.
func eachScopesSignedVisits(t *testing.T, f *fixture, fn func(who string, q *sqlb)) {
	t.Helper()
	for _, a := range []struct {
		who   string
		actor Actor
	}{{"supervisor", ActorOf(f.sue, "")}, {"officer", ActorOf(f.asha, "")}} {
		text, args, err := signedVisitQuery(f.db.eng, a.actor, "2026-09-01", "2026-11-30")
		if err != nil {
			t.Fatal(err)
		}
		fn(a.who, (&sqlb{}).add(text, args...))
	}
}

// On SQLite, measure 9's signed visits of a scope's period are read from
// records_signed_visit_case alone (migration 0029, decision 0135): the
// index holds every column and expression the statement reads of them,
// where it held the case and the day and each visit was then sought in
// the records and its fields parsed. PostgreSQL reads no expression's
// value from an index (its migration 0029 changes nothing).
func TestFreshnessReadsTheScopesVisitsFromTheIndexAlone(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.Engine() != "sqlite" {
		t.Skip("PostgreSQL reads the visits' fields from their rows")
	}
	eachScopesSignedVisits(t, f, func(who string, q *sqlb) {
		plan := explainWithout(t, f.db, q)
		if !strings.Contains(plan, "COVERING INDEX records_signed_visit_case") {
			t.Errorf("%s: the period's signed visits are not read from records_signed_visit_case alone:\n%s", who, plan)
		}
	})
}
