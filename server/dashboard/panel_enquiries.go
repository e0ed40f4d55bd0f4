package dashboard

import (
	"fmt"
	"strings"

	"doorstep/server/compliance"
)

// Measure 4 on the dashboard: police and children's-services enquiries
// answered. The weekly trend groups the cases by the week their
// supervision started (the police enquiries' percent answered; read from
// the read model on a counted page: panelCounts.shares).
func init() {
	registerPanel(&panel{Order: 4, Slug: "enquiries", Title: "Safeguarding enquiries answered",
		About:  "Cases that started in the period and needed a police (domestic abuse) or children's-services enquiry: answered by the as-of day; beside them, the inspection's figures, answered in time.",
		Build:  buildEnquiries,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.EnquiriesReport] { return o.Enquiries }, enquiriesView, func(r *compliance.EnquiriesReport) *compliance.Headline { return r.Headline })})
}

func buildEnquiries(pc *panelCtx) *panelView {
	rep := compliance.Enquiries(pc.In, pc.F.period(), pc.F.AsOf)
	v := enquiriesView(pc, rep, rep.CaseIDs())
	if pc.noTables {
		return v // the page shows no table
	}
	tb := &table{ID: "enquiries", Caption: "Cases that started in the period", Empty: "No case started in the period.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "start", Label: "Supervision start"},
			{Key: "police", Label: "Police enquiry"}, {Key: "police_days", Label: "Police: days to answer", Num: true},
			{Key: "cs", Label: "Children's services enquiry"}, {Key: "cs_days", Label: "Children's services: days to answer", Num: true},
			{Key: "why", Label: "Needed because"}}}
	for _, c := range rep.Cases {
		why := append(append([]string{}, c.Police.NeededBecause...), c.ChildrensServices.NeededBecause...)
		if c.ChildVisitsHousehold {
			why = append(why, "child_visits_household")
		}
		tb.Rows = append(tb.Rows, []cell{link(c.CRN, pc.caseHref(c.CaseID)), link(c.OfficerName, pc.officerHref(c.OfficerID)),
			day(c.SupervisionStart), txt(agencyText(c.Police)), daysCell(c.Police.Days), txt(agencyText(c.ChildrensServices)),
			daysCell(c.ChildrensServices.Days), txt(label(strings.Join(why, ", ")))})
	}
	v.Table = tb
	return v
}

// enquiriesView is the panel but its table: rep's figures, the weekly
// trend, each officer's bar; caseIDs are the cases behind it.
func enquiriesView(pc *panelCtx, rep *compliance.EnquiriesReport, caseIDs []string) *panelView {
	p, cs := rep.Totals.Police, rep.Totals.ChildrensServices
	ip, ic := rep.Totals.Inspection.Police, rep.Totals.Inspection.ChildrensServices
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{{Label: "police answered", Num: p.Answered.N, Den: p.Needed.N, Percent: p.Percent},
			{Label: "children's services answered", Num: cs.Answered.N, Den: cs.Needed.N, Percent: cs.Percent},
			{Label: fmt.Sprintf("police answered within %d days of the start or before it (the inspection's figure)", rep.WithinDays),
				Num: ip.Numerator.N, Den: ip.Denominator.N, Percent: ip.Percent},
			{Label: fmt.Sprintf("children's services answered within %d days, children visiting counted too (the inspection's figure)", rep.WithinDays),
				Num: ic.Numerator.N, Den: ic.Denominator.N, Percent: ic.Percent}},
		Apart: []apart{{"police: overdue", p.Overdue.N}, {"police: not recorded", p.NotRecorded.N}, {"police: awaiting, not yet due", p.Awaiting.N},
			{"children's services: overdue", cs.Overdue.N}, {"children's services: not recorded", cs.NotRecorded.N}},
		TrendTitle: "Percent of police enquiries answered, by the week supervision started",
		BarsTitle:  "Percent of police enquiries answered, by officer",
		ByOfficer:  map[string]cell{},
	}
	v.Trend = pc.weekly("enquiries", func(w compliance.Period) point {
		x := compliance.Enquiries(pc.In, w, pc.F.AsOf).Totals.Police
		return share(weekLabel(w), x.Answered.N, x.Needed.N, x.Percent)
	})
	for _, o := range rep.Officers {
		x := o.F.Police
		v.officerShare(o.Name, o.ID, x.Answered.N, x.Needed.N, x.Percent)
	}
	return v
}

func agencyText(a compliance.AgencyEnquiry) string {
	if !a.Needed {
		if a.Status == compliance.EnquiryAnswered {
			return "not needed (answered)"
		}
		return "not needed"
	}
	s := label(a.Status)
	if a.Reason != "" {
		s += fmt.Sprintf(": %s", a.Reason)
	}
	return s
}

func daysCell(d *int) cell {
	if d == nil {
		return cell{Text: "–", Null: true}
	}
	return num(*d)
}
