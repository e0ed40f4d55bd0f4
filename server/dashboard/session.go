package dashboard

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// The dashboard's browser session is a JWT in a cookie (HttpOnly,
// SameSite=Strict, Path=/dashboard), signed HS256 with a key derived from
// the server's current token key for this one use (named by its kid, so
// a rotation signs nobody out), and with its own audience:
// an API access token is never a session and a session is never an access
// token. It carries the user, a CSRF token and a 12-hour expiry. Signing
// out records the session's id in the store until it would have expired
// anyway (serverdb.EndDashboardSession), so a restart forgets no sign-out
// and every server instance on the database refuses the session
// (docs/decisions/0037-several-instances.md).
const (
	dashCookie      = "doorstep_dash"
	dashPreCookie   = "doorstep_dash_pre" // double-submit token of the sign-in form
	dashAudience    = "doorstep-dashboard"
	dashSessionTTL  = 12 * time.Hour
	dashKeyPurpose  = "doorstep dashboard session v1"
	dashMaxFormBody = 4 << 10
)

type dashClaims struct {
	Role string `json:"role"`
	Team string `json:"team,omitempty"`
	CSRF string `json:"csrf"`
	jwt.RegisteredClaims
}

// dashSession is the signed-in browser of a request.
type dashSession struct {
	id   string
	user schema.User
	csrf string
	exp  time.Time
}

func (d *dashSession) actor() serverdb.Actor { return serverdb.ActorOf(d.user, "") }

func dashSessionOf(c *fiber.Ctx) *dashSession {
	s, _ := c.Locals("dash").(*dashSession)
	return s
}

// dashReader reports whether role may use the dashboard.
func dashReader(r schema.Role) bool {
	return r == schema.RoleSupervisor || r == schema.RoleAdmin || r == schema.RoleAuditor
}

// dashAuth admits a request with a valid session cookie of a user who may
// still use the dashboard, and checks the CSRF token of every POST. A
// request without a session goes to the sign-in page.
func (s *site) dashAuth(c *fiber.Ctx) error {
	tok := c.Cookies(dashCookie)
	var cl dashClaims
	_, err := jwt.ParseWithClaims(tok, &cl, s.srv.TokenKeyfunc(dashKeyPurpose),
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(server.TokenIssuer), jwt.WithAudience(dashAudience),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	valid := tok != "" && err == nil && cl.ID != ""
	if valid {
		ended, err := s.db.DashboardSessionEnded(c.UserContext(), cl.ID)
		if err != nil {
			return err
		}
		valid = !ended
	}
	if !valid {
		if c.Method() == fiber.MethodGet {
			q := url.Values{"next": {c.OriginalURL()}}
			if tok != "" {
				q.Set("expired", "1")
			}
			return c.Redirect(dashPrefix+"/signin?"+q.Encode(), fiber.StatusSeeOther)
		}
		return c.Redirect(dashPrefix+"/signin", fiber.StatusSeeOther)
	}
	u, err := s.db.UserByID(c.UserContext(), cl.Subject)
	if err != nil || u.Disabled || !dashReader(u.Role) || string(u.Role) != cl.Role || u.TeamID != cl.Team {
		// Deleted, disabled, or the role or team changed since: sign in again.
		c.ClearCookie(dashCookie)
		return c.Redirect(dashPrefix+"/signin", fiber.StatusSeeOther)
	}
	sess := &dashSession{id: cl.ID, user: u, csrf: cl.CSRF, exp: cl.ExpiresAt.Time}
	if err := webui.CheckCSRF(c, sess.csrf, "", dashMaxFormBody); err != nil {
		return err
	}
	c.Locals("dash", sess)
	return c.Next()
}

func dashForm(c *fiber.Ctx) (url.Values, error) { return webui.Form(c, dashMaxFormBody) }

// dashNext returns p when it is a dashboard page, else the overview: the
// "next" parameter must not send anyone elsewhere.
func dashNext(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.Contains(p, "//") || strings.Contains(p, `\`) ||
		!(u.Path == dashPrefix || strings.HasPrefix(u.Path, dashPrefix+"/")) ||
		strings.HasPrefix(u.Path, dashPrefix+"/sign") || strings.HasPrefix(u.Path, dashPrefix+"/static/") || strings.Contains(u.Path, "..") {
		return dashPrefix + "/"
	}
	return u.RequestURI()
}

type dashSignInData struct {
	Pre, Next, Username string
	Error, ErrorField   string
	Notice              string
}

// GET /dashboard/signin.
func (s *site) dashSignInPage(c *fiber.Ctx) error {
	d := dashSignInData{Next: dashNext(c.Query("next"))}
	if c.Query("expired") != "" {
		d.Notice = "Your session has ended. Sign in again to carry on."
	}
	if c.Query("out") != "" {
		d.Notice = "You have signed out."
	}
	return s.dashSignInRender(c, fiber.StatusOK, d)
}

func (s *site) dashSignInRender(c *fiber.Ctx, status int, d dashSignInData) error {
	d.Pre = webui.Token()
	c.Cookie(&fiber.Cookie{Name: dashPreCookie, Value: d.Pre, Path: dashPrefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: c.Protocol() == "https"})
	return s.dashRender(c, status, "signin", dashView{Title: "Sign in", Data: d})
}

// POST /dashboard/signin: the API's passwords and the API's login rate
// limit; officers are sent to their tablet.
func (s *site) dashSignIn(c *fiber.Ctx) error {
	form, err := dashForm(c)
	if err != nil {
		return err
	}
	if err := webui.CheckSignIn(form, c.Cookies(dashPreCookie)); err != nil {
		return err
	}
	username, password := strings.TrimSpace(form.Get("username")), form.Get("password")
	d := dashSignInData{Next: dashNext(form.Get("next")), Username: username}
	switch {
	case username == "":
		d.Error, d.ErrorField = "Enter your username.", "username"
	case password == "":
		d.Error, d.ErrorField = "Enter your password.", "password"
	case len(username) > 100 || len(password) > 200:
		d.Error, d.ErrorField = "The username or password is too long.", "username"
	case strings.IndexByte(username, 0) >= 0:
		d.Error, d.ErrorField = "The username holds a NUL character, which no username holds.", "username"
	}
	if d.Error != "" {
		return s.dashSignInRender(c, fiber.StatusUnprocessableEntity, d)
	}
	u, th, err := s.srv.SignIn(c, username, password, "", "dashboard")
	switch code := schema.ErrorCode(err); {
	case err == nil:
	case code == schema.ECodeRateLimited:
		// The password was not checked: say so, and when to try.
		d.Error, d.ErrorField = "Too many failed sign-ins. Wait "+serverdb.HumanWait(th.Wait)+", then try again.", "username"
		return s.dashSignInRender(c, fiber.StatusTooManyRequests, d)
	case code == schema.ECodeUnauthorized:
		d.Error, d.ErrorField = "The username or password is not right. Check them and try again.", "password"
		switch {
		case th.Wait > 0:
			d.Notice = "Wait " + serverdb.HumanWait(th.Wait) + " before the next try."
		case th.Advice() != "":
			d.Notice = "Careful: " + th.Advice() + "."
		}
		return s.dashSignInRender(c, fiber.StatusUnauthorized, d)
	default:
		return err
	}
	if !dashReader(u.Role) {
		d.Error, d.ErrorField = "The dashboard is for supervisors, admins and auditors. Officers use the Doorstep app on their tablet.", "username"
		return s.dashSignInRender(c, fiber.StatusForbidden, d)
	}
	tok, err := s.dashSessionToken(u)
	if err != nil {
		return err
	}
	if err := s.srv.AuditSignIn(c.UserContext(), "sign_in", "dashboard", u.ID, "", username, c.IP()); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: dashCookie, Value: tok, Path: dashPrefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		// Max-Age, not Expires: the browser's clock need not agree with ours.
		Secure: c.Protocol() == "https", MaxAge: int(dashSessionTTL / time.Second)})
	c.ClearCookie(dashPreCookie)
	return c.Redirect(d.Next, fiber.StatusSeeOther)
}

// dashSessionToken makes the session cookie's value for u.
func (s *site) dashSessionToken(u schema.User) (string, error) {
	now := s.now()
	cl := dashClaims{Role: string(u.Role), Team: u.TeamID, CSRF: webui.Token(), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: server.TokenIssuer, Subject: u.ID, Audience: jwt.ClaimStrings{dashAudience}, ID: webui.Token(),
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(dashSessionTTL)),
	}}
	return s.srv.SignToken(dashKeyPurpose, cl)
}

// POST /dashboard/signout.
func (s *site) dashSignOut(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	if sess == nil {
		return errors.New("sign out without a session")
	}
	if err := s.db.EndDashboardSession(c.UserContext(), sess.id, sess.exp); err != nil {
		return err
	}
	c.Cookie(&fiber.Cookie{Name: dashCookie, Value: "", Path: dashPrefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Expires: time.Unix(0, 0), MaxAge: -1})
	return c.Redirect(dashPrefix+"/signin?out=1", fiber.StatusSeeOther)
}
