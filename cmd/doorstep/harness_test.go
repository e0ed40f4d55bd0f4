package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/syncer"
)

// cluster is one real server on 127.0.0.1 with a small synthetic team; the
// tests add real tablet agents to it. Only the network between them is ever
// faked (see faults_test.go). The server and the tablets read one settable
// clock, which starts at testEpoch and moves only when a test moves it: a
// test orders two edits' HLC stamps by advancing it, not by sleeping.
type cluster struct {
	t        *testing.T
	dir      string
	clock    *testkit.Clock
	srv      *server.Server
	users    map[string]schema.User // by username
	cases    map[string][]string    // officer id -> case ids
	officers []schema.User
}

const testPassword = "test-password-not-secret"

// testEpoch is the cluster's "now", a fixed date so that no test depends on
// the real one.
var testEpoch = synth.DefaultNow

func quietLogger() *slog.Logger {
	if os.Getenv("DOORSTEP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newCluster(t *testing.T, casesPerOfficer int) *cluster {
	return newClusterWith(t, casesPerOfficer, 0)
}

// newClusterWith sets the access tokens' lifetime (0: the default).
func newClusterWith(t *testing.T, casesPerOfficer int, accessTTL time.Duration) *cluster {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	clock := testkit.NewClock(testEpoch)
	srv, err := openServer(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: quietLogger(), AccessTTL: accessTTL, Now: clock.Now})
	if err != nil {
		t.Fatalf("open server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	c := &cluster{t: t, dir: dir, clock: clock, srv: srv, users: map[string]schema.User{}, cases: map[string][]string{}}
	ds := synth.Generate(synth.Options{Seed: 3, Teams: 1, OfficersPerTeam: 2, CasesPerOfficer: casesPerOfficer, Now: testEpoch, HistoryDays: 60})
	for _, tm := range ds.Teams {
		if err := srv.DB().CreateTeam(ctx, cliActor, tm); err != nil {
			t.Fatalf("create team: %v", err)
		}
	}
	for _, u := range ds.Users {
		if err := srv.DB().CreateUser(ctx, cliActor, u, testPassword); err != nil {
			t.Fatalf("create user %s: %v", u.Username, err)
		}
		c.users[u.Username] = u
		if u.Role == schema.RoleOfficer {
			c.officers = append(c.officers, u)
		}
	}
	sort.Slice(c.officers, func(i, j int) bool { return c.officers[i].Username < c.officers[j].Username })
	for _, r := range ds.Records {
		if r.Entity == "case" {
			var cs schema.Case
			if err := r.Decode(&cs); err != nil {
				t.Fatal(err)
			}
			c.cases[cs.OfficerID] = append(c.cases[cs.OfficerID], r.ID)
		}
	}
	if err := srv.DB().Seed(ctx, cliActor, ds.Records); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	return c
}

// tablet opens a tablet agent signed in as username, its traffic through rt
// (nil: a plain transport).
func (c *cluster) tablet(name, username string, rt http.RoundTripper, hook func() error) *syncer.Agent {
	c.t.Helper()
	return c.tabletAt(name, username, rt, hook, c.clock.Now)
}

// tabletAt is tablet with the tablet's own wall clock, now (a tablet whose
// clock is wrong).
func (c *cluster) tabletAt(name, username string, rt http.RoundTripper, hook func() error, now func() time.Time) *syncer.Agent {
	c.t.Helper()
	return c.tabletWith(name, username, func(cfg *syncer.Config) {
		if rt != nil {
			cfg.HTTPClient = &http.Client{Transport: rt}
		}
		cfg.AfterApplyPage, cfg.Now = hook, now
	})
}

// tabletWith is tablet with the agent's configuration changed by mod.
func (c *cluster) tabletWith(name, username string, mod func(*syncer.Config)) *syncer.Agent {
	c.t.Helper()
	ctx := context.Background()
	cfg := syncer.Config{
		DataDir: filepath.Join(c.dir, name), ServerURL: c.srv.URL(),
		HTTPClient: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, Logger: quietLogger(), Now: c.clock.Now,
		Timeout: 5 * time.Second, AppVersion: "test",
	}
	mod(&cfg)
	a, err := syncer.Open(ctx, cfg)
	if err != nil {
		c.t.Fatalf("open tablet %s: %v", name, err)
	}
	c.t.Cleanup(func() { a.Close() })
	if _, err := a.Login(ctx, username, testPassword); err != nil {
		c.t.Fatalf("tablet %s login as %s: %v", name, username, err)
	}
	return a
}

// mustSync syncs and fails the test on error.
func mustSync(t *testing.T, a *syncer.Agent) syncer.SyncReport {
	t.Helper()
	rep, err := a.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	return rep
}

// serverActor is an admin view of the server store for assertions.
var serverActor = cliActor

// serverState returns every record of the given cases on the server, by id.
func (c *cluster) serverState(caseIDs []string) map[string]schema.Record {
	c.t.Helper()
	return c.serverStateOf(c.srv, caseIDs)
}

// serverStateOf is serverState of another server (a restored one).
func (c *cluster) serverStateOf(srv *server.Server, caseIDs []string) map[string]schema.Record {
	c.t.Helper()
	out := map[string]schema.Record{}
	for _, spec := range schema.Entities() {
		for _, cid := range caseIDs {
			recs, err := srv.DB().List(context.Background(), serverActor, spec.Name, cid)
			if err != nil {
				c.t.Fatalf("server list %s of %s: %v", spec.Name, cid, err)
			}
			for _, r := range recs {
				out[r.ID] = r
			}
		}
	}
	return out
}

// tabletState returns every record on a tablet, by id.
func tabletState(t *testing.T, a *syncer.Agent) map[string]schema.Record {
	t.Helper()
	out := map[string]schema.Record{}
	for _, spec := range schema.Entities() {
		recs, err := a.List(context.Background(), spec.Name, "")
		if err != nil {
			t.Fatalf("tablet list %s: %v", spec.Name, err)
		}
		for _, r := range recs {
			out[r.ID] = r.Record
		}
	}
	return out
}

// assertSameRecords checks that two record sets hold the same ids with the
// same field values, field by field, and names the first difference.
func assertSameRecords(t *testing.T, what string, want, got map[string]schema.Record) {
	t.Helper()
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("%s: %s %s missing", what, w.Entity, id)
			continue
		}
		for name, wv := range w.Fields {
			if !jsonEqual(wv, g.Fields[name]) {
				t.Errorf("%s: %s %s field %s = %s, want %s", what, w.Entity, id, name, g.Fields[name], wv)
			}
		}
		for name, gv := range g.Fields {
			if _, ok := w.Fields[name]; !ok && !jsonEmpty(gv) {
				t.Errorf("%s: %s %s has extra field %s = %s", what, w.Entity, id, name, gv)
			}
		}
	}
	for id, g := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s: unexpected %s %s", what, g.Entity, id)
		}
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	if jsonEmpty(a) && jsonEmpty(b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return string(a) == string(b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func jsonEmpty(v json.RawMessage) bool {
	s := string(v)
	return s == "" || s == "null" || s == `""` || s == "[]" || s == "false" || s == "0" || s == "{}"
}

func str(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
