package devicedb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"doorstep/schema"
)

// cheap is an argon2id cost for tests: the cost itself is checked by the
// agent's tests and benchmark.
var cheap = KDF{Passes: 1, MemoryKiB: 64, Lanes: 1}

// plainStore opens a store and writes, in clear as a store from before
// sealing holds them, a record, a pending change, a refusal, a person and
// the tokens, each holding probe.
func plainStore(t *testing.T, probe string) *DB {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	err := db.Update(ctx, func(tx *Tx) error {
		if err := tx.PutRecord(ctx, schema.Record{Entity: "household_member", ID: "m1", CaseID: "c1",
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"` + probe + ` one"`)}}); err != nil {
			return err
		}
		m := schema.Mutation{ID: "mut1", Entity: "household_member", RecordID: "m1", CaseID: "c1",
			Fields: map[string]json.RawMessage{"name": json.RawMessage(`"` + probe + ` two"`)}}
		if err := tx.AppendChange(ctx, m, map[string]json.RawMessage{"name": json.RawMessage(`"` + probe + ` three"`)}); err != nil {
			return err
		}
		if err := tx.RejectOutbox(ctx, "mut1", &schema.Error{Code: schema.ECodeInvalid, Message: probe + " four"}); err != nil {
			return err
		}
		if err := tx.ReplacePeople(ctx, []schema.Person{{ID: "u1", Name: probe + " five", Role: schema.RoleOfficer}}, "tag"); err != nil {
			return err
		}
		if err := tx.SetState(ctx, KeyRefreshToken, probe+"-refresh"); err != nil {
			return err
		}
		return tx.SetState(ctx, KeyAccessToken, probe+"-access")
	})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// fileHolds reports whether any file of the store's folder holds s.
func fileHolds(t *testing.T, db *DB, s string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(db.Path()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(db.Path()), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(s)) {
			return e.Name()
		}
	}
	return ""
}

// readAll reads back what plainStore wrote.
func readAll(ctx context.Context, db *DB) (Record, OutboxEntry, []schema.Person, string, error) {
	var rec Record
	var out []OutboxEntry
	var people []schema.Person
	var refresh string
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		if rec, err = tx.GetRecord(ctx, "household_member", "m1"); err != nil {
			return err
		}
		if out, err = tx.Outbox(ctx); err != nil {
			return err
		}
		if people, err = tx.People(ctx); err != nil {
			return err
		}
		refresh, err = tx.State(ctx, KeyRefreshToken)
		return err
	})
	if err != nil {
		return Record{}, OutboxEntry{}, nil, "", err
	}
	return rec, out[0], people, refresh, nil
}

func TestSealSealsWhatWasInClearAndOpensWithTheKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := plainStore(t, "Probe Quillon")
	if f := fileHolds(t, db, "Probe Quillon"); f == "" {
		t.Fatal("the plain store holds no probe: the test would prove nothing")
	}
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	if !db.Sealed() || !db.HoldsKey() {
		t.Fatalf("after Seal: sealed %v, holds key %v", db.Sealed(), db.HoldsKey())
	}
	if f := fileHolds(t, db, "Probe Quillon"); f != "" {
		t.Fatalf("%s still holds the probe after sealing", f)
	}
	rec, e, people, refresh, err := readAll(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if string(rec.Fields["name"]) != `"Probe Quillon one"` || string(e.Fields) != `{"name":"Probe Quillon two"}` ||
		string(e.Before["name"]) != `"Probe Quillon three"` || e.Error == nil || e.Error.Message != "Probe Quillon four" ||
		len(people) != 1 || people[0].Name != "Probe Quillon five" || refresh != "Probe Quillon-refresh" {
		t.Fatalf("read back after sealing: %+v %+v %+v %q", rec, e, people, refresh)
	}

	// Locked: nothing sealed reads or writes; what is in clear still does.
	db.DropKey()
	if _, _, _, _, err := readAll(ctx, db); !errors.Is(err, ErrLocked) {
		t.Fatalf("read while locked: %v, want ErrLocked", err)
	}
	err = db.Update(ctx, func(tx *Tx) error {
		return tx.PutRecord(ctx, schema.Record{Entity: "case", ID: "c2", CaseID: "c2", Fields: map[string]json.RawMessage{"crn": json.RawMessage(`"X1"`)}})
	})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("write while locked: %v, want ErrLocked", err)
	}
	if err := db.View(ctx, func(tx *Tx) error { _, _, err := tx.CountOutbox(ctx); return err }); err != nil {
		t.Fatalf("count the outbox while locked: %v", err)
	}

	// A wrong password opens nothing; the right one opens all again.
	if err := db.OpenKey(ctx, WrapPassword, "not the password"); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("OpenKey with a wrong password: %v", err)
	}
	if err := db.OpenKey(ctx, WrapPIN, "493817"); !errors.Is(err, ErrNoKeyWrap) {
		t.Fatalf("OpenKey with no PIN wrap: %v", err)
	}
	if err := db.OpenKey(ctx, WrapPassword, "the password"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, refresh, err := readAll(ctx, db); err != nil || refresh != "Probe Quillon-refresh" {
		t.Fatalf("read after the unlock: %q %v", refresh, err)
	}

	// A second Seal leaves the store and its key as they are.
	if err := db.Seal(ctx, "another password", cheap); err != nil {
		t.Fatal(err)
	}
	if err := db.OpenKey(ctx, WrapPassword, "another password"); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("a second Seal rewrapped the key: %v", err)
	}
}

func TestPINWrapOpensTheSameKeyAndGoesWithThePIN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := plainStore(t, "Probe Marrowby")
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.PutKeyWrap(ctx, WrapPIN, "493817", cheap) }); err != nil {
		t.Fatal(err)
	}
	db.DropKey()
	if err := db.OpenKey(ctx, WrapPIN, "493817"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, refresh, err := readAll(ctx, db); err != nil || refresh != "Probe Marrowby-refresh" {
		t.Fatalf("read after the PIN unlock: %q %v", refresh, err)
	}
	// Without the key held, no wrap can be added.
	db.DropKey()
	if err := db.Update(ctx, func(tx *Tx) error { return tx.PutKeyWrap(ctx, WrapPIN, "111999", cheap) }); !errors.Is(err, ErrLocked) {
		t.Fatalf("PutKeyWrap while locked: %v", err)
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.DeleteKeyWrap(ctx, WrapPIN) }); err != nil {
		t.Fatal(err)
	}
	if err := db.OpenKey(ctx, WrapPIN, "493817"); !errors.Is(err, ErrNoKeyWrap) {
		t.Fatalf("the PIN after its wrap went: %v", err)
	}
}

// A sealed value opens only in the row it was sealed for: copying a
// record's sealed fields over another's does not pass them off as its own.
func TestSealedValueDoesNotOpenInAnotherRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := plainStore(t, "Probe Hedgewick")
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx *Tx) error {
		return tx.PutRecord(ctx, schema.Record{Entity: "household_member", ID: "m2", CaseID: "c1", Fields: map[string]json.RawMessage{"name": json.RawMessage(`"B"`)}})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`UPDATE records SET fields = (SELECT fields FROM records WHERE id = 'm1') WHERE id = 'm2'`); err != nil {
		t.Fatal(err)
	}
	err := db.View(ctx, func(tx *Tx) error { _, err := tx.GetRecord(ctx, "household_member", "m2"); return err })
	if err == nil {
		t.Fatal("a sealed value moved to another row opened there")
	}
}

func TestDestroyKeyWrapsLeavesTheDataUnreadableEvenWithThePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := plainStore(t, "Probe Ashcombe")
	if err := db.Seal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(ctx, func(tx *Tx) error { return tx.PutKeyWrap(ctx, WrapPIN, "493817", cheap) }); err != nil {
		t.Fatal(err)
	}
	var wraps []byte
	db.write.QueryRow("SELECT wrapped FROM key_wraps WHERE kind = 'password'").Scan(&wraps)
	if len(wraps) < 32 {
		t.Fatalf("wrap of %d bytes", len(wraps))
	}

	if err := db.DestroyKeyWraps(ctx); err != nil {
		t.Fatal(err)
	}
	if db.HoldsKey() {
		t.Fatal("the key is still held after DestroyKeyWraps")
	}
	for _, k := range []struct{ kind, secret string }{{WrapPassword, "the password"}, {WrapPIN, "493817"}} {
		if err := db.OpenKey(ctx, k.kind, k.secret); !errors.Is(err, ErrNoKeyWrap) {
			t.Fatalf("OpenKey(%s) after DestroyKeyWraps: %v, want ErrNoKeyWrap", k.kind, err)
		}
	}
	if _, _, _, _, err := readAll(ctx, db); !errors.Is(err, ErrLocked) {
		t.Fatalf("read after DestroyKeyWraps: %v, want ErrLocked", err)
	}
	if f := fileHolds(t, db, string(wraps)); f != "" {
		t.Fatalf("%s still holds the destroyed password wrap", f)
	}
	if f := fileHolds(t, db, "Probe Ashcombe"); f != "" {
		t.Fatalf("%s holds the probe", f)
	}
	// Reopened, the store is still sealed, and still unreadable.
	path := db.Path()
	db.Close()
	db2, err := Open(ctx, path, func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if !db2.Sealed() {
		t.Fatal("the store reopened as plain after DestroyKeyWraps")
	}
	if err := db2.OpenKey(ctx, WrapPassword, "the password"); !errors.Is(err, ErrNoKeyWrap) {
		t.Fatalf("OpenKey after a reopen: %v", err)
	}

	// Reseal starts it afresh: the old data is gone, new data seals.
	if err := db2.Reseal(ctx, "the password", cheap); err != nil {
		t.Fatal(err)
	}
	var n int
	db2.write.QueryRow("SELECT count(*) FROM records").Scan(&n)
	if n != 0 {
		t.Fatalf("%d records left after Reseal", n)
	}
	if err := db2.View(ctx, func(tx *Tx) error { _, err := tx.People(ctx); return err }); err != nil {
		t.Fatalf("read after Reseal: %v", err)
	}
}
