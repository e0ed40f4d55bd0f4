package compliance

import (
	"context"
	"strings"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// enquiryCount is measure 4's figure of f by the read model's name of it
// (serverdb.FigureNames), nil for a name that is not one. A switch, not a
// map of every figure made a group: the agencies' counts are added to
// each group thrice (the totals, its team, its officer), and the maps
// were a sixth of the report's own CPU (decision 0106).
func enquiryCount(f *EnquiryFigures, name string) *IDs {
	if name == "cases" {
		return &f.Cases
	}
	rest, inspection := strings.CutPrefix(name, "inspection.")
	agency, figure, _ := strings.Cut(rest, ".")
	if agency != "police" && agency != "childrens_services" {
		return nil
	}
	if inspection {
		in := &f.Inspection.Police
		if agency == "childrens_services" {
			in = &f.Inspection.ChildrensServices
		}
		switch figure {
		case "numerator":
			return &in.Numerator
		case "denominator":
			return &in.Denominator
		case "answered_late":
			return &in.AnsweredLate
		}
		return nil
	}
	a := agencyOf(f, agency)
	switch figure {
	case "needed":
		return &a.Needed
	case "answered":
		return &a.Answered
	case "not_requested":
		return &a.NotRequested
	case "overdue":
		return &a.Overdue
	case "awaiting":
		return &a.Awaiting
	case "not_recorded":
		return &a.NotRecorded
	case "answered_not_needed":
		return &a.AnsweredNotNeeded
	}
	return nil
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
			for i, name := range names {
				enquiryCount(f, name).N += s.N[i]
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
