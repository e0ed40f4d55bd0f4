// Package officerapp is the officer's web app on the tablet: server-rendered
// pages (html/template) for Today, a case, its visits, safety assessments,
// enquiries, referrals and schedule, set-aside changes and conflicts, with
// sign-in, the lock after inactivity, unlock by password or PIN, and "sync
// now". It is served beside the local JSON API (syncer/localapi), on the
// same loopback server and behind the same cross-site guard, under /app/ so
// nothing clashes with /v1/ and /healthz.
//
// Everything it needs (templates, CSS, the one small script) is embedded,
// and no page waits on the network: every screen renders from the tablet's
// own store through syncer.Agent. Sign-in is the only request that must
// reach the server; "Sync now" waits a few seconds at most, then lets the
// sync carry on in the background. The scaffolding it shares with the
// supervisors' dashboard (templates over a layout, static files, security
// headers, tokens, the CSRF check, the session store) is
// doorstep/internal/webui.
package officerapp

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

//go:embed web
var webFS embed.FS

// Page paths.
const (
	pathToday  = "/app/today"
	pathSignIn = "/app/signin"
)

// New builds the tablet's local API over agent with the officer's web app
// mounted beside it: what doorstep device and doorstep demo serve. Start
// serves both.
func New(a *syncer.Agent, cfg localapi.Config) *localapi.API {
	api := localapi.New(a, cfg)
	api.Mount(newWebApp(api))
	return api
}

// webApp holds the web app's parsed templates, static files, sessions and
// background syncs. It is a localapi.WebApp.
type webApp struct {
	api      *localapi.API
	agent    *syncer.Agent
	pages    *webui.Pages
	static   *webui.Static
	sessions *webui.Sessions[schema.User] // the local API's (one gate, one lock)
	worker   []byte                       // the service worker's script (installable.go)

	syncing  atomic.Bool // one background sync started by the app at a time
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

func newWebApp(api *localapi.API) *webApp {
	w := &webApp{api: api, agent: api.Agent(),
		pages: webui.MustParsePages(webFS, "web/templates", templateFuncs,
			"signin", "today", "case", "member", "visit", "schedule", "conflicts", "pin", "error",
			"safety", "visitplan", "visitcheck", "enquiry", "referral"),
		static: webui.MustReadStatic(webFS, "web/static"), sessions: api.Sessions()}
	tmpl, err := webFS.ReadFile("web/sw.js")
	if err != nil {
		panic("officerapp: " + err.Error()) // embedded: a build error
	}
	w.worker = addInstallable(w.static, tmpl)
	w.bgCtx, w.bgCancel = context.WithCancel(context.Background())
	return w
}

// Owns reports whether p is one of the web app's paths (the JSON API's
// rules about request bodies do not apply to them).
func (w *webApp) Owns(p string) bool { return p == "/" || p == "/app" || strings.HasPrefix(p, "/app/") }

// Close stops the app's background syncs and waits for them (5 s at most).
func (w *webApp) Close() {
	w.bgCancel()
	done := make(chan struct{})
	go func() { w.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// headers sets the security headers of the app's paths.
func (w *webApp) headers(c *fiber.Ctx) error {
	if w.Owns(c.Path()) {
		webui.SetHeaders(c, localapi.CSP)
	}
	return c.Next()
}

// Routes adds the web app's pages, after the JSON API's routes.
func (w *webApp) Routes(app *fiber.App) {
	app.Use(w.headers)
	app.Get("/", func(c *fiber.Ctx) error { return c.Redirect(pathToday, fiber.StatusSeeOther) })
	app.Get("/app", func(c *fiber.Ctx) error { return c.Redirect(pathToday, fiber.StatusSeeOther) })
	app.Get("/app/static/:name", w.static.Serve)
	app.Get(pathWorker, w.serveWorker)
	app.Get(pathSignIn, w.page(w.signInPage))
	app.Post(pathSignIn, w.page(w.signIn))
	app.Post("/app/unlock", w.page(w.unlock))
	app.Post("/app/unlock/pin", w.page(w.unlockWithPIN))

	g := app.Group("/app", w.appAuth)
	g.Post("/lock", w.page(w.lock))
	g.Post("/alive", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusNoContent) })
	g.Post("/sync", w.page(w.syncNow))
	g.Get("/today", w.page(w.today))
	g.Get("/cases/:id", w.page(w.casePage))
	g.Get("/cases/:id/household/new", w.page(w.memberPage))
	g.Post("/cases/:id/household", w.page(w.saveMember))
	g.Get("/cases/:id/household/:mid", w.page(w.memberPage))
	g.Post("/cases/:id/household/:mid", w.page(w.saveMember))
	g.Post("/cases/:id/visits", w.page(w.newVisit))
	g.Get("/cases/:id/schedule", w.page(w.schedulePage))
	g.Post("/cases/:id/schedule", w.page(w.scheduleVisit))
	g.Get("/cases/:id/safety/new", w.page(w.safetyPage))
	g.Post("/cases/:id/safety", w.page(w.saveSafety))
	g.Get("/cases/:id/enquiries/new", w.page(w.recordPage(enquiryRecord)))
	g.Post("/cases/:id/enquiries", w.page(w.saveRecord(enquiryRecord)))
	g.Get("/cases/:id/enquiries/:rid", w.page(w.recordPage(enquiryRecord)))
	g.Post("/cases/:id/enquiries/:rid", w.page(w.saveRecord(enquiryRecord)))
	g.Get("/cases/:id/referrals/new", w.page(w.recordPage(referralRecord)))
	g.Post("/cases/:id/referrals", w.page(w.saveRecord(referralRecord)))
	g.Get("/cases/:id/referrals/:rid", w.page(w.recordPage(referralRecord)))
	g.Post("/cases/:id/referrals/:rid", w.page(w.saveRecord(referralRecord)))
	g.Get("/visits/:vid/plan", w.page(w.visitPlanPage))
	g.Post("/visits/:vid/plan", w.page(w.moveVisit))
	g.Post("/visits/:vid/cancel", w.page(w.cancelVisit))
	g.Get("/visits/:vid", w.page(w.visitPage))
	g.Post("/visits/:vid", w.page(w.saveVisit))
	g.Post("/visits/:vid/draft", w.autosaveVisit)
	g.Get("/visits/:vid/check", w.page(w.visitCheckPage))
	g.Post("/visits/:vid/sign", w.page(w.signVisit))
	g.Post("/visits/:vid/amend", w.page(w.amendVisit))
	g.Get("/conflicts", w.page(w.conflictsPage))
	g.Post("/conflicts/:cid/resolve", w.page(w.resolveConflict))
	g.Post("/conflicts/:cid/keep-mine", w.page(w.keepMine))
	g.Post("/outbox/:mid/discard", w.page(w.discardChange))
	g.Post("/outbox/:mid/retry", w.page(w.retryChange))
	g.Get("/pin", w.page(w.pinPage))
	g.Post("/pin", w.page(w.savePIN))
	g.Post("/pin/remove", w.page(w.removePIN))
}

// view is what every page template gets: the layout's parts and the
// page's own data in Data.
type view struct {
	Title     string
	User      *schema.User
	CSRF      string
	Badge     *badge
	LockAfter int // seconds of inactivity before the app locks
	Flash     string
	FlashKind flashKind  // success, error or info (the default)
	FlashLink *flashLink // a link after the message, where to do something about it
	Here      string     // this page's path, for forms that come back to it
	Data      any
}

// render writes page name with status.
func (w *webApp) render(c *fiber.Ctx, status int, name string, v view) error {
	if s := sessionOf(c); s != nil {
		v.User, v.CSRF = &s.User, s.CSRF
		if v.Flash == "" {
			var link string
			v.FlashKind, v.Flash = splitFlash(w.sessions.TakeFlash(s))
			if msg, l, ok := strings.Cut(v.Flash, flashSep); ok {
				v.Flash, link = msg, l
			}
			if href, text, ok := strings.Cut(link, flashSep); ok {
				v.FlashLink = &flashLink{Href: href, Text: text} // set by the app only (flashWithLink)
			}
		}
		if v.Badge == nil {
			b, err := w.badge(c.UserContext())
			if err != nil {
				return err
			}
			v.Badge = &b
		}
	}
	v.LockAfter = int(w.api.LockAfter() / time.Second)
	if v.Here == "" {
		v.Here = c.Path()
	}
	return w.pages.Render(c, status, name, v)
}

// page wraps a page handler so that its errors are answered as an HTML
// page, not the API's JSON.
func (w *webApp) page(h fiber.Handler) fiber.Handler { return webui.WithErrorPage(h, w.errorPage) }

type errorData struct {
	Heading string
	Message string
	Back    string
}

// ErrorPage answers an error that reached the local API's error handler
// on one of the app's paths (localapi.WebApp).
func (w *webApp) ErrorPage(c *fiber.Ctx, err error) error { return w.errorPage(c, err) }

// errorPage answers err as a page saying what happened and what to do, or,
// to the script's requests (X-Requested-With: doorstep), as JSON with the
// same sentence in "error".
func (w *webApp) errorPage(c *fiber.Ctx, err error) error {
	status, d := fiber.StatusInternalServerError, errorData{Back: pathToday}
	var fe *fiber.Error
	switch e := schema.AsError(err); {
	case errors.As(err, &fe) && fe.Code == fiber.StatusRequestEntityTooLarge:
		status, d.Heading, d.Message = fe.Code, "Too much to save at once",
			fmt.Sprintf("Nothing was saved: the form sent over %d MB, more than any answer here can hold (a note holds at most 8,000 characters). "+
				"Go back, shorten the longest answer, and save again.", schema.MaxBody>>20)
	case errors.As(err, &fe) && fe.Code < 500:
		status, d.Heading, d.Message = fe.Code, "That could not be done", "This address does not answer that request. Go back and try again."
		if fe.Code == fiber.StatusNotFound {
			d.Heading, d.Message = "Page not found", "There is no page at this address on this tablet."
		}
	case e != nil && e.Code == schema.ECodeNotFound:
		status, d.Heading, d.Message = fiber.StatusNotFound, "Not on this tablet", "This record is not on this tablet. It may have been moved to another officer's caseload."
	case webui.IsCSRF(err):
		status, d.Heading, d.Message = fiber.StatusForbidden, "This form has expired", "The form was out of date or did not come from this app, so nothing was saved. Go back, reload the page and try again."
	case e != nil && schema.HTTPStatus(e.Code) != 0 && schema.HTTPStatus(e.Code) < 500:
		status, d.Heading, d.Message = schema.HTTPStatus(e.Code), "That could not be done", e.Message
	default:
		rid := localapi.RequestID()
		w.api.Logger().Error("web app: internal error", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
		d.Heading, d.Message = "Something went wrong", "Something went wrong on this tablet (reference "+rid+"). Your saved work is safe. Go back and try again."
	}
	if c.Get("X-Requested-With") == "doorstep" {
		return c.Status(status).JSON(fiber.Map{"error": d.Message})
	}
	if rerr := w.render(c, status, "error", view{Title: d.Heading, Data: d}); rerr != nil {
		w.api.Logger().Error("web app: render error page", "err", rerr)
		return c.Status(status).SendString(d.Heading + ": " + d.Message)
	}
	return nil
}

// flashKind says what a flash message is: each kind has its own icon,
// words for screen readers and role (an error is an alert).
type flashKind string

const (
	flashSuccess flashKind = "success"
	flashError   flashKind = "error"
	flashInfo    flashKind = "info"
)

// flashSep marks a flash message's kind in the session's flash text, which
// is one string; a message set without a kind is information.
const flashSep = "\x1e"

// flash sets the message the next page shows, with its kind.
func (w *webApp) flash(c *fiber.Ctx, kind flashKind, msg string) {
	w.sessions.SetFlash(sessionOf(c), string(kind)+flashSep+msg)
}

// flashLink is a link shown after a flash message.
type flashLink struct{ Href, Text string }

// flashWithLink sets the message the next page shows, with a link after it
// (a path of this app).
func (w *webApp) flashWithLink(c *fiber.Ctx, kind flashKind, msg, href, text string) {
	w.flash(c, kind, msg+flashSep+href+flashSep+text)
}

func splitFlash(s string) (flashKind, string) {
	if k, msg, ok := strings.Cut(s, flashSep); ok {
		switch kind := flashKind(k); kind {
		case flashSuccess, flashError, flashInfo:
			return kind, msg
		}
	}
	return flashInfo, s
}

// IsError reports whether the flash is an error (role="alert").
func (k flashKind) IsError() bool { return k == flashError }

// Word is what a screen reader says before the message.
func (k flashKind) Word() string {
	switch k {
	case flashSuccess:
		return "Success"
	case flashError:
		return "Error"
	}
	return "Information"
}

// Icon is the message's sign, so that its kind shows without colour.
func (k flashKind) Icon() string {
	switch k {
	case flashSuccess:
		return "✓"
	case flashError:
		return "!"
	}
	return "i"
}

// redirect sends the browser to p after a form post (303: fetch it with GET).
func redirect(c *fiber.Ctx, p string) error { return c.Redirect(p, fiber.StatusSeeOther) }

// safeNext returns p when it is one of the app's own pages, else Today:
// a "next" or "back" parameter must not send the officer elsewhere.
func safeNext(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.Contains(p, "//") || strings.Contains(p, `\`) {
		return pathToday
	}
	clean := path.Clean(u.Path)
	if !strings.HasPrefix(clean, "/app/") || strings.HasPrefix(clean, "/app/static/") {
		return pathToday
	}
	if u.RawQuery != "" {
		return clean + "?" + u.RawQuery
	}
	return clean
}

// --- the sync badge ---

// badge is the sync state shown on every page. It says only what is known:
// "Online" when the last contact with the server (the last sync) succeeded
// and was recent; otherwise when that contact was, or that it failed.
type badge struct {
	State     string // online, stale, offline, signed_out, never
	Label     string // "Online", "Offline", ...
	LastSync  string // "last sync just now", "last successful sync 3 minutes ago"
	LastError string
	// Records is how many records have changes waiting to be sent (a
	// signed visit is one, however many saves made it); Pending how many
	// changes that is.
	Records   int
	Pending   int
	Rejected  int
	Conflicts int
}

// staleAfter is how long after the last good sync the badge stops saying
// Online: the agent syncs every 30 seconds by default, so a quiet
// quarter of an hour means the tablet has not been in touch.
const staleAfter = 15 * time.Minute

func (w *webApp) badge(ctx context.Context) (badge, error) {
	st, err := w.agent.Status(ctx)
	if err != nil {
		return badge{}, err
	}
	b := badge{Pending: st.Pending, Rejected: st.Rejected, Conflicts: st.Conflicts}
	if st.Pending > 0 {
		out, err := w.agent.Outbox(ctx)
		if err != nil {
			return badge{}, err
		}
		seen := map[string]bool{}
		for _, m := range out {
			if m.Status == "pending" && !seen[m.Entity+"/"+m.RecordID] {
				seen[m.Entity+"/"+m.RecordID] = true
			}
		}
		b.Records = len(seen)
	}
	now := w.api.Now()
	when := ago(now, st.LastSyncAt)
	switch {
	case !st.SignedIn:
		b.State, b.Label = "signed_out", "Signed out of the server"
		b.LastError = "Changes stay on this tablet until you sign in online again."
		b.LastSync = "last successful sync " + when
	case st.LastError != "":
		b.State, b.Label, b.LastError = "offline", "Offline", plainSyncError(st.LastError)
		b.LastSync = "last successful sync " + when
	case st.LastSyncAt.IsZero():
		b.State, b.Label, b.LastSync = "never", "Not synced yet", "no sync yet"
	case now.Sub(st.LastSyncAt) > staleAfter:
		b.State, b.Label, b.LastSync = "stale", "Not in touch with the server recently", "last sync "+when
	default:
		b.State, b.Label, b.LastSync = "online", "Online", "last sync "+when
	}
	return b, nil
}

// plainSyncError shortens a stored sync error for the badge.
func plainSyncError(s string) string {
	switch {
	case strings.Contains(s, "connection refused"), strings.Contains(s, "no such host"), strings.Contains(s, "connection reset"),
		strings.Contains(s, "timeout"), strings.Contains(s, "deadline exceeded"), strings.Contains(s, "network is unreachable"),
		strings.Contains(s, "no route to host"), strings.HasSuffix(s, ": EOF"), strings.Contains(s, "broken pipe"),
		strings.Contains(s, "unavailable"):
		return "The server cannot be reached. Your changes are safe on this tablet and will be sent when the connection returns."
	case strings.Contains(s, "update required"):
		return "This app needs updating before it can receive changes. Your changes are still sent."
	case strings.Contains(s, "signed out"):
		return "Sign in online again to send your changes. They are safe on this tablet."
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return "The last sync failed: " + s
}

// syncSoon starts a sync in the background (unless the app already has one
// running) and waits up to wait for it. done reports whether it finished
// in time, err how it went.
func (w *webApp) syncSoon(wait time.Duration) (done bool, err error) {
	if !w.syncing.CompareAndSwap(false, true) {
		return false, nil
	}
	ch := make(chan error, 1)
	w.bg.Add(1)
	go func() {
		defer w.bg.Done()
		defer w.syncing.Store(false)
		ctx, cancel := context.WithTimeout(w.bgCtx, 2*time.Minute)
		defer cancel()
		_, err := w.agent.SyncOnce(ctx)
		ch <- err
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case err := <-ch:
		return true, err
	case <-t.C:
		return false, nil
	}
}

// POST /app/sync: sync now, waiting a few seconds at most.
func (w *webApp) syncNow(c *fiber.Ctx) error {
	form, err := formOf(c)
	if err != nil {
		return err
	}
	back := safeNext(form.Get("back"))
	done, serr := w.syncSoon(3 * time.Second)
	kind, msg := flashSuccess, "Synced: everything on this tablet is on the server."
	switch {
	case !done:
		kind, msg = flashInfo, "Sync is still running in the background; the badge will catch up."
	case serr != nil:
		kind, msg = flashError, "Could not sync: "+syncErrorText(serr)+" Your changes are safe on this tablet."
	default:
		// A good sync is a success. Changes the server set aside earlier
		// are not an error of this sync: they are said plainly, with where
		// to decide about them.
		st, err := w.agent.Status(c.UserContext())
		if err != nil {
			return err
		}
		if st.Pending > 0 {
			kind, msg = flashInfo, "Synced, but some changes made during the sync are still waiting: they go at the next sync."
		}
		if st.Rejected > 0 {
			if st.Pending == 0 {
				msg = "Synced: every change that could be sent is on the server."
			}
			msg += " " + plural(st.Rejected, "change was", "changes were") + " set aside by the server: " +
				map[bool]string{true: "it waits", false: "they wait"}[st.Rejected == 1] + " for you to decide what to do."
			w.flashWithLink(c, kind, msg, "/app/conflicts#set-aside", "See what was set aside")
			return redirect(c, back)
		}
	}
	w.flash(c, kind, msg)
	return redirect(c, back)
}

// syncErrorText says in a sentence why a sync or a sign-in failed.
func syncErrorText(err error) string {
	switch {
	case errors.Is(err, syncer.ErrSignedOut):
		return "the server signed this tablet out; sign in online again."
	case errors.Is(err, syncer.ErrDeviceRevoked):
		return "this tablet was revoked by an administrator."
	case errors.Is(err, syncer.ErrUpdateRequired):
		return "this app must be updated."
	case errors.Is(err, syncer.ErrNoServer):
		return "no server address is set on this tablet."
	case localapi.IsRemote(err):
		return "the server cannot be reached."
	}
	if e := schema.AsError(err); e != nil {
		return e.Message
	}
	return "something went wrong."
}

// ago says how long ago t was, in words.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	case d < 24*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	case d < 48*time.Hour:
		return "yesterday"
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

var templateFuncs = template.FuncMap{
	"maxPINFailures": func() int { return syncer.MaxPINFailures },
	"plural":         plural,
}
