package officerapp

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
)

// TestBrowserForms drives the new forms in a real headless Chromium: the
// safety assessment of the current address (refused without answers, then
// saved and shown on the case page), and the move-or-cancel and enquiry
// forms. Each screenshot is taken at both tablet sizes. Screenshots are named 20-… so they sort after the
// officer flow's.
func TestBrowserForms(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app", 90*time.Second)
	do, text, location, shoot := br.Do, br.Text, br.Location, br.Shoot
	base := br.Base

	do("sign in", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))

	// The case page says there is no assessment of this address.
	do("open the case", chromedp.Navigate(base+"/app/cases/"+e.caseID), chromedp.WaitVisible(chromedp.CSS("#assess-address")))
	if s := text("#safety"); !strings.Contains(s, "No assessment of the current address") {
		t.Fatalf("safety panel: %s", s)
	}
	do("open the assessment form", chromedp.Click(chromedp.CSS("#assess-address")), chromedp.WaitVisible(chromedp.CSS("#save-safety")))
	if got := location(); got != "/app/cases/"+e.caseID+"/safety/new" {
		t.Fatalf("assessment form at %s", got)
	}
	shoot("20-safety-form")

	// Saved with no answers: refused, each error next to its field.
	do("save empty", chromedp.Click(chromedp.CSS("#save-safety")), chromedp.WaitVisible(chromedp.CSS("#f-dogs-error")))
	for sel, want := range map[string]string{
		"#f-dogs-error":              "Say whether there are dogs",
		"#f-weapons-error":           "Say whether there are weapons",
		"#f-lone_working_plan-error": "Enter the lone-working plan",
	} {
		if got := text(sel); !strings.Contains(got, want) {
			t.Fatalf("%s: %q, want %q", sel, got, want)
		}
	}
	if n := e.outboxLen(); n != 0 {
		t.Fatalf("a refused assessment queued %d changes", n)
	}
	shoot("21-safety-errors")

	// Answered (the radios by keyboard: focus the first, space to choose)
	// and saved.
	do("answer",
		chromedp.Focus(chromedp.CSS("#f-dogs-0")), chromedp.KeyEvent(" "),
		chromedp.Click(chromedp.CSS("#f-weapons-2")),
		chromedp.SendKeys(chromedp.CSS("#f-other_occupants"), "Partner and a child"),
		chromedp.SendKeys(chromedp.CSS("#f-lone_working_plan"), "Visit in pairs; call the office on leaving"),
		chromedp.Click(chromedp.CSS("#save-safety")),
		chromedp.WaitVisible(chromedp.CSS("#safety-current")))
	s := text("#safety-current")
	for _, want := range []string{"Awaiting the manager's decision", "Asha Demo (you)", "Dogs\nYes", "Weapons\nNot known", "Visit in pairs"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the saved assessment lacks %q: %s", want, s)
		}
	}
	if p := text("#badge-pending"); p != "1 record with changes waiting to be sent" {
		t.Fatalf("badge pending: %q", p)
	}
	do("scroll to it", chromedp.ScrollIntoView(chromedp.CSS("#safety")))
	shoot("22-safety-saved")

	// Move or cancel from Today, and an enquiry.
	do("Today", chromedp.Navigate(base+"/app/today"), chromedp.WaitVisible(chromedp.CSS("ul.cases")))
	do("move or cancel from Today", chromedp.Click(chromedp.CSS(`a[href$="/plan?back=/app/today"]`)), chromedp.WaitVisible(chromedp.CSS("#cancel-visit")))
	do("cancel without a reason", chromedp.Click(chromedp.CSS("#cancel-visit")), chromedp.WaitVisible(chromedp.CSS("#f-cancel_reason-error")))
	shoot("23-visit-plan-error")
	do("cancel with a reason", chromedp.SendKeys(chromedp.CSS("#f-cancel_reason"), "In hospital until next week"),
		chromedp.Click(chromedp.CSS("#cancel-visit")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := location(); got != "/app/today" {
		t.Fatalf("after cancelling: %s", got)
	}
	do("enquiry form", chromedp.Navigate(base+"/app/cases/"+e.caseID+"/enquiries/new"), chromedp.WaitVisible(chromedp.CSS("#save-enquiry")),
		chromedp.Click(chromedp.CSS("#f-agency-0")), chromedp.Click(chromedp.CSS("#f-stage-0")),
		chromedp.SetValue(chromedp.CSS("#f-requested_on"), "2026-03-10"),
		chromedp.SetValue(chromedp.CSS("#f-answered_on"), "2026-03-01"),
		chromedp.Click(chromedp.CSS("#f-result-1")),
		chromedp.Click(chromedp.CSS("#save-enquiry")),
		chromedp.WaitVisible(chromedp.CSS("#f-answered_on-error")))
	if got := text("#f-answered_on-error"); !strings.Contains(got, "before the request date") {
		t.Fatalf("answered_on error: %q", got)
	}
	shoot("24-enquiry-error")
	t.Logf("screenshots in %s", br.Shots)
}
