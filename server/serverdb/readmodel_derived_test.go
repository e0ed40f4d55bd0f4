package serverdb

import (
	"context"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// rmDerivedOracle is decision 0061's definition of the derived columns
// of rm_visits (migration 0014) as SQL over the typed rows: the UPDATE
// the write ran until decision 0063, as a query. Each row is the visit,
// its columns as written, then as the definition gives them.
const rmDerivedOracle = `SELECT visit_id, da, expected, accounted, reasons,
	CASE WHEN EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = v.case_id AND g.type IN ('da_perpetrator', 'da_victim')
		AND (g.start_date = '' OR g.start_date <= v.started_day)
		AND (g.ended_on = '' OR g.ended_on > v.started_day)) THEN 1 ELSE 0 END,
	(SELECT count(*) FROM rm_household m WHERE m.case_id = v.case_id AND ` + rmDerivedChild + `),
	(SELECT count(*) FROM rm_household m WHERE m.case_id = v.case_id AND ` + rmDerivedChild + ` AND EXISTS (SELECT 1
		FROM rm_visit_children k WHERE k.visit_id = v.visit_id AND k.member_id = m.member_id AND k.answer IN ('seen', 'reason'))),
	(SELECT count(*) FROM rm_household m WHERE m.case_id = v.case_id AND ` + rmDerivedChild + ` AND EXISTS (SELECT 1
		FROM rm_visit_children k WHERE k.visit_id = v.visit_id AND k.member_id = m.member_id AND k.answer = 'reason'))
	FROM rm_visits v WHERE v.case_id = ? ORDER BY v.started_day, v.visit_id`

const rmDerivedChild = `m.is_child = 1 AND m.residence <> 'visits'
	AND (m.added_on = '' OR m.added_on <= v.started_day) AND (m.left_on = '' OR m.left_on > v.started_day)
	AND (m.date_of_birth = '' OR m.date_of_birth <= v.started_day)`

// TestReadModelDerivedColumnsWrittenWhenChanged: the derived columns of
// rm_visits (da, expected, accounted, reasons) are what decision 0061
// defines after every kind of write that can change them (a visit, an
// amendment, a DA flag, a child added, leaving, no longer living there),
// and a write rewrites only the visits it wrote or whose values it
// changed: a new visit, the case record, an adult, a flag of another type
// rewrite none of the case's other visits (decision 0063; before it,
// every visit of the case was updated by each of them).
func TestReadModelDerivedColumnsWrittenWhenChanged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	db, ctx, caseID := f.db, context.Background(), f.ashaCase
	// Every row version of rm_visits: on PostgreSQL each insert or update
	// is a new tuple (xmin); on SQLite a trigger counts them.
	versions := `SELECT visit_id, xmin::text FROM rm_visits WHERE case_id = ?`
	if !onPostgres() {
		for _, q := range []string{
			`CREATE TABLE test_visit_writes (visit_id TEXT NOT NULL)`,
			`CREATE TRIGGER test_visit_inserted AFTER INSERT ON rm_visits BEGIN INSERT INTO test_visit_writes VALUES (new.visit_id); END`,
			`CREATE TRIGGER test_visit_updated AFTER UPDATE ON rm_visits BEGIN INSERT INTO test_visit_writes VALUES (new.visit_id); END`,
		} {
			if _, err := db.w.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		versions = `SELECT visit_id, (SELECT count(*) FROM test_visit_writes w WHERE w.visit_id = v.visit_id)
			FROM rm_visits v WHERE case_id = ?`
	}
	written := func() map[string]string {
		m := map[string]string{}
		for _, r := range rmRow(t, db, versions, caseID) {
			id, v, _ := strings.Cut(r, "|")
			m[id] = v
		}
		return m
	}
	check := func(what string) {
		t.Helper()
		rows := rmRow(t, db, rmDerivedOracle, caseID)
		for _, r := range rows {
			cols := strings.Split(r, "|")
			if got, want := strings.Join(cols[1:5], "|"), strings.Join(cols[5:], "|"); got != want {
				t.Errorf("%s: visit %s: da|expected|accounted|reasons %s, want %s", what, cols[0], got, want)
			}
		}
	}
	write := func(entity, id string, fields any) {
		t.Helper()
		if _, err := db.Write(ctx, f.admin, entity, id, caseID, schema.FieldsOf(fields)); err != nil {
			t.Fatalf("write %s: %v", entity, err)
		}
	}
	// step writes and wants exactly the visits want rewritten.
	step := func(what string, do func(), want ...string) {
		t.Helper()
		before := written()
		do()
		after := written()
		var got []string
		for id, v := range after {
			if before[id] != v {
				got = append(got, id)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: rewrote visits %q, want %q", what, got, want)
		}
		check(what)
	}
	visit := func(day string, children ...schema.VisitChild) schema.Visit {
		return schema.Visit{OfficerID: f.asha.ID, Type: "home_announced", Status: "draft", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: schema.Timestamp(day + "T10:00:00Z"), Children: children}
	}
	kid, teen, adult, flag, other := schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID()
	kidMember := schema.HouseholdMember{Name: "Kit", Relation: "own_child", Residence: "lives_here", AddedOn: "2026-11-05"}
	teenMember := schema.HouseholdMember{Name: "Tam", Relation: "step_child", Residence: "stays_sometimes", DateOfBirth: "2026-11-08"}
	write("household_member", kid, kidMember)
	write("household_member", teen, teenMember)
	days := []string{"2026-11-02", "2026-11-06", "2026-11-09", "2026-11-12", "2026-11-20"}
	v := make([]string, len(days))
	for i, d := range days {
		v[i] = schema.NewID()
		var children []schema.VisitChild
		if i == 4 {
			children = []schema.VisitChild{{MemberID: kid, Present: "yes", Seen: "yes"},
				{MemberID: teen, Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}}
		}
		write("visit", v[i], visit(d, children...))
	}
	check("the visits written")
	if got := rmRow(t, db, `SELECT expected, accounted, reasons FROM rm_visits WHERE visit_id = ?`, v[4]); !slices.Equal(got, []string{"2|2|1"}) {
		t.Errorf("the visit naming both children: expected|accounted|reasons %q, want 2|2|1", got)
	}
	last := schema.NewID()
	step("a new visit", func() { write("visit", last, visit("2026-11-21")) }, last)
	step("the case record", func() {
		write("case", caseID, schema.Case{CRN: "A000001", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02",
			Address: "2 Low St", OfficerID: f.asha.ID, TeamID: f.asha.TeamID, SentenceType: "community_order",
			SupervisionStart: "2026-10-01", RoSH: "high"})
	})
	step("an adult added", func() {
		write("household_member", adult, schema.HouseholdMember{Name: "Lee", Relation: "partner", Residence: "lives_here"})
	})
	step("a flag of another type", func() { write("flag", other, schema.Flag{Type: "marac", StartDate: "2026-11-01"}) })
	step("a DA flag from the 10th", func() { write("flag", flag, schema.Flag{Type: "da_victim", StartDate: "2026-11-10"}) },
		v[3], v[4], last)
	step("the DA flag ended on the 20th", func() {
		write("flag", flag, schema.Flag{Type: "da_victim", StartDate: "2026-11-10", EndedOn: "2026-11-20"})
	}, v[4], last)
	step("a visit's children answered", func() {
		write("visit", v[1], visit(days[1], schema.VisitChild{MemberID: kid, Present: "yes", Seen: "no", ReasonNotSeen: "out"}))
	}, v[1])
	step("the child left on the 15th", func() {
		kidMember.LeftOn = "2026-11-15"
		write("household_member", kid, kidMember)
	}, v[4], last)
	step("the step child no longer stays", func() {
		teenMember.Residence = "visits"
		write("household_member", teen, teenMember)
	}, v[2], v[3], v[4], last)
	if got := rmRow(t, db, `SELECT da, expected, accounted, reasons FROM rm_visits WHERE visit_id = ?`, v[4]); !slices.Equal(got, []string{"0|0|0|0"}) {
		t.Errorf("at the end, the visit that named both: %q, want 0|0|0|0", got)
	}
}
