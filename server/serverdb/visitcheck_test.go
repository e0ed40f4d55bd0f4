package serverdb

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestSignedVisitLeavingAChildOutIsKeptAndFlagged is issue 9's defect 1 on
// the server: a signed domestic-abuse visit that leaves children of the
// household list unaccounted for is kept as signed (never refused) and
// flagged in the supervisor's review queue with the reason; an amendment
// that gives the answers clears the flag.
func TestSignedVisitLeavingAChildOutIsKeptAndFlagged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	kids := []string{schema.NewID(), schema.NewID(), schema.NewID()}
	seed := []schema.Record{{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase,
		Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-10-01"})}}
	for i, name := range []string{"Ava Testchild", "Ben Testchild", "Cleo Testchild"} {
		seed = append(seed, schema.Record{Entity: "household_member", ID: kids[i], CaseID: f.ashaCase,
			Fields: schema.FieldsOf(schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: name})})
	}
	if err := f.db.Seed(ctx, f.admin, seed); err != nil {
		t.Fatal(err)
	}
	a := f.actor(f.asha, f.ashaDev)
	partial, whole := schema.NewID(), schema.NewID()
	fields := signedVisit(f.asha.ID)
	fields["children_present"] = json.RawMessage(`"yes"`)
	fields["children"] = json.RawMessage(`[{"member_id":"` + kids[0] + `","present":"yes","seen":"yes"}]`)
	res := f.push(t, a, mutation("visit", partial, f.ashaCase, stamp(1000, f.ashaDev), fields))
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("a signed visit with 1 of 3 children = %+v, want applied (kept)", res[0])
	}
	if rec := f.get(t, partial); !rec.Signed() || !strings.Contains(string(rec.Fields["children"]), kids[0]) {
		t.Fatalf("the signed visit as kept: %v", rec.Fields)
	}
	all := signedVisit(f.asha.ID)
	all["children_present"] = json.RawMessage(`"yes"`)
	all["children"] = json.RawMessage(`[{"member_id":"` + kids[0] + `","present":"yes","seen":"yes"},{"member_id":"` + kids[1] +
		`","present":"no"},{"member_id":"` + kids[2] + `","present":"yes","seen":"no","reason_not_seen":"asleep"}]`)
	if res := f.push(t, a, mutation("visit", whole, f.ashaCase, stamp(2000, f.ashaDev), all)); res[0].Status != schema.StatusApplied {
		t.Fatalf("a signed visit with every child = %+v, want applied", res[0])
	}

	warnings := func() map[string][]schema.Error {
		t.Helper()
		q, err := f.db.ReviewQueue(ctx, f.actor(f.sue, ""), ReviewFilter{Kind: KindVisit})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]schema.Error{}
		for _, it := range q.Visits {
			out[it.ID] = it.Warnings
		}
		if _, ok := out[partial]; !ok {
			t.Fatalf("the visit is not in the supervisor's queue: %+v", q.Visits)
		}
		return out
	}
	got := warnings()
	if w := got[partial]; len(w) != 2 || w[0].Field != "children" || !strings.Contains(w[0].Message, "Ben Testchild") ||
		!strings.Contains(w[1].Message, "Cleo Testchild") {
		t.Errorf("warnings of the visit with 1 of 3 children = %+v, want Ben and Cleo named", w)
	}
	if w := got[whole]; len(w) != 0 {
		t.Errorf("warnings of the visit with every child = %+v, want none", w)
	}
	// The JSON names them.
	q, _ := f.db.ReviewQueue(ctx, f.actor(f.sue, ""), ReviewFilter{Kind: KindVisit})
	if b, _ := json.Marshal(q); !strings.Contains(string(b), `"warnings":[{"code":"required","field":"children"`) {
		t.Errorf("queue JSON: %s", b)
	}

	// The officer amends the visit with the answers: the flag goes.
	am := raw("visit_id", partial, "reason", "the other two children were left out", "amended_by", f.asha.ID, "amended_at", "2026-11-23T12:00:00Z")
	am["changes"] = json.RawMessage(`{"children":` + string(all["children"]) + `}`)
	if res := f.push(t, a, mutation("amendment", schema.NewID(), f.ashaCase, stamp(3000, f.ashaDev), am)); res[0].Status != schema.StatusApplied {
		t.Fatalf("amendment = %+v", res[0])
	}
	if w := warnings()[partial]; len(w) != 0 {
		t.Errorf("warnings after the amendment = %+v, want none", w)
	}
}

// A visit that leaves a child unaccounted for is queued even when no review
// rule queues it (a doorstep visit, which the default rules do not queue),
// with the rule RuleChildUnaccounted; the same visit accounting for every
// child is not queued, and the count agrees.
func TestChildUnaccountedForIsQueuedWhateverTheRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	kid := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{
		{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-10-01"})},
		{Entity: "household_member", ID: kid, CaseID: f.ashaCase,
			Fields: schema.FieldsOf(schema.HouseholdMember{Relation: "step_child", Residence: "lives_here", Name: "Ava Testchild"})},
	}); err != nil {
		t.Fatal(err)
	}
	a := f.actor(f.asha, f.ashaDev)
	left, whole := schema.NewID(), schema.NewID()
	doorstep := func(children string) map[string]json.RawMessage {
		m := signedVisit(f.asha.ID)
		m["type"], m["location"] = json.RawMessage(`"doorstep"`), json.RawMessage(`"doorstep"`)
		m["children_present"], m["children"] = json.RawMessage(`"yes"`), json.RawMessage(children)
		return m
	}
	f.push(t, a, mutation("visit", left, f.ashaCase, stamp(1000, f.ashaDev), doorstep(`[]`)),
		mutation("visit", whole, f.ashaCase, stamp(1000, f.ashaDev), doorstep(`[{"member_id":"`+kid+`","present":"no"}]`)))
	sue := f.actor(f.sue, "")
	q, err := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Visits) != 1 || q.Visits[0].ID != left || q.Visits[0].Rule != RuleChildUnaccounted || len(q.Visits[0].Warnings) != 1 {
		t.Fatalf("queued visits = %+v, want only the one leaving Ava out", q.Visits)
	}
	if n, _ := f.db.ReviewCount(ctx, sue); n != 1 {
		t.Errorf("ReviewCount = %d, want 1", n)
	}
}
