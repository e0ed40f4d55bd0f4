package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// readiness is what /readyz asks of the store: a small interface, so that
// another store can answer it.
type readiness interface {
	Ping(ctx context.Context) error
	Migrations(ctx context.Context) (applied, known int, err error)
}

// ReadyAnswer is the body of GET /readyz: status "ready" (200) or
// "not_ready" (503), and each check's word: "ok", or what is wrong. The
// words name no file, host or error text (anyone may ask); the log has
// those, with the request id.
type ReadyAnswer struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// readyTimeout bounds the checks, so a stuck database answers 503 in time
// for the probe rather than hanging it.
const readyTimeout = 2 * time.Second

// readyz: GET /readyz. The database answers a query, and every migration
// this build knows is recorded in it.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	rid, _ := c.Locals("rid").(string)
	ans := ReadyAnswer{Status: "ready", Checks: map[string]string{"database": "ok", "migrations": "ok"}}
	if err := s.ready.Ping(ctx); err != nil {
		s.log.Warn("not ready: the database does not answer", "request_id", rid, "err", err)
		ans.Checks["database"] = "unreachable"
		ans.Checks["migrations"] = "unknown"
	} else if applied, known, err := s.ready.Migrations(ctx); err != nil {
		s.log.Warn("not ready: migrations unread", "request_id", rid, "err", err)
		ans.Checks["migrations"] = "unreadable"
	} else if applied != known {
		s.log.Warn("not ready: migrations pending", "request_id", rid, "applied", applied, "known", known)
		ans.Checks["migrations"] = fmt.Sprintf("pending: %d of %d applied", applied, known)
	}
	for _, v := range ans.Checks {
		if v != "ok" {
			ans.Status = "not_ready"
			c.Status(fiber.StatusServiceUnavailable)
		}
	}
	return c.JSON(ans)
}
