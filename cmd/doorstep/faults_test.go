package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/syncer"
)

// faultyNet is the only fake in the multi-node tests: an http.RoundTripper
// between a tablet and the real server that, with seeded randomness, drops
// requests, drops responses after the server committed, cuts bodies short,
// delays, and answers 5xx.
type faultyNet struct {
	next http.RoundTripper
	mu   sync.Mutex
	rng  *rand.Rand
	on   atomic.Bool
	seen map[string]int // fault name -> times injected
}

func newFaultyNet(seed uint64) *faultyNet {
	return &faultyNet{next: http.DefaultTransport.(*http.Transport).Clone(), rng: rand.New(rand.NewPCG(seed, 7)), seen: map[string]int{}}
}

var errInjected = errors.New("injected network fault")

func (f *faultyNet) pick() (string, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on.Load() {
		return "", 0
	}
	faults := []string{"", "", "", "drop_request", "drop_response", "cut_request", "cut_response", "delay", "503_before", "502_after"}
	name := faults[f.rng.IntN(len(faults))]
	if name != "" {
		f.seen[name]++
	}
	return name, time.Duration(f.rng.IntN(20)) * time.Millisecond
}

func (f *faultyNet) RoundTrip(req *http.Request) (*http.Response, error) {
	fault, delay := f.pick()
	switch fault {
	case "drop_request":
		return nil, errInjected
	case "503_before":
		return &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Header: http.Header{"Content-Type": {"text/plain"}},
			Body: io.NopCloser(bytes.NewBufferString("overloaded")), Request: req}, nil
	case "delay":
		time.Sleep(delay)
	case "cut_request":
		if req.Body != nil && req.ContentLength > 8 {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			cut := body[:len(body)/2]
			req = req.Clone(req.Context())
			req.Body = io.NopCloser(bytes.NewReader(cut))
			req.ContentLength = int64(len(cut))
		}
	}
	resp, err := f.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch fault {
	case "drop_response":
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errInjected
	case "502_after":
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return &http.Response{StatusCode: 502, Status: "502 Bad Gateway", Header: http.Header{},
			Body: io.NopCloser(bytes.NewBufferString("bad gateway")), Request: req}, nil
	case "cut_response":
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body[:len(body)/2]), errReader{}))
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	}
	return resp, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// TestSyncUnderFaults: hundreds of seeded rounds of local writes and syncs
// through a faulty network, with tablets that "crash" between applying a
// pull page and storing its cursor. After the faults stop and one clean sync
// each: every local write is on the server exactly once, nothing is lost or
// duplicated, and tablets and server agree field by field.
func TestSyncUnderFaults(t *testing.T) {
	t.Parallel()
	rounds := *faultRounds
	if testing.Short() {
		rounds = 40
	}
	ctx := context.Background()
	// Access tokens that live two seconds (JWT times are whole seconds) and
	// a quarter of a second on the cluster's clock per round: the tablets
	// refresh again and again under faults, answers to refreshes get lost
	// too, and the tablets must still be signed in at the end.
	c := newClusterWith(t, 2, 2*time.Second)
	officer := c.officers[0]
	crashRNG := rand.New(rand.NewPCG(99, 1))
	var crashing atomic.Bool
	var crashes atomic.Int64
	crashHook := func() error {
		if crashing.Load() && crashRNG.IntN(3) == 0 {
			crashes.Add(1)
			return errors.New("injected crash before storing the cursor")
		}
		return nil
	}
	nets := []*faultyNet{newFaultyNet(1), newFaultyNet(2)}
	tablets := []*syncer.Agent{
		c.tablet("f1", officer.Username, nets[0], crashHook),
		c.tablet("f2", officer.Username, nets[1], crashHook),
	}
	for _, a := range tablets {
		mustSync(t, a)
	}
	for _, n := range nets {
		n.on.Store(true)
	}
	crashing.Store(true)
	e := &editor{clock: c.clock, rng: rand.New(rand.NewPCG(5, 5)), caseIDs: c.cases[officer.ID]}
	failures := 0
	for round := 0; round < rounds; round++ {
		c.clock.Advance(250 * time.Millisecond)
		a := tablets[e.rng.IntN(2)]
		for i := 0; i < 1+e.rng.IntN(3); i++ {
			e.write(t, a)
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := tablets[e.rng.IntN(2)].SyncOnce(sctx); err != nil {
			failures++
		}
		cancel()
	}
	for _, n := range nets {
		n.on.Store(false)
	}
	crashing.Store(false)
	for _, a := range []*syncer.Agent{tablets[0], tablets[1], tablets[0], tablets[1]} {
		mustSync(t, a)
	}
	t.Logf("%d rounds, %d local writes, %d failed syncs, %d injected crashes, faults %v %v",
		rounds, e.writes, failures, crashes.Load(), nets[0].seen, nets[1].seen)
	if failures == 0 || crashes.Load() == 0 {
		t.Fatalf("the faults did not bite (failures %d, crashes %d): the test proves nothing", failures, crashes.Load())
	}

	want := c.serverState(c.cases[officer.ID])
	for i, a := range tablets {
		assertSameRecords(t, fmt.Sprintf("tablet %d vs server", i+1), want, tabletState(t, a))
		st, err := a.Status(ctx)
		if err != nil || st.Pending != 0 || st.Rejected != 0 {
			t.Errorf("tablet %d: status %+v, %v; want nothing pending or set aside", i+1, st, err)
		}
	}
	created := map[string]bool{}
	for _, id := range e.created {
		if created[id] {
			t.Errorf("the test made id %s twice", id)
		}
		created[id] = true
		if _, ok := want[id]; !ok {
			t.Errorf("household member %s written on a tablet is not on the server", id)
		}
	}
	members := 0
	for _, r := range want {
		if r.Entity == "household_member" && created[r.ID] {
			members++
		}
	}
	if members != len(e.created) {
		t.Errorf("server holds %d of the %d household members the tablets made", members, len(e.created))
	}
	n, err := c.srv.DB().CountMutations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != e.writes {
		t.Errorf("server logged %d distinct mutations, the tablets made %d: a write was lost or applied twice", n, e.writes)
	}
}
