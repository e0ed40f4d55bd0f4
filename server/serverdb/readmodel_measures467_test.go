package serverdb

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// rmExtras reads the columns migration 0012 added, of the rows of one
// case, as one line.
func rmExtras(t *testing.T, db *DB, caseID string) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT rosh_date || '|' || rosh_due || '|' || coalesce(rosh_due_day, -1) || '|' || coalesce(start_day, -1) FROM rm_cases WHERE case_id = ?`,
		`SELECT last_reviewed || '|' || next_review_date || '|' || coalesce(next_review_day, -1) FROM rm_flags WHERE case_id = ?`,
		`SELECT decision_reason FROM rm_referrals WHERE case_id = ?`,
		`SELECT not_requested_reason || '|' || coalesce(answered_day, -1) FROM rm_enquiries WHERE case_id = ? ORDER BY not_requested_reason`,
	} {
		rows, err := db.r.Query(q, caseID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
	}
	return strings.Join(out, " ; ")
}

// TestReadModelMigration0012: the columns of measures 4, 6 and 7 are
// written with every write, and a store migrated to version 12 (its rows
// written before the columns were, so without their values) builds the
// read model again when it opens, filling them.
func TestReadModelMigration0012(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "server.db")
	db, err := Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	admin, asha := teamAndOfficer(t, db)
	caseID := schema.NewID()
	rec := func(entity string, v any) schema.Record {
		return schema.Record{Entity: entity, ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)}
	}
	c := caseRecord(caseID, "A000012", asha)
	c.Fields["rosh_date"] = []byte(`"2026-08-31"`)
	if err := db.Seed(ctx, admin, []schema.Record{c,
		rec("flag", schema.Flag{Type: "marac", StartDate: "2026-09-01", LastReviewed: "2026-10-01", NextReviewDate: "2026-12-01"}),
		rec("referral", schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-10-02", Decision: "not_available", DecisionReason: "none this year"}),
		rec("enquiry", schema.Enquiry{Agency: "police", Stage: "initial_assessment", RequestedOn: "2026-10-02", AnsweredOn: "2026-10-05"}),
		rec("enquiry", schema.Enquiry{Agency: "childrens_services", Stage: "initial_assessment", NotRequestedReason: "no child"}),
	}); err != nil {
		t.Fatal(err)
	}
	// 2026-08-31 + 6 months is 2027-02-28 (day 20877); the start,
	// 2026-10-01, is day 20727, 2026-12-01 day 20788, 2026-10-05 day 20731.
	const want = "2026-08-31|2027-02-28|20877|20727 ; 2026-10-01|2026-12-01|20788 ; none this year ; |20731 ; no child|-1"
	if got := rmExtras(t, db, caseID); got != want {
		t.Errorf("written: %q, want %q", got, want)
	}
	// As a store migrated from version 11: the columns at their defaults,
	// then the migration's statements other than its ALTER TABLEs.
	for _, q := range []string{`UPDATE rm_cases SET rosh_date = '', rosh_due = '', rosh_due_day = NULL, start_day = NULL`,
		`UPDATE rm_flags SET last_reviewed = '', next_review_date = '', next_review_day = NULL`,
		`UPDATE rm_referrals SET decision_reason = ''`, `UPDATE rm_enquiries SET not_requested_reason = '', answered_day = NULL`} {
		if _, err := db.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var mig string
	for _, m := range schema.ServerMigrations() {
		if strings.HasPrefix(m.Name, "0012_") {
			mig = m.SQL
		}
	}
	var lines []string
	for _, l := range strings.Split(mig, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	ran := 0
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if s := strings.TrimSpace(stmt); s != "" && !strings.HasPrefix(s, "ALTER TABLE") {
			if _, err := db.w.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("migration 0012 has no statement but its ALTER TABLEs: nothing makes an existing store build its read model again")
	}
	db.Close()
	var logs bytes.Buffer
	db, err = Open(ctx, path, Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := rmExtras(t, db, caseID); got != want {
		t.Errorf("after the migration and an open: %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), `why="a migration added to it"`) {
		t.Errorf("the open after the migration logged %q; want it to say a migration changed the read model's tables", logs.String())
	}
}
