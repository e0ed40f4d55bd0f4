package server

import (
	"slices"
	"strconv"

	"doorstep/schema"
	"doorstep/server/compliance"

	"github.com/gofiber/fiber/v2"
)

// Measure 10, DA risk assessment sufficiency (QA sample), as JSON:
//
//	GET /v1/compliance/risk-assessment-qa?from=&to=&officer_id=&per_officer=&detail=
//	GET /v1/compliance/risk-assessment-qa/cases?figure=&from=&to=&officer_id=&per_officer=&cursor=&limit=
//
// The sample is drawn by server/compliance (RiskAssessmentQA's code) from
// the store's read model (compliance.Service.QAFromReadModel): the
// eligible cases and the ratings (oversight records of a case with aspect
// da_risk_assessment, written by POST /v1/oversight, serverdb.Oversee,
// kept typed in rm_qa_ratings) are queries; no record is decoded. Same
// readers, period, scope and audit as the other measures (compliance.go).

func (s *Server) complianceQARoutes(v1 fiber.Router) {
	v1.Get("/compliance/risk-assessment-qa", s.authed, s.complianceReader, s.riskAssessmentQA)
	v1.Get("/compliance/risk-assessment-qa/cases", s.authed, s.complianceReader, s.riskAssessmentQACases)
}

// queryPerOfficer reads per_officer, the sample size per officer
// (default compliance.QASamplePerOfficer).
func queryPerOfficer(c *fiber.Ctx) (int, error) {
	v := c.Query("per_officer")
	if v == "" {
		return compliance.QASamplePerOfficer, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > compliance.MaxQASamplePerOfficer {
		return 0, errorf(schema.ECodeInvalid, "per_officer", "per_officer must be a whole number from 1 to %d, not %q", compliance.MaxQASamplePerOfficer, v)
	}
	return n, nil
}

// riskAssessmentQA: GET /v1/compliance/risk-assessment-qa (measure 10).
func (s *Server) riskAssessmentQA(c *fiber.Ctx) error {
	q, err := s.QueryPeriod(c)
	if err != nil {
		return err
	}
	detail, err := queryDetail(c)
	if err != nil {
		return err
	}
	per, err := queryPerOfficer(c)
	if err != nil {
		return err
	}
	if detail != "counts" {
		if err := s.comp.CheckCaseLimit(c.UserContext(), actorOf(c), compliance.Narrow{OfficerID: q.OfficerID}); err != nil {
			return err
		}
	}
	rep, params, err := s.qaReport(c, q, per)
	if err != nil {
		return err
	}
	return finishReport(s, c, actorOf(c), "compliance/risk-assessment-qa", rep, detail, params)
}

// qaReport computes measure 10 for the request's actor from the read
// model, with the query as the audit event records it.
func (s *Server) qaReport(c *fiber.Ctx, q PeriodQuery, per int) (*compliance.QAReport, map[string]string, error) {
	params := q.params()
	params["per_officer"] = strconv.Itoa(per)
	rep, err := s.comp.QAFromReadModel(c.UserContext(), actorOf(c), q.OfficerID, q.Period, q.AsOf, per)
	return rep, params, err
}

// riskAssessmentQACases: GET /v1/compliance/risk-assessment-qa/cases, the
// cases of one figure of measure 10, a page at a time, as the other case
// lists (compliance_cases.go). The sample is drawn over the whole figure
// (the draw is per officer), then paged by case id.
func (s *Server) riskAssessmentQACases(c *fiber.Ctx) error {
	const measure = "risk_assessment_qa"
	figure, err := queryFigure(c, measure, compliance.QAFigureNames)
	if err != nil {
		return err
	}
	cursor, limit, err := queryCasePage(c)
	if err != nil {
		return err
	}
	q, err := s.QueryPeriod(c)
	if err != nil {
		return err
	}
	per, err := queryPerOfficer(c)
	if err != nil {
		return err
	}
	rep, params, err := s.qaReport(c, q, per)
	if err != nil {
		return err
	}
	ids := rep.FigureCases(figure)
	i, found := slices.BinarySearch(ids, cursor)
	if found {
		i++
	}
	page := casePage{Measure: measure, Figure: figure, Period: &periodJSON{From: q.Period.From, To: q.Period.To}, AsOf: q.AsOf,
		OfficerID: q.OfficerID, CaseIDs: append([]string{}, ids[i:min(len(ids), i+limit)]...)}
	if i+limit < len(ids) {
		page.NextCursor = page.CaseIDs[limit-1]
	}
	params["figure"], params["cursor"], params["limit"] = figure, cursor, strconv.Itoa(limit)
	if err := s.db.AuditView(c.UserContext(), actorOf(c), "compliance/risk-assessment-qa/cases", page.CaseIDs, params); err != nil {
		return err
	}
	return c.JSON(page)
}
