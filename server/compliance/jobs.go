package compliance

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/schema"

	"golang.org/x/sync/semaphore"
)

// DefaultMaxJobs is MaxJobs unless set: two answers computed in Go at
// once, so that a small team's page may run beside a large answer
// (decision 0060). What bounds their memory together is the cases in
// flight (MaxCasesInFlight, decision 0079), not the count of jobs.
const DefaultMaxJobs = 2

// DefaultJobWait is JobWait unless set: how long a request waits for a
// job, and then for its cases, before it is answered busy.
const DefaultJobWait = 30 * time.Second

// BusyRetryAfter is what a busy answer's Retry-After says: long enough
// for a job or two to end.
const BusyRetryAfter = 5 * time.Second

// jobs is the gate on the answers computed in Go: a slot per job, taken
// before the records are read, and a weight per case loaded under the
// job, taken once the count of its cases is known; both are given back
// with the answer.
type jobs struct {
	once    sync.Once
	slots   chan struct{}
	max     int
	running atomic.Int64
	waiting atomic.Int64
	refused atomic.Int64

	// cases is the budget of cases in flight, first come first served: a
	// large load waiting at its head is not passed by smaller ones behind
	// it, so it is never starved.
	cases     *semaphore.Weighted
	maxCases  int64
	inFlight  atomic.Int64
	peakCases atomic.Int64
}

// JobStats is the gate's state, for the metrics.
type JobStats struct {
	Max, Running, Waiting int
	// Refused counts the requests answered busy since the start.
	Refused int64
	// Cases are the cases the running jobs hold (loaded or loading), at
	// most MaxCases (MaxCasesInFlight); PeakCases the most they held at
	// once since the start.
	Cases, MaxCases, PeakCases int64
}

// jobKey marks, in a request's context, the job it holds.
type jobKey struct{}

// job is a held job: its gate and the cases it holds.
type job struct {
	g     *jobs
	mu    sync.Mutex
	cases int64
	done  bool
}

// gate returns the service's gate, made on first use with MaxJobs slots
// and a budget of MaxCasesInFlight cases.
func (s *Service) gate() *jobs {
	s.jobs.once.Do(func() {
		s.jobs.max = cmp0(s.MaxJobs, DefaultMaxJobs)
		s.jobs.slots = make(chan struct{}, s.jobs.max)
		s.jobs.maxCases = int64(cmp0(s.MaxCasesInFlight, s.maxCases()))
		s.jobs.cases = semaphore.NewWeighted(s.jobs.maxCases)
	})
	return &s.jobs
}

// cmp0 is v, or def when v is not positive.
func cmp0[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// JobStats reports the gate's state.
func (s *Service) JobStats() JobStats {
	g := s.gate()
	return JobStats{Max: g.max, Running: int(g.running.Load()), Waiting: int(g.waiting.Load()), Refused: g.refused.Load(),
		Cases: g.inFlight.Load(), MaxCases: g.maxCases, PeakCases: g.peakCases.Load()}
}

// Job takes one of the service's MaxJobs slots for an answer computed in
// Go, waiting for one while ctx lives and at most JobWait; then it is a
// Busy error. It returns ctx marked as holding the job, so that the
// loads made under it (Cases, ScopeFigures) do not take another, and
// release, which gives the slot back with the cases the loads took
// (once; later calls do nothing). A ctx that holds a job already gets
// itself back and a release that does nothing. Hold the job around the
// load and the computation, and release it when the answer is made.
func (s *Service) Job(ctx context.Context) (context.Context, func(), error) {
	g := s.gate()
	if held, _ := ctx.Value(jobKey{}).(*job); held != nil && held.g == g {
		return ctx, func() {}, nil
	}
	select {
	case g.slots <- struct{}{}:
	default:
		g.waiting.Add(1)
		t := time.NewTimer(cmp0(s.JobWait, DefaultJobWait))
		var err error
		select {
		case g.slots <- struct{}{}:
		case <-t.C:
			g.refused.Add(1)
			err = Busy(g.max)
		case <-ctx.Done():
			err = ctx.Err()
		}
		t.Stop()
		g.waiting.Add(-1)
		if err != nil {
			return ctx, func() {}, err
		}
	}
	g.running.Add(1)
	j := &job{g: g}
	return context.WithValue(ctx, jobKey{}, j), func() {
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.done {
			return
		}
		j.done = true
		j.giveBack()
		g.running.Add(-1)
		<-g.slots
	}, nil
}

// giveBack returns the cases j holds to the budget. j.mu is held. They
// are counted out of the cases in flight before the budget has them back:
// the other way round, a job waiting for them could count them in first,
// and the count (and its peak) would pass the budget for a moment.
func (j *job) giveBack() {
	if j.cases > 0 {
		j.g.inFlight.Add(-j.cases)
		j.g.cases.Release(j.cases)
		j.cases = 0
	}
}

// jobHolding runs under a job (Job: ctx's, or one taken) holding n cases
// of the budget (holdCases) before a load of n cases: the ctx to load
// with, and what gives the job back when it was taken here.
func (s *Service) jobHolding(ctx context.Context, n int) (context.Context, func(), error) {
	ctx, release, err := s.Job(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := s.holdCases(ctx, n); err != nil {
		release()
		return nil, nil, err
	}
	return ctx, release, nil
}

// errNoJob is holdCases's answer to a ctx that holds no job of the
// service.
var errNoJob = errors.New("compliance: cases held without a job of this service (take one with Job first)")

// holdCases makes the job ctx holds hold n cases of the budget (at most
// the whole budget) before they are loaded: at once when it holds as
// many already (a second load of the same scope under one job) or the
// budget has them free; else it waits, while ctx lives and at most
// JobWait, then it is a Busy error. A job that waits gives back what it
// held first and waits for the whole n: two jobs each holding part of the
// budget and waiting for more would otherwise wait for each other.
func (s *Service) holdCases(ctx context.Context, n int) error {
	g := s.gate()
	j, _ := ctx.Value(jobKey{}).(*job)
	if j == nil || j.g != g {
		// A caller's mistake (Cases takes a job first): an error, not a
		// panic that would take the server down with the request.
		return errNoJob
	}
	want := min(int64(n), g.maxCases)
	j.mu.Lock()
	if j.done || want <= j.cases {
		j.mu.Unlock()
		return nil
	}
	if g.cases.TryAcquire(want - j.cases) {
		j.took(want - j.cases)
		j.mu.Unlock()
		return nil
	}
	j.giveBack()
	j.mu.Unlock()
	g.waiting.Add(1)
	wctx, cancel := context.WithTimeout(ctx, cmp0(s.JobWait, DefaultJobWait))
	err := g.cases.Acquire(wctx, want)
	cancel()
	g.waiting.Add(-1)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		g.refused.Add(1)
		return BusyCases(g.maxCases)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.done { // given back while it waited
		g.cases.Release(want)
		return nil
	}
	j.took(want)
	return nil
}

// took counts n more cases held by j. j.mu is held.
func (j *job) took(n int64) {
	j.cases += n
	now := j.g.inFlight.Add(n)
	for peak := j.g.peakCases.Load(); now > peak && !j.g.peakCases.CompareAndSwap(peak, now); peak = j.g.peakCases.Load() {
	}
}

// Busy is the answer to a request that waited for a job in vain: a busy
// error (503, with Retry-After: BusyRetryAfter; docs/api.md).
func Busy(max int) error {
	return schema.Errorf(schema.ECodeBusy, "", "the server is computing as many reports case by case as it may at once (%d); try again in a few seconds, "+
		"or ask detail=counts of a measure the read model answers, which does not wait", max)
}

// BusyCases is the answer to a request that waited in vain for its
// cases: the reports computed case by case hold the most cases they may
// hold at once (max). A busy error, as Busy.
func BusyCases(max int64) error {
	return schema.Errorf(schema.ECodeBusy, "", "the server is computing reports case by case over as many cases as it may hold at once (%d); try again in a few seconds, "+
		"or ask detail=counts of a measure the read model answers, which does not wait", max)
}
