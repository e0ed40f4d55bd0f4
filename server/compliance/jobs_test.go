package compliance_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// Job: a context that holds a job takes no other (so a load under a
// handler's job does not wait for itself), release gives the slot back
// once however often it is called, a wait ends with its context or, after
// JobWait, with a busy error.
func TestServiceJobs(t *testing.T) {
	t.Parallel()
	svc := compliance.NewService(nil, nil)
	svc.MaxJobs, svc.JobWait = 1, 10*time.Millisecond
	ctx, release, err := svc.Job(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inner, releaseInner, err := svc.Job(ctx)
	if err != nil || inner != ctx {
		t.Fatalf("a job under a held one: %v; want the same context at once", err)
	}
	releaseInner()
	if st := svc.JobStats(); st.Running != 1 {
		t.Fatalf("the inner release gave back the outer job: %+v", st)
	}
	_, _, err = svc.Job(context.Background())
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeBusy || schema.HTTPStatus(e.Code) != 503 {
		t.Fatalf("a second job with the one held: %v; want busy (503)", err)
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	svc.JobWait = time.Hour
	if _, _, err := svc.Job(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait whose context ended: %v; want context.Canceled", err)
	}
	release()
	release()
	if st := svc.JobStats(); st.Running != 0 || st.Waiting != 0 || st.Refused != 1 || st.Max != 1 {
		t.Fatalf("after release (twice): %+v; want none running or waiting, 1 refused, max 1", st)
	}
	_, again, err := svc.Job(context.Background())
	if err != nil {
		t.Fatalf("a job after the release: %v", err)
	}
	again()
}

// The cases in flight (decision 0079): a job holds its load's cases of
// MaxCasesInFlight until it is given back; a load whose cases do not fit
// waits for them, first come first served, and after JobWait is busy; a
// second load of a job that holds as many takes nothing more; two jobs
// that each hold part and want more do not wait for each other; and the
// cases held never pass the budget.
func TestServiceCasesInFlight(t *testing.T) {
	t.Parallel()
	svc := compliance.NewService(nil, nil)
	svc.MaxCases, svc.MaxJobs, svc.JobWait = 100, 3, time.Hour
	job := func() (context.Context, func()) {
		t.Helper()
		ctx, release, err := svc.Job(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ctx, release
	}
	hold := func(ctx context.Context, n int) <-chan error {
		done := make(chan error, 1)
		go func() { done <- svc.HoldCases(ctx, n) }()
		return done
	}
	stats := func(want compliance.JobStats) {
		t.Helper()
		if got := svc.JobStats(); got != want {
			t.Fatalf("stats %+v, want %+v", got, want)
		}
	}

	a, releaseA := job()
	if err := svc.HoldCases(a, 80); err != nil {
		t.Fatal(err)
	}
	if err := svc.HoldCases(a, 50); err != nil {
		t.Fatalf("a second, smaller load of the job: %v", err)
	}
	stats(compliance.JobStats{Max: 3, Running: 1, Cases: 80, MaxCases: 100, PeakCases: 80})
	b, releaseB := job()
	waitB := hold(b, 30)
	testkit.WaitFor(t, 10*time.Second, "the second job to wait for its cases", func() bool { return svc.JobStats().Waiting == 1 })
	c, releaseC := job()
	waitC := hold(c, 10) // fits, but comes after b: it waits its turn
	testkit.WaitFor(t, 10*time.Second, "the third job to wait behind the second", func() bool { return svc.JobStats().Waiting == 2 })
	stats(compliance.JobStats{Max: 3, Running: 3, Waiting: 2, Cases: 80, MaxCases: 100, PeakCases: 80})
	releaseA()
	releaseA()
	if err := <-waitB; err != nil {
		t.Fatal(err)
	}
	if err := <-waitC; err != nil {
		t.Fatal(err)
	}
	stats(compliance.JobStats{Max: 3, Running: 2, Cases: 40, MaxCases: 100, PeakCases: 80})

	// b and c want more than is left, each holding part: b gives back its
	// 30 and waits for 95; c gives back its 10 and waits behind b, which
	// then has them. Holding on, each would have waited for the other.
	waitB = hold(b, 95)
	testkit.WaitFor(t, 10*time.Second, "b to wait for 95", func() bool { return svc.JobStats().Waiting == 1 })
	waitC = hold(c, 60)
	if err := <-waitB; err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 10*time.Second, "c to wait behind b", func() bool { return svc.JobStats().Waiting == 1 })
	stats(compliance.JobStats{Max: 3, Running: 2, Waiting: 1, Cases: 95, MaxCases: 100, PeakCases: 95})
	releaseB()
	if err := <-waitC; err != nil {
		t.Fatal(err)
	}
	// More than the budget is the whole budget.
	if err := svc.HoldCases(c, 5000); err != nil {
		t.Fatal(err)
	}
	stats(compliance.JobStats{Max: 3, Running: 1, Cases: 100, MaxCases: 100, PeakCases: 100})

	d, releaseD := job()
	defer releaseD()
	svc.JobWait = 10 * time.Millisecond
	err := svc.HoldCases(d, 1)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeBusy || schema.HTTPStatus(e.Code) != 503 {
		t.Fatalf("a load with the budget held past JobWait: %v; want busy (503)", err)
	}
	gone, cancel := context.WithCancel(d)
	cancel()
	svc.JobWait = time.Hour
	if err := svc.HoldCases(gone, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("a wait whose context ended: %v; want context.Canceled", err)
	}
	releaseC()
	stats(compliance.JobStats{Max: 3, Running: 1, Refused: 1, MaxCases: 100, PeakCases: 100})
}

// TestHoldCasesWithoutAJob: holding cases with a ctx that holds no job of
// the service (a caller's mistake) is an error, not a panic, and holds
// nothing.
func TestHoldCasesWithoutAJob(t *testing.T) {
	t.Parallel()
	svc := compliance.NewService(nil, nil)
	svc.MaxCases = 100
	other := compliance.NewService(nil, nil)
	otherJob, release, err := other.Job(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for name, ctx := range map[string]context.Context{"no job": context.Background(), "another service's job": otherJob} {
		if err := svc.HoldCases(ctx, 10); err == nil {
			t.Errorf("%s: held cases; want an error", name)
		}
	}
	if st := svc.JobStats(); st.Cases != 0 || st.Running != 0 {
		t.Errorf("after the refusals: %+v; want nothing held", st)
	}
}

// TestQARatingsHoldTheirCases: QARatings is a load under the budget of
// cases in flight: beside a job holding part of the budget it waits for
// its scope's cases, and is answered busy when they do not come; once
// they are free it holds them while it reads, and gives them back.
func TestQARatingsHoldTheirCases(t *testing.T) {
	t.Parallel()
	db, _ := readModelService(t)
	svc := compliance.NewService(db, nil)
	admin := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	ctx := context.Background()
	scope, err := db.ScopeCases(ctx, admin, compliance.Narrow{})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(scope))
	svc.MaxCases, svc.MaxCasesInFlight, svc.JobWait = int(n)+10, int(n)+10, 20*time.Millisecond
	other, release, err := svc.Job(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.HoldCases(other, 11); err != nil {
		t.Fatal(err)
	}
	_, err = svc.QARatings(ctx, admin)
	if e := schema.AsError(err); e == nil || e.Code != schema.ECodeBusy {
		t.Fatalf("QARatings beside a job holding 11 of %d+10 cases: %v; want busy, waiting for its %d cases", n, err, n)
	}
	release()
	if _, err := svc.QARatings(ctx, admin); err != nil {
		t.Fatalf("QARatings with the budget free: %v", err)
	}
	if st := svc.JobStats(); st.PeakCases != n || st.Cases != 0 || st.Running != 0 || st.Refused != 1 {
		t.Errorf("stats %+v; want a peak of the scope's %d cases, all given back, one refusal", st, n)
	}
}

// TestCasesInFlightNeverPassTheBudget: jobs that each hold the whole
// budget, one after another as each is given back, never count more cases
// in flight than the budget, not even for the moment between one job's
// release and the next job's taking them (the peak once counted both:
// CI saw a peak of 24 with a budget of 12).
func TestCasesInFlightNeverPassTheBudget(t *testing.T) {
	t.Parallel()
	svc := compliance.NewService(nil, nil)
	svc.MaxCases, svc.MaxJobs, svc.JobWait = 12, 4, time.Minute
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 5000 {
				ctx, release, err := svc.Job(context.Background())
				if err == nil {
					err = svc.HoldCases(ctx, 12)
				}
				if err != nil {
					errs <- err
					return
				}
				release()
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := svc.JobStats(); st.PeakCases != 12 || st.Cases != 0 || st.Running != 0 || st.Waiting != 0 {
		t.Fatalf("after 20,000 jobs of the whole budget: %+v; want a peak of exactly 12, nothing held, running or waiting", st)
	}
}
