package dashboard

import (
	"fmt"

	"doorstep/server/compliance"
)

// Measure 2 on the dashboard: overdue requirements now. The headline is
// the share of the caseload with a visit overdue (compliance.OverdueShare);
// the weekly trend is the number overdue at the end of each week of the
// period.
func init() {
	registerPanel(&panel{Order: 2, Slug: "overdue", Title: "Overdue visits",
		About: "Visits the policy requires (first visits, repeats, new address, partner or child, police call-outs) past their due date with no visit that meets them, in open cases.",
		Build: buildOverdue, Week: overdueWeek, Requirements: true,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.OverduePanel] { return o.Overdue },
			overduePanelView, func(p *compliance.OverduePanel) *compliance.Headline { return p.Headline })})
}

// overdueWeek is the trend's point: the number overdue at the week's end.
func overdueWeek(pc *panelCtx, w compliance.Period) point {
	return overduePoint(w, compliance.OverdueCount(pc.In, w.To)) // Overdue(pc.In, w.To).Totals.Requirements
}

func overduePoint(w compliance.Period, n int) point {
	v := float64(n)
	return point{Label: weekLabel(w), Value: &v, Note: "on " + ukDate(w.To)}
}

// overduePanelView is the panel but its table from the read model
// (compliance.OverduePanel, decision 0075), its trend with it.
func overduePanelView(pc *panelCtx, p *compliance.OverduePanel, caseIDs []string) *panelView {
	v := overdueView(pc, p.Report, p.DA, p.Headline.Figure, caseIDs)
	if p.Weeks != nil {
		for i, w := range pc.F.weeks() {
			v.Trend = append(v.Trend, overduePoint(w, p.Weeks[i]))
		}
	}
	return v
}

func buildOverdue(pc *panelCtx) *panelView {
	rep := compliance.Overdue(pc.In, pc.F.AsOf)
	da := 0
	for _, it := range rep.Items {
		if it.DomesticAbuse {
			da++
		}
	}
	v := overdueView(pc, rep, da, compliance.OverdueShare(pc.In, pc.F.AsOf), rep.CaseIDs())
	if !pc.noTables {
		v.Table = overdueTable(pc, rep)
	}
	return v
}

// overdueView is the panel but its table: rep's figures (da of its
// requirements in domestic-abuse cases), share the headline figure, each
// officer's bar; caseIDs are the cases behind it.
func overdueView(pc *panelCtx, rep *compliance.OverdueReport, da int, share compliance.Figure, caseIDs []string) *panelView {
	t := rep.Totals
	v := &panelView{CaseIDs: caseIDs,
		Figures: []figure{{Label: "cases with a visit overdue", Num: share.Numerator, Den: share.Denominator, Percent: share.Percent},
			{Label: "overdue on " + ukDate(pc.F.AsOf), Num: t.Requirements, Count: true, Unit: "overdue"}},
		Apart: []apart{{"cases with one or more", t.Cases.N}, {"in domestic-abuse cases", da},
			{"most days overdue", t.MaxDaysOverdue}},
		TrendTitle: "Visits overdue at the end of each week",
		BarsTitle:  "Visits overdue, by officer",
		ByOfficer:  map[string]cell{},
	}
	for _, o := range rep.Officers {
		n := float64(o.F.Requirements)
		v.Officers = append(v.Officers, point{Label: o.Name, Value: &n, Note: fmt.Sprintf("%d cases", o.F.Cases.N)})
		v.ByOfficer[o.ID] = num(o.F.Requirements)
	}
	return v
}

func overdueTable(pc *panelCtx, rep *compliance.OverdueReport) *table {
	tb := &table{ID: "overdue", Caption: "Overdue visits, most overdue first", Empty: "Nothing is overdue.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "rosh", Label: "RoSH"},
			{Key: "officer", Label: "Officer"}, {Key: "da", Label: "Domestic abuse"},
			{Key: "rule", Label: "Visit required"}, {Key: "trigger", Label: "Because of"}, {Key: "since", Label: "Since"},
			{Key: "due", Label: "Due"}, {Key: "days", Label: "Days overdue", Num: true}, {Key: "attempts", Label: "No-access attempts", Num: true}}}
	for _, it := range rep.Items {
		da := "no"
		if it.DomesticAbuse {
			da = "yes"
		}
		rule := it.RuleName
		if it.Recurrence > 0 {
			rule += fmt.Sprintf(" (repeat %d)", it.Recurrence)
		}
		tb.Rows = append(tb.Rows, []cell{link(it.CRN, pc.caseHref(it.CaseID)), link(it.Name, pc.caseHref(it.CaseID)), txt(label(it.RoSH)),
			link(it.OfficerName, pc.officerHref(it.OfficerID)),
			txt(da), txt(rule), txt(label(string(it.Trigger))), txt(ukDate(it.TriggeredOn)), txt(ukDate(it.DueOn)),
			{Text: fmt.Sprint(it.DaysOverdue), Num: float64(it.DaysOverdue), Mark: "bad"}, num(len(it.Attempts))})
	}
	return tb
}
