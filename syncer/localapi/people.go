package localapi

import (
	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// people: GET /v1/people: the people the tablet can name (the officer's
// team, supervisors included), as the last pull brought them.
func (api *API) people(c *fiber.Ctx) error {
	out, err := api.agent.People(c.UserContext())
	if err != nil {
		return err
	}
	if out == nil {
		out = []schema.Person{}
	}
	return c.JSON(fiber.Map{"people": out})
}
