package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// enquiryCounts are measure 4's figures of f, by the read model's name of
// each (serverdb.FigureNames).
func enquiryCounts(f *EnquiryFigures) map[string]*IDs {
	out := map[string]*IDs{"cases": &f.Cases}
	for agency, a := range map[string]*AgencyFigures{"police": &f.Police, "childrens_services": &f.ChildrensServices} {
		for name, x := range map[string]*IDs{"needed": &a.Needed, "answered": &a.Answered, "not_requested": &a.NotRequested,
			"overdue": &a.Overdue, "awaiting": &a.Awaiting, "not_recorded": &a.NotRecorded, "answered_not_needed": &a.AnsweredNotNeeded} {
			out[agency+"."+name] = x
		}
	}
	for agency, in := range map[string]*InTimeFigures{"police": &f.Inspection.Police, "childrens_services": &f.Inspection.ChildrensServices} {
		out["inspection."+agency+".numerator"] = &in.Numerator
		out["inspection."+agency+".denominator"] = &in.Denominator
		out["inspection."+agency+".answered_late"] = &in.AnsweredLate
	}
	return out
}

// agencyOf is f's figures of agency ("police", "childrens_services").
func agencyOf(f *EnquiryFigures, agency string) *AgencyFigures {
	if agency == "police" {
		return &f.Police
	}
	return &f.ChildrensServices
}

// sumsFigure is the figure num of den of q's measure, a figure of cases
// of one family each, both counted in one pass (Figures.Sums: measure 4's
// from the agency's cases the snapshot read once for the period).
func sumsFigure(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, q serverdb.FigureQuery, num, den string) (Figure, error) {
	q.Figure = num
	sums, err := fs.Sums(ctx, actor, q, []string{num, den})
	if err != nil {
		return Figure{}, err
	}
	var n, d int
	for _, s := range sums {
		n, d = n+s.N[0], d+s.N[1]
	}
	return FigureOf(n, d), nil
}

// EnquiriesCounts is measure 4 at detail=counts (Enquiries, Summarize,
// DropIDs) with its headline (AddHeadline), from one snapshot of the read
// model; with it, the cases it covers (for the audit). The median days
// are taken in Go from the answered cases' days, which the answer lists
// anyway.
func (s *Service) EnquiriesCounts(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date) (*EnquiriesReport, []string, error) {
	return onSnapshot(ctx, s, func(ctx context.Context, fs serverdb.Figures) (*EnquiriesReport, []string, error) {
		return s.enquiriesCounts(ctx, fs, actor, officerID, "", period, asOf)
	})
}

func (s *Service) enquiriesCounts(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, officerID, teamID string, period Period, asOf schema.Date) (*EnquiriesReport, []string, error) {
	in, err := s.names(ctx, officerID)
	if err != nil {
		return nil, nil, err
	}
	p := in.policy()
	rep := &EnquiriesReport{Measure: serverdb.MeasureEnquiries, Period: period, AsOf: asOf, WithinDays: p.EnquiryDays(),
		RuleVersion: p.Version, OfficerID: officerID, Cases: []EnquiryCase{}}
	g := newGroups[EnquiryFigures]()
	base := serverdb.FigureQuery{Measure: serverdb.MeasureEnquiries, AsOf: asOf, From: period.From, To: period.To, OfficerID: officerID,
		TeamID: teamID, WithinDays: p.EnquiryDays()}
	q := base
	q.Figure = "cases" // the groups
	err = countInto(ctx, fs, actor, in, q, &rep.Totals, g, true, func(f *EnquiryFigures, fg serverdb.FigureGroup) { f.Cases.N += fg.Cases })
	if err != nil {
		return nil, nil, err
	}
	for _, agency := range []string{"police", "childrens_services"} {
		names := familyOf(serverdb.MeasureEnquiries, agency)
		err := sumInto(ctx, fs, actor, in, base, names, &rep.Totals, g, func(f *EnquiryFigures, s serverdb.FigureSums) {
			counts := enquiryCounts(f) // once a group, not once a figure
			for i, name := range names {
				counts[name].N += s.N[i]
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	each := func(teamID, officerID string, fn func(f *EnquiryFigures)) {
		fn(&rep.Totals)
		team, officer := g.of(in, schema.Case{TeamID: teamID, OfficerID: officerID})
		fn(team)
		fn(officer)
	}
	for _, agency := range []string{"police", "childrens_services"} {
		q := base
		q.Figure = agency + ".answered"
		days, err := fs.EnquiryDays(ctx, actor, q)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range days {
			x := EnquiryDays{CaseID: d.CaseID, Days: d.Days}
			each(d.TeamID, d.OfficerID, func(f *EnquiryFigures) { a := agencyOf(f, agency); a.Days = append(a.Days, x) })
		}
		q.Figure = agency + ".not_requested"
		reasons, err := fs.NotRequestedReasons(ctx, actor, q)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range reasons {
			x := EnquiryReason{CaseID: r.CaseID, EnquiryID: r.EnquiryID, Reason: r.Reason}
			each(r.TeamID, r.OfficerID, func(f *EnquiryFigures) {
				a := agencyOf(f, agency)
				a.NotRequestedReasons = append(a.NotRequestedReasons, x)
			})
		}
	}
	finish := func(f *EnquiryFigures) {
		for _, a := range []*AgencyFigures{&f.Police, &f.ChildrensServices} {
			a.Percent = percent(a.Answered.N, a.Needed.N)
			if a.NotRequestedReasons == nil {
				a.NotRequestedReasons = []EnquiryReason{} // listed in case id order
			}
			a.finishDays()
		}
		for _, x := range []*InTimeFigures{&f.Inspection.Police, &f.Inspection.ChildrensServices} {
			x.Percent = percent(x.Numerator.N, x.Denominator.N)
		}
	}
	finish(&rep.Totals)
	rep.Teams, rep.Officers = sortedGroups(g.teams, finish), sortedGroups(g.officers, finish)
	prev := PreviousPeriod(period)
	pq := base
	pq.AsOf, pq.From, pq.To = prev.To, prev.From, prev.To
	pf, err := sumsFigure(ctx, fs, actor, pq, "police.answered", "police.needed")
	if err != nil {
		return nil, nil, err
	}
	rep.Headline = Judge(p, "enquiries", rep.HeadlineFigure(), PreviousFigure{Figure: pf, Period: prev})
	cases, err := fs.Cases(ctx, actor, q, "", allCases)
	return rep, cases, err
}
