package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// TestAdminOnPostgres: every admin action takes --db; backup and restore
// refuse it, pointing at pg_dump and pg_restore (with the epoch step),
// naming no password and writing nothing.
func TestAdminOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := serverdbtest.PostgresURL(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	admin := func(args ...string) (string, error) {
		return doorstep(t, append(append([]string{"admin"}, args...), "--db", dbURL, "--data", data)...)
	}
	if out, err := admin("add-team", "--name", "North"); err != nil {
		t.Fatalf("add-team --db: %v\n%s", err, out)
	}
	out, err := admin("add-user", "--username", "sue.k", "--name", "Sue K", "--role", "supervisor", "--team", "North")
	if err != nil || !strings.Contains(out, "one-time setup code") {
		t.Fatalf("add-user --db: %v\n%s", err, out)
	}
	if out, err := admin("list-users"); err != nil || !strings.Contains(out, "sue.k") {
		t.Fatalf("list-users --db: %v\n%s", err, out)
	}
	if out, err := admin("audit", "verify"); err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("audit verify --db: %v\n%s", err, out)
	}
	if _, err := os.Stat(data); err == nil {
		t.Errorf("admin --db made the data folder %s; want nothing there", data)
	}

	withPassword := strings.Replace(dbURL, "postgres://postgres@", "postgres://postgres:s3cret@", 1)
	out, err = doorstep(t, "admin", "backup", "--db", withPassword, "--out", filepath.Join(dir, "b.dump"))
	if err == nil || !strings.Contains(err.Error(), "pg_dump --format=custom") || strings.Contains(err.Error()+out, "s3cret") {
		t.Errorf("admin backup --db: %v\n%s; want a pointer at pg_dump, no password", err, out)
	}
	out, err = doorstep(t, "admin", "restore", "--db", withPassword, "--from", filepath.Join(dir, "b.dump"))
	if err == nil || !strings.Contains(err.Error(), "pg_restore --no-owner") || !strings.Contains(err.Error(), "doorstep admin new-epoch --db") || strings.Contains(err.Error()+out, "s3cret") {
		t.Errorf("admin restore --db: %v\n%s; want a pointer at pg_restore and new-epoch, no password", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.dump")); err == nil {
		t.Error("a refused backup wrote its file")
	}
	// A database that is not there: the URL named, without its password.
	gone := strings.Replace(withPassword, "/test?", "/doorstep_no_such_database?", 1)
	if _, err := doorstep(t, "admin", "list-teams", "--db", gone); err == nil || !strings.Contains(err.Error(), "--db") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("admin --db of a missing database: %v; want an error naming --db, no password", err)
	}
}

// TestPostgresBackupRestoreAndNewEpoch: the PostgreSQL back-up as
// docs/operations.md gives it: pg_dump of the running store, pg_restore
// into an empty database, then doorstep admin new-epoch. Restored, every
// record is there and the audit chain holds; before the epoch step a
// tablet's cursor from before the back-up is still taken (the hazard the
// step exists for), after it the cursor is refused as from before the
// restore, and a pull from the start works.
func TestPostgresBackupRestoreAndNewEpoch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs pg_dump and pg_restore")
	}
	t.Parallel()
	dbURL := serverdbtest.PostgresURL(t)
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not on PATH, and CI=true: install the PostgreSQL client tools", tool)
			}
			t.Skipf("%s is not on PATH: install the PostgreSQL client tools to run this test", tool)
		}
	}
	ctx := context.Background()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	schemaName := u.Query().Get("search_path")
	// libpq's tools take the database's URL without the search_path and
	// pool_max_conns parameters, which only the store's driver knows.
	base := *u
	q := base.Query()
	q.Del("search_path")
	q.Del("pool_max_conns")
	base.RawQuery = q.Encode()

	db, err := serverdb.Open(ctx, dbURL, serverdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	team := schema.Team{ID: schema.NewID(), Name: "North"}
	officer := schema.User{ID: schema.NewID(), Username: "asha.k", Name: "Asha K", Role: schema.RoleOfficer, TeamID: team.ID}
	if err := db.CreateTeam(ctx, cliActor, team); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, cliActor, officer, testPassword); err != nil {
		t.Fatal(err)
	}
	caseID := schema.NewID()
	c := schema.Case{CRN: "X100001", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
		OfficerID: officer.ID, TeamID: team.ID, SentenceType: "community_order", SupervisionStart: "2026-10-01", RoSH: "high"}
	if err := db.Seed(ctx, cliActor, []schema.Record{{Entity: "case", ID: caseID, CaseID: caseID, Fields: schema.FieldsOf(c)}}); err != nil {
		t.Fatal(err)
	}
	seq, err := db.MaxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	oldEpoch := db.Epoch()
	cursor := "c:" + oldEpoch + ":" + strconv.FormatInt(seq, 10)
	records, err := db.CountRecords(ctx, "")
	if err != nil {
		t.Fatal(err)
	}

	// pg_dump with the store open, as with the server running.
	dump := filepath.Join(t.TempDir(), "doorstep.dump")
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("pg_dump", "--format=custom", "--schema="+schemaName, "--file="+dump, base.String())
	db.Close()

	// pg_restore into an empty database of its own.
	b := make([]byte, 4)
	rand.Read(b)
	restoredDB := "doorstep_restored_" + hex.EncodeToString(b)
	run("psql", base.String(), "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE "+restoredDB)
	t.Cleanup(func() {
		if out, err := exec.Command("psql", base.String(), "-q", "-c", "DROP DATABASE IF EXISTS "+restoredDB+" WITH (FORCE)").CombinedOutput(); err != nil {
			t.Errorf("drop database %s: %v\n%s", restoredDB, err, out)
		}
	})
	restoredBase := base
	restoredBase.Path = "/" + restoredDB
	run("pg_restore", "--no-owner", "--dbname="+restoredBase.String(), dump)
	restored := restoredBase
	rq := restored.Query()
	rq.Set("search_path", schemaName)
	restored.RawQuery = rq.Encode()

	open := func() *serverdb.DB {
		t.Helper()
		db, err := serverdb.Open(ctx, restored.String(), serverdb.Options{})
		if err != nil {
			t.Fatalf("open the restored database: %v", err)
		}
		return db
	}
	pull := func(db *serverdb.DB, cursor string) error {
		return db.Pull(ctx, serverdb.ActorOf(officer, "tablet-1"), schema.PullRequest{Cursor: cursor}, io.Discard)
	}
	// Without the epoch step the restored database takes the old cursor.
	r := open()
	if r.Epoch() != oldEpoch || pull(r, cursor) != nil {
		t.Fatalf("restored, before new-epoch: epoch %s (was %s), old cursor %v; want the dump's epoch, the cursor taken", r.Epoch(), oldEpoch, pull(r, cursor))
	}
	if n, err := r.CountRecords(ctx, ""); err != nil || n != records {
		t.Errorf("restored: %d records, %v; want %d", n, err, records)
	}
	r.Close()

	out, err := doorstep(t, "admin", "new-epoch", "--db", restored.String())
	if err != nil || !strings.Contains(out, "new cursor epoch") || !strings.Contains(out, "(was "+oldEpoch+")") {
		t.Fatalf("admin new-epoch: %v\n%s", err, out)
	}
	if out, err := doorstep(t, "admin", "audit", "verify", "--db", restored.String()); err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("admin audit verify on the restored database: %v\n%s", err, out)
	}
	r = open()
	defer r.Close()
	err = pull(r, cursor)
	if e := schema.AsError(err); r.Epoch() == oldEpoch || e == nil || e.Field != "cursor" || !strings.Contains(e.Message, "restored") {
		t.Fatalf("after new-epoch: epoch %s (was %s), the old cursor: %v; want a new epoch and the cursor refused as from before the restore", r.Epoch(), oldEpoch, err)
	}
	if err := pull(r, ""); err != nil {
		t.Errorf("a pull from the start after new-epoch: %v", err)
	}
}

// TestNewEpochOnSQLite: admin new-epoch also serves a SQLite file put in
// place by a copy rather than admin restore: a cursor from before is
// refused after it.
func TestNewEpochOnSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	if out, err := doorstep(t, "admin", "add-team", "--name", "North", "--data", data); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	open := func() *serverdb.DB {
		t.Helper()
		db, err := serverdb.Open(ctx, filepath.Join(data, serverDBFile), serverdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	old := db.Epoch()
	cursor := "c:" + old + ":0"
	db.Close()
	out, err := doorstep(t, "admin", "new-epoch", "--data", data)
	if err != nil || !strings.Contains(out, "(was "+old+")") || !strings.Contains(out, filepath.Join(data, serverDBFile)) {
		t.Fatalf("admin new-epoch --data: %v\n%s", err, out)
	}
	db = open()
	defer db.Close()
	err = db.Pull(ctx, cliActor, schema.PullRequest{Cursor: cursor}, io.Discard)
	if e := schema.AsError(err); db.Epoch() == old || e == nil || e.Field != "cursor" {
		t.Errorf("after new-epoch: epoch %s (was %s), a cursor of the old one: %v; want it refused", db.Epoch(), old, err)
	}
}
