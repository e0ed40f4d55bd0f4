package serverdb

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestReadModelLeavesQuietVisitChanges: a push that changes stored visits
// only in fields the read model does not read (the next visit's date, the
// notes) neither reads back nor writes their read model rows (decision
// 0099): no stored visit row is read, none deleted, each counted as left
// alone; and the rows are still those a rebuild writes. A visit changed
// quietly and then, in the same batch, in a field the read model reads is
// written; so are the derived columns of one changed quietly in the batch
// that adds a child to its case's household.
func TestReadModelLeavesQuietVisitChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	asha := f.actor(f.asha, f.ashaDev)
	ms := int64(1000)
	next := func() schema.HLC { ms++; return stamp(ms, f.ashaDev) }
	same := func(what string) { t.Helper(); rmSameAsRebuild(t, f.db, f.ashaCase, what) }
	applied := func(what string, res []schema.MutationResult) {
		t.Helper()
		for i, r := range res {
			if r.Status != schema.StatusApplied {
				t.Fatalf("%s: result %d %+v; want applied", what, i, r)
			}
		}
	}
	type counts struct{ stored, unchanged, deletes int64 }
	count := func() counts {
		return counts{f.db.rmStoredVisits.Load(), f.db.rmUnchanged.Load(), f.db.rmDeletes.Load()}
	}

	drafts := make([]schema.Mutation, 4)
	for i := range drafts {
		drafts[i] = mutation("visit", schema.NewID(), f.ashaCase, next(), visitFields("draft"))
		maps.Copy(drafts[i].Fields, raw("location", "home", "started_at", "2026-11-02T10:05:00+01:00",
			"children_present", "yes", "children", []schema.VisitChild{{MemberID: schema.NewID(), Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}}))
	}
	applied("drafts", f.push(t, asha, drafts...))

	quiet := make([]schema.Mutation, 3)
	for i := range quiet {
		quiet[i] = mutation("visit", drafts[i].RecordID, f.ashaCase, next(),
			raw("next_visit_on", "2026-12-24", "observation_notes", strings.Repeat("More notes. ", 20)))
	}
	before := count()
	applied("next visits", f.push(t, asha, quiet...))
	if got, want := count(), (counts{before.stored, before.unchanged + 3, before.deletes}); got != want {
		t.Errorf("a push changing 3 drafts' next visit and notes: (stored rows read, left alone, deletes) %v; want %v", got, want)
	}
	same("a quiet push")

	// A visit changed quietly, then in its location, in one batch; and a
	// change to a field the read model reads, alone.
	before = count()
	applied("quiet then loud", f.push(t, asha,
		mutation("visit", drafts[0].RecordID, f.ashaCase, next(), raw("next_visit_on", "2026-12-25")),
		mutation("visit", drafts[0].RecordID, f.ashaCase, next(), raw("location", "elsewhere")),
		mutation("visit", drafts[1].RecordID, f.ashaCase, next(), raw("outcome", "completed"))))
	if got := count(); got.stored != before.stored+2 || got.deletes == before.deletes {
		t.Errorf("a push changing 2 drafts' location and outcome read back %d visits' rows and deleted %d rows; want 2 and some",
			got.stored-before.stored, got.deletes-before.deletes)
	}
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_visits WHERE visit_id = ? AND location = 'elsewhere'`, drafts[0].RecordID); n != 1 {
		t.Errorf("rm_visits rows of the visit moved elsewhere: %d; want 1", n)
	}
	same("a quiet change, then a loud one")

	// A quiet change in the batch that adds a child to the case's
	// household: the visit's expected children follow.
	applied("quiet with a child", f.push(t, asha,
		mutation("visit", drafts[2].RecordID, f.ashaCase, next(), raw("next_visit_on", "2026-12-26")),
		mutation("household_member", schema.NewID(), f.ashaCase, next(), raw("relation", "own_child", "residence", "lives_here",
			"name", "Sam", "date_of_birth", "2019-04-01", "added_on", "2026-01-01"))))
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_visits WHERE case_id = ? AND expected = 1`, f.ashaCase); n != len(drafts) {
		t.Errorf("visits expecting the new child: %d; want %d", n, len(drafts))
	}
	same("a quiet change beside a new child")
}

// TestRMReadsField: the visit fields the read model reads are rmVisit's,
// matched ignoring case as encoding/json matches a key; any field of
// another entity counts as read.
func TestRMReadsField(t *testing.T) {
	for _, c := range []struct {
		entity, field string
		want          bool
	}{
		{"visit", "status", true}, {"visit", "children", true}, {"visit", "Started_At", true}, {"visit", "\u017ftatus", true},
		{"visit", "place_type", true}, {"visit", "observations", true},
		{"visit", "next_visit_on", false}, {"visit", "observation_notes", false},
		{"case", "notes", true}, {"flag", "anything", true}, {"amendment", "reason", true},
	} {
		if got := rmReadsField(c.entity, c.field); got != c.want {
			t.Errorf("rmReadsField(%q, %q) = %v; want %v", c.entity, c.field, got, c.want)
		}
	}
}

// rmSameAsRebuild fails t unless the read model rows of case caseID are
// those a rebuild of the case writes.
func rmSameAsRebuild(t *testing.T, db *DB, caseID, what string) {
	t.Helper()
	got := rmDump(t, db, caseID)
	if err := db.update(context.Background(), func(tx *wtx) error { return db.writeCases(tx, []string{caseID}) }); err != nil {
		t.Fatal(err)
	}
	if want := rmDump(t, db, caseID); !slices.Equal(got, want) {
		t.Errorf("%s: the read model written by the write:\n%q\na rebuild:\n%q", what, got, want)
	}
}
