package officerapp

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
)

// unlabelledJS lists the inputs, selects and textareas of the page that
// have no label a screen reader would read, the elements that take a
// place in the tab order before the page's own order (tabindex > 0), and
// hints or errors named by aria-describedby that are not on the page.
const unlabelledJS = `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(function (el) {
  var named = Array.from(el.labels || []).some(function (l) { return l.textContent.trim() !== ''; });
  return !named && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby');
}).map(function (el) { return 'no label: ' + (el.name || el.id || el.outerHTML.slice(0, 80)); }).concat(
  Array.from(document.querySelectorAll('[tabindex]')).filter(function (el) { return el.tabIndex > 0; })
    .map(function (el) { return 'tabindex > 0: ' + (el.id || el.outerHTML.slice(0, 80)); })).concat(
  Array.from(document.querySelectorAll('[aria-describedby]')).filter(function (el) {
    return el.getAttribute('aria-describedby').split(/\s+/).some(function (id) { return !document.getElementById(id); });
  }).map(function (el) { return 'aria-describedby names no element: ' + (el.id || el.outerHTML.slice(0, 80)); }))`

// TestBrowserVisitForm drives the long visit form in Chromium: questions
// that show only when they apply, a refused signature whose error summary
// takes the focus and links to the field, and, on Today, the case page, the
// visit form and a signed visit's amend form, no input without a label.
func TestBrowserVisitForm(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	signed := e.addSignedVisit()
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app", 60*time.Second)
	ctx, do, text, shoot := br.Ctx, br.Do, br.Text, br.Shoot
	base := br.Base
	labelled := func(page string) {
		t.Helper()
		bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](unlabelledJS))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s: %s", page, strings.Join(bad, "; "))
		}
	}
	shown := func(sel string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var el = document.querySelector('`+sel+`');
			return !!el && el.getClientRects().length > 0; })()`))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return ok
	}
	// choose picks an option of a select as a person does (a change event).
	choose := func(id, value string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function () { var el = document.getElementById('`+id+`');
			el.value = '`+value+`'; return el.dispatchEvent(new Event('change', {bubbles: true})); })()`)); err != nil {
			t.Fatalf("choose %s: %v", id, err)
		}
	}
	focused := func() string {
		t.Helper()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	do("sign in", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")),
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))
	labelled("Today")
	do("open the case", chromedp.Navigate(base+"/app/cases/"+e.caseID), chromedp.WaitVisible(chromedp.CSS("#record-visit")))
	labelled("the case page")
	br.NextPage("start a visit", chromedp.Click(chromedp.CSS("#record-visit")))
	do("wait for the visit form", chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	labelled("the visit form")

	// Questions that apply only after another answer.
	for _, sel := range []string{"#f-elsewhere_reason", "#f-place_type", "#f-outcome_reason", "#f-partner_seen_alone",
		"#f-partner_concerns", "#f-children-0-present", "#f-no_action_reason"} {
		if shown(sel) {
			t.Errorf("%s is shown before it applies", sel)
		}
	}
	do("answer elsewhere, not completed, partner and children present, a concern",
		chromedp.Click(chromedp.CSS("#f-location-2")),
		chromedp.Click(chromedp.CSS("#f-partner_present-0")), chromedp.Click(chromedp.CSS("#f-children_present-0")),
		chromedp.Click(chromedp.CSS("#f-safeguarding_concern")))
	choose("f-outcome", "no_answer")
	for _, sel := range []string{"#f-elsewhere_reason", "#f-place_type", "#f-outcome_reason", "#f-partner_seen_alone",
		"#f-partner_concerns", "#f-children-0-present", "#f-no_action_reason"} {
		if !shown(sel) {
			t.Errorf("%s is not shown once it applies", sel)
		}
	}
	do("tick an action", chromedp.Click(chromedp.CSS("#f-actions-1")))
	if shown("#f-no_action_reason") {
		t.Error("the reason for no action is shown with an action ticked")
	}
	choose("f-outcome", "completed")
	if shown("#f-outcome_reason") {
		t.Error("the outcome reason is shown for a completed visit")
	}
	labelled("the visit form, every question shown")
	shoot("09-visit-questions-that-apply")

	// Check your answers with one missing: the list of what is missing
	// takes the focus and leads to the question on the form.
	choose("f-type", "")
	visitPath := br.Location()
	br.NextPage("check without a type", chromedp.Click(chromedp.CSS("#check-visit")))
	do("wait for the error summary", chromedp.WaitVisible(chromedp.CSS("#error-summary")))
	if id := focused(); id != "error-summary" {
		t.Fatalf("on Check your answers with a question missing the focus is on %q, want the list of what is missing", id)
	}
	if s := text("#error-summary"); !strings.Contains(s, "Say what kind of contact took place") {
		t.Fatalf("error summary: %q", s)
	}
	labelled("Check your answers")
	br.NextPage("follow the summary's link", chromedp.Click(chromedp.CSS(`#error-summary a[href$="#f-type"]`)))
	do("wait for the form", chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	if id := focused(); id != "f-type" {
		t.Fatalf("the link took the focus to %q, want f-type", id)
	}
	shoot("10-visit-check-missing-type")

	// A child there who is not on the household list: added from the
	// visit, which comes back with its answers.
	if shown("#child-prompt") {
		t.Error("the prompt to add a child shows before a child is noted")
	}
	do("note a child not on the list", chromedp.Click(chromedp.CSS("#f-observations-7")))
	if !shown("#child-prompt") {
		t.Fatal("no prompt to add the child")
	}
	do("scroll to the prompt", chromedp.ScrollIntoView(chromedp.CSS("#child-prompt")))
	shoot("12-visit-child-prompt")
	br.NextPage("add the child", chromedp.Click(chromedp.CSS("#add-child")))
	do("wait for the household form", chromedp.WaitVisible(chromedp.CSS("#save-member")))
	labelled("the household form")
	do("describe the child", chromedp.Click(chromedp.CSS("#f-residence-0")),
		chromedp.SendKeys(chromedp.CSS("#f-description"), "Boy about 3"), chromedp.SendKeys(chromedp.CSS("#f-age"), "3"))
	br.NextPage("save the child", chromedp.Click(chromedp.CSS("#save-member")))
	do("wait for the visit", chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	if got := br.Location(); got != visitPath {
		t.Fatalf("after adding the child: at %s, want the visit %s", got, visitPath)
	}
	if f := text("form[data-autosave]"); !strings.Contains(f, "Boy about 3, 3 (other child)") {
		t.Fatalf("the visit form does not ask about the child added:\n%s", f)
	}
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('f-observations-7').checked`)); !ok {
		t.Fatal("the draft lost the observation on the way")
	}

	// A signed visit: the amend form.
	do("open a signed visit", chromedp.Navigate(base+"/app/visits/"+signed), chromedp.WaitVisible(chromedp.CSS("#amend-choose")))
	labelled("the amend form")
	for _, field := range []string{"location", "actions", "started_at", "face_to_face", "children"} {
		do("amend "+field, chromedp.Navigate(base+"/app/visits/"+signed+"?amend_field="+field), chromedp.WaitVisible(chromedp.CSS("#amend-visit")))
		labelled("the amend form for " + field)
	}
	do("amend the location", chromedp.Navigate(base+"/app/visits/"+signed+"?amend_field=location#amend"), chromedp.WaitVisible(chromedp.CSS("#amend-visit")),
		chromedp.Click(chromedp.CSS("#amend-visit")), chromedp.WaitVisible(chromedp.CSS("#f-reason-error")))
	shoot("11-amend-own-control")
}
