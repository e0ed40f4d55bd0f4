package officerapp

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAppCheckYourAnswersBeforeSigning: the visit form's main button saves
// the draft and opens the check page: the questions still needing an
// answer first, each linking to its question, then every answer as it will
// be signed (only the questions that apply), each with a change link, and
// no way to sign until nothing is missing. Signing from the page signs
// exactly the answers shown.
func TestAppCheckYourAnswersBeforeSigning(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	path, token := b.newVisit(e.caseID)
	form := url.Values{"_csrf": {token}, "then": {"check"}, "type": {"home_unannounced"}, "outcome": {"completed"}, "location": {"home"},
		"face_to_face": {"yes"}, "person_seen": {"yes"}, "started_at": {"2026-11-23T09:30"}, "children_present": {"yes"},
		"elsewhere_reason":      {"left over from another answer"}, // does not apply at the home: not signed
		"children[0].member_id": {e.kidID}, "children[0].present": {"yes"}, "children[0].seen": {"no"}}
	before := e.outboxLen()
	p := b.post(path, form)
	if p.status != 200 || p.path != path+"/check" {
		t.Fatalf("check: %d at %s", p.status, p.path)
	}
	mustContain(t, p, "Check your answers before signing", "Still to answer before you can sign",
		`<a href="`+path+`#f-partner_present">In a domestic-abuse case say whether a partner was present (or not known).</a>`,
		`<a href="`+path+`#f-children-0-reason_not_seen">Mia Doe was present but not seen: give the reason.</a>`,
		`<dt>Type of contact</dt><dd>Home visit (unannounced)</dd>`, `<a href="`+path+`#f-type">Change<span class="visually-hidden"> Type of contact</span></a>`,
		`<dt>Child: Mia Doe`, `id="back-to-form"`)
	mustNotContain(t, p, "left over from another answer", `id="sign-visit"`, `action="`+path+`/sign"`)
	if i, j := strings.Index(p.body, "Still to answer"), strings.Index(p.body, "Your answers"); i < 0 || j < i {
		t.Errorf("the questions still to answer are not listed first")
	}
	if n := e.outboxLen(); n != before+1 {
		t.Errorf("the check page did not save the draft once: outbox %d -> %d", before, e.outboxLen())
	}

	// Answer the rest on the form: the check page offers to sign.
	form.Set("partner_present", "no")
	form.Set("children_present", "yes")
	form.Set("children[0].reason_not_seen", "Asleep upstairs")
	p = b.post(path, form)
	mustNotContain(t, p, "Still to answer")
	mustContain(t, p, `<dt>Partner present</dt><dd>No</dd>`, "Asleep upstairs", `id="sign-visit"`)

	// Sign with what the page posts: its hidden answers.
	signForm := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(p.body, -1) {
		signForm.Add(m[1], unescape(m[2]))
	}
	p = b.post(path+"/sign", signForm)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("sign from the check page: %d at %s", p.status, p.path)
	}
	v, _ := e.agent.Get(context.Background(), "visit", strings.TrimPrefix(path, "/app/visits/"))
	if !v.Signed || str(v.Fields, "partner_present") != "no" || str(v.Fields, "elsewhere_reason") != "" || !strings.Contains(string(v.Fields["children"]), "Asleep upstairs") {
		t.Fatalf("signed: %v %s", v.Signed, v.Fields)
	}
	// A signed visit's check page is its page.
	if p := b.get(path + "/check"); p.path != path {
		t.Errorf("the check page of a signed visit: at %s", p.path)
	}
}

func unescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&#34;", `"`, "&quot;", `"`, "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
