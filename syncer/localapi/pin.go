package localapi

import (
	"bytes"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

type pinBody struct {
	Password string `json:"password"`
	PIN      string `json:"pin"`
}

// GET /v1/pin: whether a PIN is set, turned off, and the tries left.
func (api *API) pinState(c *fiber.Ctx) error {
	st, err := api.agent.PIN(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// PUT /v1/pin {password, pin}: set or change the PIN; the password proves
// who is setting it.
func (api *API) setPIN(c *fiber.Ctx) error {
	var b pinBody
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.Password == "" {
		return schema.Errorf(schema.ECodeRequired, "password", "password is required to set a PIN")
	}
	if err := api.agent.SetPIN(c.UserContext(), b.Password, b.PIN); err != nil {
		return api.passwordRefused(c, err)
	}
	return api.pinState(c)
}

// DELETE /v1/pin {password}: remove the PIN; only the password unlocks.
// The password proves who is removing it, as for setting one.
func (api *API) clearPIN(c *fiber.Ctx) error {
	var b struct {
		Password string `json:"password"`
	}
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decode(c, &b); err != nil {
			return err
		}
	}
	if err := api.agent.ClearPIN(c.UserContext(), b.Password); err != nil {
		return api.passwordRefused(c, err)
	}
	return api.pinState(c)
}

// POST /v1/unlock/pin {pin}: offline unlock with the PIN. A wrong PIN is
// 401 with the tries left in the message; a PIN turned off (or none set) is
// 403: unlock with the password.
func (api *API) unlockPIN(c *fiber.Ctx) error {
	var b struct {
		PIN string `json:"pin"`
	}
	if err := decode(c, &b); err != nil {
		return err
	}
	if b.PIN == "" {
		return schema.Errorf(schema.ECodeRequired, "pin", "pin is required")
	}
	u, st, err := api.agent.UnlockPIN(c.UserContext(), b.PIN)
	if err != nil {
		return err
	}
	return c.JSON(api.withSession(c, u, fiber.Map{"user": u, "pin": st}))
}

// passwordRefused passes on err, a refusal of the password sent to change
// the PIN. A wrong one counts as a wrong unlock (syncer.Agent.SetPIN): a
// wait it brings comes as Retry-After too, and the lockout it may cause
// ends every session, as at the unlock.
func (api *API) passwordRefused(c *fiber.Ctx, err error) error {
	switch schema.ErrorCode(err) {
	case schema.ECodeUnauthorized, schema.ECodeRateLimited, schema.ECodeForbidden:
		st, serr := api.agent.UnlockState(c.UserContext())
		if serr != nil {
			return serr
		}
		if st.LockedOut {
			api.EndSessions()
		}
		if st.WaitSeconds > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(st.WaitSeconds))
		}
	}
	return err
}
