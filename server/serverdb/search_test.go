package serverdb

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"doorstep/schema"
)

// TestSearchCases: by name (any part, any case, every word) or by the
// start of the CRN, in the caller's scope only, per role; a bad query is
// refused by name.
func TestSearchCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	mk := func(crn, given, family string, officer schema.User) string {
		id := schema.NewID()
		rec := caseRecord(id, crn, officer)
		rec.Fields["given_name"], _ = json.Marshal(given)
		rec.Fields["family_name"], _ = json.Marshal(family)
		if err := f.db.Seed(ctx, f.admin, []schema.Record{rec}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	vik := mk("V123456", "Vik", "Rookcombe", f.asha)
	vera := mk("V123999", "Vera", "Rook", f.ben)
	carls := mk("C765432", "Vikram", "Rookwood", f.carl) // team B
	odd := mk("X100000", "Ann", "100%_Real", f.asha)
	ids := func(hits []CaseHit) []string {
		out := []string{}
		for _, h := range hits {
			out = append(out, h.ID)
		}
		return out
	}
	sue, admin, asha := f.actor(f.sue, ""), f.admin, f.actor(f.asha, f.ashaDev)
	for _, tt := range []struct {
		name  string
		actor Actor
		q     string
		want  []string
	}{
		{"a part of a family name, A to Z", sue, "rook", []string{vera, vik}},
		{"any case, two words", sue, " ROOK  vik ", []string{vik}},
		{"the start of a CRN", sue, "v1239", []string{vera}},
		{"not the middle of a CRN", sue, "123456", []string{}},
		{"another team's person is not found by a supervisor", sue, "vikram", []string{}},
		{"an admin finds everyone", admin, "rook", []string{vera, vik, carls}},
		{"an officer finds their own", asha, "rook", []string{vik}},
		{"LIKE's wildcards are plain characters", sue, "0%_", []string{odd}},
		{"a wildcard alone matches only itself", sue, "%%", []string{}},
	} {
		got, err := f.db.SearchCases(ctx, tt.actor, tt.q)
		if err != nil || !slices.Equal(ids(got), tt.want) {
			t.Errorf("%s: %v %v, want %v", tt.name, ids(got), err, tt.want)
		}
	}
	hits, _ := f.db.SearchCases(ctx, sue, "Rookcombe")
	if len(hits) != 1 || hits[0] != (CaseHit{ID: vik, CRN: "V123456", GivenName: "Vik", FamilyName: "Rookcombe", DateOfBirth: "1990-01-02",
		OfficerID: f.asha.ID, RoSH: "high"}) {
		t.Errorf("hit = %+v", hits)
	}
	// A NUL, which PostgreSQL's text cannot hold, is refused as SQLite's.
	for _, q := range []string{"", " v ", string(make([]byte, 101)), "Ro\x00ok"} {
		if _, err := f.db.SearchCases(ctx, sue, q); schema.ErrorCode(err) != schema.ECodeInvalid || schema.AsError(err).Field != "q" {
			t.Errorf("q %q: %v, want invalid q", q, err)
		}
	}
}
