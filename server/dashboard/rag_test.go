package dashboard

import (
	"html"
	"strings"
	"testing"

	"doorstep/server/compliance"
)

// TestDashboardCardShowsTargetAndPrevious: a measure's card shows its RAG
// status in words, its target and the previous period's figure with the
// change, as the API reports them; a figure over fewer than the minimum is
// "too few to judge", without a percentage or a colour.
func TestDashboardCardShowsTargetAndPrevious(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDashboard(t, e)
	b := e.signedIn(t, "sue")
	p := b.get("/dashboard/?" + period)
	mustStatus(t, "dashboard", p, 200)
	tok := e.login("sue", "dev-sue").AccessToken
	var fhv compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?"+period, tok, &fhv)
	h := fhv.Headline
	if h == nil || h.Target == nil || h.Previous == nil {
		t.Fatalf("API headline %+v", h)
	}
	card := between(t, p.body, `id="m-first-home-visits"`, "</article>")
	t.Logf("card: %s", card)
	for _, want := range []string{
		`<p class="headline rag-` + h.Status + `"><strong class="rag-status">` + ragWords(h.Status) + `</strong>`,
		"Target: 90% (red below 75%, amber below 90%)",
		html.EscapeString(previousText(h)),
		"Previous period (" + ukDate(h.Previous.Period.From) + " to " + ukDate(h.Previous.Period.To) + "): ",
	} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if h.Denominator < 5 {
		if !strings.Contains(card, "too few to judge") || strings.Contains(card, `class="figure rag-`+h.Status+`"><span class="big">`) || h.Status != "too_few" {
			t.Errorf("%d of %d shown as a judged figure", h.Numerator, h.Denominator)
		}
	} else if !strings.Contains(card, `<p class="figure rag-`+h.Status+`"><span class="big">`) {
		t.Errorf("headline figure not coloured %s", h.Status)
	}
	// Ben's cases alone: 0 of 2 on time, too few to judge.
	op := b.get("/dashboard/officers/" + e.users["ben"].ID + "?" + period)
	mustStatus(t, "officer page", op, 200)
	if !strings.Contains(op.body, `<span class="few">0 of 2 on time: too few to judge</span>`) || strings.Contains(op.body, "0 of 2 on time</span>") ||
		!strings.Contains(op.body, `<p class="headline rag-too_few"><strong class="rag-status">Too few to judge</strong>`) {
		t.Errorf("ben's page shouts 0 of 2: %s", between(t, op.body, `class="figures"`, "</p>"))
	}
}

// between is the text of s from the first start to the next end.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q", start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("no %q after %q", end, start)
	}
	return s[i : i+j]
}

// TestPreviousText: the words for the previous period and the change.
func TestPreviousText(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	h := &compliance.Headline{Figure: compliance.Figure{Numerator: 8, Denominator: 10, Percent: f(80)}, MinDenominator: 5, Change: f(-5),
		Previous: &compliance.PreviousFigure{Figure: compliance.Figure{Numerator: 17, Denominator: 20, Percent: f(85)},
			Period: compliance.Period{From: "2026-07-02", To: "2026-08-31"}}}
	if got, want := previousText(h), "Previous period (2 July 2026 to 31 August 2026): 85.0% (17 of 20); now down 5.0 points"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
	h.Previous.Figure = compliance.Figure{Numerator: 2, Denominator: 2, Percent: f(100)}
	h.Change = f(-20)
	if got, want := previousText(h), "Previous period (2 July 2026 to 31 August 2026): 2 of 2, too few to judge"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
	h.Previous.Figure = compliance.Figure{}
	h.Change = nil
	if got, want := previousText(h), "Previous period (2 July 2026 to 31 August 2026): nothing to count"; got != want {
		t.Errorf("%q\nwant %q", got, want)
	}
}
