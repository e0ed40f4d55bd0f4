package officerapp

import (
	"encoding/json"
	"testing"
	"time"

	"doorstep/schema"
)

func TestPersonText(t *testing.T) {
	t.Parallel()
	people := map[string]schema.Person{
		"u-jo":  {ID: "u-jo", Name: "Jo Bloggs", Role: schema.RoleSupervisor},
		"u-ben": {ID: "u-ben", Name: "Ben Ade", Role: schema.RoleOfficer},
		"u-odd": {ID: "u-odd", Name: "Odd Role", Role: "janitor"},
	}
	for _, tc := range []struct{ id, want string }{
		{"", ""},
		{officer.ID, "Asha Demo (you)"},
		{"u-jo", "Jo Bloggs (supervisor)"},
		{"u-ben", "Ben Ade (officer)"},
		{"u-odd", "Odd Role"},
		{"u-gone", "another user (id u-gone)"},
	} {
		if got := personText(tc.id, officer, people); got != tc.want {
			t.Errorf("personText(%q): expected %q, got %q", tc.id, tc.want, got)
		}
	}
}

// TestAppNamesOtherPeople: the pages name the people the pull brought where
// they showed a user id: another officer's amendment, the winner of a
// conflict, the officer a case is allocated to.
func TestAppNamesOtherPeople(t *testing.T) {
	t.Parallel()
	const ben, jo = "019a0000-0000-7000-8000-0000000000b1", "019a0000-0000-7000-8000-0000000000c1"
	e := startApp(t)
	e.peer.people = []schema.Person{{ID: officer.ID, Name: officer.Name, Role: schema.RoleOfficer},
		{ID: ben, Name: "Ben Ade", Role: schema.RoleOfficer}, {ID: jo, Name: "Jo Bloggs", Role: schema.RoleSupervisor}}
	vid := e.addSignedVisit()
	var partnerID string
	for _, r := range e.peer.records {
		if r.Entity == "household_member" && str(r.Fields, "name") == "Jo Doe" {
			partnerID = r.ID
		}
	}
	bensCase := schema.NewID()
	clock := schema.HLC{Wall: e.clock.Now().Add(-time.Hour).UnixMilli(), Node: "tablet-1"}.String()
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{
		{Entity: "amendment", ID: schema.NewID(), CaseID: e.plain, Fields: schema.FieldsOf(schema.Amendment{VisitID: vid,
			Reason: "Typed in the wrong box", Changes: map[string]json.RawMessage{"type": mustJSON("phone")}, AmendedBy: jo,
			AmendedAt: schema.TimestampOf(e.clock.Now().Add(-time.Hour))})},
		{Entity: "conflict", ID: schema.NewID(), CaseID: e.caseID, Fields: schema.FieldsOf(schema.Conflict{RecordEntity: "household_member",
			RecordID: partnerID, Field: "name", Reason: "lww_lost", LosingValue: `"Joanne Doe"`, LosingAuthor: officer.ID, LosingClock: clock,
			WinningValue: `"Jo Doe"`, WinningAuthor: ben, Status: "open"})},
		{Entity: "case", ID: bensCase, CaseID: bensCase, Fields: schema.FieldsOf(schema.Case{
			CRN: "Y111111", GivenName: "Kim", FamilyName: "Lee", DateOfBirth: "1980-01-01", Address: "2 Low St",
			OfficerID: ben, TeamID: "team-1", SentenceType: "licence", SupervisionStart: "2026-01-10", RoSH: "medium"})},
	})...)
	b := e.browser()
	b.mustSignIn()

	mustContain(t, b.get("/app/visits/"+vid), "by Jo Bloggs (supervisor): Typed in the wrong box")
	p := b.get("/app/conflicts")
	mustContain(t, p, "by Ben Ade (officer)", "by Asha Demo (you)")
	mustNotContain(t, p, ben)
	mustContain(t, b.get("/app/cases/"+bensCase), "<dt>Officer</dt><dd>Ben Ade (officer)</dd>")
	mustContain(t, b.get("/app/cases/"+e.caseID), "<dt>Officer</dt><dd>Asha Demo (you)</dd>")
}
