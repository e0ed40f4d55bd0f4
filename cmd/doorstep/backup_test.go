package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/sqlitedb"
)

// TestBackupWhileTheWriterIsHeld: `admin backup` beside a server whose
// writer is never free (a write transaction held open for the whole
// back-up) copies the database as last committed, at once. It used to
// open the store, whose opening writes: it waited the busy timeout (10 s)
// behind the writer and failed with SQLITE_BUSY (decision 0079).
func TestBackupWhileTheWriterIsHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	if _, err := doorstep(t, "admin", "add-team", "--data", data, "--name", "Committed Team"); err != nil {
		t.Fatal(err)
	}
	w, err := sqlitedb.OpenWriter("sqlite", filepath.Join(data, serverDBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tx, err := w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the writer lock, as a server's write holds it
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, created_at) VALUES ('uncommitted', 'Uncommitted Team', '2026-12-06T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "doorstep.db")
	start := time.Now()
	out, err := doorstep(t, "admin", "backup", "--data", data, "--out", backup)
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("admin backup with the writer held: %v (after %s)\n%s", err, time.Since(start).Round(time.Millisecond), out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("admin backup with the writer held took %s: it waited for the writer", took)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if _, err := doorstep(t, "admin", "restore", "--data", restored, "--from", backup); err != nil {
		t.Fatal(err)
	}
	teams, err := doorstep(t, "admin", "list-teams", "--data", restored)
	if err != nil || !strings.Contains(teams, "Committed Team") || strings.Contains(teams, "Uncommitted") {
		t.Errorf("the back-up's teams: %v\n%s\nwant the committed team only", err, teams)
	}
	if _, err := doorstep(t, "admin", "backup", "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "b.db")); err == nil || !strings.Contains(err.Error(), "no server database") {
		t.Errorf("a back-up of a folder without a database: %v, want a refusal naming it", err)
	}
}
