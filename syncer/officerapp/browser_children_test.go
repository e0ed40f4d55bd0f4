package officerapp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// TestBrowserVisitKeepsEveryChild is issue 9's defect 1 as found, in
// Chromium: a domestic-abuse case with three children on the household
// list; child 1 present and seen, child 2 "Present: No", child 3 present
// and not seen. The autosave keeps every answer (a reload shows them);
// "Seen" is hidden for the child not present and "why not seen" shows only
// for the child not seen; signing is refused, naming child 3's reason,
// until it is given; then it succeeds and the signed record holds all
// three children.
func TestBrowserVisitKeepsEveryChild(t *testing.T) {
	e := startApp(t)
	// Two more children besides Mia Doe; the form lists them by name.
	ada, ben := schema.NewID(), schema.NewID()
	e.peer.records = append(e.peer.records, e.asServed([]schema.Record{
		{Entity: "household_member", ID: ada, CaseID: e.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "own_child", Residence: "lives_here", Name: "Ada Doe"})},
		{Entity: "household_member", ID: ben, CaseID: e.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "step_child", Residence: "stays_sometimes", Name: "Ben Doe"})},
	})...)
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app", 90*time.Second)
	ctx, do, text, shoot := br.Ctx, br.Do, br.Text, br.Shoot
	base := br.Base
	eval := func(js string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return ok
	}
	shown := func(id string) bool {
		t.Helper()
		return eval(`(function () { var el = document.getElementById('` + id + `'); return !!el && el.getClientRects().length > 0; })()`)
	}
	checked := func(id string) bool {
		t.Helper()
		return eval(`(function () { var el = document.getElementById('` + id + `'); return !!el && el.checked; })()`)
	}
	choose := func(id, value string) {
		t.Helper()
		eval(`(function () { var el = document.getElementById('` + id + `'); el.value = '` + value + `';
			return el.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	}

	do("sign in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))
	do("start a visit", chromedp.Navigate(base+"/app/cases/"+e.caseID), chromedp.WaitVisible(chromedp.CSS("#record-visit")),
		chromedp.Click(chromedp.CSS("#record-visit")), chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	visitPath := br.Location()
	visitID := strings.TrimPrefix(visitPath, "/app/visits/")

	choose("f-type", "home_unannounced")
	choose("f-outcome", "completed")
	do("the visit at the home, no partner, children present",
		chromedp.Click(chromedp.CSS("#f-location-0")), chromedp.Click(chromedp.CSS("#f-face_to_face")),
		chromedp.Click(chromedp.CSS("#f-person_seen-0")),
		chromedp.Click(chromedp.CSS("#f-partner_present-3")), chromedp.Click(chromedp.CSS("#f-children_present-0")))
	do("Ada present and seen", chromedp.Click(chromedp.CSS("#f-children-0-present-0")), chromedp.Click(chromedp.CSS("#f-children-0-seen-0")))
	do("Ben not present", chromedp.Click(chromedp.CSS("#f-children-1-present-1")))
	do("Mia present, not seen", chromedp.Click(chromedp.CSS("#f-children-2-present-0")), chromedp.Click(chromedp.CSS("#f-children-2-seen-1")))

	// What shows is what applies.
	for id, want := range map[string]bool{
		"f-children-0-seen": true, "f-children-0-reason_not_seen": false, "f-children-0-spoken_to": true,
		"f-children-1-seen": false, "f-children-1-reason_not_seen": false, "f-children-1-spoken_to": false,
		"f-children-2-seen": true, "f-children-2-reason_not_seen": true, "f-children-2-spoken_to": false,
	} {
		if got := shown(id); got != want {
			t.Errorf("%s shown: %v, want %v", id, got, want)
		}
	}

	// The autosave keeps every answer, half answers included.
	want := []schema.VisitChild{{MemberID: ada, Present: "yes", Seen: "yes"}, {MemberID: ben, Present: "no"}, {MemberID: e.kidID, Present: "yes", Seen: "no"}}
	draftChildren := func() []schema.VisitChild {
		v, err := e.agent.Get(context.Background(), "visit", visitID)
		if err != nil {
			t.Fatal(err)
		}
		var kids []schema.VisitChild
		if v.Decode(&struct {
			Children *[]schema.VisitChild `json:"children"`
		}{&kids}) != nil {
			return nil
		}
		return kids
	}
	same := func(a, b []schema.VisitChild) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	testkit.WaitFor(t, 10*time.Second, "the autosave to keep the three children's answers", func() bool { return same(draftChildren(), want) })
	do("the autosave says it saved", chromedp.Poll[chromedp.Void](`document.getElementById("autosave-status").textContent.indexOf("Draft saved at") === 0`))
	if s := text("#autosave-status"); strings.Contains(s, "checking") {
		t.Errorf("autosave status names answers to check: %q", s)
	}
	do("scroll to the children", chromedp.ScrollIntoView(chromedp.CSS("#f-children_present-0")))
	shoot("30-visit-children-answers")

	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	for _, id := range []string{"f-children_present-0", "f-children-0-present-0", "f-children-0-seen-0", "f-children-1-present-1",
		"f-children-2-present-0", "f-children-2-seen-1"} {
		if !checked(id) {
			t.Errorf("after a reload %s is not checked", id)
		}
	}
	if shown("f-children-1-seen") {
		t.Error("after a reload Seen shows for the child not present")
	}

	// Check your answers: Mia's reason is listed first, as still to
	// answer, and there is no way to sign until it is given.
	do("check the answers without Mia's reason", chromedp.Click(chromedp.CSS("#check-visit")), chromedp.WaitVisible(chromedp.CSS("#check-answers")))
	if got := br.Location(); got != visitPath+"/check" {
		t.Fatalf("Check your answers: at %s", got)
	}
	if s := text("#error-summary"); !strings.Contains(s, "Mia Doe was present but not seen: give the reason") {
		t.Fatalf("still to answer: %q", s)
	}
	if s := text("#check-answers"); !strings.Contains(s, "Child: Ada") || !strings.Contains(s, "present: Yes, seen: Yes") ||
		!strings.Contains(s, "present: No") || !strings.Contains(s, "Change") {
		t.Errorf("the answers as they will be signed: %q", s)
	}
	if shown("sign-visit") {
		t.Error("Sign the visit is offered with an answer missing")
	}
	if v, _ := e.agent.Get(context.Background(), "visit", visitID); v.Signed {
		t.Fatal("the visit was signed without Mia's reason")
	}
	shoot("31-visit-check-answers-missing")
	do("follow the link to Mia's reason", chromedp.Click(chromedp.CSS(`#error-summary a[href$="#f-children-2-reason_not_seen"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-children-2-reason_not_seen")))
	do("give Mia's reason and check again",
		chromedp.SendKeys(chromedp.CSS("#f-children-2-reason_not_seen"), "Asleep upstairs; her mother would not wake her."),
		chromedp.Click(chromedp.CSS("#check-visit")), chromedp.WaitVisible(chromedp.CSS("#sign-visit")))
	if s := text("#check-answers"); !strings.Contains(s, "Asleep upstairs; her mother would not wake her.") {
		t.Errorf("the checked answers lack Mia's reason: %q", s)
	}
	shoot("32-visit-check-answers")
	do("sign", chromedp.Click(chromedp.CSS("#sign-visit")), chromedp.WaitVisible(chromedp.CSS("#record-visit")))

	v, err := e.agent.Get(context.Background(), "visit", visitID)
	if err != nil || !v.Signed {
		t.Fatalf("the visit after signing: %v %+v", err, v)
	}
	want[2].ReasonNotSeen = "Asleep upstairs; her mother would not wake her."
	if got := draftChildren(); !same(got, want) {
		t.Fatalf("the signed record's children: %+v, want %+v", got, want)
	}
}
