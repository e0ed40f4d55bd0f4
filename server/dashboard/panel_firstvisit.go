package dashboard

import (
	"strconv"
	"strings"

	"doorstep/server/compliance"
)

// Measure 1 on the dashboard: first home visit on time in domestic-abuse
// cases (docs/compliance.md), and beside it the inspection's figure, the
// same cases visited at all (on time or late). The weekly trend groups the cases by the
// week their supervision started: each bar is the measure computed over
// that week as the period, as the records stand on the page's as-of day
// (read from the read model on a counted page: panelCounts.shares).
func init() {
	registerPanel(&panel{Order: 1, Slug: "first-home-visits", Title: "First home visit on time",
		About: "Domestic-abuse cases whose supervision started in the period and whose first home visit was due: visited on or before the due date.",
		Build: buildFirstVisits, Requirements: true,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.FirstVisitReport] { return o.FirstVisits }, firstVisitsView, func(r *compliance.FirstVisitReport) *compliance.Headline { return r.Headline })})
}

func buildFirstVisits(pc *panelCtx) *panelView {
	rep := compliance.FirstHomeVisits(pc.In, pc.F.period(), pc.F.AsOf)
	v := firstVisitsView(pc, rep, rep.CaseIDs())
	if pc.noTables {
		return v // the page shows no table
	}
	tb := &table{ID: "cases", Caption: "Cases in the measure", Empty: "No domestic-abuse case started in the period.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "rosh", Label: "RoSH"},
			{Key: "start", Label: "Supervision start"}, {Key: "due", Label: "First visit due"}, {Key: "outcome", Label: "Outcome"},
			{Key: "met", Label: "Visited on"}, {Key: "days_late", Label: "Days late", Num: true}, {Key: "note", Label: "Reason or note"}}}
	for _, c := range rep.Cases {
		note := datesInWords(c.Reason)
		if c.Safety != nil {
			note = strings.TrimSpace(note + " safety assessment " + label(c.Safety.Decision) + ": " + c.Safety.Reason)
		}
		if len(c.Attempts) > 0 {
			note = strings.TrimSpace(note + " " + strconv.Itoa(len(c.Attempts)) + " no-access attempt(s)")
		}
		tb.Rows = append(tb.Rows, []cell{link(c.CRN, pc.caseHref(c.CaseID)), link(c.OfficerName, pc.officerHref(c.OfficerID)),
			txt(label(c.RoSH)), day(c.SupervisionStart), day(c.DueOn), {Text: label(c.Outcome), Mark: "outcome-" + c.Outcome},
			day(c.MetOn), num(c.DaysLate), txt(datesInWords(note))})
	}
	v.Table = tb
	return v
}

// firstVisitsView is the panel but its table: rep's figures, the weekly
// trend, each officer's bar; caseIDs are the cases behind it.
func firstVisitsView(pc *panelCtx, rep *compliance.FirstVisitReport, caseIDs []string) *panelView {
	t := rep.Totals
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{{Label: "on time", Num: t.Numerator.N, Den: t.Denominator.N, Percent: t.Percent},
			{Label: "visited at all, on time or late (the inspection's figure)", Num: t.VisitedAtAll.Numerator.N,
				Den: t.VisitedAtAll.Denominator.N, Percent: t.VisitedAtAll.Percent}},
		Apart: []apart{{"visited late", t.MetLate.N}, {"missed", t.Missed.N}, {"not yet due", t.NotYetDue.N},
			{"exempted", t.Exempted.N}, {"safety assessment not approved", t.SafetyNotApproved.N}},
		TrendTitle: "Percent on time, by the week supervision started",
		BarsTitle:  "Percent on time, by officer",
		ByOfficer:  map[string]cell{},
	}
	v.Trend = pc.weekly("first-home-visits", func(w compliance.Period) point {
		wr := compliance.FirstHomeVisits(pc.In, w, pc.F.AsOf)
		return share(weekLabel(w), wr.Totals.Numerator.N, wr.Totals.Denominator.N, wr.Totals.Percent)
	})
	for _, o := range rep.Officers {
		v.officerShare(o.Name, o.ID, o.F.Numerator.N, o.F.Denominator.N, o.F.Percent)
	}
	return v
}
