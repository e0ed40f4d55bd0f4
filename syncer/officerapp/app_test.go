package officerapp

import (
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
	"doorstep/syncer/localapi/localapitest"
)

const testPassword = "correct horse battery"

// appPeer stands for the network and the server behind it: it answers
// login, push (every mutation applied, with a receipt) and pull (its
// records, in pages) with canned protocol messages. down makes it cut
// every connection, as a tablet with no signal sees.
type appPeer struct {
	t     *testing.T
	url   string
	clock *testkit.Clock // the server's time, as the tablet's
	user  schema.User
	down  atomic.Bool

	mu      sync.Mutex
	records []schema.Record
	version map[string]int64
	pushed  []schema.Mutation
	// people, when set, goes with the last page of every pull that asks
	// for it; nil answers as a server that does not send the list.
	people []schema.Person
	// rules and rulesTag, when set, go with the last page of every pull
	// that asks with another tag; unset answers as an older server.
	rules    json.RawMessage
	rulesTag string
	// leaseKey, when set, signs an offline lease of leaseDays (and as
	// many of grace) on every answer, and the sign-in gives its public
	// half; unset answers as a server that issues none.
	leaseKey  ed25519.PrivateKey
	leaseDays int
}

// setLease sets the answer's lease header, when the peer signs leases.
func (p *appPeer) setLease(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	key, days := p.leaseKey, p.leaseDays
	p.mu.Unlock()
	if key == nil {
		return
	}
	now := p.clock.Now().UTC()
	valid := now.AddDate(0, 0, days)
	tok, err := schema.SignLease(key, schema.Lease{DeviceID: r.Header.Get(schema.HeaderDeviceID), UserID: p.user.ID, Username: p.user.Username,
		IssuedAt: now, ValidUntil: valid, GraceUntil: valid.AddDate(0, 0, days)})
	if err == nil {
		w.Header().Set(schema.HeaderLease, tok)
	}
}

// serverKey is the public key the sign-in gives, "" without leases.
func (p *appPeer) serverKey() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.leaseKey == nil {
		return ""
	}
	return schema.EncodePublicKey(p.leaseKey.Public().(ed25519.PublicKey))
}

func newAppPeer(t testing.TB, clock *testkit.Clock, user schema.User, records []schema.Record) *appPeer {
	p := &appPeer{clock: clock, user: user, records: records, version: map[string]int64{}}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *appPeer) serve(w http.ResponseWriter, r *http.Request) {
	if p.down.Load() {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path != "/v1/auth/login" {
		p.setLease(w, r)
	}
	switch r.URL.Path {
	case "/v1/auth/login":
		var req schema.LoginRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.Password != testPassword || req.Username != p.user.Username {
			w.WriteHeader(401)
			json.NewEncoder(w).Encode(schema.ErrorResponse{Error: schema.Error{Code: schema.ECodeUnauthorized, Message: "wrong username or password"}})
			return
		}
		p.setLease(w, r)
		json.NewEncoder(w).Encode(schema.TokenResponse{AccessToken: "a", RefreshToken: "r", ServerTime: p.clock.Now(), User: p.user,
			ServerPublicKey: p.serverKey()})
	case "/v1/auth/refresh":
		json.NewEncoder(w).Encode(schema.TokenResponse{AccessToken: "a", RefreshToken: "r", ServerTime: p.clock.Now(), User: p.user})
	case "/v1/sync/push":
		var req schema.PushRequest
		body, err := gunzipBody(r)
		if err == nil {
			err = json.NewDecoder(body).Decode(&req)
		}
		if err != nil {
			w.WriteHeader(400)
			return
		}
		now := p.clock.Now().UTC()
		resp := schema.PushResponse{ServerTime: now}
		p.mu.Lock()
		for _, m := range req.Mutations {
			p.version[m.RecordID]++
			p.pushed = append(p.pushed, m)
			resp.Results = append(resp.Results, schema.MutationResult{MutationID: m.ID, Status: schema.StatusApplied,
				Receipt: &schema.Receipt{Entity: m.Entity, ID: m.RecordID, Version: p.version[m.RecordID], ReceivedAt: now, UpdatedAt: now}})
		}
		p.mu.Unlock()
		json.NewEncoder(w).Encode(resp)
	case "/v1/sync/pull":
		var req schema.PullRequest
		body, err := gunzipBody(r)
		if err == nil {
			err = json.NewDecoder(body).Decode(&req)
		}
		if err != nil {
			w.WriteHeader(400)
			return
		}
		start, _ := strconv.Atoi(req.Cursor)
		limit := req.Limit
		if limit <= 0 {
			limit = 1000
		}
		p.mu.Lock()
		end := min(start+limit, len(p.records))
		start = min(start, end)
		page := p.records[start:end]
		resp := schema.PullResponse{Records: page, Removed: []schema.Removal{}, Cursor: strconv.Itoa(end),
			HasMore: end < len(p.records), ServerTime: p.clock.Now()}
		if p.people != nil && req.PeopleTag != nil && !resp.HasMore {
			resp.People, resp.PeopleTag = p.people, fmt.Sprintf("p:%d", len(p.people))
		}
		if p.rulesTag != "" && req.RulesTag != nil && *req.RulesTag != p.rulesTag && !resp.HasMore {
			resp.Rules, resp.RulesTag = p.rules, p.rulesTag
		}
		p.mu.Unlock()
		json.NewEncoder(w).Encode(resp)
	default:
		w.WriteHeader(404)
	}
}

func gunzipBody(r *http.Request) (io.Reader, error) {
	if r.Header.Get("Content-Encoding") != "gzip" {
		return r.Body, nil
	}
	return gzip.NewReader(r.Body)
}

// asServed gives records the receipt a server gives them, an hour ago.
func (e *appEnv) asServed(recs []schema.Record) []schema.Record {
	now := e.clock.Now().UTC().Add(-time.Hour)
	out := make([]schema.Record, len(recs))
	for i, r := range recs {
		r.Version, r.ReceivedAt, r.UpdatedAt = 1, now, now
		out[i] = r
	}
	return out
}

type appEnv struct {
	t      testing.TB
	peer   *appPeer
	agent  *syncer.Agent
	api    *localapi.API
	clock  *testkit.Clock // the app's, the agent's and the peer's: the real date plays no part
	caseID string         // the DA case with children
	kidID  string         // a child in its household
	plain  string         // a case with no flags
	// unsealed keeps the tablet's data in clear (syncer.Config.Unsealed),
	// for the benchmark that says what sealing costs.
	unsealed bool
}

// officer is the user the peer signs in.
var officer = schema.User{ID: "019a0000-0000-7000-8000-00000000000a", Username: "asha.officer", Name: "Asha Demo", Role: schema.RoleOfficer, TeamID: "team-1"}

// startApp starts a real agent (SQLite in a temp folder) behind the web app,
// with a peer that serves two cases: a domestic-abuse case with a partner
// and a child, and a plain one.
func startApp(t testing.TB) *appEnv {
	t.Helper()
	e := &appEnv{t: t, clock: testkit.NewClock(synth.DefaultNow), caseID: schema.NewID(), plain: schema.NewID(), kidID: schema.NewID()}
	now := e.clock.Now()
	recs := []schema.Record{
		{Entity: "case", ID: e.caseID, CaseID: e.caseID, Fields: schema.FieldsOf(schema.Case{
			CRN: "X123456", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St, Testtown, ZZ1 1AA",
			OfficerID: officer.ID, TeamID: "team-1", SentenceType: "licence", SupervisionStart: "2026-01-10", RoSH: "high"})},
		{Entity: "flag", ID: schema.NewID(), CaseID: e.caseID, Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: "2026-01-10", NextReviewDate: "2026-07-10"})},
		{Entity: "flag", ID: schema.NewID(), CaseID: e.caseID, Fields: schema.FieldsOf(schema.Flag{Type: "child_concerns", StartDate: "2026-01-10"})},
		{Entity: "household_member", ID: schema.NewID(), CaseID: e.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "partner", Residence: "lives_here", Name: "Jo Doe", VictimOrPotentialVictim: "yes"})},
		{Entity: "household_member", ID: e.kidID, CaseID: e.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "own_child", Residence: "lives_here", Name: "Mia Doe", DateOfBirth: "2020-05-01"})},
		{Entity: "visit", ID: schema.NewID(), CaseID: e.caseID, Fields: schema.FieldsOf(schema.Visit{
			Status: "planned", PlannedType: "home_unannounced", PlannedAt: schema.TimestampOf(now)})},
		{Entity: "case", ID: e.plain, CaseID: e.plain, Fields: schema.FieldsOf(schema.Case{
			CRN: "Z654321", GivenName: "Alex", FamilyName: "Able", DateOfBirth: "1985-03-04", NoFixedAbode: true,
			OfficerID: officer.ID, TeamID: "team-1", SentenceType: "community_order", SupervisionStart: "2026-02-01", RoSH: "low"})},
	}
	e.peer = newAppPeer(t, e.clock, officer, e.asServed(recs))
	e.open(localapi.Config{})
	return e
}

func (e *appEnv) open(cfg localapi.Config) {
	t := e.t
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: t.TempDir(), ServerURL: e.peer.url, Timeout: 5 * time.Second, Now: e.clock.Now,
		Unsealed: e.unsealed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	cfg.Now = e.clock.Now
	api := New(a, cfg)
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	e.agent, e.api = a, api
}

// browser is a cookie-keeping HTTP client that follows redirects, as a
// browser does.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

// jsonClient is a client of the local JSON API with a session of its own,
// unlocked with the officer's password (who must have signed in on the
// tablet).
func (e *appEnv) jsonClient() localapitest.Client {
	e.t.Helper()
	c := localapitest.Client{T: e.t, Base: e.api.URL()}
	return c.SignIn("/v1/unlock", map[string]string{"username": officer.Username, "password": testPassword})
}

func (e *appEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.api.URL(), c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// page is an answer: status, final path (after redirects) and body.
type page struct {
	status int
	path   string
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, path: resp.Request.URL.RequestURI(), body: string(raw), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

var (
	csrfRE = regexp.MustCompile(`name="_csrf" value="([0-9a-f]+)"`)
	preRE  = regexp.MustCompile(`name="_pre" value="([0-9a-f]+)"`)
)

func (p page) token(re *regexp.Regexp) string {
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// signIn signs in through the form and returns Today.
func (b *browser) signIn(path, username, password string) page {
	b.t.Helper()
	form := b.get("/app/signin?online=1")
	if path == "/app/unlock" {
		form = b.get("/app/signin")
	}
	return b.post(path, url.Values{"_pre": {form.token(preRE)}, "username": {username}, "password": {password}})
}

func (b *browser) mustSignIn() page {
	b.t.Helper()
	p := b.signIn("/app/signin", officer.Username, testPassword)
	if p.status != 200 || p.path != "/app/today" {
		b.t.Fatalf("sign in: want Today, got %d at %s:\n%s", p.status, p.path, p.body)
	}
	return p
}

func mustContain(t testing.TB, p page, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(p.body, w) {
			t.Fatalf("want %q on %s (status %d); the page:\n%s", w, p.path, p.status, p.body)
		}
	}
}

func mustNotContain(t testing.TB, p page, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(p.body, w) {
			t.Fatalf("did not want %q on %s (status %d)", w, p.path, p.status)
		}
	}
}

func (e *appEnv) outboxLen() int {
	e.t.Helper()
	out, err := e.agent.Outbox(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(out)
}

func TestAppSignInUnlockAndLock(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	first := e.browser()  // the officer's first sign-in
	second := e.browser() // a later, offline session
	steps := []struct {
		name       string
		before     func()
		do         func() page
		status     int
		path       string
		want, dont []string
	}{
		{name: "a fresh tablet asks for an online sign-in",
			do: func() page { return first.get("/") }, status: 200, path: "/app/signin?next=%2Fapp%2Ftoday",
			want: []string{"Sign in to Doorstep", `for="f-username"`, `for="f-password"`}, dont: []string{"Sam Doe"}},
		{name: "empty fields are named",
			do: func() page { return first.signIn("/app/signin", "", "") }, status: 422, path: "/app/signin",
			want: []string{`id="f-username-error"`, "Enter your username.", `id="f-password-error"`, "Enter your password."}},
		{name: "a wrong password is refused next to the password",
			do: func() page { return first.signIn("/app/signin", officer.Username, "nope nope nope") }, status: 401, path: "/app/signin",
			want: []string{`id="f-password-error"`, "The username or password is not right", `value="asha.officer"`}, dont: []string{"Sam Doe"}},
		{name: "the right password opens Today with the caseload",
			do: func() page { return first.signIn("/app/signin", officer.Username, testPassword) }, status: 200, path: "/app/today",
			want: []string{"Sam Doe", "Alex Able", "RoSH: High", "Domestic abuse (perpetrator)", "Child concerns", "1 visit planned today", "2 with a home visit overdue", "days overdue", `id="sync-badge"`}},
		{name: "another browser must unlock",
			do: func() page { return second.get("/app/today") }, status: 200, path: "/app/signin?next=%2Fapp%2Ftoday",
			want: []string{"Unlock Doorstep", `value="asha.officer"`}, dont: []string{"Sam Doe"}},
		{name: "offline, a wrong password does not unlock",
			before: func() { e.peer.down.Store(true) },
			do:     func() page { return second.signIn("/app/unlock", officer.Username, "wrong password") }, status: 401, path: "/app/unlock",
			want: []string{`id="f-password-error"`, "not right"}},
		{name: "offline, the right password unlocks",
			do: func() page { return second.signIn("/app/unlock", officer.Username, testPassword) }, status: 200, path: "/app/today",
			want: []string{"Sam Doe"}},
		{name: "offline, an online sign-in says the server cannot be reached",
			do: func() page { return e.browser().signIn("/app/signin", officer.Username, testPassword) }, status: 503, path: "/app/signin",
			want: []string{"The server cannot be reached", "unlock it instead"}},
		{name: "after five idle minutes the app is locked",
			before: func() { e.clock.Advance(5*time.Minute + time.Second) },
			do:     func() page { return second.get("/app/cases/" + e.caseID) }, status: 200,
			path: "/app/signin?locked=1&next=%2Fapp%2Fcases%2F" + e.caseID,
			want: []string{"Unlock Doorstep", `id="locked-notice"`}, dont: []string{"Sam Doe"}},
		{name: "unlocking returns to the page asked for",
			do: func() page {
				form := second.get("/app/cases/" + e.caseID)
				return second.post("/app/unlock", url.Values{"_pre": {form.token(preRE)}, "username": {officer.Username},
					"password": {testPassword}, "next": {"/app/cases/" + e.caseID}})
			}, status: 200, path: "/app/cases/" + e.caseID, want: []string{"Sam Doe", "Household"}},
		{name: "a next that leaves the app goes to Today instead",
			do: func() page {
				form := e.browser()
				p := form.get("/app/signin")
				return form.post("/app/unlock", url.Values{"_pre": {p.token(preRE)}, "username": {officer.Username},
					"password": {testPassword}, "next": {"//evil.example/x"}})
			}, status: 200, path: "/app/today"},
		{name: "Lock locks at once",
			do: func() page {
				p := second.get("/app/today")
				return second.post("/app/lock", url.Values{"_csrf": {p.token(csrfRE)}})
			}, status: 200, path: "/app/signin", want: []string{"Unlock Doorstep"}},
		{name: "and the locked session opens nothing",
			do: func() page { return second.get("/app/today") }, status: 200, path: "/app/signin?next=%2Fapp%2Ftoday", dont: []string{"Sam Doe"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			p := s.do()
			if p.status != s.status || (s.path != "" && p.path != s.path) {
				t.Fatalf("want %d at %s, got %d at %s:\n%s", s.status, s.path, p.status, p.path, p.body)
			}
			mustContain(t, p, s.want...)
			mustNotContain(t, p, s.dont...)
		})
	}
}

func TestAppSessionCookieIsStrict(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	form := b.get("/app/signin")
	req, _ := http.NewRequest("POST", e.api.URL()+"/app/signin", strings.NewReader(url.Values{"_pre": {form.token(preRE)},
		"username": {officer.Username}, "password": {testPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.c.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var found bool
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, sessionCookie+"=") {
			found = true
			for _, attr := range []string{"httponly", "samesite=strict", "path=/"} {
				if !strings.Contains(strings.ToLower(h), attr) {
					t.Errorf("session cookie %q lacks %s", h, attr)
				}
			}
		}
	}
	if resp.StatusCode != 303 || !found {
		t.Fatalf("want 303 with a session cookie, got %d %v", resp.StatusCode, resp.Header)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
}

func TestAppRefusesFormsWithoutTheSessionToken(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	today := b.mustSignIn()
	token := today.token(csrfRE)
	other := e.browser()
	otherToken := other.mustSignIn().token(csrfRE)
	if token == "" || otherToken == "" || token == otherToken {
		t.Fatalf("tokens %q %q", token, otherToken)
	}
	member := url.Values{"relation": {"partner"}, "residence": {"lives_here"}, "name": {"New Partner"}}
	with := func(tok string) url.Values {
		v := url.Values{}
		for k, x := range member {
			v[k] = x
		}
		if tok != "" {
			v.Set("_csrf", tok)
		}
		return v
	}
	before := e.outboxLen()
	cases := []struct {
		name   string
		path   string
		form   url.Values
		hdr    map[string]string
		status int
		want   string
	}{
		{"no token", "/app/cases/" + e.caseID + "/household", with(""), nil, 403, "This form has expired"},
		{"a wrong token", "/app/cases/" + e.caseID + "/household", with(strings.Repeat("ab", 32)), nil, 403, "This form has expired"},
		{"another session's token", "/app/cases/" + e.caseID + "/household", with(otherToken), nil, 403, "This form has expired"},
		{"sync now without a token", "/app/sync", url.Values{"back": {"/app/today"}}, nil, 403, "This form has expired"},
		{"lock without a token", "/app/lock", url.Values{}, nil, 403, "This form has expired"},
		{"a right token from another site", "/app/cases/" + e.caseID + "/household", with(token), map[string]string{"Origin": "https://evil.example"}, 403, "cross-site"},
		{"a right token, a cross-site fetch", "/app/cases/" + e.caseID + "/household", with(token), map[string]string{"Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", b.base+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			p := b.do(req)
			if p.status != tc.status {
				t.Fatalf("want %d, got %d at %s:\n%s", tc.status, p.status, p.path, p.body)
			}
			mustContain(t, p, tc.want)
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused form changed the outbox: %d -> %d", before, n)
			}
		})
	}
	// The session still works, and the right token is accepted.
	p := b.post("/app/cases/"+e.caseID+"/household", with(token))
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("with the token: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "New Partner was added")
}

func TestAppShowsFieldErrorsNextToTheField(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	form := b.get("/app/cases/" + e.caseID + "/household/new")
	mustContain(t, form, "Add a household member", `for="f-name"`, `for="f-date_of_birth"`, `<legend>Where they live</legend>`)
	token := form.token(csrfRE)
	good := url.Values{"_csrf": {token}, "relation": {"own_child"}, "residence": {"lives_here"}, "name": {"Leo Doe"}, "date_of_birth": {"2021-06-01"}}
	set := func(kv ...string) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = append([]string(nil), x...)
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return v
	}
	before := e.outboxLen()
	cases := []struct {
		name   string
		form   url.Values
		field  string
		msg    string
		echoed string // a value the form keeps
	}{
		{"a date that does not exist", set("date_of_birth", "2021-02-30"), "date_of_birth", "Enter a real date, for example 31/03/2016.", `value="Leo Doe"`},
		{"a date that is not a date", set("date_of_birth", "last spring"), "date_of_birth", "Enter a real date", `value="last spring"`},
		{"no name and no description", set("name", ""), "name", "Give a name, or a description when the name is not known.", `value="2021-06-01"`},
		{"no relation", set("relation", ""), "relation", "Choose a relation to the person on probation.", `value="Leo Doe"`},
		{"no residence", set("residence", ""), "residence", "Say where they live.", `value="Leo Doe"`},
		{"an age that is not a number", set("age", "seven"), "age", "Enter a whole number, like 7.", `value="seven"`},
		{"a relation that does not exist", set("relation", "cousin"), "relation", "Choose one of the options.", `value="Leo Doe"`},
		{"a name too long", set("name", strings.Repeat("x", 201)), "name", "Name is 201 characters long; the most is 200.", ""},
		{"a date of birth in the future", set("date_of_birth", "2099-01-01", "name", "Future Baby"), "date_of_birth", "Date of birth must be today or in the past.", `value="2099-01-01"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/app/cases/"+e.caseID+"/household", tc.form)
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			id := controlID(tc.field)
			mustContain(t, p, `id="`+id+`-error"`, tc.msg, `href="#`+id+`"`, "There is a problem")
			// The message sits in the field's own block, before the next field.
			block := p.body[strings.Index(p.body, `id="`+id+`-error"`):]
			if next := strings.Index(block, `class="field`); next >= 0 {
				block = block[:next]
			}
			if !strings.Contains(block, tc.msg) {
				t.Fatalf("the message is not next to %s", tc.field)
			}
			if tc.echoed != "" {
				mustContain(t, p, tc.echoed)
			}
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused form saved something: outbox %d -> %d", before, n)
			}
		})
	}
}

// TestAppShowsEveryFormErrorAtOnce: a form with several problems lists
// them all, in the summary (in the order of the page) and each beside its
// field, not one per try.
func TestAppShowsEveryFormErrorAtOnce(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	token := b.get("/app/cases/" + e.caseID + "/household/new").token(csrfRE)
	before := e.outboxLen()
	forms := []struct {
		name, path string
		form       url.Values
		want       []struct{ field, msg string } // in the summary's order
	}{
		{"a household member with only a relation", "/app/cases/" + e.caseID + "/household",
			url.Values{"relation": {"own_child"}},
			[]struct{ field, msg string }{
				{"residence", "Say where they live."},
				{"name", "Give a name, or a description when the name is not known."},
			}},
		{"a household member with a bad age, no residence and a birth in the future", "/app/cases/" + e.caseID + "/household",
			url.Values{"relation": {"own_child"}, "name": {"Future Baby"}, "date_of_birth": {"2099-01-01"}, "age": {"two"}},
			[]struct{ field, msg string }{
				{"residence", "Say where they live."},
				{"date_of_birth", "Date of birth must be today or in the past."},
				{"age", "Enter a whole number, like 7."},
			}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			f.form.Set("_csrf", token)
			p := b.post(f.path, f.form)
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s", p.status, p.path)
			}
			summary := p.body[strings.Index(p.body, `id="error-summary"`):]
			summary = summary[:strings.Index(summary, "</div>")]
			at := 0
			for _, w := range f.want {
				id := controlID(w.field)
				link := `<a href="#` + id + `">` + w.msg + `</a>`
				i := strings.Index(summary[at:], link)
				if i < 0 {
					t.Fatalf("want %q in the summary, after the ones before it:\n%s", link, summary)
				}
				at += i + len(link)
				mustContain(t, p, `id="`+id+`-error"`)
				block := p.body[strings.Index(p.body, `id="`+id+`-error"`):]
				if !strings.HasPrefix(block[strings.Index(block, ">")+1:], `<span class="visually-hidden">Error: </span>`+w.msg) {
					t.Errorf("the message %q is not beside %s", w.msg, w.field)
				}
			}
			if n := strings.Count(summary, "<li>"); n != len(f.want) {
				t.Errorf("want %d errors in the summary, got %d:\n%s", len(f.want), n, summary)
			}
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused form saved something: outbox %d -> %d", before, n)
			}
		})
	}
}

func TestAppHouseholdMemberAndSyncBadge(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	today := b.mustSignIn()
	mustContain(t, today, "Nothing waiting to be sent", "Online")
	cp := b.get("/app/cases/" + e.caseID)
	mustContain(t, cp, "Sam Doe", "X123456", "Jo Doe", "Mia Doe", "Victim or potential victim: Yes", "Domestic abuse (perpetrator)", "Add a household member")

	token := cp.token(csrfRE)
	p := b.post("/app/cases/"+e.caseID+"/household", url.Values{"_csrf": {token}, "relation": {"other_adult"},
		"residence": {"stays_sometimes"}, "description": {"Man about 30, said he was a friend"}, "victim_or_potential_victim": {"not_known"}})
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("add: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "Man about 30, said he was a friend", "Waiting to be sent", "1 record with changes waiting to be sent", "was added to the household")

	// Sync now: the badge goes to zero and the member has its receipt.
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/cases/" + e.caseID}})
	if p.path != "/app/cases/"+e.caseID {
		t.Fatalf("sync: back to %s", p.path)
	}
	mustContain(t, p, "Synced", "Nothing waiting to be sent", "Safely on the server since", "version 1")

	// Change it: only what changed travels.
	var memberID string
	recs, _ := e.agent.List(context.Background(), "household_member", e.caseID)
	for _, r := range recs {
		if str(r.Fields, "description") == "Man about 30, said he was a friend" {
			memberID = r.ID
		}
	}
	edit := b.get("/app/cases/" + e.caseID + "/household/" + memberID)
	mustContain(t, edit, "Change a household member", "Man about 30, said he was a friend", `value="stays_sometimes" checked`)
	p = b.post("/app/cases/"+e.caseID+"/household/"+memberID, url.Values{"_csrf": {token}, "relation": {"other_adult"},
		"residence": {"lives_here"}, "description": {"Man about 30, said he was a friend"}, "name": {"Dan Smith"}, "victim_or_potential_victim": {"not_known"}})
	mustContain(t, p, "Dan Smith", "1 record with changes waiting to be sent")
	out, _ := e.agent.Outbox(context.Background())
	var changed map[string]json.RawMessage
	if len(out) == 1 {
		json.Unmarshal(out[0].Fields, &changed)
	}
	if len(changed) != 2 || changed["name"] == nil || changed["residence"] == nil {
		t.Fatalf("want one change of name and residence, got %+v", out)
	}

	// Offline: sync now says so, and the change stays.
	e.peer.down.Store(true)
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	mustContain(t, p, "Could not sync", "Offline", "1 record with changes waiting to be sent", "The server cannot be reached")
}

func TestAppRecordAndSignAVisit(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	cp := b.mustSignIn()
	cp = b.get("/app/cases/" + e.caseID)
	token := cp.token(csrfRE)
	p := b.post("/app/cases/"+e.caseID+"/visits", url.Values{"_csrf": {token}})
	if !strings.HasPrefix(p.path, "/app/visits/") || p.status != 200 {
		t.Fatalf("new visit: %d at %s", p.status, p.path)
	}
	visitPath := p.path
	started := regexp.MustCompile(`name="started_at" type="datetime-local" value="([^"]+)"`).FindStringSubmatch(p.body)
	if started == nil {
		t.Fatalf("the new visit has no start time:\n%s", p.body)
	}
	mustContain(t, p, "Record a visit", "Mia Doe, ", "(own child)", `data-autosave="`+visitPath+`/draft"`, "Check your answers and sign")

	// The autosave keeps what it can and names what it cannot.
	ap := b.autosave(visitPath, url.Values{"_csrf": {token},
		"type": {"home_unannounced"}, "outcome": {"completed"}, "next_visit_on": {"2026-13-45"}, "started_at": {started[1]}})
	if ap.status != 200 || !strings.Contains(ap.body, `"saved"`) || !strings.Contains(ap.body, "f-next_visit_on") {
		t.Fatalf("autosave: %d %s", ap.status, ap.body)
	}
	id := strings.TrimPrefix(visitPath, "/app/visits/")
	v, _ := e.agent.Get(context.Background(), "visit", id)
	if str(v.Fields, "type") != "home_unannounced" || str(v.Fields, "outcome") != "completed" || str(v.Fields, "next_visit_on") != "" {
		t.Fatalf("draft after autosave: %s", v.Fields)
	}
	// A reload finds the draft.
	mustContain(t, b.get(visitPath), `value="home_unannounced" selected`, `value="completed" selected`)

	sign := url.Values{"_csrf": {token}, "started_at": {started[1]}, "type": {"home_unannounced"}, "outcome": {"completed"}, "location": {"home"},
		"face_to_face": {"yes"}, "person_seen": {"yes"},
		"children[0].member_id": {e.kidID}, "children[0].present": {"yes"}, "children[0].seen": {"no"}}
	before := e.outboxLen()
	steps := []struct {
		name  string
		kv    []string
		field string
		msg   string
	}{
		{"a DA case needs the partner answered", nil, "partner_present", "In a domestic-abuse case say whether a partner was present (or not known)."},
		{"and the children", []string{"partner_present", "yes"}, "children_present", "say whether children were present"},
		{"a child not seen needs a reason", []string{"children_present", "yes"}, "children[0].reason_not_seen", "Mia Doe was present but not seen: give the reason."},
		{"a concern needs an action", []string{"children[0].reason_not_seen", "Asleep upstairs, mother refused to wake her", "safeguarding_concern", "yes"}, "actions", "record the action taken, or why none was"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for i := 0; i < len(s.kv); i += 2 {
				sign.Set(s.kv[i], s.kv[i+1])
			}
			p := b.post(visitPath+"/sign", sign)
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			mustContain(t, p, `id="`+controlID(s.field)+`-error"`, s.msg)
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused signature saved something: %d -> %d", before, n)
			}
		})
	}
	sign["actions"] = []string{"childrens_services_referral", "manager_informed"}
	p = b.post(visitPath+"/sign", sign)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("sign: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "Visit signed", "Signed", "Waiting to be sent")
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/cases/" + e.caseID}})
	mustContain(t, p, "Safely on the server since")
	sv := b.get(visitPath)
	mustContain(t, sv, "Signed visit", "Safely on the server since", "Asleep upstairs", "Referral to children&#39;s services")
	mustNotContain(t, sv, "Sign the visit")
	e.peer.mu.Lock()
	defer e.peer.mu.Unlock()
	var signed bool
	for _, m := range e.peer.pushed {
		if m.RecordID == id && str(m.Fields, "status") == "signed" {
			signed = true
		}
	}
	if !signed {
		t.Fatal("the signed visit did not reach the server")
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/app/cases/1":                   "/app/cases/1",
		"/app/today?x=1":                 "/app/today?x=1",
		"//evil.example/app/":            pathToday,
		"https://evil.example/app/today": pathToday,
		"/v1/records/case":               pathToday,
		"/app/static/app.js":             pathToday,
		"":                               pathToday,
		"/app/../v1/status":              pathToday,
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		10 * time.Second: "just now", 90 * time.Second: "1 minute ago", 3 * time.Minute: "3 minutes ago",
		61 * time.Minute: "1 hour ago", 5 * time.Hour: "5 hours ago", 30 * time.Hour: "yesterday", 72 * time.Hour: "3 days ago",
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
	if ago(now, time.Time{}) != "never" {
		t.Error("zero time")
	}
}
