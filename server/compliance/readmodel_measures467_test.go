package compliance_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

func recordFig(x compliance.RecordIDs) fig { return fig{rows: x.N, cases: x.CaseIDs} }

// byGroup calls add with a report's totals ("") and each team's
// ("team:<id>") and officer's ("officer:<id>") figures.
func byGroup[F any](totals F, teams, officers []compliance.Breakdown[F], add func(group string, f F)) {
	add("", totals)
	for _, b := range teams {
		add("team:"+b.ID, b.F)
	}
	for _, b := range officers {
		add("officer:"+b.ID, b.F)
	}
}

// reviewsFigures are measure 7's figures, by the read model's names.
func reviewsFigures(rep *compliance.ReviewsReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.ReviewsFigures) {
		g.put("cases", group, idsFig(f.Cases))
		for kind, r := range map[string]compliance.ReviewFigures{"flags": f.Flags, "da_flags": f.DAFlags, "rosh": f.RoSH} {
			for name, x := range map[string]compliance.RecordIDs{"items": r.Items, "on_time.numerator": r.OnTime.Numerator,
				"on_time.denominator": r.OnTime.Denominator, "in_date": r.InDate, "not_yet_due": r.NotYetDue,
				"no_date": r.NoDate, "after_as_of": r.AfterAsOf, "reviewed_in_period": r.ReviewedInPeriod} {
				g.put(kind+"."+name, group, recordFig(x))
			}
			o := recordFig(r.Overdue)
			o.max = r.MaxDaysOverdue
			g.put(kind+".overdue", group, o)
		}
	}
	byGroup(rep.Totals, rep.Teams, rep.Officers, add)
	return g
}

// countsReport is a report of a period measure with a headline.
type countsReport interface {
	compliance.Headlined
	Summarize()
}

// countsJSON is a Go report at detail=counts, as the JSON API sends it
// from the Go measure: its headline added, summarised, its ids dropped.
func countsJSON(t *testing.T, slug string, in compliance.Input, rep countsReport, period compliance.Period) string {
	t.Helper()
	compliance.AddHeadline(slug, in, rep, period)
	rep.Summarize()
	compliance.DropIDs(rep)
	return string(mustJSON(t, rep))
}

// checkCounts467 holds the read model's detail=counts reports of measures
// 4, 6 and 7 (totals, teams, officers, every figure, the headline and the
// previous period's, the days, reasons and needs) to the Go measures',
// byte for byte, and each need's started figure of measure 6, with its
// case list, to the Go measure's (TestReadModelAgreesWithTheGoMeasures
// calls it for each scope and day).
func checkCounts467(t *testing.T, db *serverdb.DB, svc *compliance.Service, name string, actor serverdb.Actor, officerID string,
	in compliance.Input, p compliance.Period, asOf schema.Date) {
	t.Helper()
	ctx := context.Background()
	label := fmt.Sprintf("%s over %s..%s", name, p.From, p.To)
	rv, _, err := svc.ReviewsCounts(ctx, actor, officerID, p, asOf)
	if err != nil {
		t.Fatalf("%s: ReviewsCounts: %v", label, err)
	}
	if got, want := string(mustJSON(t, rv)), countsJSON(t, "reviews", in, compliance.Reviews(in, p, asOf), p); got != want {
		t.Errorf("%s: reviews from the read model\n%s\nthe Go measure's\n%s", label, got, want)
	}
	iv, _, err := svc.InterventionsCounts(ctx, actor, officerID, p, asOf)
	if err != nil {
		t.Fatalf("%s: InterventionsCounts: %v", label, err)
	}
	goIv := compliance.Interventions(in, p, asOf)
	if name == "admin" && asOf == "2026-11-23" && (len(goIv.Needs) < 2 || len(goIv.Totals.Statuses) < 3 || goIv.Totals.NotReferred.N == 0) {
		t.Errorf("%s: the synthetic service has %d needs, %d statuses, %d not referred; the test wants more", label,
			len(goIv.Needs), len(goIv.Totals.Statuses), goIv.Totals.NotReferred.N)
	}
	// Each need's figures, and its case lists, from the read model.
	for _, n := range goIv.Needs {
		q := serverdb.FigureQuery{Measure: serverdb.MeasureInterventions, Figure: "started", AsOf: asOf, From: p.From, To: p.To,
			OfficerID: officerID, Need: n.Need}
		compareFigure(t, label+": started of "+n.Need, map[string]fig{"": recordFig(n.F.Started)}, onlyTotals(sqlFigure(t, db, actor, q)))
	}
	if got, want := string(mustJSON(t, iv)), countsJSON(t, "interventions", in, goIv, p); got != want {
		t.Errorf("%s: interventions from the read model\n%s\nthe Go measure's\n%s", label, got, want)
	}
	en, _, err := svc.EnquiriesCounts(ctx, actor, officerID, p, asOf)
	if err != nil {
		t.Fatalf("%s: EnquiriesCounts: %v", label, err)
	}
	goEn := compliance.Enquiries(in, p, asOf)
	// (The synthetic service answers nearly every enquiry; the other
	// statuses are the hand-built dataset's, server/compliance_rm467_test.go.)
	if name == "admin" && asOf == "2026-11-23" && (goEn.Totals.Police.Answered.N < 2 || goEn.Totals.Police.MedianDays == nil) {
		t.Errorf("%s: the synthetic service's enquiries are too few to test: %+v", label, goEn.Totals.Police)
	}
	if got, want := string(mustJSON(t, en)), countsJSON(t, "enquiries", in, goEn, p); got != want {
		t.Errorf("%s: enquiries from the read model\n%s\nthe Go measure's\n%s", label, got, want)
	}
}

// interventionsFigures are measure 6's figures, by the read model's names.
func interventionsFigures(rep *compliance.InterventionsReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.InterventionFigures) {
		for name, x := range map[string]compliance.RecordIDs{"needed": f.Needed, "awaiting_decision": f.AwaitingDecision,
			"not_referred": f.NotReferred, "referred": f.Referred, "waiting": f.Waiting, "withdrawn": f.Withdrawn,
			"started": f.Started, "completed": f.Completed,
			"referred_share.numerator": f.ReferredShare.Numerator, "referred_share.denominator": f.ReferredShare.Denominator,
			"started_share.numerator": f.StartedShare.Numerator, "started_share.denominator": f.StartedShare.Denominator,
			"completed_share.numerator": f.CompletedShare.Numerator, "completed_share.denominator": f.CompletedShare.Denominator,
			"delivered_share.numerator": f.DeliveredShare.Numerator, "delivered_share.denominator": f.DeliveredShare.Denominator} {
			g.put(name, group, recordFig(x))
		}
		for _, st := range serverdb.ReferralStatuses {
			x := compliance.RecordIDs{}
			if f.Statuses[st] != nil {
				x = *f.Statuses[st]
			}
			g.put("statuses."+st, group, recordFig(x))
		}
	}
	byGroup(rep.Totals, rep.Teams, rep.Officers, add)
	return g
}

// onlyTotals keeps the totals of a figure counted by the read model.
func onlyTotals(f map[string]fig) map[string]fig { return map[string]fig{"": f[""]} }

// enquiriesFigures are measure 4's figures, by the read model's names.
func enquiriesFigures(rep *compliance.EnquiriesReport) goFigures {
	g := goFigures{}
	add := func(group string, f compliance.EnquiryFigures) {
		g.put("cases", group, idsFig(f.Cases))
		for agency, a := range map[string]compliance.AgencyFigures{"police": f.Police, "childrens_services": f.ChildrensServices} {
			for name, x := range map[string]compliance.IDs{"needed": a.Needed, "answered": a.Answered, "not_requested": a.NotRequested,
				"overdue": a.Overdue, "awaiting": a.Awaiting, "not_recorded": a.NotRecorded, "answered_not_needed": a.AnsweredNotNeeded} {
				g.put(agency+"."+name, group, idsFig(x))
			}
		}
		for agency, x := range map[string]compliance.InTimeFigures{"police": f.Inspection.Police, "childrens_services": f.Inspection.ChildrensServices} {
			g.put("inspection."+agency+".numerator", group, idsFig(x.Numerator))
			g.put("inspection."+agency+".denominator", group, idsFig(x.Denominator))
			g.put("inspection."+agency+".answered_late", group, idsFig(x.AnsweredLate))
		}
	}
	byGroup(rep.Totals, rep.Teams, rep.Officers, add)
	return g
}

// BenchmarkCounts467 times measures 4, 6 and 7 at detail=counts as an
// admin over a synthetic service of 2,500 cases in a store: from the read
// model ("read-model"), and from the Go measure over the records the
// service holds decoded ("go", its cache warm: the computation, the
// summary and the dropping of the ids).
func BenchmarkCounts467(b *testing.B) {
	ctx := context.Background()
	db, err := serverdb.Open(ctx, filepath.Join(b.TempDir(), "server.db"), serverdb.Options{Now: testkit.NewClock(synth.DefaultNow).Now})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ds := synth.Generate(synth.Options{Seed: 5, Teams: 5, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730})
	setup := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, setup, tm); err != nil {
			b.Fatal(err)
		}
	}
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, setup, u, "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Seed(ctx, setup, ds.Records); err != nil {
		b.Fatal(err)
	}
	svc := compliance.NewService(db, nil)
	p := compliance.Period{From: "2026-05-27", To: "2026-11-23"}
	const asOf = "2026-11-23"
	if _, err := svc.Input(ctx, setup, ""); err != nil { // the cache warm
		b.Fatal(err)
	}
	for _, m := range []struct {
		name   string
		counts func() error
		goRep  func(in compliance.Input) countsReport
	}{
		{"reviews", func() error { _, _, err := svc.ReviewsCounts(ctx, setup, "", p, asOf); return err },
			func(in compliance.Input) countsReport {
				return compliance.Reviews(in, p, asOf)
			}},
		{"interventions", func() error { _, _, err := svc.InterventionsCounts(ctx, setup, "", p, asOf); return err },
			func(in compliance.Input) countsReport {
				return compliance.Interventions(in, p, asOf)
			}},
		{"enquiries", func() error { _, _, err := svc.EnquiriesCounts(ctx, setup, "", p, asOf); return err },
			func(in compliance.Input) countsReport {
				return compliance.Enquiries(in, p, asOf)
			}},
	} {
		b.Run(m.name+"/read-model", func(b *testing.B) {
			for b.Loop() {
				if err := m.counts(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/go", func(b *testing.B) {
			for b.Loop() {
				in, err := svc.Input(ctx, setup, "")
				if err != nil {
					b.Fatal(err)
				}
				rep := m.goRep(in)
				compliance.AddHeadline(m.name, in, rep, p)
				rep.Summarize()
				compliance.DropIDs(rep)
			}
		})
	}
}
