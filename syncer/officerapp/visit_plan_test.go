package officerapp

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAppMoveOrCancelAPlannedVisit(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	signed := e.addSignedVisit()
	b := e.browser()
	today := b.mustSignIn()
	recs, err := e.agent.List(context.Background(), "visit", e.caseID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("visits: %d, %v", len(recs), err)
	}
	vid := recs[0].ID // the home visit planned for today
	path := "/app/visits/" + vid + "/plan"

	// Reachable from Today (and back there) and from the case page.
	mustContain(t, today, `href="`+path+`?back=/app/today"`, "Move or cancel")
	cp := b.get("/app/cases/" + e.caseID)
	mustContain(t, cp, `href="`+path+`"`)

	form := b.get(path)
	now := e.clock.Now()
	planned := recs[0].Fields
	at, _ := time.Parse(time.RFC3339Nano, str(planned, "planned_at"))
	at = at.In(now.Location())
	mustContain(t, form, "Move or cancel a visit", "Home visit (unannounced)", `for="f-planned_date"`, `for="f-planned_time"`,
		`value="`+at.Format(time.DateOnly)+`"`, `value="`+at.Format("15:04")+`"`, `value="home_unannounced" checked`,
		`for="f-cancel_reason"`, `action="/app/visits/`+vid+`/cancel"`)
	token := form.token(csrfRE)
	tomorrow := now.AddDate(0, 0, 1)
	good := url.Values{"_csrf": {token}, "planned_date": {tomorrow.Format(time.DateOnly)}, "planned_time": {"09:15"}, "planned_type": {"home_announced"}}
	mustRefuse(t, e, b, path, good, []formCase{
		{"a date that does not exist", "planned_date", "Enter a real date, for example 31/03/2026.", []string{"planned_date", "2026-02-30"}},
		{"no date", "planned_date", "Enter the date of the visit.", []string{"planned_date", ""}},
		{"a date in the past", "planned_date", "The date is in the past", []string{"planned_date", now.AddDate(0, 0, -1).Format(time.DateOnly)}},
		{"a time already passed today", "planned_time", "That time has already passed", []string{"planned_date", now.Format(time.DateOnly), "planned_time", "00:00"}},
		{"a time that is not one", "planned_time", "Enter a real time, for example 14:05.", []string{"planned_time", "9h"}},
		{"no type", "planned_type", "Choose the type of visit.", []string{"planned_type", "\x00"}},
		{"a type that is not one", "planned_type", "Choose one of the options.", []string{"planned_type", "pub"}},
	})
	cancelPath := "/app/visits/" + vid + "/cancel"
	mustRefuse(t, e, b, cancelPath, url.Values{"_csrf": {token}}, []formCase{
		{"a cancellation without a reason", "cancel_reason", "Say why the visit is cancelled.", []string{"cancel_reason", "  "}},
		{"a reason too long", "cancel_reason", "The reason is too long", []string{"cancel_reason", strings.Repeat("x", 2001)}},
	})

	before := e.outboxLen()
	// Moved: one change, the new time with the local offset and the new type.
	p := b.post(path, good)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("move: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox %d -> %d, want one more", before, n)
	}
	want := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 9, 15, 0, 0, now.Location())
	mustContain(t, p, "is moved to "+want.Format("Mon 2 Jan 2006 at 15:04")+" (Home visit (announced))", want.Format("Mon 2 Jan 2006 at 15:04"))
	v, err := e.agent.Get(context.Background(), "visit", vid)
	if err != nil {
		t.Fatal(err)
	}
	if str(v.Fields, "planned_at") != want.Format(time.RFC3339) || str(v.Fields, "planned_type") != "home_announced" || str(v.Fields, "status") != "planned" {
		t.Fatalf("moved visit: %s", v.Fields)
	}
	// The same again changes nothing and queues nothing.
	if p := b.post(path, good); !strings.Contains(p.body, "Nothing changed: the visit is still planned for") || e.outboxLen() != before+1 {
		t.Fatalf("an unchanged move: outbox %d, page:\n%s", e.outboxLen(), p.body)
	}
	// The outbox sends only what changed.
	b.syncNow(t, p)
	pushed := e.peer.pushedOf(vid)
	if len(pushed) != 1 || len(pushed[0]) != 2 || str(pushed[0], "planned_at") != want.Format(time.RFC3339) {
		t.Fatalf("pushed: %v", pushed)
	}

	// Cancelled from Today: back to Today; the reason kept in the record.
	p = b.post(cancelPath, url.Values{"_csrf": {token}, "back": {"/app/today"}, "cancel_reason": {"In hospital until next week"}})
	if p.status != 200 || p.path != "/app/today" {
		t.Fatalf("cancel: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "is cancelled. It is saved on this tablet")
	v, _ = e.agent.Get(context.Background(), "visit", vid)
	if str(v.Fields, "status") != "cancelled" || str(v.Fields, "outcome_reason") != "In hospital until next week" || str(v.Fields, "outcome") != "" {
		t.Fatalf("cancelled visit: %s", v.Fields)
	}
	cp = b.get("/app/cases/" + e.caseID)
	mustContain(t, cp, "No visit is planned.", "Cancelled because: In hospital until next week")
	b.syncNow(t, cp)
	if pushed := e.peer.pushedOf(vid); len(pushed) != 2 || str(pushed[1], "status") != "cancelled" {
		t.Fatalf("pushed: %v", pushed)
	}
	// A cancelled visit is neither recorded nor turned back into a draft.
	mustNotContain(t, cp, `href="/app/visits/`+vid+`"`)
	if vp := b.get("/app/visits/" + vid); vp.status != 409 || !strings.Contains(vp.body, "This visit was cancelled, so it cannot be recorded.") {
		t.Fatalf("a cancelled visit's form: want 409, got %d", vp.status)
	}
	before = e.outboxLen()
	b.post("/app/visits/"+vid, url.Values{"_csrf": {token}, "type": {"office"}})
	b.post("/app/visits/"+vid+"/draft", url.Values{"_csrf": {token}, "type": {"office"}})
	if v, _ := e.agent.Get(context.Background(), "visit", vid); str(v.Fields, "status") != "cancelled" || e.outboxLen() != before {
		t.Fatalf("a cancelled visit was recorded: %s", v.Fields)
	}
	// A cancelled visit is not moved again.
	again := b.get(path)
	if again.status != 409 {
		t.Fatalf("a cancelled visit: want 409, got %d", again.status)
	}
	mustContain(t, again, "already cancelled")

	// A signed visit can never be moved or cancelled.
	before = e.outboxLen()
	for _, try := range []func() page{
		func() page { return b.get("/app/visits/" + signed + "/plan") },
		func() page { return b.post("/app/visits/"+signed+"/plan", good) },
		func() page {
			return b.post("/app/visits/"+signed+"/cancel", url.Values{"_csrf": {token}, "cancel_reason": {"mistake"}})
		},
	} {
		p := try()
		if p.status != 409 {
			t.Fatalf("a signed visit: want 409, got %d at %s", p.status, p.path)
		}
		mustContain(t, p, "This visit is signed. A signed visit is a legal record: it can never be moved or cancelled.")
	}
	if n := e.outboxLen(); n != before {
		t.Fatalf("a signed visit was changed: outbox %d -> %d", before, n)
	}
	sv, _ := e.agent.Get(context.Background(), "visit", signed)
	if str(sv.Fields, "status") != "signed" {
		t.Fatalf("signed visit: %s", sv.Fields)
	}
	mustNotContain(t, b.get("/app/cases/"+e.plain), "/app/visits/"+signed+"/plan")

	// A draft is being recorded: not moved either.
	d := b.post("/app/cases/"+e.plain+"/visits", url.Values{"_csrf": {token}})
	did := strings.TrimPrefix(d.path, "/app/visits/")
	if dp := b.get("/app/visits/" + did + "/plan"); dp.status != 409 || !strings.Contains(dp.body, "no longer planned") {
		t.Fatalf("a draft: want 409 'no longer planned', got %d", dp.status)
	}
}
