package localapi

import (
	"bytes"
	"encoding/json"

	"github.com/gofiber/fiber/v2"
)

// POST /v1/outbox/:mutation_id/discard: drop a set-aside change for good (the
// record goes back to the server's value; the change stays in the log).
func (api *API) discardChange(c *fiber.Ctx) error {
	if err := api.agent.Discard(c.UserContext(), c.Params("mutation_id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"discarded": c.Params("mutation_id")})
}

// POST /v1/outbox/:mutation_id/retry [{"fields": {...}}]: send a set-aside change
// again, with the given fields changed; answers the new mutation id.
func (api *API) retryChange(c *fiber.Ctx) error {
	var b struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decode(c, &b); err != nil {
			return err
		}
	}
	id, err := api.agent.Retry(c.UserContext(), c.Params("mutation_id"), b.Fields)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"mutation_id": id})
}

// POST /v1/conflicts/:id/keep-mine: write the officer's losing value again
// (lww_lost only) and resolve the conflict; answers the new mutation id.
func (api *API) keepMine(c *fiber.Ctx) error {
	id, err := api.agent.KeepMine(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"mutation_id": id})
}

// GET /v1/outbox/log: every decision about set-aside changes and lost
// values, with the changes' content, oldest first.
func (api *API) outboxLog(c *fiber.Ctx) error {
	log, err := api.agent.OutboxLog(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"log": log})
}
