package compliance_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// liveHeap is the live heap now: what a collection finds reachable,
// forced while the answers measured are paused (heldAnswers), so that
// the figure is what they hold. The GC's own figure after a cycle it
// started itself is not: it counts as live everything allocated while
// it marked (Go allocates black during the mark), and a cycle that
// starts while one answer still holds its records and marks for half a
// second on a loaded machine counted them beside the next answer's
// first megabytes (decision 0085).
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heldAnswers runs k answers at once on svc, each a job that loads and
// decodes the records then computes the contacts report, as the
// handlers do (the report dropped once made: what is measured is what
// the gate holds, the decoded records). Each answer pauses once it holds
// its records; whenever every answer is paused holding its records,
// waiting at the gate for its cases, or done, measure runs (nothing
// allocates meanwhile) and the paused answers go on. It returns the
// rows of each answer's report.
func heldAnswers(t *testing.T, svc *compliance.Service, k int, load func(context.Context) (compliance.Input, error), report func(compliance.Input) int, measure func()) []int {
	t.Helper()
	var (
		mu     sync.Mutex
		held   []chan struct{} // the paused answers' resumes
		done   atomic.Int64
		wg     sync.WaitGroup
		rows   = make([]int, k)
		resume = func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range held {
				close(c)
			}
			held = nil
		}
	)
	defer wg.Wait()
	defer resume() // a failed wait lets the answers end
	for i := range k {
		wg.Go(func() {
			defer done.Add(1) // after the job is given back
			jctx, release, err := svc.Job(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			defer release()
			in, err := load(jctx)
			if err != nil {
				t.Error(err)
				return
			}
			c := make(chan struct{})
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			<-c
			rows[i] = report(in)
		})
	}
	for {
		settled := func() bool {
			mu.Lock()
			paused := int64(len(held))
			mu.Unlock()
			d := done.Load()
			return d == int64(k) || paused > 0 && paused+d+int64(svc.JobStats().Waiting) == int64(k)
		}
		testkit.WaitFor(t, 5*time.Minute, "every answer paused holding its records, waiting for its cases, or done", settled)
		if done.Load() == int64(k) {
			return rows
		}
		measure()
		resume()
	}
}

// TestCasesInFlightBoundTheHeap measures what decision 0079 bounds: two
// answers over every case of the service computed at once
// (heldAnswers). With the cases in flight bounded by one answer's worth
// (the default) the second load waits for the first answer's cases, and
// the live heap at its most stays near one answer's; with room for both
// (MaxCasesInFlight twice the cases: the gate of jobs alone, as before)
// it is about two answers'. The live heap is measured when every answer
// holds its records or waits for its cases (heldAnswers, liveHeap), not
// by sampling the GC's own cycles as they come, whose figures counted
// what was allocated while they marked (decision 0085). Not parallel: the
// heap is the process's.
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
	// answers computes k answers at once and returns the live heap's most,
	// above what was live before.
	answers := func(svc *compliance.Service, k int) uint64 {
		t.Helper()
		runtime.GC()
		base := liveHeap()
		var peak uint64
		rows := heldAnswers(t, svc, k,
			func(jctx context.Context) (compliance.Input, error) { return svc.Input(jctx, admin, "") },
			func(in compliance.Input) int { return len(compliance.Contacts(in, period, asOf).Cases) },
			func() { peak = max(peak, liveHeap()) })
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
	t.Logf("%d cases: live heap's most, one answer %.1f MiB; two at once bounded by one answer's cases %.1f MiB, by jobs alone %.1f MiB",
		len(ids), mib(one), mib(bounded), mib(unbounded))
	if float64(bounded) > 1.5*float64(one) {
		t.Errorf("two answers at once, bounded by one answer's cases, held %.1f MiB of live heap at most; one alone %.1f: want at most 1.5 times", mib(bounded), mib(one))
	}
	if float64(unbounded) < 1.5*float64(one) {
		t.Errorf("two answers at once with room for both held %.1f MiB of live heap at most, one alone %.1f: the measure does not see the second answer", mib(unbounded), mib(one))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
