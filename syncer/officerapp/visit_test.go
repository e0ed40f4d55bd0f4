package officerapp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

var (
	tagRE = regexp.MustCompile(`(?s)<script.*?</script>|<[^>]*>`)
	// rawTimeRE is a stored date or timestamp shown as it is stored.
	rawTimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}|\d{2}:\d{2}:\d{2}|T\d{2}:\d{2}`)
)

// shownText is the page's text as a person sees it (no tags, no
// attributes), less the policy's rules version, which is a name.
func shownText(p page) string {
	return regexp.MustCompile(`\(rules version [^)]*\)`).ReplaceAllString(tagRE.ReplaceAllString(p.body, ""), "")
}

func TestTimesInWords(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 22, 30, 0, 0, time.Local)
	at := time.Date(2026, 11, 23, 22, 5, 23, 208974639, time.Local)
	for _, c := range []struct{ got, want string }{
		{atText(at), "23 Nov 2026 at 22:05"},
		{dayAtText(at), "Mon 23 Nov 2026 at 22:05"},
		{clockText(at, now), "22:05"},
		{clockText(at.AddDate(0, 0, -3), now), "20 Nov 2026 at 22:05"},
		{stampText(at.UTC().Format(time.RFC3339Nano)), "23 Nov 2026 at 22:05"},
		{stampText(""), ""},
		{timeText(at.UTC().Format(time.RFC3339Nano), now), "22:05"},
		{dateText("2026-11-23"), "23 Nov 2026"},
		{shownValue("visit", "started_at", mustJSON(at.UTC().Format(time.RFC3339Nano))), "23 Nov 2026 at 22:05"},
		{shownValue("visit", "next_visit_on", mustJSON("2026-12-01")), "1 Dec 2026"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// No screen shows a stored timestamp or an ISO date: every time is in
// words, in the tablet's time zone.
func TestAppShowsNoRawTimes(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	vid := e.addSignedVisit()
	b := e.browser()
	b.mustSignIn()
	cp := b.get("/app/cases/" + e.caseID)
	token := cp.token(csrfRE)
	b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	vp := b.get("/app/visits/" + vid)
	mustContain(t, vp, "Signed visit", "<dt>Face to face</dt><dd>Yes</dd>", "<dt>There is a safeguarding concern</dt><dd>No</dd>")
	if !regexp.MustCompile(`<dt>Signed</dt><dd>\d{1,2} [A-Z][a-z]{2} \d{4} at \d{2}:\d{2} by Asha Demo \(you\)</dd>`).MatchString(vp.body) {
		t.Fatalf("the signature is not in words:\n%s", vp.body)
	}
	if !regexp.MustCompile(`<dt>Started</dt><dd>\d{1,2} [A-Z][a-z]{2} \d{4} at \d{2}:\d{2}</dd>`).MatchString(vp.body) {
		t.Fatalf("the start is not in words:\n%s", vp.body)
	}
	if !regexp.MustCompile(`Safely on the server since (\d{2}:\d{2}|\d{1,2} [A-Z][a-z]{2} \d{4} at \d{2}:\d{2}), version 1`).MatchString(vp.body) {
		t.Fatalf("the receipt is not in words:\n%s", vp.body)
	}
	// An amendment of a time: was and now in words, and when it was made.

	ap := b.post("/app/visits/"+vid+"/amend", url.Values{"_csrf": {token}, "amend_field": {"next_visit_on"},
		"next_visit_on": {"2026-12-01"}, "reason": {"Agreed at the visit"}})
	mustContain(t, ap, "Next visit: was “(no answer)”, now “1 Dec 2026”")
	for _, path := range []string{"/app/today", "/app/cases/" + e.caseID, "/app/cases/" + e.plain, "/app/visits/" + vid} {
		p := b.get(path)
		if m := rawTimeRE.FindString(shownText(p)); m != "" {
			t.Errorf("%s shows a raw time %q", path, m)
		}
	}

}

// A flash says what kind it is: an error is an alert with its own sign,
// a success a status.
func TestAppFlashKinds(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	cp := b.get("/app/cases/" + e.caseID)
	token := cp.token(csrfRE)
	p := b.post("/app/cases/"+e.caseID+"/household", url.Values{"_csrf": {token}, "relation": {"other_adult"},
		"residence": {"visits"}, "name": {"Pat Lee"}})
	mustContain(t, p, `class="flash flash-success" id="flash" role="status"`, `<span class="visually-hidden">Success: </span>Pat Lee was added`)
	mustNotContain(t, p, `role="alert"`)
	p = b.get("/app/cases/" + e.caseID)
	mustNotContain(t, p, `id="flash"`) // shown once
	e.peer.down.Store(true)
	p = b.post("/app/sync", url.Values{"_csrf": {token}, "back": {"/app/today"}})
	mustContain(t, p, `class="flash flash-error" id="flash" role="alert"`, `<span class="flash-icon" aria-hidden="true">!</span>`,
		`<span class="visually-hidden">Error: </span>Could not sync`)
	e.peer.down.Store(false)
	p = b.post("/app/cases/"+e.caseID+"/household/"+e.kidID, url.Values{"_csrf": {token}, "relation": {"own_child"},
		"residence": {"lives_here"}, "name": {"Mia Doe"}, "date_of_birth": {"2020-05-01"}})
	mustContain(t, p, `class="flash flash-info" id="flash" role="status"`, "Information: </span>Nothing changed.")
	if k, m := splitFlash("a message from elsewhere"); k != flashInfo || m != "a message from elsewhere" {
		t.Errorf("a flash without a kind: %q %q", k, m)
	}
}

// newVisit starts a visit on the case and returns its path and the CSRF
// token.
func (b *browser) newVisit(caseID string) (string, string) {
	b.t.Helper()
	cp := b.get("/app/cases/" + caseID)
	token := cp.token(csrfRE)
	p := b.post("/app/cases/"+caseID+"/visits", url.Values{"_csrf": {token}})
	if !strings.HasPrefix(p.path, "/app/visits/") || p.status != 200 {
		b.t.Fatalf("new visit: %d at %s", p.status, p.path)
	}
	return p.path, token
}

// autosave posts the visit form to the autosave, as app.js does.
func (b *browser) autosave(visitPath string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+visitPath+"/draft", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Requested-With", "doorstep")
	return b.do(req)
}

func TestAppSigningEndsTheVisit(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.plain)
	id := strings.TrimPrefix(path, "/app/visits/")
	start := e.clock.Now().Add(-40 * time.Minute).Local()
	sign := url.Values{"_csrf": {token}, "type": {"office"}, "outcome": {"completed"}, "location": {"elsewhere"},
		"place_type": {"office"}, "elsewhere_reason": {"Reporting at the office"}, "face_to_face": {"yes"}, "person_seen": {"yes"},
		"started_at": {start.Format(htmlDateTime)}, "ended_at": {start.Add(-time.Hour).Format(htmlDateTime)}}
	before := e.outboxLen()
	p := b.post(path+"/sign", sign)
	if p.status != 422 {
		t.Fatalf("an end before the start: want 422, got %d", p.status)
	}
	mustContain(t, p, `id="f-ended_at-error"`, "The end is before the start ("+atText(start.Truncate(time.Minute))+"): check both times.")
	if n := e.outboxLen(); n != before {
		t.Fatalf("a refused signature saved something: %d -> %d", before, n)
	}
	sign.Set("ended_at", "")
	p = b.post(path+"/sign", sign)
	if p.status != 200 || !strings.Contains(p.body, "Visit signed") {
		t.Fatalf("sign: %d at %s", p.status, p.path)
	}
	// The case page shows when it started and ended.
	if !regexp.MustCompile(regexp.QuoteMeta(dayAtText(start)) + `(–\d{2}:\d{2}| to [^<]+)</strong>`).MatchString(p.body) {
		t.Fatalf("the visit history does not show the start and the end:\n%s", p.body)
	}
	v, err := e.agent.Get(t.Context(), "visit", id)
	if err != nil {
		t.Fatal(err)
	}
	ended, err := time.Parse(time.RFC3339Nano, str(v.Fields, "ended_at"))
	if err != nil || !ended.Equal(e.clock.Now()) || !v.Signed {
		t.Fatalf("ended_at %q (%v), signed %v: want now", str(v.Fields, "ended_at"), err, v.Signed)
	}
	vp := b.get(path)
	mustContain(t, vp, "<dt>Started</dt><dd>"+atText(start), "<dt>Ended</dt><dd>"+atText(ended)+"</dd>")
}

func TestWhenHolds(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cond string
		form url.Values
		want bool
	}{
		{"", nil, true},
		{"location=elsewhere", url.Values{"location": {"elsewhere"}}, true},
		{"location=elsewhere", url.Values{"location": {"home"}}, false},
		{"location=elsewhere", nil, false},
		{"outcome!=completed", url.Values{"outcome": {"no_answer"}}, true},
		{"outcome!=completed", url.Values{"outcome": {"completed"}}, false},
		{"outcome!=completed", url.Values{"outcome": {""}}, false},
		{"safeguarding_concern=yes&actions=", url.Values{"safeguarding_concern": {"yes"}}, true},
		{"safeguarding_concern=yes&actions=", url.Values{"safeguarding_concern": {"yes"}, "actions": {"police_informed"}}, false},
		{"safeguarding_concern=yes&actions=", url.Values{"actions": {""}}, false},
		{"observations=child_not_on_record", url.Values{"observations": {"fear", "child_not_on_record"}}, true},
	} {
		if got := whenHolds(c.cond, c.form); got != c.want {
			t.Errorf("whenHolds(%q, %v) = %v, want %v", c.cond, c.form, got, c.want)
		}
	}
}

// A question that does not apply is shown only when it does (app.js), and
// an answer left in it is kept in the draft but not signed.
func TestAppVisitQuestionsThatDoNotApply(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	id := strings.TrimPrefix(path, "/app/visits/")
	p := b.get(path)
	for _, want := range []string{
		`<div class="when" data-when="location=elsewhere">`, `<div class="when" data-when="outcome!=completed">`,
		`<div class="when" data-when="partner_present=yes">`, `<div class="when" data-when="children_present=yes">`,
		`<div class="when" data-when="safeguarding_concern=yes&amp;actions=">`,
	} {
		mustContain(t, p, want)
	}
	// Without the script every question is there (nothing is hidden by the server).
	mustNotContain(t, p, " hidden>", " hidden ")
	form := url.Values{"_csrf": {token}, "type": {"home_unannounced"}, "outcome": {"completed"}, "outcome_reason": {"Typed before the door opened"},
		"location": {"home"}, "elsewhere_reason": {"Typed when it was elsewhere"}, "place_type": {"cafe"}, "face_to_face": {"yes"},
		"person_seen": {"yes"}, "started_at": {e.clock.Now().Add(-time.Hour).Format(htmlDateTime)},
		"partner_present": {"no"}, "partner_seen_alone": {"yes"}, "partner_concerns": {"Typed before"},
		"children_present": {"no"}, "children[0].member_id": {e.kidID}, "children[0].present": {"yes"}, "children[0].seen": {"no"},
		"safeguarding_concern": {"yes"}, "actions": {"police_informed"}, "no_action_reason": {"Typed before an action was ticked"}}
	p = b.post(path, form)
	if p.status != 200 {
		t.Fatalf("save draft: %d\n%s", p.status, p.body)
	}
	v, _ := e.agent.Get(t.Context(), "visit", id)
	if str(v.Fields, "elsewhere_reason") == "" || str(v.Fields, "partner_concerns") == "" || isEmptyJSON(v.Fields["children"]) {
		t.Fatalf("the draft lost answers that may apply again: %s", v.Fields)
	}
	p = b.post(path+"/sign", form)
	if p.status != 200 || !strings.Contains(p.body, "Visit signed") {
		t.Fatalf("sign: %d at %s\n%s", p.status, p.path, p.body)
	}
	v, _ = e.agent.Get(t.Context(), "visit", id)
	for _, f := range []string{"outcome_reason", "elsewhere_reason", "place_type", "partner_seen_alone", "partner_concerns", "children", "no_action_reason"} {
		if !isEmptyJSON(v.Fields[f]) {
			t.Errorf("signed with %s = %s, a question that did not apply", f, v.Fields[f])
		}
	}
	if !v.Signed || str(v.Fields, "location") != "home" || str(v.Fields, "partner_present") != "no" {
		t.Fatalf("signed visit: %s", v.Fields)
	}
}

// A child there but not on the household list: the form offers to add
// them, saves the draft first, and the household form comes back to it.
func TestAppVisitAddsAChildNotOnTheList(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	mustContain(t, b.get(path), `<div class="when" data-when="observations=child_not_on_record">`, `id="add-child" name="then" value="household"`)
	// A household with no children: children present is enough.
	plainPath, _ := b.newVisit(e.plain)
	mustContain(t, b.get(plainPath), `data-when="observations=child_not_on_record|children_present=yes"`, "No child is on this household")

	form := url.Values{"_csrf": {token}, "type": {"home_unannounced"}, "outcome": {"completed"}, "location": {"home"},
		"observations": {"child_not_on_record"}, "observation_notes": {"A boy of about 3 in the kitchen"}, "children_present": {"yes"},
		"then": {"household"}}
	p := b.post(path, form)
	wantForm := "/app/cases/" + e.caseID + "/household/new?" + url.Values{"back": {path}, "relation": {"other_child"}}.Encode()
	if p.status != 200 || p.path != wantForm {
		t.Fatalf("save and add the child: %d at %s, want %s", p.status, p.path, wantForm)
	}
	mustContain(t, p, "Your answers are saved as a draft", `<input type="hidden" name="back" value="`+path+`">`,
		`<option value="other_child" selected>`, "Back to the visit")
	id := strings.TrimPrefix(path, "/app/visits/")
	v, _ := e.agent.Get(t.Context(), "visit", id)
	if str(v.Fields, "observation_notes") != "A boy of about 3 in the kitchen" || str(v.Fields, "status") != "draft" {
		t.Fatalf("the draft was not saved first: %s", v.Fields)
	}
	// Back outside the app is refused (Today instead).
	p = b.get("/app/cases/" + e.caseID + "/household/new?back=https://evil.example/")
	mustContain(t, p, `name="back" value="/app/today"`)

	p = b.post("/app/cases/"+e.caseID+"/household", url.Values{"_csrf": {token}, "back": {path}, "relation": {"other_child"},
		"residence": {"stays_sometimes"}, "description": {"Boy about 3, in the kitchen"}, "age": {"3"}})
	if p.status != 200 || p.path != path {
		t.Fatalf("after adding the child: %d at %s, want the visit", p.status, p.path)
	}
	mustContain(t, p, "Boy about 3, in the kitchen was added to the household", `<h3 class="section">Boy about 3, in the kitchen, 3 (other child)</h3>`,
		`value="home_unannounced" selected`, `value="child_not_on_record" checked`, "A boy of about 3 in the kitchen")
}

// Saving and autosaving a draft send only the answers that changed: the
// "draft" status, and answers given again as they were, do not travel
// again under a new stamp (they would overwrite a newer value from the
// officer's other tablet; issue 9).
func TestAppDraftSavesSendOnlyChanges(t *testing.T) {
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.plain)
	id := strings.TrimPrefix(path, "/app/visits/")
	form := url.Values{"_csrf": {token}, "type": {"home_unannounced"}, "location": {"home"}}
	if p := b.post(path, form); p.status != 200 {
		t.Fatalf("save draft: %d\n%s", p.status, p.body)
	}
	last := func() string {
		t.Helper()
		out, err := e.agent.Outbox(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for i := len(out) - 1; i >= 0; i-- {
			if out[i].RecordID == id {
				return string(out[i].Fields)
			}
		}
		t.Fatal("the visit has no change waiting")
		return ""
	}
	form.Set("outcome", "completed")
	if p := b.post(path+"/draft", form); p.status != 200 {
		t.Fatalf("autosave: %d\n%s", p.status, p.body)
	}
	if got := last(); got != `{"outcome":"completed"}` {
		t.Errorf("the autosave queued %s; want only the answer that changed", got)
	}
	form.Set("outcome_reason", "")
	form.Set("face_to_face", "yes")
	if p := b.post(path, form); p.status != 200 {
		t.Fatalf("save draft: %d\n%s", p.status, p.body)
	}
	if got := last(); got != `{"face_to_face":true}` {
		t.Errorf("the save queued %s; want only the answer that changed", got)
	}
}

// TestAppAutosaveKeepsEveryChildAnswer is issue 9's defect 1 at the
// autosave: a child not present (no "seen") and a child present with "seen"
// not answered yet are kept, not dropped with the whole children block; an
// answer the record cannot hold is left out alone and named with its
// question, each of them, not counted.
func TestAppAutosaveKeepsEveryChildAnswer(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	id := strings.TrimPrefix(path, "/app/visits/")
	autosave := func(form url.Values) map[string]any {
		t.Helper()
		p := b.autosave(path, form)
		var out map[string]any
		if p.status != 200 || json.Unmarshal([]byte(p.body), &out) != nil {
			t.Fatalf("autosave: %d %s", p.status, p.body)
		}
		return out
	}
	children := func() []schema.VisitChild {
		t.Helper()
		v, err := e.agent.Get(t.Context(), "visit", id)
		if err != nil {
			t.Fatal(err)
		}
		var kids []schema.VisitChild
		json.Unmarshal(v.Fields["children"], &kids)
		return kids
	}
	form := url.Values{"_csrf": {token}, "type": {"home_unannounced"}, "outcome": {"completed"}, "children_present": {"yes"},
		"children[0].member_id": {e.kidID}, "children[0].present": {"no"}}
	if out := autosave(form); len(out["checks"].([]any)) != 0 || len(out["errors"].(map[string]any)) != 0 {
		t.Fatalf("a child not present, with no seen: %v, want saved with nothing to check", out)
	}
	if kids := children(); len(kids) != 1 || kids[0] != (schema.VisitChild{MemberID: e.kidID, Present: "no"}) {
		t.Fatalf("draft children: %+v, want Mia not present", kids)
	}
	form.Set("children[0].present", "yes")
	if out := autosave(form); len(out["checks"].([]any)) != 0 {
		t.Fatalf("a child present, seen not answered yet: %v, want saved with nothing to check", out)
	}
	if kids := children(); len(kids) != 1 || kids[0].Present != "yes" || kids[0].Seen != "" {
		t.Fatalf("draft children: %+v, want Mia present, seen blank", kids)
	}
	// Two answers the record cannot hold: each named with its question; the
	// child's other answers are kept.
	form.Set("children[0].seen", "no")
	form.Set("children[0].reason_not_seen", "Asleep upstairs")
	form.Set("children[0].concerns", strings.Repeat("x", 2001))
	form.Set("next_visit_on", "2026-13-45")
	out := autosave(form)
	checks, _ := out["checks"].([]any)
	var named []string
	for _, c := range checks {
		m := c.(map[string]any)
		named = append(named, m["id"].(string)+" "+m["label"].(string)+": "+m["message"].(string))
	}
	slices.Sort(named)
	if len(named) != 2 || !strings.HasPrefix(named[0], "f-children-0-concerns Concerns about Mia Doe: Text is longer than 2000") ||
		!strings.HasPrefix(named[1], "f-next_visit_on Next visit: Enter a real date") {
		t.Fatalf("checks: %q, want the next visit and Mia's concerns named", named)
	}
	if kids := children(); len(kids) != 1 || kids[0] != (schema.VisitChild{MemberID: e.kidID, Present: "yes", Seen: "no", ReasonNotSeen: "Asleep upstairs"}) {
		t.Fatalf("draft children: %+v, want every answer but the long concerns", kids)
	}
}

// A child not present has no "seen", "spoken to" or reason: answers left in
// them (typed before "Present: No" was chosen) are kept in the draft and
// left out of the signature, as every hidden question's (decision 0012).
func TestAppSignLeavesOutChildAnswersThatDoNotApply(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	id := strings.TrimPrefix(path, "/app/visits/")
	form := url.Values{"_csrf": {token}, "type": {"home_unannounced"}, "outcome": {"completed"}, "location": {"home"},
		"face_to_face": {"yes"}, "person_seen": {"yes"}, "started_at": {e.clock.Now().Add(-time.Hour).Format(htmlDateTime)},
		"partner_present": {"no"}, "children_present": {"yes"}, "children[0].member_id": {e.kidID}, "children[0].present": {"no"},
		"children[0].seen": {"no"}, "children[0].spoken_to": {"yes"}, "children[0].reason_not_seen": {"Typed before"}}
	if p := b.post(path, form); p.status != 200 {
		t.Fatalf("save draft: %d", p.status)
	}
	v, _ := e.agent.Get(t.Context(), "visit", id)
	if !strings.Contains(string(v.Fields["children"]), "Typed before") {
		t.Fatalf("the draft lost an answer that may apply again: %s", v.Fields["children"])
	}
	if p := b.post(path+"/sign", form); p.status != 200 || !strings.Contains(p.body, "Visit signed") {
		t.Fatalf("sign: %d at %s", p.status, p.path)
	}
	v, _ = e.agent.Get(t.Context(), "visit", id)
	var kids []schema.VisitChild
	json.Unmarshal(v.Fields["children"], &kids)
	if !v.Signed || len(kids) != 1 || kids[0] != (schema.VisitChild{MemberID: e.kidID, Present: "no"}) {
		t.Fatalf("signed children: %s, want Mia not present and nothing else", v.Fields["children"])
	}
}

// TestAppEveryErrorGetsASentence: a form too large for the tablet (a 2 MB
// observation note) answers a page with a sentence when posted as a form
// (Save draft), and a sentence in "error" to the script's autosave, never
// the JSON API's error object; a note over its length is named beside it.
func TestAppEveryErrorGetsASentence(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	before := e.outboxLen()
	huge := url.Values{"_csrf": {token}, "type": {"phone"}, "observation_notes": {strings.Repeat("n", 2<<20)}}
	// The tablet answers as soon as it reads the length, and closes the
	// connection: a browser shows the answer; Go's client shows it only if
	// it waits before sending the body (Expect: 100-continue).
	b.c.Transport = &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	send := func(path string, form url.Values, header ...string) page {
		req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Expect", "100-continue")
		for i := 0; i < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return b.do(req)
	}

	// Save draft: a page, in words.
	p := send(path, huge)
	if p.status != 413 || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
		t.Fatalf("a 2 MB Save draft: %d %s, want 413 and a page", p.status, p.header.Get("Content-Type"))
	}
	mustContain(t, p, "Too much to save at once", "Nothing was saved: the form sent over 1 MB", "a note holds at most 8,000 characters")
	mustNotContain(t, p, `"code"`, `"error"`)

	// The autosave: one sentence in "error", for app.js to show.
	p = send(path+"/draft", huge, "X-Requested-With", "doorstep", "X-CSRF-Token", token)
	var out struct{ Error any }
	if err := json.Unmarshal([]byte(p.body), &out); err != nil || p.status != 413 {
		t.Fatalf("a 2 MB autosave: %d %s (%v)", p.status, p.body, err)
	}
	if msg, ok := out.Error.(string); !ok || !strings.HasPrefix(msg, "Nothing was saved: the form sent over 1 MB") {
		t.Fatalf("the autosave's error is not a sentence: %#v", out.Error)
	}

	// Over the note's own length, under the body limit: named beside it.
	long := url.Values{"_csrf": {token}, "type": {"phone"}, "observation_notes": {strings.Repeat("n", 8001)}}
	p = b.post(path, long)
	mustContain(t, p, `id="f-observation_notes-error"`, "Observation notes is 8001 characters long; the most is 8000.")
	if n := e.outboxLen(); n != before {
		t.Fatalf("refused saves changed the outbox: %d -> %d", before, n)
	}
}
