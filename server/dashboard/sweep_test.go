package dashboard

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/golang-jwt/jwt/v5"
)

// The attack sweep (issue 11): every route of the server, API and
// dashboard, as listed by the router itself, tried by every kind of
// caller with another team's ids substituted for its parameters. A route
// without a rule in sweepRules fails the test, so a new route cannot
// escape it.

// sweepRule says who may call a route and what its ids name.
type sweepRule struct {
	// who: the roles that may call the route ("anyone" for a public
	// route). Any other caller must be refused (not 2xx). The scope of an
	// allowed caller is the store's: an officer's own cases, a
	// supervisor's team, every case for an auditor (reading) and an admin.
	who string
	// id: what the route's :id (or :mutation_id) names: case, record (of
	// the :path entity), conflict, set_aside, device, officer (a user
	// id), username, visit, review (the :kind's item), period (a
	// published period), none.
	id string
	// body builds the request body for a target's ids: a JSON value, or
	// url.Values for a dashboard form (sent with the caller's CSRF token).
	body func(t sweepTarget, entity string) any
	// fresh: the request ends the caller's session (logout, sign-out):
	// it is sent with a session of its own.
	fresh bool
	// query: parameters every request of the route carries besides the
	// ids (a required one, such as a case list's figure).
	query string
	// noCompare: the out-of-scope and missing answers are not compared,
	// with the reason (login counts failures per name).
	noCompare string
}

const (
	readersAPI = "officer supervisor auditor admin"
	reviewers  = "supervisor auditor admin"
	deciders   = "supervisor admin"
	adminOnly  = "admin"
	anyone     = "anyone"
)

// sweepRules is the table: every route of the server, with the dashboard
// mounted. HEAD routes take their GET's rule. GET /metrics is not a route
// of this router: it is served on the metrics listener only, whose routes
// TestMetricsOnlyOnTheirOwnListener (server/ops_test.go) walks against a
// table of their own.
var sweepRules = map[string]sweepRule{
	"GET /healthz":                                  {who: anyone},
	"GET /readyz":                                   {who: anyone},
	"GET /v1/me":                                    {who: readersAPI},
	"POST /v1/auth/login":                           {who: anyone, body: loginBody, noCompare: "failed sign-ins are counted per name"},
	"POST /v1/auth/refresh":                         {who: anyone, body: refreshBody},
	"POST /v1/auth/setup":                           {who: anyone, body: setupBody, noCompare: "wrong setup codes are counted per name, as failed sign-ins"},
	"POST /v1/auth/logout":                          {who: readersAPI, fresh: true, body: func(sweepTarget, string) any { return map[string]any{} }, noCompare: "the first request ends the session"},
	"POST /v1/sync/push":                            {who: readersAPI, body: pushBody},
	"POST /v1/sync/pull":                            {who: readersAPI, body: func(sweepTarget, string) any { return map[string]any{} }},
	"GET /v1/admin/devices":                         {who: adminOnly},
	"POST /v1/admin/teams":                          {who: adminOnly, body: func(sweepTarget, string) any { return map[string]any{"name": "Sweep team"} }},
	"POST /v1/admin/users":                          {who: adminOnly, body: newUserBody},
	"POST /v1/admin/users/:username/reset-password": {who: adminOnly, id: "username", body: func(sweepTarget, string) any { return map[string]any{} }},
	"POST /v1/admin/cases/:id/reassign":             {who: adminOnly, id: "case", body: func(sweepTarget, string) any { return map[string]any{"officer_username": "asha"} }},
	"POST /v1/admin/devices/:id/revoke":             {who: adminOnly, id: "device", body: func(sweepTarget, string) any { return map[string]any{} }},
	"GET /v1/compliance/first-home-visits":          {who: reviewers},
	"GET /v1/compliance/overdue":                    {who: reviewers},
	"GET /v1/compliance/contacts":                   {who: reviewers},
	"GET /v1/compliance/enquiries":                  {who: reviewers},
	"GET /v1/compliance/households":                 {who: reviewers},
	"GET /v1/compliance/interventions":              {who: reviewers},
	"GET /v1/compliance/reviews":                    {who: reviewers},
	"GET /v1/compliance/workload":                   {who: reviewers},
	"GET /v1/compliance/first-home-visits/cases":    {who: reviewers, query: "figure=cases&from=2026-01-01"},
	"GET /v1/compliance/overdue/cases":              {who: reviewers, query: "figure=cases"},
	"GET /v1/compliance/workload/cases":             {who: reviewers, query: "figure=caseload"},
	"GET /v1/compliance/contacts/cases":             {who: reviewers, query: "figure=contacts&from=2026-01-01"},
	"GET /v1/compliance/households/cases":           {who: reviewers, query: "figure=cases&from=2026-01-01"},
	"GET /v1/compliance/reviews/cases":              {who: reviewers, query: "figure=flags.overdue&from=2026-01-01"},
	"GET /v1/compliance/interventions/cases":        {who: reviewers, query: "figure=needed&from=2026-01-01"},
	"GET /v1/compliance/enquiries/cases":            {who: reviewers, query: "figure=police.needed&from=2026-01-01"},
	"GET /v1/compliance/exemptions/cases":           {who: reviewers, query: "figure=due&from=2026-01-01"},
	"GET /v1/compliance/risk-assessment-qa/cases":   {who: reviewers, query: "figure=eligible&from=2026-01-01"},
	"GET /v1/compliance/exemptions":                 {who: reviewers},
	"GET /v1/compliance/risk-assessment-qa":         {who: reviewers},
	"GET /v1/compliance/freshness":                  {who: reviewers},
	"GET /v1/audit":                                 {who: "auditor admin"},
	"GET /v1/review":                                {who: reviewers},
	"POST /v1/review/conflicts/:id":                 {who: deciders, id: "conflict", body: decisionBody(serverdb.ConflictKeepServer)},
	"POST /v1/review/set-aside/:mutation_id":        {who: deciders, id: "set_aside", body: decisionBody(serverdb.SetAsideDismissed)},
	"POST /v1/oversight":                            {who: deciders, body: oversightBody},
	"POST /v1/review/approve":                       {who: deciders, body: approveBody},
	"POST /v1/periods":                              {who: deciders, body: publishBody},
	"GET /v1/periods":                               {who: reviewers},
	"GET /v1/periods/:id":                           {who: reviewers, id: "period"},
	"GET /v1/:path":                                 {who: readersAPI},
	"GET /v1/:path/:id":                             {who: readersAPI, id: "record"},
	"POST /v1/:path":                                {who: "officer supervisor admin", body: createBody},
	"PATCH /v1/:path/:id":                           {who: "officer supervisor admin", id: "record", body: patchBody},

	"GET /dashboard/static/:name":         {who: anyone},
	"GET /dashboard/signin":               {who: anyone},
	"POST /dashboard/signin":              {who: anyone, body: signInForm},
	"POST /dashboard/signout":             {who: reviewers, fresh: true, body: func(sweepTarget, string) any { return url.Values{} }, noCompare: "the first request ends the session"},
	"GET /dashboard/":                     {who: reviewers},
	"GET /dashboard/print":                {who: reviewers},
	"GET /dashboard/overdue":              {who: reviewers},
	"GET /dashboard/measures/:slug":       {who: reviewers},
	"GET /dashboard/officers/:id":         {who: reviewers, id: "officer"},
	"GET /dashboard/cases/:id":            {who: reviewers, id: "case"},
	"GET /dashboard/visits/:id":           {who: reviewers, id: "visit"},
	"POST /dashboard/cases/:id/qa-rating": {who: deciders, id: "case", body: qaForm},
	"GET /dashboard/review":               {who: reviewers},
	"POST /dashboard/review/approve":      {who: deciders, body: approveForm},
	"GET /dashboard/search":               {who: reviewers},
	"GET /dashboard/review/:kind/:id":     {who: reviewers, id: "review"},
	"POST /dashboard/review/:kind/:id":    {who: deciders, id: "review", body: reviewForm},
	"GET /dashboard/periods":              {who: reviewers},
	"POST /dashboard/periods":             {who: deciders, body: publishFormBody},
	"GET /dashboard/periods/:id":          {who: reviewers, id: "period"},
}

// sweepTarget is the set of ids a request names: those of team B's
// secret case (out of scope for team A), or fresh ones nobody holds.
type sweepTarget struct {
	kind     string // "out" or "missing"
	caseID   string
	records  map[string]string // entity -> record id in the case
	conflict string
	setAside string
	device   string
	officer  string // user id
	username string
	team     string // the case's team (team B's, or an id nobody has)
	period   string // a published period of team B
	// pushCase, pushRecord: what a push names. Not the secret case: a
	// refused push is set aside for the pusher's supervisor, who sees the
	// ids the officer sent (and only those); so a push names a visit of
	// carl's other case, whose ids are left out of the scan.
	pushCase, pushRecord string
	fields               map[string]map[string]json.RawMessage // entity -> the fields of the secret case's record
}

func (t sweepTarget) review(kind string) string {
	switch kind {
	case "conflicts":
		return t.conflict
	case "set-aside":
		return t.setAside
	case "visits":
		return t.records["visit"]
	case "assessments":
		return t.records["safety_assessment"]
	}
	return ""
}

// ids are the target's ids, to be read as a placeholder when two answers
// are compared.
func (t sweepTarget) ids() []string {
	out := []string{t.caseID, t.conflict, t.setAside, t.device, t.officer, t.username, t.period}
	for _, id := range t.records {
		out = append(out, id)
	}
	return out
}

func loginBody(t sweepTarget, _ string) any {
	return schema.LoginRequest{Username: t.username, Password: "not the password", DeviceID: t.device}
}

func setupBody(t sweepTarget, _ string) any {
	return map[string]any{"username": t.username, "code": "not the code", "password": "a sweep password nobody guesses 9"}
}

func refreshBody(t sweepTarget, _ string) any {
	return schema.RefreshRequest{RefreshToken: "sweep-" + t.caseID, DeviceID: t.device}
}

func pushBody(t sweepTarget, _ string) any {
	return schema.PushRequest{Mutations: []schema.Mutation{{ID: schema.NewID(), Entity: "visit", RecordID: t.pushRecord, CaseID: t.pushCase,
		Fields: rawFields("observation_notes", "sweep"), Clock: schema.HLC{Wall: 9_000_000_000_000, Node: "sweep"}}}}
}

func newUserBody(t sweepTarget, _ string) any {
	return map[string]any{"username": "sweep" + t.kind, "name": "Sweep", "role": "officer", "team_id": t.officer, "password": "a long sweep password 1"}
}

func decisionBody(d string) func(sweepTarget, string) any {
	return func(sweepTarget, string) any { return map[string]any{"decision": d, "reason": "sweep"} }
}

func oversightBody(t sweepTarget, _ string) any {
	return map[string]any{"subject_entity": "visit", "subject_id": t.records["visit"], "decision": "noted", "reason": "sweep"}
}

// approveBody approves the target's signed visit in bulk (a list of one).
func approveBody(t sweepTarget, _ string) any {
	return map[string]any{"subject_entity": "visit", "subject_ids": []string{t.records["visit"]}, "reason": "sweep"}
}

// publishBody publishes the target's team's October: team B's, or a team
// nobody has.
func publishBody(t sweepTarget, _ string) any {
	return map[string]any{"from": "2026-10-01", "to": "2026-10-31", "team_id": t.team}
}

func publishFormBody(t sweepTarget, _ string) any {
	return url.Values{"from": {"2026-10-01"}, "to": {"2026-10-31"}, "team": {t.team}, "reason": {"sweep"}}
}

func approveForm(t sweepTarget, _ string) any {
	return url.Values{"kind": {serverdb.KindVisit}, "id": {t.records["visit"]}, "reason": {"sweep"}}
}

// createBody: a new record in the target's case, with the fields of the
// target's record of that entity (valid ones, for the secret case).
func createBody(t sweepTarget, entity string) any {
	return map[string]any{"case_id": t.caseID, "fields": t.fields[entity]}
}

func patchBody(t sweepTarget, entity string) any {
	return map[string]any{"fields": t.fields[entity]}
}

func signInForm(t sweepTarget, _ string) any {
	return url.Values{"username": {t.username}, "password": {"not the password"}}
}

func qaForm(sweepTarget, string) any {
	return url.Values{"decision": {"sufficient"}, "reason": {"sweep"}}
}

func reviewForm(sweepTarget, string) any {
	return url.Values{"decision": {serverdb.ConflictKeepServer}, "reason": {"sweep"}}
}

// The secret case's words: none of them may reach a caller without team
// B in scope.
var sweepMarkers = []string{"Zebedee", "Quixotic", "Hidden Row", "Z777777", "C000003", "pale blue door", "dev-carl"}

// sweepCaller is one kind of caller.
type sweepCaller struct {
	name     string
	role     string // "" for no one
	username string
	seesB    bool // team B's case is in scope (reading)
	token    string
	cookie   string
	csrf     string
	// spare: the same person signed in again, for the requests that end
	// a session (made up front, before the sweep's failed sign-ins).
	spare *sweepCaller
}

func (c sweepCaller) allowed(who string) bool {
	if who == anyone {
		return true
	}
	return c.role != "" && slices.Contains(strings.Fields(who), c.role)
}

type sweepWorld struct {
	*dashReviewEnv
	out, missing sweepTarget
	callers      []sweepCaller
	client       *http.Client
	fresh        sync.Mutex
	freshN       int
}

func newSweepWorld(t *testing.T) *sweepWorld {
	t.Helper()
	ctx := context.Background()
	w := &sweepWorld{dashReviewEnv: newDashReviewEnv(t),
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	db := w.srv.DB()
	carl := w.users["carl"]
	now := w.clock.Now().Add(-48 * time.Hour).Truncate(time.Hour)
	secret := schema.NewID()
	c := schema.Case{CRN: "Z777777", GivenName: "Zebedee", FamilyName: "Quixotic", DateOfBirth: "1981-03-04", Address: "77 Hidden Row",
		OfficerID: carl.ID, TeamID: carl.TeamID, SentenceType: "licence", SupervisionStart: "2026-10-01", RoSH: "very_high"}
	v := schema.Visit{OfficerID: carl.ID, PlannedType: "home_announced", Type: "home_announced", Status: "signed", Outcome: "completed",
		Location: "home", FaceToFace: true, StartedAt: schema.TimestampOf(now), EndedAt: schema.TimestampOf(now.Add(time.Hour)),
		PersonSeen: "yes", PartnerPresent: "no_partner", ChildrenPresent: "no_children", ObservationNotes: "a pale blue door",
		SignedAt: schema.TimestampOf(now.Add(2 * time.Hour)), SignedBy: carl.ID}
	w.out = sweepTarget{kind: "out", caseID: secret, records: map[string]string{"case": secret}, device: "dev-carl", officer: carl.ID, username: "carl",
		team: carl.TeamID}
	recs := []schema.Record{{Entity: "case", ID: secret, CaseID: secret, Fields: schema.FieldsOf(c)}}
	add := func(entity string, v any) {
		id := schema.NewID()
		w.out.records[entity] = id
		recs = append(recs, schema.Record{Entity: entity, ID: id, CaseID: secret, Fields: schema.FieldsOf(v)})
	}
	add("visit", v)
	add("household_member", schema.HouseholdMember{Name: "Xanthe Quixotic", Relation: "partner", Residence: "lives_here"})
	add("flag", schema.Flag{Type: "da_perpetrator", StartDate: "2026-10-01", Notes: "Quixotic history"})
	add("safety_assessment", schema.SafetyAssessment{Address: "77 Hidden Row", AssessedOn: schema.DateOf(now), AssessedBy: carl.ID, Dogs: "yes"})
	add("enquiry", schema.Enquiry{Agency: "police", Stage: "review", Notes: "Quixotic callouts"})
	add("referral", schema.Referral{Need: "Quixotic need", IdentifiedOn: schema.DateOf(now), IdentifiedBy: carl.ID})
	add("oversight", schema.Oversight{SubjectEntity: "case", SubjectID: secret, Decision: "noted", Reason: "Quixotic oversight", By: w.sam.ID, At: schema.TimestampOf(now)})
	add("amendment", schema.Amendment{VisitID: w.out.records["visit"], Reason: "Quixotic amendment",
		Changes: rawFields("action_notes", "pale blue door again"), AmendedBy: carl.ID, AmendedAt: schema.TimestampOf(now.Add(3 * time.Hour))})
	if err := db.Seed(ctx, w.admin, recs); err != nil {
		t.Fatalf("seed the secret case: %v", err)
	}
	// The bodies of creates and changes: the secret records' fields, but
	// those that name a person, which the server writes (a client's would
	// be refused before the scope is checked).
	w.out.fields = map[string]map[string]json.RawMessage{"conflict": rawFields("status", "resolved", "resolution", "sweep")}
	for _, r := range recs {
		spec, _ := schema.Entity(r.Entity)
		f := maps.Clone(r.Fields)
		for _, fs := range spec.Fields {
			if fs.Person {
				delete(f, fs.Name)
			}
		}
		w.out.fields[r.Entity] = f
	}
	w.out.conflict = w.makeConflict("carl", secret)
	w.out.records["conflict"] = w.out.conflict
	// A set-aside item belongs to the team of the officer who pushed it
	// (it names the case they named): carl's, refused in asha's case.
	w.out.setAside = w.carlSetAside
	w.out.pushCase, w.out.pushRecord = w.carlCase, schema.NewID()
	if err := db.Seed(ctx, w.admin, []schema.Record{{Entity: "visit", ID: w.out.pushRecord, CaseID: w.carlCase,
		Fields: rawFields("status", "planned", "planned_type", "home_announced")}}); err != nil {
		t.Fatal(err)
	}
	// Team B's October, published, with the secret case in its lists.
	w.out.period = w.publishSecret(t, carl.TeamID)
	w.missing = sweepTarget{kind: "missing", caseID: schema.NewID(), records: map[string]string{}, fields: w.out.fields, conflict: schema.NewID(),
		setAside: schema.NewID(), pushCase: schema.NewID(), pushRecord: schema.NewID(), device: "dev-nobody", officer: schema.NewID(), username: "nobody",
		team: schema.NewID(), period: schema.NewID()}
	for e := range w.out.records {
		w.missing.records[e] = schema.NewID()
	}
	w.missing.records["case"] = w.missing.caseID

	// The callers. Team B's case is out of every scope but the auditor's
	// and the admin's.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	root, at := w.users["root"].ID, w.clock.Now()
	w.callers = []sweepCaller{
		{name: "anonymous"},
		{name: "alg none", token: forge(t, root, at, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)},
		{name: "alg RS256", token: forge(t, root, at, jwt.SigningMethodRS256, rsaKey)},
		{name: "alg ES256", token: forge(t, root, at, jwt.SigningMethodES256, ecKey)},
		{name: "another key", token: forge(t, root, at, jwt.SigningMethodHS256, []byte("a key of thirty-two bytes, guessed"))},
	}
	for _, u := range []string{"asha", "sue", "audrey", "root"} {
		c, spare := w.caller(t, u), w.caller(t, u)
		c.spare = &spare
		w.callers = append(w.callers, c)
	}
	return w
}

// publishSecret publishes team's October as the admin and returns the
// publication's id.
func (w *sweepWorld) publishSecret(t *testing.T, team string) string {
	t.Helper()
	ctx := context.Background()
	root := serverdb.ActorOf(w.users["root"], "")
	pf, seq, err := w.srv.Compliance().ScopeFigures(ctx, root, team, compliance.Period{From: "2026-10-01", To: "2026-10-31"}, "2026-10-31")
	if err != nil {
		t.Fatal(err)
	}
	if pf.CRNs[w.out.caseID] != "Z777777" {
		t.Fatalf("the secret case is not in team B's published lists: %v", pf.CRNs)
	}
	b, err := json.Marshal(pf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.srv.DB().PublishPeriod(ctx, root, serverdb.PublicationInput{TeamID: team, From: "2026-10-01", To: "2026-10-31", AsOf: "2026-10-31",
		RuleVersion: pf.RuleVersion, RulesTag: w.srv.RulesTag(), Seq: seq, Figures: b})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// caller signs username in to the API and, when the dashboard lets them,
// to the dashboard.
func (w *sweepWorld) caller(t *testing.T, username string) sweepCaller {
	t.Helper()
	u := w.users[username]
	w.fresh.Lock()
	w.freshN++
	n := w.freshN
	w.fresh.Unlock()
	c := sweepCaller{name: username + " (" + string(u.Role) + ")", role: string(u.Role), username: username,
		seesB: u.Role == schema.RoleAuditor || u.Role == schema.RoleAdmin,
		token: w.login(username, fmt.Sprintf("dev-%s-sweep-%d", username, n)).AccessToken}
	if u.Role != schema.RoleOfficer {
		b := w.signedIn(t, username)
		b.get("/dashboard/")
		for _, ck := range b.c.Jar.Cookies(mustURL(t, w.url+"/dashboard/")) {
			if ck.Name == dashCookie {
				c.cookie = ck.Name + "=" + ck.Value
			}
		}
		c.csrf = b.csrf
		if c.cookie == "" || c.csrf == "" {
			t.Fatalf("no dashboard session for %s", username)
		}
	}
	return c
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func forgeClaims(sub string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{"iss": server.TokenIssuer, "sub": sub, "aud": "doorstep-api", "role": "admin", "dev": "dev-root",
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
}

// forge signs an admin's claims for sub with method and key: the forged
// tokens of the sweep (alg none; the algorithm-confusion attack's other
// half, a public-key algorithm with the attacker's key; the right
// algorithm with another key).
func forge(t *testing.T, sub string, now time.Time, method jwt.SigningMethod, key any) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, forgeClaims(sub, now)).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fingerprint is the state a refused request must leave as it was: every
// record's fields, the last sequence number, the users and teams.
func (w *sweepWorld) fingerprint(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	db := w.srv.DB()
	var names []string
	for _, s := range schema.Entities() {
		names = append(names, s.Name)
	}
	recs, err := db.ListRaw(ctx, serverdb.Actor{Role: schema.RoleAdmin}, names)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := db.MaxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	teams, err := db.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal([]any{recs, seq, users, teams})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// sweepRequest is one request of the sweep.
type sweepRequest struct {
	route, method, path string // path with the parameters filled in
	rule                sweepRule
	entity, kind        string // the :path entity, the :kind of review
	target              *sweepTarget
	query               bool // the GET carries the target's ids in its query
}

type sweepAnswer struct {
	status   int
	location string
	body     []byte
}

func (w *sweepWorld) send(t *testing.T, c sweepCaller, r sweepRequest) (sweepAnswer, string) {
	t.Helper()
	tgt := w.out
	if r.target != nil {
		tgt = *r.target
	}
	path := r.path
	path = strings.ReplaceAll(path, ":kind", r.kind)
	var id string
	switch r.rule.id {
	case "case":
		id = tgt.caseID
	case "record":
		id = tgt.records[r.entity]
	case "conflict":
		id = tgt.conflict
	case "set_aside":
		id = tgt.setAside
	case "device":
		id = tgt.device
	case "officer":
		id = tgt.officer
	case "username":
		id = tgt.username
	case "visit":
		id = tgt.records["visit"]
	case "review":
		id = tgt.review(r.kind)
	case "period":
		id = tgt.period
	}
	path = strings.NewReplacer(":id", id, ":mutation_id", id, ":username", id).Replace(path)
	if r.query {
		path += "?" + url.Values{"case_id": {tgt.caseID}, "officer_id": {tgt.officer}, "officer": {tgt.officer},
			"user_id": {tgt.officer}, "device_id": {tgt.device}, "q": {"Zebedee"}}.Encode()
	}
	if r.rule.query != "" {
		if strings.Contains(path, "?") {
			path += "&" + r.rule.query
		} else {
			path += "?" + r.rule.query
		}
	}
	var body io.Reader
	ctype := "application/json"
	var sent string
	if r.rule.body != nil {
		switch b := r.rule.body(tgt, r.entity).(type) {
		case rawBody:
			sent = string(b)
		case url.Values:
			if c.csrf != "" {
				b.Set("_csrf", c.csrf)
			}
			ctype = "application/x-www-form-urlencoded"
			sent = b.Encode()
		default:
			j, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			sent = string(j)
		}
		body = strings.NewReader(sent)
	}
	req, err := http.NewRequest(r.method, w.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
	req.Header.Set(schema.HeaderSchema, strconv.Itoa(schema.SchemaVersion))
	if strings.HasPrefix(r.path, "/dashboard") && r.method == "POST" {
		req.Header.Set("Origin", w.url)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.cookie)
	}
	res, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: no answer: %v", r.method, path, c.name, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sweepAnswer{status: res.StatusCode, location: res.Header.Get("Location"), body: b}, r.method + " " + path + " " + sent
}

var errorPageRE = regexp.MustCompile(`(?s)<div class="narrow" id="error-page">(.*?)</div>`)

// shape is what of an answer must not differ between an out-of-scope id
// and a missing one: the status, where it redirects, and the error (code,
// field, message), with the ids read as a placeholder.
func (a sweepAnswer) shape(ids []string) string {
	norm := func(s string) string {
		for _, id := range ids {
			if id != "" {
				s = strings.ReplaceAll(s, id, "ID")
				s = strings.ReplaceAll(s, url.QueryEscape(id), "ID")
			}
		}
		return s
	}
	var er schema.ErrorResponse
	var pr schema.PushResponse
	detail := ""
	if json.Unmarshal(a.body, &pr) == nil && len(pr.Results) > 0 {
		// A push names a record: stored out of scope, it is refused on
		// record_id; new, in a case out of scope or missing, on case_id.
		// Both are out_of_scope; that a record id is taken is not hidden
		// (as a REST create's 404 on id does not hide it; decision 0019).
		for _, r := range pr.Results {
			detail += r.Status + " "
			if r.Error != nil {
				detail += r.Error.Code + " "
			}
		}
	} else if json.Unmarshal(a.body, &er) == nil && er.Error.Code != "" {
		detail = fmt.Sprintf("%s %s %s", er.Error.Code, er.Error.Field, er.Error.Message)
	} else if m := errorPageRE.FindSubmatch(a.body); m != nil {
		detail = string(m[1])
	} else if a.status >= 300 {
		detail = string(a.body)
	}
	return fmt.Sprintf("%d %s %s", a.status, norm(a.location), norm(detail))
}

func TestAttackSweep(t *testing.T) {
	t.Parallel()
	w := newSweepWorld(t)
	start := w.fingerprint(t)

	var reqs []sweepRequest
	missingRule := map[string]bool{}
	seen := map[string]bool{}
	for _, rt := range w.srv.App().GetRoutes(true) {
		key := rt.Method + " " + rt.Path
		ruleKey := key
		if rt.Method == "HEAD" {
			ruleKey = "GET " + rt.Path
		}
		rule, ok := sweepRules[ruleKey]
		if !ok {
			missingRule[key] = true
			continue
		}
		seen[ruleKey] = true
		base := sweepRequest{route: key, method: rt.Method, path: rt.Path, rule: rule}
		var expanded []sweepRequest
		switch {
		case strings.Contains(rt.Path, ":path"):
			for _, s := range schema.Entities() {
				r := base
				r.entity, r.path = s.Name, strings.Replace(rt.Path, ":path", s.Path, 1)
				expanded = append(expanded, r)
			}
		case strings.Contains(rt.Path, ":kind"):
			for _, k := range reviewKinds {
				r := base
				r.kind = k.Path
				expanded = append(expanded, r)
			}
		case strings.Contains(rt.Path, ":slug"):
			base.path = strings.Replace(rt.Path, ":slug", "contacts", 1)
			expanded = append(expanded, base)
		case strings.Contains(rt.Path, ":name"):
			base.path = strings.Replace(rt.Path, ":name", "dash.css", 1)
			expanded = append(expanded, base)
		default:
			expanded = append(expanded, base)
		}
		reqs = append(reqs, expanded...)
	}
	for key := range missingRule {
		t.Errorf("route %s has no rule in sweepRules: say who may call it and what its ids name", key)
	}
	for key := range sweepRules {
		if !seen[key] {
			t.Errorf("sweepRules has a rule for %s, which the router does not serve", key)
		}
	}

	var mu sync.Mutex
	requests := 0
	var admin sweepCaller
	for _, c := range w.callers {
		if c.role == string(schema.RoleAdmin) {
			admin = c
		}
	}
	t.Run("callers", func(t *testing.T) {
		for _, c := range w.callers {
			if c.role == string(schema.RoleAdmin) {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				for _, r := range reqs {
					w.sweepOne(t, c, r, start, &mu, &requests)
				}
			})
		}
	})
	t.Run("bodies", func(t *testing.T) {
		w.sweepBodies(t, reqs, start)
	})
	// Nothing any of them sent changed a record, a user or a team (each
	// write was also checked as it went).
	if got := w.fingerprint(t); got != start {
		t.Errorf("the sweep changed the database")
	}
	// The admin last: their writes may succeed.
	t.Run(admin.name, func(t *testing.T) {
		for _, r := range reqs {
			w.sweepOne(t, admin, r, start, &mu, &requests)
		}
	})
	t.Logf("%d routes, %d requests", len(reqs), requests)
	t.Run("SQL-significant text", func(t *testing.T) { w.sweepSQLText(t, admin) })
}

// sweepOne tries route r as caller c: once with the secret case's ids,
// once with ids nobody holds, and for a GET once plain. In -short mode
// (CI's race run) a HEAD, which runs its GET's handler, is left out, and
// each caller tries each route once, with the secret case's ids (the
// other variants run in the plain pass; under -race the whole sweep took
// seven minutes).
func (w *sweepWorld) sweepOne(t *testing.T, c sweepCaller, r sweepRequest, start string, mu *sync.Mutex, n *int) {
	t.Helper()
	if testing.Short() && r.method == "HEAD" {
		return
	}
	forged := c.role == "" && c.token != ""
	lean := forged || testing.Short()
	if r.rule.fresh && c.spare != nil {
		c = *c.spare
	}
	variants := []sweepRequest{}
	withQuery := r.method == "GET" || r.method == "HEAD"
	out, missing := r, r
	out.target, missing.target = &w.out, &w.missing
	out.query, missing.query = withQuery, withQuery
	variants = append(variants, out)
	hasIDs := r.rule.id != "" || r.rule.body != nil || withQuery
	if hasIDs && !lean {
		variants = append(variants, missing)
	}
	if withQuery && !lean {
		plain := r
		variants = append(variants, plain)
	}
	answers := make([]sweepAnswer, len(variants))
	for i, v := range variants {
		a, sent := w.send(t, c, v)
		mu.Lock()
		*n++
		mu.Unlock()
		answers[i] = a
		what := fmt.Sprintf("%s as %s (%s)", r.route, c.name, sent)
		if a.status >= 500 {
			t.Errorf("%s: %d %s, want no 5xx", what, a.status, a.body)
		}
		if !c.allowed(r.rule.who) && a.status >= 200 && a.status < 300 {
			t.Errorf("%s: %d, want refused: the route is for %q", what, a.status, r.rule.who)
		}
		if forged && a.status != 401 && !(a.status == 303 || a.status == 403) && r.rule.who != anyone {
			t.Errorf("%s: %d, want a forged token refused", what, a.status)
		}
		if !c.seesB {
			for _, m := range sweepMarkers {
				if bytes.Contains(a.body, []byte(m)) && !strings.Contains(sent, m) {
					t.Errorf("%s: the answer holds %q of team B's case: %.300s", what, m, a.body)
				}
			}
			for _, id := range w.out.ids() {
				if id != "" && bytes.Contains(a.body, []byte(id)) && !strings.Contains(sent, id) {
					t.Errorf("%s: the answer holds team B's id %s: %s", what, id, a.body)
				}
			}
		}
		if c.role != "admin" && r.method != "GET" && r.method != "HEAD" {
			if got := w.fingerprint(t); got != start {
				t.Fatalf("%s: %d %s: the database changed", what, a.status, a.body)
			}
		}
	}
	if len(variants) >= 2 && !c.seesB && r.rule.noCompare == "" && r.method != "HEAD" {
		ids := append(w.out.ids(), w.missing.ids()...)
		if o, m := answers[0].shape(ids), answers[1].shape(ids); o != m {
			t.Errorf("%s as %s: an out-of-scope id answers\n\t%s\nbut a missing one\n\t%s", r.route, c.name, o, m)
		}
	}
}

// rawBody is a body sent as it is.
type rawBody string

// sweepBodies sends every route that takes a body an oversized one and a
// deeply nested one, as an officer and as a supervisor: each is refused
// with a 4xx error (JSON for the API), never a 5xx or a reset, and changes
// nothing.
func (w *sweepWorld) sweepBodies(t *testing.T, reqs []sweepRequest, start string) {
	var asha, sue sweepCaller
	for _, c := range w.callers {
		switch c.username {
		case "asha":
			asha = c
		case "sue":
			sue = c
		}
	}
	big := `{"fields": {"notes": "` + strings.Repeat("a", schema.MaxBody+1) + `"}}`
	deep := strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)
	deepObject := strings.Repeat(`{"a":`, 50_000) + "1" + strings.Repeat("}", 50_000)
	for _, r := range reqs {
		if r.rule.body == nil || r.rule.fresh {
			continue
		}
		callers := []sweepCaller{asha, sue}
		if strings.HasPrefix(r.path, "/dashboard/") {
			callers = callers[1:] // asha has no session: redirected to sign in
		}
		oversized := big
		if r.path == "/v1/sync/push" {
			oversized = `{"mutations": [], "pad": "` + strings.Repeat("a", schema.MaxPushBody) + `"}`
		}
		for _, c := range callers {
			for name, body := range map[string]string{"oversized": oversized, "nested array": deep, "nested object": deepObject} {
				rr := r
				rr.rule.body = func(sweepTarget, string) any { return rawBody(body) }
				a, _ := w.send(t, c, rr)
				what := fmt.Sprintf("%s as %s, %s body (%d bytes)", r.route, c.name, name, len(body))
				if a.status < 400 || a.status >= 500 {
					t.Errorf("%s: %d %.200s, want a 4xx refusal", what, a.status, a.body)
				}
				var er schema.ErrorResponse
				if strings.HasPrefix(r.path, "/v1/") && (json.Unmarshal(a.body, &er) != nil || er.Error.Code == "") {
					t.Errorf("%s: %d %.200s, want a JSON error", what, a.status, a.body)
				}
			}
		}
	}
	if got := w.fingerprint(t); got != start {
		t.Errorf("the oversized and nested bodies changed the database")
	}
}

// sqlTexts are strings that mean something to SQL (or to a LIKE, or to C).
var sqlTexts = []string{`'; DROP TABLE records; --`, `%`, `_`, `"quoted" and 'single'`, `' OR '1'='1`, `back\\slash`, "nul\x00byte"}

// sweepSQLText writes each SQL-significant text into every free-text field
// of every entity, by POST (or PATCH for the entities the server creates)
// and by push, as the admin: each is stored and read back verbatim, or
// refused with a 400 naming the field, and nothing else changes.
func (w *sweepWorld) sweepSQLText(t *testing.T, admin sweepCaller) {
	do := func(method, path string, body any) sweepAnswer {
		t.Helper()
		a, _ := w.send(t, admin, sweepRequest{method: method, path: path, rule: sweepRule{body: func(sweepTarget, string) any { return body }}})
		return a
	}
	ctx := context.Background()
	before, err := w.srv.DB().ListRaw(ctx, serverdb.Actor{Role: schema.RoleAdmin}, []string{"case", "visit", "household_member"})
	if err != nil {
		t.Fatal(err)
	}
	written := map[string]bool{}
	for _, spec := range schema.Entities() {
		base := w.out.fields[spec.Name]
		for _, f := range spec.Fields {
			if f.Type.Kind() != reflect.String || len(f.Enum) > 0 || f.Person || f.ServerOnly || f.Max < 64 || strings.HasSuffix(f.Name, "_id") {
				continue
			}
			for i, text := range sqlTexts {
				fields := map[string]json.RawMessage{}
				for k, v := range base {
					fields[k] = v
				}
				fields[f.Name], _ = json.Marshal(text)
				what := fmt.Sprintf("%s.%s = %q", spec.Name, f.Name, text)
				var a sweepAnswer
				id := w.out.records[spec.Name]
				byPush := i%2 == 1
				switch {
				case spec.Name == "case" || spec.Name == "conflict":
					// Created by the admin alone, or by the server: changed in place.
					a = do("PATCH", "/v1/"+spec.Path+"/"+id, map[string]any{"fields": map[string]json.RawMessage{f.Name: fields[f.Name]}})
					byPush = false
				case byPush:
					id = schema.NewID()
					a = do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{{ID: schema.NewID(), Entity: spec.Name,
						RecordID: id, CaseID: w.out.caseID, Fields: fields, Clock: schema.HLC{Wall: w.clock.Now().UnixMilli(), Node: "dev-root"}}}})
				default:
					id = schema.NewID()
					a = do("POST", "/v1/"+spec.Path, map[string]any{"id": id, "case_id": w.out.caseID, "fields": fields})
				}
				var er schema.ErrorResponse
				if a.status == 400 && json.Unmarshal(a.body, &er) == nil && strings.HasSuffix(er.Error.Field, f.Name) {
					continue // refused, naming the field: fine (a NUL, say)
				}
				if byPush {
					var pr schema.PushResponse
					if a.status != 200 || json.Unmarshal(a.body, &pr) != nil || len(pr.Results) != 1 {
						t.Errorf("%s by push: %d %s", what, a.status, a.body)
						continue
					}
					if r := pr.Results[0]; r.Status != schema.StatusApplied {
						if r.Error != nil && r.Error.Code != schema.ECodeInternal && strings.HasSuffix(r.Error.Field, f.Name) {
							continue
						}
						t.Errorf("%s by push: %+v, want applied", what, r)
						continue
					}
				} else if a.status != 200 && a.status != 201 {
					t.Errorf("%s: %d %s, want it stored", what, a.status, a.body)
					continue
				}
				written[id] = true
				got := do("GET", "/v1/"+spec.Path+"/"+id, nil)
				var rec schema.Record
				if got.status != 200 || json.Unmarshal(got.body, &rec) != nil {
					t.Errorf("%s: read back %d %s", what, got.status, got.body)
					continue
				}
				var back string
				if err := json.Unmarshal(rec.Fields[f.Name], &back); err != nil || back != text {
					t.Errorf("%s: read back %s, want it verbatim", what, rec.Fields[f.Name])
				}
			}
		}
	}
	after, err := w.srv.DB().ListRaw(ctx, serverdb.Actor{Role: schema.RoleAdmin}, []string{"case", "visit", "household_member"})
	if err != nil {
		t.Fatal(err)
	}
	// Every other record is as it was (the secret case itself was written).
	kept := func(rs []schema.RawRecord) map[string]string {
		m := map[string]string{}
		for _, r := range rs {
			if !written[r.ID] && r.ID != w.out.caseID {
				m[r.ID] = string(r.Fields)
			}
		}
		return m
	}
	if b, a := kept(before), kept(after); !maps.Equal(b, a) {
		t.Errorf("records not written changed: %d before, %d after", len(b), len(a))
	}
	if len(written) == 0 {
		t.Errorf("nothing was written")
	}

}
