package serverdb

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/schema"
)

func TestImportCasesAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	row := func(line int, crn, officer, team string, flags ...string) schema.CaseRow {
		return schema.CaseRow{Line: line, OfficerUsername: officer, TeamName: team, Flags: flags, Case: schema.Case{
			CRN: crn, GivenName: "Pat", FamilyName: "Lee", DateOfBirth: "1985-05-05", Address: "2 Low Rd",
			SentenceType: "licence", SupervisionStart: "2026-09-01", RoSH: "medium"}}
	}
	before, _ := f.db.CountRecords(ctx, "")
	_, err := f.db.ImportCases(ctx, f.admin, []schema.CaseRow{
		row(2, "C000003", "asha", "Team A", "da_perpetrator"),
		row(3, "C000004", "nobody", "Team A"),
		row(4, "A000001", "carl", "Team A"),
	})
	var ie *schema.ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 3 {
		t.Fatalf("import with bad rows: %v, want 3 problems (unknown officer, wrong team, existing crn)", err)
	}
	// A date of birth in the future (rule past) is named with its line.
	born := row(2, "C000005", "asha", "Team A")
	born.Case.DateOfBirth = "2099-01-01"
	var bie *schema.ImportError
	if _, err := f.db.ImportCases(ctx, f.admin, []schema.CaseRow{born}); !errors.As(err, &bie) || len(bie.Problems) != 1 ||
		bie.Problems[0].Field != "date_of_birth" || !strings.Contains(bie.Problems[0].Message, "cannot be in the future") {
		t.Errorf("import of a birth in 2099: %v", err)
	}
	if ie.Problems[0].Line != 3 || ie.Problems[0].Field != "officer_username" {
		t.Errorf("first problem = %+v", ie.Problems[0])
	}
	if after, _ := f.db.CountRecords(ctx, ""); after != before {
		t.Errorf("a failed import wrote %d records", after-before)
	}
	n, err := f.db.ImportCases(ctx, f.admin, []schema.CaseRow{row(2, "C000003", "asha", "team a", "da_perpetrator"), row(3, "C000004", "carl", "Team B")})
	if err != nil || n != 2 {
		t.Fatalf("good import = %d, %v", n, err)
	}
	if c, _ := f.db.CountRecords(ctx, "flag"); c != 1 {
		t.Errorf("%d flags, want 1", c)
	}
	cases, _ := f.db.List(ctx, f.actor(f.carl, ""), "case", "")
	if len(cases) != 1 || field(cases[0], "crn") != "C000004" {
		t.Errorf("Carl's imported cases = %+v", cases)
	}
}

func TestSeedValidates(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	bad := caseRecord(schema.NewID(), "not-a-crn", f.asha)
	before, _ := f.db.CountRecords(ctx, "")
	good := caseRecord(schema.NewID(), "Z000009", f.asha)
	err := f.db.Seed(ctx, f.admin, []schema.Record{good, bad})
	if e := schema.AsError(err); e == nil || e.Field != "records[1].fields.crn" {
		t.Fatalf("seed with a bad crn: %v", err)
	}
	if after, _ := f.db.CountRecords(ctx, ""); after != before {
		t.Errorf("a failed seed wrote records")
	}
}

// TestSeedKeepsThePushInvariants: a Seed of new cases and their records
// numbers every record in the change sequence, one after another and up
// to the counter; gives each new case its scope; writes one "seed" event
// in the audit chain (the fixture checks the chain after the test); and
// on PostgreSQL writes the records and scopes with COPY. An id already
// taken, by an earlier seed or earlier in the batch, is that record's
// error, and nothing of the batch is written.
func TestSeedKeepsThePushInvariants(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var copied func() int64
	if e, ok := f.db.eng.(*pgEngine); ok {
		copied = e.copied.Load
	}
	copiedBefore := int64(0)
	if copied != nil {
		copiedBefore = copied()
	}
	seqBefore := mustSeq(t, f.db)
	cases := []schema.Record{caseRecord(schema.NewID(), "S000101", f.asha), caseRecord(schema.NewID(), "S000102", f.carl)}
	recs := append([]schema.Record(nil), cases...)
	for i := range 300 {
		recs = append(recs, schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: cases[i%2].ID,
			Fields: raw("relation", "lodger", "residence", "lives_here", "name", fmt.Sprintf("Lee %d", i))})
	}
	recs = append(recs, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: f.ashaCase, Fields: signedVisit(f.asha.ID)})
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	seqAfter := mustSeq(t, f.db)
	var n, lo, hi int64
	if err := f.db.r.QueryRow(`SELECT count(*), min(seq), max(seq) FROM records WHERE seq > ?`, seqBefore).Scan(&n, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != int64(len(recs)) || lo != seqBefore+1 || hi != seqAfter || seqAfter != seqBefore+int64(len(recs)) {
		t.Errorf("seeded %d records: %d numbered %d..%d, counter %d → %d; want %d numbered %d..%d",
			len(recs), n, lo, hi, seqBefore, seqAfter, len(recs), seqBefore+1, seqBefore+int64(len(recs)))
	}
	for _, c := range []struct {
		id   string
		user schema.User
	}{{cases[0].ID, f.asha}, {cases[1].ID, f.carl}} {
		if got := rowCount(t, f.db, `SELECT count(*) FROM case_scope WHERE case_id = ? AND officer_id = ? AND team_id = ?`,
			c.id, c.user.ID, c.user.TeamID); got != 1 {
			t.Errorf("case_scope rows of a seeded case of %s: %d; want 1", c.user.Username, got)
		}
	}
	if got := rowCount(t, f.db, `SELECT count(*) FROM audit WHERE action = 'seed' AND detail = ?`, fmt.Sprintf(`{"records":%d}`, len(recs))); got != 1 {
		t.Errorf("seed events of the batch: %d; want 1", got)
	}
	// The officer of a seeded case pulls it; the other officer does not.
	page, err := f.db.PullResponse(ctx, f.actor(f.carl, "dev-carl"), schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 151 {
		t.Errorf("carl's pull after the seed: %d records; want his seeded case and its 150 household members", len(page.Records))
	}
	if copied != nil {
		// The records and the two scopes, copied; not one statement each.
		if got := copied() - copiedBefore; got < int64(len(recs))+2 {
			t.Errorf("rows copied for a seed of %d records and 2 cases: %d; want at least %d", len(recs), got, len(recs)+2)
		}
	}

	twice := caseRecord(schema.NewID(), "S000104", f.asha)
	for _, tc := range []struct {
		name  string
		recs  []schema.Record
		field string
	}{
		{"an id seeded before", []schema.Record{caseRecord(schema.NewID(), "S000103", f.asha), recs[5]}, "records[1].id"},
		{"an id twice in the batch", []schema.Record{twice, twice}, "records[1].id"},
	} {
		before := mustSeq(t, f.db)
		err := f.db.Seed(ctx, f.admin, tc.recs)
		if e := schema.AsError(err); e == nil || e.Field != tc.field || e.Code != schema.ECodeConflict {
			t.Errorf("%s: %v; want a conflict naming %s", tc.name, err, tc.field)
		}
		if after := mustSeq(t, f.db); after != before {
			t.Errorf("%s: the counter moved %d → %d; want nothing written", tc.name, before, after)
		}
	}
}

// TestSQLiteStatisticsAfterSeedAndOpen: the SQLite store gives its planner
// statistics (sqlite_stat1 rows, PRAGMA optimize) after a bulk Seed and
// when it opens, so that the report queries are not planned blind
// (decision 0061).
func TestSQLiteStatisticsAfterSeedAndOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "server.db")
	open := func() *DB {
		t.Helper()
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	admin, asha := teamAndOfficer(t, db)
	stats := func(what string) {
		t.Helper()
		for _, table := range []string{"records", "rm_cases", "rm_household"} {
			if got := rowCount(t, db, `SELECT count(*) FROM sqlite_stat1 WHERE tbl = ?`, table); got == 0 {
				t.Errorf("%s: no sqlite_stat1 rows of %s", what, table)
			}
		}
	}
	var recs []schema.Record
	for i := range 100 {
		c := caseRecord(schema.NewID(), fmt.Sprintf("S%06d", i), asha)
		recs = append(recs, c, schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: c.ID,
			Fields: raw("relation", "lodger", "residence", "lives_here", "name", fmt.Sprintf("Lee %d", i))})
	}
	if err := db.Seed(ctx, admin, recs); err != nil {
		t.Fatal(err)
	}
	stats("after a bulk seed")
	if _, err := db.w.Exec(`DELETE FROM sqlite_stat1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open()
	defer db.Close()
	stats("after an open")
}
