package officerapp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
)

// TestBrowserOfflinePageWhenTheAgentStops installs the app in a real
// Chromium (the service worker, which needs a secure context:
// http://127.0.0.1 is one), checks that it kept the shell and nothing
// else, stops the agent's HTTP server, reloads, and finds the page that
// says the agent is not running and what to do, styled from the kept
// stylesheet, instead of the browser's error.
func TestBrowserOfflinePageWhenTheAgentStops(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	br := testkit.StartBrowser(t, e.api.URL(), "officer-app-installable", 60*time.Second)
	ctx, do, text := br.Ctx, br.Do, br.Text
	base := br.Base

	do("open the app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")))
	if secure, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.isSecureContext`)); err != nil || !secure {
		t.Fatalf("http://127.0.0.1 is not a secure context here (%v): service workers would not run", err)
	}
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#f-username"), officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS("#signin-submit")),
		chromedp.WaitVisible(chromedp.CSS("ul.cases")))
	do("the service worker controls the page", chromedp.Poll[chromedp.Void](
		`navigator.serviceWorker.controller !== null && navigator.serviceWorker.controller.scriptURL.endsWith("/app/sw.js")`,
		chromedp.WithPollingTimeout(15*time.Second)))

	// What the browser keeps: the shell, nothing with case data in it.
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()))))
		.then(rs => rs.flat().map(r => new URL(r.url).pathname).sort())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(shell)
	slices.Sort(want)
	if !slices.Equal(kept, want) {
		t.Fatalf("the browser's caches hold %v, want the shell only: %v", kept, want)
	}

	// The agent stops: the page comes from the worker, in plain words.
	if err := e.api.Close(); err != nil {
		t.Fatal(err)
	}
	br.NextPage("reload with the agent stopped", chromedp.Reload())
	if h := text("h1"); h != "Doorstep is not running on this tablet" {
		t.Fatalf("with the agent stopped, the page says %q", h)
	}
	body := text("#offline")
	for _, w := range []string{"Restart the tablet", "doorstep device", "call IT", "safe on this tablet"} {
		if !strings.Contains(body, w) {
			t.Errorf("the offline page lacks %q:\n%s", w, body)
		}
	}
	if strings.Contains(body, "Sam Doe") {
		t.Error("the offline page shows case data")
	}
	if loc := br.Location(); loc != "/app/today" {
		t.Errorf("the offline page moved the address to %s", loc)
	}
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).backgroundColor`))
	if err != nil || bg != "rgb(11, 12, 12)" {
		t.Errorf("the offline page is not styled from the kept stylesheet: header background %q %v", bg, err)
	}
	br.Shoot("01-agent-not-running")
	// Another page of the app: the same answer.
	br.NextPage("open a case with the agent stopped", chromedp.Navigate(base+"/app/cases/"+e.caseID))
	if h := text("h1"); h != "Doorstep is not running on this tablet" {
		t.Fatalf("a case page with the agent stopped says %q", h)
	}
}
