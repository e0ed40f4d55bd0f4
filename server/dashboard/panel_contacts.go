package dashboard

import (
	"doorstep/schema"
	"doorstep/server/compliance"
)

// Measure 3 on the dashboard: how contact happened. The figure is the
// home share of completed contacts; the weekly trend is that share for the
// contacts of each week.
func init() {
	registerPanel(&panel{Order: 3, Slug: "contacts", Title: "Contacts in the home",
		About: "Completed contacts in the period that were face to face in the home; doorstep, elsewhere (café, library, office), phone and video are the rest.",
		Build: buildContacts,
		Counts: countedPanel(func(o *compliance.Overview) compliance.Counted[*compliance.ContactsPanel] { return o.Contacts },
			contactsPanelView, func(p *compliance.ContactsPanel) *compliance.Headline { return p.Report.Headline })})
}

// contactsPanelView is the panel but its table from the read model
// (compliance.ContactsPanel, decision 0075), its trend with it.
func contactsPanelView(pc *panelCtx, p *compliance.ContactsPanel, caseIDs []string) *panelView {
	v := contactsView(pc, p.Report, caseIDs)
	if p.Weeks != nil {
		v.Trend = sharePoints(pc.F.weeks(), p.Weeks)
	}
	return v
}

func buildContacts(pc *panelCtx) *panelView {
	rep := compliance.Contacts(pc.In, pc.F.period(), pc.F.AsOf)
	v := contactsView(pc, rep, rep.CaseIDs())
	if pc.Weekly {
		// Each week is compliance.Contacts(pc.In, w, min(w.To, pc.F.AsOf))'s
		// home share, computed for all the weeks in one pass.
		weeks := pc.F.weeks()
		asOfs := make([]schema.Date, len(weeks))
		for i, w := range weeks {
			asOfs[i] = min(w.To, pc.F.AsOf)
		}
		for i, s := range compliance.ContactsHomeShares(pc.In, weeks, asOfs) {
			v.Trend = append(v.Trend, share(weekLabel(weeks[i]), s.Num, s.Den, s.Percent))
		}
	}
	if !pc.noTables {
		v.Table = contactsTable(pc, rep)
	}
	return v
}

// contactsView is the panel but its trend and table: rep's figures, each
// officer's bar; caseIDs are the cases behind it.
func contactsView(pc *panelCtx, rep *compliance.ContactsReport, caseIDs []string) *panelView {
	t := rep.Totals
	ch := t.Channels
	v := &panelView{Percent: true, CaseIDs: caseIDs,
		Figures: []figure{{Label: "in the home", Num: t.HomeShare.Numerator.N, Den: t.HomeShare.Denominator.N, Percent: t.HomeShare.Percent},
			{Label: "face to face", Num: t.FaceToFaceShare.Numerator.N, Den: t.FaceToFaceShare.Denominator.N, Percent: t.FaceToFaceShare.Percent},
			{Label: "in the home, domestic-abuse cases (the inspection's view)", Num: t.DomesticAbuse.HomeShare.Numerator.N,
				Den: t.DomesticAbuse.HomeShare.Denominator.N, Percent: t.DomesticAbuse.HomeShare.Percent}},
		Apart: []apart{{"on the doorstep", ch.Doorstep.N}, {"elsewhere (café, library, office…)", ch.Elsewhere.N},
			{"phone", ch.Phone.N}, {"video", ch.Video.N}, {"attempts, not completed", t.Attempts.N}},
		TrendTitle: "Percent of completed contacts in the home, by week",
		BarsTitle:  "Percent of completed contacts in the home, by officer",
		ByOfficer:  map[string]cell{},
	}
	for _, o := range rep.Officers {
		s := o.F.HomeShare
		v.officerShare(o.Name, o.ID, s.Numerator.N, s.Denominator.N, s.Percent)
	}
	return v
}

func contactsTable(pc *panelCtx, rep *compliance.ContactsReport) *table {
	tb := &table{ID: "contacts", Caption: "Contacts in the period", Empty: "No signed contact in the period.",
		Columns: []column{{Key: "day", Label: "Day"}, {Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Made by"},
			{Key: "type", Label: "Type"}, {Key: "channel", Label: "How"}, {Key: "place", Label: "Place"},
			{Key: "outcome", Label: "Outcome"}, {Key: "reason", Label: "Reason given"}}}
	for _, c := range rep.Visits {
		reason := c.ElsewhereReason
		if reason == "" {
			reason = c.OutcomeReason
		}
		tb.Rows = append(tb.Rows, []cell{dayLink(c.Day, pc.visitHref(c.VisitID)), link(c.CRN, pc.caseHref(c.CaseID)),
			txt(c.OfficerName), txt(label(c.Type)), txt(label(c.Channel)), txt(label(c.PlaceType)), txt(label(c.Outcome)), txt(reason)})
	}
	return tb
}
