package serverdb

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// qaRows lists rm_qa_ratings as "subject/decision/day/by", sorted.
func qaRows(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.Query(`SELECT subject_id, decision, day, rated_by, reason FROM rm_qa_ratings`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s, d, day, by, reason string
		if err := rows.Scan(&s, &d, &day, &by, &reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join([]string{s, d, day, by, reason}, "/"))
	}
	slices.Sort(out)
	return out
}

// TestReadModelQARatings: a DA risk assessment rating written through the
// store (Oversee) or seeded gets its rm_qa_ratings row in the same
// transaction, on the UTC day of its at; another oversight of the case
// does not. A store migrated from before migration 0013 (no table, the
// ratings only in records) builds the read model again when it opens, and
// the rows are back as they were.
func TestReadModelQARatings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 23, 30, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "server.db")
	var logs bytes.Buffer
	open := func() *DB {
		t.Helper()
		logs.Reset()
		db, err := Open(ctx, path, Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	admin := Actor{UserID: "admin-test", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "Team A"}
	if err := db.CreateTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	asha := schema.User{ID: schema.NewID(), Username: "asha", Name: "Asha", Role: schema.RoleOfficer, TeamID: team.ID}
	sue := schema.User{ID: schema.NewID(), Username: "sue", Name: "Sue", Role: schema.RoleSupervisor, TeamID: team.ID}
	for _, u := range []schema.User{asha, sue} {
		if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	a, b := schema.NewID(), schema.NewID()
	seeded := schema.Oversight{SubjectEntity: "case", SubjectID: b, Aspect: schema.AspectDARiskAssessment, Decision: "insufficient",
		Reason: "no police check", By: sue.ID, At: "2026-10-01T14:00:00+02:00"}
	if err := db.Seed(ctx, admin, []schema.Record{caseRecord(a, "A000001", asha), caseRecord(b, "A000002", asha),
		{Entity: "oversight", ID: schema.NewID(), CaseID: b, Fields: schema.FieldsOf(seeded)}}); err != nil {
		t.Fatal(err)
	}
	sup := ActorOf(sue, "")
	if _, err := db.Oversee(ctx, sup, OversightInput{SubjectEntity: "case", SubjectID: a, Aspect: schema.AspectDARiskAssessment,
		Decision: "sufficient"}); err != nil {
		t.Fatal(err)
	}
	// Oversight records of existing cases, three at once: one DELETE of
	// their rows, and nothing else of the cases' read model written again.
	general := schema.Oversight{SubjectEntity: "case", SubjectID: a, Decision: "noted", Reason: "read it", By: sue.ID,
		At: "2026-11-02T10:00:00Z"}
	before := db.rmDeletes.Load()
	if err := db.Seed(ctx, admin, []schema.Record{{Entity: "oversight", ID: schema.NewID(), CaseID: a, Fields: schema.FieldsOf(general)},
		{Entity: "oversight", ID: schema.NewID(), CaseID: a, Fields: schema.FieldsOf(general)},
		{Entity: "oversight", ID: schema.NewID(), CaseID: b, Fields: schema.FieldsOf(seeded)}}); err != nil {
		t.Fatal(err)
	}
	if n := db.rmDeletes.Load() - before; n != 1 {
		t.Errorf("three oversight records made %d read model deletes, want 1 (their rows, in one statement)", n)
	}
	want := []string{a + "/sufficient/2026-11-23/" + sue.ID + "/", b + "/insufficient/2026-10-01/" + sue.ID + "/no police check",
		b + "/insufficient/2026-10-01/" + sue.ID + "/no police check"}
	if got := qaRows(t, db); !slices.Equal(got, want) {
		t.Errorf("rm_qa_ratings: %q, want %q", got, want)
	}
	got, err := db.QARatingRecords(ctx, sup)
	if err != nil || len(got) != 3 || !got[0].IsDARating() {
		t.Errorf("QARatingRecords = %+v, %v; want the 3 ratings", got, err)
	}

	// A store from before migration 0013.
	for _, q := range []string{`DROP TABLE rm_qa_ratings`, `DELETE FROM schema_migrations WHERE version = 13`} {
		if _, err := db.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = open()
	defer db.Close()
	if !strings.Contains(logs.String(), "building the compliance read model: 2 cases") ||
		!strings.Contains(logs.String(), `why="a migration added to it"`) {
		t.Errorf("a store migrated to 0013: the log says %q; want it to build the read model", logs.String())
	}
	if got := qaRows(t, db); !slices.Equal(got, want) {
		t.Errorf("rm_qa_ratings after the rebuild: %q, want %q", got, want)
	}
}
