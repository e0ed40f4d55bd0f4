// Package localapi is the tablet's local JSON API, served on the loopback
// interface only: the records on the tablet, local writes (create, edit,
// sign, amend), the outbox with its set-aside changes, conflicts, the visit
// policy's requirements, sign-in, unlock, the PIN and "sync now".
//
// It is a thin HTTP layer over syncer.Agent. Every answer that is not 2xx is
// a schema.ErrorResponse naming the field at fault; requests from another
// site (by Origin, Host or Sec-Fetch-Site) are refused, so a web page the
// officer visits cannot drive the tablet. Every route but sign-in, unlock
// and /healthz answers only to the officer's unlocked session (session.go),
// which locks after a time without use; once the tablet's offline lease
// has run out, every route but /healthz and the online sign-in answers 423
// lease_expired (syncer/lease.go). A browser app (the officer's web
// app, syncer/officerapp) can be mounted beside the JSON API, on the same
// server, behind the same guard and on the same sessions (Mount).
package localapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/linger"
	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer"
)

// Config configures the local API.
type Config struct {
	// Addr is where to listen: "127.0.0.1:0" (the default: any free port),
	// "127.0.0.1:8417", "localhost:8417", or a bare port "8417". Only
	// loopback addresses are accepted.
	Addr   string
	Logger *slog.Logger
	// LockAfter locks the officer's session (the mounted web app's) after
	// this long without use [5 minutes]; the officer then unlocks it with
	// their password.
	LockAfter time.Duration
	// Now is the clock for the officer's local day, inactivity and "3
	// minutes ago" [time.Now]. Tests move it.
	Now func() time.Time
	// Policy, when set, is the visit policy the tablet computes due and
	// overdue home visits with, whatever the server sends (doorstep device
	// --rules, for testing). Left nil, it uses the server's rules, as
	// the last pull brought them (Agent.Rules), and policy.Default() until
	// a pull brings some.
	Policy *policy.Policy
}

// API is the local HTTP server.
type API struct {
	agent *syncer.Agent
	cfg   Config
	log   *slog.Logger
	app   *fiber.App
	ln    net.Listener
	url   string
	hosts map[string]bool // Host header values we answer to
	done  chan error

	web      WebApp                       // the browser app beside the JSON API (Mount), or nil
	sessions *webui.Sessions[schema.User] // the officer's unlocked sessions, the app's and JSON clients' (session.go)
	defaults *policy.Policy               // the visit policy before the server sent its own

	closeOnce sync.Once
	closeErr  error
}

// New builds the API over agent. Start serves it.
func New(a *syncer.Agent, cfg Config) *API {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LockAfter <= 0 {
		cfg.LockAfter = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	api := &API{agent: a, cfg: cfg, log: cfg.Logger, defaults: policy.Default(), // parsed once, here
		sessions: webui.NewSessions[schema.User]()}
	api.app = fiber.New(fiber.Config{
		AppName:               "doorstep-tablet",
		DisableStartupMessage: true,
		Immutable:             true, // values outlive the handler (stored, logged)
		BodyLimit:             schema.MaxBody,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          2 * time.Minute, // a sync may take a while on a bad network
		IdleTimeout:           2 * time.Minute,
		ErrorHandler:          api.handleError,
	})
	api.routes()
	return api
}

// Policy returns the visit policy to compute with now: Config.Policy when
// set, else the server's rules held, else the defaults; and where it came
// from, in words for the case page. A page asks once and uses that one
// value throughout, so it never mixes two editions.
func (api *API) Policy() (*policy.Policy, string) {
	if api.cfg.Policy != nil {
		return api.cfg.Policy, "this tablet's own rules file"
	}
	if p, _ := api.agent.Rules(); p != nil {
		return p, "from the server"
	}
	return api.defaults, "built-in, until the next sync"
}

// loopbackAddr turns cfg.Addr into a host:port on a loopback address, or
// refuses it.
func loopbackAddr(addr string) (string, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("local API address %q: %w", addr, err)
	}
	switch host {
	case "", "localhost":
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("local API address %q: the tablet's local API listens on loopback only (127.0.0.1 or ::1), not %q", addr, host)
	}
	return net.JoinHostPort(host, port), nil
}

// Start listens on the configured loopback address and serves in the
// background. It refuses any address that is not loopback.
func (api *API) Start() error {
	addr, err := loopbackAddr(api.cfg.Addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("local API: listen on %s: %w", addr, err)
	}
	api.ln = ln
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	api.url = "http://" + ln.Addr().String()
	api.hosts = map[string]bool{ln.Addr().String(): true, "localhost:" + port: true}
	api.done = make(chan error, 1)
	go func() { api.done <- api.app.Listener(linger.Listener{Listener: ln}) }()
	api.log.Info("local API listening", "url", api.url)
	return nil
}

// URL returns the base URL ("http://127.0.0.1:53117") once started.
func (api *API) URL() string { return api.url }

// Close stops the server, waiting up to 5 s for requests in flight. A
// second Close returns the first one's answer at once (it used to wait 5 s
// for a server that had already stopped).
func (api *API) Close() error {
	api.closeOnce.Do(func() { api.closeErr = api.close() })
	return api.closeErr
}

func (api *API) close() error {
	if api.web != nil {
		defer api.web.Close()
	}
	if api.ln == nil {
		return nil
	}
	err := api.app.ShutdownWithTimeout(5 * time.Second)
	// A Close right after Start can run before the server began serving,
	// when Shutdown has nothing to stop yet: closing the listener ends it.
	api.ln.Close()
	select {
	case serr := <-api.done:
		if serr != nil && !errors.Is(serr, net.ErrClosed) {
			err = errors.Join(err, serr)
		}
	case <-time.After(5 * time.Second):
	}
	return err
}

// guard refuses cross-site requests and sets the security headers. The
// Host check defeats DNS rebinding (a hostile name resolving to 127.0.0.1);
// the Origin and Sec-Fetch-Site checks refuse requests a page from another
// site makes; requiring JSON on API writes forces a CORS preflight, which is
// never granted. The mounted web app's forms post form bodies instead, and
// carry a per-session CSRF token that the app checks.
func (api *API) guard(c *fiber.Ctx) error {
	c.Set("Content-Security-Policy", CSP)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("X-Frame-Options", "DENY")
	c.Set("Referrer-Policy", "no-referrer")
	c.Set("Cache-Control", "no-store")
	if !api.hosts[c.Get(fiber.HeaderHost)] {
		return schema.Errorf(schema.ECodeForbidden, "Host", "this API answers only to %s", api.url)
	}
	if o := c.Get(fiber.HeaderOrigin); o != "" && !api.hosts[strings.TrimPrefix(o, "http://")] {
		return schema.Errorf(schema.ECodeForbidden, "Origin", "cross-site requests are refused")
	}
	if c.Get("Sec-Fetch-Site") == "cross-site" {
		return schema.Errorf(schema.ECodeForbidden, "Sec-Fetch-Site", "cross-site requests are refused")
	}
	if api.web != nil && api.web.Owns(c.Path()) {
		// The app sets its pages' own headers (a same-origin referrer among
		// them) and checks their forms' CSRF tokens.
		return c.Next()
	}
	switch c.Method() {
	case fiber.MethodPost, fiber.MethodPatch, fiber.MethodPut, fiber.MethodDelete:
		ct := c.Get(fiber.HeaderContentType)
		if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != fiber.MIMEApplicationJSON {
			return &statusError{415, schema.Errorf(schema.ECodeMalformed, "Content-Type", "send JSON with Content-Type: application/json")}
		}
	}
	return c.Next()
}

// statusError is a *schema.Error with a status other than its code's.
type statusError struct {
	status int
	err    *schema.Error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// handleError answers every error as a schema.ErrorResponse, but on the
// mounted web app's paths, which answer a page (WebApp.ErrorPage). Errors
// that are not ours are logged and answered as "internal error" with a
// request id.
func (api *API) handleError(c *fiber.Ctx, err error) error {
	if api.web != nil && api.web.Owns(c.Path()) {
		return api.web.ErrorPage(c, err)
	}
	var e *schema.Error
	status := 0
	var se *statusError
	var fe *fiber.Error
	switch {
	case errors.As(err, &se):
		e, status = se.err, se.status
	case errors.Is(err, syncer.ErrSignedOut):
		e = &schema.Error{Code: schema.ECodeUnauthorized, Message: err.Error()}
	case errors.Is(err, syncer.ErrDeviceRevoked):
		e = &schema.Error{Code: schema.ECodeDeviceRevoked, Message: err.Error()}
	case errors.Is(err, syncer.ErrUpdateRequired):
		e = &schema.Error{Code: schema.ECodeUpdateRequired, Message: err.Error()}
	case errors.Is(err, syncer.ErrNoServer):
		e = &schema.Error{Code: schema.ECodeUnavailable, Message: err.Error()}
	case errors.As(err, &fe):
		e = &schema.Error{Code: schema.ECodeInvalid, Message: fe.Message}
		switch fe.Code {
		case 404:
			e.Code, e.Message = schema.ECodeNotFound, fmt.Sprintf("no route %s %s", c.Method(), c.Path())
		case 405:
			e.Message = fmt.Sprintf("%s is not allowed on %s", c.Method(), c.Path())
		case 413:
			e.Code, e.Message = schema.ECodeTooLarge, fmt.Sprintf("the body is over %d bytes", schema.MaxBody)
		}
		status = fe.Code
	case schema.AsError(err) != nil && !IsRemote(err):
		e = schema.AsError(err)
	}
	rid := ""
	if e == nil {
		if IsRemote(err) {
			// The server or the network failed a sync or a login: not this
			// request's fault, and the message says what went wrong.
			code := schema.ErrorCode(err)
			if code != schema.ECodeUnauthorized && code != schema.ECodeRateLimited && code != schema.ECodeForbidden {
				code = schema.ECodeUnavailable
			}
			e = &schema.Error{Code: code, Message: err.Error()}
		} else {
			rid = RequestID()
			api.log.Error("local API: internal error", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
			e = &schema.Error{Code: schema.ECodeInternal, Message: "internal error (request id " + rid + ")"}
		}
	}
	if status == 0 {
		status = schema.HTTPStatus(e.Code)
		if status == 0 {
			status = 500
		}
	}
	return c.Status(status).JSON(schema.ErrorResponse{Error: *e, RequestID: rid})
}

// CSP is the tablet's Content-Security-Policy: styles, images and the one
// script (the officer app's app.js) from this server only, nothing may
// frame it. The guard sets it on every answer; the web app's pages set the
// same for themselves.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// IsRemote reports whether err came from the server or the network rather
// than from the request being answered.
func IsRemote(err error) bool {
	var he *syncer.HTTPError
	if errors.As(err, &he) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syncer.ErrNetwork) || errors.Is(err, context.DeadlineExceeded)
}

// RequestID is a new id to log an internal error under and show with it.
func RequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
