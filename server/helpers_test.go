package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	serverdb.SetPasswordCost(bcrypt.MinCost)
	os.Exit(m.Run())
}

const pw = "correct horse battery"

// env is a real server on 127.0.0.1:0 over a fresh data folder, with two
// officers of team A, a supervisor, an officer of team B, an admin and an
// auditor, and one case each for asha and ben.
type env struct {
	t                 testing.TB
	srv               *Server
	clock             *testkit.Clock
	url               string
	admin             serverdb.Actor
	users             map[string]schema.User
	ashaCase, benCase string
	teamA, teamB      schema.Team
	scratch           any          // a value a scenario's steps pass along
	client            *http.Client // nil: http.DefaultClient
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the server's Config changed by tweak first.
func newEnvWith(t testing.TB, tweak func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow)
	cfg := Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data"), DB: serverdbtest.ConfigDB(t), Now: clock.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, clock: clock, url: srv.URL(), users: map[string]schema.User{},
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

func (r resp) errorResponse() schema.ErrorResponse {
	var er schema.ErrorResponse
	_ = json.Unmarshal(r.body, &er)
	return er
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
	r.decodeAny(t, v)
}

// decodeAny decodes the answer into v whatever its status: for an answer
// whose failure has a body of its own (GET /readyz's 503).
func (r resp) decodeAny(t testing.TB, v any) {
	t.Helper()
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
	client := http.DefaultClient
	if e.client != nil {
		client = e.client
	}
	res, err := client.Do(req)
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

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

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

func visitMutation(caseID, node string, wall int64) schema.Mutation {
	return schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: caseID,
		Fields: rawFields("status", "planned", "planned_type", "home_announced"),
		Clock:  schema.HLC{Wall: wall, Node: node}, DeviceTime: synth.DefaultNow}
}
