package dashboard

import (
	"context"
	"crypto/ed25519"
	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// browser is a cookie-keeping HTTP client of the dashboard, which does
// not follow redirects (the tests look at them).
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

type page struct {
	status int
	header http.Header
	body   string
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	res, err := b.c.Get(b.e.url + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	return b.read(res)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	res, err := b.c.PostForm(b.e.url+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(res)
}

func (b *browser) read(res *http.Response) page {
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := page{status: res.StatusCode, header: res.Header, body: string(body)}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

var (
	csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	preRE  = regexp.MustCompile(`name="_pre" value="([^"]+)"`)
)

// signIn fills the sign-in form as a person would.
func (b *browser) signIn(username, password string) page {
	b.t.Helper()
	p := b.get("/dashboard/signin")
	m := preRE.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		b.t.Fatalf("sign-in page: %d %s", p.status, p.body)
	}
	return b.post("/dashboard/signin", url.Values{"_pre": {m[1]}, "username": {username}, "password": {password}, "next": {"/dashboard/"}})
}

// signedIn is a browser signed in as username.
func (e *env) signedIn(t *testing.T, username string) *browser {
	t.Helper()
	b := e.browser(t)
	if p := b.signIn(username, pw); p.status != 303 || p.header.Get("Location") != "/dashboard/" {
		t.Fatalf("sign in as %s: %d %s %s", username, p.status, p.header.Get("Location"), p.body)
	}
	return b
}

func mustStatus(t *testing.T, what string, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.status, status, p.body)
	}
}

const period = "from=2026-09-01&to=2026-10-31"

func TestDashboardSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	p := b.get("/dashboard/")
	if p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("signed out: %d %s, want a redirect to the sign-in page", p.status, p.header.Get("Location"))
	}
	// A bad password: the page says so, and no session.
	p = b.signIn("sue", "wrong password")
	mustStatus(t, "bad password", p, 401)
	if !strings.Contains(p.body, "username or password is not right") {
		t.Errorf("bad password page does not say so:\n%s", p.body)
	}
	// An officer is sent to the tablet.
	p = b.signIn("asha", pw)
	mustStatus(t, "officer", p, 403)
	if !strings.Contains(p.body, "Officers use the Doorstep app on their tablet") {
		t.Errorf("officer refusal does not say where to go:\n%s", p.body)
	}
	// The sign-in form without its token.
	p = b.post("/dashboard/signin", url.Values{"username": {"sue"}, "password": {pw}})
	mustStatus(t, "sign-in without its token", p, 403)
	if p = b.get("/dashboard/"); p.status != 303 {
		t.Fatalf("a refused sign-in made a session: %d", p.status)
	}

	p = b.signIn("sue", pw)
	if p.status != 303 || p.header.Get("Location") != "/dashboard/" {
		t.Fatalf("sign in: %d %s", p.status, p.header.Get("Location"))
	}
	cookie := ""
	for _, c := range p.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, dashCookie+"=") {
			cookie = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "path=/dashboard", "max-age=43200"} {
		if !strings.Contains(strings.ToLower(cookie), strings.ToLower(want)) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	p = b.get("/dashboard/")
	mustStatus(t, "dashboard", p, 200)
	for _, want := range []string{"Compliance dashboard", "Team A", "First home visit on time", "Overdue visits", "Contacts in the home", "Safeguarding enquiries answered", "<svg"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP = %q", csp)
	}
	if strings.Contains(p.body, "http://") || strings.Contains(p.body, "https://") {
		t.Errorf("the page refers to another site")
	}
	// The session cookie is no API token, and an API token is no session.
	u, _ := url.Parse(e.url + "/dashboard/")
	var sessionValue string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == dashCookie {
			sessionValue = c.Value
		}
	}
	if r := e.do("GET", "/v1/me", nil, bearer(sessionValue)); r.status != 401 {
		t.Errorf("the session cookie worked as an API token: %d", r.status)
	}
	// Sign-out needs the CSRF token.
	p = b.post("/dashboard/signout", url.Values{"_csrf": {"forged"}})
	mustStatus(t, "sign-out with a forged token", p, 403)
	mustStatus(t, "still signed in", b.get("/dashboard/"), 200)
	p = b.post("/dashboard/signout", url.Values{"_csrf": {b.csrf}})
	if p.status != 303 || !strings.Contains(p.header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("sign out: %d %s", p.status, p.header.Get("Location"))
	}
	if p = b.get("/dashboard/"); p.status != 303 {
		t.Errorf("signed out, but the dashboard answered %d", p.status)
	}
	// The old cookie, replayed, is refused too.
	old := e.browser(t)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: dashCookie, Value: sessionValue, Path: "/dashboard"}})
	if p = old.get("/dashboard/"); p.status != 303 {
		t.Errorf("a signed-out session replayed: %d", p.status)
	}
}

func TestDashboardSignInRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser(t)
	for i := 0; i < serverdb.FreeSignInFailures; i++ {
		mustStatus(t, "bad password", b.signIn("sue", "nope"), 401)
	}
	p := b.signIn("sue", pw)
	mustStatus(t, "after five failures", p, 429)
	if p.header.Get("Retry-After") != "30" || !strings.Contains(p.body, "Too many failed sign-ins. Wait 30 seconds, then try again.") {
		t.Errorf("rate limited page: %v\n%s", p.header, p.body)
	}
	// Each failure, the wait begun and the try refused are in the audit trail.
	failed, _ := e.srv.DB().AuditByAction(context.Background(), "sign_in_failed")
	locked, _ := e.srv.DB().AuditByAction(context.Background(), "sign_in_locked")
	throttled, _ := e.srv.DB().AuditByAction(context.Background(), "sign_in_throttled")
	if len(failed) != serverdb.FreeSignInFailures || len(throttled) != 1 || len(locked) != 1 || !strings.Contains(string(locked[0].Detail), `"via":"dashboard"`) {
		t.Errorf("audited %d failures, %d waits begun and %d tries refused, want %d, 1 and 1", len(failed), len(throttled), len(locked), serverdb.FreeSignInFailures)
	}
}

// TestDashboardAndAPIShareSignInCounts: the dashboard's sign-in and the
// API's login count failures in the one store, so a second server
// instance on the same data sees the first one's; the form warns before
// the last free tries and says how long to wait.
func TestDashboardAndAPIShareSignInCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	second, err := server.Open(t.Context(), server.Config{Addr: "127.0.0.1:0", DataDir: e.dataDir, DB: e.db, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close() })
	apiLogin := func(password string) resp {
		t.Helper()
		saved := e.url
		e.url = second.URL()
		defer func() { e.url = saved }()
		return e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "sue", Password: password, DeviceID: "d1"}, nil)
	}
	b := e.browser(t)
	for i, want := range []string{"", "", "Careful: 2 tries left before a wait.", "Careful: 1 try left before a wait.", "Wait 30 seconds before the next try."} {
		p := b.signIn("sue", "nope")
		mustStatus(t, "bad password", p, 401)
		if !strings.Contains(p.body, "The username or password is not right.") || want != "" && !strings.Contains(p.body, want) ||
			want == "" && strings.Contains(p.body, `id="notice"`) {
			t.Fatalf("failure %d: want notice %q in\n%s", i+1, want, p.body)
		}
	}
	if r := apiLogin(pw); r.status != 429 || r.header.Get("Retry-After") != "30" {
		t.Fatalf("the API of another instance after five failures on the dashboard: %d %s", r.status, r.body)
	}
	e.clock.Advance(30 * time.Second)
	if r := apiLogin("still not it"); r.status != 401 || r.header.Get("Retry-After") != "60" {
		t.Fatalf("a sixth failure, through the API: %d %v %s", r.status, r.header, r.body)
	}
	p := b.signIn("sue", pw)
	mustStatus(t, "the dashboard after a failure on the API", p, 429)
	if p.header.Get("Retry-After") != "60" || !strings.Contains(p.body, "Wait 1 minute, then try again.") {
		t.Errorf("rate limited page: %v\n%s", p.header, p.body)
	}
	e.clock.Advance(time.Minute)
	mustStatus(t, "the right password after the wait", b.signIn("sue", pw), 303)

	evs, err := e.srv.DB().AuditByAction(t.Context(), "sign_in_failed")
	if err != nil {
		t.Fatal(err)
	}
	var vias []string
	for _, ev := range evs {
		var d struct{ Via string }
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		vias = append(vias, d.Via)
	}
	if strings.Join(vias, ",") != "dashboard,dashboard,dashboard,dashboard,dashboard,api" {
		t.Errorf("sign_in_failed events came via %v", vias)
	}
}

// dashData is seedCompliance's dataset plus a café contact whose reason a
// spreadsheet would run as a formula, and an amended visit.
type dashData struct {
	*daSet
	cafe, amendedVisit string
	formula            string
}

func seedDashboard(t *testing.T, e *env) *dashData {
	t.Helper()
	d := &dashData{daSet: seedCompliance(t, e), formula: `=HYPERLINK("http://evil.example","click"), then "more"`}
	asha := e.users["asha"]
	d.cafe, d.amendedVisit = schema.NewID(), schema.NewID()
	cafe := schema.Visit{OfficerID: asha.ID, PlannedType: "other_place", Type: "other_place", Status: "signed", Outcome: "completed",
		Location: "elsewhere", PlaceType: "cafe", ElsewhereReason: d.formula, FaceToFace: true,
		StartedAt: "2026-10-20T10:00:00+01:00", EndedAt: "2026-10-20T10:30:00+01:00", PersonSeen: "yes",
		PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: "2026-10-20T11:00:00+01:00", SignedBy: asha.ID}
	// Signed as a phone call, corrected to a home visit by an amendment.
	call := schema.Visit{OfficerID: asha.ID, PlannedType: "home_announced", Type: "phone", Status: "signed", Outcome: "completed",
		FaceToFace: false, StartedAt: "2026-10-10T10:00:00+01:00", EndedAt: "2026-10-10T10:30:00+01:00", PersonSeen: "yes",
		PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: "2026-10-10T11:00:00+01:00", SignedBy: asha.ID}
	am := schema.Amendment{VisitID: d.amendedVisit, Reason: "recorded as a phone call by mistake", AmendedBy: asha.ID,
		AmendedAt: "2026-10-11T09:00:00+01:00", Changes: rawFields("type", "home_announced", "face_to_face", true, "location", "home")}
	recs := []schema.Record{
		{Entity: "visit", ID: d.cafe, CaseID: d.nonDA, Fields: schema.FieldsOf(cafe)},
		{Entity: "visit", ID: d.amendedVisit, CaseID: d.onTime, Fields: schema.FieldsOf(call)},
		{Entity: "amendment", ID: schema.NewID(), CaseID: d.onTime, Fields: schema.FieldsOf(am)},
	}
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDashboardFiguresMatchTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDashboard(t, e)
	b := e.signedIn(t, "sue")
	p := b.get("/dashboard/?" + period)
	mustStatus(t, "dashboard", p, 200)
	tok := e.login("sue", "dev-sue").AccessToken
	var fhv compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?"+period, tok, &fhv)
	var od compliance.OverdueReport
	e.getJSON(t, "/v1/compliance/overdue?as_of=2026-10-31", tok, &od)
	var ct compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?"+period, tok, &ct)
	ft := fhv.Totals
	for _, want := range []string{
		fmt.Sprintf("%.1f%%", *ft.Percent) + "</span> <span class=\"figure-text\">" + itoaT(ft.Numerator.N) + " of " + itoaT(ft.Denominator.N) + " on time",
		"not yet due: <strong>" + itoaT(ft.NotYetDue.N) + "</strong>",
		"<span class=\"big\">" + itoaT(od.Totals.Requirements) + "</span>",
		itoaT(ct.Totals.HomeShare.Numerator.N) + " of " + itoaT(ct.Totals.HomeShare.Denominator.N) + " in the home",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if ft.Denominator.N == 0 || od.Totals.Requirements == 0 {
		t.Fatalf("the dataset should give figures: %+v %+v", ft, od.Totals)
	}
	// The measure page lists exactly the API's cases.
	csvRows := b.csv("/dashboard/measures/first-home-visits.csv?" + period)
	if len(csvRows)-1 != len(fhv.Cases) {
		t.Errorf("CSV has %d cases, the API %d", len(csvRows)-1, len(fhv.Cases))
	}
}

func itoaT(n int) string { return strconv.Itoa(n) }

// csv downloads path and parses it.
func (b *browser) csv(path string) [][]string {
	b.t.Helper()
	p := b.get(path)
	mustStatus(b.t, path, p, 200)
	if ct := p.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		b.t.Errorf("%s: Content-Type %q", path, ct)
	}
	if cd := p.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.csv"`) {
		b.t.Errorf("%s: Content-Disposition %q", path, cd)
	}
	rows, err := csv.NewReader(strings.NewReader(p.body)).ReadAll()
	if err != nil {
		b.t.Fatalf("%s: not CSV: %v\n%s", path, err, p.body)
	}
	return rows
}

func TestDashboardScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedDashboard(t, e)
	sue := e.signedIn(t, "sue")
	mustStatus(t, "own team's case", sue.get("/dashboard/cases/"+d.onTime), 200)
	// d.reassigned is team B's now: as if it did not exist.
	for _, path := range []string{"/dashboard/cases/" + d.reassigned, "/dashboard/cases/" + d.reassigned + ".csv?table=visits",
		"/dashboard/officers/" + e.users["carl"].ID, "/dashboard/cases/no-such-case"} {
		p := sue.get(path)
		mustStatus(t, "team B's "+path, p, 404)
		if !strings.Contains(p.body, "not in your team") || strings.Contains(p.body, "D00") {
			t.Errorf("%s: 404 page says too much or too little:\n%s", path, p.body)
		}
	}
	p := sue.get("/dashboard/?team=" + e.teamB.ID)
	mustStatus(t, "a supervisor asking for another team", p, 400)
	// Nothing of team B on the overview or in its CSV.
	p = sue.get("/dashboard/measures/first-home-visits?" + period)
	if strings.Contains(p.body, d.reassigned) || strings.Contains(p.body, "carl") {
		t.Errorf("team B's case or officer on team A's measure page")
	}
	bea := e.signedIn(t, "bea")
	mustStatus(t, "team B's supervisor, team A's case", bea.get("/dashboard/cases/"+d.onTime), 404)
	mustStatus(t, "team B's supervisor, own case", bea.get("/dashboard/cases/"+d.reassigned), 200)
	// An admin sees every team and chooses one.
	root := e.signedIn(t, "root")
	p = root.get("/dashboard/?" + period)
	mustStatus(t, "admin", p, 200)
	if !strings.Contains(p.body, `id="f-team"`) || !strings.Contains(p.body, "All teams") {
		t.Errorf("admin has no team chooser")
	}
	mustStatus(t, "admin, team B's case", root.get("/dashboard/cases/"+d.reassigned), 200)
	p = root.get("/dashboard/?team=" + e.teamB.ID + "&" + period)
	if !strings.Contains(p.body, `<span class="sub" id="scope">Team B</span>`) {
		t.Errorf("admin's team B view is not headed Team B")
	}
	mustStatus(t, "auditor", e.signedIn(t, "audrey").get("/dashboard/cases/"+d.onTime), 200)
}

func TestDashboardSortAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedDashboard(t, e)
	b := e.signedIn(t, "sue")
	order := func(path string) []string {
		p := b.get(path)
		mustStatus(t, path, p, 200)
		var out []string
		for _, m := range regexp.MustCompile(`<td class="">\s*<a href="/dashboard/cases/[^"]+">(D\d{6})</a>`).FindAllStringSubmatch(p.body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	asc := order("/dashboard/measures/first-home-visits?" + period + "&sort=cases.crn&dir=asc")
	desc := order("/dashboard/measures/first-home-visits?" + period + "&sort=cases.crn&dir=desc")
	if len(asc) < 3 || !slices.IsSorted(asc) {
		t.Errorf("ascending CRNs = %v", asc)
	}
	rev := slices.Clone(desc)
	slices.Reverse(rev)
	if !slices.Equal(rev, asc) {
		t.Errorf("descending %v is not ascending %v reversed", desc, asc)
	}
	p := b.get("/dashboard/measures/first-home-visits?" + period + "&sort=cases.crn&dir=desc")
	if !strings.Contains(p.body, `aria-sort="descending"`) || !strings.Contains(p.body, `aria-sort="none"`) {
		t.Errorf("no aria-sort on the sorted table")
	}
	// The header link flips the order and keeps the filters.
	if !strings.Contains(p.body, `href="/dashboard/measures/first-home-visits?dir=asc&amp;from=2026-09-01&amp;sort=cases.crn&amp;to=2026-10-31#cases"`) {
		t.Errorf("the sorted column's link does not flip the order with the filters kept")
	}
	// Numbers sort as numbers.
	rows := b.csv("/dashboard/measures/overdue.csv?" + period + "&sort=overdue.days&dir=desc")
	var days []int
	for _, r := range rows[1:] {
		n, _ := strconv.Atoi(r[7])
		days = append(days, n)
	}
	if len(days) < 2 || !slices.IsSortedFunc(days, func(a, b int) int { return b - a }) {
		t.Errorf("days overdue, descending = %v", days)
	}
	// The CSV has the same rows as the page, in the same order.
	rows = b.csv("/dashboard/measures/first-home-visits.csv?" + period + "&sort=cases.crn&dir=desc")
	if rows[0][0] != "CRN" || rows[0][5] != "Outcome" {
		t.Errorf("CSV header = %v", rows[0])
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
	}
	if !slices.Equal(got, desc) {
		t.Errorf("CSV CRNs %v, page %v", got, desc)
	}
	// Escaping: commas and quotes survive, a formula is defused.
	rows = b.csv("/dashboard/measures/contacts.csv?" + period)
	found := false
	for _, r := range rows {
		if r[len(r)-1] == "'"+d.formula {
			found = true
		}
		for _, c := range r {
			if strings.HasPrefix(c, "=") || strings.HasPrefix(c, "@") || strings.HasPrefix(c, "+") {
				t.Errorf("CSV cell %q would run as a formula", c)
			}
		}
	}
	if !found {
		t.Errorf("the café reason is not in the CSV as '%s:\n%v", d.formula, rows)
	}
	// The officers table of the overview and each case table have one.
	rows = b.csv("/dashboard/.csv?" + period + "&table=officers")
	if len(rows) != 3 || rows[1][0] != "asha" || rows[2][0] != "ben" {
		t.Errorf("officers CSV = %v", rows)
	}
	rows = b.csv("/dashboard/cases/" + d.onTime + ".csv?table=visits")
	if len(rows) != 3 {
		t.Errorf("case visits CSV = %v", rows)
	}
	mustStatus(t, "unknown table", b.get("/dashboard/cases/"+d.onTime+".csv?table=nope"), 400)
}

func TestCSVSafe(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "plain": "plain", "-3": "-3", "+4.5": "+4.5", "-x": "'-x", "=1+1": "'=1+1", "@SUM(A1)": "'@SUM(A1)",
		"+cmd": "'+cmd", "\tx": "'\tx", "a=b": "a=b",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDashboardBadFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signedIn(t, "sue")
	for _, c := range []struct{ query, field string }{
		{"risk=extreme", "risk"}, {"flag=purple", "flag"}, {"from=2026-13-01", "from"}, {"to=yesterday", "to"},
		{"from=2026-10-01&to=2026-09-01", "from"}, {"from=2024-01-01&to=2026-01-01", "from"}, {"dir=up", "dir"},
		{"sort=officers.shoe_size", "sort"}, {"officer=" + strings.Repeat("x", 65), "officer"},
	} {
		before := e.counts()
		p := b.get("/dashboard/?" + c.query)
		mustStatus(t, c.query, p, 400)
		if !strings.Contains(p.body, `The filter “`+c.field+`” is not right`) || !strings.Contains(p.body, `<code id="error-field">`+c.field+`</code>`) {
			t.Errorf("%s: the 400 page does not name %s:\n%s", c.query, c.field, p.body)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s: a refused request changed %+v to %+v", c.query, before, after)
		}
	}
}

// auditViews returns the dashboard's view events of user, oldest first:
// each one's detail, with the case it names (if one) as "case_id".
func auditViews(t *testing.T, e *env, user string) []map[string]any {
	t.Helper()
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, ev := range evs {
		if ev.UserID != e.users[user].ID {
			continue
		}
		var d map[string]any
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			t.Fatal(err)
		}
		if _, listed := d["cases"]; listed {
			t.Fatalf("view event %s lists cases; want the query and case_count", ev.Detail)
		}
		d["case_id"] = ev.CaseID
		out = append(out, d)
	}
	return out
}

func TestDashboardAuditsCaseAndVisitViews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedDashboard(t, e)
	for _, who := range []string{"sue", "root"} {
		b := e.signedIn(t, who)
		before := len(auditViews(t, e, who))
		mustStatus(t, "case", b.get("/dashboard/cases/"+d.onTime), 200)
		mustStatus(t, "visit", b.get("/dashboard/visits/"+d.amendedVisit), 200)
		evs := auditViews(t, e, who)[before:]
		if len(evs) != 2 {
			t.Fatalf("%s: %d view events, want 2: %v", who, len(evs), evs)
		}
		for i, want := range []string{"dashboard/case", "dashboard/visit"} {
			if evs[i]["view"] != want || evs[i]["case_id"] != d.onTime {
				t.Errorf("%s: event %d = %v, want view %s of case %s", who, i, evs[i], want, d.onTime)
			}
		}
		if params, _ := evs[1]["params"].(map[string]any); params["visit_id"] != d.amendedVisit {
			t.Errorf("visit view's params = %v", evs[1]["params"])
		}
	}
	// A refused view (another team's case) changes nothing, and leaves a
	// "refused" event naming what was asked for.
	sue := e.signedIn(t, "sue")
	before := e.counts()
	mustStatus(t, "team B's case", sue.get("/dashboard/cases/"+d.reassigned), 404)
	if after := e.counts(); after != before {
		t.Errorf("a refused case view changed %+v to %+v", before, after)
	}
	refused, err := e.srv.DB().AuditByAction(context.Background(), "refused")
	if err != nil || len(refused) != 1 || refused[0].UserID != e.users["sue"].ID || !strings.Contains(string(refused[0].Detail), d.reassigned) {
		t.Errorf("refused events: %+v %v; want sue's one", refused, err)
	}
}

func TestDashboardVisitShowsSignedAndAmended(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedDashboard(t, e)
	b := e.signedIn(t, "sue")
	p := b.get("/dashboard/visits/" + d.amendedVisit)
	mustStatus(t, "visit", p, 200)
	for _, want := range []string{
		"<td class=\"\">Type</td><td class=\"\">phone</td><td class=\"\">home visit (announced)</td><td class=\"amended\">amended</td>",
		"recorded as a phone call by mistake", "Type: home visit (announced)",
		"<td class=\"\">Face to face</td><td class=\"\">no</td><td class=\"\">yes</td>",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("visit page lacks %q", want)
		}
	}
	p = b.get("/dashboard/cases/" + d.onTime)
	for _, want := range []string{"Visits the policy requires", "Visits and contacts", "Household", "Safeguarding enquiries",
		"Intervention needs and referrals", "Safety assessments", "domestic abuse (perpetrator)", "/dashboard/visits/" + d.amendedVisit} {
		if !strings.Contains(p.body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
}

func TestDashboardPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDashboard(t, e)
	b := e.signedIn(t, "sue")
	for path, want := range map[string]string{
		"/dashboard/print?" + period:                                                "Supervision meeting: Team A",
		"/dashboard/overdue?" + period:                                              "Overdue visits, most overdue first",
		"/dashboard/officers/" + e.users["asha"].ID:                                 "Caseload",
		"/dashboard/measures/enquiries?" + period:                                   "Police: days to answer",
		"/dashboard/measures/contacts?" + period + "&risk=high&flag=da_perpetrator": "Contacts in the period",
	} {
		p := b.get(path)
		mustStatus(t, path, p, 200)
		if !strings.Contains(p.body, want) {
			t.Errorf("%s lacks %q", path, want)
		}
	}
	mustStatus(t, "no such measure", b.get("/dashboard/measures/nope"), 404)
	mustStatus(t, "no such page", b.get("/dashboard/nope"), 404)
	// Filters are kept across links.
	p := b.get("/dashboard/?" + period + "&risk=high")
	asha := e.users["asha"].ID
	if !strings.Contains(p.body, "/dashboard/officers/"+asha+"?from=2026-09-01&amp;officer="+asha+"&amp;risk=high&amp;to=2026-10-31") {
		t.Errorf("the officer link drops the filters")
	}
	// On an officer's page, the filter bar's officer goes where it says.
	p = b.get("/dashboard/officers/" + asha + "?" + period + "&officer=" + e.users["ben"].ID)
	if p.status != 303 || p.header.Get("Location") != "/dashboard/officers/"+e.users["ben"].ID+"?from=2026-09-01&officer="+e.users["ben"].ID+"&to=2026-10-31" {
		t.Errorf("another officer chosen: %d %s", p.status, p.header.Get("Location"))
	}
	p = b.get("/dashboard/officers/" + asha + "?" + period + "&officer=")
	if p.status != 303 || p.header.Get("Location") != "/dashboard/?from=2026-09-01&to=2026-10-31" {
		t.Errorf("all officers chosen: %d %s", p.status, p.header.Get("Location"))
	}
	// A case that passes no filter is not on the filtered measure page.
	p = b.get("/dashboard/measures/first-home-visits?" + period + "&risk=low")
	if strings.Contains(p.body, ">D000001<") {
		t.Errorf("a high-RoSH case on the low-RoSH page")
	}
}

// synthServer is a server over a synthetic team (invented people), its
// clock at synth.DefaultNow, and its supervisor.
func synthServer(tb testing.TB, o synth.Options) (*server.Server, schema.User) {
	tb.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow)
	srv, err := server.Open(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(tb.TempDir(), "data"), DB: serverdbtest.ConfigDB(tb), Now: clock.Now, Mount: Mount})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	ds := synth.Generate(o)
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	db := srv.DB()
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, admin, tm); err != nil {
			tb.Fatal(err)
		}
	}
	var sup schema.User
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, admin, u, pw); err != nil {
			tb.Fatal(err)
		}
		if u.Role == schema.RoleSupervisor && sup.ID == "" {
			sup = u
		}
	}
	if err := db.Seed(ctx, admin, ds.Records); err != nil {
		tb.Fatal(err)
	}
	return srv, sup
}

// BenchmarkDashboardRender renders the overview (four panels, each with
// its weekly trend over a 90-day period) for a supervisor of a 10-officer
// team with 500 cases and two years of history, through the handlers.
func BenchmarkDashboardRender(b *testing.B) {
	srv, sup := synthServer(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		b.Fatal(err)
	}
	get := benchGet(srv, tok)
	b.Logf("overview: %d bytes", get(b, "/dashboard/"))
	for _, c := range []struct{ name, path string }{
		{"overview", "/dashboard/"},
		{"measure", "/dashboard/measures/first-home-visits"},
		{"measure5", "/dashboard/measures/households"},
		{"overdue", "/dashboard/overdue"},
		{"freshness", "/dashboard/measures/freshness"},
		{"review", "/dashboard/review"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				get(b, c.path)
			}
			// The process's CPU time (user and system) per page: on a
			// shared machine the wall time follows the load, this less.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
	// The overview as the first page after a write: a new case before each
	// (not timed), so that nothing kept by change number is used.
	users, err := srv.DB().ListUsers(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	officer := users[slices.IndexFunc(users, func(u schema.User) bool { return u.Role == schema.RoleOfficer && u.TeamID == sup.TeamID })]
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	b.Run("overview-after-write", func(b *testing.B) {
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			id := schema.NewID()
			c := schema.Case{CRN: fmt.Sprintf("Y%06d", i), GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St, Quillbury, ZZ1 1AA",
				OfficerID: officer.ID, TeamID: officer.TeamID, SentenceType: "community_order", SupervisionStart: "2026-10-01", RoSH: "high"}
			if err := srv.DB().Seed(context.Background(), admin, []schema.Record{{Entity: "case", ID: id, CaseID: id, Fields: schema.FieldsOf(c)}}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			cpu0 := cpuTime()
			get(b, "/dashboard/")
			cpu += cpuTime() - cpu0
		}
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	})
}

// BenchmarkDashboardTeamInService is BenchmarkDashboardRender's overview
// for the supervisor of one 500-case team of a service of 20 such teams
// (10,000 cases): the store reads that team's cases only (case_scope_team,
// TestScopedReadsUseIndexes), so the page should cost what it costs in a
// one-team service. Seeding takes a minute or two: run it on its own,
// go test ./server/dashboard -run '^$' -bench DashboardTeamInService -benchtime 10x.
func BenchmarkDashboardTeamInService(b *testing.B) {
	srv, sup := synthServer(b, synth.Options{Teams: 20, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		b.Fatal(err)
	}
	// The first page reads what is kept by change number for the whole
	// service (the review count's visits, serverdb's reviewVisits): timed
	// apart, as BenchmarkDashboardRender leaves it out.
	get, t0, cpu0 := benchGet(srv, tok), time.Now(), cpuTime()
	get(b, "/dashboard/")
	b.Logf("first overview: %s, %d CPU ms", time.Since(t0).Round(time.Millisecond), (cpuTime() - cpu0).Milliseconds())
	for _, c := range []struct{ name, path string }{
		{"overview", "/dashboard/"},
		{"measure", "/dashboard/measures/first-home-visits"},
		{"overdue", "/dashboard/overdue"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				get(b, c.path)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// benchGet asks srv for a dashboard page with the session tok, wants a
// 200, and returns the body's size.
// dashGet is the body of GET path with the dashboard session tok; any
// status but 200 fails tb.
func dashGet(tb testing.TB, srv *server.Server, tok, path string) []byte {
	tb.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.AddCookie(&http.Cookie{Name: dashCookie, Value: tok})
	res, err := srv.App().Test(req, -1)
	if err != nil || res.StatusCode != 200 {
		tb.Fatalf("GET %s: %v %v", path, err, res.Status)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func benchGet(srv *server.Server, tok string) func(b *testing.B, path string) int {
	return func(b *testing.B, path string) int {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: dashCookie, Value: tok})
		res, err := srv.App().Test(req, -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("GET %s: %v %v", path, err, res.Status)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		return int(n)
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDisabledUser: an admin disables a supervisor (doorstep admin
// disable-user): the open dashboard session ends at its next request, the
// user's access and refresh tokens stop working, neither sign-in works, and the change
// is audited. Enabled again, they sign in again.
func TestDisabledUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	b := e.signedIn(t, "sue")
	mustStatus(t, "dashboard before", b.get("/dashboard/"), 200)
	tr := e.login("sue", "dev-sue")

	if _, err := e.srv.DB().SetUserDisabled(ctx, serverdb.Actor{UserID: "sue-id", Role: schema.RoleSupervisor}, "sue", true); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Fatalf("a supervisor disabled a user: %v", err)
	}
	if _, err := e.srv.DB().SetUserDisabled(ctx, e.admin, "nobody", true); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("disable an unknown user: %v, want not_found", err)
	}
	u, err := e.srv.DB().SetUserDisabled(ctx, e.admin, "sue", true)
	if err != nil || !u.Disabled {
		t.Fatalf("disable: %+v %v", u, err)
	}
	if p := b.get("/dashboard/"); p.status != 303 || !strings.HasPrefix(p.header.Get("Location"), "/dashboard/signin") {
		t.Fatalf("a disabled user's session still answered %d %s", p.status, p.header.Get("Location"))
	}
	if r := e.do("GET", "/v1/me", nil, bearer(tr.AccessToken)); r.status != 401 || !strings.Contains(string(r.body), "disabled") {
		t.Fatalf("a disabled user's access token still works: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "dev-sue"}, nil); r.status != 401 {
		t.Fatalf("a disabled user's refresh token: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "sue", Password: pw, DeviceID: "dev-sue"}, nil); r.status != 401 || !strings.Contains(string(r.body), "wrong username or password") {
		t.Fatalf("a disabled user's API sign-in: %d %s", r.status, r.body)
	}
	if p := e.browser(t).signIn("sue", pw); p.status == 303 {
		t.Fatal("a disabled user signed in to the dashboard")
	}
	events, err := e.srv.DB().AuditByAction(ctx, "disable_user")
	if err != nil || len(events) != 1 || events[0].RecordID != u.ID {
		t.Fatalf("audit of disable_user: %+v %v", events, err)
	}
	if _, err := e.srv.DB().SetUserDisabled(ctx, e.admin, "sue", false); err != nil {
		t.Fatal(err)
	}
	mustStatus(t, "dashboard after enabling and signing in again", e.signedIn(t, "sue").get("/dashboard/"), 200)
	if r := e.do("GET", "/v1/me", nil, bearer(e.login("sue", "dev-sue").AccessToken)); r.status != 200 {
		t.Fatalf("enabled again, a new access token: %d %s", r.status, r.body)
	}
}

// TestDashboardVisitWarnsOfChildrenNotAccountedFor is issue 9's defect 1 on
// the supervisor's visit page: a signed domestic-abuse visit that leaves a
// child of the household list unaccounted for is shown with a warning
// naming the child; a visit accounting for every child has none.
func TestDashboardVisitWarnsOfChildrenNotAccountedFor(t *testing.T) {
	e := newEnv(t)
	d := seedDashboard(t, e)
	asha := e.users["asha"]
	ava, ben := schema.NewID(), schema.NewID()
	partial, whole := schema.NewID(), schema.NewID()
	visit := func(children []schema.VisitChild) schema.Visit {
		return schema.Visit{OfficerID: asha.ID, Type: "home_unannounced", Status: "signed", Outcome: "completed", Location: "home",
			FaceToFace: true, StartedAt: "2026-10-22T10:00:00+01:00", PersonSeen: "yes", PartnerPresent: "no_partner",
			ChildrenPresent: "yes", Children: children, SignedAt: "2026-10-22T11:00:00+01:00", SignedBy: asha.ID}
	}
	recs := []schema.Record{
		{Entity: "household_member", ID: ava, CaseID: d.onTime, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "own_child", Residence: "lives_here", Name: "Ava Testchild", AddedOn: "2026-01-01"})},
		{Entity: "household_member", ID: ben, CaseID: d.onTime, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "step_child", Residence: "stays_sometimes", Name: "Ben Testchild", AddedOn: "2026-01-01"})},
		{Entity: "visit", ID: partial, CaseID: d.onTime, Fields: schema.FieldsOf(visit([]schema.VisitChild{{MemberID: ava, Present: "yes", Seen: "yes"}}))},
		{Entity: "visit", ID: whole, CaseID: d.onTime, Fields: schema.FieldsOf(visit([]schema.VisitChild{
			{MemberID: ava, Present: "yes", Seen: "yes"}, {MemberID: ben, Present: "no"}}))},
	}
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	b := e.signedIn(t, "sue")
	p := b.get("/dashboard/visits/" + partial)
	mustStatus(t, "visit", p, 200)
	for _, want := range []string{`id="visit-warnings"`, "Children not accounted for", "Ben Testchild (household member " + ben + ") is on the household list"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("visit page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Ava Testchild (household member") {
		t.Error("the visit page warns of a child the visit accounted for")
	}
	if p := b.get("/dashboard/visits/" + whole); strings.Contains(p.body, "visit-warnings") {
		t.Error("a visit accounting for every child is shown with a warning")
	}
	// The review queue names it too.
	if p := b.get("/dashboard/review?kind=visit"); !strings.Contains(p.body, "Ben Testchild (household member "+ben+") is on the household list") {
		t.Errorf("the review queue lacks the warning:\n%s", p.body)
	}
}

// The visit page says whether the tablet's signature holds: a visit signed
// on a tablet with its registered key verifies; one whose signature is by
// another key (a forgery) is shown as not holding, with the reason; one
// seeded through the API has no tablet signature.
func TestDashboardVisitShowsTheSignatureCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedDashboard(t, e)
	ctx := context.Background()
	db := e.srv.DB()
	asha := e.users["asha"]
	pub, key, _ := ed25519.GenerateKey(nil)
	if _, err := db.Login(ctx, asha, "dev-asha-key", serverdb.DeviceInfo{PublicKey: base64.StdEncoding.EncodeToString(pub)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	signed := func(k ed25519.PrivateKey) string {
		id := schema.NewID()
		v := schema.Visit{OfficerID: asha.ID, PlannedType: "home_announced", Type: "home_announced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: "2026-10-12T10:00:00+01:00", EndedAt: "2026-10-12T10:30:00+01:00", PersonSeen: "yes",
			PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: "2026-10-12T11:00:00+01:00", SignedBy: asha.ID}
		m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: id, CaseID: d.onTime, Fields: schema.FieldsOf(v),
			Clock: schema.HLC{Wall: e.clock.Now().UnixMilli(), Node: "dev-asha-key"}, DeviceTime: e.clock.Now()}
		hash, err := schema.ContentHash("visit", id, d.onTime, m.Fields, "")
		if err != nil {
			t.Fatal(err)
		}
		sig, err := schema.SignHash(k, hash)
		if err != nil {
			t.Fatal(err)
		}
		m.DeviceSignature = &schema.DeviceSignature{ContentHash: hash, Signature: sig}
		res, err := db.Push(ctx, serverdb.ActorOf(asha, "dev-asha-key"), []schema.Mutation{m})
		if err != nil || res[0].Status != schema.StatusApplied {
			t.Fatalf("push a signed visit: %+v, %v", res, err)
		}
		return id
	}
	good, forged := signed(key), signed(forger)
	b := e.signedIn(t, "sue")
	for _, c := range []struct{ id, want, not string }{
		{good, "The tablet&#39;s signature verifies against the device&#39;s registered key", "The signature does not hold"},
		{forged, "does not verify against the device&#39;s registered key", "The tablet&#39;s signature verifies"},
		{d.amendedVisit, "No tablet signature is kept for this visit", "The signature does not hold"},
	} {
		p := b.get("/dashboard/visits/" + c.id)
		mustStatus(t, "visit", p, 200)
		if !strings.Contains(p.body, c.want) || strings.Contains(p.body, c.not) {
			t.Errorf("visit %s: want %q and not %q on the page", c.id, c.want, c.not)
		}
	}
	if p := b.get("/dashboard/visits/" + forged); !strings.Contains(p.body, `id="visit-signature"><h2>The signature does not hold`) {
		t.Errorf("the forged visit's page does not warn in the signature box")
	}
}
