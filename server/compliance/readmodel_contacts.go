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

// countsOf are the counts of ids, by name.
func countsOf[X IDs | VisitIDs](ids map[string]*X) map[string]*int {
	out := make(map[string]*int, len(ids))
	for name, x := range ids {
		switch x := any(x).(type) {
		case *IDs:
			out[name] = &x.N
		case *VisitIDs:
			out[name] = &x.N
		}
	}
	return out
}

// countAll counts the figures names of q's measure (serverdb.Figures.Counts:
// one pass over its rows) into totals and each team's and officer's
// figures; counts are the counts of f's figures by name (asked once an
// F and group: a map of every figure, not one a figure). The report's
// case list, asked for next, comes from the same pass where the store
// can (CountsListing, decision 0078).
func countAll[F any](ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, q serverdb.FigureQuery,
	names []string, totals *F, g groups[F], counts func(f *F) map[string]*int) error {
	fcs, err := fs.CountsListing(ctx, actor, q, names)
	if err != nil {
		return err
	}
	addCounts(in, fcs, names, totals, g, counts)
	return nil
}

// addCounts adds the counts fcs of the figures names into totals and
// each team's and officer's figures (countAll's).
func addCounts[F any](in Input, fcs []serverdb.FigureCounts, names []string, totals *F, g groups[F], counts func(f *F) map[string]*int) {
	// Each F's counts by the index of their name, found once an F (the
	// map of every figure is large: once a group row, it was most of
	// measure 3's process CPU after its counts were summed, decision 0102).
	byF := map[*F][]*int{}
	for _, fc := range fcs {
		team, officer := g.of(in, schema.Case{TeamID: fc.TeamID, OfficerID: fc.OfficerID})
		for _, f := range []*F{totals, team, officer} {
			n, ok := byF[f]
			if !ok {
				byName := counts(f)
				n = make([]*int, len(names))
				for i, name := range names {
					n[i] = byName[name]
				}
				byF[f] = n
			}
			for i, x := range n {
				*x += fc.N[i]
			}
		}
	}
}

// ContactsCounts is measure 3 at detail=counts (Contacts, Summarize,
// DropIDs) with its headline (AddHeadline), from one snapshot of the read
// model; with it, the cases it covers (for the audit).
func (s *Service) ContactsCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (rep *ContactsReport, cases []string, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		in, err := s.names(ctx, officerID)
		if err != nil {
			return err
		}
		rep, cases, err = contactsCounts(ctx, fs, actor, in, officerID, "", period, asOf)
		return err
	})
	return rep, cases, err
}

// contactsCounts is measure 3 at detail=counts with its headline for the
// cases of officerID and teamID (each when set: the report set's has no
// team, the overview's panel the page's) in the actor's scope, over
// period as of asOf, on the snapshot fs, with the names in; with it, the
// cases it covers.
func contactsCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, officerID, teamID string, period Period, asOf schema.Date) (*ContactsReport, []string, error) {
	rep := &ContactsReport{Measure: serverdb.MeasureContacts, Period: period, AsOf: asOf, OfficerID: officerID,
		Cases: []ContactCase{}, Visits: []ContactVisit{}}
	g := newGroups[ContactFigures]()
	base := periodQuery(serverdb.MeasureContacts, officerID, teamID, period, asOf)
	err := countAll(ctx, fs, actor, in, base, serverdb.FigureNames(serverdb.MeasureContacts), &rep.Totals, g,
		func(f *ContactFigures) map[string]*int { return countsOf(contactCounts(f)) })
	if err != nil {
		return nil, nil, err
	}
	elsewhere, err := fs.ContactsElsewhere(ctx, actor, base)
	if err != nil {
		return nil, nil, err
	}
	elsewhereReasons(elsewhere, &rep.Totals, g, in)
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
	if rep.Headline, err = previousShare(ctx, fs, actor, in, "contacts", base, period, rep.HeadlineFigure(), "home_share"); err != nil {
		return nil, nil, err
	}
	q := base
	q.Figure = "contacts"
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}

// elsewhereReasons adds the contacts elsewhere (in visit id order) to
// totals and to their team's and officer's figures of g, each list in
// that order. Every list is made once at its length, the teams' lists
// parts of one array and the officers' of another, and each contact's
// team and officer are looked up by their ids once a run of contacts of
// one officer (appended one by one, each contact looked up, the lists
// grew by copying: decision 0105).
func elsewhereReasons(elsewhere []serverdb.ElsewhereContact, totals *ContactFigures, g groups[ContactFigures], in Input) {
	// lists[j] is a team's or an officer's figures, n[j] its contacts;
	// at[i] are the team's and officer's j of the i-th contact.
	var lists []*ContactFigures
	var n []int
	index := map[*ContactFigures]int32{}
	indexOf := func(f *ContactFigures) int32 {
		j, ok := index[f]
		if !ok {
			j = int32(len(lists))
			index[f] = j
			lists, n = append(lists, f), append(n, 0)
		}
		return j
	}
	at := make([][2]int32, len(elsewhere))
	byIDs := map[[2]string][2]int32{}
	var last [2]string
	var cur [2]int32
	for i, e := range elsewhere {
		if k := [2]string{e.TeamID, e.OfficerID}; i == 0 || k != last {
			var ok bool
			if cur, ok = byIDs[k]; !ok {
				team, officer := g.of(in, schema.Case{TeamID: e.TeamID, OfficerID: e.OfficerID})
				cur = [2]int32{indexOf(team), indexOf(officer)}
				byIDs[k] = cur
			}
			last = k
		}
		at[i] = cur
		n[cur[0]]++
		n[cur[1]]++
	}
	// Two arrays of every contact: each team's list a part of the first,
	// each officer's of the second (a list is a team's or an officer's,
	// never both).
	teams, officers := make([]ElsewhereReason, len(elsewhere)), make([]ElsewhereReason, len(elsewhere))
	var t, o int
	for _, a := range at {
		if f := lists[a[0]]; f.ElsewhereReasons == nil {
			f.ElsewhereReasons, t = teams[t:t:t+n[a[0]]], t+n[a[0]]
		}
		if f := lists[a[1]]; f.ElsewhereReasons == nil {
			f.ElsewhereReasons, o = officers[o:o:o+n[a[1]]], o+n[a[1]]
		}
	}
	totals.ElsewhereReasons = make([]ElsewhereReason, 0, len(elsewhere))
	for i, e := range elsewhere {
		x := ElsewhereReason{VisitID: e.VisitID, CaseID: e.CaseID, PlaceType: e.Place, Reason: e.Reason}
		totals.ElsewhereReasons = append(totals.ElsewhereReasons, x)
		for _, j := range at[i] {
			lists[j].ElsewhereReasons = append(lists[j].ElsewhereReasons, x)
		}
	}
}
