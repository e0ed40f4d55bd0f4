package serverdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// Measure 7, review activity, over the read model (docs/compliance.md,
// "The read model"): every flag live on as_of, and each case's RoSH
// assessment, of the open cases started by as_of, with its review status
// on as_of worked out by the query from the dates on the row, as
// compliance.reviewStatus does on the decoded records.

// MeasureReviews is measure 7's report name.
const MeasureReviews = "reviews"

// reviewKinds are measure 7's kinds of review, as its figures name them.
var reviewKinds = []string{"flags", "da_flags", "rosh"}

// reviewFigures are the figures of one kind of review.
var reviewFigures = []string{"items", "on_time.numerator", "on_time.denominator", "in_date", "overdue", "not_yet_due",
	"no_date", "after_as_of", "reviewed_in_period"}

func init() {
	names := []string{"cases"}
	for _, k := range reviewKinds {
		for _, f := range reviewFigures {
			names = append(names, k+"."+f)
		}
	}
	figureNames[MeasureReviews] = names
}

// reviewCaseOn adds the condition that case c is in measure 7 on as_of:
// open, its supervision started on or before as_of.
func (q *sqlb) reviewCaseOn(asOf schema.Date) {
	q.add(` AND c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ?`, string(asOf))
}

// reviewStatus adds the review status on as_of of a review last done on
// last, next due on due (due_day its day number), as
// compliance.reviewStatus, named status, and its days overdue, named x.
func (q *sqlb) reviewStatus(last, due, dueDay string, asOf schema.Date, d int64) {
	a := string(asOf)
	q.add(`CASE WHEN `+last+` > ? THEN 'after_as_of' WHEN `+due+` = '' THEN 'no_date' WHEN `+due+` < ? THEN 'overdue'
		WHEN `+last+` = '' THEN 'not_yet_due' ELSE 'in_date' END AS status,
		CASE WHEN `+last+` <= ? AND `+due+` <> '' AND `+due+` < ? THEN ? - `+dueDay+` ELSE 0 END AS x`, a, a, a, a, d)
}

// reviewRows: measure 7's figures. Its rows are reviews (a flag, or a
// case's RoSH assessment, whose id is the case's), with the case.
func reviewRows(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	if err := periodDates(f); err != nil {
		return err
	}
	if f.Figure == "cases" {
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk FROM rm_cases c WHERE 1 = 1`)
		q.reviewCaseOn(f.AsOf)
		return q.scoped(actor, "c", f)
	}
	x := "0" // the days overdue, of the overdue figure only (its max_days_overdue)
	if strings.HasSuffix(f.Figure, ".overdue") {
		x = "i.x"
	}
	base := &sqlb{}
	cond, err := reviewBase(base, actor, f, d)
	if err != nil {
		return err
	}
	q.add(`SELECT i.case_id, i.team_id, i.officer_id, `+x+` AS x, 0 AS wk FROM (`+base.b.String()+`) i WHERE `, base.args...)
	cond(q, f.Figure)
	return nil
}

// reviewBase writes the select of every review of f's kind (flags,
// da_flags, rosh: its figure's prefix) with its status on as_of and its
// days overdue (x), and returns what adds a figure's condition on them
// (alias i).
func reviewBase(q *sqlb, actor Actor, f FigureQuery, d int64) (func(q *sqlb, figure string), error) {
	kind, _, _ := strings.Cut(f.Figure, ".")
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, `)
	if kind == "rosh" {
		q.add(`c.rosh_date AS last, `)
		q.reviewStatus("c.rosh_date", "c.rosh_due", "c.rosh_due_day", f.AsOf, d)
		q.add(` FROM rm_cases c WHERE 1 = 1`)
	} else {
		asOf := string(f.AsOf)
		q.add(`g.last_reviewed AS last, `)
		q.reviewStatus("g.last_reviewed", "g.next_review_date", "g.next_review_day", f.AsOf, d)
		q.add(` FROM rm_flags g JOIN rm_cases c ON c.case_id = g.case_id
			WHERE (g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on > ?)`, asOf, asOf)
		if kind == "da_flags" {
			q.add(` AND g.type IN ('da_perpetrator', 'da_victim')`)
		}
	}
	q.reviewCaseOn(f.AsOf)
	if err := q.scoped(actor, "c", f); err != nil {
		return nil, err
	}
	return func(q *sqlb, figure string) {
		_, figure, _ = strings.Cut(figure, ".")
		switch figure {
		case "items":
			q.add(`1 = 1`)
		case "on_time.numerator":
			q.add(`i.status = 'in_date'`)
		case "on_time.denominator":
			q.add(`i.status IN ('in_date', 'overdue')`)
		case "reviewed_in_period":
			q.add(`i.last <> '' AND i.last >= ? AND i.last <= ? AND i.last <= ?`, string(f.From), string(f.To), string(f.AsOf))
		default: // in_date, overdue, not_yet_due, no_date, after_as_of
			q.add(`i.status = ?`, figure)
		}
	}, nil
}

// FigureSums are several figures of one measure counted for the rows of
// one team and officer: N[i] the rows of the i-th figure asked for, Max
// the largest x of the rows (measure 7's days overdue, which only its
// overdue rows have).
type FigureSums struct {
	TeamID, OfficerID string
	N                 []int
	Max               int
}

// figureBases are the measures whose figures of one family (the name's
// first part: a kind of review, an agency) can be counted in one pass
// (figureSums): each writes the family's rows and returns what adds a
// figure's condition on them.
var figureBases = map[string]func(q *sqlb, actor Actor, f FigureQuery, d int64) (func(q *sqlb, figure string), error){
	MeasureReviews:   reviewBase,
	MeasureEnquiries: enquiryBase,
}

// figureSums counts the figures of f's measure, all of the family of
// f.Figure, by team and officer in one pass over the family's rows: one
// sum(CASE) each, where FigureGroups would run a query each. The groups
// with at least one row, ordered by team then officer id.
func figureSums(ctx context.Context, db querier, actor Actor, f FigureQuery, figures []string) ([]FigureSums, error) {
	baseOf := figureBases[f.Measure]
	for _, name := range figures {
		if !slices.Contains(figureNames[f.Measure], name) || baseOf == nil {
			return nil, schema.Errorf(schema.ECodeInvalid, "figure", "measure %s has no figure %q to count in one pass", f.Measure, name)
		}
	}
	d, ok := dayNumber(f.AsOf)
	if !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	if err := periodDates(f); err != nil {
		return nil, err
	}
	base := &sqlb{}
	cond, err := baseOf(base, actor, f, d)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT i.team_id, i.officer_id`)
	for _, name := range figures {
		q.add(`, sum(CASE WHEN `)
		cond(q, name)
		q.add(` THEN 1 ELSE 0 END)`)
	}
	q.add(`, coalesce(max(i.x), 0) FROM (`+base.b.String()+`) i GROUP BY i.team_id, i.officer_id ORDER BY i.team_id, i.officer_id`,
		base.args...)
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figures of %s: %w", f.Measure, err)
	}
	defer rs.Close()
	var out []FigureSums
	for rs.Next() {
		s := FigureSums{N: make([]int, len(figures))}
		dst := []any{&s.TeamID, &s.OfficerID}
		for i := range s.N {
			dst = append(dst, &s.N[i])
		}
		if err := rs.Scan(append(dst, &s.Max)...); err != nil {
			return nil, fmt.Errorf("figures of %s: %w", f.Measure, err)
		}
		out = append(out, s)
	}
	return out, rs.Err()
}

// Sums is figureSums on the snapshot; measure 4's from the agency's cases
// read once a snapshot (enquirySums).
func (f Figures) Sums(ctx context.Context, actor Actor, q FigureQuery, figures []string) ([]FigureSums, error) {
	if q.Measure == MeasureEnquiries && f.enquiries != nil {
		if _, err := figureRows(actor, q); err == nil {
			if sums, ok, err := f.enquirySums(ctx, actor, q, figures); err != nil || ok {
				return sums, err
			}
		}
	}
	return figureSums(ctx, f.q, actor, q, figures)
}

// KeyedGroup is a FigureGroup of the rows that also share keys (measure
// 6's need, or status).
type KeyedGroup struct {
	Keys []string
	FigureGroup
}

// keyedGroups counts f's rows by the key columns keys of its rows (f's
// measure must have them), then team and officer.
func keyedGroups(ctx context.Context, db querier, actor Actor, f FigureQuery, keys ...string) ([]KeyedGroup, error) {
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	by := strings.Join(keys, ", ") + ", team_id, officer_id"
	q := &sqlb{}
	q.add(`SELECT `+by+`, count(*), count(DISTINCT case_id), coalesce(max(x), 0) FROM (`+rows.b.String()+
		`) f GROUP BY `+by+` ORDER BY `+by, rows.args...)
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s by %s: %w", f.Measure, f.Figure, by, err)
	}
	defer rs.Close()
	var out []KeyedGroup
	for rs.Next() {
		g := KeyedGroup{Keys: make([]string, len(keys))}
		var dst []any
		for i := range g.Keys {
			dst = append(dst, &g.Keys[i])
		}
		if err := rs.Scan(append(dst, &g.TeamID, &g.OfficerID, &g.Rows, &g.Cases, &g.Max)...); err != nil {
			return nil, fmt.Errorf("figure %s.%s by %s: %w", f.Measure, f.Figure, by, err)
		}
		out = append(out, g)
	}
	return out, rs.Err()
}
