package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"

	"doorstep/schema"
)

// Families of figures counted in one pass (decision 0057). Measure 1's
// figures, measure 8's figures of cases and of requirements, and the
// exemptions report's figures of requirements are each a condition on
// the same rows: a family writes those rows once (case_id, team_id,
// officer_id, x, wk and the columns its conditions read), and a figure's
// rows are the family's with its condition (figureRows), so that its
// case list is what its count counts. Figures.Groups counts every figure
// of a family in one GROUP BY with a conditional aggregate each (tally),
// once a snapshot, where it ran a statement a figure.

// figureFamily is a set of a measure's figures that are conditions on the
// same rows.
type figureFamily struct {
	name    string
	figures []string
	// rows writes the query of the family's rows.
	rows func(q *sqlb, actor Actor, f FigureQuery, d int64) error
	// cond writes the condition of figure on b, one of the rows.
	cond func(q *sqlb, f FigureQuery, d int64, figure string)
	// x and wk are the figures whose rows carry the row's x (days
	// overdue) and wk (week from as_of); the others' are 0.
	x, wk []string
	// perCase says the family's rows are one a case (rows of rm_cases):
	// its tally reads them as they are, each row its case's counts,
	// without grouping them by case (decision 0107).
	perCase bool
	// tallied are figures of the measure whose rows are their own
	// (figureRows: not the family's, familyOf does not name them) but
	// whose counts a tally of this perCase family makes too: each case's
	// count of the figure's rows is its row's column of the figure's
	// name, its rows are that many and it is one of the figure's cases
	// when it is not 0 (decision 0115). Figures.Groups and Cases answer
	// them from the tally as FigureGroups and FigureCases do from their
	// rows.
	tallied []string
}

// counted is the figures a tally of fam counts: its own, then those it
// tallies (tallied).
func (fam figureFamily) counted() []string {
	return append(slices.Clone(fam.figures), fam.tallied...)
}

// on is fam as its tally on PostgreSQL (pg) or SQLite counts it: a
// family tallies figures other than its own on PostgreSQL alone, whose
// rows have their columns (sqlb.pg).
func (fam figureFamily) on(pg bool) figureFamily {
	if !pg {
		fam.tallied = nil
	}
	return fam
}

// figureFamilies are the families, by measure.
var figureFamilies = map[string][]figureFamily{
	MeasureFirstHomeVisit: {firstVisitFamily},
	MeasureWorkload:       {workloadCaseFamily, workloadDueFamily},
	MeasureExemptions:     {exemptionsDueFamily, exemptionsSafetyFamily},
	MeasureOverdue:        {overdueFamily},
	MeasureReviews:        {reviewCasesFamily},
}

// overdueFamily: measure 2's one figure, a family of its own so that on a
// snapshot its counts and its cases are one statement (decision 0071).
var overdueFamily = figureFamily{
	name:    "requirements",
	figures: []string{"cases"},
	x:       []string{"cases"},
	rows:    overdueRows,
	cond:    func(q *sqlb, _ FigureQuery, _ int64, _ string) { q.add(`1 = 1`) },
}

// reviewCasesFamily: measure 7's cases (the open cases started by as_of),
// a family of its own so that on a snapshot the report's groups and its
// case list are one statement (decision 0071).
var reviewCasesFamily = figureFamily{
	name:    "cases",
	figures: []string{"cases"},
	rows:    reviewRows,
	cond:    func(q *sqlb, _ FigureQuery, _ int64, _ string) { q.add(`1 = 1`) },
	perCase: true,
}

// familyOf is the family of f's figure, false for a figure of none.
func familyOf(measure, figure string) (figureFamily, bool) {
	for _, fam := range figureFamilies[measure] {
		if slices.Contains(fam.figures, figure) {
			return fam, true
		}
	}
	return figureFamily{}, false
}

// tallyFamilyOf is the family whose tally counts figure: familyOf's,
// or on PostgreSQL (pg) a family that tallies it; false for none.
// Elsewhere a family's tally counts its own figures alone.
func tallyFamilyOf(measure, figure string, pg bool) (figureFamily, bool) {
	for _, fam := range figureFamilies[measure] {
		if fam = fam.on(pg); slices.Contains(fam.counted(), figure) {
			return fam, true
		}
	}
	return figureFamily{}, false
}

// familyRows adds the query of f's rows, f's figure one of family fam's.
func familyRows(q *sqlb, fam figureFamily, actor Actor, f FigureQuery, d int64) error {
	x, wk := "0", "0"
	if slices.Contains(fam.x, f.Figure) {
		x = "b.x"
	}
	if slices.Contains(fam.wk, f.Figure) {
		wk = "b.wk"
	}
	q.add(`SELECT b.case_id, b.team_id, b.officer_id, ` + x + ` AS x, ` + wk + ` AS wk FROM (`)
	if err := fam.rows(q, actor, f, d); err != nil {
		return err
	}
	q.add(`) b WHERE `)
	fam.cond(q, f, d, f.Figure)
	return nil
}

// tallyKey names one family's counts on a snapshot: the query but its
// figure, and who asked.
type tallyKey struct {
	actor  Actor
	q      FigureQuery
	family string
}

// familyTally is one family's figures on a snapshot: for each figure,
// its groups (what figureGroups answers for it) and its cases (casesOf:
// what figureCases lists, all of them, in case id order).
type familyTally struct {
	groups map[string][]FigureGroup
	// cases are each figure's cases as the rows came, unsorted (a case
	// of two groups twice), until casesOf sorts a figure's: a report
	// lists one or two of its family's figures, and sorting every
	// figure's cases of 100,000 was a fifth of measure 7's and 8's CPU in
	// the process (decision 0115). A figure's cases are sorted once
	// (sorted).
	cases  map[string][]string
	sorted map[string]bool
}

// casesOf is figure's cases, distinct, in case id order (byte order, as
// figureCases' "C" collation).
func (t *familyTally) casesOf(figure string) []string {
	if !t.sorted[figure] {
		// By their keys (sortIDs): ids as NewID writes them sort as
		// integers, in about a third of the strings' time (decisions
		// 0105, 0133).
		ids := sortIDs(t.cases[figure])
		t.cases[figure] = slices.Compact(ids) // a case of two groups once, as figureCases' DISTINCT
		t.sorted[figure] = true
	}
	return t.cases[figure]
}

// tally counts every figure of family fam for f (its Figure not read) in
// one pass: the family's rows counted by case, each case's counts added
// up by team and officer here, so that the same statement gives each
// figure's groups and its cases (a report's case list is then not a
// statement of its own, decision 0071).
//
// pg says db is PostgreSQL's (sqlb.pg).
func tally(ctx context.Context, db querier, pg bool, actor Actor, fam figureFamily, f FigureQuery, d int64) (*familyTally, error) {
	fam = fam.on(pg)
	q, err := tallyQuery(pg, actor, fam, f, d)
	if err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figures %s of %s: %w", fam.name, f.Measure, err)
	}
	defer rs.Close()
	type group struct {
		figures []FigureGroup
		hasX    []bool
	}
	figures := fam.counted()
	groups := map[[2]string]*group{}
	cases := make([][]string, len(figures))
	// One row's columns, scanned into the same places every row (int64s:
	// database/sql converts an int64 to an int through its text).
	var team, officer, caseID string
	n := make([]int64, len(figures))
	x := make([]sql.NullInt64, len(figures))
	wk := make([][WorkloadWeeks]int64, len(figures))
	dst := []any{&team, &officer, &caseID}
	for i, name := range figures {
		dst = append(dst, &n[i])
		if slices.Contains(fam.x, name) {
			dst = append(dst, &x[i])
		}
		if slices.Contains(fam.wk, name) {
			for w := range wk[i] {
				dst = append(dst, &wk[i][w])
			}
		}
	}
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return nil, fmt.Errorf("figures %s of %s: %w", fam.name, f.Measure, err)
		}
		g := groups[[2]string{team, officer}]
		if g == nil {
			g = &group{figures: make([]FigureGroup, len(figures)), hasX: make([]bool, len(figures))}
			for i := range g.figures {
				g.figures[i].TeamID, g.figures[i].OfficerID = team, officer
			}
			groups[[2]string{team, officer}] = g
		}
		for i := range figures {
			if n[i] == 0 {
				continue
			}
			fg := &g.figures[i]
			fg.Rows += int(n[i])
			fg.Cases++
			if x[i].Valid && (!g.hasX[i] || int(x[i].Int64) > fg.Max) {
				fg.Max, g.hasX[i] = int(x[i].Int64), true
			}
			for w := range wk[i] {
				fg.ByWeek[w] += int(wk[i][w])
			}
			cases[i] = append(cases[i], caseID)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("figures %s of %s: %w", fam.name, f.Measure, err)
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	out := &familyTally{groups: map[string][]FigureGroup{}, cases: map[string][]string{}, sorted: map[string]bool{}}
	for i, name := range figures {
		for _, k := range keys {
			if fg := groups[k].figures[i]; fg.Rows > 0 { // as figureGroups: the groups with a row
				out.groups[name] = append(out.groups[name], fg)
			}
		}
		out.cases[name] = cases[i]
	}
	return out, nil
}

// tallyQuery is the statement of tally (PostgreSQL's when pg): the rows
// counted by case, without count(DISTINCT): a figure's rows of the case,
// its largest x, its rows by week; a case is counted in a figure when it
// has a row of it. PostgreSQL sorts a group's rows for each DISTINCT
// aggregate, a sort a figure and group.
//
// A family whose rows are one a case (perCase) is not grouped: each row
// is its case's counts already, and grouping 100,000 cases by three text
// columns was most of such a tally's time on PostgreSQL (decision 0107).
func tallyQuery(pg bool, actor Actor, fam figureFamily, f FigureQuery, d int64) (*sqlb, error) {
	fam = fam.on(pg)
	q := (&sqlb{pg: pg}).within(actor, f)
	sumOf, maxOf, end := `sum(`, `max(`, `)`
	if fam.perCase {
		sumOf, maxOf, end = ``, ``, ``
	}
	q.add(`SELECT b.team_id, b.officer_id, b.case_id`)
	for i, name := range fam.counted() {
		if slices.Contains(fam.tallied, name) { // perCase: the case's count of the figure's rows
			q.add(fmt.Sprintf(`, b.%s AS n%d`, name, i))
			continue
		}
		cond := func() { fam.cond(q, f, d, name) }
		q.add(`, ` + sumOf + `CASE WHEN `)
		cond()
		q.add(fmt.Sprintf(` THEN 1 ELSE 0 END%s AS n%d`, end, i))
		if slices.Contains(fam.x, name) {
			q.add(`, ` + maxOf + `CASE WHEN `)
			cond()
			q.add(fmt.Sprintf(` THEN b.x END%s AS x%d`, end, i))
		}
		if slices.Contains(fam.wk, name) {
			for w := 1; w <= WorkloadWeeks; w++ {
				q.add(`, ` + sumOf + `CASE WHEN `)
				cond()
				q.add(fmt.Sprintf(` AND b.wk = %d THEN 1 ELSE 0 END%s AS w%d_%d`, w, end, i, w))
			}
		}
	}
	q.add(` FROM (`)
	if err := fam.rows(q, actor, f, d); err != nil {
		return nil, err
	}
	q.add(`) b`)
	if !fam.perCase {
		q.add(` GROUP BY b.team_id, b.officer_id, b.case_id`)
	}
	return q, nil
}

// familyTotals is Totals of figures of families: the rows of each of
// names (FigureGroup's Rows summed over every group), one statement a
// family (totalsQuery).
func (f Figures) familyTotals(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]int, error) {
	out := make([]int, len(names))
	done := make([]bool, len(names))
	for i := range names {
		if done[i] {
			continue
		}
		s, idx, err := totalsQuery(f.pg, actor, fq, names, i, done)
		if err != nil {
			return nil, err
		}
		if err := sumRows(ctx, f.q, s, idx, out); err != nil {
			fam, _ := familyOf(fq.Measure, names[i])
			return nil, fmt.Errorf("totals %s of %s: %w", fam.name, fq.Measure, err)
		}
	}
	return out, nil
}

// totalsQuery is familyTotals' statement for names[i]'s family: a sum a
// figure of names of that family not yet done (idx, each marked done),
// its rows grouped by nothing. Its rows are within the actor's scope and
// fq's team and officer, as tallyQuery's, so that the cases exempted
// (exemptOn's subquery, or the requirements' join on PostgreSQL) are the
// scope's, not the service's (decision 0110).
func totalsQuery(pg bool, actor Actor, fq FigureQuery, names []string, i int, done []bool) (*sqlb, []int, error) {
	q := fq
	q.Figure = names[i]
	if _, err := figureRows(actor, q); err != nil { // the parameters and the figure checked
		return nil, nil, err
	}
	fam, ok := familyOf(fq.Measure, names[i])
	if !ok {
		return nil, nil, fmt.Errorf("measure %s: figure %q is of no family", fq.Measure, names[i])
	}
	d, _ := dayNumber(fq.AsOf)
	var idx []int
	s := (&sqlb{pg: pg}).within(actor, q)
	s.add(`SELECT `)
	for j := i; j < len(names); j++ {
		if done[j] || !slices.Contains(fam.figures, names[j]) {
			continue
		}
		if len(idx) > 0 {
			s.add(`, `)
		}
		s.add(`coalesce(sum(CASE WHEN `)
		fam.cond(s, q, d, names[j])
		s.add(` THEN 1 ELSE 0 END), 0)`)
		idx = append(idx, j)
		done[j] = true
	}
	s.add(` FROM (`)
	if err := fam.rows(s, actor, q, d); err != nil {
		return nil, nil, err
	}
	s.add(`) b`)
	if !pg {
		// SQLite reads the rows in the order of an index by team and
		// officer when they are grouped so (requirements_team), and
		// ungrouped by the due day's index, then the table's rows in
		// that order: more than twice the time for the exemptions'
		// (decision 0082). The groups are summed by sumRows.
		s.add(` GROUP BY b.team_id, b.officer_id`)
	}
	return s, idx, nil
}

// sumRows runs q, whose rows are a count each of the figures idx names,
// and adds each row's counts to out's at idx.
func sumRows(ctx context.Context, qr querier, q *sqlb, idx []int, out []int) error {
	rs, err := qr.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	n := make([]int64, len(idx))
	dst := make([]any, len(n))
	for k := range n {
		dst[k] = &n[k]
	}
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return err
		}
		for k, j := range idx {
			out[j] += int(n[k])
		}
	}
	return rs.Err()
}

// tallyOnce is the tally of q's family on the snapshot, made the first
// time a figure of it is asked for; false when q's figure is of no
// family or f keeps no tallies.
func (f Figures) tallyOnce(ctx context.Context, actor Actor, q FigureQuery) (*familyTally, bool, error) {
	fam, ok := tallyFamilyOf(q.Measure, q.Figure, f.pg)
	if !ok || f.tallies == nil {
		return nil, false, nil
	}
	if _, err := figureRows(actor, q); err != nil { // the parameters checked
		return nil, false, err
	}
	d, _ := dayNumber(q.AsOf)
	key := tallyKey{actor: actor, q: q, family: fam.name}
	key.q.Figure = ""
	t, ok := f.tallies[key]
	switch {
	case ok:
	case q.Measure == MeasureReviews && f.reviews != nil: // with the RoSH reviews' counts, one statement
		if err := f.reviewCasesOnce(ctx, actor, q); err != nil {
			return nil, false, err
		}
		t = f.tallies[key]
	default:
		var err error
		if t, err = tally(ctx, f.q, f.pg, actor, fam, q, d); err != nil {
			return nil, false, err
		}
		f.tallies[key] = t
	}
	return t, true, nil
}

// groupsOnce is Figures.Groups: a figure of a family is counted with its
// whole family, once a snapshot.
func (f Figures) groupsOnce(ctx context.Context, actor Actor, q FigureQuery) ([]FigureGroup, error) {
	t, ok, err := f.tallyOnce(ctx, actor, q)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return figureGroups(ctx, f.q, actor, q)
	}
	return slices.Clone(t.groups[q.Figure]), nil
}

// casesOnce is Figures.Cases: the cases of a figure of a family are its
// family's tally's, once a snapshot.
func (f Figures) casesOnce(ctx context.Context, actor Actor, q FigureQuery, after string, limit int) ([]string, error) {
	if ids, ok := f.setCasesOnce(actor, q); ok {
		return casesAfter(ids, after, limit), nil
	}
	if ids, ok := f.neededCasesOnce(actor, q); ok {
		return casesAfter(ids, after, limit), nil
	}
	t, ok, err := f.tallyOnce(ctx, actor, q)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return figureCases(ctx, f.q, actor, q, after, limit)
	}
	return casesAfter(t.casesOf(q.Figure), after, limit), nil
}

// casesAfter is what figureCases answers of ids (sorted, distinct): those
// after the id after, at most limit of them, never nil.
func casesAfter(ids []string, after string, limit int) []string {
	i, found := slices.BinarySearch(ids, after)
	if found {
		i++
	}
	j := len(ids)
	if limit >= 0 && i+limit < j {
		j = i + limit
	}
	return append([]string{}, ids[i:j]...)
}

// firstVisitFamily: measure 1's figures, conditions on its cases, each
// with the outcome of its first home visit on as_of (firstVisitRows).
var firstVisitFamily = figureFamily{
	name:    "cases",
	figures: figureNames[MeasureFirstHomeVisit],
	rows:    firstVisitCases,
	perCase: true, // a case and its first home visit's requirement, if it has one (one a case: first_home)
	cond: func(q *sqlb, _ FigureQuery, _ int64, figure string) {
		switch figure {
		case "cases":
			q.add(`1 = 1`)
		case "denominator", "visited_at_all.denominator":
			q.add(`b.outcome IN ('on_time', 'late', 'missed')`)
		case "numerator":
			q.add(`b.outcome = 'on_time'`)
		case "visited_at_all.numerator":
			q.add(`b.outcome IN ('on_time', 'late')`)
		case "met_late":
			q.add(`b.outcome = 'late'`)
		case "not_yet_due_visited":
			q.add(`b.outcome = 'not_yet_due' AND b.visited = 1`)
		case "safety_not_approved":
			q.add(`b.safety = 'not_approved'`)
		case "safety_exempted":
			q.add(`b.safety = 'exempted'`)
		default: // missed, not_yet_due, exempted, cancelled, no_requirement
			q.add(`b.outcome = ?`, figure)
		}
	},
}

// workloadCaseFamily: measure 8's figures of cases, over its open cases;
// on PostgreSQL (sqlb.pg) its tally counts each case's planned visits
// too (tallied: workloadRows are planned's rows, a visit each). The
// visits are counted by case in a subquery the cases are joined to, a
// hash of them: PostgreSQL's own statement for planned took them one
// visit at a time into rm_cases_join, having guessed 985 visits where
// there were 55,232 at 100,000 cases (decision 0115). Elsewhere (SQLite,
// figureRows) the rows are without the column and the join.
var workloadCaseFamily = figureFamily{
	name:    "cases",
	figures: []string{"caseload", "da_cases", "high_rosh", "not_started"},
	tallied: []string{"planned"},
	perCase: true,
	rows: func(q *sqlb, actor Actor, f FigureQuery, _ int64) error {
		asOf := string(f.AsOf)
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk,
			CASE WHEN c.supervision_start <> '' AND c.supervision_start <= ? THEN 1 ELSE 0 END AS started,
			CASE WHEN c.rosh IN ('high', 'very_high') THEN 1 ELSE 0 END AS high,
			CASE WHEN c.supervision_start <> '' AND c.supervision_start <= ? AND EXISTS (SELECT 1 FROM rm_flags g
				WHERE g.case_id = c.case_id AND g.type IN ('da_perpetrator', 'da_victim')
				AND (g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on > ?)) THEN 1 ELSE 0 END AS da`,
			asOf, asOf, asOf, asOf)
		if !q.pg {
			q.add(` FROM rm_cases c WHERE c.closed = 0`)
			return q.scoped(actor, "c", f)
		}
		until := schema.DateOf(f.AsOf.Time().AddDate(0, 0, 7*WorkloadWeeks-1))
		q.add(`, CASE WHEN c.supervision_start <> '' AND c.supervision_start <= ? THEN coalesce(p.n, 0) ELSE 0 END AS planned
			FROM rm_cases c LEFT JOIN (SELECT v.case_id, count(*) AS n FROM rm_visits v
				WHERE v.status = 'planned' AND v.day <> '' AND v.day >= ? AND v.day <= ?`, asOf, asOf, string(until))
		q.inCases("v.case_id")
		q.add(` GROUP BY v.case_id) p ON p.case_id = c.case_id WHERE c.closed = 0`)
		return q.scoped(actor, "c", f)
	},
	cond: func(q *sqlb, _ FigureQuery, _ int64, figure string) {
		switch figure {
		case "caseload":
			q.add(`b.started = 1`)
		case "not_started":
			q.add(`b.started = 0`)
		case "da_cases":
			q.add(`b.da = 1`)
		case "high_rosh":
			q.add(`b.started = 1 AND b.high = 1`)
		}
	},
}

// workloadDueFamily: measure 8's figures of requirements of its caseload
// not met nor exempted on as_of: due in the next WorkloadWeeks weeks
// (by week), or overdue.
var workloadDueFamily = figureFamily{
	name:    "requirements",
	figures: []string{"due_cases", "overdue_cases"},
	wk:      []string{"due_cases"},
	rows: func(q *sqlb, actor Actor, f FigureQuery, d int64) error {
		// CROSS JOIN: SQLite joins in the order written, each requirement
		// to its case. With JOIN it read the second branch (met after
		// as_of) from every case of rm_cases, probing each one's
		// requirements, rather than requirements_met's few rows (2.0 s
		// against 0.5 s for the statement on a 25,000-case copy under
		// load, decision 0124). PostgreSQL plans it as the JOIN.
		return q.unmetRows(f, d, func(q *sqlb) error {
			q.add(`SELECT r.case_id, r.team_id, r.officer_id, 0 AS x, (r.due_day - ?) / 7 + 1 AS wk, r.due_day
			FROM requirements r CROSS JOIN rm_cases c
			WHERE c.case_id = r.case_id AND c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ? AND r.due_day <= ?`,
				d, string(f.AsOf), d+7*WorkloadWeeks-1)
			return q.scoped(actor, "r", f)
		})
	},
	cond: func(q *sqlb, _ FigureQuery, d int64, figure string) {
		if figure == "due_cases" {
			q.add(`b.due_day >= ?`, d)
		} else {
			q.add(`b.due_day < ?`, d)
		}
	},
}

// exemptionsDueFamily: the exemptions report's figures of requirements,
// due in the period up to as_of, each with whether it was met (met) and
// its case exempted (ex) on as_of (exemptionsDue).
var exemptionsDueFamily = figureFamily{
	name:    "requirements",
	figures: []string{"due", "exempted", "met", "missed", "met_despite_exemption"},
	rows: func(q *sqlb, actor Actor, f FigureQuery, d int64) error {
		if err := periodDates(f); err != nil {
			return err
		}
		q.add(`SELECT r.case_id, r.team_id, r.officer_id, 0 AS x, 0 AS wk, r.due_day,
			CASE WHEN r.met_day IS NOT NULL AND r.met_day <= ? THEN 1 ELSE 0 END AS met, CASE WHEN `, d)
		if !q.pg {
			q.exemptOn("r.case_id", f.AsOf, "")
			q.add(` THEN 1 ELSE 0 END AS ex FROM requirements r`)
			return exemptionsDue(q, actor, f, d)
		}
		// On PostgreSQL the cases exempted are joined, once a statement
		// (decision 0078): the tally's conditions read ex four times,
		// and PostgreSQL, pulling these rows up into them, copied
		// exemptOn's subquery into each, a hashed subplan over rm_safety
		// apiece (and apiece again in each parallel worker). A case has
		// at most one exempting assessment on a day (the latest), and
		// DISTINCT keeps the join from repeating a requirement even so.
		// SQLite keeps exemptOn, which it works out once a statement
		// already; a join there costs it more (decision 0071).
		q.add(`x.case_id IS NOT NULL THEN 1 ELSE 0 END AS ex FROM requirements r
			LEFT JOIN (SELECT DISTINCT s.case_id FROM rm_exempt s WHERE `)
		q.exempting("s", f.AsOf, "")
		q.inCases("s.case_id")
		q.add(`) x ON x.case_id = r.case_id`)
		return exemptionsDue(q, actor, f, d)
	},
	cond: func(q *sqlb, _ FigureQuery, d int64, figure string) {
		switch figure {
		case "met":
			q.add(`b.met = 1`)
		case "met_despite_exemption":
			q.add(`b.met = 1 AND b.ex = 1`)
		case "exempted":
			q.add(`b.met = 0 AND b.ex = 1`)
		case "missed":
			q.add(`b.met = 0 AND b.ex = 0 AND b.due_day < ?`, d)
		case "due": // met, exempted or missed: neither open nor cancelled
			q.add(`(b.met = 1 OR b.ex = 1 OR b.due_day < ?)`, d)
		}
	},
}
