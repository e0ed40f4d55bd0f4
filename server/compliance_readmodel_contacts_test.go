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

// TestContactsHouseholdsCountsFromTheReadModel: measures 3 and 5 at
// detail=counts are answered from the read model, byte for byte the Go
// measure's answer at that detail (with its headline), for a supervisor
// of each team and an auditor, with and without an officer filter, over
// several periods, on the hand-made edges of both.
func TestContactsHouseholdsCountsFromTheReadModel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every figure of measures 3 and 5 from the read model against the Go measure takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedContacts(t, e, d)
	seedContactEdges(t, e, d)
	seedHouseholdEdges(t, e, d)
	ctx := context.Background()
	measures := map[string]func(compliance.Input, compliance.Period) compliance.Headlined{
		"contacts": func(in compliance.Input, p compliance.Period) compliance.Headlined {
			return compliance.Contacts(in, p, p.To)
		},
		"households": func(in compliance.Input, p compliance.Period) compliance.Headlined {
			return compliance.Households(in, p, p.To)
		},
	}
	for _, who := range []string{"sue", "bea", "audrey"} {
		tok := e.login(who, "dev-"+who).AccessToken
		actor := serverdb.ActorOf(e.users[who], "")
		for _, officer := range []string{"", e.users["asha"].ID, e.users["carl"].ID} {
			in, err := e.srv.Compliance().Input(ctx, actor, officer)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range householdPeriods {
				for slug, m := range measures {
					rep := m(in, p)
					compliance.AddHeadline(slug, in, rep, p)
					rep.(report).Summarize()
					compliance.DropIDs(rep)
					want, err := json.Marshal(rep)
					if err != nil {
						t.Fatal(err)
					}
					path := "/v1/compliance/" + slug + "?detail=counts&from=" + string(p.From) + "&to=" + string(p.To) + "&officer_id=" + officer
					r := e.do("GET", path, nil, bearer(tok))
					if r.status != 200 || string(r.body) != string(want) {
						t.Errorf("GET %s as %s = %d\n%s\nwant the Go measure's\n%s", path, who, r.status, r.body, want)
					}
				}
			}
		}
	}
}

// TestContactsCaseLists: GET /v1/compliance/contacts/cases lists, page
// by page, the cases behind each figure of measure 3's report, in the
// measure's scope; officers are refused, bad parameters are a 400
// naming the parameter (an unknown figure names every figure), and each
// page is audited.
func TestContactsCaseLists(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedContacts(t, e, d)
	toks := complianceTokens(e)
	const period = "&from=2026-09-01&to=2026-10-31"
	var rep, all compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?"+period[1:], toks["sue"], &rep)
	e.getJSON(t, "/v1/compliance/contacts?"+period[1:], toks["root"], &all)
	f := rep.Totals
	for figure, want := range map[string][]string{
		"contacts":                            f.Contacts.CaseIDs,
		"completed":                           f.Completed.CaseIDs,
		"attempts":                            f.Attempts.CaseIDs,
		"channels.face_to_face_home":          f.Channels.Home.CaseIDs,
		"channels.face_to_face_doorstep":      f.Channels.Doorstep.CaseIDs,
		"channels.elsewhere_by_place.cafe":    f.Channels.ElsewhereByPlace.Cafe.CaseIDs,
		"channels.elsewhere_by_place.library": f.Channels.ElsewhereByPlace.Library.CaseIDs,
		"channels.phone":                      f.Channels.Phone.CaseIDs,
		"channels.video":                      f.Channels.Video.CaseIDs,
		"attempt_outcomes.no_answer":          f.AttemptOutcomes.NoAnswer.CaseIDs,
		"attempt_channels.face_to_face_home":  f.AttemptChannels.Home.CaseIDs,
		"home_share.numerator":                f.HomeShare.Numerator.CaseIDs,
		"face_to_face_share.numerator":        f.FaceToFaceShare.Numerator.CaseIDs,
		"domestic_abuse.contacts":             f.DomesticAbuse.Contacts.CaseIDs,
		"domestic_abuse.home_share.numerator": f.DomesticAbuse.HomeShare.Numerator.CaseIDs,
	} {
		if len(want) == 0 {
			t.Errorf("figure %s: the report lists no case; the test wants some", figure)
		}
		path := "/v1/compliance/contacts/cases?figure=" + figure + period
		if got := allCasesOf(t, e, path, toks["sue"]); !slices.Equal(got, want) {
			t.Errorf("%s: pages list %v, the report %v", path, got, want)
		}
	}
	const path = "/v1/compliance/contacts/cases?figure=contacts" + period
	// Another team's officer named by a supervisor: none of that team's
	// cases. The admin and the auditor see every case; officers are
	// refused.
	checkCaseListRoles(t, e, toks, path)
	if got := allCasesOf(t, e, path, toks["bea"]); !slices.Equal(got, []string{d.reassigned}) {
		t.Errorf("%s as bea: %v, want team B's one case with contacts", path, got)
	}
	for _, who := range []string{"audrey", "root"} {
		if got := allCasesOf(t, e, path, toks[who]); !slices.Equal(got, all.Totals.Contacts.CaseIDs) || len(got) <= len(f.Contacts.CaseIDs) {
			t.Errorf("%s as %s: %v, want every team's %v", path, who, got, all.Totals.Contacts.CaseIDs)
		}
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	last := string(evs[len(evs)-1].Detail)
	if !strings.Contains(last, `"view":"compliance/contacts/cases"`) || !strings.Contains(last, `"figure":"contacts"`) {
		t.Errorf("the last page's audit event: %s; want the view compliance/contacts/cases with its figure", last)
	}

	before := len(evs)
	for _, tc := range []struct{ path, field, says string }{
		{"/v1/compliance/contacts/cases?" + period[1:], "figure", "channels.face_to_face_home"},
		{"/v1/compliance/contacts/cases?figure=channels.home" + period, "figure", "domestic_abuse.home_share.numerator"},
		{"/v1/compliance/contacts/cases?figure=elsewhere_reasons" + period, "figure", "attempt_outcomes.other"},
		{"/v1/compliance/contacts/cases?figure=contacts&from=2026-10-31&to=2026-09-01", "from", "after"},
		{"/v1/compliance/contacts/cases?figure=contacts&to=2026-02-30", "to", "YYYY-MM-DD"},
		{"/v1/compliance/contacts/cases?figure=contacts&cursor=x" + period, "cursor", "next_cursor"},
		{"/v1/compliance/contacts/cases?figure=contacts&limit=0" + period, "limit", "1 to 1000"},
	} {
		r := e.do("GET", tc.path, nil, bearer(toks["sue"]))
		if er := r.errorResponse(); r.status != 400 || er.Error.Field != tc.field || !strings.Contains(er.Error.Message, tc.says) {
			t.Errorf("GET %s = %d %s, want 400 naming %s and saying %q", tc.path, r.status, r.body, tc.field, tc.says)
		}
	}
	after, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(after) != before {
		t.Errorf("refused case lists wrote %d view events", len(after)-before)
	}
}

// seedContactEdges adds to seedContacts' dataset a domestic-abuse flag on
// the case with no such flag, live from the day of its phone contact
// (which is in the DA view) to the day of its café contact (which is not:
// the flag ended that day).
func seedContactEdges(t *testing.T, e *env, d *daSet) {
	t.Helper()
	seedMore(t, e, func(put func(string, string, any) string) {
		put("flag", d.nonDA, schema.Flag{Type: "da_victim", StartDate: "2026-09-15", EndedOn: "2026-10-31"})
	})
}
