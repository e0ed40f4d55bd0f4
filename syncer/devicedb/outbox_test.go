package devicedb

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/nacl/box"

	"doorstep/schema"
)

// TestPushBookkeepingInBatches: the statements a push stores its answers
// with (DeleteOutboxes, SetReceipts) and the outbox checks it reads with
// (PendingUnheld, CountOutbox) do for a batch larger than one statement's
// chunk what one statement per record did, an older receipt never
// overwriting a newer one.
func TestPushBookkeepingInBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	const n = 1100 // more than one chunk of ids and of receipts
	caseID := schema.NewID()
	ids, muts := make([]string, n), make([]string, n)
	err := db.Update(ctx, func(tx *Tx) error {
		for i := range n {
			ids[i], muts[i] = schema.NewID(), schema.NewID()
			r := schema.Record{Entity: "visit", ID: ids[i], CaseID: caseID, Version: 2,
				Fields: map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}}
			if i != n-1 { // the last record is not held: its case went
				if err := tx.PutRecord(ctx, r); err != nil {
					return err
				}
			}
			m := schema.Mutation{ID: muts[i], Entity: "visit", RecordID: ids[i], CaseID: caseID,
				Fields: r.Fields, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}}
			if err := tx.AppendOutbox(ctx, m); err != nil {
				return err
			}
		}
		return tx.RejectOutbox(ctx, muts[0], nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	var first, last int64
	db.View(ctx, func(tx *Tx) error {
		if p, r, err := tx.CountOutbox(ctx); p != n-1 || r != 1 || err != nil {
			t.Errorf("CountOutbox = %d pending, %d rejected, %v; want %d, 1", p, r, err, n-1)
		}
		all, err := tx.Outbox(ctx)
		if err != nil || len(all) != n {
			t.Fatalf("Outbox: %d entries, %v", len(all), err)
		}
		first, last = all[0].Seq, all[n-1].Seq
		for _, c := range []struct {
			after, through int64
			want           bool
		}{{first - 1, last - 1, false}, {first - 1, last, true}, {last - 1, last, true}, {last, last + 5, false}} {
			if got, err := tx.PendingUnheld(ctx, c.after, c.through); got != c.want || err != nil {
				t.Errorf("PendingUnheld(%d, %d) = %v, %v; want %v", c.after, c.through, got, err, c.want)
			}
		}
		return nil
	})
	received := time.Date(2026, 11, 23, 10, 0, 1, 0, time.UTC)
	var receipts []schema.Receipt
	for i := 1; i < n-1; i++ {
		// Every record but the second gets version 5; the second has
		// two receipts, 5 then 7; a receipt older than what
		// the tablet holds (the third's, version 1) changes nothing.
		v := int64(5)
		switch i {
		case 2:
			v = 1
		}
		receipts = append(receipts, schema.Receipt{Entity: "visit", ID: ids[i], Version: v, ReceivedAt: received, UpdatedAt: received})
		if i == 1 {
			receipts = append(receipts, schema.Receipt{Entity: "visit", ID: ids[i], Version: 7, ReceivedAt: received, UpdatedAt: received})
		}
	}
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.SetReceipts(ctx, receipts); err != nil {
			return err
		}
		return tx.DeleteOutboxes(ctx, muts[1:n-1])
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		if p, r, err := tx.CountOutbox(ctx); p != 1 || r != 1 || err != nil {
			t.Errorf("CountOutbox after the deletes = %d pending, %d rejected, %v; want 1, 1", p, r, err)
		}
		for i, want := range map[int]int64{0: 2, 1: 7, 2: 2, 3: 5, 700: 5, n - 2: 5} {
			rec, err := tx.GetRecord(ctx, "visit", ids[i])
			if err != nil || rec.Version != want {
				t.Errorf("record %d: version %d, %v; want %d", i, rec.Version, err, want)
			}
			if want == 5 && !rec.ReceivedAt.Equal(received) {
				t.Errorf("record %d: received_at %v, want %v", i, rec.ReceivedAt, received)
			}
		}
		return nil
	})
}

// TestPendingOutboxAfterReadsWhatAPushSends: the push's read gives, for
// the pending entries after a seq, up to a limit, oldest first, what the
// full read gives of every member a push sends (sealed or in clear), and
// opens nothing else.
func TestPendingOutboxAfterReadsWhatAPushSends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, sealed := range []bool{false, true} {
		db := openTest(t)
		if sealed {
			if err := db.Seal(ctx, "the password", cheap); err != nil {
				t.Fatal(err)
			}
		}
		err := db.Update(ctx, func(tx *Tx) error {
			for i := range 6 {
				m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: "c1",
					Fields:     map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`), "n": json.RawMessage(fmt.Sprint(i))},
					Clock:      schema.HLC{Wall: int64(i + 1), Node: "d"},
					DeviceTime: time.Date(2026, 12, 5, 4, i, 0, 0, time.UTC)}
				if i == 2 {
					m.DeviceSignature = &schema.DeviceSignature{ContentHash: "abc", Signature: "c2ln"}
				}
				if err := tx.AppendChange(ctx, m, map[string]json.RawMessage{"outcome": json.RawMessage("null")}); err != nil {
					return err
				}
				if i == 1 {
					if err := tx.RejectOutbox(ctx, m.ID, nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		db.View(ctx, func(tx *Tx) error {
			all, err := tx.PendingOutbox(ctx, 100)
			if err != nil || len(all) != 5 {
				t.Fatalf("sealed %v: PendingOutbox: %d entries, %v", sealed, len(all), err)
			}
			for _, c := range []struct {
				after      int64
				limit      int
				from, upto int
			}{{0, 100, 0, 5}, {0, 2, 0, 2}, {all[1].Seq, 2, 2, 4}, {all[3].Seq, 10, 4, 5}, {all[4].Seq, 10, 5, 5}} {
				got, err := tx.PendingOutboxAfter(ctx, c.after, c.limit)
				if err != nil {
					t.Fatal(err)
				}
				want := all[c.from:c.upto]
				if len(got) != len(want) {
					t.Fatalf("sealed %v, after %d limit %d: %d entries, want %d", sealed, c.after, c.limit, len(got), len(want))
				}
				for i, g := range got {
					w := want[i]
					// What a push does not send is not opened.
					w.Before, w.Attempts, w.CreatedAt = nil, 0, time.Time{}
					if !reflect.DeepEqual(g, w) {
						t.Fatalf("sealed %v, entry %d:\ngot  %+v\nwant %+v", sealed, i, g, w)
					}
				}
			}
			return nil
		})
	}
}

// TestOutboxCountStaysExact: the kept counts (outbox_count, migration 0007)
// equal a count of the rows after every way the outbox changes: appends, a
// rejection, a set-aside change sent again, acknowledgements, a failed attempt,
// a transaction that fails half-way (a crash between steps), a fresh start
// that keeps the boxed changes (Reseal), a wipe; and a store from before
// the migration starts with its outbox counted.
func TestOutboxCountStaysExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path, db := openFile(t)
	defer func() { db.Close() }()
	var err error
	check := func(step string, wantPending, wantRejected int) {
		t.Helper()
		var p, r, scanP, scanR int
		err := db.View(ctx, func(tx *Tx) error {
			var err error
			if p, r, err = tx.CountOutbox(ctx); err != nil {
				return err
			}
			return tx.tx.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE status = 'pending'),
				count(*) FILTER (WHERE status = 'rejected') FROM outbox`).Scan(&scanP, &scanR)
		})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if p != scanP || r != scanR || p != wantPending || r != wantRejected {
			t.Fatalf("%s: CountOutbox = %d pending, %d rejected; the rows: %d, %d; want %d, %d",
				step, p, r, scanP, scanR, wantPending, wantRejected)
		}
	}
	// The server's outbox key, so that changes are boxed and a fresh
	// start keeps them.
	pub, _, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		return tx.SetState(ctx, KeyOutboxKey, base64.StdEncoding.EncodeToString(pub[:]))
	})
	if err != nil {
		t.Fatal(err)
	}
	check("new store", 0, 0)
	mutation := func(i int) schema.Mutation {
		return schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: "c1",
			Fields: map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}}
	}
	var muts []string
	update := func(step string, fn func(tx *Tx) error) {
		t.Helper()
		if err := db.Update(ctx, fn); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	update("append", func(tx *Tx) error {
		for i := range 1200 {
			m := mutation(i)
			muts = append(muts, m.ID)
			if err := tx.AppendChange(ctx, m, nil); err != nil {
				return err
			}
		}
		return nil
	})
	check("1200 appended", 1200, 0)
	update("reject", func(tx *Tx) error {
		for _, id := range muts[:3] {
			if err := tx.RejectOutbox(ctx, id, nil); err != nil {
				return err
			}
		}
		return tx.RejectOutbox(ctx, muts[0], nil) // rejected again: no change of status
	})
	check("3 set aside", 1197, 3)
	update("retry", func(tx *Tx) error { // as Agent.Retry: the set-aside row goes, a new mutation comes
		if err := tx.DeleteOutbox(ctx, muts[2]); err != nil {
			return err
		}
		return tx.AppendOutbox(ctx, mutation(3000))
	})
	check("one set-aside change sent again", 1198, 2)
	update("attempt", func(tx *Tx) error { return tx.CountAttempt(ctx, muts[3:10]) })
	check("attempts counted", 1198, 2)
	update("acknowledge", func(tx *Tx) error { return tx.DeleteOutboxes(ctx, muts[1:1100]) })
	check("1098 acknowledged, one of them set aside", 101, 1)
	crash := errors.New("the tablet stopped")
	if err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteOutboxes(ctx, muts[1100:]); err != nil {
			return err
		}
		if err := tx.AppendOutbox(ctx, mutation(5000)); err != nil {
			return err
		}
		return crash
	}); !errors.Is(err, crash) {
		t.Fatalf("a transaction that fails half-way: %v", err)
	}
	check("a transaction that failed half-way", 101, 1)
	update("discard", func(tx *Tx) error { return tx.DeleteOutbox(ctx, muts[0]) })
	check("the set-aside change discarded", 101, 0)
	update("reject", func(tx *Tx) error { return tx.RejectOutbox(ctx, muts[1100], nil) })
	check("one more set aside", 100, 1)
	if err := db.Reseal(ctx, "a new password", cheap); err != nil {
		t.Fatal(err)
	}
	check("a fresh start keeps the boxed pending changes", 100, 0)

	// A store from before migration 0007: the counts are taken from its
	// outbox when it is opened by this build (0007 then 0009, which drops
	// the delete trigger 0007 makes again).
	update("reject", func(tx *Tx) error { return tx.RejectOutbox(ctx, muts[1101], nil) })
	for _, q := range []string{"DROP TRIGGER outbox_count_insert", "DROP TRIGGER IF EXISTS outbox_count_delete",
		"DROP TRIGGER outbox_count_status", "DROP TABLE outbox_count", "DELETE FROM schema_migrations WHERE version IN (7, 9)"} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if db, err = Open(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	check("a store migrated to 7", 99, 1)
	update("acknowledge after the migrations", func(tx *Tx) error { return tx.DeleteOutboxes(ctx, muts[1102:1110]) })
	check("8 more acknowledged", 91, 1)
	update("wipe", func(tx *Tx) error { return tx.Wipe(ctx) })
	check("wiped", 0, 0)
}

// TestReceiptsBesideTheRecords: a receipt is stored beside the record
// (migration 0008), not by rewriting its sealed row, and reads as the
// record's version and server times while it is the newest; a pull or a
// local write as new takes over. A store that stops between the receipt
// and the outbox delete (the transaction fails, the file is reopened)
// has lost nothing: the change is still pending and the record as it was;
// the receipt and the delete then commit together. A receipt leaves with
// its record, and in a wipe.
func TestReceiptsBesideTheRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path, db := openFile(t)
	defer func() { db.Close() }()
	var err error
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	caseID, a, b := schema.NewID(), schema.NewID(), schema.NewID()
	mut := schema.NewID()
	fields := map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}
	err = db.Update(ctx, func(tx *Tx) error {
		for _, id := range []string{a, b} {
			if err := tx.PutRecord(ctx, schema.Record{Entity: "visit", ID: id, CaseID: caseID, Version: 2, Fields: fields}); err != nil {
				return err
			}
		}
		return tx.AppendOutbox(ctx, schema.Mutation{ID: mut, Entity: "visit", RecordID: a, CaseID: caseID,
			Fields: fields, Clock: schema.HLC{Wall: 1, Node: "d"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	var sealedRow string
	db.write.QueryRowContext(ctx, "SELECT fields FROM records WHERE id = ?", a).Scan(&sealedRow)
	received := time.Date(2026, 12, 6, 2, 30, 0, 0, time.UTC)
	store := func(v int64) error {
		return db.Update(ctx, func(tx *Tx) error {
			if err := tx.SetReceipts(ctx, []schema.Receipt{{Entity: "visit", ID: a, Version: v, ReceivedAt: received, UpdatedAt: received},
				{Entity: "visit", ID: schema.NewID(), Version: 9}}); err != nil { // not held: dropped
				return err
			}
			return tx.DeleteOutboxes(ctx, []string{mut})
		})
	}
	reopen := func() {
		t.Helper()
		db.Close()
		if db, err = Open(ctx, path, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.OpenKey(ctx, WrapPassword, "the password"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, id string, version int64, pending int) {
		t.Helper()
		db.View(ctx, func(tx *Tx) error {
			rec, err := tx.GetRecord(ctx, "visit", id)
			if err != nil || rec.Version != version || string(rec.Fields["outcome"]) != `"no_answer"` {
				t.Errorf("%s: record version %d, fields %s, %v; want %d", when, rec.Version, rec.Fields, err, version)
			}
			list, err := tx.ListRecords(ctx, "visit", caseID)
			if err != nil || len(list) != 2 {
				t.Fatalf("%s: ListRecords: %d, %v", when, len(list), err)
			}
			for _, r := range list {
				if r.ID == id && (r.Version != rec.Version || !r.ReceivedAt.Equal(rec.ReceivedAt)) {
					t.Errorf("%s: listed version %d received %v; got %d %v from GetRecord", when, r.Version, r.ReceivedAt, rec.Version, rec.ReceivedAt)
				}
			}
			if p, _, err := tx.CountOutbox(ctx); p != pending || err != nil {
				t.Errorf("%s: %d pending, %v; want %d", when, p, err, pending)
			}
			return nil
		})
	}

	crash := errors.New("the tablet stops")
	if err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.SetReceipts(ctx, []schema.Receipt{{Entity: "visit", ID: a, Version: 5, ReceivedAt: received}}); err != nil {
			return err
		}
		return crash
	}); !errors.Is(err, crash) {
		t.Fatal(err)
	}
	reopen()
	check("stopped between the receipt and the delete", a, 2, 1)

	if err := store(5); err != nil {
		t.Fatal(err)
	}
	reopen()
	check("receipt stored", a, 5, 0)
	var rowVersion int64
	var row string
	db.write.QueryRowContext(ctx, "SELECT version, fields FROM records WHERE id = ?", a).Scan(&rowVersion, &row)
	if rowVersion != 2 || row != sealedRow {
		t.Errorf("the record's row was rewritten for its receipt: version %d, fields changed %v", rowVersion, row != sealedRow)
	}
	db.View(ctx, func(tx *Tx) error {
		rec, _ := tx.GetRecord(ctx, "visit", a)
		if !rec.ReceivedAt.Equal(received) || !rec.UpdatedAt.Equal(received) {
			t.Errorf("receipt's times: received %v, updated %v; want %v", rec.ReceivedAt, rec.UpdatedAt, received)
		}
		return nil
	})
	check("the other record", b, 2, 0)

	// An older receipt changes nothing; a pull as new or newer takes over.
	if err := store(4); err != nil {
		t.Fatal(err)
	}
	check("an older receipt", a, 5, 0)
	pull := func(v int64) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error {
			_, err := tx.ApplyPulled(ctx, []RawRecord{{Entity: "visit", ID: a, CaseID: caseID, Fields: json.RawMessage(`{"outcome":"no_answer"}`),
				Version: v, ReceivedAt: "2026-12-06T03:00:00Z", UpdatedAt: "2026-12-06T03:00:00Z"}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	pull(3) // a page from before the push
	check("an older pull", a, 5, 0)
	pull(8)
	check("a newer pull", a, 8, 0)
	if err := store(7); err != nil {
		t.Fatal(err)
	}
	check("a receipt older than the pull", a, 8, 0)

	count := func() (n int) {
		db.write.QueryRowContext(ctx, "SELECT count(*) FROM receipts").Scan(&n)
		return n
	}
	if n := count(); n != 1 {
		t.Errorf("%d receipts kept, want 1 (none for a record not held)", n)
	}
	if err := db.Update(ctx, func(tx *Tx) error { _, err := tx.DeleteRecord(ctx, "visit", a); return err }); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d receipts kept after their record left", n)
	}
	if err := store(9); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx *Tx) error {
		return tx.SetReceipts(ctx, []schema.Receipt{{Entity: "visit", ID: b, Version: 6}})
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d receipts, want 1", n)
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.Wipe(ctx) }); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Errorf("%d receipts kept after a wipe", n)
	}
}

// TestDeleteOutboxSeqsIsPerRecord: deleting acknowledged entries by runs
// of seqs leaves what deleting each by its mutation id leaves: runs of
// every length, more runs than one statement names, seqs given out of
// order and twice, and rows inside a run's span that are not in it (set
// aside, or not acknowledged) kept, with the kept counts exact.
func TestDeleteOutboxSeqsIsPerRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const n = 700
	build := func() (*DB, []OutboxEntry) {
		db := openTest(t)
		err := db.Update(ctx, func(tx *Tx) error {
			for i := range n {
				m := outboxMutation(i)
				if err := tx.AppendOutbox(ctx, m); err != nil {
					return err
				}
				if i%97 == 5 {
					if err := tx.RejectOutbox(ctx, m.ID, nil); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var all []OutboxEntry
		db.View(ctx, func(tx *Tx) error { all, err = tx.Outbox(ctx); return err })
		if len(all) != n {
			t.Fatalf("%d entries, %v", len(all), err)
		}
		return db, all
	}
	// Acknowledged: a long run, then every other one (hundreds of runs),
	// then runs of three with gaps; never a set-aside one.
	var pick []int
	for i := range n {
		if (i < 300 || (i < 550 && i%2 == 0) || (i >= 550 && i%4 != 3)) && i%97 != 5 {
			pick = append(pick, i)
		}
	}
	perRecord, all := build()
	bySeq, all2 := build()
	var ids []string
	var seqs []int64
	for _, i := range pick {
		ids = append(ids, all[i].MutationID)
		seqs = append(seqs, all2[i].Seq)
	}
	seqs = append(seqs, seqs[7], seqs[400]) // twice
	slices.Reverse(seqs)
	if err := perRecord.Update(ctx, func(tx *Tx) error {
		for _, id := range ids {
			if err := tx.DeleteOutbox(ctx, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := bySeq.Update(ctx, func(tx *Tx) error { return tx.DeleteOutboxSeqs(ctx, seqs) }); err != nil {
		t.Fatal(err)
	}
	left := func(db *DB) (out []string, pending, rejected int) {
		db.View(ctx, func(tx *Tx) error {
			es, err := tx.Outbox(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				out = append(out, fmt.Sprint(e.Seq-es[0].Seq, e.Status))
			}
			pending, rejected, err = tx.CountOutbox(ctx)
			return err
		})
		return
	}
	a, ap, ar := left(perRecord)
	b, bp, br := left(bySeq)
	if !reflect.DeepEqual(a, b) || ap != bp || ar != br {
		t.Errorf("by seq: %d left (%d pending, %d set aside); one by one: %d left (%d, %d)", len(b), bp, br, len(a), ap, ar)
	}
	if want := n - len(pick); len(b) != want || bp+br != want || br != 8 {
		t.Errorf("%d left, counts %d + %d; want %d, 8 set aside", len(b), bp, br, want)
	}
}

// TestPendingOutboxAfterReadsTheServerBoxOfOpaqueOnly: the push's read
// gives an opaque entry (its change kept only sealed to the server, after
// a fresh start) the server's box it is sent as, and the others, sent in
// clear, none: the full read has both.
func TestPendingOutboxAfterReadsTheServerBoxOfOpaqueOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	pub, _, err := box.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	appendOne := func(i int) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error {
			if err := tx.SetState(ctx, KeyOutboxKey, base64.StdEncoding.EncodeToString(pub[:])); err != nil {
				return err
			}
			return tx.AppendOutbox(ctx, schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: "c1",
				Fields: map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}})
		}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne(0)
	if err := db.Reseal(ctx, "a new password", cheap); err != nil {
		t.Fatal(err)
	}
	appendOne(1)
	db.View(ctx, func(tx *Tx) error {
		all, err := tx.Outbox(ctx)
		if err != nil || len(all) != 2 || !all[0].Opaque || all[1].Opaque || all[0].ServerBox == "" || all[1].ServerBox == "" {
			t.Fatalf("Outbox: %+v, %v; want an opaque entry then one in clear, both boxed", all, err)
		}
		got, err := tx.PendingOutboxAfter(ctx, 0, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("PendingOutboxAfter: %d, %v", len(got), err)
		}
		if got[0].ServerBox != all[0].ServerBox || !got[0].Opaque {
			t.Errorf("the opaque entry: box %.20q, opaque %v; want its box", got[0].ServerBox, got[0].Opaque)
		}
		if got[1].ServerBox != "" || string(got[1].Fields) != string(all[1].Fields) {
			t.Errorf("the entry in clear: box %.20q, fields %s; want no box, %s", got[1].ServerBox, got[1].Fields, all[1].Fields)
		}
		return nil
	})
}

// TestOutboxDeletesCountPerStatement: acknowledging a push's rows writes
// each deleted row once and the counts once per statement (migration
// 0009), not the counts again for every row (the trigger of 0007 did: a
// push of 10,000 wrote outbox_count 10,000 times); the counts stay exact,
// set-aside rows among the deleted included.
func TestOutboxDeletesCountPerStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	const n = 1000
	var seqs []int64
	var ids []string
	err := db.Update(ctx, func(tx *Tx) error {
		for i := range n {
			m := outboxMutation(i)
			if err := tx.AppendOutbox(ctx, m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		for _, id := range ids[:5] { // set aside
			if err := tx.RejectOutbox(ctx, id, nil); err != nil {
				return err
			}
		}
		all, err := tx.Outbox(ctx)
		for _, e := range all {
			seqs = append(seqs, e.Seq)
		}
		return err
	})
	if err != nil || len(seqs) != n {
		t.Fatalf("%d rows, %v", len(seqs), err)
	}
	// changes runs del in a transaction and returns how many rows it
	// wrote, the counts' row included (total_changes counts the rows
	// triggers write too).
	changes := func(del func(tx *Tx) error) (written int64) {
		t.Helper()
		err := db.Update(ctx, func(tx *Tx) error {
			var before, after int64
			if err := tx.tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&before); err != nil {
				return err
			}
			if err := del(tx); err != nil {
				return err
			}
			if err := tx.tx.QueryRowContext(ctx, "SELECT total_changes()").Scan(&after); err != nil {
				return err
			}
			written = after - before
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return written
	}
	counts := func() (p, r int) {
		db.View(ctx, func(tx *Tx) error { p, r, err = tx.CountOutbox(ctx); return err })
		return
	}
	// Two runs of seqs (one statement): 896 rows, two of them set aside.
	got := changes(func(tx *Tx) error {
		return tx.DeleteOutboxSeqs(ctx, append(slices.Clone(seqs[3:400]), seqs[401:900]...))
	})
	if got != 896+1 {
		t.Errorf("acknowledging 896 rows by seq wrote %d rows; want 897 (the rows, and the counts once)", got)
	}
	if p, r := counts(); p != 101 || r != 3 {
		t.Errorf("counts after the seqs' delete: %d pending, %d set aside; want 101, 3", p, r)
	}
	got = changes(func(tx *Tx) error { return tx.DeleteOutboxes(ctx, ids[900:]) })
	if want := int64(100 + 1); got != want {
		t.Errorf("acknowledging 100 rows by id wrote %d rows; want %d", got, want)
	}
	got = changes(func(tx *Tx) error { return tx.DeleteOutbox(ctx, ids[0]) })
	if got != 2 {
		t.Errorf("discarding one set-aside row wrote %d rows; want 2", got)
	}
	// Left: seqs 1, 2 (set aside), 400 (pending).
	if p, r := counts(); p != 1 || r != 2 {
		t.Errorf("counts at the end: %d pending, %d set aside; want 1, 2", p, r)
	}
}

// TestMigration0009OnAStoreInUse: a tablet store at version 8 with records,
// pending changes and a set-aside one opens at version 9 with nothing
// lost: the same records and pending outbox, the counts as before, no
// delete trigger; acknowledging and discarding then keep the counts exact.
func TestMigration0009OnAStoreInUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path, db := openFile(t)
	defer func() { db.Close() }()
	const n = 300
	var ids []string
	err := db.Update(ctx, func(tx *Tx) error {
		for i := range n {
			r := schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: "c1", Version: 1,
				Fields: map[string]json.RawMessage{"outcome": json.RawMessage(fmt.Sprintf(`"note %d"`, i))}}
			if err := tx.PutRecord(ctx, r); err != nil {
				return err
			}
			m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: r.ID, CaseID: "c1",
				Fields: r.Fields, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}}
			if err := tx.AppendOutbox(ctx, m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return tx.RejectOutbox(ctx, ids[0], nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The store as version 8 left it: 0007's delete trigger, no 0009.
	for _, q := range []string{`CREATE TRIGGER outbox_count_delete AFTER DELETE ON outbox
		BEGIN
		    UPDATE outbox_count SET pending = pending - (OLD.status = 'pending'),
		                            rejected = rejected - (OLD.status = 'rejected') WHERE id = 1;
		END`, "DELETE FROM schema_migrations WHERE version = 9"} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	type state struct {
		pending          []OutboxEntry
		records          int
		counted, aside   int
		triggers, atNine int
	}
	read := func() (s state) {
		t.Helper()
		err := db.View(ctx, func(tx *Tx) error {
			var err error
			if s.pending, err = tx.PendingOutboxAfter(ctx, 0, 10*n); err != nil {
				return err
			}
			if s.counted, s.aside, err = tx.CountOutbox(ctx); err != nil {
				return err
			}
			return tx.tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM records),
				(SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name = 'outbox_count_delete'),
				(SELECT count(*) FROM schema_migrations WHERE version = 9)`).Scan(&s.records, &s.triggers, &s.atNine)
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := read()
	if before.triggers != 1 || before.atNine != 0 || before.counted != n-1 || before.aside != 1 {
		t.Fatalf("the store at version 8: %+v", before)
	}
	db.Close()
	if db, err = Open(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	after := read()
	if after.triggers != 0 || after.atNine != 1 {
		t.Errorf("after the migration: %d delete triggers, version 9 recorded %d times; want 0, 1", after.triggers, after.atNine)
	}
	if !reflect.DeepEqual(after.pending, before.pending) || after.records != n || after.counted != n-1 || after.aside != 1 {
		t.Errorf("after the migration: %d pending (%d counted), %d set aside, %d records; want the %d pending, 1, %d as before",
			len(after.pending), after.counted, after.aside, after.records, len(before.pending), n)
	}
	seqs := make([]int64, 0, 100)
	for _, e := range after.pending[:100] {
		seqs = append(seqs, e.Seq)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.DeleteOutboxSeqs(ctx, seqs); err != nil {
			return err
		}
		return tx.DeleteOutbox(ctx, ids[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := read(); len(s.pending) != n-101 || s.counted != n-101 || s.aside != 0 {
		t.Errorf("100 acknowledged and the set-aside one discarded: %d pending (%d counted), %d set aside; want %d, 0",
			len(s.pending), s.counted, s.aside, n-101)
	}
}

// outboxMutation is test change i: a new visit's outcome, in case c1.
func outboxMutation(i int) schema.Mutation {
	return schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: "c1",
		Fields: map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}}
}
