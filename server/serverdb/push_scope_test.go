package serverdb

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

// A mutation id is its sender's: resent by another user or device it is
// refused, and a resend from its own device of a case now out of scope is
// answered with its first outcome only. Neither answer tells anything of
// the record as it is now (issue 11, defect 1).
func TestPushReplayedMutationRevealsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	ben := f.actor(f.ben, f.benDev)
	now := f.clock.Now().UnixMilli() // later than the seeded case's stamps

	// Asha changes her case's address (M1), then the case goes to Ben,
	// who changes the address again.
	m1 := mutation("case", f.ashaCase, f.ashaCase, stamp(now+1000, f.ashaDev), raw("address", "2 Low Road"))
	if res := f.push(t, asha, m1); res[0].Status != schema.StatusApplied {
		t.Fatalf("M1 = %+v, want applied", res[0])
	}
	if err := f.db.ReassignCase(ctx, f.admin, f.ashaCase, "ben"); err != nil {
		t.Fatalf("reassign: %v", err)
	}
	const secret = "99 Hidden Lane"
	if res := f.push(t, ben, mutation("case", f.ashaCase, "", stamp(now+2000, f.benDev), raw("address", secret))); res[0].Status != schema.StatusApplied {
		t.Fatalf("ben's change = %+v, want applied", res[0])
	}

	leaks := func(t *testing.T, who string, r schema.MutationResult) {
		t.Helper()
		b, _ := json.Marshal(r)
		for _, s := range []string{secret, f.ashaCase, f.ben.ID} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s: answer %s names %q", who, b, s)
			}
		}
		if r.Current != nil || r.Receipt != nil {
			t.Errorf("%s: answer %s carries the record's current state", who, b)
		}
	}

	// Asha resends M1 from her own device, naming more fields: the first
	// outcome, and nothing of the case as it is now.
	again := m1
	again.Fields = raw("address", "x", "given_name", "x", "officer_id", "x")
	res := f.push(t, asha, again)
	if res[0].Status != schema.StatusDuplicate || res[0].Original != schema.StatusApplied {
		t.Errorf("asha's resend = %+v, want duplicate of applied", res[0])
	}
	leaks(t, "asha's resend", res[0])

	// Another user, or the same user on another device, replaying M1's
	// id is refused, whoever now holds the case.
	for _, a := range []struct {
		name  string
		actor Actor
	}{
		{"ben (the case's officer now)", ben},
		{"carl (another team)", f.actor(f.carl, "dev-carl")},
		{"sue (ben's supervisor)", f.actor(f.sue, "dev-sue")},
		{"asha on another device", f.actor(f.asha, "dev-asha-2")},
	} {
		res := f.push(t, a.actor, again)
		if res[0].Status != schema.StatusRejected || res[0].Error == nil || res[0].Error.Field != "id" {
			t.Errorf("%s replaying M1 = %+v, want rejected naming the id", a.name, res[0])
		}
		leaks(t, a.name, res[0])
	}
	if got := field(f.get(t, f.ashaCase), "address"); got != secret {
		t.Errorf("address = %q after the replays, want %q unchanged", got, secret)
	}

	// Ben's own resend, of a case in his scope, still answers in full.
	bm := mutation("case", f.ashaCase, "", stamp(now+3000, f.benDev), raw("address", "3 New Street"))
	f.push(t, ben, bm)
	res = f.push(t, ben, bm)
	if res[0].Status != schema.StatusDuplicate || res[0].Receipt == nil || string(res[0].Current["address"]) != `"3 New Street"` {
		t.Errorf("ben's own resend = %+v, want duplicate with receipt and current", res[0])
	}
}

// A push that touches a record out of the sender's scope is refused with
// one answer, whatever the record's entity or case and whatever case the
// mutation names: nothing of the record is told, not its case id (issue
// 11, defect 8). The set-aside queue of the sender's supervisor does not
// learn the case either, unless the mutation named it.
func TestPushRefusalsNameNothingOutOfScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now().UnixMilli()
	carl := f.actor(f.carl, "dev-carl")
	if _, err := f.db.Login(ctx, f.carl, "dev-carl", DeviceInfo{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A visit in Ben's case; Carl (team B) tries it every way.
	vid := schema.NewID()
	if res := f.push(t, f.actor(f.ben, f.benDev), mutation("visit", vid, f.benCase, stamp(now+1000, f.benDev), visitFields("draft"))); res[0].Status != schema.StatusApplied {
		t.Fatalf("ben's visit = %+v", res[0])
	}
	carlCase := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000003", f.carl)}); err != nil {
		t.Fatal(err)
	}
	var first *schema.Error
	unnamed := map[string]bool{} // mutations that did not name Ben's case
	for _, c := range []struct {
		name string
		m    schema.Mutation
	}{
		{"no case named", mutation("visit", vid, "", stamp(now+2000, "dev-carl"), raw("outcome_reason", "x"))},
		{"his own case named", mutation("visit", vid, carlCase, stamp(now+2000, "dev-carl"), raw("outcome_reason", "x"))},
		{"the right case named", mutation("visit", vid, f.benCase, stamp(now+2000, "dev-carl"), raw("outcome_reason", "x"))},
		{"another entity", mutation("household_member", vid, carlCase, stamp(now+2000, "dev-carl"), raw("name", "x"))},
	} {
		if c.m.CaseID != f.benCase {
			unnamed[c.m.ID] = true
		}
		res := f.push(t, carl, c.m)
		e := res[0].Error
		if res[0].Status != schema.StatusRejected || e == nil || e.Code != schema.ECodeOutOfScope {
			t.Errorf("%s = %+v, want rejected out_of_scope", c.name, res[0])
			continue
		}
		if strings.Contains(e.Message, f.benCase) || strings.Contains(e.Message, "visit") || res[0].Current != nil || res[0].Receipt != nil {
			t.Errorf("%s: answer %+v (%s) tells of the record", c.name, res[0], e.Message)
		}
		if first == nil {
			first = e
		} else if *e != *first {
			t.Errorf("%s: answer %v differs from %v", c.name, e, first)
		}
	}
	q, err := f.db.ReviewQueue(ctx, Actor{UserID: "sam", Role: schema.RoleSupervisor, TeamID: f.teamB.ID}, ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range q.SetAside {
		if unnamed[it.MutationID] && it.CaseID == f.benCase {
			t.Errorf("team B's set-aside queue names Ben's case: %+v", it)
		}
	}
	if len(q.SetAside) == 0 {
		t.Errorf("team B's set-aside queue is empty; want carl's refused changes")
	}
}
