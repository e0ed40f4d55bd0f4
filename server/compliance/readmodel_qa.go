package compliance

import (
	"cmp"
	"context"
	"slices"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// Measure 10 from the read model: the eligible cases and each case's
// latest rating in the period are queries (serverdb.Figures.QAEligible,
// QARatings); the draw and the counting are this package's (qaDraw,
// qaAssemble), the code RiskAssessmentQA runs. No record is decoded.

// QAFromReadModel is measure 10 (RiskAssessmentQA, over the actor's
// scope as the JSON API asks it: the pool is the report's cases), from
// one snapshot of the read model, at every detail; with it, the cases it
// covers (for the audit).
func (s *Service) QAFromReadModel(ctx context.Context, actor serverdb.Actor, officerID string, period Period, asOf schema.Date,
	perOfficer int) (rep *QAReport, err error) {
	err = s.readFigures(ctx, func(ctx context.Context, fs serverdb.Figures) error {
		in, err := s.names(ctx, officerID)
		if err != nil {
			return err
		}
		rep, err = qaFromReadModel(ctx, fs, actor, in, officerID, "", period, asOf, perOfficer)
		return err
	})
	return rep, err
}

// qaFromReadModel is measure 10 for the cases of officerID and teamID
// (each when set: the report set's has no team, the overview's panel the
// page's) in the actor's scope, over period as of asOf, on the snapshot
// fs, with the names in: with a team, the eligible cases and ratings of
// other teams left out (the draw is by officer, so it is the scope's).
func qaFromReadModel(ctx context.Context, fs serverdb.Figures, actor serverdb.Actor, in Input, officerID, teamID string, period Period,
	asOf schema.Date, perOfficer int) (*QAReport, error) {
	q := qaQuery(officerID, period, asOf)
	eligible, err := fs.QAEligible(ctx, actor, q)
	if err != nil {
		return nil, err
	}
	ratings, err := fs.QARatings(ctx, actor, q)
	if err != nil {
		return nil, err
	}
	return qaReportOf(in, officerID, teamID, period, asOf, perOfficer, eligible, ratings), nil
}

// qaQuery is measure 10's rows' query for officerID's cases over period
// as of asOf.
func qaQuery(officerID string, period Period, asOf schema.Date) serverdb.QAQuery {
	return serverdb.QAQuery{From: period.From, End: min(period.To, asOf), OfficerID: officerID}
}

// qaReportOf is qaFromReadModel's report from the rows of its query
// (qaQuery), eligible and ratings.
func qaReportOf(in Input, officerID, teamID string, period Period, asOf schema.Date, perOfficer int,
	eligible []serverdb.QAEligible, ratings []serverdb.QARating) *QAReport {
	if perOfficer < 1 {
		perOfficer = QASamplePerOfficer
	}
	seed := QASeed(period)
	rep := &QAReport{Measure: "risk_assessment_qa", Period: period, AsOf: asOf, Seed: seed, PerOfficer: perOfficer,
		OfficerID: officerID, Cases: []QACase{}}
	inTeam := func(team string) bool { return teamID == "" || team == teamID }
	pool := make([]schema.Case, 0, len(eligible))
	for _, e := range eligible {
		if inTeam(e.TeamID) {
			pool = append(pool, schema.Case{ID: e.CaseID, OfficerID: e.OfficerID})
		}
	}
	draw := qaDraw(seed, pool)
	rows := map[string]*qaRow{}
	row := func(caseID, crn, teamID, officerID string) *QACase {
		r := rows[caseID]
		if r == nil {
			r = &qaRow{row: QACase{CaseID: caseID, CRN: crn, OfficerID: officerID, OfficerName: in.Officers[officerID],
				TeamID: teamID, TeamName: in.Teams[teamID]}, c: schema.Case{ID: caseID, CRN: crn, TeamID: teamID, OfficerID: officerID}}
			rows[caseID] = r
		}
		return &r.row
	}
	for _, e := range eligible {
		if !inTeam(e.TeamID) {
			continue
		}
		r := row(e.CaseID, e.CRN, e.TeamID, e.OfficerID)
		r.DAFlags, r.Eligible, r.Draw = e.DAFlags, true, draw[e.CaseID]
		r.Sampled = r.Draw >= 1 && r.Draw <= perOfficer
	}
	for _, g := range ratings {
		if !inTeam(g.TeamID) {
			continue
		}
		r := row(g.CaseID, g.CRN, g.TeamID, g.OfficerID)
		r.Rating, r.Reason, r.RatedBy, r.RatedAt, r.OversightID, r.Ratings = g.Decision, g.Reason, g.By, g.At, g.OversightID, g.Ratings
	}
	list := make([]qaRow, 0, len(rows))
	for _, r := range rows {
		list = append(list, *r)
	}
	// The order of the report's cases (Group's: by CRN, then id).
	slices.SortFunc(list, func(a, b qaRow) int { return cmp.Or(cmp.Compare(a.c.CRN, b.c.CRN), cmp.Compare(a.c.ID, b.c.ID)) })
	qaAssemble(rep, in, list)
	return rep
}

// CheckCaseLimit refuses, with TooManyCases, an answer listing the cases
// of the actor's scope within narrow when they are more than the limit
// (decision 0051): measure 10 at detail=full or summary lists every
// eligible case, so it keeps the limit the reports computed case by case
// have, though it is computed from the read model.
func (s *Service) CheckCaseLimit(ctx context.Context, actor serverdb.Actor, narrow Narrow) error {
	ids, err := s.db.ScopeCases(ctx, actor, narrow)
	if err != nil {
		return err
	}
	if len(ids) > s.maxCases() {
		return TooManyCases(len(ids), s.maxCases())
	}
	return nil
}

// QARatingsFromReadModel loads the DA risk assessment ratings of the
// actor's scope from the read model's typed rows (what QARatings finds by
// decoding every oversight record).
func (s *Service) QARatingsFromReadModel(ctx context.Context, actor serverdb.Actor) ([]schema.Oversight, error) {
	return s.db.QARatingRecords(ctx, actor)
}

// QAFigureNames are measure 10's figures whose cases its case list
// (GET /v1/compliance/risk-assessment-qa/cases) gives, by their names in
// the report's JSON.
var QAFigureNames = []string{"eligible", "sampled", "sufficient.numerator", "sufficient.denominator", "insufficient", "not_rated",
	"rated_not_sampled"}

// FigureCases returns the cases of the report's figure (one of
// QAFigureNames) in its totals, sorted; nil for another name.
func (r *QAReport) FigureCases(figure string) []string {
	t := r.Totals
	ids := map[string]IDs{"eligible": t.Eligible, "sampled": t.Sampled, "sufficient.numerator": t.Sufficient.Numerator,
		"sufficient.denominator": t.Sufficient.Denominator, "insufficient": t.Insufficient, "not_rated": t.NotRated,
		"rated_not_sampled": t.RatedNotSampled}[figure]
	return ids.CaseIDs
}
