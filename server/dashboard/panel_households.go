package dashboard

import (
	"fmt"

	"doorstep/server/compliance"
)

// Measure 5 on the dashboard: households recorded, children seen, partner
// seen alone, in the open domestic-abuse cases. The headline figures are
// the three shares; the weekly trend and the bars are the home visits at
// which every child was seen or a reason given.
func init() {
	registerPanel(&panel{Order: 5, Slug: "households", Title: "Households, children and partners",
		About: fmt.Sprintf("Open domestic-abuse cases: household confirmed in the last %d months; home visits where every child was seen (or a reason given); partner seen alone in the period.", compliance.HouseholdConfirmMonths),
		Build: buildHouseholds,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.HouseholdsPanel] { return o.Households },
			householdsPanelView, func(p *compliance.HouseholdsPanel) *compliance.Headline { return p.Report.Headline })})
}

// householdsPanelView is the panel but its table from the read model
// (compliance.HouseholdsPanel, decision 0075), its trend with it.
func householdsPanelView(pc *panelCtx, p *compliance.HouseholdsPanel, caseIDs []string) *panelView {
	v := householdsView(pc, p.Report, caseIDs)
	if p.Weeks != nil {
		v.Trend = sharePoints(pc.F.weeks(), p.Weeks)
	}
	return v
}

func buildHouseholds(pc *panelCtx) *panelView {
	rep := compliance.Households(pc.In, pc.F.period(), pc.F.AsOf)
	v := householdsView(pc, rep, rep.CaseIDs())
	if pc.Weekly {
		// Each week is compliance.Households(pc.In, w, pc.F.AsOf)'s
		// children seen, computed for all the weeks in one pass.
		weeks := pc.F.weeks()
		for i, s := range compliance.HouseholdsChildrenSeen(pc.In, weeks, pc.F.AsOf) {
			v.Trend = append(v.Trend, share(weekLabel(weeks[i]), s.Num, s.Den, s.Percent))
		}
	}
	if !pc.noTables {
		v.Table = householdsTable(pc, rep)
	}
	return v
}

// householdsView is the panel but its trend and table: rep's figures,
// each officer's bar; caseIDs are the cases behind it.
func householdsView(pc *panelCtx, rep *compliance.HouseholdsReport, caseIDs []string) *panelView {
	t := rep.Totals
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{
			{Label: "households confirmed", Num: t.Confirmed.Numerator.N, Den: t.Confirmed.Denominator.N, Percent: t.Confirmed.Percent},
			{Label: "home visits with every child seen or a reason", Num: t.ChildrenSeen.Numerator.N, Den: t.ChildrenSeen.Denominator.N, Percent: t.ChildrenSeen.Percent},
			{Label: "partners seen alone", Num: t.PartnerSeenAlone.Numerator.N, Den: t.PartnerSeenAlone.Denominator.N, Percent: t.PartnerSeenAlone.Percent},
		},
		Apart: []apart{{"household not confirmed", t.NotConfirmed.N}, {"household not recorded", t.NotRecorded.N},
			{"not yet due", t.NotYetDue.N}, {"visits with a child unaccounted for", t.ChildrenUnaccounted.N},
			{"visits that found a child not on the record", t.ChildNotOnRecord.N}, {"partner seen, never alone", t.PartnerSeenNotAlone.N},
			{"partner not seen", t.PartnerNotSeen.N}, {"no partner", t.NoPartner.N}},
		TrendTitle: "Percent of home visits with every child seen or a reason given, by week",
		BarsTitle:  "Percent of home visits with every child seen or a reason given, by officer",
		ByOfficer:  map[string]cell{},
	}
	for _, o := range rep.Officers {
		s := o.F.ChildrenSeen
		v.officerShare(o.Name, o.ID, s.Numerator.N, s.Denominator.N, s.Percent)
	}
	return v
}

func householdsTable(pc *panelCtx, rep *compliance.HouseholdsReport) *table {
	tb := &table{ID: "households", Caption: "Open domestic-abuse cases", Empty: "No open domestic-abuse case passes the filters.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "household", Label: "Household"},
			{Key: "members", Label: "Members", Num: true}, {Key: "confirmed", Label: "Confirmed on"}, {Key: "children", Label: "Children", Num: true},
			{Key: "victim", Label: "A child a victim in their own right"}, {Key: "partner", Label: "Partner"}, {Key: "alone", Label: "Partner seen alone on"},
			{Key: "visits", Label: "Home visits in the period", Num: true}, {Key: "unaccounted", Label: "Visits with a child unaccounted for", Num: true}}}
	for _, c := range rep.Cases {
		un := 0
		for _, hv := range c.Visits {
			if hv.Children == compliance.ChildrenUnaccounted {
				un++
			}
		}
		hh := txt(label(c.Household))
		if c.Household != compliance.HouseholdConfirmed && c.Household != compliance.HouseholdNotYetDue {
			hh.Mark = "bad"
		}
		uc := num(un)
		if un > 0 {
			uc.Mark = "bad"
		}
		tb.Rows = append(tb.Rows, []cell{link(c.CRN, pc.caseHref(c.CaseID)), link(c.OfficerName, pc.officerHref(c.OfficerID)), hh,
			num(c.Members), day(c.ConfirmedOn), num(c.Children), txt(label(c.VictimInOwnRight)), txt(label(c.Partner)),
			day(c.PartnerSeenOn), num(len(c.Visits)), uc})
	}
	return tb
}
