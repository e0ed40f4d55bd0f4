package localapi

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// signedVisit is a visit the server has, signed: an office visit to the
// plain case.
func (e *appEnv) addSignedVisit() string {
	id := schema.NewID()
	at := time.Now().UTC().Add(-48 * time.Hour)
	e.peer.records = append(e.peer.records, asServed([]schema.Record{{Entity: "visit", ID: id, CaseID: e.plain,
		Fields: schema.FieldsOf(schema.Visit{OfficerID: officer.ID, Type: "office", Status: "signed", Outcome: "completed",
			FaceToFace: true, PersonSeen: "yes", StartedAt: schema.TimestampOf(at),
			SignedAt: schema.TimestampOf(at.Add(time.Hour)), SignedBy: officer.ID})}})...)
	return id
}

func TestAppAmendASignedVisit(t *testing.T) {
	e := startApp(t)
	vid := e.addSignedVisit()
	b := e.browser()
	b.mustSignIn()
	visitPath := "/app/visits/" + vid
	vp := b.get(visitPath)
	mustContain(t, vp, "Signed visit", "Amend this visit", "No amendments.", `name="amend_field"`, `id="f-reason"`)
	token := vp.token(csrfRE)
	before := e.outboxLen()

	refused := []struct {
		name, field, value, reason, errField, msg string
	}{
		{"without a reason", "type", "Phone", "  ", "reason", "Give the reason for the amendment."},
		{"a choice that is not one", "type", "Telepathy", "Wrong type recorded", "amend_value", "Choose one of: Home visit (announced)"},
		{"no field chosen", "", "Phone", "Wrong type recorded", "amend_field", "Choose the field to correct."},
		{"the value it already has", "type", "office", "Wrong type recorded", "amend_value", "That is what the visit already says"},
		{"a date that is not one", "next_visit_on", "31/02/2026", "Typo", "amend_value", "Enter a real date"},
	}
	for _, s := range refused {
		t.Run(s.name, func(t *testing.T) {
			p := b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {s.field}, "amend_value": {s.value}, "reason": {s.reason}})
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			mustContain(t, p, `id="`+controlID(s.errField)+`-error"`, s.msg, "There is a problem")
			// The error is in the field's own block, right after its label.
			i := strings.Index(p.body, `<label for="`+controlID(s.errField)+`">`)
			j := strings.Index(p.body, `id="`+controlID(s.errField)+`-error"`)
			if i < 0 || j < i || j-i > 600 {
				t.Fatalf("the error is not next to %s (%d, %d)", s.errField, i, j)
			}
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused amendment queued something: %d -> %d", before, n)
			}
		})
	}

	p := b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"type"}, "amend_value": {"phone"},
		"reason": {"Recorded as an office visit by mistake: it was a phone call"}})
	if p.status != 200 || p.path != visitPath {
		t.Fatalf("amend: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "Amendment saved", "Recorded as an office visit by mistake: it was a phone call",
		"Type of contact: was “Office”, now “Phone”", "by Asha Demo (you)", "Waiting to be sent", "1 change waiting to be sent")
	mustNotContain(t, p, "No amendments.")
	// The original stays readable, as signed.
	mustContain(t, p, "<dt>Type of contact</dt><dd>Office</dd>")
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox: %d -> %d", before, n)
	}
	recs, err := e.agent.List(context.Background(), "amendment", e.plain)
	if err != nil || len(recs) != 1 {
		t.Fatalf("amendments: %v %+v", err, recs)
	}
	var a schema.Amendment
	if err := recs[0].Decode(&a); err != nil || a.VisitID != vid || a.AmendedBy != officer.ID || string(a.Changes["type"]) != `"phone"` {
		t.Fatalf("amendment: %v %+v", err, a)
	}
	v, _ := e.agent.Get(context.Background(), "visit", vid)
	if str(v.Fields, "type") != "office" {
		t.Fatalf("the signed visit changed: %s", v.Fields)
	}

	// A second amendment is listed after the first, "was" the amended value.
	p = b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"type"}, "amend_value": {"Video"}, "reason": {"It was a video call"}})
	mustContain(t, p, "Type of contact: was “Phone”, now “Video”")
	if strings.Index(p.body, "it was a phone call") > strings.Index(p.body, "It was a video call") {
		t.Fatal("amendments are not in the order made")
	}

	// The conflicts page's link prefills the form.
	pre := b.get(visitPath + "?amend_field=outcome&amend_value=No+answer")
	mustContain(t, pre, `<option value="outcome" selected>`, `name="amend_value" type="text" value="No answer"`)
}

func TestAppConflictsPage(t *testing.T) {
	e := startApp(t)
	vid := e.addSignedVisit()
	var partnerID string
	for _, r := range e.peer.records {
		if r.Entity == "household_member" && str(r.Fields, "name") == "Jo Doe" {
			partnerID = r.ID
		}
	}
	lww, signed := schema.NewID(), schema.NewID()
	clock := schema.HLC{Wall: time.Now().Add(-time.Hour).UnixMilli(), Node: "tablet-1"}.String()
	e.peer.records = append(e.peer.records, asServed([]schema.Record{
		{Entity: "conflict", ID: lww, CaseID: e.caseID, Fields: schema.FieldsOf(schema.Conflict{RecordEntity: "household_member",
			RecordID: partnerID, Field: "name", Reason: "lww_lost", LosingValue: `"Joanne Doe"`, LosingAuthor: officer.ID, LosingClock: clock,
			WinningValue: `"Jo Doe"`, WinningAuthor: "019a0000-0000-7000-8000-0000000000b1", Status: "open"})},
		{Entity: "conflict", ID: signed, CaseID: e.plain, Fields: schema.FieldsOf(schema.Conflict{RecordEntity: "visit",
			RecordID: vid, Field: "outcome", Reason: "record_signed", LosingValue: `"no_answer"`, LosingAuthor: officer.ID,
			WinningValue: `"completed"`, WinningAuthor: officer.ID, Status: "open"})},
	})...)
	b := e.browser()
	today := b.mustSignIn()
	mustContain(t, today, `<a href="/app/conflicts#conflicts"><span id="badge-conflicts">2 conflicts</span></a>`,
		`<a href="/app/conflicts#set-aside"><span id="badge-rejected">0 set aside</span></a>`)

	// A change the server set aside: a member's name, refused.
	ctx := context.Background()
	if _, err := e.agent.Put(ctx, "household_member", partnerID, "", map[string]json.RawMessage{"name": mustJSON("Jo Smith")}); err != nil {
		t.Fatal(err)
	}
	out, _ := e.agent.Outbox(ctx)
	if len(out) != 1 {
		t.Fatalf("outbox: %+v", out)
	}
	err := e.agent.DB().Update(ctx, func(tx *devicedb.Tx) error {
		return tx.RejectOutbox(ctx, out[0].MutationID, &schema.Error{Code: schema.ECodeForbidden, Field: "name",
			Message: "only a supervisor may rename a victim"})
	})
	if err != nil {
		t.Fatal(err)
	}

	p := b.get("/app/conflicts")
	mustContain(t, p, "Changes the server set aside", "A household member</strong> for Sam Doe",
		"The server does not allow you to make this change: Only a supervisor may rename a victim.",
		"<dt>Name</dt><dd>Jo Smith</dd>", "1 set aside")
	// The last-writer-wins conflict: both values, who, the reason in words,
	// and "keep the server's value".
	mustContain(t, p, "<strong>Name</strong>", "<dt>Your value</dt><dd>Joanne Doe", "by Asha Demo (you)",
		"<dt>The server's value</dt><dd>Jo Doe", "by user 019a0000-0000-7000-8000-0000000000b1",
		"Someone else changed this answer too", "/app/conflicts/"+lww+"/resolve", "Keep the server's value")
	// The signed-record conflict: an amendment with the officer's value.
	mustContain(t, p, "<strong>What happened</strong>", "<dt>Your value</dt><dd>No answer", "<dt>The server's value</dt><dd>Completed",
		"A signed visit is only corrected by an amendment",
		`href="/app/visits/`+vid+`?amend_field=outcome&amp;amend_value=No&#43;answer#amend"`, "Add an amendment with your value")

	// Keep the server's value: the conflict is resolved through the agent.
	token := p.token(csrfRE)
	before := e.outboxLen()
	p = b.post("/app/conflicts/"+lww+"/resolve", url.Values{"_csrf": {token}})
	if p.status != 200 || p.path != "/app/conflicts" {
		t.Fatalf("resolve: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "the server&#39;s value stays", "1 conflict already resolved", "1 conflict</span>")
	mustNotContain(t, p, "Joanne Doe")
	cr, _ := e.agent.Get(ctx, "conflict", lww)
	if str(cr.Fields, "status") != "resolved" || str(cr.Fields, "resolved_by") != officer.ID {
		t.Fatalf("conflict after resolving: %s", cr.Fields)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox: %d -> %d", before, n)
	}
	// Without the session's token nothing changes.
	p = b.post("/app/conflicts/"+signed+"/resolve", url.Values{})
	if p.status != 403 {
		t.Fatalf("resolve without a token: %d", p.status)
	}
}
