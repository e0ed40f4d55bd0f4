package server

import (
	"encoding/json"
	"strconv"

	"doorstep/schema"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// REST view of every entity, by its EntitySpec.Path: /v1/visits,
// /v1/household-members, ... Reads and writes are scope-checked by the
// store; a record out of scope answers 404 exactly like a missing one.

func entityOf(c *fiber.Ctx) (*schema.EntitySpec, error) {
	spec, ok := schema.EntityByPath(c.Params("path"))
	if !ok {
		return nil, errorf(schema.ECodeUnknownEntity, "path", "there is no collection %q", c.Params("path"))
	}
	return spec, nil
}

// listRecords: GET /v1/<path>?case_id=&limit=.
func (s *Server) listRecords(c *fiber.Ctx) error {
	spec, err := entityOf(c)
	if err != nil {
		return err
	}
	caseID := c.Query("case_id")
	if caseID != "" && !schema.ValidID(caseID) {
		return errorf(schema.ECodeInvalid, "case_id", "case_id must be a UUID")
	}
	limit := 0
	if l := c.Query("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 0 {
			return errorf(schema.ECodeInvalid, "limit", "limit must be a positive number, not %q", l)
		}
	}
	recs, err := s.db.List(c.UserContext(), actorOf(c), spec.Name, caseID, listOptions(limit))
	if err != nil {
		return err
	}
	// A supervisor's, admin's or auditor's read is recorded: the query (a
	// list of one case names it), not every record.
	if err := s.db.AuditRead(c.UserContext(), actorOf(c), "rest/"+spec.Path, spec.Name, "", caseID,
		map[string]string{"case_id": caseID, "limit": c.Query("limit"), "returned": strconv.Itoa(len(recs))}); err != nil {
		return err
	}
	return s.sendJSON(c, fiber.Map{"records": recs})
}

// getRecord: GET /v1/<path>/:id.
func (s *Server) getRecord(c *fiber.Ctx) error {
	spec, err := entityOf(c)
	if err != nil {
		return err
	}
	rec, err := s.db.Get(c.UserContext(), actorOf(c), spec.Name, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.db.AuditRead(c.UserContext(), actorOf(c), "rest/"+spec.Path, spec.Name, rec.ID, rec.CaseID, nil); err != nil {
		return err
	}
	return c.JSON(rec)
}

// writeBody is the body of a REST create or change.
type writeBody struct {
	ID     string                     `json:"id"`
	CaseID string                     `json:"case_id"`
	Fields map[string]json.RawMessage `json:"fields"`
}

func readWrite(c *fiber.Ctx) (writeBody, error) {
	var b writeBody
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return b, err
	}
	if err := decodeJSON(body, &b); err != nil {
		return b, err
	}
	if len(b.Fields) == 0 {
		return b, errorf(schema.ECodeRequired, "fields", "fields is required: an object of the fields to write")
	}
	return b, nil
}

// createRecord: POST /v1/<path> {"id"?, "case_id", "fields"}.
func (s *Server) createRecord(c *fiber.Ctx) error {
	spec, err := entityOf(c)
	if err != nil {
		return err
	}
	b, err := readWrite(c)
	if err != nil {
		return err
	}
	if b.ID == "" {
		b.ID = schema.NewID()
	} else if !schema.ValidID(b.ID) {
		return errorf(schema.ECodeInvalid, "id", "id must be a UUID")
	}
	if spec.Name == "case" {
		if b.CaseID == "" {
			b.CaseID = b.ID
		}
	} else if b.CaseID == "" {
		return errorf(schema.ECodeRequired, "case_id", "case_id is required")
	}
	if err := s.db.CheckNewID(c.UserContext(), actorOf(c), b.ID); err != nil {
		return err
	}
	rec, err := s.db.Write(c.UserContext(), actorOf(c), spec.Name, b.ID, b.CaseID, b.Fields)
	if err != nil {
		if e := schema.AsError(err); e != nil && e.Code == schema.ECodeOutOfScope && e.Field == "case_id" {
			return errorf(schema.ECodeNotFound, "case_id", "no case %q", b.CaseID)
		}
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(rec)
}

// patchRecord: PATCH /v1/<path>/:id {"fields"}.
func (s *Server) patchRecord(c *fiber.Ctx) error {
	spec, err := entityOf(c)
	if err != nil {
		return err
	}
	b, err := readWrite(c)
	if err != nil {
		return err
	}
	cur, err := s.db.Get(c.UserContext(), actorOf(c), spec.Name, c.Params("id"))
	if err != nil {
		return err
	}
	if b.CaseID != "" && b.CaseID != cur.CaseID {
		return errorf(schema.ECodeInvalid, "case_id", "a record cannot move to another case")
	}
	rec, err := s.db.Write(c.UserContext(), actorOf(c), spec.Name, cur.ID, cur.CaseID, b.Fields)
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

func listOptions(limit int) serverdb.ListOptions { return serverdb.ListOptions{Limit: limit} }
