package serverdb

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
)

func TestOpenTwiceMigratesOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := testTarget(t)
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	admin := Actor{UserID: "a", Role: schema.RoleAdmin}
	if err := db.CreateTeam(ctx, admin, schema.Team{Name: "Kept"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	if err := db.r.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := len(schema.ServerMigrations()); n != want {
		t.Errorf("schema_migrations has %d rows, want %d", n, want)
	}
	teams, _ := db.ListTeams(ctx)
	if len(teams) != 1 || teams[0].Name != "Kept" {
		t.Errorf("teams after reopen = %v, want [Kept]", teams)
	}
	if onPostgres() {
		var app int64
		db.r.QueryRow(`SELECT application FROM doorstep_store`).Scan(&app)
		if app != schema.ServerApplicationID {
			t.Errorf("doorstep_store application = %#x, want %#x", app, schema.ServerApplicationID)
		}
		return
	}
	var app int64
	db.r.QueryRow(`PRAGMA application_id`).Scan(&app)
	if app != schema.ServerApplicationID {
		t.Errorf("application_id = %#x, want %#x", app, schema.ServerApplicationID)
	}
	var mode string
	db.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %s, want wal", mode)
	}
}

func TestRefusesForeignDatabase(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "a SQLite file's application_id; TestRefusesForeignSchema is PostgreSQL's")
	ctx := context.Background()
	dir := t.TempDir()
	// A tablet database: stamped with the device application id.
	path := filepath.Join(dir, "device.db")
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`PRAGMA application_id = 1146307670; CREATE TABLE x (a INTEGER) STRICT`); err != nil {
		t.Fatal(err)
	}
	other.Close()
	_, err = Open(ctx, path, Options{})
	if err == nil || !strings.Contains(err.Error(), "is not a Doorstep server database (application_id") {
		t.Fatalf("Open(device db) error = %v, want 'is not a Doorstep server database (application_id ...'", err)
	}

	// An unstamped database of someone else's.
	path = filepath.Join(dir, "other.db")
	other, _ = sql.Open("sqlite", "file:"+path)
	if _, err := other.Exec(`CREATE TABLE y (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := Open(ctx, path, Options{}); err == nil || !strings.Contains(err.Error(), "is not a Doorstep server database") {
		t.Fatalf("Open(foreign db) error = %v", err)
	}
}
