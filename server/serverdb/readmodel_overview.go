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

// QAWindow is measure 10's rows of every period within one window, read
// once (the overview's period, the previous one and each week's,
// decision 0077): each DA flag that makes its case eligible for some
// period of the window, and each rating of the window's days, from which
// Eligible and Ratings give what QAEligible and QARatings give for a
// period within it, worked out in Go as their statements do.
type QAWindow struct {
	q       QAQuery
	flags   []qaFlag
	ratings []qaRated
}

// qaFlag is a DA flag of an eligible case, with what the period decides:
// the case's start and the flag's start and end.
type qaFlag struct {
	caseID, crn, teamID, officerID, flag string
	start, flagStart, flagEnd            string
}

// qaRated is a rating of the window, with its day and whether its record
// is in the actor's scope (QARatings lists only those, though it finds
// the latest and counts among all the case's ratings).
type qaRated struct {
	QARating
	day     string
	inScope bool
}

// QAWindow reads measure 10's rows for every period from q's From to its
// End, for q's officer, in the actor's scope.
func (f Figures) QAWindow(ctx context.Context, actor Actor, q QAQuery) (*QAWindow, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	w := &QAWindow{q: q}
	b := &sqlb{}
	b.add(`SELECT c.case_id, c.crn, c.team_id, c.officer_id, g.type, c.supervision_start, g.start_date, g.ended_on`)
	if err := qaFlagRows(b, actor, q); err != nil {
		return nil, err
	}
	err := f.each(ctx, b, "qa window's flags", func(scan func(...any) error) error {
		var g qaFlag
		if err := scan(&g.caseID, &g.crn, &g.teamID, &g.officerID, &g.flag, &g.start, &g.flagStart, &g.flagEnd); err != nil {
			return err
		}
		w.flags = append(w.flags, g)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cond, args, err := scopeFilter(actor, "r.case_id")
	if err != nil {
		return nil, err
	}
	b = &sqlb{}
	b.add(`SELECT c.case_id, c.crn, c.team_id, c.officer_id, r.oversight_id, r.decision, r.reason, r.rated_by, r.rated_at, r.day,
		CASE WHEN `+cond+` THEN 1 ELSE 0 END
		FROM rm_qa_ratings r JOIN rm_cases c ON c.case_id = r.subject_id
		WHERE r.day <> '' AND r.day >= ? AND r.day <= ? AND r.decision IN ('sufficient', 'insufficient')`,
		append(args, string(q.From), string(q.End))...)
	if err := b.scoped(actor, "c", FigureQuery{OfficerID: q.OfficerID}); err != nil {
		return nil, err
	}
	b.add(` ORDER BY c.case_id`)
	err = f.each(ctx, b, "qa window's ratings", func(scan func(...any) error) error {
		var r qaRated
		var in int
		if err := scan(&r.CaseID, &r.CRN, &r.TeamID, &r.OfficerID, &r.OversightID, &r.Decision, &r.Reason, &r.By, &r.At, &r.day,
			&in); err != nil {
			return err
		}
		r.inScope = in == 1
		w.ratings = append(w.ratings, r)
		return nil
	})
	return w, err
}

// each runs b and calls row with each row's Scan; what names it in an
// error.
func (f Figures) each(ctx context.Context, b *sqlb, what string, row func(scan func(...any) error) error) error {
	rs, err := f.q.QueryContext(ctx, b.b.String(), b.args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rs.Close()
	for rs.Next() {
		if err := row(rs.Scan); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return rs.Err()
}

// within checks that q is a period of the window, for its officer.
func (w *QAWindow) within(q QAQuery) error {
	if err := q.check(); err != nil {
		return err
	}
	if q.From < w.q.From || q.End > w.q.End || q.OfficerID != w.q.OfficerID {
		return fmt.Errorf("measure 10 from %s to %s (officer %q) is not within the window read, %s to %s (officer %q)",
			q.From, q.End, q.OfficerID, w.q.From, w.q.End, w.q.OfficerID)
	}
	return nil
}

// Eligible is what QAEligible gives for q, a period within the window.
func (w *QAWindow) Eligible(q QAQuery) ([]QAEligible, error) {
	if err := w.within(q); err != nil {
		return nil, err
	}
	from, end := string(q.From), string(q.End)
	var out []QAEligible
	for _, g := range w.flags { // by case id and flag type, as QAEligible's rows
		if g.start > end || (g.flagStart != "" && g.flagStart > end) || (g.flagEnd != "" && g.flagEnd <= max(g.start, from)) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].CaseID == g.caseID {
			if last := &out[n-1]; last.DAFlags[len(last.DAFlags)-1] != g.flag {
				last.DAFlags = append(last.DAFlags, g.flag)
			}
			continue
		}
		out = append(out, QAEligible{CaseID: g.caseID, CRN: g.crn, TeamID: g.teamID, OfficerID: g.officerID, DAFlags: []string{g.flag}})
	}
	return out, nil
}

// Ratings is what QARatings gives for q, a period within the window:
// each case's latest rating of q's days (by rated_at, then oversight id)
// and how many it had then, when the latest's record is in scope.
func (w *QAWindow) Ratings(q QAQuery) ([]QARating, error) {
	if err := w.within(q); err != nil {
		return nil, err
	}
	from, end := string(q.From), string(q.End)
	var out []QARating
	var latest *qaRated
	n := 0
	flush := func() {
		if latest != nil && latest.inScope {
			r := latest.QARating
			r.Ratings = n
			out = append(out, r)
		}
		latest, n = nil, 0
	}
	for i := range w.ratings { // by case id
		r := &w.ratings[i]
		if latest != nil && latest.CaseID != r.CaseID {
			flush()
		}
		if r.day < from || r.day > end {
			continue
		}
		n++
		if latest == nil || r.At > latest.At || (r.At == latest.At && r.OversightID > latest.OversightID) {
			latest = r
		}
	}
	flush()
	return out, nil
}
