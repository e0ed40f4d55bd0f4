package server

import (
	"time"

	"strings"

	"doorstep/schema"

	"github.com/gofiber/fiber/v2"
)

// Admin endpoints: teams, users, reassignment and devices. The admin group
// is behind authed and adminOnly; the store checks the role again.

// createTeam: POST /v1/admin/teams {"name", "id"?}.
func (s *Server) createTeam(c *fiber.Ctx) error {
	var t schema.Team
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &t); err != nil {
		return err
	}
	if t.ID == "" {
		t.ID = schema.NewID()
	}
	t.Name = strings.TrimSpace(t.Name)
	if err := s.db.CreateTeam(c.UserContext(), actorOf(c), t); err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(t)
}

type newUser struct {
	schema.User
	Password string `json:"password"`
}

// setupCode is the answer that hands an admin a user's one-time setup code.
type setupCode struct {
	schema.User
	SetupCode      string    `json:"setup_code"`
	SetupExpiresAt time.Time `json:"setup_expires_at"`
}

// createUser: POST /v1/admin/users {"username", "name", "role", "team_id"}:
// the answer carries a one-time setup code, with which the user sets their
// own password (POST /v1/auth/setup). A "password" may still be given
// instead, for scripts; it must pass the same strength rule.
func (s *Server) createUser(c *fiber.Ctx) error {
	var u newUser
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &u); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = schema.NewID()
	}
	if err := s.db.CreateUser(c.UserContext(), actorOf(c), u.User, u.Password); err != nil {
		return err
	}
	if u.Password != "" {
		return c.Status(fiber.StatusCreated).JSON(u.User)
	}
	code, expires, err := s.db.IssueSetupCode(c.UserContext(), actorOf(c), u.Username)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(setupCode{User: u.User, SetupCode: code, SetupExpiresAt: expires.UTC()})
}

// resetPassword: POST /v1/admin/users/:username/reset-password: the user's
// password stops working, their tokens are revoked, and a new one-time
// setup code is answered.
func (s *Server) resetPassword(c *fiber.Ctx) error {
	code, expires, err := s.db.IssueSetupCode(c.UserContext(), actorOf(c), c.Params("username"))
	if err != nil {
		return err
	}
	u, err := s.db.UserByUsername(c.UserContext(), c.Params("username"))
	if err != nil {
		return err
	}
	return c.JSON(setupCode{User: u, SetupCode: code, SetupExpiresAt: expires.UTC()})
}

// reassign: POST /v1/admin/cases/:id/reassign {"officer_username"}.
func (s *Server) reassign(c *fiber.Ctx) error {
	var req struct {
		OfficerUsername string `json:"officer_username"`
	}
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.OfficerUsername == "" {
		return errorf(schema.ECodeRequired, "officer_username", "officer_username is required")
	}
	if err := s.db.ReassignCase(c.UserContext(), actorOf(c), c.Params("id"), req.OfficerUsername); err != nil {
		return err
	}
	rec, err := s.db.Get(c.UserContext(), actorOf(c), "case", c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(rec)
}

// listDevices: GET /v1/admin/devices.
func (s *Server) listDevices(c *fiber.Ctx) error {
	devs, err := s.db.ListDevices(c.UserContext())
	if err != nil {
		return err
	}
	if devs == nil {
		devs = []schema.Device{}
	}
	return c.JSON(fiber.Map{"devices": devs})
}

// revokeDevice: POST /v1/admin/devices/:id/revoke.
func (s *Server) revokeDevice(c *fiber.Ctx) error {
	if err := s.db.RevokeDevice(c.UserContext(), actorOf(c), c.Params("id")); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "revoked", "device_id": c.Params("id")})
}
