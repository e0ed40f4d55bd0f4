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
)

// signedVisit is a visit the server has, signed: an office visit to the
// plain case.
func (e *appEnv) addSignedVisit() string {
	id := schema.NewID()
	at := e.clock.Now().UTC().Add(-48 * time.Hour)
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{{Entity: "visit", ID: id, CaseID: e.plain,
		Fields: schema.FieldsOf(schema.Visit{OfficerID: officer.ID, Type: "office", Status: "signed", Outcome: "completed",
			FaceToFace: true, PersonSeen: "yes", StartedAt: schema.TimestampOf(at),
			SignedAt: schema.TimestampOf(at.Add(time.Hour)), SignedBy: officer.ID})}})...)
	return id
}

func TestAppAmendASignedVisit(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	vid := e.addSignedVisit()
	b := e.browser()
	b.mustSignIn()
	visitPath := "/app/visits/" + vid
	vp := b.get(visitPath)
	// First the answer to correct (a GET form: no script needed).
	mustContain(t, vp, "Signed visit", "Amend this visit", "No amendments.", `<form method="get" action="/app/visits/`+vid+`#amend"`,
		`<select id="f-amend_field" name="amend_field"`, `<option value="children">The children&#39;s answers`, `id="amend-choose"`)
	// Then that answer's own control, with the visit's answer.
	for _, c := range []struct{ field, want string }{
		{"type", `<select id="f-type" name="type"`},
		{"location", `<input type="radio" id="f-location-0" name="location" value="home">`},
		{"next_visit_on", `<input id="f-next_visit_on" name="next_visit_on" type="date" value=""`},
		{"started_at", `name="started_at" type="datetime-local" value="`},
		{"actions", `<input type="checkbox" id="f-actions-0" name="actions" value="childrens_services_referral">`},
		{"observation_notes", `<textarea id="f-observation_notes" name="observation_notes"`},
		{"face_to_face", `<input type="checkbox" id="f-face_to_face" name="face_to_face" value="yes" checked`},
	} {
		p := b.get(visitPath + "?amend_field=" + c.field)
		mustContain(t, p, c.want, `<input type="hidden" name="amend_field" value="`+c.field+`">`, "Correct: "+labelOf("visit", c.field).label,
			`id="f-reason"`, `id="amend-visit"`)
	}
	mustContain(t, b.get(visitPath+"?amend_field=type"), `<option value="office" selected>`)
	// A household with no children: nothing to correct, and a way to add one.
	mustContain(t, b.get(visitPath+"?amend_field=children"), `id="amend-no-children"`,
		`href="/app/cases/`+e.plain+`/household/new?back=/app/visits/`+vid+`"`)
	token := vp.token(csrfRE)
	before := e.outboxLen()

	refused := []struct {
		name, field   string
		kv            []string
		errField, msg string
		fieldset      bool
	}{
		{"without a reason", "type", []string{"type", "phone", "reason", "  "}, "reason", "Give the reason for the amendment.", false},
		{"a choice that is not one", "type", []string{"type", "telepathy", "reason", "Wrong type recorded"}, "type", "Choose one of the options.", false},
		{"no answer chosen", "", []string{"type", "phone", "reason", "Wrong type recorded"}, "amend_field", "Choose the answer to correct.", false},
		{"the value it already has", "type", []string{"type", "office", "reason", "Wrong type recorded"}, "type", "That is what the visit already says", false},
		{"a date that is not one", "next_visit_on", []string{"next_visit_on", "2026-02-31", "reason", "Typo"}, "next_visit_on", "Enter a real date", false},
		{"a radio that is not one", "location", []string{"location", "moon", "reason", "Typo"}, "location", "Choose one of the options.", true},
	}
	for _, s := range refused {
		t.Run(s.name, func(t *testing.T) {
			form := url.Values{"_csrf": {token}, "amend_field": {s.field}}
			for i := 0; i < len(s.kv); i += 2 {
				form.Set(s.kv[i], s.kv[i+1])
			}
			p := b.post(visitPath+"/amend", form)
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			mustContain(t, p, `id="`+controlID(s.errField)+`-error"`, s.msg, "There is a problem", `href="#`+controlID(s.errField)+`"`)
			// The error is in the field's own block, right after its label.
			open := `<label for="` + controlID(s.errField) + `">`
			if s.fieldset {
				open = `<fieldset class="field has-error" id="` + controlID(s.errField) + `"`
			}
			i := strings.Index(p.body, open)
			j := strings.Index(p.body, `id="`+controlID(s.errField)+`-error"`)
			if i < 0 || j < i || j-i > 600 {
				t.Fatalf("the error is not next to %s (%d, %d)", s.errField, i, j)
			}
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused amendment queued something: %d -> %d", before, n)
			}
		})
	}

	p := b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"type"}, "type": {"phone"},
		"reason": {"Recorded as an office visit by mistake: it was a phone call"}})
	if p.status != 200 || p.path != visitPath {
		t.Fatalf("amend: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "Amendment saved", "Recorded as an office visit by mistake: it was a phone call",
		"Type of contact: was “Office”, now “Phone”", "by Asha Demo (you)", "Waiting to be sent", "1 record with changes waiting to be sent")
	mustNotContain(t, p, "No amendments.")
	// The summary shows the answer as amended, the original readable
	// beside it; answers no amendment changed have nothing beside them.
	mustContain(t, p, `<dt>Type of contact</dt><dd>Phone <span class="as-signed">(amended; as signed: Office)</span></dd>`,
		"The answers above are as amended")
	mustNotContain(t, p, "<dt>Type of contact</dt><dd>Office</dd>", `<dt>What happened</dt><dd>Completed <span class="as-signed">`)
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
	// The form for the same answer now starts from the amended value.
	mustContain(t, b.get(visitPath+"?amend_field=type"), `<option value="phone" selected>`)
	// The same value again is refused against the amended value.
	p = b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"type"}, "type": {"phone"}, "reason": {"Again"}})
	mustContain(t, p, "That is what the visit already says")

	// A second amendment is listed after the first, "was" the amended value.
	p = b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"type"}, "type": {"video"}, "reason": {"It was a video call"}})
	mustContain(t, p, "Type of contact: was “Phone”, now “Video”")
	if strings.Index(p.body, "it was a phone call") > strings.Index(p.body, "It was a video call") {
		t.Fatal("amendments are not in the order made")
	}
	// A list (checkboxes) and a yes/no (a checkbox left empty).
	p = b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"actions"}, "actions": {"police_informed", "manager_informed"}, "reason": {"Left out"}})
	mustContain(t, p, "Actions taken: was “(no answer)”, now “Police informed; Manager informed”")
	p = b.post(visitPath+"/amend", url.Values{"_csrf": {token}, "amend_field": {"face_to_face"}, "reason": {"It was by video"}})
	mustContain(t, p, "Face to face: was “Yes”, now “No”")

	// The conflicts page's link prefills the form with its value.
	pre := b.get(visitPath + "?amend_field=outcome&amend_value=No+answer")
	mustContain(t, pre, "Correct: What happened", `<option value="no_answer" selected>`)
}

// The children's answers are amended with their own controls, each child
// by name.
func TestAppAmendTheChildrensAnswers(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	vid := schema.NewID()
	at := e.clock.Now().UTC().Add(-48 * time.Hour)
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{{Entity: "visit", ID: vid, CaseID: e.caseID,
		Fields: schema.FieldsOf(schema.Visit{OfficerID: officer.ID, Type: "home_announced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, PersonSeen: "yes", PartnerPresent: "no", ChildrenPresent: "yes",
			Children:  []schema.VisitChild{{MemberID: e.kidID, Present: "yes", Seen: "yes", SpokenTo: "no"}},
			StartedAt: schema.TimestampOf(at), SignedAt: schema.TimestampOf(at.Add(time.Hour)), SignedBy: officer.ID})}})...)
	b := e.browser()
	b.mustSignIn()
	path := "/app/visits/" + vid
	p := b.get(path + "?amend_field=children")
	mustContain(t, p, "Correct: The children&#39;s answers", `<h3 class="section">Mia Doe, `, `name="children[0].member_id" value="`+e.kidID+`"`,
		`<input type="radio" id="f-children-0-present-0" name="children[0].present" value="yes" checked>`,
		`<input type="radio" id="f-children-0-spoken_to-1" name="children[0].spoken_to" value="no" checked>`)
	token := p.token(csrfRE)
	before := e.outboxLen()
	form := url.Values{"_csrf": {token}, "amend_field": {"children"}, "children[0].member_id": {e.kidID},
		"children[0].present": {"yes"}, "children[0].seen": {"no"}, "children[0].spoken_to": {"no"}, "reason": {"Mia was asleep: seen by mistake"}}
	p = b.post(path+"/amend", form)
	if p.status != 422 {
		t.Fatalf("a child not seen with no reason: want 422, got %d\n%s", p.status, p.body)
	}
	mustContain(t, p, `id="f-children-0-reason_not_seen-error"`, "Mia Doe was present but not seen: give the reason.")
	if n := e.outboxLen(); n != before {
		t.Fatalf("a refused amendment queued something: %d -> %d", before, n)
	}
	// Clearing the child's answers would leave her unaccounted for.
	blank := url.Values{"_csrf": {token}, "amend_field": {"children"}, "children[0].member_id": {e.kidID}, "reason": {"cleared"}}
	p = b.post(path+"/amend", blank)
	if p.status != 422 {
		t.Fatalf("an amendment leaving Mia unaccounted for: want 422, got %d", p.status)
	}
	mustContain(t, p, "Mia Doe (household member "+e.kidID+") is on the household list: say whether they were present.")
	if n := e.outboxLen(); n != before {
		t.Fatalf("a refused amendment queued something: %d -> %d", before, n)
	}
	form.Set("children[0].reason_not_seen", "Asleep upstairs")
	p = b.post(path+"/amend", form)
	if p.status != 200 {
		t.Fatalf("amend the children: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "The children&#39;s answers: was “Mia Doe: present: Yes, seen: Yes, spoken to: No”, now “Mia Doe: present: Yes, seen: No, spoken to: No (Asleep upstairs)”")
}

func TestAppConflictsPage(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	vid := e.addSignedVisit()
	var partnerID string
	for _, r := range e.peer.records {
		if r.Entity == "household_member" && str(r.Fields, "name") == "Jo Doe" {
			partnerID = r.ID
		}
	}
	lww, signed := schema.NewID(), schema.NewID()
	clock := schema.HLC{Wall: e.clock.Now().Add(-time.Hour).UnixMilli(), Node: "tablet-1"}.String()
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{
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
		"<dt>The server's value</dt><dd>Jo Doe", "by another user (id 019a0000-0000-7000-8000-0000000000b1)",
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
