package localapi

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

// GET /v1/status
func (api *API) status(c *fiber.Ctx) error {
	st, err := api.agent.Status(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(st)
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (b credentials) check() error {
	if b.Username == "" {
		return schema.Errorf(schema.ECodeRequired, "username", "username is required")
	}
	if b.Password == "" {
		return schema.Errorf(schema.ECodeRequired, "password", "password is required")
	}
	return nil
}

// POST /v1/login {username, password}: online sign-in through the server.
func (api *API) login(c *fiber.Ctx) error {
	var b credentials
	if err := decode(c, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	u, err := api.agent.Login(c.UserContext(), b.Username, b.Password)
	if err != nil {
		return err
	}
	return c.JSON(api.withSession(c, u, fiber.Map{"user": u}))
}

// POST /v1/unlock {username, password}: offline check against the verifier
// stored at the last online sign-in. Wrong passwords are limited
// (syncer.Unlock): a refusal's body carries the count as "unlock" beside
// the error, and a wait also comes as Retry-After (seconds).
func (api *API) unlock(c *fiber.Ctx) error {
	var b credentials
	if err := decode(c, &b); err != nil {
		return err
	}
	if err := b.check(); err != nil {
		return err
	}
	u, st, err := api.agent.Unlock(c.UserContext(), b.Username, b.Password)
	if e := schema.AsError(err); e != nil && (e.Code == schema.ECodeUnauthorized || e.Code == schema.ECodeRateLimited || e.Code == schema.ECodeForbidden) {
		if st.LockedOut {
			api.EndSessions()
		}
		if st.WaitSeconds > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(st.WaitSeconds))
		}
		return c.Status(schema.HTTPStatus(e.Code)).JSON(unlockRefused{Error: *e, Unlock: st})
	}
	if err != nil {
		return err
	}
	return c.JSON(api.withSession(c, u, fiber.Map{"user": u, "unlock": st}))
}

// unlockRefused is schema.ErrorResponse with the count of wrong passwords.
type unlockRefused struct {
	Error  schema.Error       `json:"error"`
	Unlock syncer.UnlockState `json:"unlock"`
}

// GET /v1/unlock: the wrong passwords so far, the tries left, any wait,
// and whether the tablet needs an online sign-in.
func (api *API) unlockState(c *fiber.Ctx) error {
	st, err := api.agent.UnlockState(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// POST /v1/sync: one sync now (push, then pull); answers its report.
func (api *API) sync(c *fiber.Ctx) error {
	rep, err := api.agent.SyncOnce(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(rep)
}

// GET /v1/outbox
func (api *API) outbox(c *fiber.Ctx) error {
	out, err := api.agent.Outbox(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"outbox": out})
}

// GET /v1/conflicts
func (api *API) conflicts(c *fiber.Ctx) error {
	out, err := api.agent.Conflicts(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"conflicts": out})
}
