package officerapp

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
)

// TestBrowserOfficerFlow drives the app in a real headless Chromium: sign
// in, Today, a case, a household member added (after a field error), the
// sync badge counting it, a visit started and autosaved, the badge offline
// and then synced. It saves screenshots at both tablet sizes.
func TestBrowserOfficerFlow(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app", 90*time.Second)
	ctx, do, text, location, shoot := br.Ctx, br.Do, br.Text, br.Location, br.Shoot
	base := br.Base

	// Sign in.
	do("open the app", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")))
	if h := text("h1"); h != "Sign in to Doorstep" {
		t.Fatalf("first page: %q", h)
	}
	shoot("01-sign-in")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))

	// Today.
	if got := location(); got != "/app/today" {
		t.Fatalf("after sign-in: %s", got)
	}
	cases := text("ul.cases")
	for _, want := range []string{"Sam Doe", "Alex Able", "RoSH: High", "Domestic abuse (perpetrator)", "1 visit planned today", "days overdue"} {
		if !strings.Contains(cases, want) {
			t.Fatalf("Today lacks %q: %s", want, cases)
		}
	}
	if strings.Index(cases, "Sam Doe") > strings.Index(cases, "Alex Able") {
		t.Fatal("Today does not put the most overdue case (the high-risk one) first")
	}
	if b := text("#sync-badge"); !strings.Contains(b, "Online") || !strings.Contains(b, "Nothing waiting to be sent") {
		t.Fatalf("badge: %s", b)
	}
	shoot("02-today")

	// A case.
	do("open the case", chromedp.Click(chromedp.CSS(`a[href="/app/cases/`+e.caseID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#add-member")))
	if h := text("h1"); !strings.Contains(h, "Sam Doe") {
		t.Fatalf("case page: %q", h)
	}
	shoot("03-case")

	// Add a household member: first with no name, which is refused next to the field.
	do("open the member form", chromedp.Click(chromedp.CSS("#add-member")), chromedp.WaitVisible(chromedp.CSS("#save-member")))
	do("fill the form",
		chromedp.SetValue(chromedp.CSS("#f-relation"), "own_child"),
		chromedp.Click(chromedp.CSS("#f-residence-0")),
		chromedp.SetValue(chromedp.CSS("#f-date_of_birth"), "2025-09-14"))
	br.NextPage("save without a name", chromedp.Click(chromedp.CSS("#save-member")))
	do("wait for the error", chromedp.WaitVisible(chromedp.CSS("#f-name-error")))
	if msg := text("#f-name-error"); !strings.Contains(msg, "Give a name, or a description") {
		t.Fatalf("name error: %q", msg)
	}
	shoot("04-member-error")
	do("name the baby", chromedp.SendKeys(chromedp.CSS("#f-name"), "Leo Doe"))
	br.NextPage("save the baby", chromedp.Click(chromedp.CSS("#save-member")))
	do("wait for the message", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if h := text("#household"); !strings.Contains(h, "Leo Doe") || !strings.Contains(h, "Waiting to be sent") {
		t.Fatalf("household after the add: %s", h)
	}
	if p := text("#badge-pending"); p != "1 record with changes waiting to be sent" {
		t.Fatalf("badge pending: %q", p)
	}
	shoot("05-case-pending")

	// Record a visit: the draft saves itself while the officer types.
	do("start a visit", chromedp.Click(chromedp.CSS("#record-visit")), chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	do("answer", chromedp.SetValue(chromedp.CSS("#f-type"), "home_unannounced"),
		chromedp.Click(chromedp.CSS("#f-location-0")))
	do("wait for the autosave", chromedp.Poll[chromedp.Void](
		`document.getElementById("autosave-status").textContent.includes("Draft saved")`, chromedp.WithPollingTimeout(10*time.Second)))
	shoot("06-visit-form")
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#f-type"))); err != nil || v != "home_unannounced" {
		t.Fatalf("the draft did not survive a reload: %q %v", v, err)
	}

	// No signal: sync now says so and the changes stay; then it comes back.
	e.peer.down.Store(true)
	br.NextPage("sync offline", chromedp.Click(chromedp.CSS("#sync-now")))
	do("wait for the message", chromedp.WaitVisible(chromedp.CSS(".flash")))
	if b := text("#sync-badge"); !strings.Contains(b, "Offline") || !strings.Contains(b, "changes waiting") {
		t.Fatalf("badge offline: %s", b)
	}
	shoot("07-offline")
	e.peer.down.Store(false)
	br.NextPage("sync online", chromedp.Click(chromedp.CSS("#sync-now")))
	// The page comes back within 3 s; a sync still running by then shows
	// at the next page load.
	testkit.WaitFor(t, 15*time.Second, "the badge to say Online, 0 changes waiting", func() bool {
		b := text("#sync-badge")
		if strings.Contains(b, "Online") && strings.Contains(b, "Nothing waiting to be sent") {
			return true
		}
		t.Logf("badge after sync: %s; reloading", b)
		do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sync-badge")))
		return false
	})
	shoot("08-synced")
	t.Logf("screenshots in %s", br.Shots)
}
