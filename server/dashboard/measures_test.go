package dashboard

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// The panels of measure 1 (both its figures), the inspection's views of measures 3 and 4, measures 5 to 8 and of the exemptions show the JSON API's
// figures, and their tables the API's rows, for a synthetic team (invented
// people, with households, referrals, flags and exemptions) seen by its
// supervisor.
func TestDashboardMeasuresMatchTheAPI(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 3, CasesPerOfficer: 10, HistoryDays: 200, Seed: 5})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, url: srv.URL(), users: map[string]schema.User{sup.Username: sup}}
	b := e.signedIn(t, sup.Username)
	tok := e.login(sup.Username, "dev-sup").AccessToken
	const q = "from=2026-06-01&to=2026-11-23"
	share := func(num, den int, p *float64) string {
		if den > 0 && den < policy.DefaultMinDenominator { // too few to judge: no percentage
			return fmt.Sprintf(`<span class="few">%d of %d`, num, den)
		}
		if p == nil {
			return fmt.Sprintf("–</span> <span class=\"figure-text\">%d of %d", num, den)
		}
		return fmt.Sprintf("%.1f%%</span> <span class=\"figure-text\">%d of %d", *p, num, den)
	}
	count := func(n int) string { return fmt.Sprintf(`<span class="big">%d</span>`, n) }
	var hh compliance.HouseholdsReport
	e.getJSON(t, "/v1/compliance/households?"+q, tok, &hh)
	var iv compliance.InterventionsReport
	e.getJSON(t, "/v1/compliance/interventions?"+q, tok, &iv)
	var rv compliance.ReviewsReport
	e.getJSON(t, "/v1/compliance/reviews?"+q, tok, &rv)
	var wl compliance.WorkloadReport
	e.getJSON(t, "/v1/compliance/workload?as_of=2026-11-23", tok, &wl)
	var ex compliance.ExemptionsReport
	e.getJSON(t, "/v1/compliance/exemptions?"+q, tok, &ex)
	var fv compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?"+q, tok, &fv)
	var ct compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?"+q, tok, &ct)
	var eq compliance.EnquiriesReport
	e.getJSON(t, "/v1/compliance/enquiries?"+q, tok, &eq)
	h, i, r, x, fh, cd, ei := hh.Totals, iv.Totals, rv.Totals, ex.Totals, fv.Totals, ct.Totals.DomesticAbuse, eq.Totals.Inspection
	for _, c := range []struct {
		slug  string
		want  []string
		rows  int
		check int // a figure that must not be 0, so the comparison means something
	}{
		{"first-home-visits", []string{share(fh.Numerator.N, fh.Denominator.N, fh.Percent) + " on time",
			share(fh.VisitedAtAll.Numerator.N, fh.VisitedAtAll.Denominator.N, fh.VisitedAtAll.Percent) + " visited at all"}, len(fv.Cases), fh.Denominator.N},
		{"contacts", []string{share(cd.HomeShare.Numerator.N, cd.HomeShare.Denominator.N, cd.HomeShare.Percent) + " in the home, domestic-abuse cases"},
			len(ct.Visits), cd.Contacts.N},
		{"enquiries", []string{share(ei.Police.Numerator.N, ei.Police.Denominator.N, ei.Police.Percent) + " police answered within 15 days",
			share(ei.ChildrensServices.Numerator.N, ei.ChildrensServices.Denominator.N, ei.ChildrensServices.Percent) + " children&#39;s services answered within 15 days"},
			len(eq.Cases), ei.Police.Denominator.N},
		{"households", []string{share(h.Confirmed.Numerator.N, h.Confirmed.Denominator.N, h.Confirmed.Percent),
			share(h.ChildrenSeen.Numerator.N, h.ChildrenSeen.Denominator.N, h.ChildrenSeen.Percent),
			share(h.PartnerSeenAlone.Numerator.N, h.PartnerSeenAlone.Denominator.N, h.PartnerSeenAlone.Percent)}, len(hh.Cases), h.Cases.N},
		{"interventions", []string{share(i.ReferredShare.Numerator.N, i.ReferredShare.Denominator.N, i.ReferredShare.Percent),
			share(i.CompletedShare.Numerator.N, i.CompletedShare.Denominator.N, i.CompletedShare.Percent)}, len(iv.Items), i.Needed.N},
		{"reviews", []string{share(r.Flags.OnTime.Numerator.N, r.Flags.OnTime.Denominator.N, r.Flags.OnTime.Percent),
			share(r.RoSH.OnTime.Numerator.N, r.RoSH.OnTime.Denominator.N, r.RoSH.OnTime.Percent)}, len(rv.Items), r.Flags.Items.N},
		{"workload", []string{count(wl.Totals.Due), count(wl.Totals.Overdue)}, len(wl.Items), wl.Totals.Caseload.N},
		{"exemptions", []string{share(x.Exempted.Requirements, x.Due.Requirements, x.Percent)}, len(x.Reasons), x.Due.Requirements},
	} {
		t.Run(c.slug, func(t *testing.T) {
			if c.check == 0 {
				t.Fatalf("the synthetic team gives %s nothing to show", c.slug)
			}
			path := "/dashboard/measures/" + c.slug + "?" + q
			if c.slug == "workload" {
				path = "/dashboard/measures/workload?from=2026-08-26&to=2026-11-23"
			}
			p := b.get(path)
			mustStatus(t, c.slug, p, 200)
			for _, w := range c.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("%s page lacks %q", c.slug, w)
				}
			}
			if n := strings.Count(p.body, `<svg class="chart"`); n != 2 {
				t.Errorf("%s page has %d charts, want 2", c.slug, n)
			}
			csvPath := strings.Replace(path, "?", ".csv?", 1)
			if rows := b.csv(csvPath); len(rows)-1 != c.rows {
				t.Errorf("%s CSV has %d rows, the API %d", c.slug, len(rows)-1, c.rows)
			}
		})
	}
	// The overview has every card, and a column each in the officers table.
	p := b.get("/dashboard/?" + q)
	mustStatus(t, "overview", p, 200) // an error page has no card
	for _, slug := range []string{"households", "interventions", "reviews", "workload", "freshness", "exemptions"} {
		if !strings.Contains(p.body, `id="m-`+slug+`"`) {
			t.Errorf("overview lacks the %s card", slug)
		}
	}
	if rows := b.csv("/dashboard/.csv?table=officers&" + q); len(rows) < 2 || len(rows[0]) != 2+len(panels) {
		t.Errorf("officers CSV header %v, want a column per panel (%d)", rows[0], len(panels))
	}
	mustStatus(t, "print", b.get("/dashboard/print?"+q), 200)
}

// buildPanels computes the trends of the panels whose measures compute
// requirements week by week on one goroutine (panel.Week, Requirements);
// each trend point is still the measure called with that week (decision
// 0011), the same as building the panel alone, for a synthetic team.
func TestDashboardTrendsWeekByWeek(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 1, OfficersPerTeam: 4, CasesPerOfficer: 12, HistoryDays: 400, Seed: 3})
	crs, err := srv.Compliance().Cases(context.Background(), serverdb.ActorOf(sup, ""), compliance.Narrow{})
	if err != nil {
		t.Fatal(err)
	}
	in := compliance.Input{Cases: crs, Policy: srv.Policy()}
	f := &filters{From: "2026-08-26", To: "2026-11-23", AsOf: "2026-11-23", Today: "2026-11-23"}
	pc := &panelCtx{In: in, F: f, Weekly: true}
	views := buildPanels(pc)
	weeks := f.weeks()
	checked := 0
	for i, p := range panels {
		alone := buildPanel(p, &panelCtx{In: in, F: f, Weekly: true})
		if got, want := fmt.Sprint(pointsText(views[i].Trend)), fmt.Sprint(pointsText(alone.Trend)); got != want {
			t.Errorf("%s: trend %s, built alone %s", p.Slug, got, want)
		}
		// The trends computed for all the weeks at once
		// (compliance.ContactsHomeShares, HouseholdsChildrenSeen,
		// ReviewsFlagsOnTime) are the
		// measure called with each week.
		var direct []point
		for _, w := range weeks {
			switch p.Slug {
			case "contacts":
				s := compliance.Contacts(in, w, min(w.To, f.AsOf)).Totals.HomeShare
				direct = append(direct, share(weekLabel(w), s.Numerator.N, s.Denominator.N, s.Percent))
			case "households":
				s := compliance.Households(in, w, f.AsOf).Totals.ChildrenSeen
				direct = append(direct, share(weekLabel(w), s.Numerator.N, s.Denominator.N, s.Percent))
			case "reviews":
				s := compliance.Reviews(in, w, w.To).Totals.Flags.OnTime
				direct = append(direct, share(weekLabel(w), s.Numerator.N, s.Denominator.N, s.Percent))
			}
		}
		if direct != nil {
			if got, want := fmt.Sprint(pointsText(views[i].Trend)), fmt.Sprint(pointsText(direct)); got != want {
				t.Errorf("%s: trend %s, the measure week by week %s", p.Slug, got, want)
			}
			for _, pt := range direct {
				if pt.Value != nil {
					checked += int(*pt.Value)
				}
			}
		}
		if p.Week == nil {
			continue
		}
		if len(views[i].Trend) != len(weeks) {
			t.Fatalf("%s: %d points for %d weeks", p.Slug, len(views[i].Trend), len(weeks))
		}
		for j, w := range weeks {
			var want int
			switch p.Slug {
			case "overdue":
				want = compliance.Overdue(in, w.To).Totals.Requirements
			case "workload":
				want = compliance.Workload(in, w.To).Totals.Due
			default:
				t.Fatalf("no direct call for %s's week", p.Slug)
			}
			if v := views[i].Trend[j].Value; v == nil || int(*v) != want {
				t.Errorf("%s, week to %s: %v, want %d", p.Slug, w.To, views[i].Trend[j].Value, want)
			}
			checked += want
		}
	}
	if checked == 0 {
		t.Error("every weekly figure is 0: the comparison means nothing")
	}
}

func pointsText(ps []point) []string {
	var out []string
	for _, p := range ps {
		v := "nil"
		if p.Value != nil {
			v = fmt.Sprint(*p.Value)
		}
		out = append(out, p.Label+"="+v+" ("+p.Note+")")
	}
	return out
}
