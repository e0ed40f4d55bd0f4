package server

import (
	"strconv"

	"doorstep/schema"
	"doorstep/server/compliance"

	"github.com/gofiber/fiber/v2"
)

// Measure 10, DA risk assessment sufficiency (QA sample), as JSON:
//
//	GET /v1/compliance/risk-assessment-qa?from=&to=&officer_id=&per_officer=&detail=
//
// The sample is drawn by server/compliance (RiskAssessmentQA); the
// ratings are oversight records of a case with aspect da_risk_assessment,
// written by POST /v1/oversight (serverdb.Oversee), loaded by
// compliance.Service.QARatings. Same readers, period,
// scope and audit as the other measures (compliance.go).

func (s *Server) complianceQARoutes(v1 fiber.Router) {
	v1.Get("/compliance/risk-assessment-qa", s.authed, s.complianceReader, s.riskAssessmentQA)
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
	actor := actorOf(c)
	in, err := s.comp.Input(c.UserContext(), actor, q.OfficerID)
	if err != nil {
		return err
	}
	ratings, err := s.comp.QARatings(c.UserContext(), actor)
	if err != nil {
		return err
	}
	params := q.params()
	params["per_officer"] = strconv.Itoa(per)
	rep := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: per}, q.Period, q.AsOf)
	return finishReport(s, c, actor, "compliance/risk-assessment-qa", rep, detail, params)
}
