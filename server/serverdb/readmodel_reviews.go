package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
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
// da_flags, rosh: its figure's prefix) with its status on as_of, its
// days overdue (x) and whether it is a domestic-abuse flag's (da), and
// returns what adds a figure's condition on them
// (alias i).
func reviewBase(q *sqlb, actor Actor, f FigureQuery, d int64) (func(q *sqlb, figure string), error) {
	kind, _, _ := strings.Cut(f.Figure, ".")
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, `)
	if kind == "rosh" {
		q.add(`c.rosh_date AS last, 0 AS da, `)
		q.reviewStatus("c.rosh_date", "c.rosh_due", "c.rosh_due_day", f.AsOf, d)
		q.add(` FROM rm_cases c WHERE 1 = 1`)
	} else {
		asOf := string(f.AsOf)
		q.add(`g.last_reviewed AS last, CASE WHEN g.type IN ('da_perpetrator', 'da_victim') THEN 1 ELSE 0 END AS da, `)
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
// read once a snapshot (enquirySums); measure 7's from its reviews
// counted by status once a snapshot (reviewSums).
func (f Figures) Sums(ctx context.Context, actor Actor, q FigureQuery, figures []string) ([]FigureSums, error) {
	if q.Measure == MeasureReviews && f.reviews != nil {
		if sums, ok, err := f.reviewSums(ctx, actor, q, figures); err != nil || ok {
			return sums, err
		}
	}
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

// reviewKey names the reviews of one source (the flags', or the cases'
// RoSH assessments) counted by status on a snapshot: the query but its
// figure, and who asked.
type reviewKey struct {
	actor Actor
	q     FigureQuery
	rosh  bool
}

// reviewStat is the reviews of one team and officer, domestic-abuse
// flags' or not (da), with one status on as_of: how many (n), how many
// of them were reviewed in the period (inPeriod), and their largest days
// overdue (max).
type reviewStat struct {
	teamID, officerID string
	da                bool
	status            string
	n, inPeriod, max  int
}

// reviewSums is figureSums of measure 7's figures, all of one kind, from
// the kind's reviews counted by team, officer and status once a snapshot
// (reviewStatsOnce): the flags' serve the flags and the domestic-abuse
// flags alike. Where figureSums wrote the status's CASE again in each
// figure's sum, nine a kind, and read the flags once for the flags and
// again for their domestic-abuse ones, the status is worked out once a
// row and each figure added up here from the statuses (decision 0115).
// false when a figure is not one of a kind's (figureSums answers, or
// says why not).
func (f Figures) reviewSums(ctx context.Context, actor Actor, q FigureQuery, figures []string) ([]FigureSums, bool, error) {
	kind, _, _ := strings.Cut(q.Figure, ".")
	for _, name := range figures {
		k, _, _ := strings.Cut(name, ".")
		if k != kind || name == "cases" || !slices.Contains(figureNames[MeasureReviews], name) {
			return nil, false, nil
		}
	}
	if _, err := figureRows(actor, q); err != nil { // the parameters checked
		return nil, false, err
	}
	stats, err := f.reviewStatsOnce(ctx, actor, q, kind == "rosh")
	if err != nil {
		return nil, false, err
	}
	groups := map[[2]string]*FigureSums{}
	var out []*FigureSums
	for _, st := range stats {
		if kind == "da_flags" && !st.da {
			continue
		}
		g := groups[[2]string{st.teamID, st.officerID}]
		if g == nil { // as figureSums: the groups with a row
			g = &FigureSums{TeamID: st.teamID, OfficerID: st.officerID, N: make([]int, len(figures))}
			groups[[2]string{st.teamID, st.officerID}] = g
			out = append(out, g)
		}
		g.Max = max(g.Max, st.max)
		for i, name := range figures {
			_, figure, _ := strings.Cut(name, ".")
			switch figure {
			case "items":
				g.N[i] += st.n
			case "on_time.numerator":
				if st.status == "in_date" {
					g.N[i] += st.n
				}
			case "on_time.denominator":
				if st.status == "in_date" || st.status == "overdue" {
					g.N[i] += st.n
				}
			case "reviewed_in_period":
				g.N[i] += st.inPeriod
			default: // in_date, overdue, not_yet_due, no_date, after_as_of
				if st.status == figure {
					g.N[i] += st.n
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b *FigureSums) int {
		return cmp.Or(cmp.Compare(a.TeamID, b.TeamID), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	sums := make([]FigureSums, len(out))
	for i, g := range out {
		sums[i] = *g
	}
	return sums, true, nil
}

// reviewStatsOnce is the reviews of q (the RoSH assessments' when rosh,
// else the flags') counted by team, officer, da and status, in one
// statement made the first time the snapshot is asked for them.
func (f Figures) reviewStatsOnce(ctx context.Context, actor Actor, q FigureQuery, rosh bool) ([]reviewStat, error) {
	key := reviewKey{actor: actor, q: q, rosh: rosh}
	key.q.Figure = ""
	if st, ok := f.reviews[key]; ok {
		return st, nil
	}
	if rosh && f.tallies != nil { // with the report's cases, one statement (reviewCasesOnce)
		if err := f.reviewCasesOnce(ctx, actor, q); err != nil {
			return nil, err
		}
		return f.reviews[key], nil
	}
	d, _ := dayNumber(q.AsOf)
	kind := "flags"
	if rosh {
		kind = "rosh"
	}
	q.Figure = kind + ".items"
	base := &sqlb{}
	cond, err := reviewBase(base, actor, q, d)
	if err != nil {
		return nil, err
	}
	s := &sqlb{}
	s.add(`SELECT i.team_id, i.officer_id, i.da, i.status, count(*), sum(CASE WHEN `)
	cond(s, kind+".reviewed_in_period")
	s.add(` THEN 1 ELSE 0 END), coalesce(max(i.x), 0) FROM (`+base.b.String()+`) i
		GROUP BY i.team_id, i.officer_id, i.da, i.status`, base.args...)
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("reviews of %s by status: %w", kind, err)
	}
	defer rs.Close()
	var out []reviewStat
	for rs.Next() {
		var st reviewStat
		var da int
		if err := rs.Scan(&st.teamID, &st.officerID, &da, &st.status, &st.n, &st.inPeriod, &st.max); err != nil {
			return nil, fmt.Errorf("reviews of %s by status: %w", kind, err)
		}
		st.da = da == 1
		out = append(out, st)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("reviews of %s by status: %w", kind, err)
	}
	f.reviews[key] = out
	return out, nil
}

// reviewStatuses are the review statuses reviewStatus writes, in the
// order reviewCasesOnce's rows number them.
var reviewStatuses = []string{"after_as_of", "no_date", "overdue", "not_yet_due", "in_date"}

// reviewCasesOnce reads measure 7's cases of q (reviewCasesFamily's rows)
// and their RoSH assessments' statuses (reviewBase's rows of the rosh
// kind: the same rows of rm_cases, a case each) in one statement, and
// keeps on the snapshot both what the cases' tally (tallyOnce) and the
// RoSH assessments' counts by status (reviewStatsOnce) would have read in
// a statement each: the report's groups and case list, and its RoSH
// figures (decision 0124). Each row is a case, with its assessment's
// status (its number in reviewStatuses), whether it was reviewed in the
// period, and its days overdue; they are counted here, by team and
// officer for the tally, and by team, officer and status for the
// counts, as the two statements' GROUP BYs counted them.
func (f Figures) reviewCasesOnce(ctx context.Context, actor Actor, q FigureQuery) error {
	if _, err := figureRows(actor, q); err != nil { // the parameters checked
		return err
	}
	d, _ := dayNumber(q.AsOf)
	q.Figure = "rosh.items"
	base := &sqlb{}
	cond, err := reviewBase(base, actor, q, d)
	if err != nil {
		return err
	}
	s := &sqlb{}
	s.add(`SELECT i.team_id, i.officer_id, i.case_id, CASE i.status`)
	for n, status := range reviewStatuses {
		s.add(fmt.Sprintf(` WHEN '%s' THEN %d`, status, n))
	}
	s.add(` END, CASE WHEN `)
	cond(s, "rosh.reviewed_in_period")
	s.add(` THEN 1 ELSE 0 END, i.x FROM (`+base.b.String()+`) i`, base.args...)
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return fmt.Errorf("cases of %s and their RoSH reviews: %w", MeasureReviews, err)
	}
	defer rs.Close()
	type group struct {
		key   [2]string
		cases int
		stats [5]*reviewStat // by status
	}
	groups := map[[2]string]*group{}
	var g *group
	var cases []string
	var stats []*reviewStat
	var team, officer sql.RawBytes
	var caseID string
	var status, inPeriod, x int
	for rs.Next() {
		if err := rs.Scan(&team, &officer, &caseID, &status, &inPeriod, &x); err != nil {
			return fmt.Errorf("cases of %s and their RoSH reviews: %w", MeasureReviews, err)
		}
		if g == nil || string(team) != g.key[0] || string(officer) != g.key[1] { // a case's row, mostly, its officer's last's
			k := [2]string{string(team), string(officer)}
			if g = groups[k]; g == nil {
				g = &group{key: k}
				groups[k] = g
			}
		}
		g.cases++
		cases = append(cases, caseID)
		st := g.stats[status]
		if st == nil {
			st = &reviewStat{teamID: g.key[0], officerID: g.key[1], status: reviewStatuses[status], max: x}
			g.stats[status] = st
			stats = append(stats, st)
		}
		st.n++
		st.inPeriod += inPeriod
		st.max = max(st.max, x)
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("cases of %s and their RoSH reviews: %w", MeasureReviews, err)
	}
	t := &familyTally{groups: map[string][]FigureGroup{}, cases: map[string][]string{"cases": cases}, sorted: map[string]bool{}}
	for _, k := range slices.SortedFunc(maps.Keys(groups), func(a, b [2]string) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	}) {
		n := groups[k].cases
		t.groups["cases"] = append(t.groups["cases"], FigureGroup{TeamID: k[0], OfficerID: k[1], Rows: n, Cases: n})
	}
	out := make([]reviewStat, len(stats))
	for i, st := range stats {
		out[i] = *st
	}
	q.Figure = ""
	f.tallies[tallyKey{actor: actor, q: q, family: reviewCasesFamily.name}] = t
	f.reviews[reviewKey{actor: actor, q: q, rosh: true}] = out
	return nil
}
