package compliance

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/schema"
)

// DefaultMaxJobs is MaxJobs unless set: two answers computed in Go at
// once. One answer at the case limit peaks at about 700 MiB of resident
// memory on its own (docs/performance.md), most of it its decoded
// records; two are what a 1 GiB budget holds once the process's own share
// is counted (decision 0060).
const DefaultMaxJobs = 2

// DefaultJobWait is JobWait unless set: how long a request waits for a
// job before it is answered busy.
const DefaultJobWait = 30 * time.Second

// BusyRetryAfter is what a busy answer's Retry-After says: long enough
// for a job or two to end.
const BusyRetryAfter = 5 * time.Second

// jobs is the gate on the answers computed in Go: a slot per job, taken
// before the records are read and given back with the answer.
type jobs struct {
	once    sync.Once
	slots   chan struct{}
	max     int
	running atomic.Int64
	waiting atomic.Int64
	refused atomic.Int64
}

// JobStats is the gate's state, for the metrics.
type JobStats struct {
	Max, Running, Waiting int
	// Refused counts the requests answered busy since the start.
	Refused int64
}

// jobKey marks, in a request's context, the gate whose job it holds.
type jobKey struct{}

// gate returns the service's gate, made on first use with MaxJobs slots.
func (s *Service) gate() *jobs {
	s.jobs.once.Do(func() {
		s.jobs.max = cmp0(s.MaxJobs, DefaultMaxJobs)
		s.jobs.slots = make(chan struct{}, s.jobs.max)
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
	return JobStats{Max: g.max, Running: int(g.running.Load()), Waiting: int(g.waiting.Load()), Refused: g.refused.Load()}
}

// Job takes one of the service's MaxJobs slots for an answer computed in
// Go, waiting for one while ctx lives and at most JobWait; then it is a
// Busy error. It returns ctx marked as holding the job, so that the
// loads made under it (Cases, ScopeFigures) do not take another, and
// release, which gives the slot back (once; later calls do nothing). A
// ctx that holds a job already gets itself back and a release that does
// nothing. Hold the job around the load and the computation, and release
// it when the answer is made.
func (s *Service) Job(ctx context.Context) (context.Context, func(), error) {
	g := s.gate()
	if held, _ := ctx.Value(jobKey{}).(*jobs); held == g {
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
	var once sync.Once
	return context.WithValue(ctx, jobKey{}, g), func() {
		once.Do(func() {
			g.running.Add(-1)
			<-g.slots
		})
	}, nil
}

// Busy is the answer to a request that waited for a job in vain: a busy
// error (503, with Retry-After: BusyRetryAfter; docs/api.md).
func Busy(max int) error {
	return schema.Errorf(schema.ECodeBusy, "", "the server is computing as many reports case by case as it may at once (%d); try again in a few seconds, "+
		"or ask detail=counts of a measure the read model answers, which does not wait", max)
}
