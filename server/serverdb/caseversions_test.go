package serverdb

import (
	"context"
	"slices"
	"testing"

	"doorstep/schema"
)

// CaseVersions answers per case in scope and moves with every write to a
// case's records; ListRawCases gives only the cases asked for, in scope.
func TestCaseVersions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sup := ActorOf(f.sue, "")
	vers, err := f.db.CaseVersions(ctx, sup)
	if err != nil {
		t.Fatal(err)
	}
	if len(vers) != 2 || vers[f.ashaCase].Records != 1 || vers[f.benCase].Records != 1 {
		t.Fatalf("versions = %+v, want the two team A cases with one record each", vers)
	}
	before := vers[f.ashaCase]
	flag := schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})}
	if err := f.db.Seed(ctx, f.admin, []schema.Record{flag}); err != nil {
		t.Fatal(err)
	}
	vers, err = f.db.CaseVersions(ctx, sup)
	if err != nil {
		t.Fatal(err)
	}
	if v := vers[f.ashaCase]; v.Records != 2 || v.MaxSeq <= before.MaxSeq {
		t.Errorf("after a new flag: %+v, was %+v", v, before)
	}
	carl := ActorOf(f.carl, "")
	if vers, _ := f.db.CaseVersions(ctx, carl); len(vers) != 0 {
		t.Errorf("team B's officer sees versions of team A's cases: %+v", vers)
	}
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
