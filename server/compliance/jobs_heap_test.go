package compliance_test

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// liveHeapPeak reads the live heap after every garbage collection (what
// the last cycle found reachable: the records held, not the garbage)
// until stop, and returns the most it read.
func liveHeapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	var done atomic.Bool
	var arm func()
	arm = func() {
		// A pointerful object, never from the tiny allocator: its finalizer
		// runs after the cycle that finds it unreachable.
		sentinel := &struct {
			p *int
			_ [32]byte
		}{}
		runtime.SetFinalizer(sentinel, func(any) {
			s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
			metrics.Read(s)
			for v, p := s[0].Value.Uint64(), peak.Load(); v > p && !peak.CompareAndSwap(p, v); p = peak.Load() {
			}
			if !done.Load() {
				arm()
			}
		})
	}
	arm()
	return func() uint64 {
		done.Store(true)
		return peak.Load()
	}
}

// TestCasesInFlightBoundTheHeap measures what decision 0079 bounds: two
// answers over every case of the service computed at once, each a job
// that loads and decodes the records then computes a report, as the
// handlers do (the reports dropped once made: what is measured is what
// the gate holds, the decoded records). With the cases in flight bounded by one answer's worth
// (the default) the second load waits for the first answer's cases, and
// the live heap's peak stays near one answer's; with room for both
// (MaxCasesInFlight twice the cases: the gate of jobs alone, as before)
// it is about two answers'. Not parallel: the heap is the process's.
func TestCasesInFlightBoundTheHeap(t *testing.T) {
	ctx := context.Background()
	db, _ := readModelService(t)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	ids, err := db.ScopeCases(ctx, admin, serverdb.ScopeNarrow{})
	if err != nil {
		t.Fatal(err)
	}
	period := compliance.Period{From: "2026-05-23", To: "2026-11-23"}
	const asOf = "2026-11-23"
	// answers computes k answers at once and returns the live heap's peak
	// above what was live before.
	answers := func(svc *compliance.Service, k int) uint64 {
		t.Helper()
		runtime.GC()
		runtime.GC()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(s)
		base := s[0].Value.Uint64()
		defer debug.SetGCPercent(debug.SetGCPercent(5)) // a cycle every few MiB: the peak is seen
		stop := liveHeapPeak()
		var wg sync.WaitGroup
		rows := make([]int, k)
		for i := range k {
			wg.Go(func() {
				jctx, release, err := svc.Job(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				defer release()
				in, err := svc.Input(jctx, admin, "")
				if err != nil {
					t.Error(err)
					return
				}
				rows[i] = len(compliance.Contacts(in, period, asOf).Cases)
			})
		}
		wg.Wait()
		runtime.GC()
		runtime.GC()
		peak := stop()
		if rows[0] == 0 {
			t.Errorf("the contacts report covers no case: nothing was measured")
		}
		return peak - min(peak, base)
	}
	newService := func(inFlight int) *compliance.Service {
		svc := compliance.NewService(db, nil)
		svc.MaxCases, svc.MaxCasesInFlight = len(ids), inFlight
		return svc
	}
	one := answers(newService(0), 1)
	bounded := answers(newService(0), 2)
	unbounded := answers(newService(2*len(ids)), 2)
	t.Logf("%d cases: live heap's peak, one answer %.1f MiB; two at once bounded by one answer's cases %.1f MiB, by jobs alone %.1f MiB",
		len(ids), mib(one), mib(bounded), mib(unbounded))
	if float64(bounded) > 1.5*float64(one) {
		t.Errorf("two answers at once, bounded by one answer's cases, peaked at %.1f MiB of live heap; one alone at %.1f: want at most 1.5 times", mib(bounded), mib(one))
	}
	if float64(unbounded) < 1.5*float64(one) {
		t.Errorf("two answers at once with room for both peaked at %.1f MiB of live heap, one alone at %.1f: the measure does not see the second answer", mib(unbounded), mib(one))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
