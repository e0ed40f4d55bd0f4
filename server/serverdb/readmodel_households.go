package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// Measure 5, household recorded, children seen, partner seen alone, over
// the read model (docs/compliance.md, "Measure 5" and "The read model").
// What depends only on the records was derived when they were written:
// each member's child and partner flags and the last day its confirmation
// is in date, the case's last day a household is not yet due, a visit's
// channel and local day, and what each visit recorded of each child it
// names (rm_visit_children). Who is in the household, which children a
// visit should have seen and whether a confirmation is in date on the day
// asked about are the queries'.

// MeasureHouseholds is measure 5, by the name its report carries.
const MeasureHouseholds = "households"

// householdCaseFigures are measure 5's figures of cases and
// householdVisitFigures its figures of home visits, each named by its
// JSON path in the report's figures.
var (
	householdCaseFigures = []string{"cases", "confirmed.numerator", "confirmed.denominator", "not_confirmed", "not_recorded",
		"not_yet_due", "victim_in_own_right.numerator", "victim_in_own_right.denominator", "victim_not_known", "victim_unanswered",
		"partner_seen_alone.numerator", "partner_seen_alone.denominator", "partner_seen_not_alone", "partner_not_seen", "no_partner"}
	householdVisitFigures = []string{"children_seen.numerator", "children_seen.denominator", "children_all_seen",
		"children_unaccounted", "visits_no_children", "child_not_on_record"}
)

// householdCases adds the query of measure 5's cases (the open cases
// started by as_of with a domestic-abuse flag live on some day from the
// later of the start and from, to as_of), each with its household status,
// current children, victim-in-own-right status and partner status on
// as_of: case_id, team_id, officer_id (and, asked for (sqlb.numbered),
// team_no and officer_no), household, children, victim, partner. Of
// those four, only the columns of reads (householdCaseSet.cols) are
// worked out; the others are NULL.
//
// Each case's household rows are read once, in one pass over the
// household rows of the scope's cases grouped by case (h), and its
// partner's visits of the period likewise (p), each joined to the cases
// when a column read needs it: each status is a test of the case's sums,
// not a subquery of its own (six to eight index probes a case, most of
// the statement's time at 100,000 cases: decision 0101). A statement
// that reads none of them (a case list of every case) reads neither.
func householdCases(q *sqlb, actor Actor, f FigureQuery, reads []string) error {
	q.add(`SELECT c.case_id, c.team_id, c.officer_id`)
	if q.numbered {
		q.add(`, c.team_no, c.officer_no`)
	}
	householdColumns(q, f, reads)
	q.add(` FROM rm_cases c`)
	if len(reads) > 0 {
		householdPass(q, actor, f, "")
	}
	if slices.Contains(reads, "partner") {
		partnerPass(q, actor, f)
	}
	q.add(` WHERE `)
	return householdCaseCond(q, actor, f, func() { q.add(`?`, string(f.From)) })
}

// householdColumns adds householdCases' four columns of f's period,
// household, children, victim and partner, each worked out when reads
// names it, else NULL, from h (householdPass) and p (partnerPass).
func householdColumns(q *sqlb, f FigureQuery, reads []string) {
	col := func(name, expr string, args ...any) {
		if slices.Contains(reads, name) {
			q.add(`, `+expr+` AS `+name, args...)
		} else {
			q.add(`, NULL AS ` + name)
		}
	}
	col("household", householdStatus(""), string(f.AsOf))
	col("children", `coalesce(h.children, 0)`)
	col("victim", `CASE WHEN h.unanswered > 0 THEN 'unanswered' WHEN h.not_known > 0 THEN 'not_known' ELSE 'answered' END`)
	// A partner is in the household for the period when added by as_of
	// and not left by its first day (the later of the start and from):
	// h.partner_open says one has not left, h.partner_left is the latest
	// day one left.
	from := string(f.From)
	col("partner", `CASE WHEN coalesce(h.partner_open, 0) = 0 AND coalesce(h.partner_left, '') <=
			CASE WHEN c.supervision_start > ? THEN c.supervision_start ELSE ? END THEN 'no_partner'
		WHEN p.alone = 1 THEN 'seen_alone' WHEN p.alone = 0 THEN 'seen_not_alone' ELSE 'not_seen' END`, from, from)
}

// householdStatus is the household status of a case on a day (its one
// argument), from its members' sums in h (householdPass) with suffix
// (h.members+suffix, h.unconfirmed+suffix): confirmed when every member
// on the list that day is confirmed in date, else not yet due, not
// recorded (no member) or not confirmed.
func householdStatus(suffix string) string {
	return `CASE WHEN h.members` + suffix + ` > 0 AND h.unconfirmed` + suffix + ` = 0 THEN 'confirmed'
		WHEN c.household_due_after <> '' AND ? <= c.household_due_after THEN 'not_yet_due'
		WHEN coalesce(h.members` + suffix + `, 0) = 0 THEN 'not_recorded' ELSE 'not_confirmed' END`
}

// householdPass adds the LEFT JOIN of h, the household rows added by f's
// as_of of the DA cases in the actor's scope (and f's officer and team),
// grouped by case: on as_of, the members on the list (members), those not
// confirmed in date (unconfirmed), the children, those whose victim
// answer is blank (unanswered) or not known; whether a partner has not
// left (partner_open) and the latest day one left (partner_left). With
// prevAsOf (a day not after as_of), also the members on the list on
// prevAsOf and those not confirmed in date then (members_p,
// unconfirmed_p).
func householdPass(q *sqlb, actor Actor, f FigureQuery, prevAsOf string) {
	asOf := string(f.AsOf)
	// A member is on the household on as_of when added by then and
	// not left by then. Only the households of cases with a DA flag
	// are grouped, about half of them: SQLite's counts then cost
	// two thirds of the correlated subqueries' (its previous
	// period's headline, which reads the status alone, a little
	// more), PostgreSQL's about the same as grouping every case's.
	on := `(m.left_on = '' OR m.left_on > ?)`
	q.add(` LEFT JOIN (SELECT m.case_id, sum(CASE WHEN `+on+` THEN 1 ELSE 0 END) AS members,
		sum(CASE WHEN `+on+` AND NOT (m.confirmed_on <> '' AND m.confirmed_on <= ? AND m.confirmed_until <> ''
			AND ? <= m.confirmed_until) THEN 1 ELSE 0 END) AS unconfirmed,
		sum(CASE WHEN `+on+` AND m.is_child = 1 THEN 1 ELSE 0 END) AS children,
		sum(CASE WHEN `+on+` AND m.is_child = 1 AND m.victim NOT IN ('yes', 'no', 'not_known') THEN 1 ELSE 0 END) AS unanswered,
		sum(CASE WHEN `+on+` AND m.is_child = 1 AND m.victim = 'not_known' THEN 1 ELSE 0 END) AS not_known,
		max(CASE WHEN m.is_partner = 1 AND m.left_on = '' THEN 1 ELSE 0 END) AS partner_open,
		max(CASE WHEN m.is_partner = 1 AND m.left_on <> '' THEN m.left_on END) AS partner_left`,
		asOf, asOf, asOf, asOf, asOf, asOf, asOf)
	if prevAsOf != "" {
		// On prevAsOf: added by then, not left by then.
		onPrev := `(m.added_on = '' OR m.added_on <= ?) AND (m.left_on = '' OR m.left_on > ?)`
		q.add(`, sum(CASE WHEN `+onPrev+` THEN 1 ELSE 0 END) AS members_p,
		sum(CASE WHEN `+onPrev+` AND NOT (m.confirmed_on <> '' AND m.confirmed_on <= ? AND m.confirmed_until <> ''
			AND ? <= m.confirmed_until) THEN 1 ELSE 0 END) AS unconfirmed_p`,
			prevAsOf, prevAsOf, prevAsOf, prevAsOf, prevAsOf, prevAsOf)
	}
	q.add(` FROM rm_household m WHERE (m.added_on = '' OR m.added_on <= ?)
		AND m.case_id IN (SELECT g.case_id FROM rm_flags g WHERE g.type IN ('da_perpetrator', 'da_victim'))`, asOf)
	inScope(q, actor, f, "m.case_id")
	q.add(` GROUP BY m.case_id) h ON h.case_id = c.case_id`)
}

// partnerPass adds the LEFT JOIN of p, the period's completed
// face-to-face visits of f with the partner present, of the cases in the
// actor's scope, grouped by case, with whether one saw the partner alone
// (alone).
func partnerPass(q *sqlb, actor Actor, f FigureQuery) {
	q.add(` LEFT JOIN (SELECT w.case_id, max(CASE WHEN w.partner_seen_alone = 'yes' THEN 1 ELSE 0 END) AS alone
		FROM rm_visits w WHERE w.status = 'signed' AND w.signed_at <> '' AND w.outcome = 'completed' AND w.face_to_face = 1
			AND w.partner_present = 'yes' AND w.started_day <> '' AND w.started_day >= ? AND w.started_day <= ?
			AND w.started_day <= ?`, string(f.From), string(f.To), string(f.AsOf))
	inScope(q, actor, f, "w.case_id")
	q.add(` GROUP BY w.case_id) p ON p.case_id = c.case_id`)
}

// inScope adds the condition that the case of column col is in the
// actor's scope and of f's officer and team (sqlb.inCases, as within
// keeps a statement's subqueries): a grouped pass of householdCases, which
// reads no column of the case, then reads the rows of a team's cases, not
// the service's (for an admin or auditor with no filter, nothing).
func inScope(q *sqlb, actor Actor, f FigureQuery, col string) {
	in := q.in
	q.within(actor, f).inCases(col)
	q.in = in
}

// householdCaseCond adds the condition that case c is one of measure 5's.
// from adds the period's first day: f's From, or an expression of the
// row's (the week of its visit, setWeeks).
func householdCaseCond(q *sqlb, actor Actor, f FigureQuery, from func()) error {
	asOf := string(f.AsOf)
	q.add(`c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ?
		AND EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = c.case_id AND g.type IN ('da_perpetrator', 'da_victim')
			AND (g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on >
				CASE WHEN c.supervision_start > `, asOf, asOf)
	from()
	q.add(` THEN c.supervision_start ELSE `)
	from()
	q.add(` END))`)
	return q.scoped(actor, "c", f)
}

// householdCaseSet: measure 5's figures of cases, one row each
// (householdCases).
var householdCaseSet = figureSet{
	name:     "household cases",
	numbered: true,
	cols:     householdCaseCols,
	base: func(q *sqlb, actor Actor, f FigureQuery, names []string) error {
		if err := periodDates(f); err != nil {
			return err
		}
		return householdCases(q, actor, f, figureSet{cols: householdCaseCols, cond: householdCaseFigure}.reads(names))
	},
	cond: householdCaseFigure,
}

// householdCaseCols are the columns of householdCases that figures read.
var householdCaseCols = []string{"household", "children", "victim", "partner"}

// householdCaseFigure adds the condition of figure on b, a row of
// householdCases.
func householdCaseFigure(q *sqlb, figure string) error {
	switch figure {
	case "cases":
		q.add(`1 = 1`)
	case "confirmed.numerator":
		q.add(`b.household = 'confirmed'`)
	case "confirmed.denominator":
		q.add(`b.household <> 'not_yet_due'`)
	case "not_confirmed", "not_recorded", "not_yet_due":
		q.add(`b.household = ?`, figure)
	case "victim_in_own_right.denominator":
		q.add(`b.children > 0`)
	case "victim_in_own_right.numerator":
		q.add(`b.children > 0 AND b.victim = 'answered'`)
	case "victim_not_known", "victim_unanswered":
		q.add(`b.children > 0 AND b.victim = ?`, strings.TrimPrefix(figure, "victim_"))
	case "partner_seen_alone.numerator":
		q.add(`b.partner = 'seen_alone'`)
	case "partner_seen_alone.denominator":
		q.add(`b.partner <> 'no_partner'`)
	case "partner_seen_not_alone", "partner_not_seen", "no_partner":
		q.add(`b.partner = ?`, strings.TrimPrefix(figure, "partner_"))
	default:
		return fmt.Errorf("measure %s: figure %q has no query", MeasureHouseholds, figure)
	}
	return nil
}

// householdVisitSet: measure 5's figures of the completed home visits
// (channel face_to_face_home) of its cases in the period up to as_of, one
// row each: case_id, team_id, officer_id, child_not_on_record, and of the
// children expected on the visit's day (own, step or other children on
// the household list that day who live or sometimes stay there, born by
// then), how many (expected), how many seen or given a reason not seen
// (accounted), and how many given a reason (reasons): the columns of
// rm_visits the write derived (decision 0061); and, asked for
// (sqlb.numbered), team_no and officer_no.
var householdVisitSet = figureSet{
	name:     "household visits",
	numbered: true,
	cols:     []string{"child_not_on_record", "expected", "accounted", "reasons"},
	base:     func(q *sqlb, actor Actor, f FigureQuery, _ []string) error { return householdVisits(q, actor, f, nil) },
	byWeek:   householdVisits,
	cond: func(q *sqlb, figure string) error {
		switch figure {
		case "children_seen.denominator":
			q.add(`b.expected > 0`)
		case "children_seen.numerator":
			q.add(`b.expected > 0 AND b.accounted = b.expected`)
		case "children_all_seen":
			q.add(`b.expected > 0 AND b.accounted = b.expected AND b.reasons = 0`)
		case "children_unaccounted":
			q.add(`b.accounted < b.expected`)
		case "visits_no_children":
			q.add(`b.expected = 0`)
		case "child_not_on_record":
			q.add(`b.child_not_on_record = 1`)
		default:
			return fmt.Errorf("measure %s: figure %q has no query", MeasureHouseholds, figure)
		}
		return nil
	},
}

// householdVisits adds the query of householdVisitSet's rows, each with
// its week of weeks when set (figureSet.byWeek): then each visit's case is
// one of measure 5's with its week as the period.
func householdVisits(q *sqlb, actor Actor, f FigureQuery, weeks []Week) error {
	if err := periodDates(f); err != nil {
		return err
	}
	from, to, asOf := string(f.From), string(f.To), string(f.AsOf)
	q.add(`SELECT v.case_id, c.team_id, c.officer_id, v.child_not_on_record, v.expected, v.accounted, v.reasons`)
	if q.numbered {
		q.add(`, c.team_no, c.officer_no`)
	}
	q.weekOf("v.started_day", weeks)
	// The visits are read from rm_visits_home (migration 0024, decision
	// 0106), whose WHERE these terms imply: the channel is written out,
	// not bound, so that a plan made blind to the parameters (PostgreSQL's
	// generic plan) can read it too.
	q.add(` FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
		WHERE v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '' AND v.started_day >= ? AND v.started_day <= ?
		AND v.started_day <= ? AND v.outcome = 'completed' AND v.channel = '`+schema.ChannelHome+`' AND `, from, to, asOf)
	return householdCaseCond(q, actor, f, func() { q.weekFrom("v.started_day", weeks, from) })
}

// HouseholdCounts is measure 5's report's figures in one statement: the
// counts of names (Counts: by team and officer) over fq, the totals of
// prevNames (Totals) over prev, the previous period's headline, and the
// cases of fq (kept on the snapshot for Cases of "cases", as
// CountsListing keeps a listed set's). Where Counts, Totals and Cases
// each grouped the DA cases' household rows (or read the cases) again,
// the statement works out every case of either period once (x): its
// household rows grouped once with each day's sums (householdPass with
// prev's as_of), whether it is one of each period's cases, its four
// columns of fq's period and its household status on prev's as_of; the
// counts of cases, of home visits (whose cases are x's of fq's period),
// the previous totals and the case list are each a branch over x.
//
// prev must be of the same measure, officer and team, as of a day not
// after fq's (the previous period of a report), and prevNames figures of
// the household status alone (the headline's); else, and when the
// snapshot keeps no cases, the answer is Counts, Totals and Cases' own
// statements.
func (f Figures) HouseholdCounts(ctx context.Context, actor Actor, fq FigureQuery, names []string, prev FigureQuery, prevNames []string) ([]FigureCounts, []int, error) {
	if !householdsInOne(f, fq, names, prev, prevNames) {
		counts, err := f.CountsListing(ctx, actor, fq, names)
		if err != nil {
			return nil, nil, err
		}
		totals, err := f.Totals(ctx, actor, prev, prevNames)
		return counts, totals, err
	}
	sets, err := figureSetsOf(fq, names)
	if err != nil {
		return nil, nil, err
	}
	q := &sqlb{}
	if err := householdBoth(q, actor, fq, prev); err != nil {
		return nil, nil, err
	}
	// Every branch's row: its kind, team and officer ids (NULL for the
	// totals and the list), the list of cases (NULL but for the list),
	// then width sums.
	width := max(len(names), len(prevNames))
	const heads = `(SELECT i.id FROM rm_ids i WHERE i.no = b.team_no), (SELECT i.id FROM rm_ids i WHERE i.no = b.officer_no), NULL`
	// sums adds a sum of b.n for each column: the condition of the figure
	// of figures at it in set s (at[column] is its index in figures, -1
	// for none: 0).
	sums := func(s figureSet, figures []string, at []int) error {
		for _, i := range at {
			if i < 0 {
				q.add(`, 0`)
				continue
			}
			q.add(`, coalesce(sum(CASE WHEN `)
			if err := s.cond(q, figures[i]); err != nil {
				return err
			}
			q.add(` THEN b.n ELSE 0 END), 0)`)
		}
		return nil
	}
	// grouped adds the rows of from (FROM … WHERE …, with its args; rows
	// with the columns team_no, officer_no and s's cols) grouped by team, officer
	// and the columns the figures read, each with n, how many rows it
	// stands for.
	grouped := func(s figureSet, figures []string, from string, args ...any) {
		keys := "a.team_no, a.officer_no"
		for _, c := range s.reads(figures) {
			keys += ", a." + c
		}
		q.add(` FROM (SELECT `+keys+`, count(*) AS n FROM `+from+` GROUP BY `+keys+`) b`, args...)
	}
	var union bool
	for kind, st := range sets {
		if union {
			q.add(` UNION ALL `)
		}
		union = true
		at := slices.Repeat([]int{-1}, width)
		for k, i := range st.idx {
			at[i] = k
		}
		setNames := st.names(names)
		q.add(fmt.Sprintf(`SELECT %d, %s`, kind, heads))
		if err := sums(st.s, setNames, at); err != nil {
			return nil, nil, err
		}
		if st.s.name == householdCaseSet.name {
			grouped(st.s, setNames, `x a WHERE a.cur`)
		} else {
			// The period's completed home visits of its cases
			// (householdVisits' rows: their case's condition is x's cur).
			grouped(st.s, setNames, `(SELECT x.team_no, x.officer_no, v.child_not_on_record, v.expected, v.accounted, v.reasons
				FROM rm_visits v JOIN x ON x.case_id = v.case_id
				WHERE x.cur AND v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '' AND v.started_day >= ?
				AND v.started_day <= ? AND v.started_day <= ? AND v.outcome = 'completed' AND v.channel = '`+schema.ChannelHome+`') a`,
				string(fq.From), string(fq.To), string(fq.AsOf))
		}
		q.add(` GROUP BY b.team_no, b.officer_no`)
	}
	// The previous period's totals: its cases' household status on its
	// as_of.
	q.add(fmt.Sprintf(` UNION ALL SELECT %d, NULL, NULL, NULL`, len(sets)))
	at := slices.Repeat([]int{-1}, width)
	for i := range prevNames {
		at[i] = i
	}
	if err := sums(householdCaseSet, prevNames, at); err != nil {
		return nil, nil, err
	}
	q.add(` FROM (SELECT a.household_p AS household, count(*) AS n FROM x a WHERE a.prev GROUP BY a.household_p) b`)
	// The period's cases (ids are UUIDs: no comma).
	q.add(fmt.Sprintf(` UNION ALL SELECT %d, NULL, NULL, string_agg(x.case_id, ',')`, len(sets)+1) +
		strings.Repeat(`, 0`, width) + ` FROM x WHERE x.cur`)

	groups := map[[2]string]*FigureCounts{}
	totals := make([]int, len(prevNames))
	var ids []string
	rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, nil, fmt.Errorf("figures of %s: %w", fq.Measure, err)
	}
	defer rs.Close()
	var kind int
	var team, officer, list sql.NullString
	n := make([]int64, width)
	dst := []any{&kind, &team, &officer, &list}
	for k := range n {
		dst = append(dst, &n[k])
	}
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return nil, nil, fmt.Errorf("figures of %s: %w", fq.Measure, err)
		}
		switch {
		case kind < len(sets):
			g := groups[[2]string{team.String, officer.String}]
			if g == nil {
				g = &FigureCounts{TeamID: team.String, OfficerID: officer.String, N: make([]int, len(names))}
				groups[[2]string{team.String, officer.String}] = g
			}
			for _, i := range sets[kind].idx {
				g.N[i] = int(n[i])
			}
		case kind == len(sets):
			for i := range totals {
				totals[i] = int(n[i])
			}
		case list.Valid:
			ids = strings.Split(list.String, ",")
		}
	}
	if err := rs.Err(); err != nil {
		return nil, nil, fmt.Errorf("figures of %s: %w", fq.Measure, err)
	}
	key := setKey{actor: actor, q: fq, set: householdCaseSet.name}
	key.q.Figure = ""
	f.setCases[key] = slices.Compact(sortIDs(ids)) // byte order, as figureCases' (the "C" collation's)
	out := make([]FigureCounts, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b FigureCounts) int {
		return cmp.Or(cmp.Compare(a.TeamID, b.TeamID), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	return out, totals, nil
}

// householdsInOne says whether HouseholdCounts answers fq and prev in
// one statement (see there).
func householdsInOne(f Figures, fq FigureQuery, names []string, prev FigureQuery, prevNames []string) bool {
	if f.setCases == nil || len(names) == 0 || fq.Measure != MeasureHouseholds || prev.Measure != MeasureHouseholds ||
		prev.OfficerID != fq.OfficerID || prev.TeamID != fq.TeamID || periodDates(fq) != nil || periodDates(prev) != nil {
		return false
	}
	if _, ok := dayNumber(fq.AsOf); !ok {
		return false
	}
	if _, ok := dayNumber(prev.AsOf); !ok || prev.AsOf > fq.AsOf {
		return false
	}
	for _, name := range names {
		if !slices.Contains(figureNames[MeasureHouseholds], name) {
			return false
		}
	}
	for _, name := range prevNames {
		if !slices.Contains(householdCaseFigures, name) {
			return false
		}
	}
	reads := householdCaseSet.reads(prevNames)
	return len(reads) == 0 || slices.Equal(reads, []string{"household"})
}

// householdBoth adds x, the common table of HouseholdCounts' statement:
// every open case started by f's as_of with a DA flag, in the actor's
// scope and of f's officer and team, that is one of measure 5's cases of
// f's period (cur = 1) or of prev's (prev = 1: started by prev's as_of
// too), with team_no, officer_no, householdColumns' four columns of f's
// period and its household status on prev's as_of (household_p).
//
// Whether a case is one of a period's (householdCaseCond: a DA flag
// started by as_of and not ended by the later of the case's start and
// the period's first day) is a test of one pass over the scope's DA
// flags grouped by case: end_a is the latest day a flag started by f's
// as_of ends, end_p by prev's, '~' for a flag not ended (it sorts after
// every day), NULL for none; one is live after a day d when it is after
// d.
func householdBoth(q *sqlb, actor Actor, f, prev FigureQuery) error {
	from, asOf, pfrom, pasOf := string(f.From), string(f.AsOf), string(prev.From), string(prev.AsOf)
	q.add(`WITH x AS MATERIALIZED (SELECT * FROM (SELECT c.case_id, c.team_no, c.officer_no,
		(g.end_a > CASE WHEN c.supervision_start > ? THEN c.supervision_start ELSE ? END) AS cur,
		(c.supervision_start <= ? AND g.end_p > CASE WHEN c.supervision_start > ? THEN c.supervision_start ELSE ? END) AS prev`,
		from, from, pasOf, pfrom, pfrom)
	householdColumns(q, f, householdCaseCols)
	q.add(`, `+householdStatus("_p")+` AS household_p`, pasOf)
	ends := `CASE WHEN g.ended_on = '' THEN '~' ELSE g.ended_on END`
	q.add(` FROM rm_cases c JOIN (SELECT g.case_id, max(CASE WHEN g.start_date = '' OR g.start_date <= ? THEN `+ends+` END) AS end_a,
			max(CASE WHEN g.start_date = '' OR g.start_date <= ? THEN `+ends+` END) AS end_p
		FROM rm_flags g WHERE g.type IN ('da_perpetrator', 'da_victim')`, asOf, pasOf)
	inScope(q, actor, f, "g.case_id")
	q.add(` GROUP BY g.case_id) g ON g.case_id = c.case_id`)
	householdPass(q, actor, f, pasOf)
	partnerPass(q, actor, f)
	q.add(` WHERE c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ?`, asOf)
	if err := q.scoped(actor, "c", f); err != nil {
		return err
	}
	q.add(`) y WHERE y.cur OR y.prev) `)
	return nil
}
