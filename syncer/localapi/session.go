package localapi

// The gate: every route of the tablet's local server answers only to the
// officer's unlocked session, but the few a session is obtained through
// (openRoutes). One store of sessions serves the JSON API and the mounted
// web app alike, so signing in, the lock after inactivity, "lock now" and
// the lockout after wrong passwords mean the same for both
// (docs/decisions/0020-one-gate-for-the-tablet.md).

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/syncer"
)

// SessionCookie is the cookie that carries a session's token to the
// browser; a JSON client may send the token as "Authorization: Bearer"
// instead.
const SessionCookie = "doorstep_session"

// Session is one officer's unlocked session: a browser's, or a JSON
// client's.
type Session = webui.Session[schema.User]

// openRoutes are the only routes that answer without a session, each with
// the reason it needs none. Every other route, including a path nobody
// serves, asks for a session first (the gate fails closed). The web app's
// pages gate themselves the same way (they redirect to the sign-in page
// instead of answering 401), through the same store.
var openRoutes = map[string]string{
	"GET /healthz":        "liveness only: answers {\"ok\": true} and nothing about the tablet",
	"HEAD /healthz":       "the same as GET",
	"POST /v1/login":      "the online sign-in: the server checks the password, and the answer is a session",
	"POST /v1/unlock":     "the offline unlock: the password is checked against its verifier, wrong tries are counted and limited, and the answer is a session",
	"POST /v1/unlock/pin": "the offline unlock with the PIN: checked and limited like the password, and the answer is a session",
	"GET /v1/unlock":      "the count of wrong passwords, the wait and the lockout, which a client shows before the officer types a password; nothing about the caseload",
	"HEAD /v1/unlock":     "the same as GET",
}

// leaseOpenRoutes are the only routes that answer once the offline lease
// has run out (syncer/lease.go): every other one, with a session or
// without, answers 423 lease_expired until an online sign-in brings a new
// lease.
var leaseOpenRoutes = map[string]string{
	"GET /healthz":   "liveness only",
	"HEAD /healthz":  "the same as GET",
	"POST /v1/login": "the online sign-in: the one way to a new lease",
}

// gate lets a request through when its route is open, the mounted web app
// owns its path (the app gates its pages itself, with the same sessions),
// or it carries an unlocked session; else it answers 401: unauthorized
// without a session (or with one the tablet does not know), locked when
// the session has locked. Once the offline lease has run out it answers
// 423 lease_expired to everything but leaseOpenRoutes, and ends every
// session.
func (api *API) gate(c *fiber.Ctx) error {
	if api.web != nil && api.web.Owns(c.Path()) {
		return c.Next()
	}
	route := c.Method() + " " + c.Path()
	if _, ok := leaseOpenRoutes[route]; !ok {
		if _, err := api.agent.CheckLease(c.UserContext()); err != nil {
			api.EndSessions()
			return err
		}
	}
	if _, ok := openRoutes[route]; ok {
		return c.Next()
	}
	token := sessionToken(c)
	if token == "" {
		return schema.Errorf(schema.ECodeUnauthorized, "Authorization",
			"this needs the officer's session: sign in (POST /v1/login) or unlock (POST /v1/unlock, POST /v1/unlock/pin), then send the token as \"Authorization: Bearer <token>\"")
	}
	sess, locked := api.UseSession(token)
	if locked {
		return schema.Errorf(schema.ECodeLocked, "Authorization",
			"the session locked after %s without use: unlock again (POST /v1/unlock or POST /v1/unlock/pin) for a new session", syncer.WaitText(api.cfg.LockAfter))
	}
	if sess == nil {
		return schema.Errorf(schema.ECodeUnauthorized, "Authorization",
			"the session has ended (locked, signed out, or the agent restarted): unlock (POST /v1/unlock, POST /v1/unlock/pin) or sign in (POST /v1/login) again")
	}
	return c.Next()
}

// sessionToken is the request's session token: "Authorization: Bearer",
// else the session cookie.
func sessionToken(c *fiber.Ctx) string {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		return strings.TrimSpace(token)
	}
	return c.Cookies(SessionCookie)
}

// UseSession returns the unlocked session with token and marks it used
// now; nil when there is none, and locked when it has just locked (it is
// ended then). A session also locks when the agent no longer holds the
// data key (it was dropped after its hold time, or the tablet was locked
// out): without it nothing of the caseload can be read.
func (api *API) UseSession(token string) (sess *Session, locked bool) {
	sess, locked = api.sessions.Use(token, api.cfg.Now(), api.cfg.LockAfter)
	if sess != nil && !api.agent.KeepKey() {
		api.sessions.Drop(token)
		return nil, true
	}
	return sess, locked
}

// StartSession opens an unlocked session for user (who has just signed in
// or unlocked), sets its cookie, and returns it. Sessions of anybody else
// end: the tablet holds one officer's caseload at a time.
func (api *API) StartSession(c *fiber.Ctx, user schema.User) *Session {
	api.sessions.DropIf(func(u schema.User) bool { return u.ID != user.ID })
	sess := api.sessions.Create(user, api.cfg.Now(), api.cfg.LockAfter)
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	return sess
}

// EndSession ends the session with token (lock now) and clears its
// cookie.
func (api *API) EndSession(c *fiber.Ctx, token string) {
	api.sessions.Drop(token)
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Expires: time.Unix(1, 0)})
}

// EndSessions ends every session: the tablet was locked out by wrong
// passwords.
func (api *API) EndSessions() { api.sessions.DropAll() }

// Sessions is the store of the officer's sessions, shared with the
// mounted web app (its flash messages and CSRF tokens live there too).
func (api *API) Sessions() *webui.Sessions[schema.User] { return api.sessions }

// withSession opens a session for user, who has just signed in or
// unlocked, and adds it to the answer m: "token", to send back as
// "Authorization: Bearer <token>" (it is also set as the session cookie),
// "token_type" and "lock_after_seconds", how long it lasts unused.
func (api *API) withSession(c *fiber.Ctx, user schema.User, m fiber.Map) fiber.Map {
	sess := api.StartSession(c, user)
	m["token"], m["token_type"], m["lock_after_seconds"] = sess.ID, "Bearer", int(api.cfg.LockAfter/time.Second)
	return m
}

// POST /v1/lock: end this session now; unlock for a new one.
func (api *API) lock(c *fiber.Ctx) error {
	api.EndSession(c, sessionToken(c))
	return c.JSON(fiber.Map{"locked": true})
}
