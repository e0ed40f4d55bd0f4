package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/devicedb"
	"doorstep/syncer/localapi"
	"doorstep/syncer/localapi/localapitest"
)

// switchNet is the network between one tablet and the server: the test
// cuts it and brings it back, and rewrite, when set, changes an answer on
// its way (a forger between them). It keeps the leases the server sent.
type switchNet struct {
	down atomic.Bool

	mu      sync.Mutex
	rewrite func(req *http.Request, resp *http.Response)
	leases  []string
}

func (n *switchNet) RoundTrip(req *http.Request) (*http.Response, error) {
	if n.down.Load() {
		return nil, errors.New("the network is down (test)")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if l := resp.Header.Get(schema.HeaderLease); l != "" {
		n.leases = append(n.leases, l)
	}
	if n.rewrite != nil {
		n.rewrite(req, resp)
	}
	return resp, nil
}

func (n *switchNet) setRewrite(f func(req *http.Request, resp *http.Response)) {
	n.mu.Lock()
	n.rewrite = f
	n.mu.Unlock()
}

func (n *switchNet) lastLease() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.leases) == 0 {
		return ""
	}
	return n.leases[len(n.leases)-1]
}

// leaseTablet is a tablet on its own clock and its own switchable network,
// signed in as username, whose ShredKeys counts its calls before erasing.
type leaseTablet struct {
	agent  *syncer.Agent
	clock  *testkit.Clock
	net    *switchNet
	shreds atomic.Int32
}

func (c *cluster) leaseTablet(name, username string) *leaseTablet {
	c.t.Helper()
	lt := &leaseTablet{clock: testkit.NewClock(c.clock.Now()), net: &switchNet{}}
	a, err := syncer.Open(context.Background(), syncer.Config{
		DataDir: filepath.Join(c.dir, name), ServerURL: c.srv.URL(),
		HTTPClient: &http.Client{Transport: lt.net}, Logger: quietLogger(), Now: lt.clock.Now,
		Timeout: 5 * time.Second, AppVersion: "test",
		// The lease's days pass on this clock; the data key's hold
		// (sealed at rest) is not what these tests are about.
		KeyHold: 365 * 24 * time.Hour,
		ShredKeys: func(ctx context.Context) error {
			lt.shreds.Add(1)
			return lt.agent.DestroyKeys(ctx)
		},
	})
	if err != nil {
		c.t.Fatalf("open tablet %s: %v", name, err)
	}
	lt.agent = a
	c.t.Cleanup(func() { a.Close() })
	if _, err := a.Login(context.Background(), username, testPassword); err != nil {
		c.t.Fatalf("tablet %s login as %s: %v", name, username, err)
	}
	return lt
}

// localAPI serves the tablet's local JSON API on its clock.
func (lt *leaseTablet) localAPI(t *testing.T) *localapi.API {
	t.Helper()
	api := localapi.New(lt.agent, localapi.Config{Now: lt.clock.Now})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	return api
}

// reopenEdited closes the tablet's agent, changes its store with edit,
// and opens it again on the same clock and network.
func (c *cluster) reopenEdited(lt *leaseTablet, name string, edit func(context.Context, *devicedb.Tx) error) *syncer.Agent {
	c.t.Helper()
	ctx, dir := context.Background(), filepath.Join(c.dir, name)
	lt.agent.Close()
	db, err := devicedb.Open(ctx, filepath.Join(dir, "device.db"), time.Now)
	if err != nil {
		c.t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *devicedb.Tx) error { return edit(ctx, tx) })
	db.Close()
	if err != nil {
		c.t.Fatal(err)
	}
	a, err := syncer.Open(ctx, syncer.Config{DataDir: dir, Logger: quietLogger(), Now: lt.clock.Now,
		HTTPClient: &http.Client{Transport: lt.net}, Timeout: 5 * time.Second, KeyHold: 365 * 24 * time.Hour})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { a.Close() })
	return a
}

func wantLeaseState(t *testing.T, a *syncer.Agent, want string) syncer.LeaseStatus {
	t.Helper()
	ls := a.Lease()
	if ls.State != want {
		t.Fatalf("lease state %q (%+v), want %q", ls.State, ls, want)
	}
	return ls
}

// TestOfflineLease follows one tablet through its lease, against the real
// server: the sign-in and each sync renew it; once it runs out every route
// of the local API but /healthz and the online sign-in answers 423
// lease_expired, the offline unlock too; a clock turned back does not
// open it; a background sync still delivers the pending work but does not
// open it; an online sign-in does; and past the grace the tablet destroys
// its keys, once.
func TestOfflineLease(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	officer := c.officers[0]
	lt := c.leaseTablet("tablet", officer.Username)
	a, ctx := lt.agent, context.Background()

	issued := c.clock.Now().UTC().Truncate(time.Second)
	ls := wantLeaseState(t, a, syncer.LeaseValid)
	if !ls.ValidUntil.Equal(issued.AddDate(0, 0, 7)) || !ls.GraceUntil.Equal(issued.AddDate(0, 0, 14)) {
		t.Fatalf("the sign-in's lease runs to %s, grace to %s; want 7 and 14 days after %s", ls.ValidUntil, ls.GraceUntil, issued)
	}
	// Each sync renews it.
	c.clock.Advance(72 * time.Hour)
	lt.clock.Advance(72 * time.Hour)
	mustSync(t, a)
	if ls = wantLeaseState(t, a, syncer.LeaseValid); !ls.ValidUntil.Equal(issued.Add(72*time.Hour).AddDate(0, 0, 7)) {
		t.Fatalf("after a sync 3 days later the lease runs to %s, want %s", ls.ValidUntil, issued.Add(72*time.Hour).AddDate(0, 0, 7))
	}

	api := lt.localAPI(t)
	cl := localapitest.Client{T: t, Base: api.URL()}.SignIn("/v1/unlock", map[string]string{"username": officer.Username, "password": testPassword})
	if st, out, _ := cl.Do("GET", "/v1/status", nil, nil); st != 200 || out["lease"].(map[string]any)["state"] != syncer.LeaseValid {
		t.Fatalf("status with a valid lease: %d %v", st, out)
	}
	// Offline, the officer records a change, then the lease runs out.
	lt.net.down.Store(true)
	caseID := c.cases[officer.ID][0]
	if _, err := a.Put(ctx, "household_member", schema.NewID(), caseID, schema.FieldsOf(schema.HouseholdMember{
		Relation: "other_adult", Residence: "visits", Name: "Rowan Testperson"})); err != nil {
		t.Fatal(err)
	}
	lt.clock.Set(ls.ValidUntil.Add(time.Minute))
	pending := func() int {
		st, err := a.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Pending
	}
	if pending() != 1 {
		t.Fatalf("want the offline change pending")
	}
	walked := 0
	for _, route := range api.Routes() {
		if _, open := localapitest.LeaseOpenRoutes[route]; open {
			continue
		}
		method, path := localapitest.Request(route)
		var body any
		if method != "GET" && method != "HEAD" {
			body = map[string]any{}
		}
		st, out, _ := cl.Do(method, path, body, nil)
		code, _ := localapitest.ErrCode(out)
		if st != http.StatusLocked || (method != "HEAD" && code != schema.ECodeLeaseExpired) {
			t.Errorf("%s once the lease ran out: want 423 lease_expired, got %d %v", route, st, out)
		}
		walked++
	}
	if walked < 20 {
		t.Fatalf("only %d routes walked: the router's list looks wrong", walked)
	}
	if st, out, _ := (localapitest.Client{T: t, Base: api.URL()}).Do("POST", "/v1/unlock",
		map[string]string{"username": officer.Username, "password": testPassword}, nil); st != http.StatusLocked {
		t.Fatalf("the offline unlock once the lease ran out: want 423, got %d %v", st, out)
	}
	if st, _, _ := cl.Do("GET", "/healthz", nil, nil); st != 200 {
		t.Fatalf("/healthz once the lease ran out: %d", st)
	}
	if pending() != 1 {
		t.Fatal("the refused requests changed the outbox")
	}
	// A clock turned back does not open it.
	lt.clock.Set(ls.ValidUntil.Add(-48 * time.Hour))
	wantLeaseState(t, a, syncer.LeaseExpired)
	if st, _, _ := cl.Do("GET", "/v1/status", nil, nil); st != http.StatusLocked {
		t.Fatalf("status with the clock turned back before the lease's end: want 423, got %d", st)
	}
	// Back online, the background sync delivers the pending work, and
	// still does not open the tablet. (The officer puts the clock right.)
	c.clock.Set(ls.ValidUntil.Add(2 * time.Minute))
	lt.clock.Set(c.clock.Now())
	lt.net.down.Store(false)
	if rep := mustSync(t, a); rep.Applied != 1 {
		t.Fatalf("the sync while locked delivered %+v, want the pending change applied", rep)
	}
	wantLeaseState(t, a, syncer.LeaseExpired)
	// The online sign-in opens it, with a new lease.
	cl = localapitest.Client{T: t, Base: api.URL()}.SignIn("/v1/login", map[string]string{"username": officer.Username, "password": testPassword})
	ls = wantLeaseState(t, a, syncer.LeaseValid)
	if want := c.clock.Now().UTC().Truncate(time.Second).AddDate(0, 0, 7); !ls.ValidUntil.Equal(want) {
		t.Fatalf("the online sign-in's lease runs to %s, want %s", ls.ValidUntil, want)
	}
	if st, out, _ := cl.Do("GET", "/v1/status", nil, nil); st != 200 {
		t.Fatalf("status after the online sign-in: %d %v", st, out)
	}
	// Offline past the grace: the keys go, once.
	lt.net.down.Store(true)
	lt.clock.Set(ls.GraceUntil.Add(-time.Minute))
	if _, err := a.CheckLease(ctx); schema.ErrorCode(err) != schema.ECodeLeaseExpired || lt.shreds.Load() != 0 {
		t.Fatalf("a minute before the grace's end: %v, %d shreds; want lease_expired and none", err, lt.shreds.Load())
	}
	lt.clock.Set(ls.GraceUntil.Add(time.Minute))
	if _, err := a.CheckLease(ctx); schema.ErrorCode(err) != schema.ECodeLeaseExpired {
		t.Fatalf("past the grace: %v", err)
	}
	a.CheckLease(ctx)
	if n := lt.shreds.Load(); n != 1 {
		t.Fatalf("past the grace ShredKeys ran %d times, want once", n)
	}
	wantLeaseState(t, a, syncer.LeaseShredded)
	// The data key's wraps are gone: the sealed caseload cannot be read,
	// and the password no longer opens it.
	if recs, err := a.List(ctx, "case", ""); err == nil && len(recs) != 0 {
		t.Fatalf("after the shred the tablet still reads %d cases", len(recs))
	}
	if _, _, err := a.Unlock(ctx, officer.Username, testPassword); err == nil {
		t.Fatal("after the shred the password still unlocks the tablet")
	}
	if st, out, _ := cl.Do("GET", "/v1/status", nil, nil); st != http.StatusLocked || !strings.Contains(out["error"].(map[string]any)["message"].(string), "destroyed") {
		t.Fatalf("status after the shred: want 423 saying the keys were destroyed, got %d %v", st, out)
	}
	// An online sign-in starts it afresh.
	c.clock.Set(lt.clock.Now())
	lt.net.down.Store(false)
	localapitest.Client{T: t, Base: api.URL()}.SignIn("/v1/login", map[string]string{"username": officer.Username, "password": testPassword})
	wantLeaseState(t, a, syncer.LeaseValid)
	if mustSync(t, a); len(mustList(t, a, "case")) == 0 {
		t.Fatal("the caseload did not come back after the sign-in that followed the shred")
	}
}

func mustList(t *testing.T, a *syncer.Agent, entity string) []syncer.LocalRecord {
	t.Helper()
	recs, err := a.List(context.Background(), entity, "")
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// leasePayload decodes a lease's payload without checking it.
func leasePayload(t *testing.T, tok string) schema.Lease {
	t.Helper()
	p64, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(p64)
	var l schema.Lease
	if err != nil || json.Unmarshal(b, &l) != nil {
		t.Fatalf("lease %q does not decode", tok)
	}
	return l
}

// lengthened is tok with its times a year later and its signature kept.
func lengthened(t *testing.T, tok string) string {
	l := leasePayload(t, tok)
	l.ValidUntil, l.GraceUntil = l.ValidUntil.AddDate(1, 0, 0), l.GraceUntil.AddDate(1, 0, 0)
	b, _ := json.Marshal(l)
	_, sig, _ := strings.Cut(tok, ".")
	return base64.RawURLEncoding.EncodeToString(b) + "." + sig
}

// TestForgedLeasesAreRefused: a lease altered on the way, one signed by
// another key, another tablet's genuine lease, and a lease edited in the
// tablet's store are all refused; so is a sign-in whose server key is not
// the one pinned, which leaves a locked tablet locked.
func TestForgedLeasesAreRefused(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1)
	officer := c.officers[0]
	lt := c.leaseTablet("tablet", officer.Username)
	other := c.leaseTablet("other", c.officers[1].Username)
	a := lt.agent
	held := wantLeaseState(t, a, syncer.LeaseValid)
	_, forger, _ := ed25519.GenerateKey(rand.Reader)

	setLease := func(resp *http.Response, tok string) {
		if resp.Header.Get(schema.HeaderLease) != "" {
			resp.Header.Set(schema.HeaderLease, tok)
		}
	}
	cases := []struct {
		name    string
		rewrite func(req *http.Request, resp *http.Response)
	}{
		{"valid_until moved on, the signature kept", func(_ *http.Request, resp *http.Response) {
			if tok := resp.Header.Get(schema.HeaderLease); tok != "" {
				setLease(resp, lengthened(t, tok))
			}
		}},
		{"signed by another key", func(_ *http.Request, resp *http.Response) {
			if resp.Header.Get(schema.HeaderLease) == "" {
				return
			}
			l := leasePayload(t, resp.Header.Get(schema.HeaderLease))
			l.ValidUntil, l.GraceUntil = l.ValidUntil.AddDate(1, 0, 0), l.GraceUntil.AddDate(1, 0, 0)
			tok, _ := schema.SignLease(forger, l)
			setLease(resp, tok)
		}},
		{"another tablet's lease", func(_ *http.Request, resp *http.Response) {
			setLease(resp, other.net.lastLease())
		}},
	}
	for _, tc := range cases {
		c.clock.Advance(time.Hour)
		lt.clock.Advance(time.Hour)
		lt.net.setRewrite(tc.rewrite)
		mustSync(t, a)
		ls := wantLeaseState(t, a, syncer.LeaseValid)
		if !ls.ValidUntil.Equal(held.ValidUntil) || ls.Problem == "" {
			t.Errorf("%s: the lease runs to %s (problem %q); want it kept at %s, with the refusal said", tc.name, ls.ValidUntil, ls.Problem, held.ValidUntil)
		}
	}
	lt.net.setRewrite(nil)
	mustSync(t, a)
	if ls := wantLeaseState(t, a, syncer.LeaseValid); !ls.ValidUntil.After(held.ValidUntil) || ls.Problem != "" {
		t.Fatalf("the server's own lease after the forgeries: %+v", ls)
	}

	// A server key other than the pinned one: its leases are refused, and
	// the sign-in does not open a tablet whose lease ran out.
	lt.clock.Set(a.Lease().ValidUntil.Add(time.Minute))
	c.clock.Set(lt.clock.Now())
	wantLeaseState(t, a, syncer.LeaseExpired)
	lt.net.setRewrite(func(req *http.Request, resp *http.Response) {
		if tok := resp.Header.Get(schema.HeaderLease); tok != "" {
			signed, _ := schema.SignLease(forger, leasePayload(t, tok))
			resp.Header.Set(schema.HeaderLease, signed)
		}
		if req.URL.Path == "/v1/auth/login" && resp.StatusCode == 200 {
			b, _ := io.ReadAll(resp.Body)
			var tr schema.TokenResponse
			json.Unmarshal(b, &tr)
			tr.ServerPublicKey = schema.EncodePublicKey(forger.Public().(ed25519.PublicKey))
			b, _ = json.Marshal(tr)
			resp.Body = io.NopCloser(strings.NewReader(string(b)))
			resp.ContentLength = int64(len(b))
		}
	})
	if _, err := a.Login(context.Background(), officer.Username, testPassword); schema.ErrorCode(err) != schema.ECodeLeaseExpired {
		t.Fatalf("a sign-in with another server key: want lease_expired, got %v", err)
	}
	wantLeaseState(t, a, syncer.LeaseExpired)
	lt.net.setRewrite(nil)
	if _, err := a.Login(context.Background(), officer.Username, testPassword); err != nil {
		t.Fatalf("the sign-in with the pinned key: %v", err)
	}
	wantLeaseState(t, a, syncer.LeaseValid)

	// A lease edited in the store is dropped when the agent opens: the
	// tablet is then locked.
	reopened := c.reopenEdited(lt, "tablet", func(ctx context.Context, tx *devicedb.Tx) error {
		tok, err := tx.State(ctx, devicedb.KeyLease)
		if err != nil {
			return err
		}
		return tx.SetState(ctx, devicedb.KeyLease, lengthened(t, tok))
	})
	wantLeaseState(t, reopened, syncer.LeaseExpired)
	// Restarted, it holds no data key, and the lease lets no offline
	// unlock take one: nothing opens it but an online sign-in.
	if _, _, err := reopened.Unlock(context.Background(), officer.Username, testPassword); schema.ErrorCode(err) != schema.ECodeLeaseExpired {
		t.Fatalf("offline unlock of a tablet whose lease was edited: %v, want lease_expired", err)
	}
	if _, err := reopened.Login(context.Background(), officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	wantLeaseState(t, reopened, syncer.LeaseValid)
}

// TestEveryAnswerTellsARevokedTablet: after an admin revokes a tablet, each
// kind of request it makes learns it and wipes: a push, a pull, a request
// whose access token has expired (answered 401, not device_revoked), the
// sign-in, and even a success that says so.
func TestEveryAnswerTellsARevokedTablet(t *testing.T) {
	t.Parallel()
	c := newClusterWith(t, 1, time.Minute)
	ctx := context.Background()
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	revoke := func(a *syncer.Agent) {
		t.Helper()
		if err := c.srv.DB().RevokeDevice(ctx, cliActor, a.DeviceID()); err != nil {
			t.Fatal(err)
		}
	}
	wiped := func(name string, a *syncer.Agent, err error) {
		t.Helper()
		st, serr := a.Status(ctx)
		if !errors.Is(err, syncer.ErrDeviceRevoked) || serr != nil || !st.Revoked || st.User != nil || len(mustList(t, a, "case")) != 0 {
			t.Errorf("%s: want the tablet wiped as revoked, got %v, status %+v", name, err, st)
		}
	}
	t.Run("push", func(t *testing.T) {
		lt := c.leaseTablet("push", officer.Username)
		mustSync(t, lt.agent)
		if _, err := lt.agent.Put(ctx, "household_member", schema.NewID(), caseID, schema.FieldsOf(schema.HouseholdMember{
			Relation: "lodger", Residence: "lives_here", Name: "Kit Example"})); err != nil {
			t.Fatal(err)
		}
		revoke(lt.agent)
		var pushes atomic.Int32
		lt.net.setRewrite(func(req *http.Request, resp *http.Response) {
			if req.URL.Path == "/v1/sync/push" && resp.Header.Get(schema.HeaderDeviceStanding) == schema.StandingRevoked {
				pushes.Add(1)
			}
		})
		_, err := lt.agent.SyncOnce(ctx)
		wiped("push", lt.agent, err)
		if pushes.Load() != 1 {
			t.Errorf("the push's answer did not tell the standing")
		}
	})
	t.Run("pull", func(t *testing.T) {
		lt := c.leaseTablet("pull", officer.Username)
		mustSync(t, lt.agent)
		revoke(lt.agent)
		_, err := lt.agent.SyncOnce(ctx)
		wiped("pull", lt.agent, err)
	})
	t.Run("expired access token", func(t *testing.T) {
		lt := c.leaseTablet("expired", officer.Username)
		mustSync(t, lt.agent)
		revoke(lt.agent)
		c.clock.Advance(2 * time.Minute)
		lt.clock.Advance(2 * time.Minute)
		var refreshes atomic.Int32
		lt.net.setRewrite(func(req *http.Request, resp *http.Response) {
			if req.URL.Path == "/v1/auth/refresh" {
				refreshes.Add(1)
			}
		})
		_, err := lt.agent.SyncOnce(ctx)
		wiped("expired token", lt.agent, err)
		if refreshes.Load() != 0 {
			t.Errorf("the 401 token_expired answer did not tell the standing: the tablet refreshed")
		}
	})
	t.Run("sign-in", func(t *testing.T) {
		lt := c.leaseTablet("login", officer.Username)
		mustSync(t, lt.agent)
		revoke(lt.agent)
		_, err := lt.agent.Login(ctx, officer.Username, testPassword)
		wiped("sign-in", lt.agent, err)
	})
	t.Run("a success that says so", func(t *testing.T) {
		lt := c.leaseTablet("success", officer.Username)
		lt.net.setRewrite(func(req *http.Request, resp *http.Response) {
			if req.URL.Path == "/v1/sync/pull" {
				resp.Header.Set(schema.HeaderDeviceStanding, schema.StandingRevoked)
			}
		})
		_, err := lt.agent.SyncOnce(ctx)
		wiped("a 200 pull saying revoked", lt.agent, err)
	})
}

// TestAClockAheadDoesNotLockTheTablet: a tablet whose clock runs a month
// ahead, looked at before its first sign-in, is not locked by that time
// once the server has vouched for the time: the sign-in's lease is valid.
func TestAClockAheadDoesNotLockTheTablet(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1)
	ahead := testkit.NewClock(c.clock.Now().AddDate(0, 1, 0))
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: filepath.Join(c.dir, "ahead"), ServerURL: c.srv.URL(),
		Logger: quietLogger(), Now: ahead.Now, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if st, err := a.Status(context.Background()); err != nil || st.Lease.State != syncer.LeaseNone {
		t.Fatalf("before the first sign-in: %+v %v", st.Lease, err)
	}
	if _, err := a.Login(context.Background(), c.officers[0].Username, testPassword); err != nil {
		t.Fatalf("sign-in with the clock a month ahead: %v", err)
	}
	wantLeaseState(t, a, syncer.LeaseValid)
}

// TestAnUpgradedTabletPinsAtItsNextRefresh: a tablet that signed in before
// leases existed (no server key pinned, no lease) is not locked, and pins
// the key at its next token refresh, from when its syncs bring leases.
func TestAnUpgradedTabletPinsAtItsNextRefresh(t *testing.T) {
	t.Parallel()
	c := newClusterWith(t, 1, time.Minute)
	lt := c.leaseTablet("old", c.officers[0].Username)
	a := c.reopenEdited(lt, "old", func(ctx context.Context, tx *devicedb.Tx) error {
		if err := tx.SetState(ctx, devicedb.KeyServerKey, ""); err != nil {
			return err
		}
		return tx.SetState(ctx, devicedb.KeyLease, "")
	})
	// Restarted, it takes its data key back with the password (no lease
	// applies yet).
	if _, _, err := a.Unlock(context.Background(), c.officers[0].Username, testPassword); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a) // the access token still lives: no refresh, nothing pinned
	wantLeaseState(t, a, syncer.LeaseNone)
	c.clock.Advance(2 * time.Minute)
	lt.clock.Advance(2 * time.Minute)
	mustSync(t, a)
	if ls := wantLeaseState(t, a, syncer.LeaseValid); !ls.ValidUntil.Equal(c.clock.Now().UTC().Truncate(time.Second).AddDate(0, 0, 7)) {
		t.Fatalf("after the refresh the lease runs to %s", ls.ValidUntil)
	}
}

// TestDeviceSyncPastTheLease: a tablet whose lease has run out, restarted
// (so it holds no data key), cannot be unlocked offline, but the unlock for
// a one-off sync (doorstep device sync) still takes the key, and the sync
// delivers what waits without opening the tablet.
func TestDeviceSyncPastTheLease(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 1)
	officer := c.officers[0]
	lt := c.leaseTablet("tablet", officer.Username)
	ctx := context.Background()
	mustSync(t, lt.agent) // the caseload
	ls := wantLeaseState(t, lt.agent, syncer.LeaseValid)
	if _, err := lt.agent.Put(ctx, "household_member", schema.NewID(), c.cases[officer.ID][0], schema.FieldsOf(schema.HouseholdMember{
		Relation: "other_adult", Residence: "visits", Name: "Morwen Testperson"})); err != nil {
		t.Fatal(err)
	}
	c.clock.Set(ls.ValidUntil.Add(time.Hour))
	lt.clock.Set(c.clock.Now())
	a := c.reopenEdited(lt, "tablet", func(context.Context, *devicedb.Tx) error { return nil })
	if _, _, err := a.Unlock(ctx, officer.Username, testPassword); schema.ErrorCode(err) != schema.ECodeLeaseExpired {
		t.Fatalf("the offline unlock past the lease: %v, want lease_expired", err)
	}
	if _, _, err := a.UnlockForSync(ctx, officer.Username, "not the password"); schema.ErrorCode(err) != schema.ECodeUnauthorized {
		t.Fatalf("the unlock for a sync with a wrong password: %v, want unauthorized", err)
	}
	if _, _, err := a.UnlockForSync(ctx, officer.Username, testPassword); err != nil {
		t.Fatalf("the unlock for a sync past the lease: %v", err)
	}
	if rep := mustSync(t, a); rep.Applied != 1 {
		t.Fatalf("the sync past the lease delivered %+v, want the pending change applied", rep)
	}
	wantLeaseState(t, a, syncer.LeaseExpired)
}
