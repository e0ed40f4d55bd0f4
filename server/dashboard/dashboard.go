// Package dashboard is the supervisors' dashboard: server-rendered HTML
// pages (html/template) under /dashboard/, for supervisors, admins and
// auditors in a browser, mounted on the API server's app (Mount, with
// server.Config.Mount). Everything it needs (templates and one stylesheet)
// is embedded; there is no script and no request to anywhere but this
// server. The figures come from package compliance over the records in the
// actor's scope, loaded by the same compliance.Service as the JSON API's;
// docs/supervisor.md shows the pages.
//
// Files: dashboard.go (routes, rendering, error pages), session.go (cookie
// sign-in, CSRF), filters.go (the filter query), table.go (sortable tables
// and their CSV), chart.go (SVG charts), panel.go (the registry of measure
// panels) and one panel_*.go per measure, pages.go (overview, measure,
// officer, overdue, print pages), case.go (case and visit pages),
// review.go (the review queue and its decision forms), periods.go
// (published periods and the overview's form to publish). The scaffolding it
// shares with the officer's app (templates over a layout, static files,
// security headers, tokens and the CSRF check) is doorstep/internal/webui.
package dashboard

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

//go:embed web
var dashFS embed.FS

// dashPrefix is where the dashboard lives.
const dashPrefix = "/dashboard"

// site is the dashboard mounted on one server: what it reads through,
// the parsed templates and the static files. Its sessions are signed
// cookies and its sign-outs are in the store (session.go): nothing of them
// is in this process's memory.
type site struct {
	srv  *server.Server
	db   *serverdb.DB
	comp *compliance.Service
	log  *slog.Logger
	now  func() time.Time

	pages  *webui.Pages
	static *webui.Static
	counts reviewCounts // the menu's review count (review.go)
	before freshBefore  // measure 9's previous period (panel_freshness.go)
	trends weekTrends   // the trends of overdue visits and the next 4 weeks (panel.go)
}

func newSite(srv *server.Server) *site {
	return &site{srv: srv, db: srv.DB(), comp: srv.Compliance(), log: srv.Logger(), now: srv.Now,
		pages: webui.MustParsePages(dashFS, "web/templates", dashFuncs,
			"signin", "overview", "measure", "officer", "case", "visit", "overdue", "print", "review", "review_item", "search", "periods", "period", "error"),
		static: webui.MustReadStatic(dashFS, "web/static")}
}

// Mount registers the dashboard's pages on srv's app; it is meant for
// server.Config.Mount, so that they come before the API's final answer to
// an unknown path. Each page answers its errors as HTML (dashPage), never
// as the API's JSON.
func Mount(srv *server.Server) {
	s := newSite(srv)
	app := srv.App()
	app.Get(dashPrefix+"/static/:name", s.static.Serve)
	g := app.Group(dashPrefix, webui.Headers(dashCSP), s.dashCSV)
	g.Get("/signin", s.dashPage(s.dashSignInPage))
	g.Post("/signin", s.dashPage(s.dashSignIn))
	g.Post("/signout", s.dashPage(s.dashAuth), s.dashPage(s.dashSignOut))
	a := g.Group("", s.dashPage(s.dashAuth))
	a.Get("/", s.dashPage(s.reportJob(s.dashOverview)))
	a.Get("/print", s.dashPage(s.reportJob(s.dashPrint)))
	a.Get("/overdue", s.dashPage(s.reportJob(s.dashOverdue)))
	a.Get("/measures/:slug", s.dashPage(s.reportJob(s.dashMeasure)))
	a.Get("/officers/:id", s.dashPage(s.reportJob(s.dashOfficer)))
	a.Get("/cases/:id", s.dashPage(s.reportJob(s.dashCase)))
	a.Post("/cases/:id/qa-rating", s.dashPage(s.dashQARate))
	a.Get("/visits/:id", s.dashPage(s.dashVisit))
	a.Get("/search", s.dashPage(s.dashSearch))
	a.Get("/review", s.dashPage(s.dashReview))
	a.Post("/review/approve", s.dashPage(s.dashReviewApprove))
	a.Get("/review/:kind/:id", s.dashPage(s.dashReviewItem))
	a.Post("/review/:kind/:id", s.dashPage(s.dashReviewDecide))
	a.Get("/periods", s.dashPage(s.dashPeriods))
	a.Post("/periods", s.dashPage(s.dashPublish))
	a.Get("/periods/:id", s.dashPage(s.reportJob(s.dashPeriod)))
	g.Use(s.dashPage(func(c *fiber.Ctx) error {
		return schema.Errorf(schema.ECodeNotFound, "", "there is no page %s", c.Path())
	}))
}

// dashCSP keeps the pages to this server: no script at all, styles and
// images from here only, no framing.
const dashCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// dashCSV turns ".../x.csv" into ".../x" with the csv flag set: every
// page's tables are downloadable at the page's address plus ".csv", with
// ?table= naming the table.
func (s *site) dashCSV(c *fiber.Ctx) error {
	if p, ok := strings.CutSuffix(c.Path(), ".csv"); ok {
		c.Locals("csv", true)
		if p == dashPrefix {
			p = dashPrefix + "/"
		}
		c.Path(p)
	}
	return c.Next()
}

func wantsCSV(c *fiber.Ctx) bool { b, _ := c.Locals("csv").(bool); return b }

// dashView is what every template gets: the layout's parts and the page's
// own data.
type dashView struct {
	Title   string
	User    *schema.User
	CSRF    string
	Filters *filters // nil on pages without the filter bar
	Crumbs  []crumb
	Print   bool
	Here    string // this page's path, the filter form's action
	NoBar   bool   // Filters kept in links, but no filter bar
	Flash   string // what the last form did (a cookie, shown once)
	Queue   int    // the review queue's count, for the menu
	Search  string // the search box's text (the search page's query)
	Data    any
}

type crumb struct{ Label, Href string }

func (s *site) dashRender(c *fiber.Ctx, status int, name string, v dashView) error {
	if sess := dashSessionOf(c); sess != nil {
		v.User, v.CSRF = &sess.user, sess.csrf
		n, err := s.reviewCount(c, sess.actor())
		if err != nil { // the menu goes without its count; the page is still shown
			s.log.Error("dashboard: count the review queue", "err", err)
			n = -1
		}
		v.Queue = n
		v.Flash = takeFlash(c)
	}
	if v.Here == "" {
		v.Here = c.Path()
	}
	if err := s.pages.Render(c, status, name, v); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// reportJob runs h, a page computed in Go from the records, holding one
// of the compliance service's jobs (compliance.Service.Job): a page
// waits its turn, and one that waited in vain is a "busy" page.
func (s *site) reportJob(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		release, err := s.srv.ReportJob(c)
		if err != nil {
			return err
		}
		defer release()
		return h(c)
	}
}

// dashPage answers a handler's error as an HTML page.
func (s *site) dashPage(h fiber.Handler) fiber.Handler { return webui.WithErrorPage(h, s.dashError) }

type dashErrorData struct {
	Heading, Message, Field string
	// Choices are pages to go to instead (chooseTeam's teams).
	Choices []choice
}

// choice is a link offered on the error page.
type choice struct{ Label, Href string }

func (s *site) dashError(c *fiber.Ctx, err error) error {
	status, d := fiber.StatusInternalServerError, dashErrorData{}
	switch e := schema.AsError(err); {
	case e != nil && (e.Code == schema.ECodeNotFound || e.Code == schema.ECodeOutOfScope):
		status, d.Heading, d.Message = fiber.StatusNotFound, "Not found", "There is no such page, or the record is not in your team's cases."
	case webui.IsCSRF(err):
		status, d.Heading, d.Message = fiber.StatusForbidden, "This form has expired", "The form was out of date or did not come from this dashboard, so nothing was done. Go back, reload the page and try again."
	case e != nil && e.Code == schema.ECodeUnauthorized:
		return c.Redirect(dashPrefix+"/signin", fiber.StatusSeeOther)
	case e != nil && e.Code == schema.ECodeBusy:
		status, d.Heading = fiber.StatusServiceUnavailable, "The server is busy"
		d.Message = fmt.Sprintf("The server is computing as many reports as it may at once. Try again in %d seconds.", int(compliance.BusyRetryAfter/time.Second))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(compliance.BusyRetryAfter/time.Second)))
	case e != nil && schema.HTTPStatus(e.Code) != 0 && schema.HTTPStatus(e.Code) < 500:
		status, d.Heading, d.Message, d.Field = schema.HTTPStatus(e.Code), "That could not be shown", e.Message, e.Field
		if status == fiber.StatusBadRequest && e.Field != "" {
			d.Heading = "The filter “" + e.Field + "” is not right"
		}
		var ct *chooseTeam
		if errors.As(err, &ct) {
			d.Heading = "Choose a team"
			d.Message = ct.message()
			d.Choices = ct.choices()
		}
	default:
		rid, _ := c.Locals("rid").(string)
		s.log.Error("dashboard: internal error", "request_id", rid, "method", c.Method(), "path", c.Path(), "err", err)
		d.Heading, d.Message = "Something went wrong", "Something went wrong on the server (reference "+rid+"). Try again; if it happens again, give the reference to an administrator."
	}
	if sess := dashSessionOf(c); sess != nil {
		code := ""
		if e := schema.AsError(err); e != nil {
			code = e.Code
		}
		s.srv.AuditRefusal(c, sess.actor(), status, code)
	}
	c.Response().Header.Del("Content-Disposition")
	if rerr := s.dashRender(c, status, "error", dashView{Title: d.Heading, Data: d}); rerr != nil {
		s.log.Error("dashboard: render error page", "err", rerr)
		return c.Status(status).SendString(d.Heading + ": " + d.Message)
	}
	return nil
}

var dashFuncs = template.FuncMap{
	"pct": func(p *float64) string {
		if p == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", *p)
	},
	"label":    label,
	"rag":      ragWords,
	"target":   targetText,
	"previous": previousText,
	"day":      ukDate,
}

// label turns a snake_case code into words: "da_perpetrator" → "da perpetrator".
func label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return strings.ReplaceAll(code, "_", " ")
}

var labels = map[string]string{
	"very_high": "very high", "da_perpetrator": "domestic abuse (perpetrator)", "da_victim": "domestic abuse (victim)",
	"child_concerns": "child concerns", "child_protection": "child protection", "risk_to_children": "risk to children",
	"marac": "MARAC", "restraining_order": "restraining order", "risk_to_staff": "risk to staff",
	"not_approved": "not approved", "keep_server": "keep the server's value", "apply_losing": "apply the change that lost",
	"safety_assessment": "safety assessment", "household_member": "household member",
	"home_announced": "home visit (announced)", "home_unannounced": "home visit (unannounced)", "initial_home": "initial home visit",
	"other_place": "other place", "childrens_services": "children's services",
	// The stored values whose words are not the code with spaces.
	"step_child": "step-child", "ex_partner": "ex-partner", "pre_sentence": "pre-sentence",
	"known_to_childrens_services": "known to children's services", "not_known_to_childrens_services": "not known to children's services",
	"da_information_found": "domestic-abuse information found", "no_information": "no information found",
	"post_sentence_supervision": "post-sentence supervision", "childrens_services_referral": "children's services referral",
	"marac_referral": "MARAC referral", "abandoned_safety": "abandoned for safety", "suitable_not_ready": "suitable, not ready",
	"da_risk_assessment": "domestic-abuse risk assessment", "on_programme": "on the programme", "new_adult_present": "a new adult present",
	"child_not_on_record":      "a child not on record",
	"child_unaccounted_for":    "a child left unaccounted for (always queued)",
	"device_signature_invalid": "the tablet's signature does not verify (always queued)",
}
