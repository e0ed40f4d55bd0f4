package serverdb

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Measure 4, police and children's-services enquiries, over the read
// model (docs/compliance.md, "The read model"): every case whose
// supervision started in the period and on or before as_of, with, per
// agency, whether it needed the enquiry and the enquiry's status on
// as_of, worked out by the query as compliance.Enquiries does.

// MeasureEnquiries is measure 4's report name.
const MeasureEnquiries = "enquiries"

// enquiryAgencies are measure 4's agencies, as its figures name them.
var enquiryAgencies = []string{"police", "childrens_services"}

// enquiryFigures are each agency's figures of cases.
var enquiryFigures = []string{"needed", "answered", "not_requested", "overdue", "awaiting", "not_recorded", "answered_not_needed"}

func init() {
	names := []string{"cases"}
	for _, a := range enquiryAgencies {
		for _, f := range enquiryFigures {
			names = append(names, a+"."+f)
		}
	}
	for _, a := range enquiryAgencies {
		for _, f := range []string{"numerator", "denominator", "answered_late"} {
			names = append(names, "inspection."+a+"."+f)
		}
	}
	figureNames[MeasureEnquiries] = names
}

// enquiryRows: measure 4's figures. Its rows are cases, each with, for
// the figure's agency: status (on as_of), days (from the start to the
// earliest answer), needed, in_time (answered within WithinDays) and, for
// children's services, visits (a child who only visits the household);
// nr_id is the enquiry not requested (its reason's).
func enquiryRows(q *sqlb, actor Actor, f FigureQuery) error {
	if err := periodDates(f); err != nil {
		return err
	}
	asOf := string(f.AsOf)
	inPeriod := func() {
		q.add(` FROM rm_cases c WHERE c.supervision_start <> '' AND c.supervision_start >= ? AND c.supervision_start <= ?
			AND c.supervision_start <= ?`, string(f.From), string(f.To), asOf)
	}
	if f.Figure == "cases" {
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk`)
		inPeriod()
		return q.scoped(actor, "c", f)
	}
	base := &sqlb{}
	cond, err := enquiryBase(base, actor, f, 0)
	if err != nil {
		return err
	}
	q.add(`SELECT i.case_id, i.team_id, i.officer_id, 0 AS x, 0 AS wk, i.status, i.days, i.needed, i.in_time, i.visits, i.nr_id
		FROM (`+base.b.String()+`) i WHERE `, base.args...)
	cond(q, f.Figure)
	return nil
}

// enquiryBase writes the select of every case of measure 4 with, for the
// agency of f's figure, its status, days, needed, in_time, visits, nr_id
// (see enquiryRows) and nr_reason (that enquiry's reason), and returns
// what adds a figure's condition on them (alias i).
func enquiryBase(q *sqlb, actor Actor, f FigureQuery, _ int64) (func(q *sqlb, figure string), error) {
	agency, _, _ := strings.Cut(strings.TrimPrefix(f.Figure, "inspection."), ".")
	cond, err := enquiryAgenciesBase(q, actor, f, []string{agency}, []string{""})
	if err != nil {
		return nil, err
	}
	return func(q *sqlb, figure string) {
		_, part := enquiryPart(figure)
		cond(q, 0, part)
	}, nil
}

// enquiryAgenciesBase writes the select of every case of measure 4 with,
// for each of agencies, the columns of enquiryBase named with the suffix
// of the same place in sfx (status<sfx>, days<sfx>, ...), and returns
// what adds the condition of the agency's figure enquiryParts[part] on
// them (alias i). The agencies' cases are the same rows: one statement
// gives both agencies' (decision 0114), where each was a statement over
// every case of the period.
func enquiryAgenciesBase(q *sqlb, actor Actor, f FigureQuery, agencies, sfx []string) (func(q *sqlb, agency, part int), error) {
	asOf := string(f.AsOf)
	// The agency's start-of-supervision enquiries requested, if at all, on
	// or before as_of; answered by then, or not.
	// The case's probes (of its enquiries, flags and household) are
	// worked out once a case, in a CTE kept MATERIALIZED (decision 0067):
	// PostgreSQL would pull a plain subquery up into its reader and copy
	// each probe into every expression that reads its column (the status
	// reads ans_day, nr_id, rq and rq_due; each figure's condition the
	// status again), 72 subplans a case in measure 4's statement.
	outer := q
	q = &sqlb{}
	const stages = `e.stage IN ('pre_sentence', 'initial_assessment') AND (e.requested_on = '' OR e.requested_on <= ?)`
	enq := func(agency, cond string, args ...any) {
		q.add(` FROM rm_enquiries e WHERE e.case_id = c.case_id AND e.agency = ? AND `+stages+` AND `+cond,
			append([]any{agency, asOf}, args...)...)
	}
	const notAnswered = `(e.answered_on = '' OR e.answered_on > ?)`
	const notRequested = `e.not_requested_reason <> '' AND e.requested_on = ''`
	household := slices.Contains(agencies, "childrens_services")
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, c.start_day`)
	for i, agency := range agencies {
		s := sfx[i]
		if outer.pg {
			// On PostgreSQL a case's enquiries of every agency are read
			// once, by a LATERAL join below, and the four probes are
			// aggregates of that one read (decisions 0093, 0114): each of
			// the correlated subqueries that SQLite runs (it has no
			// LATERAL) was an index probe of rm_enquiries a case. The same
			// read gives the reason of the enquiry not requested (decision
			// 0106). Its flags and household likewise, one LATERAL read
			// each (x, g, h), each agency's test an aggregate of it.
			q.add(`, x.ans_day` + s + ` AS ans_day` + s + `, split_part(x.nr_key` + s + `, chr(1), 1) AS nr_id` + s + `,
				substr(x.nr_key` + s + `, strpos(x.nr_key` + s + `, chr(1)) + 1) AS nr_reason` + s + `,
				CASE WHEN x.rq` + s + ` THEN 1 ELSE 0 END AS rq` + s + `, coalesce(split_part(x.rq_key` + s + `, chr(1), 3), '') AS rq_due` + s)
			if agency == "police" {
				q.add(`, CASE WHEN g.needed` + s + ` THEN 1 ELSE 0 END AS needed` + s + `, 0 AS visits` + s)
			} else {
				q.add(`, CASE WHEN g.needed` + s + ` OR h.lives THEN 1 ELSE 0 END AS needed` + s + `, CASE WHEN h.visits THEN 1 ELSE 0 END AS visits` + s)
			}
			continue
		}
		q.add(`, (SELECT min(e.answered_day)`)
		enq(agency, `e.answered_on <> '' AND e.answered_on <= ?) AS ans_day`+s+`, (SELECT min(e.enquiry_id)`, asOf)
		enq(agency, notAnswered+` AND `+notRequested+`) AS nr_id`+s+`, CASE WHEN EXISTS (SELECT 1`, asOf)
		enq(agency, notAnswered+` AND NOT (`+notRequested+`)) THEN 1 ELSE 0 END AS rq`+s+`, coalesce((SELECT e.due_on`, asOf)
		enq(agency, notAnswered+` AND NOT (`+notRequested+`) ORDER BY e.requested_on, e.enquiry_id LIMIT 1), '') AS rq_due`+s+`, `, asOf)
		q.add(`CASE WHEN `)
		enquiryNeed(q, agency, asOf)
		q.add(` THEN 1 ELSE 0 END AS needed` + s)
		if agency == "police" {
			q.add(`, 0 AS visits` + s)
			continue
		}
		q.add(`, CASE WHEN `)
		enquiryChild(q, childVisits, asOf)
		q.add(` THEN 1 ELSE 0 END AS visits` + s)
	}
	q.add(` FROM rm_cases c`)
	if outer.pg {
		// The enquiry not requested is the first by id, the one requested
		// the first by requested_on and id: each a min of the key joined
		// by chr(1), the columns read back from it (ids are UUIDs and
		// dates YYYY-MM-DD, neither holding chr(1), so the key sorts as
		// its parts do). An array_agg … ORDER BY sorted each case's rows
		// apart, a tenth of the statement (decision 0114).
		q.add(` LEFT JOIN LATERAL (SELECT `)
		for i, agency := range agencies {
			s := sfx[i]
			if i > 0 {
				q.add(`, `)
			}
			q.add(`min(e.answered_day) FILTER (WHERE e.agency = ? AND e.answered_on <> '' AND e.answered_on <= ?) AS ans_day`+s+`,
				min(e.enquiry_id || chr(1) || e.not_requested_reason) FILTER (WHERE e.agency = ? AND `+notAnswered+` AND `+notRequested+`) AS nr_key`+s+`,
				bool_or(e.agency = ? AND `+notAnswered+` AND NOT (`+notRequested+`)) AS rq`+s+`,
				min(e.requested_on || chr(1) || e.enquiry_id || chr(1) || e.due_on) FILTER (WHERE e.agency = ? AND `+notAnswered+` AND NOT (`+notRequested+`)) AS rq_key`+s,
				agency, asOf, agency, asOf, agency, asOf, agency, asOf)
		}
		q.add(` FROM rm_enquiries e WHERE e.case_id = c.case_id AND e.agency IN (`+strings.Repeat(", ?", len(agencies))[2:]+`) AND `+stages+`) x ON true`,
			append(anys(agencies), asOf)...)
		q.add(` LEFT JOIN LATERAL (SELECT `)
		for i, agency := range agencies {
			if i > 0 {
				q.add(`, `)
			}
			q.add(`bool_or(g.type IN (` + flagTypes[agency] + `)) AS needed` + sfx[i])
		}
		q.add(` FROM rm_flags g WHERE g.case_id = c.case_id AND `+liveFlag+`) g ON true`, asOf)
		if household {
			q.add(` LEFT JOIN LATERAL (SELECT bool_or(h.residence IN (`+childLives+`)) AS lives, bool_or(h.residence IN (`+childVisits+`)) AS visits
				FROM rm_household h WHERE h.case_id = c.case_id AND `+childOf+`) h ON true`, asOf)
		}
	}
	q.add(` WHERE c.supervision_start <> '' AND c.supervision_start >= ? AND c.supervision_start <= ?
		AND c.supervision_start <= ?`, string(f.From), string(f.To), asOf)
	if err := q.scoped(actor, "c", f); err != nil {
		return nil, err
	}
	outer.add(`WITH k AS MATERIALIZED (`+q.b.String()+`) SELECT b.case_id, b.team_id, b.officer_id, 0 AS x`, q.args...)
	for i := range agencies {
		s := sfx[i]
		// SQLite reads the reason of the enquiry not requested by its
		// id, PostgreSQL with the case's other enquiries (above).
		reason := `b.nr_reason` + s
		if !outer.pg {
			reason = `(SELECT r.not_requested_reason FROM rm_enquiries r WHERE r.enquiry_id = b.nr_id` + s + `)`
		}
		outer.add(`, b.needed`+s+` AS needed`+s+`, b.visits`+s+` AS visits`+s+`, b.nr_id`+s+` AS nr_id`+s+`, `+reason+` AS nr_reason`+s+`,
			CASE WHEN b.ans_day`+s+` IS NOT NULL THEN 'answered' WHEN b.nr_id`+s+` IS NOT NULL THEN 'not_requested'
				WHEN b.rq`+s+` = 1 AND b.rq_due`+s+` <> '' AND b.rq_due`+s+` < ? THEN 'overdue' WHEN b.rq`+s+` = 1 THEN 'awaiting'
				ELSE 'not_recorded' END AS status`+s+`,
			b.ans_day`+s+` - b.start_day AS days`+s+`,
			CASE WHEN b.ans_day`+s+` IS NOT NULL AND b.ans_day`+s+` - b.start_day <= ? THEN 1 ELSE 0 END AS in_time`+s,
			asOf, f.WithinDays)
	}
	outer.add(` FROM k b`)
	return func(q *sqlb, agency, part int) {
		s := sfx[agency]
		inspected := `(i.needed` + s + ` = 1 OR i.visits` + s + ` = 1)`
		switch figure := enquiryParts[part]; figure {
		case "needed":
			q.add(`i.needed` + s + ` = 1`)
		case "answered_not_needed":
			q.add(`i.needed` + s + ` = 0 AND i.status` + s + ` = 'answered'`)
		case "inspection.denominator":
			q.add(inspected)
		case "inspection.numerator":
			q.add(inspected + ` AND i.in_time` + s + ` = 1`)
		case "inspection.answered_late":
			q.add(inspected + ` AND i.status` + s + ` = 'answered' AND i.in_time` + s + ` = 0`)
		default: // answered, not_requested, overdue, awaiting, not_recorded
			q.add(`i.needed`+s+` = 1 AND i.status`+s+` = ?`, figure)
		}
	}, nil
}

// What calls for an agency's enquiry: a flag of its types (flagTypes)
// live on some day from the start to as_of; for children's services, also
// a child in the household then, living or sometimes staying there
// (compliance's daFlags, childNeed, childIn). A child who only visits
// (childVisits) is inspected, not needed.
var flagTypes = map[string]string{"police": `'da_perpetrator', 'da_victim'`,
	"childrens_services": `'child_concerns', 'child_protection', 'risk_to_children'`}

const (
	liveFlag = `(g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on > c.supervision_start)`
	childOf  = `h.relation IN ('own_child', 'step_child', 'other_child')
		AND (h.added_on = '' OR h.added_on <= ?) AND (h.left_on = '' OR h.left_on > c.supervision_start)`
	childLives, childVisits = `'lives_here', 'stays_sometimes'`, `'visits'`
)

// enquiryNeed adds the condition that case c needs agency's enquiry, by
// probes of its flags and household.
func enquiryNeed(q *sqlb, agency, asOf string) {
	q.add(`(EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = c.case_id AND g.type IN (`+flagTypes[agency]+`) AND `+liveFlag+`)`, asOf)
	if agency != "police" {
		q.add(` OR `)
		enquiryChild(q, childLives, asOf)
	}
	q.add(`)`)
}

// enquiryChild adds the condition that case c has a child in its
// household, of residences, on some day from the start to as_of.
func enquiryChild(q *sqlb, residences, asOf string) {
	q.add(`EXISTS (SELECT 1 FROM rm_household h WHERE h.case_id = c.case_id AND h.residence IN (`+residences+`) AND `+childOf+`)`, asOf)
}

// EnquiryDay is one case of measure 4's answered figure of an agency:
// the days from its supervision start to the earliest answer.
type EnquiryDay struct {
	CaseID, TeamID, OfficerID string
	Days                      int
}

// enquiryDays lists the cases of f's figure (an agency's answered) with
// their days, in case id order.
func enquiryDays(ctx context.Context, db querier, actor Actor, f FigureQuery) ([]EnquiryDay, error) {
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, `SELECT case_id, team_id, officer_id, days FROM (`+rows.b.String()+`) d ORDER BY case_id`, rows.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s days: %w", f.Measure, f.Figure, err)
	}
	defer rs.Close()
	var out []EnquiryDay
	for rs.Next() {
		var d EnquiryDay
		if err := rs.Scan(&d.CaseID, &d.TeamID, &d.OfficerID, &d.Days); err != nil {
			return nil, fmt.Errorf("figure %s.%s days: %w", f.Measure, f.Figure, err)
		}
		out = append(out, d)
	}
	return out, rs.Err()
}

// EnquiryDays is enquiryDays on the snapshot, from the agency's cases
// read once a snapshot (enquiryCasesOnce).
func (f Figures) EnquiryDays(ctx context.Context, actor Actor, q FigureQuery) ([]EnquiryDay, error) {
	cs, ok, err := f.casesIn(ctx, actor, q)
	if err != nil || !ok {
		return enquiryDays(ctx, f.q, actor, q)
	}
	var out []EnquiryDay
	for _, c := range cs {
		out = append(out, EnquiryDay{CaseID: c.caseID, TeamID: c.teamID, OfficerID: c.officerID, Days: c.days})
	}
	return out, nil
}

// NotRequested is one case of measure 4's not_requested figure of an
// agency: the enquiry not requested and the reason recorded.
type NotRequested struct {
	CaseID, TeamID, OfficerID string
	EnquiryID, Reason         string
}

// notRequestedReasons lists the cases of f's figure (an agency's
// not_requested) with their enquiry and reason, in case id order.
func notRequestedReasons(ctx context.Context, db querier, actor Actor, f FigureQuery) ([]NotRequested, error) {
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, `SELECT n.case_id, n.team_id, n.officer_id, e.enquiry_id, e.not_requested_reason FROM (`+rows.b.String()+
		`) n JOIN rm_enquiries e ON e.enquiry_id = n.nr_id ORDER BY n.case_id, e.enquiry_id`, rows.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s reasons: %w", f.Measure, f.Figure, err)
	}
	defer rs.Close()
	var out []NotRequested
	for rs.Next() {
		var n NotRequested
		if err := rs.Scan(&n.CaseID, &n.TeamID, &n.OfficerID, &n.EnquiryID, &n.Reason); err != nil {
			return nil, fmt.Errorf("figure %s.%s reasons: %w", f.Measure, f.Figure, err)
		}
		out = append(out, n)
	}
	return out, rs.Err()
}

// NotRequestedReasons is notRequestedReasons on the snapshot, from the
// agency's cases read once a snapshot (enquiryCasesOnce).
func (f Figures) NotRequestedReasons(ctx context.Context, actor Actor, q FigureQuery) ([]NotRequested, error) {
	cs, ok, err := f.casesIn(ctx, actor, q)
	if err != nil || !ok {
		return notRequestedReasons(ctx, f.q, actor, q)
	}
	var out []NotRequested
	for _, c := range cs {
		if c.nrID != "" { // as the query's join
			out = append(out, NotRequested{CaseID: c.caseID, TeamID: c.teamID, OfficerID: c.officerID, EnquiryID: c.nrID, Reason: c.reason})
		}
	}
	return out, nil
}

// casesIn is the cases of q's figure (one of an agency's) in case id
// order, from the agency's cases read once a snapshot; false when the
// snapshot keeps none or q asks for no such figure (the caller runs its
// statement, which also reports what is wrong with q).
func (f Figures) casesIn(ctx context.Context, actor Actor, q FigureQuery) ([]enquiryCase, bool, error) {
	if _, err := figureRows(actor, q); err != nil || f.enquiries == nil {
		return nil, false, nil
	}
	cs, part, err := f.enquiryCasesOnce(ctx, actor, q, q.Figure)
	if err != nil || part < 0 {
		return nil, false, err
	}
	var out []enquiryCase
	for _, c := range cs {
		if c.of(part) {
			out = append(out, c)
		}
	}
	return out, true, nil
}

// Measure 4 on a snapshot (decision 0067): each of its figures, days and
// reasons of an agency is a condition on the same cases (enquiryBase),
// whose enquiries, flags and household each case probes. A report asks
// for an agency's counts (Sums), the answered cases' days and the
// not-requested reasons, and the previous period's headline: each was a
// statement over every case of the period. On a snapshot the agency's
// cases are read once, each with whether it is in each of the agency's
// figures (the conditions are enquiryBase's, in SQL), its days and its
// reason; the counts, days and reasons are taken from them.

// enquiryKey names an agency's cases on a snapshot: the query (its Figure
// the agency) and who asked.
type enquiryKey struct {
	actor Actor
	q     FigureQuery
}

// enquiryCase is one case of measure 4 for an agency: in's bit i, whether
// it is in the agency's i-th figure (enquiryParts, enquiryCase.of); days,
// from the start to the earliest answer (0 when not answered); nrID and
// reason, the enquiry not requested and its reason ("" when none).
type enquiryCase struct {
	caseID, teamID, officerID string
	days                      int
	nrID, reason              string
	in                        uint32
}

// of says whether the case is in the agency's figure enquiryParts[part].
func (c enquiryCase) of(part int) bool { return c.in&(1<<part) != 0 }

// enquiryParts are an agency's figures without the agency
// ("answered", "inspection.numerator"), in the order of enquiryCase.in's
// bits.
var enquiryParts = append(slices.Clone(enquiryFigures), "inspection.numerator", "inspection.denominator", "inspection.answered_late")

// enquiryPart is figure's agency and its place in enquiryParts, -1 for a
// figure not of an agency ("cases").
func enquiryPart(figure string) (string, int) {
	rest, inspection := strings.CutPrefix(figure, "inspection.")
	agency, part, _ := strings.Cut(rest, ".")
	if inspection {
		part = "inspection." + part
	}
	return agency, slices.Index(enquiryParts, part)
}

// enquiryCasesOnce is the cases of the agency of figure for q (its Figure
// not read otherwise), read once a snapshot, in case id order; with the
// place of figure in their in, -1 (and no cases) for a figure not of an
// agency.
func (f Figures) enquiryCasesOnce(ctx context.Context, actor Actor, q FigureQuery, figure string) ([]enquiryCase, int, error) {
	agency, part := enquiryPart(figure)
	if part < 0 || !slices.Contains(enquiryAgencies, agency) {
		return nil, -1, nil
	}
	key := enquiryKey{actor: actor, q: q}
	key.q.Figure = agency
	if cs, ok := f.enquiries[key]; ok {
		return cs, part, nil
	}
	if err := f.readEnquiryCases(ctx, actor, q); err != nil {
		return nil, -1, err
	}
	return f.enquiries[key], part, nil
}

// readEnquiryCases reads the cases of measure 4 for q (its Figure not
// read) with both agencies' figures in one statement, and keeps each
// agency's on the snapshot (enquiryCasesOnce). Whether the case is in
// each figure of an agency is one integer, bit i for enquiryParts[i]: a
// column a figure cost the process a conversion a row each, most of the
// report's own CPU (decision 0106).
func (f Figures) readEnquiryCases(ctx context.Context, actor Actor, q FigureQuery) error {
	base := &sqlb{pg: f.pg}
	sfx := []string{"_p", "_c"} // enquiryAgencies'
	cond, err := enquiryAgenciesBase(base, actor, q, enquiryAgencies, sfx)
	if err != nil {
		return err
	}
	s := &sqlb{}
	s.add(`SELECT i.case_id, i.team_id, i.officer_id`)
	for a, sf := range sfx {
		s.add(`, coalesce(i.days` + sf + `, 0), coalesce(i.nr_id` + sf + `, ''), coalesce(i.nr_reason` + sf + `, ''), 0`)
		for bit := range enquiryParts {
			s.add(` + CASE WHEN `)
			cond(s, a, bit)
			s.add(fmt.Sprintf(` THEN %d ELSE 0 END`, 1<<bit))
		}
	}
	s.add(` FROM (`+base.b.String()+`) i ORDER BY i.case_id`, base.args...)
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return fmt.Errorf("figures of %s: %w", MeasureEnquiries, err)
	}
	defer rs.Close()
	var c [2]enquiryCase
	var days, in [2]int64 // as the drivers give them: an int or a uint32 is converted through a string
	dst := []any{&c[0].caseID, &c[0].teamID, &c[0].officerID}
	for a := range c {
		dst = append(dst, &days[a], &c[a].nrID, &c[a].reason, &in[a])
	}
	var cs [2][]enquiryCase
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return fmt.Errorf("figures of %s: %w", MeasureEnquiries, err)
		}
		c[1].caseID, c[1].teamID, c[1].officerID = c[0].caseID, c[0].teamID, c[0].officerID
		for a := range c {
			c[a].days, c[a].in = int(days[a]), uint32(in[a])
			cs[a] = append(cs[a], c[a])
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("figures of %s: %w", MeasureEnquiries, err)
	}
	for a, agency := range enquiryAgencies {
		key := enquiryKey{actor: actor, q: q}
		key.q.Figure = agency
		f.enquiries[key] = cs[a]
	}
	return nil
}

// enquirySums is figureSums of measure 4 from the agency's cases on the
// snapshot; false when a figure is not of f.Figure's agency's.
func (f Figures) enquirySums(ctx context.Context, actor Actor, q FigureQuery, figures []string) ([]FigureSums, bool, error) {
	agency, _ := enquiryPart(q.Figure)
	parts := make([]int, len(figures))
	for i, name := range figures {
		a, p := enquiryPart(name)
		if p < 0 || a != agency || !slices.Contains(figureNames[MeasureEnquiries], name) {
			return nil, false, nil
		}
		parts[i] = p
	}
	key := enquiryKey{actor: actor, q: q}
	key.q.Figure = agency
	if _, ok := f.enquiries[key]; !ok && !slices.ContainsFunc(parts, func(p int) bool { return p > 1 }) {
		sums, err := f.enquiryNeededSums(ctx, actor, q, agency, parts)
		return sums, err == nil, err
	}
	cs, part, err := f.enquiryCasesOnce(ctx, actor, q, q.Figure)
	if err != nil || part < 0 {
		return nil, false, err
	}
	groups := map[[2]string]*FigureSums{}
	var out []*FigureSums
	for _, c := range cs {
		g := groups[[2]string{c.teamID, c.officerID}]
		if g == nil { // as figureSums: the groups with a case
			g = &FigureSums{TeamID: c.teamID, OfficerID: c.officerID, N: make([]int, len(figures))}
			groups[[2]string{c.teamID, c.officerID}] = g
			out = append(out, g)
		}
		for i, p := range parts {
			if c.of(p) {
				g.N[i]++
			}
		}
	}
	slices.SortFunc(out, func(a, b *FigureSums) int {
		return cmp.Or(cmp.Compare(a.TeamID, b.TeamID), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	var sums []FigureSums // nil when none, as figureSums
	for _, g := range out {
		sums = append(sums, *g)
	}
	return sums, true, nil
}

// enquiryAllCases is the cases of measure 4's figure "cases" for q, read
// with both agencies' figures once a snapshot (readEnquiryCases: its rows
// are every case of the period); false when the snapshot keeps none or q
// asks for another figure, or for one wrongly (the caller's statement
// then answers, or reports what is wrong with q). The report's groups of
// cases and its case list were two statements of their own over the same
// cases (decision 0114).
func (f Figures) enquiryAllCases(ctx context.Context, actor Actor, q FigureQuery) ([]enquiryCase, bool, error) {
	if q.Measure != MeasureEnquiries || q.Figure != "cases" || f.enquiries == nil {
		return nil, false, nil
	}
	if _, err := figureRows(actor, q); err != nil {
		return nil, false, nil
	}
	cs, _, err := f.enquiryCasesOnce(ctx, actor, q, enquiryAgencies[0]+"."+enquiryParts[0])
	return cs, err == nil, err
}

// enquiryGroups is figureGroups of measure 4's "cases" from its cases: a
// group of each team and officer with a case, ordered by team then
// officer id, its rows and cases the cases (one row each).
func enquiryGroups(cs []enquiryCase) []FigureGroup {
	at := map[[2]string]int{}
	var out []FigureGroup
	for _, c := range cs {
		k := [2]string{c.teamID, c.officerID}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, FigureGroup{TeamID: c.teamID, OfficerID: c.officerID})
		}
		out[i].Rows++
		out[i].Cases++
	}
	slices.SortFunc(out, func(a, b FigureGroup) int {
		return cmp.Or(cmp.Compare(a.TeamID, b.TeamID), cmp.Compare(a.OfficerID, b.OfficerID))
	})
	return out
}

// enquiryCaseIDs is the ids of cs (in case id order, one row a case).
func enquiryCaseIDs(cs []enquiryCase) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.caseID
	}
	return ids
}

// enquiryNeededSums is figureSums of the agency's figures parts, each
// needed or answered (enquiryParts' first two), for q: the previous
// period's headline asks for the police's two alone, and the agency's
// cases with every figure (readEnquiryCases, a LATERAL read of both
// agencies' enquiries, flags and household a case) cost it three times
// what its two probes a case cost: whether the case needs the enquiry
// and, if it does, whether one was answered by as_of (decision 0114).
// The answered figure is the needed one whose status is answered: an
// earliest answer's day (enquiryAgenciesBase's ans_day) not NULL.
func (f Figures) enquiryNeededSums(ctx context.Context, actor Actor, q FigureQuery, agency string, parts []int) ([]FigureSums, error) {
	asOf := string(q.AsOf)
	k := &sqlb{}
	k.add(`SELECT c.team_id, c.officer_id, CASE WHEN `)
	enquiryNeed(k, agency, asOf)
	k.add(` THEN CASE WHEN EXISTS (SELECT 1 FROM rm_enquiries e WHERE e.case_id = c.case_id AND e.agency = ?
		AND e.stage IN ('pre_sentence', 'initial_assessment') AND (e.requested_on = '' OR e.requested_on <= ?)
		AND e.answered_on <> '' AND e.answered_on <= ? AND e.answered_day IS NOT NULL) THEN 2 ELSE 1 END ELSE 0 END AS k
		FROM rm_cases c WHERE c.supervision_start <> '' AND c.supervision_start >= ? AND c.supervision_start <= ?
		AND c.supervision_start <= ?`, agency, asOf, asOf, string(q.From), string(q.To), asOf)
	if err := k.scoped(actor, "c", q); err != nil {
		return nil, err
	}
	// MATERIALIZED, as enquiryAgenciesBase's: a plain subquery's probes
	// would be copied into each sum that reads k.
	s := &sqlb{}
	s.add(`WITH k AS MATERIALIZED (`+k.b.String()+`) SELECT b.team_id, b.officer_id`, k.args...)
	for _, p := range parts {
		s.add(fmt.Sprintf(`, sum(CASE WHEN b.k > %d THEN 1 ELSE 0 END)`, p))
	}
	s.add(` FROM k b GROUP BY b.team_id, b.officer_id ORDER BY b.team_id, b.officer_id`)
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, fmt.Errorf("figures of %s for %s: %w", MeasureEnquiries, agency, err)
	}
	defer rs.Close()
	var out []FigureSums // nil when none, as figureSums
	for rs.Next() {
		g := FigureSums{N: make([]int, len(parts))}
		dst := []any{&g.TeamID, &g.OfficerID}
		for i := range g.N {
			dst = append(dst, &g.N[i])
		}
		if err := rs.Scan(dst...); err != nil {
			return nil, fmt.Errorf("figures of %s for %s: %w", MeasureEnquiries, agency, err)
		}
		out = append(out, g)
	}
	return out, rs.Err()
}
