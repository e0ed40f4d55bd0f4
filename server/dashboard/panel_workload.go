package dashboard

import (
	"fmt"

	"doorstep/schema/policy"
	"doorstep/server/compliance"
)

// Measure 8 on the dashboard: the workload ahead, the visits falling due
// in the next 4 weeks from the as-of day, beside the caseload. The weekly
// trend is what was due in the 4 weeks after each week's end.
func init() {
	registerPanel(&panel{Order: 8, Slug: "workload", Title: "Visits due in the next 4 weeks",
		About: fmt.Sprintf("Visits the policy requires that fall due in the %d weeks from the as-of day and are not made yet, with the caseload they come from; overdue ones are counted apart.", compliance.WorkloadWeeks),
		Build: buildWorkload, Week: workloadWeek, Requirements: true,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.WorkloadPanel] { return o.Workload },
			workloadPanelView, func(p *compliance.WorkloadPanel) *compliance.Headline { return p.Headline })})
}

// workloadWeek is the trend's point: what was due in the weeks after the
// week's end.
func workloadWeek(pc *panelCtx, w compliance.Period) point {
	return workloadPoint(w, compliance.WorkloadDue(pc.In, w.To)) // Workload(pc.In, w.To).Totals.Due
}

func workloadPoint(w compliance.Period, n int) point {
	v := float64(n)
	return point{Label: weekLabel(w), Value: &v, Note: "from " + ukDate(w.To)}
}

// workloadPanelView is the panel but its table from the read model
// (compliance.WorkloadPanel, decision 0075), its trend with it.
func workloadPanelView(pc *panelCtx, p *compliance.WorkloadPanel, caseIDs []string) *panelView {
	v := workloadView(pc, p.Report, p.Planned, caseIDs)
	if p.Weeks != nil {
		for i, w := range pc.F.weeks() {
			v.Trend = append(v.Trend, workloadPoint(w, p.Weeks[i]))
		}
	}
	return v
}

func buildWorkload(pc *panelCtx) *panelView {
	rep := compliance.Workload(pc.In, pc.F.AsOf)
	v := workloadView(pc, rep, compliance.WorkloadPlanned(pc.In, pc.F.AsOf), rep.CaseIDs())
	if !pc.noTables {
		v.Table = workloadTable(pc, rep)
	}
	return v
}

// workloadView is the panel but its table: rep's figures, planned the
// headline figure, each officer's bar; caseIDs are the cases behind it.
func workloadView(pc *panelCtx, rep *compliance.WorkloadReport, planned compliance.Figure, caseIDs []string) *panelView {
	t := rep.Totals
	v := &panelView{CaseIDs: caseIDs,
		Figures: []figure{{Label: "due in the next 4 weeks with a visit planned by the due date", Num: planned.Numerator, Den: planned.Denominator, Percent: planned.Percent},
			{Label: "visits due from " + ukDate(rep.AsOf) + " to " + ukDate(rep.Until), Num: t.Due, Count: true, Unit: "due"},
			{Label: "already overdue", Num: t.Overdue, Count: true, Unit: "overdue"}},
		Apart:      []apart{{"cases", t.Caseload.N}, {"domestic-abuse cases", t.DACases.N}, {"high or very high RoSH", t.HighRoSH.N}, {"allocated, not started yet", t.NotStarted.N}, {"visits planned", t.Planned.N}},
		TrendTitle: fmt.Sprintf("Visits due in the %d weeks after each week's end", compliance.WorkloadWeeks),
		BarsTitle:  fmt.Sprintf("Visits due in the next %d weeks, by officer", compliance.WorkloadWeeks),
		ByOfficer:  map[string]cell{},
	}
	for i, n := range t.ByWeek {
		v.Apart = append(v.Apart, apart{fmt.Sprintf("due in week %d (from %s)", i+1, ukDate(addDays(pc.F.AsOf, 7*i))), n})
	}
	for _, o := range rep.Officers {
		n := float64(o.F.Due)
		v.Officers = append(v.Officers, point{Label: o.Name, Value: &n, Note: fmt.Sprintf("%d cases", o.F.Caseload.N)})
		v.ByOfficer[o.ID] = num(o.F.Due)
	}
	return v
}

func workloadTable(pc *panelCtx, rep *compliance.WorkloadReport) *table {
	tb := &table{ID: "workload", Caption: "Visits falling due, soonest first", Empty: "No visit falls due in the next 4 weeks.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "rule", Label: "Visit required"},
			{Key: "trigger", Label: "Because of"}, {Key: "since", Label: "Since"}, {Key: "due", Label: "Due"},
			{Key: "week", Label: "Week", Num: true}, {Key: "planned", Label: "Planned for"}}}
	for _, it := range rep.Items {
		rule := ruleName(pc, it.RuleID)
		if it.Recurrence > 0 {
			rule += fmt.Sprintf(" (repeat %d)", it.Recurrence)
		}
		tb.Rows = append(tb.Rows, []cell{link(it.CRN, pc.caseHref(it.CaseID)), link(it.OfficerName, pc.officerHref(it.OfficerID)),
			txt(rule), txt(label(string(it.Trigger))), day(it.TriggeredOn), day(it.DueOn), num(it.Week), day(it.PlannedOn)})
	}
	return tb
}

// ruleName is a visit rule's name in the policy the measures use.
func ruleName(pc *panelCtx, id string) string {
	p := pc.In.Policy
	if p == nil {
		p = policy.Default()
	}
	if r, ok := p.Rule(id); ok {
		return r.Name
	}
	return id
}
