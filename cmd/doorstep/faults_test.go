package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/schema"
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
// pull page and storing its cursor. The officer's two tablets edit the same
// household members field by field while cases are reassigned to another
// officer and back, so changes are set aside (out_of_scope) on the way.
// After the faults stop, every case is back and the officer has sent every
// set-aside change again (or discarded one that a later change of theirs
// replaces whole): every local write is on the server exactly once, nothing
// is lost or duplicated, tablets and server agree field by field, and every
// edit of a field either won when the server applied it or is kept as a
// conflict record with its value.
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
	e := &editor{clock: c.clock, rng: rand.New(rand.NewPCG(5, 5)), caseIDs: c.cases[officer.ID], track: true}
	other := c.officers[1]
	away := map[string]bool{} // case id -> reassigned to the other officer now
	moves := 0
	reassign := func(caseID string, to schema.User) {
		t.Helper()
		if err := c.srv.DB().ReassignCase(ctx, cliActor, caseID, to.Username); err != nil {
			t.Fatalf("reassign %s to %s: %v", caseID, to.Username, err)
		}
		away[caseID] = to.ID != officer.ID
		moves++
	}
	failures := 0
	for round := 0; round < rounds; round++ {
		c.clock.Advance(250 * time.Millisecond)
		if round%10 == 5 {
			caseID := e.caseIDs[e.rng.IntN(len(e.caseIDs))]
			if away[caseID] {
				reassign(caseID, officer)
			} else {
				reassign(caseID, other)
			}
		}
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
	for _, caseID := range e.caseIDs {
		if away[caseID] {
			reassign(caseID, officer)
		}
	}
	for _, a := range []*syncer.Agent{tablets[0], tablets[1], tablets[0], tablets[1]} {
		mustSync(t, a)
	}
	// The officer decides each set-aside change: send it again, or, when
	// later changes of theirs waiting on the tablet set every field of it,
	// discard it.
	setAside, retried := 0, 0
	var resent []resentChange
	for i, a := range tablets {
		out, err := a.Outbox(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			if o.Status != "rejected" {
				continue
			}
			setAside++
			// out_of_scope: sent while the case was away; required: an
			// edit of a member whose creation was set aside, sent after
			// the case came back (the server has no such record yet).
			if o.Error == nil || (o.Error.Code != schema.ECodeOutOfScope && o.Error.Code != schema.ECodeRequired) {
				t.Errorf("tablet %d: change %s set aside for %+v; want only out_of_scope or required", i+1, o.MutationID, o.Error)
			}
			newID, err := a.Retry(ctx, o.MutationID, nil)
			if schema.ErrorCode(err) == schema.ECodeConflict {
				err = a.Discard(ctx, o.MutationID)
			} else if err == nil {
				retried++
				q, err := a.Outbox(ctx)
				if err != nil || len(q) == 0 || q[len(q)-1].MutationID != newID {
					t.Fatalf("tablet %d: the change sent again is not last in the outbox: %v %v", i+1, q, err)
				}
				var fields map[string]json.RawMessage
				json.Unmarshal(q[len(q)-1].Fields, &fields)
				resent = append(resent, resentChange{tablet: a, recordID: o.RecordID, mutationID: newID, clock: q[len(q)-1].Clock, fields: fields})
			}
			if err != nil {
				t.Fatalf("tablet %d: decide set-aside change %s: %v", i+1, o.MutationID, err)
			}
		}
	}
	for _, a := range []*syncer.Agent{tablets[0], tablets[1], tablets[0], tablets[1]} {
		mustSync(t, a)
	}
	t.Logf("%d rounds, %d local writes, %d edits, %d case moves, %d set aside (%d sent again), %d failed syncs, %d injected crashes, faults %v %v",
		rounds, e.writes, len(e.edits), moves, setAside, retried, failures, crashes.Load(), nets[0].seen, nets[1].seen)
	if failures == 0 || crashes.Load() == 0 || setAside == 0 {
		t.Fatalf("the faults did not bite (failures %d, crashes %d, set aside %d): the test proves nothing", failures, crashes.Load(), setAside)
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
	if n != e.writes+retried+moves {
		t.Errorf("server logged %d distinct mutations; the tablets made %d and sent %d again, the admin moved %d cases: a write was lost or applied twice",
			n, e.writes, retried, moves)
	}
	checkEditsKept(t, c, tablets, e.edits, resent, want)
}

// resentChange is a set-aside change sent again: its new mutation and the
// fields it carries.
type resentChange struct {
	tablet     *syncer.Agent
	recordID   string
	mutationID string
	clock      string
	fields     map[string]json.RawMessage
}

// checkEditsKept checks that every edit either won when the server applied
// it or is kept as a conflict record with its value, and that each field
// edited ends with the value of the edit whose change carried the latest
// stamp (no field moves under a stamp that no edit of it made). An edit set
// aside and sent again is followed to the change that carried it; one
// discarded must have been replaced by a later edit of the same field on
// its tablet, or travelled with a change of its record sent again (a
// member's creation, sent whole).
func checkEditsKept(t *testing.T, c *cluster, tablets []*syncer.Agent, edits []fieldEdit, resent []resentChange, server map[string]schema.Record) {
	t.Helper()
	ctx := context.Background()
	decided := map[string]syncer.Decision{} // mutation id -> the officer's decision
	for _, a := range tablets {
		log, err := a.OutboxLog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range log {
			decided[d.MutationID] = d
		}
	}
	kept := map[string]bool{} // mutation id/field/value of each conflict record
	for _, r := range server {
		if r.Entity != "conflict" {
			continue
		}
		var cf schema.Conflict
		if err := r.Decode(&cf); err != nil {
			t.Fatal(err)
		}
		kept[cf.MutationID+"/"+cf.Field+"/"+string(compact(json.RawMessage(cf.LosingValue)))] = true
	}
	clockOf := map[string]string{} // mutation id -> stamp, of changes sent again
	for _, r := range resent {
		clockOf[r.mutationID] = r.clock
	}
	type fieldKey struct{ recordID, field string }
	type carried struct {
		clock string
		value json.RawMessage
	}
	latest := map[fieldKey]carried{}
	lost := 0
	for i, ed := range edits {
		id, clock := ed.mutationID, ed.clock
		for decided[id].Decision == "retried" {
			id = decided[id].NewMutationID
			clock = clockOf[id]
		}
		if decided[id].Decision == "discarded" {
			replaced := false
			for _, later := range edits[i+1:] {
				replaced = replaced || (later.tablet == ed.tablet && later.recordID == ed.recordID && later.field == ed.field)
			}
			if replaced {
				continue
			}
			carrier := ""
			for _, r := range resent {
				// the last change sent again that carries the value
				if r.tablet == ed.tablet && r.recordID == ed.recordID && jsonEqual(r.fields[ed.field], ed.value) {
					carrier = r.mutationID
				}
			}
			if carrier == "" {
				t.Errorf("edit %d (%s of %s = %s) was discarded though nothing replaced or carried it", i, ed.field, ed.recordID, ed.value)
				continue
			}
			id, clock = carrier, clockOf[carrier]
		}
		k := fieldKey{ed.recordID, ed.field}
		if clock > latest[k].clock {
			latest[k] = carried{clock, ed.value}
		}
		status, lostFields, err := c.srv.DB().MutationOutcome(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case status != schema.StatusApplied && status != schema.StatusConflict:
			t.Errorf("edit %d (%s of %s = %s, mutation %s): outcome %q; want applied or conflict", i, ed.field, ed.recordID, ed.value, id, status)
		case slices.Contains(lostFields, ed.field):
			lost++
			if !kept[id+"/"+ed.field+"/"+string(compact(ed.value))] {
				t.Errorf("edit %d (%s of %s = %s, mutation %s) lost and no conflict record keeps it", i, ed.field, ed.recordID, ed.value, id)
			}
		}
	}
	t.Logf("%d edits, %d of them kept as conflict records", len(edits), lost)
	for k, want := range latest {
		if got := server[k.recordID].Fields[k.field]; !jsonEqual(got, want.value) {
			t.Errorf("%s of %s is %s on the server; the latest edit of it (stamp %s) wrote %s", k.field, k.recordID, got, want.clock, want.value)
		}
	}
}

func compact(v json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return v
	}
	return b.Bytes()
}
