package dashboard

import (
	"doorstep/server/compliance"
)

// Measure 6 on the dashboard: the intervention funnel, need → referred →
// started → completed, for the needs identified in the period. The weekly
// trend is the share referred by the week the need was identified.
func init() {
	registerPanel(&panel{Order: 6, Slug: "interventions", Title: "Interventions: need to completion",
		About: "Intervention needs identified in the period: referred, started and completed by the as-of day; those not referred keep their recorded reason.",
		Build: buildInterventions,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.InterventionsReport] {
			return o.Interventions
		}, interventionsView, func(r *compliance.InterventionsReport) *compliance.Headline { return r.Headline })})
}

func buildInterventions(pc *panelCtx) *panelView {
	rep := compliance.Interventions(pc.In, pc.F.period(), pc.F.AsOf)
	v := interventionsView(pc, rep, rep.CaseIDs())
	if pc.noTables {
		return v // the page shows no table
	}
	tb := &table{ID: "interventions", Caption: "Needs identified in the period", Empty: "No intervention need was identified in the period.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "need", Label: "Need"},
			{Key: "identified", Label: "Identified"}, {Key: "decision", Label: "Decision"}, {Key: "reason", Label: "Reason"},
			{Key: "status", Label: "Referral status"}, {Key: "stage", Label: "Stage"}, {Key: "days", Label: "Days in this stage", Num: true}}}
	for _, it := range rep.Items {
		status := label(it.Status)
		if it.StatusOn != "" {
			status += " (" + ukDate(it.StatusOn) + ")"
		}
		stage := txt(label(it.Stage))
		if it.Stage == compliance.StageAwaitingDecision || it.Stage == compliance.StageWithdrawn {
			stage.Mark = "bad"
		}
		tb.Rows = append(tb.Rows, []cell{link(it.CRN, pc.caseHref(it.CaseID)), link(it.OfficerName, pc.officerHref(it.OfficerID)),
			txt(it.Need), day(it.IdentifiedOn), txt(label(it.Decision)), txt(it.DecisionReason), txt(status), stage, num(it.DaysInStage)})
	}
	v.Table = tb
	return v
}

// interventionsView is the panel but its table: rep's figures, the weekly
// trend, each officer's bar; caseIDs are the cases behind it.
func interventionsView(pc *panelCtx, rep *compliance.InterventionsReport, caseIDs []string) *panelView {
	t := rep.Totals
	fig := func(lbl string, s compliance.RecordShare) figure {
		return figure{Label: lbl, Num: s.Numerator.N, Den: s.Denominator.N, Percent: s.Percent}
	}
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{fig("needs referred", t.ReferredShare), fig("referrals started", t.StartedShare), fig("referrals completed", t.CompletedShare)},
		Apart: []apart{{"needs identified", t.Needed.N}, {"awaiting a decision", t.AwaitingDecision.N}, {"not referred (with a reason)", t.NotReferred.N},
			{"referred, waiting to start", t.Waiting.N}, {"withdrawn", t.Withdrawn.N}, {"started", t.Started.N}, {"completed", t.Completed.N}},
		TrendTitle: "Percent of needs referred, by the week the need was identified",
		BarsTitle:  "Percent of needs referred, by officer",
		ByOfficer:  map[string]cell{},
	}
	v.Trend = pc.weekly("interventions", func(w compliance.Period) point {
		s := compliance.Interventions(pc.In, w, pc.F.AsOf).Totals.ReferredShare
		return share(weekLabel(w), s.Numerator.N, s.Denominator.N, s.Percent)
	})
	for _, o := range rep.Officers {
		s := o.F.ReferredShare
		v.officerShare(o.Name, o.ID, s.Numerator.N, s.Denominator.N, s.Percent)
	}
	return v
}
