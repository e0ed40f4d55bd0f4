package server

import (
	"context"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// The supervisors' compliance measures (docs/compliance.md) as JSON:
//
//	GET /v1/compliance/first-home-visits?from=&to=&officer_id=
//	GET /v1/compliance/overdue?as_of=&officer_id=
//	GET /v1/compliance/contacts?from=&to=&officer_id=
//	GET /v1/compliance/enquiries?from=&to=&officer_id=
//	GET /v1/compliance/households?from=&to=&officer_id=
//	GET /v1/compliance/interventions?from=&to=&officer_id=
//	GET /v1/compliance/reviews?from=&to=&officer_id=
//	GET /v1/compliance/workload?as_of=&officer_id=
//	GET /v1/compliance/exemptions?from=&to=&officer_id=
//
// Supervisors see their team's cases, admins and auditors every case;
// officers are refused. The records are read through the store's scope
// (List with the actor), and every answer is audited with the case ids it
// covers.

// defaultPeriodDays is the default period's length, today included.
const defaultPeriodDays = 90

func (s *Server) complianceRoutes(v1 fiber.Router) {
	v1.Get("/compliance/first-home-visits", s.authed, s.complianceReader, s.firstHomeVisits)
	v1.Get("/compliance/overdue", s.authed, s.complianceReader, s.overdue)
	v1.Get("/compliance/contacts", s.authed, s.complianceReader, s.contacts)
	v1.Get("/compliance/enquiries", s.authed, s.complianceReader, s.enquiries)
	v1.Get("/compliance/households", s.authed, s.complianceReader, s.households)
	v1.Get("/compliance/interventions", s.authed, s.complianceReader, s.interventions)
	v1.Get("/compliance/reviews", s.authed, s.complianceReader, s.reviews)
	v1.Get("/compliance/workload", s.authed, s.complianceReader, s.workload)
	v1.Get("/compliance/exemptions", s.authed, s.complianceReader, s.exemptions)
}

// complianceReader admits supervisors, admins and auditors to the
// compliance measures.
func (s *Server) complianceReader(c *fiber.Ctx) error { return overseers("the compliance measures")(c) }

// overseers admits supervisors, admins and auditors to what, and refuses
// anyone else naming it ("the review queue"), so that a 403 says what was
// refused.
func overseers(what string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch actorOf(c).Role {
		case schema.RoleSupervisor, schema.RoleAdmin, schema.RoleAuditor:
			return c.Next()
		}
		return errorf(schema.ECodeForbidden, "", "only a supervisor, an admin or an auditor may see %s", what)
	}
}

// deciders admits supervisors and admins to what, a decision ("resolve a
// conflict"), and refuses anyone else naming it before the body is read.
// The store checks the role again.
func deciders(what string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		switch actorOf(c).Role {
		case schema.RoleSupervisor, schema.RoleAdmin:
			return c.Next()
		}
		return errorf(schema.ECodeForbidden, "", "only a supervisor or an admin may %s", what)
	}
}

// queryDate reads a YYYY-MM-DD query parameter; def when absent.
func queryDate(c *fiber.Ctx, name string, def schema.Date) (schema.Date, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	return parseDate(name, v)
}

// parseDate reads v, the value of name, written YYYY-MM-DD.
func parseDate(name, v string) (schema.Date, error) {
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || len(v) != len(time.DateOnly) {
		return "", errorf(schema.ECodeInvalid, name, "%s must be a date written YYYY-MM-DD, not %q", name, v)
	}
	return schema.DateOf(t), nil
}

// queryOfficer reads officer_id ("" when absent).
func queryOfficer(c *fiber.Ctx) (string, error) {
	v := c.Query("officer_id")
	if len(v) > 64 || !PrintableASCII(v) {
		return "", errorf(schema.ECodeInvalid, "officer_id", "officer_id must be a user id (at most 64 characters)")
	}
	return v, nil
}

// PrintableASCII reports whether s has only printable ASCII, no spaces:
// what an id or a column name in a query may be.
func PrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func addDays(d schema.Date, n int) schema.Date { return schema.DateOf(d.Time().AddDate(0, 0, n)) }

// report is what every measure's report offers the handlers: the cases it
// covers (for the audit), and a summary without its rows.
type report interface {
	CaseIDs() []string
	Summarize()
}

// queryDetail reads detail: "full" (the default), "summary" (no
// per-case, per-visit or per-item rows) or "counts" (a summary without the
// ids behind each count either).
func queryDetail(c *fiber.Ctx) (string, error) {
	switch v := c.Query("detail"); v {
	case "", "full":
		return "full", nil
	case "summary", "counts":
		return v, nil
	default:
		return "", errorf(schema.ECodeInvalid, "detail", "detail must be full, summary or counts, not %q", v)
	}
}

// finishReport audits the view of rep (with every case it covers, whatever
// the detail) and sends it at the detail asked for.
func finishReport[R report](s *Server, c *fiber.Ctx, actor serverdb.Actor, view string, rep R, detail string, params map[string]string) error {
	cases := rep.CaseIDs()
	if detail != "full" {
		rep.Summarize()
		params["detail"] = detail
	}
	if detail == "counts" {
		compliance.DropIDs(rep)
	}
	if err := s.db.AuditView(c.UserContext(), actor, view, cases, params); err != nil {
		return err
	}
	return s.sendReport(c, rep)
}

// ReportJob takes one of the compliance service's jobs for the rest of
// the request (compliance.Service.Job), waiting for its turn: the
// request's context holds it, so the loads under it take no other, and
// release gives it back. A request that waited in vain is a 503 busy.
func (s *Server) ReportJob(c *fiber.Ctx) (release func(), err error) {
	ctx, release, err := s.comp.Job(c.UserContext())
	if err != nil {
		return nil, err
	}
	c.SetUserContext(ctx)
	return release, nil
}

// PeriodQuery is a measure's period request: from, to and officer_id
// read and checked, as_of the earlier of to and today.
type PeriodQuery struct {
	Period    compliance.Period
	AsOf      schema.Date
	OfficerID string
}

// params are the query as the audit event records it.
func (q PeriodQuery) params() map[string]string {
	return map[string]string{"from": string(q.Period.From), "to": string(q.Period.To), "as_of": string(q.AsOf), "officer_id": q.OfficerID}
}

// QueryPeriod reads from, to (defaults: the defaultPeriodDays days up to
// today) and officer_id, by the rules the dashboard's filters share.
func (s *Server) QueryPeriod(c *fiber.Ctx) (PeriodQuery, error) {
	today := schema.DateOf(s.cfg.Now())
	to, err := queryDate(c, "to", today)
	if err != nil {
		return PeriodQuery{}, err
	}
	from, err := queryDate(c, "from", addDays(to, 1-defaultPeriodDays))
	if err != nil {
		return PeriodQuery{}, err
	}
	if from > to {
		return PeriodQuery{}, errorf(schema.ECodeInvalid, "from", "from (%s) is after to (%s)", from, to)
	}
	officerID, err := queryOfficer(c)
	if err != nil {
		return PeriodQuery{}, err
	}
	return PeriodQuery{Period: compliance.Period{From: from, To: to}, AsOf: min(to, today), OfficerID: officerID}, nil
}

// periodReport answers a measure over a period: it reads the query, loads
// the records in the actor's scope, computes the report, audits the view
// with the cases the report covers, and sends it. At detail=counts, with no
// publication of the period to show beside it, counts answers from the
// read model instead, without loading a record.
func periodReport[R report](s *Server, c *fiber.Ctx, view string,
	compute func(compliance.Input, compliance.Period, schema.Date) R,
	counts func(context.Context, serverdb.Actor, string, compliance.Period, schema.Date) (R, []string, error)) error {
	q, err := s.QueryPeriod(c)
	if err != nil {
		return err
	}
	detail, err := queryDetail(c)
	if err != nil {
		return err
	}
	actor := actorOf(c)
	if detail == "counts" && counts != nil {
		pub, err := s.currentPublicationOf(c, actor, q)
		if err != nil {
			return err
		}
		if pub == nil {
			rep, cases, err := counts(c.UserContext(), actor, q.OfficerID, q.Period, q.AsOf)
			if err != nil {
				return err
			}
			params := q.params()
			params["detail"] = detail
			if err := s.db.AuditView(c.UserContext(), actor, view, cases, params); err != nil {
				return err
			}
			return s.sendReport(c, rep)
		}
	}
	release, err := s.ReportJob(c)
	if err != nil {
		return err
	}
	defer release()
	in, err := s.comp.Input(c.UserContext(), actor, q.OfficerID)
	if err != nil {
		return err
	}
	rep := compute(in, q.Period, q.AsOf)
	if h, ok := any(rep).(compliance.Headlined); ok {
		compliance.AddHeadline(strings.TrimPrefix(view, "compliance/"), in, h, q.Period)
	}
	pub, err := s.currentPublicationOf(c, actor, q)
	if err != nil || pub != nil {
		if err != nil {
			return err
		}
		return publishedReport(s, c, actor, view, *pub, rep, detail, q.params())
	}
	return finishReport(s, c, actor, view, rep, detail, q.params())
}

// firstHomeVisits: GET /v1/compliance/first-home-visits.
func (s *Server) firstHomeVisits(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/first-home-visits", compliance.FirstHomeVisits, s.comp.FirstVisitCounts)
}

// contacts: GET /v1/compliance/contacts.
func (s *Server) contacts(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/contacts", compliance.Contacts, s.comp.ContactsCounts)
}

// enquiries: GET /v1/compliance/enquiries.
func (s *Server) enquiries(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/enquiries", compliance.Enquiries, s.comp.EnquiriesCounts)
}

// households: GET /v1/compliance/households (measure 5).
func (s *Server) households(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/households", compliance.Households, s.comp.HouseholdsCounts)
}

// interventions: GET /v1/compliance/interventions (measure 6).
func (s *Server) interventions(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/interventions", compliance.Interventions, s.comp.InterventionsCounts)
}

// reviews: GET /v1/compliance/reviews (measure 7).
func (s *Server) reviews(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/reviews", compliance.Reviews, s.comp.ReviewsCounts)
}

// exemptions: GET /v1/compliance/exemptions (visits closed by an
// exemption, field-anchors 5(c) #3).
func (s *Server) exemptions(c *fiber.Ctx) error {
	return periodReport(s, c, "compliance/exemptions", compliance.Exemptions, s.comp.ExemptionsCounts)
}

// overdue: GET /v1/compliance/overdue (measure 2).
func (s *Server) overdue(c *fiber.Ctx) error {
	return asOfReport(s, c, "compliance/overdue", compliance.Overdue, s.comp.OverdueCounts)
}

// workload: GET /v1/compliance/workload (measure 8).
func (s *Server) workload(c *fiber.Ctx) error {
	return asOfReport(s, c, "compliance/workload", compliance.Workload, s.comp.WorkloadCounts)
}

// queryAsOf reads a measure on one day's as_of (default today, never
// later) and officer_id.
func (s *Server) queryAsOf(c *fiber.Ctx) (schema.Date, string, error) {
	today := schema.DateOf(s.cfg.Now())
	asOf, err := queryDate(c, "as_of", today)
	if err != nil {
		return "", "", err
	}
	if asOf > today {
		return "", "", errorf(schema.ECodeInvalid, "as_of", "as_of (%s) is after today (%s): what is due then is not known yet", asOf, today)
	}
	officerID, err := queryOfficer(c)
	return asOf, officerID, err
}

// asOfReport answers a measure on one day: it reads as_of (default today,
// never later) and officer_id, loads the records in the actor's scope,
// computes the report, audits the view and sends it. At detail=counts,
// counts answers from the read model instead, without loading a record.
func asOfReport[R report](s *Server, c *fiber.Ctx, view string,
	compute func(compliance.Input, schema.Date) R,
	counts func(context.Context, serverdb.Actor, string, schema.Date) (R, []string, error)) error {
	asOf, officerID, err := s.queryAsOf(c)
	if err != nil {
		return err
	}
	detail, err := queryDetail(c)
	if err != nil {
		return err
	}
	actor := actorOf(c)
	params := map[string]string{"as_of": string(asOf), "officer_id": officerID}
	if detail == "counts" && counts != nil {
		rep, cases, err := counts(c.UserContext(), actor, officerID, asOf)
		if err != nil {
			return err
		}
		params["detail"] = detail
		if err := s.db.AuditView(c.UserContext(), actor, view, cases, params); err != nil {
			return err
		}
		return s.sendReport(c, rep)
	}
	release, err := s.ReportJob(c)
	if err != nil {
		return err
	}
	defer release()
	in, err := s.comp.Input(c.UserContext(), actor, officerID)
	if err != nil {
		return err
	}
	return finishReport(s, c, actor, view, compute(in, asOf), detail, params)
}
