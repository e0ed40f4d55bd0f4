package server

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// The cases behind one figure of a measure the read model answers, a page
// at a time (docs/api.md, "Compliance case lists"):
//
//	GET /v1/compliance/first-home-visits/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//	GET /v1/compliance/overdue/cases?figure=&as_of=&officer_id=&cursor=&limit=
//	GET /v1/compliance/workload/cases?figure=&as_of=&officer_id=&cursor=&limit=
//	GET /v1/compliance/contacts/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//	GET /v1/compliance/households/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//	GET /v1/compliance/reviews/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//	GET /v1/compliance/interventions/cases?figure=&from=&to=&officer_id=&need=&cursor=&limit=
//	GET /v1/compliance/enquiries/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//	GET /v1/compliance/exemptions/cases?figure=&from=&to=&officer_id=&cursor=&limit=
//
// The same roles and scope as the measure; each page is audited with the
// cases it lists.

// Case list page sizes.
const (
	defaultCasesLimit = 100
	maxCasesLimit     = 1000
)

func (s *Server) complianceCasesRoutes(v1 fiber.Router) {
	v1.Get("/compliance/first-home-visits/cases", s.authed, s.complianceReader, s.figureCases("compliance/first-home-visits", serverdb.MeasureFirstHomeVisit))
	v1.Get("/compliance/overdue/cases", s.authed, s.complianceReader, s.figureCases("compliance/overdue", serverdb.MeasureOverdue))
	v1.Get("/compliance/workload/cases", s.authed, s.complianceReader, s.figureCases("compliance/workload", serverdb.MeasureWorkload))
	v1.Get("/compliance/contacts/cases", s.authed, s.complianceReader, s.figureCases("compliance/contacts", serverdb.MeasureContacts))
	v1.Get("/compliance/households/cases", s.authed, s.complianceReader, s.figureCases("compliance/households", serverdb.MeasureHouseholds))
	v1.Get("/compliance/reviews/cases", s.authed, s.complianceReader, s.figureCases("compliance/reviews", serverdb.MeasureReviews))
	v1.Get("/compliance/interventions/cases", s.authed, s.complianceReader, s.figureCases("compliance/interventions", serverdb.MeasureInterventions))
	v1.Get("/compliance/enquiries/cases", s.authed, s.complianceReader, s.figureCases("compliance/enquiries", serverdb.MeasureEnquiries))
	v1.Get("/compliance/exemptions/cases", s.authed, s.complianceReader, s.figureCases("compliance/exemptions", serverdb.MeasureExemptions))
}

// periodMeasures are the measures over a period (from, to), whose case
// lists read the period as the measure does; the others are on one day
// (as_of).
var periodMeasures = map[string]bool{
	serverdb.MeasureFirstHomeVisit: true,
	serverdb.MeasureContacts:       true,
	serverdb.MeasureHouseholds:     true,
	serverdb.MeasureReviews:        true,
	serverdb.MeasureInterventions:  true,
	serverdb.MeasureEnquiries:      true,
	serverdb.MeasureExemptions:     true,
}

// casePage is one page of a figure's cases.
type casePage struct {
	Measure   string      `json:"measure"`
	Figure    string      `json:"figure"`
	Period    *periodJSON `json:"period,omitempty"`
	AsOf      schema.Date `json:"as_of"`
	OfficerID string      `json:"officer_id,omitempty"`
	// Need: measure 6's kind of need, when asked for.
	Need    string   `json:"need,omitempty"`
	CaseIDs []string `json:"case_ids"`
	// NextCursor asks for the next page; "" on the last.
	NextCursor string `json:"next_cursor"`
}

type periodJSON struct {
	From schema.Date `json:"from"`
	To   schema.Date `json:"to"`
}

// queryFigure reads a case list's figure, one of measure's names.
func queryFigure(c *fiber.Ctx, measure string, names []string) (string, error) {
	figure := c.Query("figure")
	if figure == "" {
		return "", errorf(schema.ECodeInvalid, "figure", "figure is required: one of %s", strings.Join(names, ", "))
	}
	if !slices.Contains(names, figure) {
		return "", errorf(schema.ECodeInvalid, "figure", "measure %s has no figure %q; it has %s", measure, figure, strings.Join(names, ", "))
	}
	return figure, nil
}

// queryCasePage reads a case list's cursor and limit.
func queryCasePage(c *fiber.Ctx) (cursor string, limit int, err error) {
	cursor = c.Query("cursor")
	if cursor != "" && !schema.ValidID(cursor) {
		return "", 0, errorf(schema.ECodeInvalid, "cursor", "cursor must be the next_cursor of the page before, not %q", cursor)
	}
	limit = defaultCasesLimit
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCasesLimit {
			return "", 0, errorf(schema.ECodeInvalid, "limit", "limit must be a whole number from 1 to %d, not %q", maxCasesLimit, v)
		}
		limit = n
	}
	return cursor, limit, nil
}

// figureCases answers GET /v1/compliance/<measure>/cases for measure,
// whose report view is view.
func (s *Server) figureCases(view, measure string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		figure, err := queryFigure(c, measure, serverdb.FigureNames(measure))
		if err != nil {
			return err
		}
		cursor, limit, err := queryCasePage(c)
		if err != nil {
			return err
		}
		page := casePage{Measure: measure, Figure: figure}
		q := serverdb.FigureQuery{Measure: measure, Figure: figure}
		params := map[string]string{}
		if periodMeasures[measure] {
			pq, err := s.QueryPeriod(c)
			if err != nil {
				return err
			}
			q.From, q.To, q.AsOf, q.OfficerID = pq.Period.From, pq.Period.To, pq.AsOf, pq.OfficerID
			page.Period = &periodJSON{From: pq.Period.From, To: pq.Period.To}
			params = pq.params()
		} else {
			asOf, officerID, err := s.queryAsOf(c)
			if err != nil {
				return err
			}
			q.AsOf, q.OfficerID = asOf, officerID
			params = map[string]string{"as_of": string(asOf), "officer_id": officerID}
		}
		if measure == serverdb.MeasureInterventions {
			need, err := queryNeed(c)
			if err != nil {
				return err
			}
			q.Need, page.Need = need, need
			if need != "" {
				params["need"] = need
			}
		}
		if measure == serverdb.MeasureEnquiries {
			q.WithinDays = cmp.Or(s.cfg.Policy, policy.Default()).EnquiryDays()
		}
		page.AsOf, page.OfficerID = q.AsOf, q.OfficerID
		actor := actorOf(c)
		ids, err := s.db.FigureCases(c.UserContext(), actor, q, cursor, limit+1)
		if err != nil {
			return err
		}
		if len(ids) > limit {
			ids = ids[:limit]
			page.NextCursor = ids[limit-1]
		}
		page.CaseIDs = ids
		params["figure"], params["cursor"], params["limit"] = figure, cursor, strconv.Itoa(limit)
		if err := s.db.AuditView(c.UserContext(), actor, view+"/cases", ids, params); err != nil {
			return err
		}
		return c.JSON(page)
	}
}

// queryNeed reads measure 6's need ("" when absent): a referral's need as
// recorded, at most 200 characters, no control character.
func queryNeed(c *fiber.Ctx) (string, error) {
	v := c.Query("need")
	if utf8.RuneCountInString(v) > 200 || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return "", errorf(schema.ECodeInvalid, "need", "need must be a kind of need as recorded (at most 200 characters)")
	}
	return v, nil
}
