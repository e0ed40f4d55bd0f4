package server

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// seedHouseholdEdges adds to seedCompliance's dataset the households of
// measure 5's edges: a child whose "victim in their own right" is blank,
// one added after a visit, one who only visits, one born after a visit, a
// child seen, one given a reason and one not named at a visit that also
// noted a child not on record; a partner seen but not alone, an
// ex-partner, a partner gone before the start, a confirmation dated after
// as_of, one in date to the as-of day exactly, a child expected before
// birth; a household of an old case empty until a member is added, never
// confirmed; and a household confirmed, its child seen and its partner
// seen alone, a partner alone on the phone (not face to face).
func seedHouseholdEdges(t *testing.T, e *env, d *daSet) {
	t.Helper()
	seedMore(t, e, func(put func(string, string, any) string) {
		put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: "P",
			AddedOn: "2026-09-05", ConfirmedOn: "2026-09-06"})
		put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "ex_partner", Residence: "visits", Name: "X"})
		a := put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "A",
			ConfirmedOn: "2026-09-06"})
		b := put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "step_child", Residence: "stays_sometimes",
			Name: "B", AddedOn: "2026-10-10", ConfirmedOn: "2026-10-10", ChildVictimInOwnRight: "no"})
		put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "other_child", Residence: "visits", Name: "C",
			ConfirmedOn: "2026-09-06", ChildVictimInOwnRight: "not_known"})
		put("household_member", d.onDueDay, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "D",
			DateOfBirth: "2026-10-15", AddedOn: "2026-10-16", ConfirmedOn: "2026-10-16", ChildVictimInOwnRight: "yes"})
		u := e.users["asha"]
		put("visit", d.onDueDay, schema.Visit{OfficerID: u.ID, Type: "home_announced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: "2026-10-20T10:00:00+01:00", PersonSeen: "yes", PartnerPresent: "yes",
			PartnerSeenAlone: "no", ChildrenPresent: "yes", Children: []schema.VisitChild{{MemberID: a, Present: "yes", Seen: "yes"},
				{MemberID: b, Present: "no", ReasonNotSeen: "at school"}}, Observations: []string{"child_not_on_record"},
			SignedAt: "2026-10-20T11:00:00+01:00", SignedBy: u.ID})
		put("visit", d.onDueDay, schema.Visit{OfficerID: u.ID, Type: "phone", Status: "signed", Outcome: "completed",
			StartedAt: "2026-10-25T10:00:00+01:00", PersonSeen: "yes", PartnerPresent: "yes", PartnerSeenAlone: "yes",
			ChildrenPresent: "not_known", SignedAt: "2026-10-25T11:00:00+01:00", SignedBy: u.ID}) // not face to face
		put("household_member", d.late, schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: "Q",
			AddedOn: "2026-01-01", LeftOn: "2026-09-05", ConfirmedOn: "2026-09-01"})
		put("household_member", d.late, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "E",
			ConfirmedOn: "2026-11-20", ChildVictimInOwnRight: "not_known"})
		put("household_member", d.beforePeriod, schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: "R",
			AddedOn: "2026-11-10"})
		put("household_member", d.onTime, schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: "S",
			AddedOn: "2026-09-01", ConfirmedOn: "2026-08-21"}) // in date to 21 November
		put("household_member", d.onTime, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "U",
			DateOfBirth: "2026-11-15", AddedOn: "2026-10-01", ConfirmedOn: "2026-10-01", ChildVictimInOwnRight: "no"}) // born after the visit
		put("household_member", d.onTime, schema.HouseholdMember{Relation: "own_child", Residence: "visits", Name: "V",
			ConfirmedOn: "2026-10-01", ChildVictimInOwnRight: "no"}) // only visits
		put("household_member", d.onTime, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "W",
			LeftOn: "2026-10-31", ConfirmedOn: "2026-10-01", ChildVictimInOwnRight: "no"}) // left on the visit's day
		k := put("household_member", d.onTime, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "K",
			AddedOn: "2026-09-15", ConfirmedOn: "2026-09-15", ChildVictimInOwnRight: "yes"})
		put("visit", d.onTime, schema.Visit{OfficerID: u.ID, Type: "home_unannounced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: "2026-10-31T18:00:00+00:00", PersonSeen: "yes", PartnerPresent: "yes",
			PartnerSeenAlone: "yes", ChildrenPresent: "yes", Children: []schema.VisitChild{{MemberID: k, Present: "yes", Seen: "yes"}},
			SignedAt: "2026-10-31T19:00:00+00:00", SignedBy: u.ID})
	})
}

// householdPeriods are the periods the households tests ask for: as_of
// on each side of the edges above.
var householdPeriods = []compliance.Period{{From: "2026-09-01", To: "2026-10-31"}, {From: "2026-10-01", To: "2026-10-15"},
	{From: "2026-09-15", To: "2026-11-23"}, {From: "2026-10-21", To: "2026-10-21"}, {From: "2026-11-01", To: "2026-11-05"},
	{From: "2026-11-01", To: "2026-11-01"}, {From: "2026-11-21", To: "2026-11-21"}, {From: "2026-11-22", To: "2026-11-22"}}

// figureCaseIDs reads the case ids of figure (a path such as
// "confirmed.numerator") from a report's figures as JSON.
func figureCaseIDs(t *testing.T, figures any, figure string) []string {
	t.Helper()
	var node any
	if err := json.Unmarshal(mustMarshal(t, figures), &node); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(figure, ".") {
		m, _ := node.(map[string]any)
		node = m[k]
	}
	x, _ := node.(map[string]any)
	ids, ok := x["case_ids"].([]any)
	if !ok {
		t.Fatalf("the report has no figure %q", figure)
	}
	out := []string{}
	for _, id := range ids {
		out = append(out, id.(string))
	}
	return out
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReadModelCaseListsOfEveryFigure: for measures 3 and 5, every figure
// the read model names has a case list, and page after page it is the Go
// report's list of that figure, for a supervisor and an auditor, over
// several periods.
func TestReadModelCaseListsOfEveryFigure(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every figure as every role takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedContacts(t, e, d)
	seedContactEdges(t, e, d)
	seedHouseholdEdges(t, e, d)
	nonEmpty := map[string]bool{}
	for _, who := range []string{"sue", "audrey"} {
		tok := e.login(who, "dev-"+who).AccessToken
		for _, p := range householdPeriods {
			period := "&from=" + string(p.From) + "&to=" + string(p.To)
			var contacts compliance.ContactsReport
			e.getJSON(t, "/v1/compliance/contacts?"+period[1:], tok, &contacts)
			var households compliance.HouseholdsReport
			e.getJSON(t, "/v1/compliance/households?"+period[1:], tok, &households)
			for _, m := range []struct {
				slug, measure string
				totals        any
			}{{"contacts", serverdb.MeasureContacts, contacts.Totals}, {"households", serverdb.MeasureHouseholds, households.Totals}} {
				for _, figure := range serverdb.FigureNames(m.measure) {
					want := figureCaseIDs(t, m.totals, figure)
					path := "/v1/compliance/" + m.slug + "/cases?figure=" + figure + period
					if got := allCasesOf(t, e, path, tok); !slices.Equal(got, want) {
						t.Errorf("%s as %s: pages list %v, the report %v", path, who, got, want)
					}
					if len(want) > 0 {
						nonEmpty[m.slug+"."+figure] = true
					}
				}
			}
		}
	}
	// The dataset reaches every figure of measure 5, and measure 3's but
	// those it has no contact for.
	for _, m := range []string{serverdb.MeasureContacts, serverdb.MeasureHouseholds} {
		for _, figure := range serverdb.FigureNames(m) {
			if !nonEmpty[m+"."+figure] && !strings.Contains(figure, "other") && !strings.Contains(figure, "attempt_") &&
				figure != "channels.elsewhere_by_place.office" && figure != "channels.elsewhere_by_place.community_venue" {
				t.Errorf("figure %s.%s lists no case in any period: the test does not reach it", m, figure)
			}
		}
	}
}

// TestHouseholdsCaseListsScope: GET /v1/compliance/households/cases has
// the measure's roles and scope: a supervisor naming another team's
// officer gets none of that team's cases, the admin and the auditor every
// case, officers are refused; refused parameters name the parameter.
func TestHouseholdsCaseListsScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedHouseholdEdges(t, e, d)
	toks := complianceTokens(e)
	const path = "/v1/compliance/households/cases?figure=cases&from=2026-09-01&to=2026-10-31"
	var all compliance.HouseholdsReport
	e.getJSON(t, "/v1/compliance/households?from=2026-09-01&to=2026-10-31", toks["root"], &all)
	checkCaseListRoles(t, e, toks, path)
	if got := allCasesOf(t, e, path, toks["bea"]); !slices.Equal(got, []string{d.reassigned}) {
		t.Errorf("%s as bea: %v, want team B's one DA case", path, got)
	}
	for _, who := range []string{"audrey", "root"} {
		if got := allCasesOf(t, e, path, toks[who]); !slices.Equal(got, all.Totals.Cases.CaseIDs) || !slices.Contains(got, d.reassigned) {
			t.Errorf("%s as %s: %v, want every team's %v", path, who, got, all.Totals.Cases.CaseIDs)
		}
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	last := string(evs[len(evs)-1].Detail)
	if !strings.Contains(last, `"view":"compliance/households/cases"`) || !strings.Contains(last, `"figure":"cases"`) {
		t.Errorf("the last page's audit event: %s; want the view compliance/households/cases with its figure", last)
	}
	for _, tc := range []struct{ path, field, says string }{
		{"/v1/compliance/households/cases?from=2026-09-01", "figure", "children_seen.numerator"},
		{"/v1/compliance/households/cases?figure=confirmed", "figure", "confirmed.numerator"},
		{"/v1/compliance/households/cases?figure=cases&from=2026-10-31&to=2026-09-01", "from", "after"},
		{"/v1/compliance/households/cases?figure=cases&limit=1001", "limit", "1 to 1000"},
	} {
		r := e.do("GET", tc.path, nil, bearer(toks["sue"]))
		if er := r.errorResponse(); r.status != 400 || er.Error.Field != tc.field || !strings.Contains(er.Error.Message, tc.says) {
			t.Errorf("GET %s = %d %s, want 400 naming %s and saying %q", tc.path, r.status, r.body, tc.field, tc.says)
		}
	}
	after, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(after) != len(evs) {
		t.Errorf("refused case lists wrote %d view events", len(after)-len(evs))
	}
}
