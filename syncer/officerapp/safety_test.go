package officerapp

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/localapi"
)

// formCase is one refused form post: the values changed from a good form,
// the field the error must be next to and (part of) its message.
type formCase struct {
	name, field, msg string
	kv               []string
}

// with copies good and sets kv (name, value, ...) on the copy; a value of
// "\x00" removes the field.
func with(good url.Values, kv ...string) url.Values {
	v := url.Values{}
	for k, x := range good {
		v[k] = append([]string(nil), x...)
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "\x00" {
			v.Del(kv[i])
			continue
		}
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// mustRefuse posts each case and checks the answer: 422, the message in
// the field's own error block, linked from the summary, and nothing queued.
func mustRefuse(t *testing.T, e *appEnv, b *browser, path string, good url.Values, cases []formCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.outboxLen()
			p := b.post(path, with(good, tc.kv...))
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			mustErrorNextTo(t, p, tc.field, tc.msg)
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused form saved something: outbox %d -> %d", before, n)
			}
		})
	}
}

// mustErrorNextTo checks that msg is in field's error block, and the
// summary links to the field.
func mustErrorNextTo(t *testing.T, p page, field, msg string) {
	t.Helper()
	id := controlID(field)
	mustContain(t, p, "There is a problem", `href="#`+id+`"`)
	i := strings.Index(p.body, `id="`+id+`-error"`)
	if i < 0 {
		t.Fatalf("no error next to %s; the page:\n%s", field, p.body)
	}
	block := p.body[i:]
	if end := strings.Index(block, "</p>"); end >= 0 {
		block = block[:end]
	}
	if !strings.Contains(block, msg) {
		t.Fatalf("want %q next to %s, got %q", msg, field, block)
	}
}

// pushedOf returns the fields of the mutations the peer received for
// record id.
func (p *appPeer) pushedOf(id string) []map[string]json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]json.RawMessage
	for _, m := range p.pushed {
		if m.RecordID == id {
			out = append(out, m.Fields)
		}
	}
	return out
}

// syncNow presses Sync now on page p and checks that nothing waits.
func (b *browser) syncNow(t *testing.T, p page) page {
	t.Helper()
	s := b.post("/app/sync", url.Values{"_csrf": {p.token(csrfRE)}, "back": {p.path}})
	mustContain(t, s, "Synced: everything on this tablet is on the server.")
	return s
}

func TestAppSafetyAssessmentOnTheCasePage(t *testing.T) {
	t.Parallel()
	const home = "1 High St, Testtown, ZZ1 1AA"
	sa := func(address, assessedOn string, mod func(*schema.SafetyAssessment)) schema.Record {
		s := schema.SafetyAssessment{Address: address, Dogs: "yes", OtherOccupants: "A lodger, name not known", Weapons: "not_known",
			LoneWorkingPlan: "Visit in pairs; call the office on leaving", Notes: "Large dog kept in the garden",
			AssessedOn: schema.Date(assessedOn), AssessedBy: officer.ID}
		if mod != nil {
			mod(&s)
		}
		return schema.Record{Entity: "safety_assessment", ID: schema.NewID(), Fields: schema.FieldsOf(s)}
	}
	for _, tc := range []struct {
		name       string
		recs       []schema.Record
		want, dont []string
	}{
		{name: "none", want: []string{`id="safety-none"`, "No assessment of the current address (" + home + ")", `href="/app/cases/{case}/safety/new"`}},
		{name: "only of an earlier address",
			recs: []schema.Record{sa("9 Old Rd, Testtown", "2026-01-05", func(s *schema.SafetyAssessment) { s.Decision = "approved" })},
			want: []string{"No assessment of the current address", "The latest assessment on this tablet (5 Jan 2026) is of another address: 9 Old Rd, Testtown."},
			dont: []string{`id="safety-current"`}},
		{name: "pending",
			recs: []schema.Record{sa(home, "2026-01-12", nil)},
			want: []string{`id="safety-current"`, "Awaiting the manager&#39;s decision", "12 Jan 2026 by Asha Demo (you)", "<dt>Dogs</dt><dd>Yes</dd>",
				"A lodger, name not known", "<dt>Weapons</dt><dd>Not known</dd>", "Visit in pairs; call the office on leaving", "Large dog kept in the garden",
				"Assess the address again"}},
		{name: "the latest counts, with the manager's decision and reason",
			recs: []schema.Record{
				sa(home, "2026-01-12", func(s *schema.SafetyAssessment) { s.Decision = "approved" }),
				sa(home, "2026-02-20", func(s *schema.SafetyAssessment) {
					s.Dogs, s.Decision, s.DecisionReason, s.DecidedBy, s.DecidedOn = "no", "not_approved", "Weapons reported by the police", "sup-7", "2026-02-21"
				}),
				sa("9 Old Rd, Testtown", "2026-03-01", func(s *schema.SafetyAssessment) { s.Decision = "approved" }),
			},
			want: []string{`decision-not_approved">Not approved</strong>: Weapons reported by the police`, "by Jo Bloggs (supervisor) on 21 Feb 2026",
				"20 Feb 2026 by Asha Demo (you)", "<dt>Dogs</dt><dd>No</dd>"},
			dont: []string{"12 Jan 2026", "No assessment of the current address", "sup-7"}},
		{name: "decided by someone the tablet does not know",
			recs: []schema.Record{sa(home, "2026-02-20", func(s *schema.SafetyAssessment) {
				s.Decision, s.DecidedBy, s.DecidedOn = "approved", "sup-other-team", "2026-02-21"
			})},
			want: []string{"by another user (id sup-other-team) on 21 Feb 2026"}},
		{name: "exempted", recs: []schema.Record{sa(home, "2026-01-12", func(s *schema.SafetyAssessment) {
			s.Decision, s.DecisionReason = "exempted", "Person in custody"
		})}, want: []string{"Exempted</strong>: Person in custody"}},
		{name: "referred", recs: []schema.Record{sa(home, "2026-01-12", func(s *schema.SafetyAssessment) { s.Decision = "referred" })},
			want: []string{"Referred to a senior officer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startApp(t)
			for i := range tc.recs {
				tc.recs[i].CaseID = e.caseID
			}
			e.peer.records = append(e.peer.records, e.asServed(tc.recs)...)
			e.peer.people = []schema.Person{{ID: officer.ID, Name: officer.Name, Role: schema.RoleOfficer},
				{ID: "sup-7", Name: "Jo Bloggs", Role: schema.RoleSupervisor}}
			b := e.browser()
			b.mustSignIn()
			p := b.get("/app/cases/" + e.caseID)
			for i := range tc.want {
				tc.want[i] = strings.ReplaceAll(tc.want[i], "{case}", e.caseID)
			}
			mustContain(t, p, tc.want...)
			mustNotContain(t, p, tc.dont...)
		})
	}
}

func TestAppAssessTheAddress(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path := "/app/cases/" + e.caseID + "/safety"

	// The home-visit form's warning links to the assessment form.
	recs, err := e.agent.List(context.Background(), "visit", e.caseID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("visits: %d, %v", len(recs), err)
	}
	vp := b.get("/app/visits/" + recs[0].ID)
	mustContain(t, vp, safetyWarning, `id="safety-assess-link"`, `href="`+path+`/new"`)

	form := b.get(path + "/new")
	mustContain(t, form, "Assess the address", "1 High St, Testtown, ZZ1 1AA", "<legend>Dogs at the address</legend>",
		`for="f-other_occupants"`, "<legend>Weapons at the address</legend>", `for="f-lone_working_plan"`, `for="f-notes"`)
	mustNotContain(t, form, `name="decision`, `name="decided`, `name="assessed_on"`)
	good := url.Values{"_csrf": {form.token(csrfRE)}, "dogs": {"yes"}, "other_occupants": {"Partner and a child"},
		"weapons": {"no"}, "lone_working_plan": {"Visit in pairs"}, "notes": {"Dog is kept in the kitchen"}}
	mustRefuse(t, e, b, path, good, []formCase{
		{"no answer about dogs", "dogs", "Say whether there are dogs at the address", []string{"dogs", "\x00"}},
		{"an answer about dogs that is not one", "dogs", "Choose one of the options.", []string{"dogs", "maybe"}},
		{"no answer about weapons", "weapons", "Say whether there are weapons at the address", []string{"weapons", ""}},
		{"no lone-working plan", "lone_working_plan", "Enter the lone-working plan", []string{"lone_working_plan", "   "}},
		{"notes too long", "notes", "Notes", []string{"notes", strings.Repeat("x", 4001)}},
	})

	// Without the session's token: refused, nothing saved.
	if p := b.post(path, with(good, "_csrf", "\x00")); p.status != 403 || !strings.Contains(p.body, "This form has expired") || e.outboxLen() != 0 {
		t.Fatalf("no token: want 403 and nothing queued, got %d and %d queued", p.status, e.outboxLen())
	}

	// A decision posted with the form is not the officer's to write: it is
	// not read, and the assessment waits for the manager.
	before := e.outboxLen()
	p := b.post(path, with(good, "decision", "approved", "decided_by", officer.ID))
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("save: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox %d -> %d, want one more", before, n)
	}
	mustContain(t, p, "is saved on this tablet", "Awaiting the manager&#39;s decision", "Partner and a child", "Visit in pairs",
		"Dog is kept in the kitchen", "Waiting to be sent")
	all, err := e.agent.List(context.Background(), "safety_assessment", e.caseID)
	if err != nil || len(all) != 1 {
		t.Fatalf("assessments: %d, %v", len(all), err)
	}
	got := all[0]
	today := localapi.LocalDate(e.clock.Now())
	if str(got.Fields, "address") != "1 High St, Testtown, ZZ1 1AA" || str(got.Fields, "assessed_on") != string(today) ||
		str(got.Fields, "assessed_by") != officer.ID || str(got.Fields, "dogs") != "yes" || str(got.Fields, "weapons") != "no" {
		t.Fatalf("assessment: %s", got.Fields)
	}
	for _, f := range []string{"decision", "decision_reason", "decided_by", "decided_on"} {
		if _, ok := got.Fields[f]; ok {
			t.Fatalf("the officer's assessment has %s: %s", f, got.Fields)
		}
	}
	mustContain(t, p, dateText(today)+" by Asha Demo (you)")
	// Still no approval: the home-visit form keeps its warning.
	mustContain(t, b.get("/app/visits/"+recs[0].ID), safetyWarning)

	// The outbox sends it; the server gets no decision field.
	b.syncNow(t, p)
	pushed := e.peer.pushedOf(got.ID)
	if len(pushed) != 1 || str(pushed[0], "address") == "" {
		t.Fatalf("pushed: %v", pushed)
	}
	if _, ok := pushed[0]["decision"]; ok {
		t.Fatalf("pushed a decision: %s", pushed[0])
	}

	// The agent refuses an officer's decision, as the server does.
	_, err = e.agent.Put(context.Background(), "safety_assessment", "", e.caseID, map[string]json.RawMessage{
		"address": mustJSON("1 High St, Testtown, ZZ1 1AA"), "assessed_on": mustJSON(today), "decision": mustJSON("approved")})
	if se := schema.AsError(err); se == nil || se.Code != schema.ECodeForbidden || se.Field != "decision" {
		t.Fatalf("an officer's approval: want forbidden on decision, got %v", err)
	}

	// No fixed abode: nothing to assess.
	nfa := b.get("/app/cases/" + e.plain)
	mustContain(t, nfa, "No fixed abode: there is no address to assess.")
	mustNotContain(t, nfa, "/safety/new")
	refused := b.get("/app/cases/" + e.plain + "/safety/new")
	if refused.status != 400 {
		t.Fatalf("no fixed abode: want 400, got %d", refused.status)
	}
	mustContain(t, refused, "no fixed abode, so there is no address to assess")
}
