package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer"
)

var faultRounds = flag.Int("fault-rounds", 300, "rounds of the fault-injection test (more for a soak)")

// editor makes random local writes on tablets of one officer and remembers
// what it wrote, so a test can say what the server must end up with. Each
// write happens a millisecond after the one before on the cluster's clock.
type editor struct {
	clock   *testkit.Clock
	rng     *rand.Rand
	caseIDs []string
	created []string // household member ids made by the test
	writes  int
	// edits, when track is set: every change of one field, with the
	// mutation that carries it.
	track bool
	edits []fieldEdit
}

// fieldEdit is one local change of one field of a household member.
type fieldEdit struct {
	tablet     *syncer.Agent
	recordID   string
	field      string
	value      json.RawMessage
	mutationID string
	clock      string // the mutation's stamp
}

var relations = []string{"partner", "ex_partner", "own_child", "step_child", "other_adult", "lodger"}

// write makes one random local change on a: a new household member, or a
// change to one made earlier (possibly on the other tablet).
func (e *editor) write(t *testing.T, a *syncer.Agent) {
	t.Helper()
	ctx := context.Background()
	e.clock.Advance(time.Millisecond)
	if len(e.created) == 0 || e.rng.IntN(3) == 0 {
		caseID := e.caseIDs[e.rng.IntN(len(e.caseIDs))]
		rec, err := a.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
			"relation":  str(relations[e.rng.IntN(len(relations))]),
			"residence": str("lives_here"),
			"name":      str(fmt.Sprintf("Member %d", e.writes)),
		})
		if schema.ErrorCode(err) == schema.ECodeOutOfScope {
			return // the case was reassigned away from this tablet
		}
		if err != nil {
			t.Fatalf("create household member: %v", err)
		}
		e.created = append(e.created, rec.ID)
	} else {
		id := e.created[e.rng.IntN(len(e.created))]
		got, err := a.Get(ctx, "household_member", id)
		if err != nil {
			return // not on this tablet yet: the other tablet made it
		}
		field := []string{"name", "description", "confirmed_on"}[e.rng.IntN(3)]
		val := str(fmt.Sprintf("edit %d", e.writes))
		if field == "confirmed_on" {
			val = str(time.Date(2026, 1, 1+e.rng.IntN(300), 0, 0, 0, 0, time.UTC).Format(time.DateOnly))
		}
		fields := map[string]json.RawMessage{field: val}
		if e.track && e.rng.IntN(2) == 0 {
			// A form's save: every field it shows, one of them changed.
			for _, f := range []string{"name", "description", "confirmed_on"} {
				if v, ok := got.Fields[f]; ok && f != field {
					fields[f] = v
				}
			}
		}
		if _, err := a.Put(ctx, "household_member", id, got.CaseID, fields); err != nil {
			t.Fatalf("edit household member %s: %v", id, err)
		}
		if jsonEqual(got.Fields[field], val) {
			return // the tablet sends nothing for a write that changes nothing
		}
		if e.track {
			out, err := a.Outbox(ctx)
			if err != nil || len(out) == 0 || out[len(out)-1].RecordID != id {
				t.Fatalf("the edit of %s is not last in the outbox: %v, %v", id, out, err)
			}
			last := out[len(out)-1]
			e.edits = append(e.edits, fieldEdit{tablet: a, recordID: id, field: field, value: val, mutationID: last.MutationID, clock: last.Clock})
		}
	}
	e.writes++
}

// TestTwoTabletsConverge: offline writes on two tablets of one officer, then
// syncs in random orders; the tablets and the server end with the same
// records, field by field.
func TestTwoTabletsConverge(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, 3)
			officer := c.officers[0]
			a1 := c.tablet("a1", officer.Username, nil, nil)
			a2 := c.tablet("a2", officer.Username, nil, nil)
			mustSync(t, a1)
			mustSync(t, a2)
			e := &editor{clock: c.clock, rng: rand.New(rand.NewPCG(seed, 42)), caseIDs: c.cases[officer.ID]}
			tablets := []*syncer.Agent{a1, a2}
			for round := 0; round < 20; round++ {
				for i := 0; i < 1+e.rng.IntN(4); i++ {
					e.write(t, tablets[e.rng.IntN(2)])
				}
				if e.rng.IntN(2) == 0 {
					mustSync(t, tablets[e.rng.IntN(2)])
				}
			}
			// Settle: each syncs, then each again so both see the other's last push.
			for _, a := range []*syncer.Agent{a1, a2, a1, a2} {
				mustSync(t, a)
			}
			want := c.serverState(c.cases[officer.ID])
			assertSameRecords(t, "tablet a1 vs server", want, tabletState(t, a1))
			assertSameRecords(t, "tablet a2 vs server", want, tabletState(t, a2))
			for _, id := range e.created {
				if _, ok := want[id]; !ok {
					t.Errorf("household member %s made on a tablet is not on the server", id)
				}
			}
			for _, a := range tablets {
				st, err := a.Status(context.Background())
				if err != nil || st.Pending != 0 || st.Rejected != 0 {
					t.Errorf("tablet status after settling = %+v, %v; want nothing pending or set aside", st, err)
				}
			}
		})
	}
}

// TestVisitDraftFieldLevelMerge: a draft edited on two tablets keeps both
// fields' edits; the later edit of the same field wins; a signed visit
// edited elsewhere is refused and the edit survives as a conflict record.
func TestVisitDraftFieldLevelMerge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a1 := c.tablet("a1", officer.Username, nil, nil)
	a2 := c.tablet("a2", officer.Username, nil, nil)
	mustSync(t, a1)

	draft, err := a1.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{
		"status": str("draft"), "planned_type": str("home_unannounced"), "officer_id": str(officer.ID),
	})
	if err != nil {
		t.Fatalf("create draft: %v", err)
	}
	mustSync(t, a1)
	mustSync(t, a2)

	// Offline on both: a1 writes partner_concerns then (later) a2 writes
	// observation_notes and, later still, partner_concerns too.
	if _, err := a1.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"partner_concerns": str("from a1"), "outcome_reason": str("a1 only")}); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Second)
	if _, err := a2.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"observation_notes": str("from a2")}); err != nil {
		t.Fatal(err)
	}
	c.clock.Advance(time.Second)
	if _, err := a2.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"partner_concerns": str("from a2, later")}); err != nil {
		t.Fatal(err)
	}
	// a2 syncs first, then a1 (whose partner_concerns is older and loses).
	mustSync(t, a2)
	mustSync(t, a1)
	mustSync(t, a2)

	for name, a := range map[string]*syncer.Agent{"a1": a1, "a2": a2} {
		got, err := a.Get(ctx, "visit", draft.ID)
		if err != nil {
			t.Fatalf("%s get visit: %v", name, err)
		}
		for field, want := range map[string]string{"partner_concerns": "from a2, later", "observation_notes": "from a2", "outcome_reason": "a1 only"} {
			if !jsonEqual(got.Fields[field], str(want)) {
				t.Errorf("%s: %s = %s, want %q", name, field, got.Fields[field], want)
			}
		}
	}
	conflicts := conflictsFor(t, a1, draft.ID)
	if len(conflicts) != 1 || conflicts[0].Field != "partner_concerns" || conflicts[0].LosingValue != `"from a1"` {
		t.Fatalf("conflicts for the draft = %+v, want one keeping a1's partner_concerns \"from a1\"", conflicts)
	}

	// a1 signs; a2, not yet synced, edits the (to it) unsigned draft.
	signed, err := a1.Sign(ctx, draft.ID, map[string]json.RawMessage{
		"type": str("home_unannounced"), "outcome": str("completed"), "location": str("home"),
		"face_to_face": json.RawMessage("true"), "started_at": str(c.clock.Now().UTC().Format(time.RFC3339)),
		"person_seen": str("yes"), "partner_present": str("no"), "children_present": str("no_children"),
	})
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	if _, err := a1.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"observation_notes": str("after signing")}); schema.ErrorCode(err) != schema.ECodeSigned {
		t.Fatalf("editing a signed visit locally: err = %v, want code %s", err, schema.ECodeSigned)
	}
	mustSync(t, a1)
	if _, err := a2.Put(ctx, "visit", draft.ID, caseID, map[string]json.RawMessage{"observation_notes": str("late edit on a2")}); err != nil {
		t.Fatalf("a2 edit of its unsigned copy: %v", err)
	}
	rep := mustSync(t, a2)
	if rep.Conflicts != 1 {
		t.Errorf("a2 sync report %+v: want 1 conflict for the edit of a signed visit", rep)
	}
	got, err := a2.Get(ctx, "visit", draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Record.Signed() || !jsonEqual(got.Fields["observation_notes"], signed.Fields["observation_notes"]) {
		t.Errorf("a2's visit after sync: signed=%v observation_notes=%s; want the signed record as a1 signed it", got.Record.Signed(), got.Fields["observation_notes"])
	}
	found := false
	for _, cf := range conflictsFor(t, a2, draft.ID) {
		if cf.Reason == "record_signed" && cf.LosingValue == `"late edit on a2"` {
			found = true
		}
	}
	if !found {
		t.Errorf("a2's late edit of the signed visit is not kept as a record_signed conflict: %+v", conflictsFor(t, a2, draft.ID))
	}
}

func conflictsFor(t *testing.T, a *syncer.Agent, recordID string) []schema.Conflict {
	t.Helper()
	recs, err := a.List(context.Background(), "conflict", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []schema.Conflict
	for _, r := range recs {
		var cf schema.Conflict
		if err := r.Decode(&cf); err != nil {
			t.Fatal(err)
		}
		if cf.RecordID == recordID {
			out = append(out, cf)
		}
	}
	return out
}

// TestReassignedCaseLeavesTablet: after a reassignment from A to B, A's
// next pull leaves nothing of the case on A's tablet and B's brings it all.
func TestReassignedCaseLeavesTablet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 3)
	a, b := c.officers[0], c.officers[1]
	ta := c.tablet("ta", a.Username, nil, nil)
	tb := c.tablet("tb", b.Username, nil, nil)
	mustSync(t, ta)
	mustSync(t, tb)
	moved := c.cases[a.ID][0]
	onServer := c.serverState([]string{moved})
	if n := countCase(t, ta, moved); n != len(onServer) || n == 0 {
		t.Fatalf("before: A's tablet holds %d records of the case, server %d", n, len(onServer))
	}
	if err := c.srv.DB().ReassignCase(ctx, cliActor, moved, b.Username); err != nil {
		t.Fatalf("reassign: %v", err)
	}
	mustSync(t, ta)
	mustSync(t, tb)
	if n := countCase(t, ta, moved); n != 0 {
		t.Errorf("after: A's tablet still holds %d records of the reassigned case", n)
	}
	if n := countCase(t, tb, moved); n != len(onServer) {
		t.Errorf("after: B's tablet holds %d records of the case, want %d", n, len(onServer))
	}
	// A's other cases are untouched.
	if n := countCase(t, ta, c.cases[a.ID][1]); n == 0 {
		t.Errorf("A's other case vanished from A's tablet")
	}
}

func countCase(t *testing.T, a *syncer.Agent, caseID string) int {
	t.Helper()
	n := 0
	for _, spec := range schema.Entities() {
		recs, err := a.List(context.Background(), spec.Name, caseID)
		if err != nil {
			t.Fatal(err)
		}
		n += len(recs)
	}
	return n
}

// TestOwnPushIsNotPulledBack: the records a tablet pushed are not sent back
// to it by the pull that follows (they are its echoes), while its twin
// tablet gets them all, and a later change by the twin reaches it.
func TestOwnPushIsNotPulledBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	a1 := c.tablet("a1", officer.Username, nil, nil)
	a2 := c.tablet("a2", officer.Username, nil, nil)
	mustSync(t, a1)
	mustSync(t, a2)
	var ids []string
	for i := 0; i < 30; i++ {
		rec, err := a1.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
			"relation": str("other_adult"), "residence": str("visits"), "name": str(fmt.Sprintf("Visitor %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	if rep := mustSync(t, a1); rep.Applied != 30 || rep.Pulled != 0 {
		t.Fatalf("a1's sync: applied %d, pulled %d; want 30 applied and none pulled back", rep.Applied, rep.Pulled)
	}
	if rep := mustSync(t, a2); rep.Pulled < 30 {
		t.Fatalf("a2 pulled %d records, want the 30 that a1 made", rep.Pulled)
	}
	if _, err := a2.Put(ctx, "household_member", ids[0], caseID, map[string]json.RawMessage{"name": str("Renamed on a2")}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, a2)
	if rep := mustSync(t, a1); rep.Pulled != 1 {
		t.Errorf("a1 pulled %d records after a2's change, want 1", rep.Pulled)
	}
	got, err := a1.Get(ctx, "household_member", ids[0])
	if err != nil || !jsonEqual(got.Fields["name"], str("Renamed on a2")) {
		t.Errorf("a1's copy after a2's change: %s, %v", got.Fields["name"], err)
	}
}

// TestWaitingTabletGetsAChangeWithoutItsInterval: a tablet running in the
// background, its interval an hour, waits in a pull (§7.3) after its first
// sync; a change another tablet pushes to the real server reaches it at
// once. A sync asked for on the waiting tablet (Sync now) ends the wait
// instead of queueing behind it, and its own change reaches the other.
func TestWaitingTabletGetsAChangeWithoutItsInterval(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCluster(t, 2)
	officer := c.officers[0]
	caseID := c.cases[officer.ID][0]
	waiting := c.tabletWith("waiting", officer.Username, func(cfg *syncer.Config) {
		cfg.Interval, cfg.Timeout = time.Hour, 30*time.Second // a pull waits 25 s
	})
	other := c.tablet("other", officer.Username, nil, nil)
	mustSync(t, other)
	done := make(chan error, 1)
	go func() { done <- waiting.Run(ctx) }()
	testkit.WaitFor(t, 10*time.Second, "the background's first sync", func() bool {
		st, err := waiting.Status(ctx)
		return err == nil && !st.LastSyncAt.IsZero()
	})
	for round := range 2 {
		rec, err := other.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
			"relation": str("other_adult"), "residence": str("visits"), "name": str(fmt.Sprintf("Visitor %d", round))})
		if err != nil {
			t.Fatal(err)
		}
		mustSync(t, other)
		testkit.WaitFor(t, 15*time.Second, "the change to reach the waiting tablet", func() bool {
			_, err := waiting.Get(ctx, "household_member", rec.ID)
			return err == nil
		})
	}
	// Sync now on the waiting tablet: the wait ends, the sync runs.
	rec, err := waiting.Put(ctx, "household_member", "", caseID, map[string]json.RawMessage{
		"relation": str("lodger"), "residence": str("lives_here"), "name": str("Made on the waiting tablet")})
	if err != nil {
		t.Fatal(err)
	}
	synced := make(chan error, 1)
	go func() { _, err := waiting.SyncOnce(ctx); synced <- err }()
	testkit.WaitFor(t, 15*time.Second, "Sync now to end the wait and sync", func() bool {
		select {
		case err := <-synced:
			if err != nil {
				t.Fatalf("Sync now: %v", err)
			}
			return true
		default:
			return false
		}
	})
	if st, err := waiting.Status(ctx); err != nil || st.Pending != 0 {
		t.Fatalf("after Sync now: %+v, %v; want nothing pending", st, err)
	}
	mustSync(t, other)
	if _, err := other.Get(ctx, "household_member", rec.ID); err != nil {
		t.Fatalf("the waiting tablet's change on the other tablet: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v", err)
	}
}
