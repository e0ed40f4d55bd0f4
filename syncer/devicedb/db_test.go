package devicedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "device.db"), now)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openFile opens a store in a file of its own, with the real clock, for a
// test that reopens it; the caller closes the store it holds last.
func openFile(t testing.TB) (string, *DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "device.db")
	db, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return path, db
}

func TestOpenStampsApplicationIDAndMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "device.db")
	db, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var id, migrations int64
	db.write.QueryRow("PRAGMA application_id").Scan(&id)
	db.write.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&migrations)
	if id != schema.DeviceApplicationID || migrations != int64(len(schema.DeviceMigrations())) {
		t.Fatalf("application_id %#x, %d migrations recorded", id, migrations)
	}
	var mode string
	db.write.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Fatalf("journal_mode %q", mode)
	}
	db.Close()
	db, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	db.write.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&migrations)
	if migrations != int64(len(schema.DeviceMigrations())) {
		t.Fatalf("reopen applied migrations again: %d rows", migrations)
	}
	db.Close()
}

func TestOpenRefusesAnotherApplicationsFile(t *testing.T) {
	t.Parallel()
	for _, appID := range []int{schema.ServerApplicationID, 0x1234} {
		path := filepath.Join(t.TempDir(), "other.db")
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(fmt.Sprintf("PRAGMA application_id = %d", appID)); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		_, err = Open(context.Background(), path, nil)
		if !errors.Is(err, ErrWrongApplication) || !strings.Contains(err.Error(), "own data folder") {
			t.Fatalf("application_id %#x: want ErrWrongApplication with a hint, got %v", appID, err)
		}
	}
}

func TestRecordAndOutboxCommitOrRollBackTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	rec := schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: schema.NewID(),
		Fields: map[string]json.RawMessage{"status": json.RawMessage(`"draft"`)}}
	mut := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: rec.ID, CaseID: rec.CaseID,
		Fields: rec.Fields, Clock: schema.HLC{Wall: 1, Node: "dev"}, DeviceTime: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	boom := errors.New("crash after both writes")
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.PutRecord(ctx, rec); err != nil {
			return err
		}
		if err := tx.AppendOutbox(ctx, mut); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		if _, err := tx.GetRecord(ctx, "visit", rec.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("record survived a rolled-back write: %v", err)
		}
		if p, r, _ := tx.CountOutbox(ctx); p+r != 0 {
			t.Errorf("outbox row survived a rolled-back write")
		}
		return nil
	})
	err = db.Update(ctx, func(tx *Tx) error {
		if err := tx.PutRecord(ctx, rec); err != nil {
			return err
		}
		return tx.AppendOutbox(ctx, mut)
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		got, err := tx.GetRecord(ctx, "visit", rec.ID)
		if err != nil || !got.Pending || string(got.Fields["status"]) != `"draft"` {
			t.Errorf("committed record: %+v %v", got, err)
		}
		return nil
	})
	// A mutation id is unique: the same mutation is never queued twice.
	err = db.Update(ctx, func(tx *Tx) error { return tx.AppendOutbox(ctx, mut) })
	if err == nil {
		t.Fatal("a duplicate mutation id was accepted")
	}
}

func TestApplyPulledKeepsOnlyPendingFields(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	caseID := schema.NewID()
	pendingID, rejectedID := schema.NewID(), schema.NewID()
	err := db.Update(ctx, func(tx *Tx) error {
		for i, id := range []string{pendingID, rejectedID} {
			m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: id, CaseID: caseID,
				Fields: map[string]json.RawMessage{"outcome": json.RawMessage(`"no_answer"`)}, Clock: schema.HLC{Wall: int64(i + 1), Node: "d"}}
			if err := tx.AppendOutbox(ctx, m); err != nil {
				return err
			}
			if id == rejectedID {
				if err := tx.RejectOutbox(ctx, m.ID, &schema.Error{Code: schema.ECodeOutOfScope, Message: "no"}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page := []RawRecord{
		{Entity: "visit", ID: pendingID, CaseID: caseID, Version: 3, Fields: json.RawMessage(`{"outcome":"completed","status":"signed","signed_at":"2026-11-20T10:00:00Z"}`), ReceivedAt: "2026-11-20T10:00:01Z", UpdatedAt: "0001-01-01T00:00:00Z"},
		{Entity: "visit", ID: rejectedID, CaseID: caseID, Version: 1, Fields: json.RawMessage(`{"outcome":"completed","status":"draft","signed_at":""}`)},
		{Entity: "case", ID: caseID, Version: 1, Fields: json.RawMessage(`{"crn":"X123456"}`)},
	}
	err = db.Update(ctx, func(tx *Tx) error {
		n, err := tx.ApplyPulled(ctx, page)
		if n != 3 {
			t.Errorf("applied %d of 3", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		p, _ := tx.GetRecord(ctx, "visit", pendingID)
		if string(p.Fields["outcome"]) != `"no_answer"` || string(p.Fields["status"]) != `"signed"` || p.Version != 3 || !p.Signed || !p.UpdatedAt.IsZero() {
			t.Errorf("record with a pending change: %+v", p)
		}
		r, _ := tx.GetRecord(ctx, "visit", rejectedID)
		if string(r.Fields["outcome"]) != `"completed"` || r.Signed || !r.Rejected {
			t.Errorf("record with a rejected change: %+v", r)
		}
		c, _ := tx.GetRecord(ctx, "case", caseID)
		if c.CaseID != caseID {
			t.Errorf("a case is its own case: %q", c.CaseID)
		}
		return nil
	})
	// A removal deletes the case's records and keeps the outbox.
	err = db.Update(ctx, func(tx *Tx) error {
		n, err := tx.ApplyRemovals(ctx, []schema.Removal{{CaseID: caseID, Reason: "out_of_scope"}})
		if n != 3 {
			t.Errorf("removed %d of 3", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(ctx, func(tx *Tx) error {
		if p, r, _ := tx.CountOutbox(ctx); p != 1 || r != 1 {
			t.Errorf("outbox after removal: %d pending %d rejected", p, r)
		}
		return nil
	})
}

// pullPage makes n pulled records of about 1 KB each.
func pullPage(n int) []RawRecord {
	caseID := schema.NewID()
	out := make([]RawRecord, n)
	notes := strings.Repeat("x", 700)
	for i := range out {
		f := fmt.Sprintf(`{"status":"signed","type":"home_unannounced","outcome":"completed","location":"home","started_at":"2026-11-20T13:58:01Z","partner_present":"yes","children_present":"no_children","observation_notes":%q,"signed_at":"2026-11-20T14:02:11Z","signed_by":"019a-officer"}`, notes)
		out[i] = RawRecord{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: json.RawMessage(f), Version: 1,
			ReceivedAt: "2026-11-20T14:02:13.12Z", UpdatedAt: "2026-11-20T14:02:13.12Z", DeviceTime: "2026-11-20T13:58:01Z",
			CreatedBy: "019a-officer", UpdatedBy: "019a-officer"}
	}
	return out
}

// BenchmarkApplyPulledPage2000 applies one 2000-record page (about 1 KB a
// record) in one transaction, as a pull does.
func BenchmarkApplyPulledPage2000(b *testing.B) {
	ctx := context.Background()
	db := openTest(b)
	page := pullPage(2000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j := range page {
			page[j].ID = schema.NewID()
		}
		b.StartTimer()
		err := db.Update(ctx, func(tx *Tx) error {
			_, err := tx.ApplyPulled(ctx, page)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(page))/b.Elapsed().Seconds(), "records/s")
}

// A new tablet store is readable and writable by its owner only (issue
// 11, defect 5).
func TestNewStoreIsPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "device.db")
	db, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v (%v), want 0600", p, fi.Mode().Perm(), err)
		}
	}
}

// TestUpdateUnsyncedCommitsUnsyncedAlone: UpdateUnsynced's transaction
// runs at synchronous NORMAL (1) and commits; every other write, before
// and after it, failed or not, runs at FULL (2) on the one writer.
func TestUpdateUnsyncedCommitsUnsyncedAlone(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	level := func(tx *Tx) int {
		t.Helper()
		var n int
		if err := tx.tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	synced := func(when string) {
		t.Helper()
		if err := db.Update(ctx, func(tx *Tx) error {
			if got := level(tx); got != 2 {
				t.Errorf("%s: an Update ran at synchronous %d, want 2 (FULL)", when, got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	synced("before")
	if err := db.UpdateUnsynced(ctx, func(tx *Tx) error {
		if got := level(tx); got != 1 {
			t.Errorf("UpdateUnsynced ran at synchronous %d, want 1 (NORMAL)", got)
		}
		return tx.SetState(ctx, KeyCursor, "42")
	}); err != nil {
		t.Fatal(err)
	}
	synced("after")
	refused := errors.New("refused")
	if err := db.UpdateUnsynced(ctx, func(tx *Tx) error {
		if err := tx.SetState(ctx, KeyCursor, "43"); err != nil {
			return err
		}
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("UpdateUnsynced answered %v, want its function's error", err)
	}
	synced("after a failed one")
	var cursor string
	if err := db.View(ctx, func(tx *Tx) error {
		var err error
		cursor, err = tx.State(ctx, KeyCursor)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if cursor != "42" {
		t.Errorf("cursor %q, want the first UpdateUnsynced's 42 (the second rolled back)", cursor)
	}
	if got, all := db.UnsyncedTransactions(), db.WriteTransactions(); got != 1 || all != 4 {
		t.Errorf("%d unsynced of %d write transactions, want 1 of 4", got, all)
	}
}

// TestViewWriterReadsCommitsAndRollsBack: ViewWriter sees every commit
// before it, leaves nothing it changed (it rolls back), and counts among
// neither WriteTransactions nor ReadTransactions; View counts among the
// reads (decision 0137).
func TestViewWriterReadsCommitsAndRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Update(ctx, func(tx *Tx) error { return tx.SetState(ctx, KeyCursor, "7") }); err != nil {
		t.Fatal(err)
	}
	writes, reads := db.WriteTransactions(), db.ReadTransactions()
	var seen string
	if err := db.ViewWriter(ctx, func(tx *Tx) error {
		var err error
		if seen, err = tx.State(ctx, KeyCursor); err != nil {
			return err
		}
		return tx.SetState(ctx, KeyCursor, "8") // rolled back
	}); err != nil {
		t.Fatal(err)
	}
	if seen != "7" {
		t.Errorf("ViewWriter read cursor %q, want the committed 7", seen)
	}
	refused := errors.New("refused")
	if err := db.ViewWriter(ctx, func(*Tx) error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("ViewWriter answered %v, want its function's error", err)
	}
	if w, r := db.WriteTransactions()-writes, db.ReadTransactions()-reads; w != 0 || r != 0 {
		t.Errorf("ViewWriter counted %d write and %d read transactions, want none", w, r)
	}
	var cursor string
	if err := db.View(ctx, func(tx *Tx) error {
		var err error
		cursor, err = tx.State(ctx, KeyCursor)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if cursor != "7" {
		t.Errorf("cursor %q after ViewWriter, want 7 (its change rolled back)", cursor)
	}
	if r := db.ReadTransactions() - reads; r != 1 {
		t.Errorf("View counted %d read transactions, want 1", r)
	}
}
