package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Measure 3 at detail=counts from the read model (serverdb's
// readmodel_contacts.go): every count of ContactFigures is one figure
// query, counted in visits by team and officer.

// contactCounts are measure 3's counts of f, by the read model's name of
// each (serverdb.FigureNames).
func contactCounts(f *ContactFigures) map[string]*VisitIDs {
	out := map[string]*VisitIDs{"contacts": &f.Contacts, "completed": &f.Completed, "attempts": &f.Attempts,
		"home_share.numerator": &f.HomeShare.Numerator, "home_share.denominator": &f.HomeShare.Denominator,
		"face_to_face_share.numerator": &f.FaceToFaceShare.Numerator, "face_to_face_share.denominator": &f.FaceToFaceShare.Denominator,
		"attempt_outcomes.no_answer": &f.AttemptOutcomes.NoAnswer, "attempt_outcomes.refused_entry": &f.AttemptOutcomes.RefusedEntry,
		"attempt_outcomes.not_present": &f.AttemptOutcomes.NotPresent, "attempt_outcomes.abandoned_safety": &f.AttemptOutcomes.AbandonedSafety,
		"attempt_outcomes.not_undertaken": &f.AttemptOutcomes.NotUndertaken, "attempt_outcomes.other": &f.AttemptOutcomes.Other}
	for prefix, c := range map[string]*ChannelFigures{"channels.": &f.Channels, "attempt_channels.": &f.AttemptChannels} {
		p := &c.ElsewhereByPlace
		for name, x := range map[string]*VisitIDs{"face_to_face": &c.FaceToFace, ChannelHome: &c.Home, ChannelDoorstep: &c.Doorstep,
			ChannelElsewhere: &c.Elsewhere, "elsewhere_by_place.cafe": &p.Cafe, "elsewhere_by_place.library": &p.Library,
			"elsewhere_by_place.office": &p.Office, "elsewhere_by_place.community_venue": &p.CommunityVenue,
			"elsewhere_by_place.other": &p.Other, ChannelPhone: &c.Phone, ChannelVideo: &c.Video,
			ChannelOtherNotFace: &c.OtherNotFaceToFace} {
			out[prefix+name] = x
		}
	}
	d := &f.DomesticAbuse
	for name, x := range map[string]*VisitIDs{"contacts": &d.Contacts, "completed": &d.Completed, "attempts": &d.Attempts,
		"home_share.numerator": &d.HomeShare.Numerator, "home_share.denominator": &d.HomeShare.Denominator,
		"face_to_face_share.numerator":   &d.FaceToFaceShare.Numerator,
		"face_to_face_share.denominator": &d.FaceToFaceShare.Denominator} {
		out["domestic_abuse."+name] = x
	}
	return out
}

// contactsFigure is measure 3's headline figure (the home share) over
// period as of asOf, from the read model.
func contactsFigure(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (Figure, error) {
	n := map[string]int{}
	for _, name := range []string{"home_share.numerator", "home_share.denominator"} {
		q := serverdb.FigureQuery{Measure: serverdb.MeasureContacts, Figure: name, AsOf: asOf, From: period.From, To: period.To,
			OfficerID: officerID}
		fgs, err := fs.Groups(ctx, actor, q)
		if err != nil {
			return Figure{}, err
		}
		for _, fg := range fgs {
			n[name] += fg.Rows
		}
	}
	return FigureOf(n["home_share.numerator"], n["home_share.denominator"]), nil
}

// ContactsCounts is measure 3 at detail=counts (Contacts, Summarize,
// DropIDs) with its headline (AddHeadline), from one snapshot of the read
// model; with it, the cases it covers (for the audit).
func (s *Service) ContactsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (rep *ContactsReport, cases []string, err error) {
	err = s.db.ReadFigures(ctx, func(fs serverdb.Figures) error {
		rep, cases, err = s.contactsCounts(ctx, fs, actor, officerID, period, asOf)
		return err
	})
	return rep, cases, err
}

func (s *Service) contactsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (*ContactsReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	rep := &ContactsReport{Measure: serverdb.MeasureContacts, Period: period, AsOf: asOf, OfficerID: officerID,
		Cases: []ContactCase{}, Visits: []ContactVisit{}}
	g := newGroups[ContactFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureContacts, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID}
	for _, name := range serverdb.FigureNames(serverdb.MeasureContacts) { // "contacts" first: the groups
		q := base
		q.Figure = name
		err := countInto(ctx, fs, actor, in, q, &rep.Totals, g, name == "contacts", func(f *ContactFigures, fg serverdb.FigureGroup) {
			contactCounts(f)[name].N += fg.Rows
		})
		if err != nil {
			return nil, nil, err
		}
	}
	elsewhere, err := fs.ContactsElsewhere(ctx, actor, base)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range elsewhere {
		x := ElsewhereReason{VisitID: e.VisitID, CaseID: e.CaseID, PlaceType: e.Place, Reason: e.Reason}
		rep.Totals.ElsewhereReasons = append(rep.Totals.ElsewhereReasons, x)
		team, officer := g.of(in, schema.Case{TeamID: e.TeamID, OfficerID: e.OfficerID})
		team.ElsewhereReasons = append(team.ElsewhereReasons, x)
		officer.ElsewhereReasons = append(officer.ElsewhereReasons, x)
	}
	finish := func(f *ContactFigures) {
		if f.ElsewhereReasons == nil {
			f.ElsewhereReasons = []ElsewhereReason{}
		}
		for _, s := range []*Share{&f.HomeShare, &f.FaceToFaceShare, &f.DomesticAbuse.HomeShare, &f.DomesticAbuse.FaceToFaceShare} {
			s.Percent = percent(s.Numerator.N, s.Denominator.N)
		}
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	prev := PreviousPeriod(period)
	pf, err := contactsFigure(ctx, fs, actor, officerID, prev, prev.To)
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(in.policy(), "contacts", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	q := base
	q.Figure = "contacts"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
