package server

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"doorstep/schema"
)

// pullAll pulls every page for tok from e and returns the records and the
// last cursor.
func (e *env) pullAll(tok, cursor string) ([]schema.Record, string) {
	e.t.Helper()
	var out []schema.Record
	for {
		r := e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: cursor}, bearer(tok))
		if r.status != 200 {
			e.t.Fatalf("pull: %d %s", r.status, r.body)
		}
		var page schema.PullResponse
		r.decode(e.t, &page)
		out, cursor = append(out, page.Records...), page.Cursor
		if !page.HasMore {
			return out, cursor
		}
	}
}

// TestNoOpSyncMakesNoWriteTransaction: a tablet's sync with nothing to
// send and nothing new (a push of nothing, then a pull) makes no write
// transaction however often it comes; what the device reported is written
// in one batch, and the admin's device list shows it at once.
func TestNoOpSyncMakesNoWriteTransaction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	asha := e.login("asha", "dev-asha").AccessToken
	root := e.login("root", "dev-root").AccessToken
	_, cursor := e.pullAll(asha, "")
	db := e.srv.DB()
	writes := db.WriteTransactions()
	const n = 25
	for i := range n {
		e.clock.Advance(time.Second)
		h := with(bearer(asha), schema.HeaderAppVersion, "3.4.5", schema.HeaderOutboxPending, strconv.Itoa(i%2))
		r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{}, Cursor: cursor}, h)
		if r.status != 200 {
			t.Fatalf("push of nothing: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: cursor}, h)
		var page schema.PullResponse
		r.decode(t, &page)
		if r.status != 200 || len(page.Records) != 0 || page.HasMore {
			t.Fatalf("no-op pull %d: %d, %d records", i, r.status, len(page.Records))
		}
		cursor = page.Cursor
	}
	if got := db.WriteTransactions() - writes; got != 0 {
		t.Fatalf("%d no-op syncs made %d write transactions, want 0", n, got)
	}
	r := e.do("GET", "/v1/admin/devices", nil, bearer(root))
	var list struct {
		Devices []schema.Device `json:"devices"`
	}
	r.decode(t, &list)
	now := schema.Timestamp(e.clock.Now().UTC().Format(time.RFC3339Nano))
	found := false
	for _, d := range list.Devices {
		if d.ID == "dev-asha" {
			found = true
			if d.AppVersion != "3.4.5" || !sameTime(d.LastSyncAt, now) || !sameTime(d.LastSeenAt, now) {
				t.Errorf("the device list: %+v; want app 3.4.5, seen and synced %s", d, now)
			}
		}
	}
	if r.status != 200 || !found {
		t.Fatalf("the device list: %d %s", r.status, r.body)
	}
	if got := db.WriteTransactions() - writes; got != 1 {
		t.Errorf("the device reports were written in %d transactions, want 1", got)
	}
}

// sameTime compares two timestamps as times.
func sameTime(a, b schema.Timestamp) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, string(a))
	tb, err2 := time.Parse(time.RFC3339Nano, string(b))
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// TestTwoInstances: two servers on one data folder (and so one secrets
// folder), as two instances behind a load balancer: a push to one is
// pulled from the other, and an access token ended on one (a log-out) is
// refused by the other at once.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	one := newEnv(t)
	srv, err := Open(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Dir(one.srv.DB().Path()), Now: one.clock.Now})
	if err != nil {
		t.Fatalf("open a second server on the data folder: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	two := *one
	two.srv, two.url = srv, srv.URL()

	tok := one.login("asha", "dev-asha")
	_, cursor := two.pullAll(tok.AccessToken, "")
	m := visitMutation(one.ashaCase, "dev-asha", one.clock.Now().UnixMilli())
	r := one.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, bearer(tok.AccessToken))
	var pushed schema.PushResponse
	r.decode(t, &pushed)
	if r.status != 200 || len(pushed.Results) != 1 || pushed.Results[0].Status != schema.StatusApplied {
		t.Fatalf("push to the first instance: %d %s", r.status, r.body)
	}
	got, _ := two.pullAll(tok.AccessToken, cursor)
	if len(got) != 1 || got[0].ID != m.RecordID {
		t.Fatalf("the second instance's pull after a push to the first: %d records %+v, want the visit %s", len(got), got, m.RecordID)
	}

	// Both instances take the token; a log-out on the second ends it on
	// the first.
	for name, e := range map[string]*env{"first": one, "second": &two} {
		if r := e.do("GET", "/v1/me", nil, bearer(tok.AccessToken)); r.status != 200 {
			t.Fatalf("the %s instance refused a good token: %d %s", name, r.status, r.body)
		}
	}
	if r := two.do("POST", "/v1/auth/logout", nil, bearer(tok.AccessToken)); r.status != 200 {
		t.Fatalf("log out on the second instance: %d %s", r.status, r.body)
	}
	if r := one.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(tok.AccessToken)); r.status != 401 {
		t.Errorf("the first instance after a log-out on the second: %d %s, want 401", r.status, r.body)
	}
	if r := one.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tok.RefreshToken, DeviceID: "dev-asha"}, nil); r.status != 401 {
		t.Errorf("the first instance refreshed a token logged out on the second: %d %s", r.status, r.body)
	}
}
