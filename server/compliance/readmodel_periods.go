package compliance

import (
	"context"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Published periods from the read model (docs/compliance.md, "Published
// periods"): a publication freezes each measure as the JSON API answers it
// at detail=summary, every figure with its case ids. The measures the read
// model answers are computed from it there, their counts as at
// detail=counts and the ids of each figure's cases, per team and officer,
// from the same snapshot (serverdb.Figures.Members).

// exemptionIDs are the exemptions report's case lists, by the read model's
// name of each figure.
func exemptionIDs(f *ExemptionFigures) map[string]*IDs {
	out := map[string]*IDs{"safety_not_approved": &f.SafetyNotApproved, "safety_exempted": &f.SafetyExempted}
	for name, x := range exemptionCounts(f) {
		out[name] = &x.Cases
	}
	return out
}

// fillIDs sets the case ids of every figure names of a report made from
// the read model's counts (totals, teams, officers), from the figure's
// members on the same snapshot; ids gives a set of figures' lists by name.
func fillIDs[F any](ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, base serverdb.FigureQuery, names []string,
	totals *F, teams, officers []Breakdown[F], ids func(*F) map[string]*IDs) error {
	for _, name := range names {
		q := base
		q.Figure = name
		ms, err := fs.Members(ctx, actor, q)
		if err != nil {
			return err
		}
		team, officer := map[string]*IDs{}, map[string]*IDs{}
		for i := range teams {
			team[teams[i].ID] = ids(&teams[i].F)[name]
			team[teams[i].ID].CaseIDs = []string{}
		}
		for i := range officers {
			officer[officers[i].ID] = ids(&officers[i].F)[name]
			officer[officers[i].ID].CaseIDs = []string{}
		}
		tot := ids(totals)[name]
		tot.CaseIDs = []string{}
		for _, m := range ms {
			tot.CaseIDs = append(tot.CaseIDs, m.CaseID)
			if t := team[m.TeamID]; t != nil {
				t.CaseIDs = append(t.CaseIDs, m.CaseID)
			}
			if o := officer[m.OfficerID]; o != nil {
				o.CaseIDs = append(o.CaseIDs, m.CaseID)
			}
		}
	}
	return nil
}

// periodReportsFromReadModel computes, from one snapshot of the read
// model, the measures of a publication the read model answers, over the
// actor's scope narrowed to team (every case when ""), summarized with
// their headlines, by slug: what ComputePeriod would make of them.
func (s *Service) periodReportsFromReadModel(ctx context.Context, actor serverdb.Actor, teamID string, period Period, asOf schema.Date) (map[string]Headlined, error) {
	out := map[string]Headlined{}
	err := s.db.ReadFigures(ctx, func(fs serverdb.Figures) error {
		fv, _, err := s.firstVisitCounts(ctx, fs, actor, "", teamID, period, asOf)
		if err != nil {
			return err
		}
		base := serverdb.FigureQuery{Measure: serverdb.MeasureFirstHomeVisit, AsOf: asOf, From: period.From, To: period.To, TeamID: teamID}
		if err := fillIDs(ctx, fs, actor, base, serverdb.FigureNames(serverdb.MeasureFirstHomeVisit), &fv.Totals, fv.Teams,
			fv.Officers, firstVisitCounts); err != nil {
			return err
		}
		ex, _, err := s.exemptionsCounts(ctx, fs, actor, "", teamID, period, asOf)
		if err != nil {
			return err
		}
		base.Measure = serverdb.MeasureExemptions
		if err := fillIDs(ctx, fs, actor, base, serverdb.FigureNames(serverdb.MeasureExemptions), &ex.Totals, ex.Teams,
			ex.Officers, exemptionIDs); err != nil {
			return err
		}
		out["first-home-visits"], out["exemptions"] = fv, ex
		return nil
	})
	return out, err
}
