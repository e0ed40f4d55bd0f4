package server

import (
	"context"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// At most Config.MaxReportJobs answers computed in Go run at once
// (decision 0060): with the one job held, a full report waits its turn
// and is answered when the job is given back; a report that waits longer
// than Config.ReportJobWait is a 503 busy with Retry-After, counted in
// /metrics; the read model's counts and case lists never wait.
func TestComplianceReportJobs(t *testing.T) {
	t.Parallel()
	const period = "from=2026-09-01&to=2026-10-31"
	full := "/v1/compliance/contacts?" + period

	t.Run("waits its turn", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, func(c *Config) { c.MaxReportJobs = 1; c.ReportJobWait = time.Minute })
		root := bearer(e.login("root", "dev-root").AccessToken)
		comp := e.srv.Compliance()
		_, release, err := comp.Job(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan int, 1)
		go func() { done <- e.do("GET", full, nil, root).status }()
		testkit.WaitFor(t, 10*time.Second, "the report to wait for the job", func() bool { return comp.JobStats().Waiting == 1 })
		if r := e.do("GET", "/v1/compliance/contacts?detail=counts&"+period, nil, root); r.status != 200 {
			t.Errorf("counts while the job is held: %d %s, want 200 at once", r.status, r.body)
		}
		select {
		case s := <-done:
			t.Fatalf("the report was answered (%d) while the one job was held", s)
		default:
		}
		release()
		if s := <-done; s != 200 {
			t.Errorf("the report after the job was given back: %d, want 200", s)
		}
		if st := comp.JobStats(); st.Running != 0 || st.Waiting != 0 || st.Max != 1 {
			t.Errorf("after the answer: %+v, want nothing running or waiting, max 1", st)
		}
	})

	t.Run("busy after the wait", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, func(c *Config) {
			c.MaxReportJobs = 1
			c.ReportJobWait = 20 * time.Millisecond
			c.MetricsAddr = "127.0.0.1:0"
		})
		root := bearer(e.login("root", "dev-root").AccessToken)
		_, release, err := e.srv.Compliance().Job(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		m := scrape(t, e.srv.MetricsURL())
		if m["doorstep_report_jobs_running"] != 1 || m["doorstep_report_jobs_max"] != 1 || m["doorstep_report_jobs_refused_total"] != 0 {
			t.Errorf("one job held: running %v, max %v, refused %v; want 1, 1, 0", m["doorstep_report_jobs_running"],
				m["doorstep_report_jobs_max"], m["doorstep_report_jobs_refused_total"])
		}
		for _, path := range []string{full, "/v1/compliance/overdue?detail=summary&as_of=2026-10-31"} {
			r := e.do("GET", path, nil, root)
			er := r.errorResponse()
			if r.status != 503 || er.Error.Code != schema.ECodeBusy || r.header.Get("Retry-After") != "5" {
				t.Errorf("GET %s with the one job held: %d %s, Retry-After %q; want 503 busy, Retry-After 5", path, r.status, r.body, r.header.Get("Retry-After"))
			}
		}
		for _, path := range []string{"/v1/compliance/contacts?detail=counts&" + period, "/v1/compliance/overdue?detail=counts&as_of=2026-10-31",
			"/v1/compliance/households/cases?figure=cases&" + period} {
			if r := e.do("GET", path, nil, root); r.status != 200 {
				t.Errorf("GET %s with the one job held: %d %s, want 200 (the read model waits for no job)", path, r.status, r.body)
			}
		}
		if got := scrape(t, e.srv.MetricsURL())["doorstep_report_jobs_refused_total"]; got != 2 {
			t.Errorf("doorstep_report_jobs_refused_total = %v after two busy answers, want 2", got)
		}
	})
}
