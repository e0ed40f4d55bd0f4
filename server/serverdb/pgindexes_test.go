package serverdb

import (
	"strings"
	"testing"
)

// TestPostgresUnreadIndexesDropped: migration 0021 (decision 0094) drops
// the two indexes of the read model that no PostgreSQL plan reads
// (rm_visits_started, requirements_first), and every statement that
// could have read them still reads an index: measures 3's and 5's
// visits by started_day read rm_visits_contacts (or a partial index of
// rm_visits), measure 1's first home visits requirements_first_home. The
// indexes the push also keeps up but only narrowed statements read stay,
// and are read: a team's requirements (an admin's report narrowed to a
// team) from requirements_team, a team's and an officer's cases from
// rm_cases_team and rm_cases_officer.
func TestPostgresUnreadIndexesDropped(t *testing.T) {
	postgresOnly(t, "migration 0021 drops PostgreSQL's indexes only")
	t.Parallel()
	f := newFixture(t)
	have := map[string]bool{}
	for _, name := range rmRow(t, f.db, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`) {
		have[name] = true
	}
	for _, gone := range []string{"rm_visits_started", "requirements_first"} {
		if have[gone] {
			t.Errorf("index %s is in the migrated store; migration 0021 drops it", gone)
		}
	}
	for _, kept := range []string{"rm_visits_contacts", "requirements_first_home", "requirements_team", "requirements_due",
		"rm_cases_team", "rm_cases_officer", "rm_visit_children_case"} {
		if !have[kept] {
			t.Errorf("index %s is missing from the migrated store", kept)
		}
	}

	const asOf = "2026-11-23"
	indexed := func(what string, fq FigureQuery, index string) {
		t.Helper()
		q, err := figureRows(f.admin, fq)
		if err != nil {
			t.Fatal(err)
		}
		plan := explainWithout(t, f.db, q, "SET LOCAL enable_seqscan = off")
		if !strings.Contains(plan, index) {
			t.Errorf("%s: the plan reads no %s:\n%s", what, index, plan)
		}
		if strings.Contains(plan, "Seq Scan on rm_visits") || strings.Contains(plan, "Seq Scan on requirements") {
			t.Errorf("%s: the plan reads a whole table:\n%s", what, plan)
		}
	}
	quarter := FigureQuery{AsOf: asOf, From: "2026-08-25", To: asOf}
	contacts, households, first := quarter, quarter, quarter
	contacts.Measure, contacts.Figure = MeasureContacts, "contacts"
	households.Measure, households.Figure = MeasureHouseholds, "children_seen.denominator"
	first.Measure, first.Figure, first.From = MeasureFirstHomeVisit, "cases", "2026-01-01"
	indexed("measure 3's contacts", contacts, "rm_visits_")
	indexed("measure 5's visits", households, "rm_visits_")
	indexed("measure 1's cases", first, "requirements_first_home")

	team, officer := FigureQuery{Measure: MeasureOverdue, Figure: "cases", AsOf: asOf, TeamID: f.teamA.ID}, FigureQuery{Measure: MeasureWorkload, Figure: "caseload", AsOf: asOf, OfficerID: f.asha.ID}
	indexed("measure 2 narrowed to a team", team, "requirements_team")
	team.Measure, team.Figure = MeasureWorkload, "caseload"
	indexed("measure 8 narrowed to a team", team, "rm_cases_team")
	indexed("measure 8 narrowed to an officer", officer, "rm_cases_officer")
}
