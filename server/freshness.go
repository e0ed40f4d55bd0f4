package server

import (
	"strconv"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// Measure 9, freshness (docs/compliance.md):
//
//	GET /v1/compliance/freshness?stale_days=&from=&to=&officer_id=
//
// Scoped and audited like the other measures: supervisors see their
// team's devices, set-aside mutations and signed visits; admins and
// auditors everything; officers are refused.

// DefaultStaleDays: a device not synced for more than a week is stale
// (the dashboard's freshness panel's default too).
const DefaultStaleDays = 7

func (s *Server) freshnessRoutes(v1 fiber.Router) {
	v1.Get("/compliance/freshness", s.authed, s.complianceReader, s.freshness)
}

// freshness: GET /v1/compliance/freshness.
func (s *Server) freshness(c *fiber.Ctx) error {
	stale := DefaultStaleDays
	if v := c.Query("stale_days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			return errorf(schema.ECodeInvalid, "stale_days", "stale_days must be a whole number of days from 1 to 3650, not %q", v)
		}
		stale = n
	}
	q, err := s.QueryPeriod(c)
	if err != nil {
		return err
	}
	actor := actorOf(c)
	f, err := s.db.Freshness(c.UserContext(), actor, serverdb.FreshnessOptions{StaleDays: stale, OfficerID: q.OfficerID,
		From: q.Period.From, To: q.Period.To})
	if err != nil {
		return err
	}
	params := q.params()
	params["stale_days"] = strconv.Itoa(stale)
	if err := s.db.AuditView(c.UserContext(), actor, "compliance/freshness", f.CaseIDs(), params); err != nil {
		return err
	}
	return s.sendJSON(c, f)
}
