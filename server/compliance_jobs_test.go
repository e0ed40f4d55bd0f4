package server

import (
	"context"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
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

// The reports computed in Go at once cover at most
// Config.MaxReportCasesInFlight cases together (default: the case limit,
// one answer's worth; decision 0079): with a job holding every case of
// the service, a full report gets a job of its own but waits for its
// cases, and is answered once they are given back; waiting longer than
// Config.ReportJobWait it is a 503 busy with Retry-After, never a 500.
// The read model's counts answer meanwhile.
func TestComplianceReportCasesInFlight(t *testing.T) {
	t.Parallel()
	const period = "from=2026-09-01&to=2026-10-31"
	full := "/v1/compliance/contacts?" + period
	for _, wait := range []time.Duration{time.Minute, 20 * time.Millisecond} {
		t.Run(wait.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, func(c *Config) { c.MaxReportJobs = 2; c.ReportJobWait = wait; c.MetricsAddr = "127.0.0.1:0" })
			seedCompliance(t, e)
			ctx := context.Background()
			ids, err := e.srv.DB().ScopeCases(ctx, e.admin, serverdb.ScopeNarrow{})
			if err != nil || len(ids) < 2 {
				t.Fatalf("the service's cases: %d, %v; want a few", len(ids), err)
			}
			comp := e.srv.Compliance()
			comp.MaxCases = len(ids) // one answer over every case is the budget
			root := bearer(e.login("root", "dev-root").AccessToken)
			held, release, err := comp.Job(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if _, err := comp.Cases(held, e.admin, compliance.Narrow{}); err != nil {
				t.Fatal(err)
			}
			if st := comp.JobStats(); st.Cases != int64(len(ids)) || st.MaxCases != int64(len(ids)) {
				t.Fatalf("a job loaded every case: %+v, want %d cases of %d", st, len(ids), len(ids))
			}
			m := scrape(t, e.srv.MetricsURL())
			if m["doorstep_report_cases_in_flight"] != float64(len(ids)) || m["doorstep_report_cases_max"] != float64(len(ids)) {
				t.Errorf("/metrics: cases in flight %v, max %v; want %d, %d", m["doorstep_report_cases_in_flight"], m["doorstep_report_cases_max"], len(ids), len(ids))
			}
			if wait < time.Second {
				r := e.do("GET", full, nil, root)
				if er := r.errorResponse(); r.status != 503 || er.Error.Code != schema.ECodeBusy || r.header.Get("Retry-After") != "5" {
					t.Errorf("a full report with every case held past the wait: %d %s, Retry-After %q; want 503 busy, Retry-After 5", r.status, r.body, r.header.Get("Retry-After"))
				}
				if st := comp.JobStats(); st.Refused != 1 || st.Running != 1 || st.Cases != int64(len(ids)) {
					t.Errorf("after the busy answer: %+v; want 1 refused, the one job running with its cases", st)
				}
				return
			}
			done := make(chan resp, 1)
			go func() { done <- e.do("GET", full, nil, root) }()
			testkit.WaitFor(t, 10*time.Second, "the report to take a job and wait for its cases", func() bool {
				st := comp.JobStats()
				return st.Running == 2 && st.Waiting == 1
			})
			if r := e.do("GET", "/v1/compliance/contacts?detail=counts&"+period, nil, root); r.status != 200 {
				t.Errorf("counts while the cases are held: %d %s, want 200 at once", r.status, r.body)
			}
			select {
			case r := <-done:
				t.Fatalf("the report was answered (%d) while every case was held", r.status)
			default:
			}
			release()
			if r := <-done; r.status != 200 {
				t.Errorf("the report once the cases were given back: %d %s, want 200", r.status, r.body)
			}
			if st := comp.JobStats(); st.Running != 0 || st.Waiting != 0 || st.Cases != 0 || st.PeakCases != int64(len(ids)) {
				t.Errorf("after the answer: %+v; want nothing running, waiting or held, a peak of %d", st, len(ids))
			}
		})
	}
}
