package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"doorstep/server"
	"doorstep/syncer"
)

// movedServer is the network between the tablets and whichever server
// answers at the moment: a restored server comes up at a new address, and
// the tablets' server address names the service, not the machine.
type movedServer struct {
	to   atomic.Pointer[url.URL]
	next http.RoundTripper
}

func (m *movedServer) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	to := m.to.Load()
	r.URL.Scheme, r.URL.Host, r.Host = to.Scheme, to.Host, to.Host
	return m.next.RoundTrip(r)
}

func (m *movedServer) moveTo(t *testing.T, raw string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	m.to.Store(u)
}

// TestRestoredServerTabletsPullEverything (docs/sync-protocol.md §7,
// decision 0041): a tablet that synced after the back-up holds a cursor
// ahead of the restored server. Once the restored server has numbered as
// many new changes, that cursor must still be refused, or the tablet
// skips every change numbered below it. The tablet pulls again from the
// start and gets every change in its scope; its outbox is kept and
// delivered to the restored server.
func TestRestoredServerTabletsPullEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	net := &movedServer{next: http.DefaultTransport.(*http.Transport).Clone()}
	net.moveTo(t, c.srv.URL())
	tab := c.tablet("tab", officer.Username, net, nil)
	other := c.tablet("other", officer.Username, net, nil)
	mustSync(t, tab)
	mustSync(t, other)
	putVisits := func(a *syncer.Agent, n int, kind string) []string {
		t.Helper()
		var ids []string
		for range n {
			r, err := a.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{
				"status": str("draft"), "planned_type": str(kind), "officer_id": str(officer.ID)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}

	data := filepath.Join(c.dir, "server")
	backup := filepath.Join(t.TempDir(), "doorstep.db")
	if out, err := doorstep(t, "admin", "backup", "--data", data, "--out", backup); err != nil {
		t.Fatalf("admin backup: %v\n%s", err, out)
	}
	// After the back-up: the tablet delivers a visit, another tablet of
	// the same officer three more, and the tablet pulls them: its cursor
	// is now four changes ahead of the back-up.
	delivered := putVisits(tab, 1, "home_unannounced")
	mustSync(t, tab)
	putVisits(other, 3, "home_unannounced")
	mustSync(t, other)
	mustSync(t, tab)
	liveSeq, err := c.srv.DB().MaxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	out, err := doorstep(t, "admin", "restore", "--data", restored, "--from", backup)
	if err != nil || !strings.Contains(out, "new cursor epoch") {
		t.Fatalf("admin restore: %v\n%s", err, out)
	}
	c.srv.Close()
	srv, err := openServer(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: restored, SecretsDir: server.DefaultSecretsDir(data), Logger: quietLogger(), Now: c.clock.Now})
	if err != nil {
		t.Fatalf("a server on the restored folder: %v", err)
	}
	defer srv.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	net.moveTo(t, srv.URL())

	// A tablet that knows nothing of the old life writes on the restored
	// server until its numbers pass the tablet's cursor.
	fresh := c.tablet("fresh", officer.Username, net, nil)
	mustSync(t, fresh)
	restoredSeq, err := srv.DB().MaxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := putVisits(fresh, int(liveSeq-restoredSeq)+2, "office")
	mustSync(t, fresh)
	if n, _ := srv.DB().MaxSeq(ctx); n <= liveSeq {
		t.Fatalf("the restored server numbered up to %d, not past the tablet's cursor at %d: the test proves nothing", n, liveSeq)
	}

	// The tablet's outbox waits through the restore and is delivered.
	waiting := putVisits(tab, 1, "home_announced")
	mustSync(t, tab)
	for _, id := range append(after, waiting...) {
		if _, err := srv.DB().Get(ctx, serverActor, "visit", id); err != nil {
			t.Errorf("visit %s on the restored server: %v", id, err)
		}
	}
	// Every record of the restored server in the tablet's scope is on the
	// tablet, at the server's version.
	have := tabletState(t, tab)
	for id, want := range c.serverStateOf(srv, c.cases[officer.ID]) {
		got, ok := have[id]
		if !ok {
			t.Errorf("%s %s (on the restored server) is missing from the tablet", want.Entity, id)
			continue
		}
		if got.Version != want.Version {
			t.Errorf("%s %s: the tablet holds version %d, the restored server %d", want.Entity, id, got.Version, want.Version)
		}
	}
	// What the tablet delivered after the back-up is not on the restored
	// server, and the tablet follows the server (docs/operations.md,
	// Back-ups): the loss is the restore's, stated, not a silent skip.
	if _, err := srv.DB().Get(ctx, serverActor, "visit", delivered[0]); err == nil {
		t.Errorf("the visit delivered after the back-up is on the restored server; the test's premise is wrong")
	}
	if _, ok := have[delivered[0]]; ok {
		t.Errorf("the tablet still shows visit %s as synced, which the restored server does not hold", delivered[0])
	}
	// A second sync is a no-op: the tablet's new cursor is of the new life.
	if rep := mustSync(t, tab); rep.Pulled != 0 {
		t.Errorf("the sync after the resync pulled %d records, want 0", rep.Pulled)
	}
	st, err := tab.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.Cursor, "c:"+srv.DB().Epoch()+":") {
		t.Errorf("the tablet's cursor %q is not of the restored server's epoch %s", st.Cursor, srv.DB().Epoch())
	}
}
