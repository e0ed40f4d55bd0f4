package serverdb

import (
	"context"
	"errors"
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
