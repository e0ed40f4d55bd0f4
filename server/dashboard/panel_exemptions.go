package dashboard

import (
	"cmp"
	"fmt"

	"doorstep/server/compliance"
)

// The exemptions measure on the dashboard: of the visits due in the
// period (every rule), how many a manager's exemption or a safety
// assessment not approved closed, each with its reason and approver.
// Exemptions are shown, never hidden: measure 1 keeps them apart too.
func init() {
	registerPanel(&panel{Order: 10, Slug: "exemptions", Title: "Visits exempted",
		About: "Visits the policy required in the period that were closed by an exemption (a manager's, or a safety assessment not approved or exempted) rather than met or missed, with each reason.",
		Build: buildExemptions, Requirements: true,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.ExemptionsReport] { return o.Exemptions }, exemptionsView, func(r *compliance.ExemptionsReport) *compliance.Headline { return r.Headline })})
}

func buildExemptions(pc *panelCtx) *panelView {
	rep := compliance.Exemptions(pc.In, pc.F.period(), pc.F.AsOf)
	v := exemptionsView(pc, rep, rep.CaseIDs())
	if pc.noTables {
		return v // the page shows no table
	}
	t := rep.Totals
	cases := map[string][2]string{} // case id → CRN, officer id
	for _, cr := range pc.In.Cases {
		cases[cr.Case.ID] = [2]string{cr.Case.CRN, cr.Case.OfficerID}
	}
	name := func(id string) string { return cmp.Or(pc.In.Officers[id], id) }
	tb := &table{ID: "exemptions", Caption: "Exempted visits and why", Empty: "No visit due in the period was exempted.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "rule", Label: "Visit required"},
			{Key: "trigger", Label: "Because of"}, {Key: "due", Label: "Due"}, {Key: "reason", Label: "Reason"}, {Key: "by", Label: "Approved by"}}}
	for _, r := range t.Reasons {
		c := cases[r.CaseID]
		rule := ruleName(pc, r.RuleID)
		if r.Recurrence > 0 {
			rule += fmt.Sprintf(" (repeat %d)", r.Recurrence)
		}
		tb.Rows = append(tb.Rows, []cell{link(c[0], pc.caseHref(r.CaseID)), link(name(c[1]), pc.officerHref(c[1])), txt(rule),
			txt(label(string(r.Trigger))), day(r.DueOn), txt(datesInWords(r.Reason)), txt(name(r.ApprovedBy))})
	}
	v.Table = tb
	return v
}

// exemptionsView is the panel but its table: rep's figures, the weekly
// trend, each officer's bar; caseIDs are the cases behind it.
func exemptionsView(pc *panelCtx, rep *compliance.ExemptionsReport, caseIDs []string) *panelView {
	t := rep.Totals
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{{Label: "visits due were exempted", Num: t.Exempted.Requirements, Den: t.Due.Requirements, Percent: t.Percent}},
		Apart: []apart{{"met", t.Met.Requirements}, {"missed", t.Missed.Requirements}, {"met although exempted", t.MetDespiteExemption.Requirements},
			{"cases with the safety assessment not approved", t.SafetyNotApproved.N}, {"cases with the safety assessment exempted", t.SafetyExempted.N}},
		TrendTitle: "Percent of the visits due each week that were exempted",
		BarsTitle:  "Percent of the visits due that were exempted, by officer",
		ByOfficer:  map[string]cell{},
	}
	v.Trend = pc.weekly("exemptions", func(w compliance.Period) point {
		x := compliance.Exemptions(pc.In, w, pc.F.AsOf).Totals
		return share(weekLabel(w), x.Exempted.Requirements, x.Due.Requirements, x.Percent)
	})
	for _, o := range rep.Officers {
		x := o.F
		v.officerShare(o.Name, o.ID, x.Exempted.Requirements, x.Due.Requirements, x.Percent)
	}
	return v
}
