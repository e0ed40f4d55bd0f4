package serverdb

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb/serverdbtest"
)

// What the operator's probes read (health.go), on the store itself: the
// same calls a PostgreSQL store will answer.
func TestProbesReadTheStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if err := f.db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	applied, known, err := f.db.Migrations(ctx)
	if err != nil || applied != known || known != len(schema.ServerMigrations()) {
		t.Fatalf("Migrations = %d of %d, %v; want all of %d", applied, known, err, len(schema.ServerMigrations()))
	}
	// Both fixture devices signed in now; Ben's is revoked.
	if n, err := f.db.ActiveDevices(ctx, f.clock.Now().Add(-time.Minute)); err != nil || n != 2 {
		t.Fatalf("ActiveDevices in the last minute = %d, %v; want 2", n, err)
	}
	if err := f.db.RevokeDevice(ctx, f.admin, f.benDev); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.db.ActiveDevices(ctx, f.clock.Now().Add(-time.Minute)); n != 1 {
		t.Errorf("ActiveDevices after a revocation = %d, want 1 (a revoked device is not active)", n)
	}
	if n, _ := f.db.ActiveDevices(ctx, f.clock.Now().Add(time.Minute)); n != 0 {
		t.Errorf("ActiveDevices since a minute ahead = %d, want 0", n)
	}
	pools := map[string]PoolStats{}
	for _, p := range f.db.PoolStats() {
		pools[p.Name] = p
	}
	// SQLite's one writer connection is its writer lock; PostgreSQL's
	// writers queue on an advisory lock, each on a connection of a few.
	// The tests' PostgreSQL URLs cap each pool (pool_max_conns).
	wantWrite, minRead := 1, 4
	if onPostgres() {
		wantWrite, minRead = min(4, serverdbtest.TestPoolMax), serverdbtest.TestPoolMax
	}
	if pools["write"].MaxOpenConnections != wantWrite || pools["read"].MaxOpenConnections < minRead {
		t.Errorf("PoolStats: write max %d, read max %d; want %d and at least %d", pools["write"].MaxOpenConnections, pools["read"].MaxOpenConnections, wantWrite, minRead)
	}
}

// A writer wait is heard for each write transaction.
func TestWriterWaitIsObserved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := 0
	db, err := Open(ctx, testTarget(t), Options{WriterWait: func(d time.Duration) {
		if d < 0 {
			t.Errorf("a negative writer wait: %v", d)
		}
		n++
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	before := n
	if err := db.CreateTeam(ctx, Actor{UserID: "admin-test", Role: schema.RoleAdmin}, schema.Team{ID: schema.NewID(), Name: "North"}); err != nil {
		t.Fatal(err)
	}
	if n != before+1 {
		t.Errorf("one write transaction was heard %d times, want once", n-before)
	}
}

func TestBackupAndRestoreRefusals(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "VACUUM INTO and a file restore; TestPostgresBackupSaysPgDump is PostgreSQL's")
	ctx := context.Background()
	f := newFixture(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "backup.db")
	if err := f.db.Backup(ctx, out); err != nil {
		t.Fatalf("Backup: %v", err)
	}
	if err := f.db.Backup(ctx, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a back-up over another: %v, want a refusal", err)
	}
	if err := f.db.Backup(ctx, filepath.Join(dir, "no", "such", "folder.db")); err == nil {
		t.Error("a back-up into a folder that does not exist: no error")
	}
	// Another application's database (a tablet's is stamped DSDV).
	other := filepath.Join(dir, "other.db")
	c, err := sql.Open(sqliteDriver, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(`PRAGMA application_id = 1146307670; CREATE TABLE t (x)`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	into := filepath.Join(t.TempDir(), "server.db")
	if err := Restore(ctx, other, into); err == nil || !strings.Contains(err.Error(), "not a Doorstep server database") {
		t.Errorf("Restore of another application's file: %v, want a refusal", err)
	}
	if _, err := os.Stat(into); !os.IsNotExist(err) {
		t.Errorf("a refused restore left %s behind: %v", into, err)
	}
	if err := Restore(ctx, out, into); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if err := Restore(ctx, out, into); err == nil || !strings.Contains(err.Error(), "already holds a database") {
		t.Errorf("a restore over a database: %v, want a refusal", err)
	}
	db, err := Open(ctx, into, Options{})
	if err != nil {
		t.Fatalf("open the restored database: %v", err)
	}
	defer db.Close()
	if n, err := db.CountRecords(ctx, "case"); err != nil || n != 2 {
		t.Errorf("the restored database holds %d cases, %v; want the fixture's 2", n, err)
	}
}
