package server

// The offline lease and the device's standing, told on every answer to a
// device credential (docs/sync-protocol.md §5.1, §5.2; decision 0034).
// Every answer to a request whose device credential the server checked (an
// access token whose signature verifies, expired or not; a refresh token
// of that device; a right password at login) says whether the device is
// revoked; every such answer to a device that is not revoked, of a user
// who is not disabled, carries a new lease signed with the server's
// Ed25519 key (the one that countersigns visits, server/keys.go). A lease
// signature covers a context string first, so it can be nothing else that
// key signs.

import (
	"time"

	"doorstep/schema"

	"github.com/gofiber/fiber/v2"
)

// tellStanding sets the Doorstep-Device-Standing header.
func tellStanding(c *fiber.Ctx, revoked bool) {
	if revoked {
		c.Set(schema.HeaderDeviceStanding, schema.StandingRevoked)
	} else {
		c.Set(schema.HeaderDeviceStanding, schema.StandingActive)
	}
}

// grantLease tells the device it is active and sets a lease for user u on
// it: valid for the rules' offline_lease_days from now, then
// offline_grace_days of grace.
func (s *Server) grantLease(c *fiber.Ctx, u schema.User, deviceID string) {
	tellStanding(c, false)
	now := s.cfg.Now().UTC().Truncate(time.Second)
	valid := now.AddDate(0, 0, s.cfg.Policy.LeaseDays())
	l := schema.Lease{DeviceID: deviceID, UserID: u.ID, Username: u.Username, IssuedAt: now,
		ValidUntil: valid, GraceUntil: valid.AddDate(0, 0, s.cfg.Policy.GraceDays())}
	tok, err := schema.SignLease(s.signKey, l)
	if err != nil { // only a bug of ours: the times above are in order
		s.log.Error("sign the offline lease", "device", deviceID, "err", err)
		return
	}
	c.Set(schema.HeaderLease, tok)
}

// tellStandingOf sets the standing of deviceID as the store has it, for
// an answer that did not otherwise learn it (an expired access token);
// nothing when the store cannot say.
func (s *Server) tellStandingOf(c *fiber.Ctx, deviceID string) {
	revoked, err := s.db.DeviceRevoked(c.UserContext(), deviceID)
	if err != nil {
		return
	}
	tellStanding(c, revoked)
}

// ServerPublicKey is the server's Ed25519 public key as tablets pin it
// (TokenResponse.server_public_key), base64.
func (s *Server) ServerPublicKey() string { return s.pubKey }
