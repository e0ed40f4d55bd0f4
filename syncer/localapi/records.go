package localapi

import (
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// GET /v1/records/:entity?case_id=
func (api *API) listRecords(c *fiber.Ctx) error {
	entity, err := entityName(c)
	if err != nil {
		return err
	}
	recs, err := api.agent.List(c.UserContext(), entity, c.Query("case_id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"records": recs})
}

// GET /v1/records/:entity/:id
func (api *API) getRecord(c *fiber.Ctx) error {
	entity, err := entityName(c)
	if err != nil {
		return err
	}
	rec, err := api.agent.Get(c.UserContext(), entity, c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

type createBody struct {
	ID     string                     `json:"id"`
	CaseID string                     `json:"case_id"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// POST /v1/records/:entity {id?, case_id, fields}
func (api *API) createRecord(c *fiber.Ctx) error {
	entity, err := entityName(c)
	if err != nil {
		return err
	}
	var b createBody
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.ID != "" {
		if _, err := api.agent.Get(c.UserContext(), entity, b.ID); err == nil {
			return schema.Errorf(schema.ECodeConflict, "id", "%s %s already exists; PATCH it to change it", entity, b.ID)
		}
	}
	rec, err := api.agent.Put(c.UserContext(), entity, b.ID, b.CaseID, b.Fields)
	if err != nil {
		return inFields(entity, err)
	}
	return api.answerRecord(c, fiber.StatusCreated, rec)
}

type updateBody struct {
	Fields map[string]json.RawMessage `json:"fields"`
}

// PATCH /v1/records/:entity/:id {fields}
func (api *API) updateRecord(c *fiber.Ctx) error {
	entity, err := entityName(c)
	if err != nil {
		return err
	}
	var b updateBody
	if err := decode(c, &b); err != nil {
		return err
	}
	id := c.Params("id")
	if _, err := api.agent.Get(c.UserContext(), entity, id); err != nil {
		return err // a PATCH never creates
	}
	rec, err := api.agent.Put(c.UserContext(), entity, id, "", b.Fields)
	if err != nil {
		return inFields(entity, err)
	}
	return api.answerRecord(c, fiber.StatusOK, rec)
}

// inFields makes an error that names a record field name it as the body
// member it came in ("fields.rosh", "fields.children[0].seen"), as the
// server does.
func inFields(entity string, err error) error {
	e := schema.AsError(err)
	spec, ok := schema.Entity(entity)
	if e == nil || !ok || e.Field == "" {
		return err
	}
	root, _, _ := strings.Cut(e.Field, ".")
	root, _, _ = strings.Cut(root, "[")
	if _, isField := spec.Fields[root]; !isField && e.Code != schema.ECodeUnknownField {
		return err
	}
	return e.WithFieldPrefix("fields")
}

// answerRecord answers the record as the tablet now holds it (with its
// pending flag and receipt).
func (api *API) answerRecord(c *fiber.Ctx, status int, rec schema.Record) error {
	local, err := api.agent.Get(c.UserContext(), rec.Entity, rec.ID)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(local)
}

type signBody struct {
	Fields map[string]json.RawMessage `json:"fields"`
}

// POST /v1/visits/:id/sign {fields}
func (api *API) signVisit(c *fiber.Ctx) error {
	var b signBody
	if err := decode(c, &b); err != nil {
		return err
	}
	rec, err := api.agent.Sign(c.UserContext(), c.Params("id"), b.Fields)
	if err != nil {
		return inFields("visit", err)
	}
	return api.answerRecord(c, fiber.StatusOK, rec)
}

type amendBody struct {
	Reason  string                     `json:"reason"`
	Changes map[string]json.RawMessage `json:"changes"`
}

// POST /v1/visits/:id/amend {reason, changes}
func (api *API) amendVisit(c *fiber.Ctx) error {
	var b amendBody
	if err := decode(c, &b); err != nil {
		return err
	}
	rec, err := api.agent.Amend(c.UserContext(), c.Params("id"), b.Reason, b.Changes)
	if err != nil {
		return err
	}
	return api.answerRecord(c, fiber.StatusCreated, rec)
}
