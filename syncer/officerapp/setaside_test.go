package officerapp

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
	"doorstep/syncer/localapi/localapitest"
)

// setAsideChange writes fields to a record and has the server refuse the
// change (through the store, as a push answer would), returning its id.
func (e *appEnv) setAsideChange(entity, id, caseID string, fields map[string]json.RawMessage) string {
	e.t.Helper()
	return e.setAsideWith(entity, id, caseID, fields, &schema.Error{Code: schema.ECodeForbidden, Field: "name", Message: "only a supervisor may rename a victim"})
}

// setAsideWith is setAsideChange with the server's error.
func (e *appEnv) setAsideWith(entity, id, caseID string, fields map[string]json.RawMessage, why *schema.Error) string {
	e.t.Helper()
	ctx := context.Background()
	rec, err := e.agent.Put(ctx, entity, id, caseID, fields)
	if err != nil {
		e.t.Fatal(err)
	}
	out, _ := e.agent.Outbox(ctx)
	var mid string
	for _, o := range out {
		if o.RecordID == rec.ID && o.Status == "pending" {
			mid = o.MutationID
		}
	}
	err = e.agent.DB().Update(ctx, func(tx *devicedb.Tx) error {
		return tx.RejectOutbox(ctx, mid, why)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return mid
}

func (e *appEnv) memberID(name string) string {
	for _, r := range e.peer.records {
		if r.Entity == "household_member" && str(r.Fields, "name") == name {
			return r.ID
		}
	}
	e.t.Fatalf("no member %s", name)
	return ""
}

func TestAppSetAsideDiscardRetryAndKeepMine(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	ctx := context.Background()
	partner, kid := e.memberID("Jo Doe"), e.kidID
	lww := schema.NewID()
	clock := schema.HLC{Wall: e.clock.Now().Add(-time.Hour).UnixMilli(), Node: "tablet-1"}.String()
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{
		{Entity: "conflict", ID: lww, CaseID: e.caseID, Fields: schema.FieldsOf(schema.Conflict{RecordEntity: "household_member",
			RecordID: kid, Field: "name", Reason: "lww_lost", LosingValue: `"Mia Smith"`, LosingAuthor: officer.ID, LosingClock: clock,
			WinningValue: `"Mia Doe"`, WinningAuthor: "019a0000-0000-7000-8000-0000000000b1", Status: "open"})},
	})...)
	b := e.browser()
	b.mustSignIn()
	e.peer.down.Store(true) // nothing leaves the tablet while we look
	renamed := e.setAsideChange("household_member", partner, "", map[string]json.RawMessage{"name": mustJSON("Jo Smith")})
	kidChange := e.setAsideChange("household_member", kid, "", map[string]json.RawMessage{"residence": mustJSON("stays_sometimes")})
	lodger := e.setAsideChange("household_member", "", e.caseID, map[string]json.RawMessage{"relation": mustJSON("lodger"),
		"residence": mustJSON("lives_here"), "name": mustJSON("Lee Lodger")})

	p := b.get("/app/conflicts")
	mustContain(t, p, "3 set aside", "Send it again", "Discard this change",
		`action="/app/outbox/`+renamed+`/retry"`, `action="/app/outbox/`+renamed+`/discard"`,
		"The server does not have this record yet: discarding the change removes it from this tablet.",
		`action="/app/conflicts/`+lww+`/keep-mine"`, "Keep my value", "Decisions you have taken", "None yet.")
	token := p.token(csrfRE)

	// Without the session's token nothing changes.
	for _, path := range []string{"/app/outbox/" + renamed + "/discard", "/app/outbox/" + renamed + "/retry", "/app/conflicts/" + lww + "/keep-mine"} {
		if p := b.post(path, url.Values{}); p.status != 403 {
			t.Fatalf("%s without a token: %d", path, p.status)
		}
	}
	if n := e.outboxLen(); n != 3 {
		t.Fatalf("refused posts changed the outbox: %d", n)
	}

	// Discard the rename: only that change goes; the partner is Jo Doe again.
	p = b.post("/app/outbox/"+renamed+"/discard", url.Values{"_csrf": {token}})
	if p.status != 200 || p.path != "/app/conflicts" {
		t.Fatalf("discard: %d at %s", p.status, p.path)
	}
	mustContain(t, p, "Discarded: that change will not be sent", "2 set aside",
		"Discarded: not sent; the tablet shows the server&#39;s value", "by Asha Demo (you)", "<dt>Name</dt><dd>Jo Smith</dd>")
	if r, _ := e.agent.Get(ctx, "household_member", partner); str(r.Fields, "name") != "Jo Doe" || r.Rejected {
		t.Fatalf("the partner after the discard: %s rejected=%v", r.Fields, r.Rejected)
	}
	out, _ := e.agent.Outbox(ctx)
	if len(out) != 2 || out[0].MutationID != kidChange || out[1].MutationID != lodger {
		t.Fatalf("outbox after the discard: %+v", out)
	}

	// Discard the new lodger: the server never had them, so they go.
	b.post("/app/outbox/"+lodger+"/discard", url.Values{"_csrf": {token}})
	if _, err := e.agent.Get(ctx, "household_member", out[1].RecordID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("the discarded lodger is still on the tablet: %v", err)
	}

	// Send the child's change again: it waits to be sent under a new id.
	p = b.post("/app/outbox/"+kidChange+"/retry", url.Values{"_csrf": {token}})
	mustContain(t, p, "Sent again: the change waits to be sent", "0 set aside", "Sent again as a new change")
	out, _ = e.agent.Outbox(ctx)
	if len(out) != 1 || out[0].Status != "pending" || out[0].MutationID == kidChange || string(out[0].Fields) != `{"residence":"stays_sometimes"}` {
		t.Fatalf("outbox after the retry: %+v", out)
	}
	// Sending again something no longer set aside is refused in words.
	p = b.post("/app/outbox/"+kidChange+"/retry", url.Values{"_csrf": {token}})
	mustContain(t, p, "This change could not be sent again")

	// Keep my value: the child's name is written again, the conflict closed.
	p = b.post("/app/conflicts/"+lww+"/keep-mine", url.Values{"_csrf": {token}})
	mustContain(t, p, "your value is written again", "1 conflict already resolved", "Kept your value: written again as a new change")
	if r, _ := e.agent.Get(ctx, "household_member", kid); str(r.Fields, "name") != "Mia Smith" {
		t.Fatalf("the child after keep-mine: %s", r.Fields)
	}
	if cr, _ := e.agent.Get(ctx, "conflict", lww); str(cr.Fields, "status") != "resolved" || str(cr.Fields, "resolved_by") != officer.ID {
		t.Fatalf("the conflict after keep-mine: %s", cr.Fields)
	}
	// Everything left goes to the server at the next sync.
	e.peer.down.Store(false)
	if _, err := e.agent.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.outboxLen(); n != 0 {
		t.Fatalf("%d changes left after the sync", n)
	}
	if log, _ := e.agent.OutboxLog(ctx); len(log) != 4 {
		t.Fatalf("log: %d decisions, want 4", len(log))
	}
}

func TestAPISetAsideActions(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	ctx := context.Background()
	if _, err := e.agent.Login(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := e.agent.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	e.peer.down.Store(true)
	c := e.jsonClient()
	partner := e.memberID("Jo Doe")
	a := e.setAsideChange("household_member", partner, "", map[string]json.RawMessage{"name": mustJSON("Jo Smith")})
	st, out, _ := c.Do("POST", "/v1/outbox/"+a+"/retry", map[string]any{"fields": map[string]any{"name": "Jo Smyth"}}, nil)
	newID, _ := out["mutation_id"].(string)
	if st != 200 || newID == "" || newID == a {
		t.Fatalf("retry: %d %v", st, out)
	}
	if r, _ := e.agent.Get(ctx, "household_member", partner); str(r.Fields, "name") != "Jo Smyth" {
		t.Fatalf("after the edited retry: %s", r.Fields)
	}
	st, out, _ = c.Do("POST", "/v1/outbox/"+newID+"/discard", "", nil)
	if code, field := localapitest.ErrCode(out); st != 409 || code != schema.ECodeConflict || field != "mutation_id" {
		t.Fatalf("discarding a pending change: %d %v", st, out)
	}
	st, out, _ = c.Do("POST", "/v1/outbox/"+schema.NewID()+"/discard", "", nil)
	if code, _ := localapitest.ErrCode(out); st != 404 || code != schema.ECodeNotFound {
		t.Fatalf("discarding an unknown change: %d %v", st, out)
	}
	b := e.setAsideChange("household_member", e.kidID, "", map[string]json.RawMessage{"name": mustJSON("Mia Smith")})
	if st, out, _ := c.Do("POST", "/v1/outbox/"+b+"/discard", "", nil); st != 200 || out["discarded"] != b {
		t.Fatalf("discard: %d %v", st, out)
	}
	st, out, _ = c.Do("GET", "/v1/outbox/log", nil, nil)
	log, _ := out["log"].([]any)
	if st != 200 || len(log) != 2 {
		t.Fatalf("log: %d %v", st, out)
	}
	last, _ := log[1].(map[string]any)
	if last["decision"] != "discarded" || last["mutation_id"] != b || last["decided_by"] != officer.ID {
		t.Fatalf("the logged discard: %v", last)
	}
	if f, _ := last["fields"].(map[string]any); f["name"] != "Mia Smith" {
		t.Fatalf("the discarded change's content is not in the log: %v", last)
	}
	st, out, _ = c.Do("POST", "/v1/conflicts/"+schema.NewID()+"/keep-mine", "", nil)
	if st != 404 {
		t.Fatalf("keep-mine of an unknown conflict: %d %v", st, out)
	}
}

// TestAppSyncBadgeSaysWhatIsTrue: the badge counts records (not the
// mutations behind them), says "Online" only while the last contact with
// the server succeeded and is recent, never "last sync just now" while
// offline, and a good sync with changes set aside is a success that says
// so plainly, with a link, not a red error.
func TestAppSyncBadgeSaysWhatIsTrue(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	ctx := context.Background()
	b := e.browser()
	b.mustSignIn()
	badge := func(p page) string {
		t.Helper()
		s := p.body[strings.Index(p.body, `id="sync-badge"`):]
		return s[:strings.Index(s, "</div>")]
	}
	p := b.get("/app/today")
	mustContain(t, p, "<strong>Online</strong> · last sync just now", "Nothing waiting to be sent")

	// Three saves of one record are one record waiting (3 changes).
	partner := e.memberID("Jo Doe")
	e.peer.down.Store(true)
	for _, name := range []string{"Jo A", "Jo B", "Jo C"} {
		if _, err := e.agent.Put(ctx, "household_member", partner, "", map[string]json.RawMessage{"name": mustJSON(name)}); err != nil {
			t.Fatal(err)
		}
	}
	p = b.get("/app/today")
	if got := badge(p); !strings.Contains(got, `<span id="badge-pending">1 record with changes waiting to be sent (3 changes)</span>`) {
		t.Errorf("want 1 record (3 changes) waiting, got:\n%s", got)
	}

	// Offline: the last sync failed, so the badge never says "last sync
	// just now", only when the last successful one was.
	e.clock.Advance(5 * time.Minute)
	token := p.token(csrfRE)
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	got := badge(p)
	if !strings.Contains(got, "<strong>Offline</strong> · last successful sync 5 minutes ago") || strings.Contains(got, "Online") {
		t.Errorf("offline badge:\n%s", got)
	}

	// Back online: a good sync with a change set aside is a success, not
	// an error, and links to what was set aside.
	e.peer.down.Store(false)
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	mustContain(t, p, "<strong>Online</strong> · last sync just now", "Nothing waiting to be sent")
	e.peer.down.Store(true)
	e.setAsideChange("household_member", partner, "", map[string]json.RawMessage{"name": mustJSON("Jo D")})
	e.peer.down.Store(false)
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	mustContain(t, p, `class="flash flash-success"`, "Synced: every change that could be sent is on the server. 1 change was set aside by the server: it waits for you to decide what to do.",
		`<a href="/app/conflicts#set-aside" id="flash-link">See what was set aside</a>`, `<span id="badge-rejected">1 set aside</span>`)
	mustNotContain(t, p, "flash-error", "Error:", "0 changes are still waiting")

	// A quiet quarter of an hour (the officer busy, the app never locked):
	// no longer "Online".
	for range 5 {
		e.clock.Advance(4 * time.Minute)
		p = b.get("/app/today")
	}
	if got := badge(p); strings.Contains(got, "Online") || !strings.Contains(got, "Not in touch with the server recently</strong> · last sync 20 minutes ago") {
		t.Errorf("a badge 20 minutes after the last sync:\n%s", got)
	}
}

// TestAppSetAsideNamesThePersonAndOffersWhatCanSucceed: a change set aside
// names the person (with the CRN) and the record, never the server's
// message with a record id; a case no longer on the tablet gets no link
// (it would answer 404) and no "Send it again" (it cannot succeed), and
// "Send it again" is the main button only when the cause may be gone.
func TestAppSetAsideNamesThePersonAndOffersWhatCanSucceed(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	ctx := context.Background()
	// A second case, whose change is set aside and which then leaves the tablet.
	goneCase := schema.NewID()
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{{Entity: "case", ID: goneCase, CaseID: goneCase,
		Fields: schema.FieldsOf(schema.Case{CRN: "G123456", GivenName: "Gail", FamilyName: "Gone", DateOfBirth: "1980-01-01", Address: "9 Far Lane",
			OfficerID: officer.ID, TeamID: "team-1", SentenceType: "licence", SupervisionStart: "2026-01-01", RoSH: "low"})}})...)
	b := e.browser()
	b.mustSignIn()
	e.peer.down.Store(true)
	outOfScope := func(id string) *schema.Error {
		return &schema.Error{Code: schema.ECodeOutOfScope, Field: "case_id", Message: "case " + id + " is not in your caseload"}
	}
	partner := e.memberID("Jo Doe")
	back := e.setAsideWith("household_member", partner, "", map[string]json.RawMessage{"name": mustJSON("Jo Smith")}, outOfScope(e.caseID))
	refused := e.setAsideChange("household_member", e.kidID, "", map[string]json.RawMessage{"residence": mustJSON("visits")})
	gone := e.setAsideWith("household_member", "", goneCase, map[string]json.RawMessage{"relation": mustJSON("partner"),
		"residence": mustJSON("lives_here"), "name": mustJSON("Pat Gone")}, outOfScope(goneCase))
	if err := e.agent.DB().Update(ctx, func(tx *devicedb.Tx) error {
		_, err := tx.DeleteCase(ctx, goneCase)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	p := b.get("/app/conflicts")
	item := func(mid string) string {
		t.Helper()
		i := strings.Index(p.body, `action="/app/outbox/`+mid+`/discard"`)
		if i < 0 {
			t.Fatalf("no set-aside change %s on the page", mid)
		}
		start := strings.LastIndex(p.body[:i], `<li class="row set-aside">`)
		end := strings.Index(p.body[i:], "</li>")
		return p.body[start : i+end]
	}
	// Back in the caseload: named, with a link, and sending again first.
	it := item(back)
	for _, want := range []string{"A household member: Jo Smith, partner</strong> for Sam Doe (X123456)", "open it</a>",
		`<button type="submit" class="primary">Send it again</button>`, `<button type="submit" class="secondary">Discard this change</button>`,
		"the case was not in your caseload"} {
		if !strings.Contains(it, want) {
			t.Errorf("the change of a case back in the caseload lacks %q:\n%s", want, it)
		}
	}
	// Refused for a reason that stays: both buttons, neither the main one.
	it = item(refused)
	if !strings.Contains(it, `<button type="submit" class="secondary">Send it again</button>`) || strings.Contains(it, `class="primary"`) {
		t.Errorf("a forbidden change offers Send it again as the main button:\n%s", it)
	}
	// Its case gone: named from the change, no link, no Send it again.
	it = item(gone)
	for _, want := range []string{"A household member: Pat Gone, partner</strong>, in a case no longer on this tablet",
		"The case is no longer on this tablet, so this change cannot be sent.", `<button type="submit" class="primary">Discard this change</button>`} {
		if !strings.Contains(it, want) {
			t.Errorf("the change of a case gone lacks %q:\n%s", want, it)
		}
	}
	for _, unwanted := range []string{"open it", "Send it again", goneCase, "is not in your caseload"} {
		if strings.Contains(it, unwanted) {
			t.Errorf("the change of a case gone shows %q:\n%s", unwanted, it)
		}
	}
	// Discarding it works (it is the one thing offered).
	p = b.post("/app/outbox/"+gone+"/discard", url.Values{"_csrf": {p.token(csrfRE)}})
	mustContain(t, p, "Discarded: that change will not be sent")
}
