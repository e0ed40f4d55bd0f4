package serverdb

import (
	"context"
	"fmt"
	"slices"

	"doorstep/schema"
)

// The weekly trends the read model answers (docs/compliance.md, "The read
// model"): a figure whose rows each carry a day (the day that puts the row
// in a period) is counted week by week with one GROUP BY over the figure's
// rows of the whole period, rather than once per week.

// Week is one bar of a weekly trend: its first and last days.
type Week struct{ From, To schema.Date }

// weekDay is how a measure's figure is counted by week: the table its
// rows f are joined to (join, an SQL join clause), the day of a row that
// puts it in a period (day, an expression over that table), and what is
// counted (count). With family, the rows are the figure's family's
// (figureFamily) before its figure's condition, as b, and day is a day
// number of theirs (dayNumber) rather than a date. With each, the figure
// is counted over each week as the period as of the week's last day: one
// query of its rows a week, all in one statement (join and day unused).
type weekDay struct {
	join, day, count string
	family, each     bool
	// asOf: with each, the day a week's figure is as of: its last day
	// (""), that or q's AsOf whichever is earlier ("capped"), or q's AsOf
	// ("fixed").
	asOf string
}

// weekDays are, by measure, how its figures are counted by week. Measure
// 1's and measure 4's cases are in the period their supervision started
// in, and count as cases; measure 6's needs (referrals) are in the period
// they were identified in, and count as needs; the exemptions report's
// requirements are in the period they are due in, and count as
// requirements; measure 7's flags and RoSH assessments are those of each
// week's last day, and count as records (decision 0065).
var weekDays = map[string]weekDay{
	MeasureFirstHomeVisit: {join: "JOIN rm_cases c ON c.case_id = f.case_id", day: "c.supervision_start", count: "count(DISTINCT f.case_id)"},
	MeasureEnquiries:      {join: "JOIN rm_cases c ON c.case_id = f.case_id", day: "c.supervision_start", count: "count(DISTINCT f.case_id)"},
	MeasureInterventions:  {join: "JOIN rm_referrals r ON r.referral_id = f.referral_id", day: "r.identified_on", count: "count(*)"},
	MeasureExemptions:     {day: "b.due_day", count: "count(*)", family: true},
	MeasureReviews:        {count: "count(*)", each: true},
	// Measure 2's overdue requirements are those of each week's last day
	// (the overview's trend, decision 0075), and count as requirements.
	MeasureOverdue: {count: "count(*)", each: true},
	// Measure 8's requirements due in the weeks after each week's end
	// (the overview's trend, decision 0075), as requirements.
	MeasureWorkload: {count: "count(*)", each: true},
	// Measure 3's contacts are those of each week, as of its last day or
	// the as-of day if earlier (the overview's trend, decision 0075),
	// counted in one pass over the span's contacts (setWeeks, decision
	// 0077).
	MeasureContacts: {count: "count(*)", each: true, asOf: "capped"},
	// Measure 5's home visits are those of each week, as of the as-of day
	// (the overview's trend, decision 0075), counted in one pass over the
	// span's home visits (setWeeks, decision 0077).
	MeasureHouseholds: {count: "count(*)", each: true, asOf: "fixed"},
}

// Weeks counts q's figure by week: for each of weeks (in order, with no
// gap or overlap), the figure's rows whose day falls in it (the distinct
// cases among them, or the rows, as weekDays says), as FigureGroups counts
// the figure over that week as the period.
// q's From and To are the weeks' first and last days.
func (f Figures) Weeks(ctx context.Context, actor Actor, q FigureQuery, weeks []Week) ([]int, error) {
	out, err := figuresByWeek(ctx, f.q, actor, q, []string{q.Figure}, weeks)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// WeeksOf is Weeks for each of figures, q's measure's, in one statement:
// out[i] is figures[i]'s count by week, what Weeks gives for it (q's
// Figure not read). A share's numerator and denominator are one
// statement rather than two (decision 0072).
func (f Figures) WeeksOf(ctx context.Context, actor Actor, q FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	return figuresByWeek(ctx, f.q, actor, q, figures, weeks)
}

// FigureWeeks is Figures.Weeks on its own snapshot.
func (db *DB) FigureWeeks(ctx context.Context, actor Actor, q FigureQuery, weeks []Week) ([]int, error) {
	return Figures{q: db.r}.Weeks(ctx, actor, q, weeks)
}

// figuresByWeek counts each of figures by week, all in one statement:
// measure 7's figures of flags in one pass over the flags (flagWeeks),
// the others' rows each marked with its figure and week (unionWeeks).
func figuresByWeek(ctx context.Context, db querier, actor Actor, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	wd, ok := weekDays[f.Measure]
	if !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "measure", "the read model has no weekly trend of measure %q", f.Measure)
	}
	out := make([][]int, len(figures))
	for k := range out {
		out[k] = make([]int, len(weeks))
	}
	if len(weeks) == 0 || len(figures) == 0 {
		return out, nil
	}
	for i, w := range weeks {
		if _, ok := dayNumber(w.From); !ok {
			return nil, schema.Errorf(schema.ECodeInvalid, "from", "week %d's first day must be a date (YYYY-MM-DD)", i+1)
		}
		if _, ok := dayNumber(w.To); !ok || w.To < w.From || (i > 0 && w.From <= weeks[i-1].To) {
			return nil, schema.Errorf(schema.ECodeInvalid, "to", "week %d must end on a date on or after its first day, before the next week", i+1)
		}
	}
	if wd.each && flagWeeksInOnePass(f, figures) {
		return flagWeeks(ctx, db, actor, f, figures, weeks)
	}
	if s, ok := setWeeksInOnePass(wd, f, figures); ok {
		return setWeeks(ctx, db, s, actor, f, figures, weeks)
	}
	if requirementWeeksInOnePass(wd, f, figures) {
		return requirementWeeks(ctx, db, actor, f, figures, weeks)
	}
	return unionWeeks(ctx, db, wd, actor, f, figures, weeks)
}

// requirementWeeksInOnePass says whether figures are one, measure 2's
// overdue requirements or measure 8's requirements due in the
// WorkloadWeeks ahead, as of each week's last day: counted in one pass
// over the requirements (requirementWeeks).
func requirementWeeksInOnePass(wd weekDay, f FigureQuery, figures []string) bool {
	return wd.each && wd.asOf == "" && len(figures) == 1 &&
		((f.Measure == MeasureOverdue && figures[0] == "cases") || (f.Measure == MeasureWorkload && figures[0] == "due_cases"))
}

// requirementWeeks counts figures (requirementWeeksInOnePass) over each
// of weeks as of its last day in one pass: each requirement that may
// count in some week (open on one of their last days) joined to the
// weeks, the conditions of overdueRows or of workloadDueFamily's
// due_cases (unmetRows' condition included) on the week's last day, and the
// exemption of its case on that day (exemptOn's) a correlated
// condition of the rows that are left, rather than the cases exempted
// worked out once a week: what eachWeekRows' rows give, counted.
func requirementWeeks(ctx context.Context, db querier, actor Actor, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	first, _ := dayNumber(weeks[0].To)
	last, _ := dayNumber(weeks[len(weeks)-1].To)
	workload := f.Measure == MeasureWorkload
	q := &sqlb{}
	q.add(`SELECT w.k, count(*) FROM requirements r`)
	if workload {
		q.add(` JOIN rm_cases c ON c.case_id = r.case_id`)
	}
	// CROSS JOIN keeps SQLite's order: the requirements first, each
	// compared with every week.
	q.add(` CROSS JOIN (`)
	for i, w := range weeks {
		if i > 0 {
			q.add(` UNION ALL `)
		}
		d, _ := dayNumber(w.To)
		q.add(fmt.Sprintf(`SELECT %d AS k, %d AS d, CAST(? AS TEXT) AS e`, i, d), string(w.To))
	}
	q.add(`) w WHERE r.triggered_day <= ? AND (r.met_day IS NULL OR r.met_day > ?)
		AND r.triggered_day <= w.d AND (r.met_day IS NULL OR r.met_day > w.d)`, last, first)
	if workload {
		q.add(` AND r.due_day >= ? AND r.due_day <= ? AND c.closed = 0 AND c.supervision_start <> ''
			AND c.supervision_start <= w.e AND r.due_day >= w.d AND r.due_day <= w.d + ?`, first, last+7*WorkloadWeeks-1, 7*WorkloadWeeks-1)
	} else {
		q.add(` AND r.closed = 0 AND r.due_day < ? AND r.due_day < w.d`, last)
	}
	q.add(` AND NOT EXISTS (SELECT 1 FROM rm_exempt s WHERE s.case_id = r.case_id AND `)
	q.exemptingOnDay("s", "w.e", nil, "")
	q.add(`)`)
	if err := q.scoped(actor, "r", f); err != nil {
		return nil, err
	}
	q.add(` GROUP BY w.k`)
	return scanWeeks(ctx, db, q, f, figures, weeks)
}

// setWeeksInOnePass says whether figures, of one figure set of f's
// measure whose rows are dated (figureSet.byWeek: measure 3's contacts
// and measure 5's home visits, by the visit's day), are counted by week
// in one pass over the set's rows (setWeeks), and gives the set. A
// week's rows as of the as-of day ("fixed") are the span's rows of that
// week when the set's rows depend on the period only by their day and
// the week's first day (measure 5's cases, with their domestic-abuse
// flag live from the later of the start and the period's first day);
// as of the week's last day or the as-of day if earlier ("capped"), only
// for contacts, whose rows read the as-of day only as the last day a
// visit may have started: within a week that is the week's last day or
// the as-of day, whichever is earlier, either way.
func setWeeksInOnePass(wd weekDay, f FigureQuery, figures []string) (figureSet, bool) {
	if !wd.each || len(figures) == 0 {
		return figureSet{}, false
	}
	s, ok := figureSetOf(f.Measure, figures[0])
	if !ok || s.byWeek == nil || !(wd.asOf == "fixed" || (wd.asOf == "capped" && s.name == contactSet.name)) {
		return figureSet{}, false
	}
	for _, name := range figures {
		if !slices.Contains(figureNames[f.Measure], name) {
			return figureSet{}, false
		}
		if t, _ := figureSetOf(f.Measure, name); t.name != s.name {
			return figureSet{}, false
		}
	}
	return s, true
}

// setWeeks counts each of figures (of set s, setWeeksInOnePass) over each
// of weeks as the period, as of f's AsOf, in one pass over the set's rows
// of the weeks' whole span, each in the week its day falls in: what
// eachWeekRows' rows give, counted. As Figures.Counts does, the rows are
// counted by week and every column the conditions read first, and each
// figure's condition is a sum over those groups.
func setWeeks(ctx context.Context, db querier, s figureSet, actor Actor, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	f.From, f.To = weeks[0].From, weeks[len(weeks)-1].To
	keys := "a.wk"
	for _, c := range s.reads(figures) {
		keys += ", a." + c
	}
	q := &sqlb{}
	q.add(`SELECT b.wk`)
	for _, name := range figures {
		q.add(`, sum(CASE WHEN `)
		if err := s.cond(q, name); err != nil {
			return nil, err
		}
		q.add(` THEN b.n ELSE 0 END)`)
	}
	q.add(` FROM (SELECT ` + keys + `, count(*) AS n FROM (`)
	if err := s.byWeek(q, actor, f, weeks); err != nil {
		return nil, err
	}
	q.add(`) a WHERE a.wk IS NOT NULL GROUP BY ` + keys + `) b GROUP BY b.wk`)
	return scanWeeks(ctx, db, q, f, figures, weeks)
}

// scanWeeks runs q, whose rows are a week's index and each of figures'
// count that week, and gives the counts by figure and week (0 for a week
// without a row).
func scanWeeks(ctx context.Context, db querier, q *sqlb, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figures %s.%v by week: %w", f.Measure, figures, err)
	}
	defer rs.Close()
	out := make([][]int, len(figures))
	for k := range out {
		out[k] = make([]int, len(weeks))
	}
	for rs.Next() {
		var w int
		n := make([]int, len(figures))
		dst := []any{&w}
		for k := range n {
			dst = append(dst, &n[k])
		}
		if err := rs.Scan(dst...); err != nil {
			return nil, fmt.Errorf("figures %s.%v by week: %w", f.Measure, figures, err)
		}
		for k := range n {
			out[k][w] = n[k]
		}
	}
	return out, rs.Err()
}

// weekOf adds, as column wk, the index of the week of weeks that the date
// column day falls in (NULL for none); nothing without weeks.
func (q *sqlb) weekOf(day string, weeks []Week) {
	if len(weeks) == 0 {
		return
	}
	q.add(`, CASE`)
	for i, w := range weeks {
		q.add(fmt.Sprintf(` WHEN %s >= ? AND %s <= ? THEN %d`, day, day, i), string(w.From), string(w.To))
	}
	q.add(` END AS wk`)
}

// weekFrom adds the first day of the week of weeks that the date column
// day falls in (NULL for none); without weeks, from.
func (q *sqlb) weekFrom(day string, weeks []Week, from string) {
	if len(weeks) == 0 {
		q.add(`?`, from)
		return
	}
	q.add(`CASE`)
	for _, w := range weeks {
		q.add(` WHEN `+day+` >= ? AND `+day+` <= ? THEN CAST(? AS TEXT)`, string(w.From), string(w.To), string(w.From))
	}
	q.add(` END`)
}

// unionWeeks is figuresByWeek over the rows of each figure, each row
// marked with its figure (k) and week (w), in one UNION ALL.
func unionWeeks(ctx context.Context, db querier, wd weekDay, actor Actor, f FigureQuery, figures []string, weeks []Week) ([][]int, error) {
	out := make([][]int, len(figures))
	for k := range out {
		out[k] = make([]int, len(weeks))
	}
	count := "count(*)"
	if wd.count != count {
		count = "count(DISTINCT t.id)"
	}
	q := &sqlb{}
	q.add(`SELECT t.k, t.w, ` + count + ` FROM (`)
	for k, name := range figures {
		if k > 0 {
			q.add(` UNION ALL `)
		}
		g := f
		g.Figure = name
		if err := weekRows(q, wd, actor, g, weeks, k); err != nil {
			return nil, err
		}
	}
	q.add(`) t GROUP BY t.k, t.w`)
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figures %s.%v by week: %w", f.Measure, figures, err)
	}
	defer rs.Close()
	for rs.Next() {
		var k, n int
		var w *int
		if err := rs.Scan(&k, &w, &n); err != nil {
			return nil, fmt.Errorf("figures %s.%v by week: %w", f.Measure, figures, err)
		}
		if w != nil { // a day between two weeks: none when they leave no gap
			out[k][*w] = n
		}
	}
	return out, rs.Err()
}

// weekRows adds the rows of f's figure with their week, as k, w and id
// (the row's case): the figure's rows of the weeks' whole span, each
// marked with the week its day falls in (weekDays), or, for a measure
// counted as of each week's last day, its rows of each week.
func weekRows(q *sqlb, wd weekDay, actor Actor, f FigureQuery, weeks []Week, k int) error {
	if wd.each {
		return eachWeekRows(q, actor, f, weeks, k, wd.asOf)
	}
	f.From, f.To = weeks[0].From, weeks[len(weeks)-1].To
	q.add(fmt.Sprintf(`SELECT %d AS k, CASE`, k))
	for i, w := range weeks {
		if wd.family {
			from, _ := dayNumber(w.From)
			to, _ := dayNumber(w.To)
			q.add(fmt.Sprintf(` WHEN %s >= ? AND %s <= ? THEN %d`, wd.day, wd.day, i), from, to)
		} else {
			q.add(fmt.Sprintf(` WHEN %s >= ? AND %s <= ? THEN %d`, wd.day, wd.day, i), string(w.From), string(w.To))
		}
	}
	if wd.family {
		q.add(` END AS w, b.case_id AS id FROM (`)
		return familyWeekRows(q, actor, f)
	}
	q.add(` END AS w, f.case_id AS id FROM (`)
	rows, err := figureRows(actor, f)
	if err != nil {
		return err
	}
	q.add(rows.b.String()+`) f `+wd.join, rows.args...)
	return nil
}

// familyWeekRows adds the rows of f's figure, one of a family's, with the
// family's columns: the family's rows as b, with the figure's condition,
// and the closing parenthesis of the FROM they are in.
func familyWeekRows(q *sqlb, actor Actor, f FigureQuery) error {
	fam, ok := familyOf(f.Measure, f.Figure)
	if !ok {
		return schema.Errorf(schema.ECodeInvalid, "figure", "the read model has no weekly trend of figure %s.%s", f.Measure, f.Figure)
	}
	d, ok := dayNumber(f.AsOf)
	if !ok {
		return schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	q.within(actor, f)
	if err := fam.rows(q, actor, f, d); err != nil {
		return err
	}
	q.add(`) b WHERE `)
	fam.cond(q, f, d, f.Figure)
	return nil
}

// eachWeekRows adds the rows of f's figure over each of weeks as the
// period, as of the week's last day (f's From and To not read), or as
// asOf says (weekDay.asOf), each marked with its week, as k, w and id.
func eachWeekRows(q *sqlb, actor Actor, f FigureQuery, weeks []Week, k int, asOf string) error {
	for i, w := range weeks {
		g := f
		g.From, g.To, g.AsOf = w.From, w.To, w.To
		if asOf == "fixed" || (asOf == "capped" && f.AsOf < w.To) {
			g.AsOf = f.AsOf
		}
		rows, err := figureRows(actor, g)
		if err != nil {
			return err
		}
		if i > 0 {
			q.add(` UNION ALL `)
		}
		q.add(fmt.Sprintf(`SELECT %d AS k, %d AS w, r.case_id AS id FROM (`, k, i)+rows.b.String()+`) r`, rows.args...)
	}
	return nil
}
