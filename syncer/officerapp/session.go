package officerapp

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

// Cookies. The session cookie holds a random token; the session itself
// (who, its CSRF token, when last used) lives only in this process's
// memory, so a restart or a lock forgets it. The sessions are the local
// API's (localapi.API.Sessions): the JSON API answers to the same ones, and
// locks with them.
const (
	sessionCookie = localapi.SessionCookie
	signInCookie  = "doorstep_signin" // double-submit token of the sign-in forms
)

// appSession is one signed-in (unlocked) browser.
type appSession = webui.Session[schema.User]

func sessionOf(c *fiber.Ctx) *appSession {
	s, _ := c.Locals("session").(*appSession)
	return s
}

// formOf parses the request's form body once.
func formOf(c *fiber.Ctx) (url.Values, error) { return webui.Form(c, 0) }

// appAuth gates every app page behind an unlocked session, and every form
// post behind the session's CSRF token. A session idle for longer than
// localapi.Config.LockAfter is locked: the officer unlocks it with their
// password.
func (w *webApp) appAuth(c *fiber.Ctx) error {
	if p := c.Path(); strings.HasPrefix(p, "/app/static/") || p == pathWorker || p == pathSignIn || p == "/app/unlock" || p == "/app/unlock/pin" {
		return c.Next()
	}
	if done, err := w.leaseGate(c); done {
		return err
	}
	sess, locked := w.api.UseSession(c.Cookies(sessionCookie))
	if sess == nil {
		if c.Method() != fiber.MethodGet && c.Get("X-Requested-With") == "doorstep" {
			// The autosave script: it says so, and keeps the form on screen.
			return c.Status(fiber.StatusUnauthorized).JSON(fiber.Map{"locked": true})
		}
		q := url.Values{}
		if c.Method() == fiber.MethodGet {
			q.Set("next", c.OriginalURL())
		}
		if locked {
			q.Set("locked", "1")
		}
		target := pathSignIn
		if len(q) > 0 {
			target += "?" + q.Encode()
		}
		return redirect(c, target)
	}
	c.Locals("session", sess)
	// The autosave script sends the token in a header.
	if err := webui.CheckCSRF(c, sess.CSRF, "X-CSRF-Token", 0); err != nil {
		return w.errorPage(c, err)
	}
	return c.Next()
}

// --- sign in, unlock, lock ---

type signInData struct {
	Mode     string // "signin" (online, first time) or "unlock" (offline)
	Username string
	Pre      string // the double-submit token
	Next     string
	Locked   bool
	Form     formView
	// The PIN (pin.go): on the unlock page, its own form when one is
	// set, or a notice when wrong tries turned it off.
	PINSet, PINDisabled bool
	PINForm             formView
	// Wrong passwords (syncer.UnlockState): Notice says the tries left and
	// any wait on the unlock page, or, LockedOut, why only the online
	// sign-in is offered.
	Notice    string
	LockedOut bool
	// LeaseNotice: the offline lease ran out (lease.go); only the online
	// sign-in is offered, and this says why.
	LeaseNotice string
}

// GET /app/signin: the sign-in form on a tablet nobody has signed in on
// (or with ?online=1), else the unlock form.
func (w *webApp) signInPage(c *fiber.Ctx) error {
	if sess, _ := w.api.UseSession(c.Cookies(sessionCookie)); sess != nil {
		return redirect(c, safeNext(c.Query("next")))
	}
	st, err := w.agent.Status(c.UserContext())
	if err != nil {
		return err
	}
	d := signInData{Mode: "signin", Next: safeNext(c.Query("next")), Locked: c.Query("locked") == "1"}
	if st.User != nil && c.Query("online") != "1" {
		d.Mode, d.Username = "unlock", st.User.Username
	}
	return w.renderSignIn(c, fiber.StatusOK, d)
}

func (w *webApp) renderSignIn(c *fiber.Ctx, status int, d signInData) error {
	d.Pre = c.Cookies(signInCookie)
	if d.Pre == "" {
		d.Pre = webui.Token()
		c.Cookie(&fiber.Cookie{Name: signInCookie, Value: d.Pre, Path: "/app/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	}
	username := d.Form.value("username")
	if username == "" {
		username = d.Username
	}
	d.Form.Controls = []*control{
		{Name: "username", Label: "Username", Kind: "text", Value: username, Autocomplete: "username"},
		{Name: "password", Label: "Password", Kind: "password", Autocomplete: "current-password"},
	}
	us, err := w.agent.UnlockState(c.UserContext())
	if err != nil {
		return err
	}
	if d.LeaseNotice, err = w.leaseNotice(c); err != nil {
		return err
	}
	switch now := w.api.Now(); {
	case d.LeaseNotice != "":
		d.Mode, d.LockedOut, d.Locked = "signin", true, false
	case us.LockedOut:
		st, err := w.agent.Status(c.UserContext())
		if err != nil {
			return err
		}
		d.Mode, d.LockedOut = "signin", true
		d.Notice = "The password was typed wrong too many times, so this tablet can no longer be unlocked here. " +
			"Sign in online with your username and password (this needs a connection)."
		if n := st.Pending + st.Rejected; n > 0 {
			d.Notice += fmt.Sprintf(" Your %s kept on this tablet and will be sent after you sign in.",
				plural(n, "unsent change is", "unsent changes are"))
		} else if st.User == nil {
			d.Notice += " The caseload was removed from this tablet, as all of it was already on the server; it comes back when you sign in."
		}
	case d.Mode != "unlock" || us.Failures == 0 || len(d.Form.Errors) > 0:
	case us.Wait > 0:
		d.Notice = fmt.Sprintf("Too many wrong passwords: the next try must wait until %s (%s from now). %s left before this tablet can only be opened by signing in online.",
			clockText(us.RetryAt, now), syncer.WaitText(us.Wait), plural(us.Left, "try", "tries"))
	default:
		d.Notice = fmt.Sprintf("The password was typed wrong %s. %s left before this tablet can only be opened by signing in online.",
			plural(us.Failures, "time", "times"), plural(us.Left, "try", "tries"))
	}
	title := "Sign in"
	if d.Mode == "unlock" {
		title = "Unlock"
		pin, err := w.agent.PIN(c.UserContext())
		if err != nil {
			return err
		}
		d.PINSet, d.PINDisabled = pin.Set, pin.Disabled
		d.PINForm.Controls = []*control{{Name: "pin", Label: "PIN", Kind: "password", Autocomplete: "off", Numeric: true}}
		d.PINForm.attachErrors()
	} else {
		d.Form.Controls = append(d.Form.Controls, pinControls(true)...)
	}
	d.Form.attachErrors()
	return w.render(c, status, "signin", view{Title: title, Data: d})
}

// POST /app/signin: the first sign-in, online, through the server.
func (w *webApp) signIn(c *fiber.Ctx) error { return w.credentials(c, "signin") }

// POST /app/unlock: offline, against the verifier of the last sign-in.
func (w *webApp) unlock(c *fiber.Ctx) error { return w.credentials(c, "unlock") }

func (w *webApp) credentials(c *fiber.Ctx, mode string) error {
	form, err := formOf(c)
	if err != nil {
		return err
	}
	if err := webui.CheckSignIn(form, c.Cookies(signInCookie)); err != nil {
		return err
	}
	d := signInData{Mode: mode, Next: safeNext(form.Get("next"))}
	d.Form.Values = url.Values{"username": {strings.TrimSpace(form.Get("username"))}}
	username, password := strings.TrimSpace(form.Get("username")), form.Get("password")
	if username == "" {
		d.Form.addError("username", "Enter your username.")
	}
	if password == "" {
		d.Form.addError("password", "Enter your password.")
	}
	pin, pinConfirm := strings.TrimSpace(form.Get("pin")), strings.TrimSpace(form.Get("pin_confirm"))
	if mode == "signin" && (pin != "" || pinConfirm != "") {
		checkNewPIN(&d.Form, pin, pinConfirm)
	}
	if len(d.Form.Errors) > 0 {
		return w.renderSignIn(c, fiber.StatusUnprocessableEntity, d)
	}
	var user schema.User
	if mode == "signin" {
		ctx, cancel := context.WithTimeout(c.UserContext(), 20*time.Second)
		user, err = w.agent.Login(ctx, username, password)
		cancel()
	} else {
		var st syncer.UnlockState
		user, st, err = w.agent.Unlock(c.UserContext(), username, password)
		if isLeaseExpired(err) {
			return w.renderSignIn(c, fiber.StatusLocked, d) // the page says why
		}
		if err != nil {
			return w.unlockRefused(c, d, st, err)
		}
	}
	if err != nil {
		status := fiber.StatusUnauthorized
		switch code := schema.ErrorCode(err); {
		case code == schema.ECodeUnauthorized:
			d.Form.addError("password", "The username or password is not right. Check them and try again.")
		case code == schema.ECodeRateLimited:
			status = fiber.StatusTooManyRequests
			d.Form.addError("", "Too many attempts. Wait a minute, then try again.")
		case code == schema.ECodeConflict:
			status = fiber.StatusConflict
			d.Form.addError("username", schema.AsError(err).Message)
		case code == schema.ECodeForbidden:
			status = fiber.StatusForbidden
			d.Form.addError("username", "This tablet is registered to someone else, or your account cannot sign in here. Ask an administrator.")
		case code == schema.ECodeLeaseExpired:
			status = fiber.StatusLocked
			d.Form.addError("", "The server's answer did not renew this tablet's offline allowance, so it stays locked. Any unsent changes are still sent. Ask an administrator: the server's signing key may have changed.")
		case localapi.IsRemote(err) || code == schema.ECodeUnavailable:
			status = fiber.StatusServiceUnavailable
			d.Form.addError("", "The server cannot be reached. The first sign-in on a tablet needs a connection; if you have signed in on this tablet before, unlock it instead.")
		default:
			return err
		}
		return w.renderSignIn(c, status, d)
	}
	if mode != "signin" {
		return w.startSession(c, user, d.Next)
	}
	var flash []string
	if pin != "" {
		if err := w.agent.SetPIN(c.UserContext(), password, pin); err != nil {
			w.api.Logger().Warn("web app: set the PIN at sign-in", "err", err)
			flash = append(flash, "Your PIN could not be set; set it again on the PIN page.")
		} else {
			flash = append(flash, "Your PIN is set: you can unlock with it or with your password.")
		}
	}
	// Bring the caseload down now, so Today is not empty; a slow network
	// carries on in the background.
	if done, _ := w.syncSoon(3 * time.Second); !done {
		flash = append(flash, "Your caseload is still arriving from the server; it will appear here as it comes.")
	}
	sess := w.startSessionCookie(c, user)
	w.sessions.SetFlash(sess, strings.Join(flash, " "))
	return redirect(c, d.Next)
}

// unlockRefused says why the password did not unlock: wrong, with the
// tries left (and the wait the next one needs); a try during a wait; or the
// lockout, which turns the page into the online sign-in.
func (w *webApp) unlockRefused(c *fiber.Ctx, d signInData, st syncer.UnlockState, err error) error {
	left := triesLeft(st)
	status := fiber.StatusUnauthorized
	switch schema.ErrorCode(err) {
	case schema.ECodeUnauthorized:
		if st.Failures == 0 {
			// Nobody has signed in on this tablet.
			d.Form.addError("password", "The username or password is not right. Check them and try again.")
			break
		}
		msg := "The username or password is not right. " + left
		if st.Wait > 0 {
			msg += " Wait " + syncer.WaitText(st.Wait) + " before the next try."
		}
		d.Form.addError("password", msg)
	case schema.ECodeRateLimited:
		status = fiber.StatusTooManyRequests
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(st.WaitSeconds))
		d.Form.addError("", fmt.Sprintf("Too many wrong passwords. Wait %s (until %s), then try again. Your password was not checked. %s",
			syncer.WaitText(st.Wait), clockText(st.RetryAt, w.api.Now()), left))
	case schema.ECodeForbidden:
		status = fiber.StatusForbidden
		w.api.EndSessions()
		if !st.LockedOut {
			// The data's keys were destroyed: the page says so.
			d.Form.addError("", schema.AsError(err).Message)
		}
	default:
		return err
	}
	return w.renderSignIn(c, status, d)
}

// triesLeft says the wrong passwords left before the lockout.
func triesLeft(st syncer.UnlockState) string {
	return fmt.Sprintf("%s left before this tablet can only be opened by signing in online.", plural(st.Left, "try", "tries"))
}

// startSession opens an unlocked session for user and goes to next.
func (w *webApp) startSession(c *fiber.Ctx, user schema.User, next string) error {
	w.startSessionCookie(c, user)
	return redirect(c, next)
}

func (w *webApp) startSessionCookie(c *fiber.Ctx, user schema.User) *appSession {
	return w.api.StartSession(c, user)
}

// POST /app/lock: lock now.
func (w *webApp) lock(c *fiber.Ctx) error {
	w.api.EndSession(c, c.Cookies(sessionCookie))
	return redirect(c, pathSignIn)
}
