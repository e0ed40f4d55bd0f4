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
	asOf := string(f.AsOf)
	agency, _, _ := strings.Cut(strings.TrimPrefix(f.Figure, "inspection."), ".")
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
	enq := func(cond string, args ...any) {
		q.add(` FROM rm_enquiries e WHERE e.case_id = c.case_id AND e.agency = ? AND e.stage IN ('pre_sentence', 'initial_assessment')
			AND (e.requested_on = '' OR e.requested_on <= ?) AND `+cond, append([]any{agency, asOf}, args...)...)
	}
	const notAnswered = `(e.answered_on = '' OR e.answered_on > ?)`
	const notRequested = `e.not_requested_reason <> '' AND e.requested_on = ''`
	if outer.pg {
		// On PostgreSQL a case's enquiries of the agency are read once,
		// by a LATERAL join below, and the four probes are aggregates of
		// that one read (decision 0093): each of the correlated
		// subqueries that SQLite runs (it has no LATERAL) was an index
		// probe of rm_enquiries a case. The same read gives the reason of
		// the enquiry not requested (decision 0106), which a join to
		// rm_enquiries by nr_id read from a hash of every enquiry.
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, c.start_day, x.ans_day, x.nr_id, x.nr_reason,
			CASE WHEN x.rq THEN 1 ELSE 0 END AS rq, coalesce(x.rq_due, '') AS rq_due, `)
	} else {
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, c.start_day, (SELECT min(e.answered_day)`)
		enq(`e.answered_on <> '' AND e.answered_on <= ?) AS ans_day, (SELECT min(e.enquiry_id)`, asOf)
		enq(notAnswered+` AND `+notRequested+`) AS nr_id, CASE WHEN EXISTS (SELECT 1`, asOf)
		enq(notAnswered+` AND NOT (`+notRequested+`)) THEN 1 ELSE 0 END AS rq, coalesce((SELECT e.due_on`, asOf)
		enq(notAnswered+` AND NOT (`+notRequested+`) ORDER BY e.requested_on, e.enquiry_id LIMIT 1), '') AS rq_due, `, asOf)
	}
	// What calls for the enquiry: a flag live on some day from the start
	// to as_of; for children's services, also a child in the household
	// then (compliance's daFlags, childNeed, childIn).
	flag := func(types string) {
		q.add(`EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = c.case_id AND g.type IN (`+types+`)
			AND (g.start_date = '' OR g.start_date <= ?) AND (g.ended_on = '' OR g.ended_on > c.supervision_start))`, asOf)
	}
	child := func(residences string) {
		q.add(`EXISTS (SELECT 1 FROM rm_household h WHERE h.case_id = c.case_id
			AND h.relation IN ('own_child', 'step_child', 'other_child') AND h.residence IN (`+residences+`)
			AND (h.added_on = '' OR h.added_on <= ?) AND (h.left_on = '' OR h.left_on > c.supervision_start))`, asOf)
	}
	q.add(`CASE WHEN `)
	if agency == "police" {
		flag(`'da_perpetrator', 'da_victim'`)
		q.add(` THEN 1 ELSE 0 END AS needed, 0 AS visits`)
	} else {
		flag(`'child_concerns', 'child_protection', 'risk_to_children'`)
		q.add(` OR `)
		child(`'lives_here', 'stays_sometimes'`)
		q.add(` THEN 1 ELSE 0 END AS needed, CASE WHEN `)
		child(`'visits'`)
		q.add(` THEN 1 ELSE 0 END AS visits`)
	}
	q.add(` FROM rm_cases c`)
	if outer.pg {
		q.add(` LEFT JOIN LATERAL (SELECT min(e.answered_day) FILTER (WHERE e.answered_on <> '' AND e.answered_on <= ?) AS ans_day,
			min(e.enquiry_id) FILTER (WHERE `+notAnswered+` AND `+notRequested+`) AS nr_id,
			(array_agg(e.not_requested_reason ORDER BY e.enquiry_id) FILTER (WHERE `+notAnswered+` AND `+notRequested+`))[1] AS nr_reason,
			bool_or(`+notAnswered+` AND NOT (`+notRequested+`)) AS rq,
			(array_agg(e.due_on ORDER BY e.requested_on, e.enquiry_id) FILTER (WHERE `+notAnswered+` AND NOT (`+notRequested+`)))[1] AS rq_due`,
			asOf, asOf, asOf, asOf, asOf)
		enq(`1 = 1) x ON true`)
	}
	q.add(` WHERE c.supervision_start <> '' AND c.supervision_start >= ? AND c.supervision_start <= ?
		AND c.supervision_start <= ?`, string(f.From), string(f.To), asOf)
	if err := q.scoped(actor, "c", f); err != nil {
		return nil, err
	}
	// SQLite reads the reason of the enquiry not requested by its id,
	// PostgreSQL with the case's other enquiries (above).
	reason := `b.nr_reason`
	if !outer.pg {
		reason = `(SELECT r.not_requested_reason FROM rm_enquiries r WHERE r.enquiry_id = b.nr_id)`
	}
	outer.add(`WITH k AS MATERIALIZED (`+q.b.String()+`)
		SELECT b.case_id, b.team_id, b.officer_id, 0 AS x, b.needed, b.visits, b.nr_id, `+reason+` AS nr_reason,
			CASE WHEN b.ans_day IS NOT NULL THEN 'answered' WHEN b.nr_id IS NOT NULL THEN 'not_requested'
				WHEN b.rq = 1 AND b.rq_due <> '' AND b.rq_due < ? THEN 'overdue' WHEN b.rq = 1 THEN 'awaiting'
				ELSE 'not_recorded' END AS status,
			b.ans_day - b.start_day AS days,
			CASE WHEN b.ans_day IS NOT NULL AND b.ans_day - b.start_day <= ? THEN 1 ELSE 0 END AS in_time
		FROM k b`, append(q.args, asOf, f.WithinDays)...)
	return func(q *sqlb, figure string) {
		inspection := strings.HasPrefix(figure, "inspection.")
		_, figure, _ = strings.Cut(strings.TrimPrefix(figure, "inspection."), ".")
		if inspection {
			figure = "inspection." + figure
		}
		const inspected = `(i.needed = 1 OR i.visits = 1)`
		switch figure {
		case "needed":
			q.add(`i.needed = 1`)
		case "answered_not_needed":
			q.add(`i.needed = 0 AND i.status = 'answered'`)
		case "inspection.denominator":
			q.add(inspected)
		case "inspection.numerator":
			q.add(inspected + ` AND i.in_time = 1`)
		case "inspection.answered_late":
			q.add(inspected + ` AND i.status = 'answered' AND i.in_time = 0`)
		default: // answered, not_requested, overdue, awaiting, not_recorded
			q.add(`i.needed = 1 AND i.status = ?`, figure)
		}
	}, nil
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
	base := &sqlb{pg: f.pg}
	fq := q
	fq.Figure = agency + "." + enquiryParts[0]
	cond, err := enquiryBase(base, actor, fq, 0)
	if err != nil {
		return nil, -1, err
	}
	// Whether the case is in each figure is one integer, bit i for
	// enquiryParts[i]: a column a figure cost the process a conversion a
	// row each, most of the report's own CPU (decision 0106).
	s := &sqlb{}
	s.add(`SELECT i.case_id, i.team_id, i.officer_id, coalesce(i.days, 0), coalesce(i.nr_id, ''), coalesce(i.nr_reason, ''), 0`)
	for bit, p := range enquiryParts {
		name := agency + "." + p
		if rest, ok := strings.CutPrefix(p, "inspection."); ok {
			name = "inspection." + agency + "." + rest
		}
		s.add(` + CASE WHEN `)
		cond(s, name)
		s.add(fmt.Sprintf(` THEN %d ELSE 0 END`, 1<<bit))
	}
	s.add(` FROM (`+base.b.String()+`) i ORDER BY i.case_id`, base.args...)
	rs, err := f.q.QueryContext(ctx, s.b.String(), s.args...)
	if err != nil {
		return nil, -1, fmt.Errorf("figures of %s for %s: %w", MeasureEnquiries, agency, err)
	}
	defer rs.Close()
	var cs []enquiryCase
	var c enquiryCase
	var days, in int64 // as the drivers give them: an int or a uint32 is converted through a string
	dst := []any{&c.caseID, &c.teamID, &c.officerID, &days, &c.nrID, &c.reason, &in}
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return nil, -1, fmt.Errorf("figures of %s for %s: %w", MeasureEnquiries, agency, err)
		}
		c.days, c.in = int(days), uint32(in)
		cs = append(cs, c)
	}
	if err := rs.Err(); err != nil {
		return nil, -1, fmt.Errorf("figures of %s for %s: %w", MeasureEnquiries, agency, err)
	}
	f.enquiries[key] = cs
	return cs, part, nil
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
