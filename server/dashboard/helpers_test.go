package dashboard

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	serverdb.SetPasswordCost(bcrypt.MinCost)
	os.Exit(m.Run())
}

const pw = "correct horse battery"

// The helpers below are those of package server's tests (helpers_test.go,
// compliance_test.go, review_test.go), with the dashboard mounted: the
// dashboard's tests drive a whole server.

// env is a real server on 127.0.0.1:0 over a fresh data folder, with the
// dashboard mounted, with two
// officers of team A, a supervisor, an officer of team B, an admin and an
// auditor, and one case each for asha and ben.
type env struct {
	t                 testing.TB
	srv               *server.Server
	clock             *testkit.Clock
	url               string
	admin             serverdb.Actor
	users             map[string]schema.User
	ashaCase, benCase string
	teamA, teamB      schema.Team
	dataDir           string
	db                string // the PostgreSQL URL of the store; "": SQLite in dataDir
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, serverdbtest.ConfigDB(t))
}

// newEnvOn is newEnv on the PostgreSQL database of the URL db (SQLite in
// the data folder when empty).
func newEnvOn(t testing.TB, dbURL string) *env {
	t.Helper()
	return newEnvWith(t, dbURL, nil)
}

// newEnvWith is newEnvOn with the server's Config changed by tweak first.
func newEnvWith(t testing.TB, dbURL string, tweak func(*server.Config)) *env {
	t.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow)
	dataDir := filepath.Join(t.TempDir(), "data")
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: dataDir, DB: dbURL, Now: clock.Now, Mount: Mount}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := server.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, clock: clock, url: srv.URL(), users: map[string]schema.User{}, dataDir: dataDir, db: dbURL,
		admin: serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}}
	db := srv.DB()
	e.teamA = schema.Team{ID: schema.NewID(), Name: "Team A"}
	e.teamB = schema.Team{ID: schema.NewID(), Name: "Team B"}
	for _, tm := range []schema.Team{e.teamA, e.teamB} {
		if err := db.CreateTeam(ctx, e.admin, tm); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []schema.User{
		{Username: "asha", Role: schema.RoleOfficer, TeamID: e.teamA.ID},
		{Username: "ben", Role: schema.RoleOfficer, TeamID: e.teamA.ID},
		{Username: "sue", Role: schema.RoleSupervisor, TeamID: e.teamA.ID},
		{Username: "carl", Role: schema.RoleOfficer, TeamID: e.teamB.ID},
		{Username: "root", Role: schema.RoleAdmin},
		{Username: "audrey", Role: schema.RoleAuditor},
	} {
		u.ID, u.Name = schema.NewID(), u.Username
		if err := db.CreateUser(ctx, e.admin, u, pw); err != nil {
			t.Fatal(err)
		}
		e.users[u.Username] = u
	}
	e.ashaCase, e.benCase = schema.NewID(), schema.NewID()
	if err := db.Seed(ctx, e.admin, []schema.Record{e.caseRecord(e.ashaCase, "A000001", "asha"), e.caseRecord(e.benCase, "B000002", "ben")}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) caseRecord(id, crn, officer string) schema.Record {
	u := e.users[officer]
	c := schema.Case{CRN: crn, GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
		OfficerID: u.ID, TeamID: u.TeamID, SentenceType: "community_order", SupervisionStart: "2026-10-01", RoSH: "high"}
	return schema.Record{Entity: "case", ID: id, CaseID: id, Fields: schema.FieldsOf(c)}
}

// resp is an answer, its body decoded when it is JSON.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes a successful answer into v. An error answer (4xx, 5xx)
// fails t, saying what came, unless v is a *schema.ErrorResponse: decoded
// into a value, an error's body would leave it empty, and the test would
// fail later for a reason it cannot name (TestPublishingAgainSupersedes's
// first publication, refused when PostgreSQL had no connection left,
// showed as a second one accepted; decision 0139).
func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if _, isErr := v.(*schema.ErrorResponse); r.status >= 400 && !isErr {
		t.Fatalf("decode: the answer is an error, %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request. body may be a string, []byte or a value to encode.
func (e *env) do(method, path string, body any, headers map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
	req.Header.Set(schema.HeaderSchema, strconv.Itoa(schema.SchemaVersion))
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" && !res.Uncompressed {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// login signs username in on device and returns the token pair.
func (e *env) login(username, device string) schema.TokenResponse {
	e.t.Helper()
	r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: username, Password: pw, DeviceID: device}, nil)
	if r.status != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.status, r.body)
	}
	var tr schema.TokenResponse
	r.decode(e.t, &tr)
	return tr
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// counts is what must not move when a request is refused.
type counts struct{ records, audit, mutations int }

func (e *env) counts() counts {
	e.t.Helper()
	ctx := context.Background()
	var c counts
	var err error
	if c.records, err = e.srv.DB().CountRecords(ctx, ""); err != nil {
		e.t.Fatal(err)
	}
	// The events of changes: a refusal leaves a "refused" event, and a read
	// its own, which change nothing.
	if c.audit, err = e.srv.DB().AuditChangeCount(ctx); err != nil {
		e.t.Fatal(err)
	}
	if c.mutations, err = e.srv.DB().MutationCount(ctx, ""); err != nil {
		e.t.Fatal(err)
	}
	return c
}

func rawFields(kv ...any) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		m[kv[i].(string)] = b
	}
	return m
}

// complianceNow is "today" in the compliance tests.
var complianceNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// daSet is the hand-built dataset of the compliance tests: its case ids by
// name. The env's own cases (ashaCase, benCase: high RoSH, started
// 2026-10-01, no flag, no visit) are in it too.
type daSet struct {
	onTime, onDueDay, late, missed, notYetDue, exempted, phoneOnly string // DA, started in the period, team A
	nonDA, beforePeriod, reassigned                                string
	sue, bea                                                       schema.User
	exemptReason                                                   string
}

// seedCompliance builds the dataset with known answers. The period is
// 2026-09-01..2026-10-31; today is 2026-11-23.
func seedCompliance(t *testing.T, e *env) *daSet {
	t.Helper()
	ctx := context.Background()
	e.clock.Set(complianceNow)
	d := &daSet{sue: e.users["sue"]}
	d.bea = schema.User{ID: schema.NewID(), Username: "bea", Name: "Bea B", Role: schema.RoleSupervisor, TeamID: e.teamB.ID}
	if err := e.srv.DB().CreateUser(ctx, e.admin, d.bea, pw); err != nil {
		t.Fatal(err)
	}
	e.users["bea"] = d.bea
	var recs []schema.Record
	n := 0
	addCase := func(id *string, officer, rosh, start string, da bool) string {
		n++
		*id = schema.NewID()
		u := e.users[officer]
		c := schema.Case{CRN: fmt.Sprintf("D%06d", n), GivenName: "Case", FamilyName: fmt.Sprint(n), DateOfBirth: "1985-05-05",
			Address: "1 High St", OfficerID: u.ID, TeamID: u.TeamID, SentenceType: "community_order",
			SupervisionStart: schema.Date(start), RoSH: rosh}
		recs = append(recs, schema.Record{Entity: "case", ID: *id, CaseID: *id, Fields: schema.FieldsOf(c)})
		if da {
			f := schema.Flag{Type: "da_perpetrator", StartDate: schema.Date(start)}
			recs = append(recs, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: *id, Fields: schema.FieldsOf(f)})
		}
		return *id
	}
	visit := func(caseID, officer, day, typ, outcome string, f2f bool) {
		u := e.users[officer]
		at := schema.Timestamp(day + "T10:00:00+01:00")
		v := schema.Visit{OfficerID: u.ID, PlannedType: typ, Type: typ, Status: "signed", Outcome: outcome, Location: "home",
			FaceToFace: f2f, StartedAt: at, EndedAt: schema.Timestamp(day + "T10:45:00+01:00"), PersonSeen: "yes",
			PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: schema.Timestamp(day + "T11:00:00+01:00"), SignedBy: u.ID}
		if typ == "phone" {
			v.Location = ""
		}
		if outcome != "completed" {
			v.OutcomeReason = "nobody came to the door"
			v.PersonSeen = "no"
		}
		recs = append(recs, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)})
	}
	// Six domestic-abuse cases starting in the period, plus a phone-only one.
	visit(addCase(&d.onTime, "asha", "high", "2026-09-01", true), "asha", "2026-09-10", "home_announced", "completed", true)
	visit(addCase(&d.onDueDay, "asha", "high", "2026-09-05", true), "asha", "2026-09-20", "home_unannounced", "completed", true) // due 09-20
	visit(addCase(&d.late, "ben", "medium", "2026-09-10", true), "ben", "2026-10-25", "home_announced", "completed", true)       // due 10-22
	visit(addCase(&d.missed, "ben", "high", "2026-09-15", true), "ben", "2026-09-25", "home_unannounced", "no_answer", true)     // due 09-30; an attempt
	addCase(&d.notYetDue, "asha", "high", "2026-10-20", true)                                                                    // due 11-04
	addCase(&d.exempted, "ben", "high", "2026-09-20", true)
	d.exemptReason = "partner hostile to staff; meet at the office"
	sa := schema.SafetyAssessment{Address: "1 High St", AssessedOn: "2026-09-21", AssessedBy: e.users["ben"].ID,
		Decision: "not_approved", DecisionReason: d.exemptReason, DecidedBy: d.sue.ID, DecidedOn: "2026-09-22"}
	recs = append(recs, schema.Record{Entity: "safety_assessment", ID: schema.NewID(), CaseID: d.exempted, Fields: schema.FieldsOf(sa)})
	visit(addCase(&d.phoneOnly, "asha", "high", "2026-09-25", true), "asha", "2026-10-01", "phone", "completed", false) // due 10-10
	// Not in the measure: no DA flag; started before the period; moved to team B.
	addCase(&d.nonDA, "asha", "high", "2026-09-03", false)
	visit(addCase(&d.beforePeriod, "ben", "high", "2026-08-01", true), "ben", "2026-08-10", "home_announced", "completed", true)
	visit(addCase(&d.reassigned, "asha", "high", "2026-09-12", true), "asha", "2026-09-20", "home_announced", "completed", true)
	if err := e.srv.DB().Seed(ctx, e.admin, recs); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.DB().ReassignCase(ctx, e.admin, d.reassigned, "carl"); err != nil {
		t.Fatal(err)
	}
	return d
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func (e *env) getJSON(t *testing.T, path, token string, v any) resp {
	t.Helper()
	r := e.do("GET", path, nil, bearer(token))
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	r.decode(t, v)
	return r
}

// reviewEnv adds to env a team B supervisor (sam), a case of carl's, and an
// open conflict in asha's case and in carl's, made by pushes.
type reviewEnv struct {
	*env
	sam                        schema.User
	carlCase                   string
	ashaConflict, carlConflict string
	tokens                     map[string]string // username -> access token
}

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	ctx := context.Background()
	e := &reviewEnv{env: newEnv(t), tokens: map[string]string{}}
	db := e.srv.DB()
	e.sam = schema.User{ID: schema.NewID(), Username: "sam", Name: "sam", Role: schema.RoleSupervisor, TeamID: e.teamB.ID}
	if err := db.CreateUser(ctx, e.admin, e.sam, pw); err != nil {
		t.Fatal(err)
	}
	e.users["sam"] = e.sam
	e.carlCase = schema.NewID()
	if err := db.Seed(ctx, e.admin, []schema.Record{e.caseRecord(e.carlCase, "C000003", "carl")}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"asha", "carl", "sue", "sam", "root", "audrey"} {
		e.tokens[u] = e.login(u, "dev-"+u).AccessToken
	}
	e.ashaConflict = e.makeConflict("asha", e.ashaCase)
	e.carlConflict = e.makeConflict("carl", e.carlCase)
	return e
}

// push sends mutations as username's tablet and returns the results.
func (e *reviewEnv) push(username string, muts ...schema.Mutation) []schema.MutationResult {
	e.t.Helper()
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: muts}, bearer(e.tokens[username]))
	if r.status != 200 {
		e.t.Fatalf("push: %d %s", r.status, r.body)
	}
	var pr schema.PushResponse
	r.decode(e.t, &pr)
	return pr.Results
}

func (e *reviewEnv) makeConflict(username, caseID string) string {
	e.t.Helper()
	dev := "dev-" + username
	vid := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: caseID,
		Fields: rawFields("status", "draft", "outcome_reason", "server value"), Clock: schema.HLC{Wall: 2000, Node: dev}}
	e.push(username, m)
	m.ID, m.Clock, m.Fields = schema.NewID(), schema.HLC{Wall: 1000, Node: dev}, rawFields("outcome_reason", "losing value")
	if res := e.push(username, m); res[0].Status != schema.StatusConflict {
		e.t.Fatalf("older write = %+v, want conflict", res[0])
	}
	recs, err := e.srv.DB().List(context.Background(), serverdb.Actor{Role: schema.RoleAdmin}, "conflict", caseID)
	if err != nil || len(recs) != 1 {
		e.t.Fatalf("conflicts of %s: %d %v", caseID, len(recs), err)
	}
	return recs[0].ID
}
