package serverdb

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestFlagWeeksMatchTheWeeksOneByOne: measure 7's figures of flags counted
// by week in one pass (flagWeeks, decision 0072) are what the figure's
// rows of each week, as of its last day, count (unionWeeks, the query of
// each week's rows as Figures.Groups runs it), for every figure of flags
// and of DA flags that reads only the status, for an admin, a supervisor
// and an officer, on two days; a figure that reads more keeps the rows
// of each week.
func TestFlagWeeksMatchTheWeeksOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := readModelActors(users)
	counted := 0
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		var weeks []Week
		for end := asOf.Time(); end.After(asOf.Time().AddDate(0, 0, -91)); end = end.AddDate(0, 0, -7) {
			weeks = append([]Week{{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)}}, weeks...)
		}
		for _, kind := range []string{"flags", "da_flags"} {
			var figures []string
			for _, name := range FigureNames(MeasureReviews) {
				if strings.HasPrefix(name, kind+".") && name != kind+".reviewed_in_period" {
					figures = append(figures, name)
				}
			}
			q := FigureQuery{Measure: MeasureReviews, AsOf: asOf}
			if !flagWeeksInOnePass(q, figures) || flagWeeksInOnePass(q, append(slices.Clone(figures), kind+".reviewed_in_period")) {
				t.Fatalf("%s: in one pass %v, with reviewed_in_period too", kind, figures)
			}
			for _, a := range actors {
				got, err := flagWeeks(ctx, db.r, a, q, figures, weeks)
				if err != nil {
					t.Fatal(err)
				}
				want, err := unionWeeks(ctx, db.r, weekDays[MeasureReviews], a, q, figures, weeks)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s on %s for %s: in one pass %v, week by week %v", kind, asOf, a.Role, got, want)
				}
				for _, n := range want[0] { // items
					counted += n
				}
			}
		}
	}
	if counted == 0 {
		t.Error("no flag in any week: the comparison tested nothing")
	}
}

// readModelActors are readModelStore's admin, its first supervisor and its
// first officer.
func readModelActors(users []schema.User) []Actor {
	var sup, officer schema.User
	for _, u := range users {
		switch {
		case u.Role == schema.RoleSupervisor && sup.ID == "":
			sup = u
		case u.Role == schema.RoleOfficer && officer.ID == "":
			officer = u
		}
	}
	return []Actor{{UserID: "admin", Role: schema.RoleAdmin}, ActorOf(sup, ""), ActorOf(officer, "")}
}

// TestCasesByOfficerCountsEveryCaseInScope: the overview's caseloads
// (CasesByOfficer) count every case of the scope, closed ones too (the
// store has one), as the officers' table counts the page's cases: for
// each actor, in all and for each officer and team filter, what
// ScopeCases lists.
func TestCasesByOfficerCountsEveryCaseInScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	var closed int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM rm_cases WHERE closed = 1`).Scan(&closed); err != nil || closed == 0 {
		t.Fatalf("the store's closed cases: %d, %v", closed, err)
	}
	fs := Figures{q: db.r}
	for _, a := range readModelActors(users) {
		narrows := []ScopeNarrow{{}}
		for _, u := range users {
			if u.Role == schema.RoleOfficer {
				narrows = append(narrows, ScopeNarrow{OfficerID: u.ID}, ScopeNarrow{TeamID: u.TeamID})
			}
		}
		for _, n := range narrows {
			got, err := fs.CasesByOfficer(ctx, a, FigureQuery{OfficerID: n.OfficerID, TeamID: n.TeamID})
			if err != nil {
				t.Fatal(err)
			}
			ids, err := db.ScopeCases(ctx, a, n)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for officer, k := range got {
				total += k
				if n.OfficerID != "" && officer != n.OfficerID {
					t.Errorf("%s, %+v: cases of officer %s", a.Role, n, officer)
				}
			}
			if total != len(ids) {
				t.Errorf("%s, %+v: %d cases by officer %v, %d in scope", a.Role, n, total, got, len(ids))
			}
		}
	}
}

// TestSetWeeksMatchTheWeeksOneByOne: measures 3 and 5's figures of visits
// counted by week in one pass over their rows (setWeeks) are what each
// week's rows count (unionWeeks, the query of each week's rows as
// Figures.Counts runs it): measure 3's as of each week's last day or the
// as-of day if earlier, measure 5's as of the as-of day, with each
// week's first day as the period's (the domestic-abuse flag live from
// then), for every figure of each set, for an admin, a supervisor and an
// officer, on two days and with weeks past the as-of day; measure 5's
// figures of cases keep the rows of each week.
func TestSetWeeksMatchTheWeeksOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	actors := readModelActors(users)
	// Some domestic-abuse flags ended within the weeks (the read model's
	// rows as the flags' records would leave them): a case of measure 5
	// over one week is not over a later one.
	for _, end := range []string{"2026-10-07", "2026-05-20"} {
		if _, err := db.w.ExecContext(ctx, `UPDATE rm_flags SET ended_on = ? WHERE flag_id IN (SELECT flag_id FROM rm_flags
			WHERE type IN ('da_perpetrator', 'da_victim') AND ended_on = '' ORDER BY flag_id
			LIMIT (SELECT count(*) / 3 FROM rm_flags WHERE type IN ('da_perpetrator', 'da_victim') AND ended_on = ''))`, end); err != nil {
			t.Fatal(err)
		}
	}
	sets := map[string][]string{MeasureContacts: FigureNames(MeasureContacts), MeasureHouseholds: householdVisitFigures}
	counted := map[string]int{}
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01", "2026-06-24"} {
		var weeks []Week
		// 13 weeks ending on 2026-07-05 for the last as-of day: the last
		// two weeks partly or wholly after it.
		last := asOf.Time()
		if asOf == "2026-06-24" {
			last = last.AddDate(0, 0, 11)
		}
		for end := last; end.After(last.AddDate(0, 0, -91)); end = end.AddDate(0, 0, -7) {
			weeks = append([]Week{{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)}}, weeks...)
		}
		for _, measure := range []string{MeasureContacts, MeasureHouseholds} {
			figures := sets[measure]
			q := FigureQuery{Measure: measure, AsOf: asOf}
			s, ok := setWeeksInOnePass(weekDays[measure], q, figures)
			if !ok {
				t.Fatalf("%s: %v not in one pass", measure, figures)
			}
			if _, ok := setWeeksInOnePass(weekDays[measure], q, append(slices.Clone(figures), "cases")); ok && measure == MeasureHouseholds {
				t.Fatalf("%s: a figure of cases in one pass", measure)
			}
			for _, a := range actors {
				got, err := setWeeks(ctx, db.r, s, a, q, figures, weeks)
				if err != nil {
					t.Fatal(err)
				}
				var want [][]int
				for _, name := range figures { // a compound SELECT of at most 500 terms on SQLite
					n, err := unionWeeks(ctx, db.r, weekDays[measure], a, q, []string{name}, weeks)
					if err != nil {
						t.Fatal(err)
					}
					want = append(want, n[0])
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s on %s for %s: in one pass %v, week by week %v", measure, asOf, a.Role, got, want)
				}
				for _, n := range want[0] {
					counted[measure] += n
				}
			}
		}
	}
	if counted[MeasureContacts] == 0 || counted[MeasureHouseholds] == 0 {
		t.Errorf("visits counted by week: %v: the comparison tested nothing", counted)
	}
}

// TestQAWindowMatchesTheQueries: measure 10's rows read once for a
// window (QAWindow, decision 0077) give for each period within it what
// QAEligible and QARatings give for that period (the overview's period,
// the previous one and each week from the period's start), for an
// admin, a supervisor and an officer (with their officer filter); a
// period outside the window is refused.
func TestQAWindowMatchesTheQueries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	fs := Figures{q: db.r}
	eligible, rated := 0, 0
	for _, a := range readModelActors(users) {
		officer := ""
		if a.Role == schema.RoleOfficer {
			officer = a.UserID
		}
		periods := []QAQuery{{From: "2026-05-27", End: "2026-08-25"}, {From: "2026-01-01", End: "2026-03-31"}}
		for end := schema.Date("2026-06-02"); end <= "2026-08-25"; end = schema.DateOf(end.Time().AddDate(0, 0, 7)) {
			periods = append(periods, QAQuery{From: "2026-05-27", End: end})
		}
		w, err := fs.QAWindow(ctx, a, QAQuery{From: "2026-01-01", End: "2026-08-25", OfficerID: officer})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range periods {
			q.OfficerID = officer
			want, err := fs.QAEligible(ctx, a, q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.Eligible(q)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %+v: eligible from the window %+v (%v), from the query %+v", a.Role, q, got, err, want)
			}
			wantR, err := fs.QARatings(ctx, a, q)
			if err != nil {
				t.Fatal(err)
			}
			gotR, err := w.Ratings(q)
			if err != nil || !reflect.DeepEqual(gotR, wantR) {
				t.Errorf("%s, %+v: ratings from the window %+v (%v), from the query %+v", a.Role, q, gotR, err, wantR)
			}
			eligible, rated = eligible+len(want), rated+len(wantR)
		}
		for _, q := range []QAQuery{{From: "2025-12-31", End: "2026-03-31"}, {From: "2026-01-01", End: "2026-08-26"},
			{From: "2026-01-01", End: "2026-03-31", OfficerID: "someone"}} {
			if _, err := w.Eligible(q); err == nil {
				t.Errorf("%s: eligible for %+v, outside the window", a.Role, q)
			}
			if _, err := w.Ratings(q); err == nil {
				t.Errorf("%s: ratings for %+v, outside the window", a.Role, q)
			}
		}
	}
	if eligible == 0 || rated == 0 {
		t.Errorf("%d eligible cases, %d ratings: the comparison tested nothing", eligible, rated)
	}
}

// TestRequirementWeeksMatchTheWeeksOneByOne: measure 2's overdue
// requirements and measure 8's requirements due in the weeks ahead,
// counted by week in one pass over the requirements (requirementWeeks,
// decision 0077), are what each week's rows as of its last day count
// (unionWeeks, the query of each week's rows as Figures.Groups runs it),
// for an admin, a supervisor and an officer, with and without a team
// filter, on two days; measure 8's other figures keep the rows of each
// week.
func TestRequirementWeeksMatchTheWeeksOneByOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	var exempted int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM rm_safety WHERE exempting = 1`).Scan(&exempted); err != nil || exempted == 0 {
		t.Fatalf("the store's exempting assessments: %d, %v", exempted, err)
	}
	counted := map[string]int{}
	for _, asOf := range []schema.Date{"2026-11-23", "2026-07-01"} {
		var weeks []Week
		for end := asOf.Time(); end.After(asOf.Time().AddDate(0, 0, -91)); end = end.AddDate(0, 0, -7) {
			weeks = append([]Week{{From: schema.DateOf(end.AddDate(0, 0, -6)), To: schema.DateOf(end)}}, weeks...)
		}
		for _, q := range []FigureQuery{{Measure: MeasureOverdue, Figure: "cases"}, {Measure: MeasureWorkload, Figure: "due_cases"},
			{Measure: MeasureWorkload, Figure: "due_cases", TeamID: users[len(users)-1].TeamID}} {
			q.AsOf = asOf
			wd := weekDays[q.Measure]
			if !requirementWeeksInOnePass(wd, q, []string{q.Figure}) {
				t.Fatalf("%s.%s not in one pass", q.Measure, q.Figure)
			}
			if requirementWeeksInOnePass(wd, q, []string{"overdue_cases"}) || requirementWeeksInOnePass(wd, q, []string{q.Figure, q.Figure}) {
				t.Fatalf("%s: another figure in one pass", q.Measure)
			}
			for _, a := range readModelActors(users) {
				got, err := requirementWeeks(ctx, db.r, a, q, []string{q.Figure}, weeks)
				if err != nil {
					t.Fatal(err)
				}
				want, err := unionWeeks(ctx, db.r, wd, a, q, []string{q.Figure}, weeks)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s.%s (team %q) on %s for %s: in one pass %v, week by week %v", q.Measure, q.Figure, q.TeamID, asOf, a.Role, got, want)
				}
				for _, n := range want[0] {
					counted[q.Measure] += n
				}
			}
		}
	}
	if counted[MeasureOverdue] == 0 || counted[MeasureWorkload] == 0 {
		t.Errorf("requirements counted by week: %v: the comparison tested nothing", counted)
	}
}
