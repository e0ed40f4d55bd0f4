package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// Issue 9: never lose an answer. Two tablets of one officer, a real server,
// and the changes that used to go missing between them.

// TestUnchangedFieldDoesNotOverwriteNewerValue: tablet X changes a household
// member's description and syncs; tablet Y, not yet synced, saves the
// member's form with the description as it knew it and a new name. Only the
// name travels from Y, so X's description stays on the server and both
// tablets end with the same record.
func TestUnchangedFieldDoesNotOverwriteNewerValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 1)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	x := c.tablet("x", officer.Username, nil, nil)
	y := c.tablet("y", officer.Username, nil, nil)
	mustSync(t, x)
	m := newLodger(t, x, caseID, "Sam Example", "description", str("tall, red coat"))
	mustSync(t, x)
	mustSync(t, y)

	c.clock.Advance(time.Second)
	if _, err := x.Put(ctx, "household_member", m.ID, "", map[string]json.RawMessage{"description": str("wears glasses")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, x)

	c.clock.Advance(time.Second)
	// Y's form sends every field it shows: the description unchanged.
	if _, err := y.Put(ctx, "household_member", m.ID, "", map[string]json.RawMessage{
		"relation": str("lodger"), "residence": str("lives_here"), "name": str("Sam Examplé"), "description": str("tall, red coat")}); err != nil {
		t.Fatal(err)
	}
	out, err := y.Outbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || string(out[0].Fields) != `{"name":"Sam Examplé"}` {
		t.Errorf("Y's outbox: %s; want one change carrying only the name", outboxFields(out))
	}
	mustSync(t, y)
	mustSync(t, x)

	got, err := c.srv.DB().Get(ctx, serverActor, "household_member", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Fields["description"]) != `"wears glasses"` || string(got.Fields["name"]) != `"Sam Examplé"` {
		t.Fatalf("server holds %s; want X's description and Y's name", got.Fields)
	}
	want := c.serverState([]string{caseID})
	assertSameRecords(t, "tablet X vs server", want, tabletState(t, x))
	assertSameRecords(t, "tablet Y vs server", want, tabletState(t, y))
}

// outboxFields lists the fields of each outbox entry, for failure messages.
func outboxFields(out []syncer.OutboxEntry) []string {
	var s []string
	for _, e := range out {
		s = append(s, string(e.Fields))
	}
	return s
}

// TestDiscardAfterCaseCameBackMatchesServer: officer A changes a
// referral's status offline; the case is reassigned to B, so A's change is
// set aside (out_of_scope); B records the same status; the case comes back
// to A; A discards the set-aside change. The tablet must then hold what the
// server holds (B's status), not the value A's change once replaced.
func TestDiscardAfterCaseCameBackMatchesServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 1)
	a, b := c.officers[0], c.officers[1]
	caseID := c.cases[a.ID][0]
	ta := c.tablet("ta", a.Username, nil, nil)
	tb := c.tablet("tb", b.Username, nil, nil)
	mustSync(t, ta)
	ref, err := ta.Put(ctx, "referral", "", caseID, map[string]json.RawMessage{
		"need": str("Housing support"), "identified_on": str(testEpoch.Format(time.DateOnly)), "status": str("awaiting_allocation")})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, ta)

	c.clock.Advance(time.Second)
	if _, err := ta.Put(ctx, "referral", ref.ID, "", map[string]json.RawMessage{"status": str("scheduled")}); err != nil {
		t.Fatal(err)
	}
	if err := c.srv.DB().ReassignCase(ctx, cliActor, caseID, b.Username); err != nil {
		t.Fatal(err)
	}
	if rep := mustSync(t, ta); rep.Rejected != 1 {
		t.Fatalf("A's sync: %+v; want the change set aside", rep)
	}
	out, _ := ta.Outbox(ctx)
	if len(out) != 1 || out[0].Error == nil || out[0].Error.Code != schema.ECodeOutOfScope {
		t.Fatalf("A's outbox: %+v", out)
	}

	c.clock.Advance(time.Second)
	mustSync(t, tb)
	if _, err := tb.Put(ctx, "referral", ref.ID, "", map[string]json.RawMessage{"status": str("scheduled")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, tb)
	if err := c.srv.DB().ReassignCase(ctx, cliActor, caseID, a.Username); err != nil {
		t.Fatal(err)
	}
	mustSync(t, ta)
	if err := ta.Discard(ctx, out[0].MutationID); err != nil {
		t.Fatal(err)
	}
	mustSync(t, ta)

	want := c.serverState([]string{caseID})
	if got := string(want[ref.ID].Fields["status"]); got != `"scheduled"` {
		t.Fatalf("server's status %s; want B's", got)
	}
	assertSameRecords(t, "tablet A vs server", want, tabletState(t, ta))
}

// TestFastTabletClockDoesNotBlockCorrections: one of an officer's tablets
// has its clock set to 2099. Its edit reaches the server, and the
// supervisor's and the admin's later edits, and the officer's own from the
// other tablet, each take effect; both tablets end equal to the server.
func TestFastTabletClockDoesNotBlockCorrections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 1)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	var supervisor schema.User
	for _, u := range c.users {
		if u.Role == schema.RoleSupervisor && u.TeamID == officer.TeamID {
			supervisor = u
		}
	}
	fast := func() time.Time { return time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Add(c.clock.Now().Sub(testEpoch)) }
	x := c.tabletAt("x", officer.Username, nil, nil, fast)
	y := c.tablet("y", officer.Username, nil, nil)
	mustSync(t, x)
	mustSync(t, y)
	m := newLodger(t, y, caseID, "Lee Lodger")
	mustSync(t, y)
	mustSync(t, x)

	name := func() string {
		t.Helper()
		r, err := c.srv.DB().Get(ctx, serverActor, "household_member", m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var s string
		json.Unmarshal(r.Fields["name"], &s)
		return s
	}
	c.clock.Advance(time.Second)
	if _, err := x.Put(ctx, "household_member", m.ID, "", map[string]json.RawMessage{"name": str("Lee From The Fast Tablet")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, x)
	if got := name(); got != "Lee From The Fast Tablet" {
		t.Fatalf("after the fast tablet's edit: %q", got)
	}
	c.clock.Advance(time.Second)
	if _, err := c.srv.DB().Write(ctx, serverdb.ActorOf(supervisor, ""), "household_member", m.ID, "", map[string]json.RawMessage{"name": str("Lee Supervisor")}); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Lee Supervisor" {
		t.Fatalf("after the supervisor's edit: %q", got)
	}
	c.clock.Advance(time.Second)
	if _, err := c.srv.DB().Write(ctx, cliActor, "household_member", m.ID, "", map[string]json.RawMessage{"name": str("Lee Admin")}); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Lee Admin" {
		t.Fatalf("after the admin's edit: %q", got)
	}
	mustSync(t, y)
	c.clock.Advance(time.Second)
	if _, err := y.Put(ctx, "household_member", m.ID, "", map[string]json.RawMessage{"name": str("Lee Officer")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, y)
	mustSync(t, x)
	if got := name(); got != "Lee Officer" {
		t.Fatalf("after the officer's edit on the other tablet: %q", got)
	}
	want := c.serverState([]string{caseID})
	assertSameRecords(t, "fast tablet vs server", want, tabletState(t, x))
	assertSameRecords(t, "other tablet vs server", want, tabletState(t, y))
}

// failPushes answers 503 to every push while on is set; everything else
// goes through.
type failPushes struct {
	next http.RoundTripper
	on   atomic.Bool
}

func (f *failPushes) RoundTrip(req *http.Request) (*http.Response, error) {
	if f.on.Load() && req.URL.Path == "/v1/sync/push" {
		return &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Header: http.Header{},
			Body: io.NopCloser(strings.NewReader("overloaded")), Request: req}, nil
	}
	return f.next.RoundTrip(req)
}

// TestNewRecordOfACaseThatWentAndCameBack: a household member made on a
// tablet waits in its outbox (pushes fail) while its case is reassigned
// away (the pull removes the case, the member with it) and back (the pull
// sends the case whole, without the member: the server has not had it).
// When the push gets through, the member must come back to the tablet too.
func TestNewRecordOfACaseThatWentAndCameBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 1)
	a, b := c.officers[0], c.officers[1]
	caseID := c.cases[a.ID][0]
	net := &failPushes{next: http.DefaultTransport.(*http.Transport).Clone()}
	ta := c.tablet("ta", a.Username, net, nil)
	mustSync(t, ta)
	m := newLodger(t, ta, caseID, "Lee Lodger")
	net.on.Store(true)
	if err := c.srv.DB().ReassignCase(ctx, cliActor, caseID, b.Username); err != nil {
		t.Fatal(err)
	}
	if _, err := ta.SyncOnce(ctx); err == nil {
		t.Fatal("sync with pushes failing: want an error")
	}
	if _, err := ta.Get(ctx, "household_member", m.ID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("the member after its case's removal: %v", err)
	}
	if err := c.srv.DB().ReassignCase(ctx, cliActor, caseID, a.Username); err != nil {
		t.Fatal(err)
	}
	ta.SyncOnce(ctx) // the case comes back whole, still without the member
	net.on.Store(false)
	mustSync(t, ta)
	mustSync(t, ta)
	want := c.serverState([]string{caseID})
	if _, ok := want[m.ID]; !ok {
		t.Fatal("the member did not reach the server")
	}
	assertSameRecords(t, "tablet vs server", want, tabletState(t, ta))
}

// newLodger makes a household member (a lodger living there) on tablet a,
// with name and any more fields given as name/value pairs.
func newLodger(t *testing.T, a *syncer.Agent, caseID, name string, more ...any) schema.Record {
	t.Helper()
	fields := map[string]json.RawMessage{"relation": str("lodger"), "residence": str("lives_here"), "name": str(name)}
	for i := 0; i+1 < len(more); i += 2 {
		fields[more[i].(string)] = more[i+1].(json.RawMessage)
	}
	rec, err := a.Put(context.Background(), "household_member", "", caseID, fields)
	if err != nil {
		t.Fatalf("make lodger %s: %v", name, err)
	}
	return rec
}
