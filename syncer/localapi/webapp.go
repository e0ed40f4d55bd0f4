package localapi

// A browser app beside the JSON API: the officer's web app (syncer/officerapp)
// is served by the same loopback server, behind the same cross-site guard,
// and reaches the tablet through what is exported here.

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/syncer"
)

// WebApp is a browser app served beside the JSON API. Its pages share the
// API's sessions (Sessions, StartSession, UseSession): one gate, one lock.
type WebApp interface {
	// Owns reports whether path is one of the app's: the JSON API's rules
	// about request bodies do not apply to it (its forms carry a CSRF token
	// instead), and the app sets its pages' headers (a same-origin
	// referrer among them) over the guard's.
	Owns(path string) bool
	// Routes adds the app's routes, after the JSON API's and behind its
	// guard.
	Routes(app *fiber.App)
	// Close stops the app's background work; the API calls it on Close.
	Close()
	// ErrorPage answers an error on one of the app's paths that reached the
	// API's error handler (a body over the size limit, refused before any
	// route runs): a page for a person, never the API's JSON.
	ErrorPage(c *fiber.Ctx, err error) error
}

// Mount serves w beside the JSON API. Call it once, before Start.
func (api *API) Mount(w WebApp) {
	api.web = w
	w.Routes(api.app)
}

// Agent is the tablet's agent the API serves.
func (api *API) Agent() *syncer.Agent { return api.agent }

// Logger is the API's logger.
func (api *API) Logger() *slog.Logger { return api.log }

// Now is the API's clock (Config.Now).
func (api *API) Now() time.Time { return api.cfg.Now() }

// LockAfter is how long the officer's session lasts without use
// (Config.LockAfter).
func (api *API) LockAfter() time.Duration { return api.cfg.LockAfter }
