package serverdb

import (
	"context"
	"slices"
	"testing"

	"doorstep/schema"
)

// ScopeCases answers the cases of the actor's scope, narrowed to a team
// or an officer, never one outside the scope; ListRawCases gives only the
// cases asked for, in scope.
func TestScopeCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	carlCase := schema.NewID()
	flag := schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})}
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000003", f.carl), flag}); err != nil {
		t.Fatal(err)
	}
	sup := ActorOf(f.sue, "")
	teamA := []string{f.ashaCase, f.benCase}
	slices.Sort(teamA)
	for _, tc := range []struct {
		name   string
		actor  Actor
		narrow ScopeNarrow
		want   []string
	}{
		{"supervisor", sup, ScopeNarrow{}, teamA},
		{"supervisor, one officer", sup, ScopeNarrow{OfficerID: f.ben.ID}, []string{f.benCase}},
		{"supervisor, another team's officer", sup, ScopeNarrow{OfficerID: f.carl.ID}, nil},
		{"supervisor, another team", sup, ScopeNarrow{TeamID: f.teamB.ID}, nil},
		{"officer", ActorOf(f.asha, ""), ScopeNarrow{}, []string{f.ashaCase}},
		{"officer, another officer", ActorOf(f.asha, ""), ScopeNarrow{OfficerID: f.ben.ID}, nil},
		{"admin, team B", f.admin, ScopeNarrow{TeamID: f.teamB.ID}, []string{carlCase}},
		{"admin, team A and its officer", f.admin, ScopeNarrow{TeamID: f.teamA.ID, OfficerID: f.asha.ID}, []string{f.ashaCase}},
	} {
		got, err := f.db.ScopeCases(ctx, tc.actor, tc.narrow)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ScopeCases = %v, want %v", tc.name, got, tc.want)
		}
	}
	all, err := f.db.ScopeCases(ctx, f.admin, ScopeNarrow{})
	if err != nil || len(all) != 3 || !slices.IsSorted(all) {
		t.Errorf("admin: ScopeCases = %v, %v; want the three cases in id order", all, err)
	}
	carl := ActorOf(f.carl, "")
	recs, err := f.db.ListRawCases(ctx, sup, []string{"case", "flag"}, []string{f.ashaCase})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Entity)
	}
	if !slices.Equal(got, []string{"case", "flag"}) {
		t.Errorf("ListRawCases = %v, want the case then its flag", got)
	}
	if recs, _ := f.db.ListRawCases(ctx, carl, []string{"case", "flag"}, []string{f.ashaCase}); len(recs) != 0 {
		t.Errorf("ListRawCases out of scope gave %d records", len(recs))
	}
	if _, err := f.db.ListRawCases(ctx, sup, []string{"nope"}, []string{f.ashaCase}); err == nil {
		t.Error("an unknown entity was accepted")
	}
}
