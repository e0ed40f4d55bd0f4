package officerapp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
)

// TestBrowserDailyScreens checks issue 9's daily screens in Chromium, with
// screenshots at both tablet sizes: Today searched, a form with every error
// at once, a good sync with a change set aside (a success, with a link),
// the set-aside change named, an amended visit with its answers as
// amended, and the autosave's sentence for a note too large to send.
func TestBrowserDailyScreens(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	signed := e.addSignedVisit()
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app", 90*time.Second)
	ctx, do, text, shoot := br.Ctx, br.Do, br.Text, br.Shoot
	base := br.Base
	do("sign in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))

	// Today: a search, by the GET form.
	do("search", chromedp.SendKeys(chromedp.CSS("#today-q"), "sam"))
	br.NextPage("show", chromedp.Click(chromedp.CSS(".today-filter button[type=submit]")))
	if s := text("#filter-result"); !strings.Contains(s, "Showing 1 of 2 cases") {
		t.Errorf("after a search: %q", s)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('li.case-card').length`)); err != nil || n != 1 || !strings.Contains(text("ul.cases"), "Sam Doe") {
		t.Errorf("after a search: %d cards (%v), want Sam Doe's alone", n, err)
	}
	shoot("40-today-search")

	// Every error of a form at once.
	do("add a member", chromedp.Navigate(base+"/app/cases/"+e.caseID+"/household/new"), chromedp.WaitVisible(chromedp.CSS("#save-member")),
		chromedp.SetValue(chromedp.CSS("#f-relation"), "own_child"))
	br.NextPage("save with a relation only", chromedp.Click(chromedp.CSS("#save-member")))
	if s := text("#error-summary"); !strings.Contains(s, "Say where they live.") || !strings.Contains(s, "Give a name, or a description") {
		t.Errorf("the error summary lists: %q", s)
	}
	if s := text("#f-name-error"); !strings.Contains(s, "Give a name") {
		t.Errorf("beside the name: %q", s)
	}
	shoot("41-member-every-error")

	// A good sync with a change set aside: a success, with a link.
	e.peer.down.Store(true)
	e.setAsideChange("household_member", e.memberID("Jo Doe"), "", map[string]json.RawMessage{"name": mustJSON("Jo Smith")})
	e.peer.down.Store(false)
	do("today", chromedp.Navigate(base+"/app/today"), chromedp.WaitVisible(chromedp.CSS("#sync-now")))
	br.NextPage("sync now", chromedp.Click(chromedp.CSS("#sync-now")))
	if s := text("#flash"); !strings.Contains(s, "Synced: every change that could be sent is on the server. 1 change was set aside") || strings.Contains(s, "Error") {
		t.Errorf("the flash after a good sync: %q", s)
	}
	if s := text("#sync-badge"); !strings.Contains(s, "Online") || !strings.Contains(s, "1 set aside") {
		t.Errorf("the badge: %q", s)
	}
	shoot("42-synced-set-aside")
	br.NextPage("see what was set aside", chromedp.Click(chromedp.CSS("#flash-link")))
	if s := text("#set-aside"); !strings.Contains(s, "A household member: Jo Smith, partner for Sam Doe (X123456)") {
		t.Errorf("the set-aside change: %q", s)
	}
	shoot("43-set-aside")

	// An amended visit: the answer as amended, the original beside it.
	if _, err := e.agent.Amend(context.Background(), signed, "It was a phone call", map[string]json.RawMessage{"type": mustJSON("phone")}); err != nil {
		t.Fatal(err)
	}
	do("the amended visit", chromedp.Navigate(base+"/app/visits/"+signed), chromedp.WaitVisible(chromedp.CSS("#visit-answers")))
	if s := text("#visit-answers"); !strings.Contains(s, "Phone (amended; as signed: Office)") {
		t.Errorf("the amended visit's answers: %q", s)
	}
	shoot("44-visit-amended")

	// The autosave of a note too large to send says so in a sentence.
	do("open the case", chromedp.Navigate(base+"/app/cases/"+e.caseID), chromedp.WaitVisible(chromedp.CSS("#record-visit")))
	br.NextPage("start a visit", chromedp.Click(chromedp.CSS("#record-visit")))
	do("a 2 MB note", chromedp.Evaluate[chromedp.Void](`(function () { var el = document.getElementById('f-observation_notes');
		el.value = 'n'.repeat(2 * 1024 * 1024); el.dispatchEvent(new Event('input', {bubbles: true})); })()`))
	testkit.WaitFor(t, 20*time.Second, "the autosave to say why the draft was not saved", func() bool {
		return strings.Contains(text("#autosave-status"), "The draft was not saved")
	})
	if s := text("#autosave-status"); !strings.Contains(s, "Nothing was saved: the form sent over 1 MB") || strings.Contains(s, "[object Object]") {
		t.Errorf("the autosave status: %q", s)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`(function () { var el = document.getElementById('f-observation_notes');
		el.value = 'A 2 MB note was pasted here.'; document.getElementById('autosave-status').scrollIntoView(); })()`)); err != nil {
		t.Fatal(err)
	}
	shoot("45-autosave-too-large")
}
