package serverdb

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// verify runs VerifyAudit and returns the break found, nil for none.
func verify(t *testing.T, db *DB) (AuditReport, *AuditBreak) {
	t.Helper()
	rep, err := db.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return rep, rep.Broken
}

// tamperFixture is a fixture after one push, its chain verified intact,
// with a connection to its file past the store and the last event's id.
func tamperFixture(t *testing.T) (*fixture, *sql.DB, int64) {
	t.Helper()
	f := newFixture(t)
	f.tampered = true
	visit := schema.NewID()
	f.push(t, f.actor(f.asha, f.ashaDev), mutation("visit", visit, f.ashaCase, stamp(1, "dev-asha"), visitFields("planned")))
	rep, brk := verify(t, f.db)
	if brk != nil {
		t.Fatalf("the untouched chain is broken: %+v", brk)
	}
	if rep.Events < 8 || rep.LastID != int64(rep.Events) || rep.Before != 0 || len(rep.LastHash) != 64 {
		t.Fatalf("report of the untouched chain: %+v", rep)
	}
	return f, rawDB(t, f.db.Path()), rep.LastID
}

func TestAuditTrailRefusesUpdateAndDelete(t *testing.T) {
	t.Parallel()
	f, raw, _ := tamperFixture(t)
	for _, q := range []string{`UPDATE audit SET detail = '{}' WHERE id = 3`, `DELETE FROM audit WHERE id = 3`, `DELETE FROM audit`} {
		_, err := raw.Exec(q)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v; want refused as append-only", q, err)
		}
	}
	if _, brk := verify(t, f.db); brk != nil {
		t.Errorf("after the refused changes: %+v; want intact", brk)
	}
}

func TestAuditVerifyNamesTheFirstBrokenEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(t *testing.T, raw *sql.DB, last int64)
		want   func(last int64) int64 // the event named
		reason string
	}{
		{"an event edited", func(t *testing.T, raw *sql.DB, last int64) {
			dropTrigger(t, raw, "audit_no_update", "audit")
			mustExec(t, raw, `UPDATE audit SET user_id = 'someone-else' WHERE id = 4`)
		}, func(int64) int64 { return 4 }, "does not match its hash"},
		{"an event edited and rehashed", func(t *testing.T, raw *sql.DB, last int64) {
			dropTrigger(t, raw, "audit_no_update", "audit")
			var e auditRow
			rows, err := raw.Query(`SELECT ` + auditCols + ` FROM audit WHERE id = 4`)
			if err != nil {
				t.Fatal(err)
			}
			rows.Next()
			if err := e.scan(rows); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			e.detail = `{"rewritten":true}`
			mustExec(t, raw, `UPDATE audit SET detail = ?, hash = ? WHERE id = 4`, e.detail, chainHash(&e))
		}, func(int64) int64 { return 5 }, "does not follow event #4"},
		{"an event deleted", func(t *testing.T, raw *sql.DB, last int64) {
			dropTrigger(t, raw, "audit_no_delete", "audit")
			mustExec(t, raw, `DELETE FROM audit WHERE id = 6`)
		}, func(int64) int64 { return 7 }, "event #6 is missing"},
		{"events deleted", func(t *testing.T, raw *sql.DB, last int64) {
			dropTrigger(t, raw, "audit_no_delete", "audit")
			mustExec(t, raw, `DELETE FROM audit WHERE id IN (2, 3)`)
		}, func(int64) int64 { return 4 }, "events #2 to #3 are missing"},
		{"an event inserted without a hash", func(t *testing.T, raw *sql.DB, last int64) {
			mustExec(t, raw, `INSERT INTO audit (id, at, user_id, action) VALUES ((SELECT max(id) + 1 FROM audit), '2026-11-23T10:00:00.000Z', 'nobody', 'login')`)
		}, func(last int64) int64 { return last + 1 }, "has no hash"},
		{"an event inserted with a made-up hash", func(t *testing.T, raw *sql.DB, last int64) {
			mustExec(t, raw, `INSERT INTO audit (id, at, user_id, action, prev_hash, hash) VALUES ((SELECT max(id) + 1 FROM audit), '2026-11-23T10:00:00.000Z', 'nobody', 'login', ?, ?)`,
				strings.Repeat("0", 64), strings.Repeat("a", 64))
		}, func(last int64) int64 { return last + 1 }, "does not follow event #"},
		{"an event inserted in a gap", func(t *testing.T, raw *sql.DB, last int64) {
			mustExec(t, raw, `INSERT INTO audit (id, at, user_id, action) VALUES (?, '2026-11-23T10:00:00.000Z', 'nobody', 'login')`, last+5)
		}, func(last int64) int64 { return last + 5 }, "has no hash"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, raw, last := tamperFixture(t)
			tc.tamper(t, raw, last)
			_, brk := verify(t, f.db)
			if brk == nil {
				t.Fatalf("verify found nothing; want event #%d named", tc.want(last))
			}
			if brk.ID != tc.want(last) || !strings.Contains(brk.Reason, tc.reason) {
				t.Errorf("verify named #%d: %q; want #%d, %q", brk.ID, brk.Reason, tc.want(last), tc.reason)
			}
		})
	}
}

// A trail written before the chain existed: its events keep no hash, and
// the first event after them carries the hash the chain would have had
// through them, so an edit of one of them is still found.
func TestAuditChainCoversTheEventsBeforeIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := testTarget(t)
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	db, err := Open(ctx, path, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw := rawDB(t, path)
	for i := range 3 {
		mustExec(t, raw, `INSERT INTO audit (id, at, user_id, action, detail) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM audit), '2026-11-01T10:00:00.000Z', 'old', 'login', ?)`,
			`{"n":`+string(rune('0'+i))+`}`)
	}
	if db, err = Open(ctx, path, Options{Now: now}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin := Actor{UserID: "admin-test", Role: schema.RoleAdmin}
	for _, name := range []string{"Team A", "Team B"} {
		if err := db.CreateTeam(ctx, admin, schema.Team{ID: schema.NewID(), Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	rep, brk := verify(t, db)
	if brk != nil || rep.Events != 5 || rep.Before != 3 || rep.LastID != 5 {
		t.Fatalf("report: %+v; want 5 events, 3 before the chain, intact", rep)
	}
	dropTrigger(t, raw, "audit_no_update", "audit")
	mustExec(t, raw, `UPDATE audit SET user_id = 'changed' WHERE id = 2`)
	if _, brk = verify(t, db); brk == nil || brk.ID != 4 || !strings.Contains(brk.Reason, "does not follow event #3") {
		t.Errorf("after editing an event from before the chain: %+v; want event #4 named", brk)
	}
}

// A push large enough to write its audit events on the inserter's
// goroutine, in several chunks, keeps the chain whole.
func TestAuditChainThroughALargePush(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	var muts []schema.Mutation
	for i := range 3 * insertChunk {
		muts = append(muts, mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(i+1), "dev-asha"), visitFields("planned")))
	}
	f.push(t, a, muts...)
	rep, brk := verify(t, f.db)
	if brk != nil || rep.Events < 3*insertChunk {
		t.Errorf("after a push of %d mutations: %+v; want an intact chain of them all", len(muts), rep)
	}
}

// A pushed change refused as out of scope is in the trail, naming the
// case the record is in; the sender's answer names nothing of it.
func TestAuditRecordsRefusedPushes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	carl := f.actor(f.carl, "dev-carl")
	res := f.push(t, carl, mutation("case", f.ashaCase, f.ashaCase, stamp(5, "dev-carl"), raw("address", "2 Low St")))
	if res[0].Status != schema.StatusRejected || res[0].Error.Code != schema.ECodeOutOfScope {
		t.Fatalf("carl's push to asha's case: %+v", res[0])
	}
	evs, err := f.db.AuditByAction(context.Background(), "refused")
	if err != nil || len(evs) != 1 || evs[0].UserID != f.carl.ID || evs[0].CaseID != f.ashaCase || evs[0].RecordID != f.ashaCase ||
		!strings.Contains(string(evs[0].Detail), `"code":"out_of_scope"`) {
		t.Errorf("refused events: %+v %v; want carl's one on asha's case", evs, err)
	}
}
