package serverdb

import (
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
	from, to, asOf := string(f.From), string(f.To), string(f.AsOf)
	q.add(`SELECT c.case_id, c.team_id, c.officer_id`)
	if q.numbered {
		q.add(`, c.team_no, c.officer_no`)
	}
	col := func(name, expr string, args ...any) {
		if slices.Contains(reads, name) {
			q.add(`, `+expr+` AS `+name, args...)
		} else {
			q.add(`, NULL AS ` + name)
		}
	}
	col("household", `CASE WHEN h.members > 0 AND h.unconfirmed = 0 THEN 'confirmed'
		WHEN c.household_due_after <> '' AND ? <= c.household_due_after THEN 'not_yet_due'
		WHEN coalesce(h.members, 0) = 0 THEN 'not_recorded' ELSE 'not_confirmed' END`, asOf)
	col("children", `coalesce(h.children, 0)`)
	col("victim", `CASE WHEN h.unanswered > 0 THEN 'unanswered' WHEN h.not_known > 0 THEN 'not_known' ELSE 'answered' END`)
	// A partner is in the household for the period when added by as_of
	// and not left by its first day (the later of the start and from):
	// h.partner_open says one has not left, h.partner_left is the latest
	// day one left.
	col("partner", `CASE WHEN coalesce(h.partner_open, 0) = 0 AND coalesce(h.partner_left, '') <=
			CASE WHEN c.supervision_start > ? THEN c.supervision_start ELSE ? END THEN 'no_partner'
		WHEN p.alone = 1 THEN 'seen_alone' WHEN p.alone = 0 THEN 'seen_not_alone' ELSE 'not_seen' END`, from, from)
	q.add(` FROM rm_cases c`)
	if len(reads) > 0 {
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
			max(CASE WHEN m.is_partner = 1 AND m.left_on <> '' THEN m.left_on END) AS partner_left
		FROM rm_household m WHERE (m.added_on = '' OR m.added_on <= ?)
			AND m.case_id IN (SELECT g.case_id FROM rm_flags g WHERE g.type IN ('da_perpetrator', 'da_victim'))`,
			asOf, asOf, asOf, asOf, asOf, asOf, asOf, asOf)
		inScope(q, actor, f, "m.case_id")
		q.add(` GROUP BY m.case_id) h ON h.case_id = c.case_id`)
	}
	if slices.Contains(reads, "partner") {
		q.add(` LEFT JOIN (SELECT w.case_id, max(CASE WHEN w.partner_seen_alone = 'yes' THEN 1 ELSE 0 END) AS alone
		FROM rm_visits w WHERE w.status = 'signed' AND w.signed_at <> '' AND w.outcome = 'completed' AND w.face_to_face = 1
			AND w.partner_present = 'yes' AND w.started_day <> '' AND w.started_day >= ? AND w.started_day <= ?
			AND w.started_day <= ?`, from, to, asOf)
		inScope(q, actor, f, "w.case_id")
		q.add(` GROUP BY w.case_id) p ON p.case_id = c.case_id`)
	}
	q.add(` WHERE `)
	return householdCaseCond(q, actor, f, func() { q.add(`?`, from) })
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
