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
		Build: buildOverdue, Week: overdueWeek, Requirements: true})
}

// overdueWeek is the trend's point: the number overdue at the week's end.
func overdueWeek(pc *panelCtx, w compliance.Period) point {
	n := float64(compliance.OverdueCount(pc.In, w.To)) // Overdue(pc.In, w.To).Totals.Requirements
	return point{Label: weekLabel(w), Value: &n, Note: "on " + ukDate(w.To)}
}

func buildOverdue(pc *panelCtx) *panelView {
	rep := compliance.Overdue(pc.In, pc.F.AsOf)
	t := rep.Totals
	da := 0
	for _, it := range rep.Items {
		if it.DomesticAbuse {
			da++
		}
	}
	share := compliance.OverdueShare(pc.In, pc.F.AsOf)
	v := &panelView{CaseIDs: rep.CaseIDs(),
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
	v.Table = overdueTable(pc, rep)
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
