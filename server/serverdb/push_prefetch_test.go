package serverdb

import (
	"context"
	"maps"
	"testing"

	"doorstep/schema"
)

// TestPrefetchOneReadsWhatThreeQueriesRead: on PostgreSQL the push reads
// the seen mutations, the records, their case scopes, the audit chain's
// tail and the sequence in one statement (prefetchOne, decision 0104). In
// one transaction it leaves what the three queries, loadAuditTail and
// readSeq leave: a seen mutation's record outside the batch's ids, a
// record of a case outside the batch's cases, ids absent (nil), the
// tail's id and hash, the sequence.
func TestPrefetchOneReadsWhatThreeQueriesRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.eng.name() != "postgres" {
		t.Skip("prefetchOne is PostgreSQL's")
	}
	a, b := f.actor(f.asha, f.ashaDev), f.actor(f.ben, f.benDev)
	mine := f.newDrafts(t, a, 2)
	bens := schema.NewID()
	seen := mutation("visit", bens, f.benCase, stamp(1500, f.benDev), visitFields("draft"))
	f.push(t, b, seen)
	again := seen
	again.RecordID, again.CaseID = schema.NewID(), f.ashaCase // the id seen, another record
	muts := []schema.Mutation{again,
		mutation("visit", mine[0], f.ashaCase, stamp(2000, f.ashaDev), raw("next_visit_on", "2026-12-01")),
		mutation("visit", mine[1], f.ashaCase, stamp(2001, f.ashaDev), raw("next_visit_on", "2026-12-02")),
		mutation("visit", schema.NewID(), f.ashaCase, stamp(2002, f.ashaDev), visitFields("draft"))}
	err := f.db.update(context.Background(), func(t1 *wtx) error {
		three, err := f.db.newApplierAfter(t1, a, false, func(x *applier) error {
			var mids, rids, cids []string
			for _, m := range muts {
				mids, rids, cids = append(mids, m.ID), append(rids, m.RecordID), append(cids, m.CaseID)
			}
			return x.prefetchThree(uniq(mids), rids, cids)
		})
		if err != nil {
			return err
		}
		defer three.close()
		if err := t1.readSeq(); err != nil {
			return err
		}
		id, hash, seq := t1.auditID, t1.auditHash, t1.seq
		t1.auditRead, t1.seqRead, t1.auditID, t1.auditHash, t1.seq = false, false, 0, "", 0
		one, err := f.db.newApplierAfter(t1, a, false, func(x *applier) error { return x.prefetch(muts) })
		if err != nil {
			return err
		}
		defer one.close()
		if !t1.seqRead || t1.auditID != id || t1.auditHash != hash || t1.seq != seq {
			t.Errorf("one statement: audit tail %d %q, sequence %d (read %v); three queries: %d %q, %d",
				t1.auditID, t1.auditHash, t1.seq, t1.seqRead, id, hash, seq)
		}
		if id == 0 || seq == 0 {
			t.Errorf("audit tail %d, sequence %d: the fixture should have both", id, seq)
		}
		if !maps.Equal(one.seen, three.seen) || len(three.seen) != 1 {
			t.Errorf("seen mutations %v; three queries read %v", one.seen, three.seen)
		}
		if len(one.records) != len(three.records) || three.records[bens] == nil {
			t.Errorf("%d records; three queries read %d, with %s: %v", len(one.records), len(three.records), bens, three.records[bens] != nil)
		}
		for id, r := range three.records {
			o, ok := one.records[id]
			if !ok || (o == nil) != (r == nil) || (r != nil && !sameStoredRow(o, r)) {
				t.Errorf("record %s: one statement %+v (%v); three queries %+v", id, o, ok, r)
			}
		}
		if len(one.scopes) != len(three.scopes) || three.scopes[f.benCase] == nil {
			t.Errorf("%d case scopes; three queries read %d, ben's case %v", len(one.scopes), len(three.scopes), three.scopes[f.benCase])
		}
		for id, s := range three.scopes {
			o, ok := one.scopes[id]
			if !ok || (o == nil) != (s == nil) || (s != nil && *o != *s) {
				t.Errorf("case scope %s: one statement %+v (%v); three queries %+v", id, o, ok, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameStoredRow compares what a read of a stored record fills.
func sameStoredRow(a, b *row) bool {
	return a.entity == b.entity && a.id == b.id && a.caseID == b.caseID && a.fieldsText == b.fieldsText &&
		a.clocksText == b.clocksText && a.version == b.version && a.seq == b.seq && a.receivedAt == b.receivedAt &&
		a.updatedAt == b.updatedAt && a.deviceTime == b.deviceTime && a.createdBy == b.createdBy &&
		a.updatedBy == b.updatedBy && a.signed == b.signed && a.echo == b.echo && a.fields == nil && b.fields == nil
}
