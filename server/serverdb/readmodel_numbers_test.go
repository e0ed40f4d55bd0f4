package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// caseNumbers checks that every rm_cases row's team_no and officer_no
// are the numbers rm_ids gives its team_id and officer_id (migration
// 0020), and returns the number of each id.
func caseNumbers(t *testing.T, db *DB) map[string]int64 {
	t.Helper()
	rows, err := db.r.Query(`SELECT c.case_id, c.team_id, c.officer_id, c.team_no, c.officer_no,
		coalesce((SELECT i.id FROM rm_ids i WHERE i.no = c.team_no), '?'), coalesce((SELECT i.id FROM rm_ids i WHERE i.no = c.officer_no), '?')
		FROM rm_cases c`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id, team, officer, teamOf, officerOf string
		var teamNo, officerNo int64
		if err := rows.Scan(&id, &team, &officer, &teamNo, &officerNo, &teamOf, &officerOf); err != nil {
			t.Fatal(err)
		}
		if teamOf != team || officerOf != officer {
			t.Errorf("case %s: team %s officer %s, numbered %d (%s) and %d (%s)", id, team, officer, teamNo, teamOf, officerNo, officerOf)
		}
		out[team], out[officer] = teamNo, officerNo
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCaseRowsCarryTheirIdsNumbers: the write that puts a case's row in
// rm_cases numbers its team and officer (rm_ids) when they have no number
// yet, and the row carries the numbers (measure 3 groups by them:
// decision 0091); a case moved to another officer and team carries
// theirs, and a number, once given, stays its id's.
func TestCaseRowsCarryTheirIdsNumbers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	seeded := caseNumbers(t, f.db)
	if seeded[f.asha.ID] == seeded[f.ben.ID] || seeded[f.asha.ID] == seeded[f.teamA.ID] {
		t.Errorf("Asha, Ben and team A share numbers: %v", seeded)
	}
	if _, err := f.db.Write(ctx, f.admin, "case", f.ashaCase, "", raw("officer_id", f.carl.ID, "team_id", f.teamB.ID)); err != nil {
		t.Fatal(err)
	}
	moved := caseNumbers(t, f.db)
	if _, ok := moved[f.carl.ID]; !ok {
		t.Errorf("Carl's case has no number for him: %v", moved)
	}
	if moved[f.ben.ID] != seeded[f.ben.ID] || moved[f.teamA.ID] != seeded[f.teamA.ID] {
		t.Errorf("numbers changed: seeded %v, after the move %v", seeded, moved)
	}
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_ids WHERE id = ? AND no = ?`, f.asha.ID, seeded[f.asha.ID]); n != 1 {
		t.Errorf("Asha's number %d is gone from rm_ids once she has no case (%d rows)", seeded[f.asha.ID], n)
	}
	// Back to Asha: her number again.
	if _, err := f.db.Write(ctx, f.admin, "case", f.ashaCase, "", raw("officer_id", f.asha.ID, "team_id", f.teamA.ID)); err != nil {
		t.Fatal(err)
	}
	if back := caseNumbers(t, f.db); back[f.asha.ID] != seeded[f.asha.ID] {
		t.Errorf("Asha's case back with her: number %d, was %d", back[f.asha.ID], seeded[f.asha.ID])
	}
}

// recordingQuerier keeps the text of every statement it runs.
type recordingQuerier struct {
	q    querier
	text *[]string
}

func (r recordingQuerier) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	*r.text = append(*r.text, q)
	return r.q.QueryContext(ctx, q, args...)
}

// TestSetCountsGroupedByNumbers: every figure set's counts (measure 3's
// contacts, measure 5's cases and home visits, each of which joins its
// rows to rm_cases) group the rows by the team's and officer's numbers,
// not their ids (decisions 0091, 0093), and answer the ids: the same
// groups, by id, as each figure's rows counted alone (figureGroups).
func TestSetCountsGroupedByNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	admin := readModelActors(users)[0]
	for _, c := range []struct {
		measure string
		names   []string
	}{
		{MeasureContacts, FigureNames(MeasureContacts)},
		{MeasureHouseholds, householdCaseFigures},
		{MeasureHouseholds, householdVisitFigures},
	} {
		var text []string
		q := FigureQuery{Measure: c.measure, AsOf: "2026-11-23", From: "2026-08-25", To: "2026-11-23"}
		got, err := Figures{q: recordingQuerier{db.r, &text}}.Counts(ctx, admin, q, c.names)
		if err != nil {
			t.Fatal(err)
		}
		if len(text) != 1 || !strings.Contains(text[0], "GROUP BY b.team_no, b.officer_no") {
			t.Errorf("%s %s: %d statements, the first not grouped by the numbers: %.300q", c.measure, c.names[0], len(text), text)
		}
		for i, name := range c.names {
			q.Figure = name
			groups, err := figureGroups(ctx, db.r, admin, q)
			if err != nil {
				t.Fatal(err)
			}
			var want, have []string
			for _, g := range groups {
				want = append(want, fmt.Sprintf("%s/%s:%d", g.TeamID, g.OfficerID, g.Rows))
			}
			for _, g := range got {
				if g.N[i] > 0 {
					have = append(have, fmt.Sprintf("%s/%s:%d", g.TeamID, g.OfficerID, g.N[i]))
				}
			}
			if !slices.Equal(have, want) {
				t.Errorf("%s.%s: counted by numbers %v, alone %v", c.measure, name, have, want)
			}
			if len(want) == 0 && name == c.names[0] {
				t.Errorf("%s.%s: no group: the test tests nothing", c.measure, name)
			}
		}
	}
}
