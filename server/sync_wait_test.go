package server

import (
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// A pull's wait for a change (docs/sync-protocol.md §7.3) is measured
// apart: doorstep_sync_pull_wait_seconds has it, and the request's
// duration leaves it out; doorstep_sync_pulls_waiting counts the pulls
// waiting now, at most Config.MaxWaitingPulls: one over it is answered at
// once, as if it had not asked to wait, and counted.
func TestPullWaitMetricsAndCap(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0"; c.MaxWaitingPulls = 1 })
	murl := e.srv.MetricsURL()
	asha := bearer(e.login("asha", "dev-asha").AccessToken)
	ben := bearer(e.login("ben", "dev-ben").AccessToken)
	const (
		waits    = `doorstep_sync_pull_wait_seconds_count`
		waitSum  = `doorstep_sync_pull_wait_seconds_sum`
		waiting  = `doorstep_sync_pulls_waiting`
		refused  = `doorstep_sync_pull_wait_refused_total`
		pullTime = `doorstep_http_request_duration_seconds_sum{method="POST",route="/v1/sync/pull"}`
		pulls    = `doorstep_http_request_duration_seconds_count{method="POST",route="/v1/sync/pull"}`
	)
	var page schema.PullResponse
	e.do("POST", "/v1/sync/pull", schema.PullRequest{}, asha).decode(t, &page)
	aCursor := page.Cursor
	e.do("POST", "/v1/sync/pull", schema.PullRequest{}, ben).decode(t, &page)
	bCursor := page.Cursor

	// Nothing new for Asha: her pull waits its 2 seconds out. The
	// request's duration is what is left.
	before := scrape(t, murl)
	start := time.Now()
	if r := e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: aCursor, Wait: 2}, asha); r.status != 200 {
		t.Fatalf("a waiting pull: %d %s", r.status, r.body)
	}
	took := time.Since(start).Seconds()
	after := scrape(t, murl)
	wait, dur := after[waitSum]-before[waitSum], after[pullTime]-before[pullTime]
	if after[waits]-before[waits] != 1 || wait < 1.5 || after[pulls]-before[pulls] != 1 {
		t.Errorf("a pull that waited 2 s: %v waits observed summing %v s, %v pulls timed; want 1, about 2 s, 1",
			after[waits]-before[waits], wait, after[pulls]-before[pulls])
	}
	if dur >= wait || wait+dur > took+0.01 {
		t.Errorf("a pull that waited %.3f s of %.3f s: its duration observed %.3f s; want the wait left out", wait, took, dur)
	}

	// One pull waiting (the cap): another answers at once, counted.
	done := make(chan resp, 1)
	go func() { done <- e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: aCursor, Wait: 25}, asha) }()
	testkit.WaitFor(t, 10*time.Second, "the pull to wait", func() bool { return scrape(t, murl)[waiting] == 1 })
	start = time.Now()
	r := e.do("POST", "/v1/sync/pull", schema.PullRequest{Cursor: bCursor, Wait: 25}, ben)
	if r.status != 200 || time.Since(start) > 10*time.Second {
		t.Errorf("a pull over the cap: %d after %v; want its page at once", r.status, time.Since(start))
	}
	if m := scrape(t, murl); m[refused]-before[refused] != 1 || m[waiting] != 1 {
		t.Errorf("after a pull over the cap: %s went up by %v, %s = %v; want 1 and 1", refused, m[refused]-before[refused], waiting, m[waiting])
	}
	// A change in Asha's scope ends her wait; no pull is waiting then.
	m := visitMutation(e.ashaCase, "dev-asha", synth0())
	if r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, asha); r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	if r := <-done; r.status != 200 {
		t.Fatalf("the waiting pull: %d %s", r.status, r.body)
	}
	if m := scrape(t, murl); m[waiting] != 0 {
		t.Errorf("%s = %v after the wait ended, want 0", waiting, m[waiting])
	}
}
