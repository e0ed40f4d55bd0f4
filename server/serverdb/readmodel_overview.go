package serverdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// The dashboard overview's trends in fewer passes (decision 0072).
// Measure 7's flags are counted as of each week's last day (weekDays'
// each): one query of the figure's rows a week, 13 for an overview's
// trend and twice that for a share. Its figures of flags whose condition
// reads only the review's status (on time, in date, overdue, ...) are
// counted here in one pass over the flags instead: each flag joined to
// the weeks, its case's and its own dates compared with the week's last
// day, its status on that day worked out as reviewStatus does, and each
// figure's condition (reviewBase's) a conditional sum by week.

// flagWeeksInOnePass says whether figures, measure 7's, are all of one
// kind of flags (flags or da_flags) and read only the review's status.
func flagWeeksInOnePass(f FigureQuery, figures []string) bool {
	if f.Measure != MeasureReviews || len(figures) == 0 {
		return false
	}
	first, _, _ := strings.Cut(figures[0], ".")
	for _, name := range figures {
		if !slices.Contains(figureNames[MeasureReviews], name) {
			return false
		}
		kind, figure, _ := strings.Cut(name, ".")
		if kind != first || (kind != "flags" && kind != "da_flags") || figure == "reviewed_in_period" {
			return false
		}
	}
	return true
}

// flagWeeks counts each of figures (flagWeeksInOnePass) over each of
// weeks as the period, as of the week's last day, in one pass: what
// eachWeekRows' rows give, counted.
func flagWeeks(ctx context.Context, db querier, actor Actor, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	kind, _, _ := strings.Cut(figures[0], ".")
	// The figures' conditions on a review's status, as reviewBase writes
	// them (alias i): its select is not used, its as-of day not read.
	f.AsOf = weeks[len(weeks)-1].To
	d, _ := dayNumber(f.AsOf)
	g := f
	g.Figure = figures[0]
	cond, err := reviewBase(&sqlb{}, actor, g, d)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT i.w`)
	for _, name := range figures {
		q.add(`, sum(CASE WHEN `)
		cond(q, name)
		q.add(` THEN 1 ELSE 0 END)`)
	}
	// rm_flags and rm_cases first (CROSS JOIN keeps SQLite's order): one
	// pass over the flags, each compared with every week.
	q.add(` FROM (SELECT w.k AS w, CASE WHEN g.last_reviewed > w.e THEN 'after_as_of' WHEN g.next_review_date = '' THEN 'no_date'
		WHEN g.next_review_date < w.e THEN 'overdue' WHEN g.last_reviewed = '' THEN 'not_yet_due' ELSE 'in_date' END AS status
		FROM rm_flags g JOIN rm_cases c ON c.case_id = g.case_id CROSS JOIN (`)
	for i, w := range weeks {
		if i > 0 {
			q.add(` UNION ALL `)
		}
		q.add(fmt.Sprintf(`SELECT %d AS k, CAST(? AS TEXT) AS e`, i), string(w.To))
	}
	q.add(`) w WHERE (g.start_date = '' OR g.start_date <= w.e) AND (g.ended_on = '' OR g.ended_on > w.e)
		AND c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= w.e`)
	if kind == "da_flags" {
		q.add(` AND g.type IN ('da_perpetrator', 'da_victim')`)
	}
	if err := q.scoped(actor, "c", f); err != nil {
		return nil, err
	}
	q.add(`) i GROUP BY i.w`)
	return scanWeeks(ctx, db, q, f, figures, weeks)
}

// CasesByOfficer counts the cases of the actor's scope in the read model
// by their officer, of q's officer and team when set (its other fields
// not read): the overview's officers' table's caseload, what it counts
// over the page's decoded cases.
func (f Figures) CasesByOfficer(ctx context.Context, actor Actor, q FigureQuery) (map[string]int, error) {
	cases, err := f.ScopeCases(ctx, actor, q)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, officer := range cases {
		out[officer]++
	}
	return out, nil
}

// ScopeCases are the cases of the actor's scope in the read model, of
// q's officer and team when set (its other fields not read), each with
// its officer: the page's decoded cases on a counted overview (decision
// 0075), which measure 9's signed visits are filtered by.
func (f Figures) ScopeCases(ctx context.Context, actor Actor, q FigureQuery) (map[string]string, error) {
	s := &sqlb{}
	s.add(`SELECT c.case_id, c.officer_id FROM rm_cases c WHERE 1 = 1`)
	if err := s.scoped(actor, "c", q); err != nil {
		return nil, err
	}
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("cases of the scope: %w", err)
	}
	defer rs.Close()
	out := map[string]string{}
	for rs.Next() {
		var id, officer string
		if err := rs.Scan(&id, &officer); err != nil {
			return nil, fmt.Errorf("cases of the scope: %w", err)
		}
		out[id] = officer
	}
	return out, rs.Err()
}

// OverdueInDomesticAbuse counts q's overdue requirements (measure 2's
// "cases" figure, as of q's AsOf) in cases with a domestic-abuse flag
// live on that day: the overview's "in domestic-abuse cases" (decision
// 0075), what it counts over the page's decoded cases.
func (f Figures) OverdueInDomesticAbuse(ctx context.Context, actor Actor, q FigureQuery) (int, error) {
	q.Measure, q.Figure = MeasureOverdue, "cases"
	rows, err := figureRows(actor, q)
	if err != nil {
		return 0, err
	}
	s := &sqlb{}
	s.add(`SELECT count(*) FROM (`+rows.b.String()+`) o WHERE EXISTS (SELECT 1 FROM rm_flags g
		WHERE g.case_id = o.case_id AND g.type IN ('da_perpetrator', 'da_victim')
		AND (g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on > ?))`,
		slices.Concat(rows.args, []any{string(q.AsOf), string(q.AsOf)})...)
	return f.count(ctx, s, "overdue in domestic-abuse cases")
}

// count runs s, a statement of one count, and gives it; what names it in
// an error.
func (f Figures) count(ctx context.Context, s *sqlb, what string) (int, error) {
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		if err := rs.Scan(&n); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
	}
	return n, rs.Err()
}

// DuePlanned counts measure 8's requirements due in the WorkloadWeeks
// from q's AsOf (its "due_cases" rows) whose case has a visit planned
// on or after that day and on or before the requirement's due date: the
// numerator of the overview's workload headline (decision 0075), what
// compliance.WorkloadPlanned counts over the decoded cases.
func (f Figures) DuePlanned(ctx context.Context, actor Actor, q FigureQuery) (int, error) {
	q.Measure, q.Figure = MeasureWorkload, "due_cases"
	d, ok := dayNumber(q.AsOf)
	if !ok {
		return 0, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	s := &sqlb{}
	s.add(`SELECT count(*) FROM (`)
	if err := familyWeekRows(s, actor, q); err != nil {
		return 0, err
	}
	// A due day as a date: the rows are due from as_of, for WorkloadWeeks.
	s.add(` AND EXISTS (SELECT 1 FROM rm_visits v WHERE v.case_id = b.case_id AND v.status = 'planned' AND v.day <> ''
		AND v.day >= ? AND v.day <= CASE b.due_day`, string(q.AsOf))
	for i := range 7 * WorkloadWeeks {
		s.add(` WHEN ? THEN ?`, d+int64(i), string(schema.DateOf(q.AsOf.Time().AddDate(0, 0, i))))
	}
	s.add(` END)`)
	return f.count(ctx, s, "due with a visit planned")
}
