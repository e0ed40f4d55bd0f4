package server

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// Measures 4, 6 and 7 on the read model: their detail=counts answers and
// their paged case lists, against the Go measures over the same records.

// seedMeasures467 adds to seedCompliance's records what measures 4, 6 and
// 7 read: enquiries and children (seedEnquiries), referrals at every
// stage, flags with review dates (one due on the period's last day,
// one reviewed after it) and RoSH dates.
func seedMeasures467(t *testing.T, e *env, d *daSet) {
	t.Helper()
	seedEnquiries(t, e, d)
	seedMore(t, e, func(put func(string, string, any) string) {
		put("referral", d.onTime, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-05", Decision: "refer",
			Status: "completed", StatusOn: "2026-10-20"})
		put("referral", d.late, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-12",
			Decision: "not_suitable", DecisionReason: "denies the offence"})
		put("referral", d.nonDA, schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-10-31", Decision: "pending"})
		put("referral", d.reassigned, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-20",
			Decision: "refer", Status: "awaiting_allocation", StatusOn: "2026-09-25"})
		put("referral", d.onDueDay, schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-11-02", Decision: "refer"}) // after as_of
		put("referral", d.missed, schema.Referral{Need: "Substance misuse", IdentifiedOn: "2026-09-02", Decision: "refer",
			Status: "on_programme", StatusOn: "2026-11-01"}) // status after an as_of of 10-31: unknown then
		put("referral", d.notYetDue, schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-09-22", Decision: "refer",
			Status: "withdrawn", StatusOn: "2026-10-02"})
		put("referral", e.ashaCase, schema.Referral{Need: "Substance misuse", IdentifiedOn: "2026-09-30", Decision: "not_available",
			DecisionReason: "no programme this year"})
		put("flag", d.onTime, schema.Flag{Type: "child_concerns", StartDate: "2026-09-01", NextReviewDate: "2026-10-01"})
		put("flag", d.late, schema.Flag{Type: "marac", StartDate: "2026-09-10", LastReviewed: "2026-10-01", NextReviewDate: "2026-12-01"})
		put("flag", d.missed, schema.Flag{Type: "da_victim", StartDate: "2026-09-10", LastReviewed: "2026-09-12", NextReviewDate: "2026-10-31"})
		put("flag", d.notYetDue, schema.Flag{Type: "da_perpetrator", StartDate: "2026-08-10", LastReviewed: "2026-11-05", NextReviewDate: "2027-02-05"})
		put("flag", d.exempted, schema.Flag{Type: "risk_to_staff", StartDate: "2026-08-10", NextReviewDate: "2026-11-20"})
	})
	ctx := context.Background()
	for id, date := range map[string]string{d.onTime: "2026-03-01", d.late: "2026-05-31", d.nonDA: "2026-10-05", e.ashaCase: "2026-11-10"} {
		if _, err := e.srv.DB().Write(ctx, e.admin, "case", id, id, map[string]json.RawMessage{"rosh_date": json.RawMessage(`"` + date + `"`)}); err != nil {
			t.Fatal(err)
		}
	}
}

// rmMeasure is one measure of this file: its slug, a period query, and
// the Go measure's report.
type rmMeasure struct {
	slug    string
	compute func(in compliance.Input, p compliance.Period, asOf schema.Date) compliance.Headlined
	// figures: some figures of the report and their cases, for the case
	// list tests.
	figures func(rep compliance.Headlined) map[string][]string
}

var rmMeasures467 = []rmMeasure{
	{slug: "reviews", compute: func(in compliance.Input, p compliance.Period, a schema.Date) compliance.Headlined {
		return compliance.Reviews(in, p, a)
	}, figures: func(h compliance.Headlined) map[string][]string {
		f := h.(*compliance.ReviewsReport).Totals
		return map[string][]string{"cases": f.Cases.CaseIDs, "flags.items": f.Flags.Items.CaseIDs, "flags.overdue": f.Flags.Overdue.CaseIDs,
			"flags.in_date": f.Flags.InDate.CaseIDs, "da_flags.no_date": f.DAFlags.NoDate.CaseIDs, "da_flags.overdue": f.DAFlags.Overdue.CaseIDs,
			"flags.after_as_of": f.Flags.AfterAsOf.CaseIDs, "flags.reviewed_in_period": f.Flags.ReviewedInPeriod.CaseIDs,
			"rosh.overdue": f.RoSH.Overdue.CaseIDs, "rosh.in_date": f.RoSH.InDate.CaseIDs, "rosh.no_date": f.RoSH.NoDate.CaseIDs}
	}},
	{slug: "interventions", compute: func(in compliance.Input, p compliance.Period, a schema.Date) compliance.Headlined {
		return compliance.Interventions(in, p, a)
	}, figures: func(h compliance.Headlined) map[string][]string {
		rep := h.(*compliance.InterventionsReport)
		f := rep.Totals
		out := map[string][]string{"needed": f.Needed.CaseIDs, "awaiting_decision": f.AwaitingDecision.CaseIDs,
			"not_referred": f.NotReferred.CaseIDs, "referred": f.Referred.CaseIDs, "waiting": f.Waiting.CaseIDs,
			"withdrawn": f.Withdrawn.CaseIDs, "started": f.Started.CaseIDs, "completed": f.Completed.CaseIDs,
			"delivered_share.denominator": f.DeliveredShare.Denominator.CaseIDs, "statuses.unknown": nil,
			"statuses.awaiting_allocation": nil}
		for st, x := range f.Statuses {
			out["statuses."+st] = x.CaseIDs
		}
		// Each need's, by the need parameter.
		for _, n := range rep.Needs {
			out["needed&need="+url.QueryEscape(n.Need)] = n.F.Needed.CaseIDs
			out["referred&need="+url.QueryEscape(n.Need)] = n.F.Referred.CaseIDs
		}
		return out
	}},
	{slug: "enquiries", compute: func(in compliance.Input, p compliance.Period, a schema.Date) compliance.Headlined {
		return compliance.Enquiries(in, p, a)
	}, figures: func(h compliance.Headlined) map[string][]string {
		f := h.(*compliance.EnquiriesReport).Totals
		out := map[string][]string{"cases": f.Cases.CaseIDs}
		for agency, a := range map[string]compliance.AgencyFigures{"police": f.Police, "childrens_services": f.ChildrensServices} {
			for name, x := range map[string]compliance.IDs{"needed": a.Needed, "answered": a.Answered, "not_requested": a.NotRequested,
				"overdue": a.Overdue, "awaiting": a.Awaiting, "not_recorded": a.NotRecorded, "answered_not_needed": a.AnsweredNotNeeded} {
				out[agency+"."+name] = x.CaseIDs
			}
		}
		for agency, x := range map[string]compliance.InTimeFigures{"police": f.Inspection.Police, "childrens_services": f.Inspection.ChildrensServices} {
			out["inspection."+agency+".numerator"] = x.Numerator.CaseIDs
			out["inspection."+agency+".denominator"] = x.Denominator.CaseIDs
			out["inspection."+agency+".answered_late"] = x.AnsweredLate.CaseIDs
		}
		return out
	}},
}

// TestMeasures467CountsFromTheReadModel: at detail=counts, measures 4, 6
// and 7 come from the read model, byte for byte the Go measure's report
// at that detail with its headline, for each role, the officer filter
// and several periods.
func TestMeasures467CountsFromTheReadModel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every figure as every role takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedMeasures467(t, e, d)
	ctx := context.Background()
	for _, who := range []string{"sue", "bea", "audrey", "root"} {
		tok := e.login(who, "dev-"+who).AccessToken
		actor := serverdb.ActorOf(e.users[who], "")
		for _, officer := range []string{"", e.users["asha"].ID} {
			in, err := e.srv.Compliance().Input(ctx, actor, officer)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []compliance.Period{{From: "2026-09-01", To: "2026-10-31"}, {From: "2026-09-15", To: "2026-11-23"},
				{From: "2026-10-01", To: "2026-10-01"}} {
				for _, m := range rmMeasures467 {
					rep := m.compute(in, p, p.To)
					compliance.AddHeadline(m.slug, in, rep, p)
					rep.(interface{ Summarize() }).Summarize()
					compliance.DropIDs(rep)
					want, err := json.Marshal(rep)
					if err != nil {
						t.Fatal(err)
					}
					path := "/v1/compliance/" + m.slug + "?detail=counts&from=" + string(p.From) + "&to=" + string(p.To) + "&officer_id=" + officer
					r := e.do("GET", path, nil, bearer(tok))
					if r.status != 200 || string(r.body) != string(want) {
						t.Errorf("GET %s as %s = %d\n%s\nwant the Go measure's\n%s", path, who, r.status, r.body, want)
					}
				}
			}
		}
	}
}

// TestMeasures467CaseLists: each figure's paged case list is the report's
// own list, for a supervisor, an admin and an auditor; a supervisor naming
// another team's officer gets none of that team's cases; officers are
// refused; each page is audited as a view of the measure's cases.
func TestMeasures467CaseLists(t *testing.T) {
	if testing.Short() {
		t.Skip("-short (CI's race pass): every figure's case list as every role takes minutes under -race; the plain pass runs it")
	}
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	seedMeasures467(t, e, d)
	ctx := context.Background()
	const period = "from=2026-09-01&to=2026-10-31"
	for _, m := range rmMeasures467 {
		for _, who := range []string{"sue", "bea", "audrey", "root"} {
			tok := e.login(who, "dev-"+who).AccessToken
			in, err := e.srv.Compliance().Input(ctx, serverdb.ActorOf(e.users[who], ""), "")
			if err != nil {
				t.Fatal(err)
			}
			figs := m.figures(m.compute(in, compliance.Period{From: "2026-09-01", To: "2026-10-31"}, "2026-10-31"))
			nonEmpty := 0
			for name, want := range figs {
				if want == nil {
					want = []string{}
				}
				nonEmpty += min(len(want), 1)
				path := "/v1/compliance/" + m.slug + "/cases?figure=" + name + "&" + period
				if got := allCasesOf(t, e, path, tok); !slices.Equal(got, want) {
					t.Errorf("%s as %s: pages list %v, the report %v", path, who, got, want)
				}
			}
			if who != "bea" && nonEmpty < len(figs)/2 {
				t.Errorf("%s as %s: only %d of %d figures list a case; the test wants most to", m.slug, who, nonEmpty, len(figs))
			}
		}
		evs, err := e.srv.DB().AuditByAction(ctx, "view")
		if err != nil {
			t.Fatal(err)
		}
		if last := string(evs[len(evs)-1].Detail); !strings.Contains(last, `"view":"compliance/`+m.slug+`/cases"`) {
			t.Errorf("the last page's audit event: %s; want the view compliance/%s/cases", last, m.slug)
		}
		// Another team's officer, every figure: nothing of that team. (The
		// measures' report names are their slugs.)
		var paths []string
		for _, name := range serverdb.FigureNames(m.slug) {
			paths = append(paths, "/v1/compliance/"+m.slug+"/cases?figure="+name+"&"+period)
		}
		checkCaseListRoles(t, e, complianceTokens(e), paths...)
		// An unknown figure: 400 naming the field and the measure's figures.
		path := "/v1/compliance/" + m.slug + "/cases?figure=items&" + period
		names := serverdb.FigureNames(m.slug)
		if r := e.do("GET", path, nil, bearer(e.login("sue", "dev-sue").AccessToken)); r.status != 400 ||
			r.errorResponse().Error.Field != "figure" || !strings.Contains(r.errorResponse().Error.Message, strings.Join(names, ", ")) {
			t.Errorf("GET %s = %d %s, want 400 naming figure and listing %v", path, r.status, r.body, names)
		}
	}
}
