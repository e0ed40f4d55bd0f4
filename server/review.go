package server

import (
	"math"
	"strconv"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// The supervisors' review queue and oversight (docs/review.md):
//
//	GET  /v1/review?officer_id=&kind=&offset=&limit=
//	POST /v1/review/conflicts/:id          {"decision", "reason"}
//	POST /v1/review/set-aside/:mutation_id {"decision", "reason"}
//	POST /v1/review/approve                {"subject_entity", "subject_ids", "reason"}
//	POST /v1/oversight                     {"subject_entity", "subject_id", "aspect"?, "decision", "reason"}
//
// Supervisors see and decide on their team's items, admins on every item;
// auditors may read the queue; officers are refused. An item of another
// team answers 404, exactly like a missing one, as the REST records do.
// Every view of the queue is audited with the cases it shows; every
// decision is audited by the store in its own transaction.

func (s *Server) reviewRoutes(v1 fiber.Router) {
	v1.Get("/review", s.authed, overseers("the review queue"), s.reviewQueue)
	v1.Post("/review/conflicts/:id", s.authed, deciders(serverdb.DecideConflict), s.resolveConflict)
	v1.Post("/review/set-aside/:mutation_id", s.authed, deciders(serverdb.DecideSetAside), s.resolveSetAside)
	v1.Post("/review/approve", s.authed, deciders(serverdb.DecideApproval), s.approveAll)
	v1.Post("/oversight", s.authed, deciders(serverdb.DecideOversight), s.oversee)
}

// queryPage reads offset and limit (docs/api.md, "GET /v1/review").
func queryPage(c *fiber.Ctx) (offset, limit int, err error) {
	for _, q := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"offset", &offset, 0, math.MaxInt32}, {"limit", &limit, 1, serverdb.MaxReviewLimit}} {
		v := c.Query(q.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < q.min || n > q.max {
			if q.name == "offset" {
				return 0, 0, errorf(schema.ECodeInvalid, "offset", "offset must be a whole number, 0 or more, not %q", v)
			}
			return 0, 0, errorf(schema.ECodeInvalid, "limit", "limit must be a whole number from 1 to %d, not %q", serverdb.MaxReviewLimit, v)
		}
		*q.dst = n
	}
	return offset, limit, nil
}

// reviewQueue: GET /v1/review.
func (s *Server) reviewQueue(c *fiber.Ctx) error {
	officerID, err := queryOfficer(c)
	if err != nil {
		return err
	}
	offset, limit, err := queryPage(c)
	if err != nil {
		return err
	}
	f := serverdb.ReviewFilter{OfficerID: officerID, Kind: c.Query("kind"), Offset: offset, Limit: limit}
	actor := actorOf(c)
	q, err := s.db.ReviewQueue(c.UserContext(), actor, f)
	if err != nil {
		return err
	}
	if err := s.db.AuditView(c.UserContext(), actor, "review", q.CaseIDs(), map[string]string{"officer_id": f.OfficerID, "kind": f.Kind,
		"offset": strconv.Itoa(q.Offset), "limit": strconv.Itoa(q.Limit)}); err != nil {
		return err
	}
	return s.sendJSON(c, q)
}

// decisionBody is the body of a queue decision.
type decisionBody struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

func readDecision(c *fiber.Ctx) (decisionBody, error) {
	var b decisionBody
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return b, err
	}
	if err := decodeJSON(body, &b); err != nil {
		return b, err
	}
	if b.Decision == "" {
		return b, errorf(schema.ECodeRequired, "decision", "decision is required")
	}
	return b, nil
}

// resolveConflict: POST /v1/review/conflicts/:id.
func (s *Server) resolveConflict(c *fiber.Ctx) error {
	b, err := readDecision(c)
	if err != nil {
		return err
	}
	rec, err := s.db.ResolveConflict(c.UserContext(), actorOf(c), c.Params("id"), serverdb.ConflictDecision{Decision: b.Decision, Reason: b.Reason})
	if err != nil {
		return err
	}
	return s.sendJSON(c, rec)
}

// resolveSetAside: POST /v1/review/set-aside/:mutation_id.
func (s *Server) resolveSetAside(c *fiber.Ctx) error {
	b, err := readDecision(c)
	if err != nil {
		return err
	}
	it, err := s.db.ResolveSetAside(c.UserContext(), actorOf(c), c.Params("mutation_id"), serverdb.SetAsideDecision{Decision: b.Decision, Reason: b.Reason})
	if err != nil {
		return err
	}
	return s.sendJSON(c, it)
}

// approveAll: POST /v1/review/approve.
func (s *Server) approveAll(c *fiber.Ctx) error {
	var in serverdb.BulkApproval
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	recs, err := s.db.ApproveAll(c.UserContext(), actorOf(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"oversights": recs})
}

// oversee: POST /v1/oversight.
func (s *Server) oversee(c *fiber.Ctx) error {
	var in serverdb.OversightInput
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &in); err != nil {
		return err
	}
	rec, err := s.db.Oversee(c.UserContext(), actorOf(c), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(rec)
}
