package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// The measures the read model answers (docs/compliance.md, "The read
// model"): each figure is a set of rows (a case, a requirement or a
// visit, with the case's team and officer) that one SQL query selects
// over the read model's tables, counted by team and officer with GROUP BY
// and listed by case id, in pages. The SQL is plain (no JSON, no
// engine-only function, ? placeholders), so it runs on SQLite and
// PostgreSQL alike; days are whole numbers, so a date difference is a
// subtraction.

// Measures the read model answers, by the name their reports carry.
const (
	MeasureFirstHomeVisit = "first_home_visit_on_time" // measure 1
	MeasureOverdue        = "overdue_requirements"     // measure 2
	MeasureWorkload       = "workload"                 // measure 8
)

// WorkloadWeeks is how many weeks measure 8 looks ahead from as_of.
const WorkloadWeeks = 4

// FigureQuery asks for one figure of one measure.
type FigureQuery struct {
	Measure string
	// Figure is the figure's name in the measure's JSON figures
	// (FigureNames).
	Figure string
	// AsOf is the day the measure is computed on.
	AsOf schema.Date
	// From and To are measure 1's period (both days in it).
	From, To schema.Date
	// OfficerID, when set, keeps only the cases allocated to this officer;
	// TeamID, only those of this team.
	OfficerID, TeamID string
	// Need, when set, keeps only measure 6's needs of this kind.
	Need string
	// WithinDays is measure 4's limit of the inspection's view
	// (policy.Policy.EnquiryDays).
	WithinDays int
}

// FigureGroup is one figure's count for the cases of one team and officer
// (the case's current allocation, as the measures group).
type FigureGroup struct {
	TeamID, OfficerID string
	// Rows: the requirements or visits the figure counts (for a figure of
	// cases, the cases).
	Rows int
	// Cases: the distinct cases among them.
	Cases int
	// Max: the largest days overdue (measure 2's cases), else 0.
	Max int
	// ByWeek: the rows by week from as_of (measure 8's due_cases), else 0.
	ByWeek [WorkloadWeeks]int
}

// figureNames are the figures of each measure the read model answers.
var figureNames = map[string][]string{
	MeasureOverdue: {"cases"},
	MeasureWorkload: {"caseload", "da_cases", "high_rosh", "not_started", "due_cases", "overdue_cases",
		"planned"},
	MeasureFirstHomeVisit: {"cases", "denominator", "numerator", "met_late", "missed", "not_yet_due",
		"not_yet_due_visited", "exempted", "cancelled", "no_requirement", "safety_not_approved", "safety_exempted",
		"visited_at_all.numerator", "visited_at_all.denominator"},
	MeasureContacts:   contactFigureNames(),
	MeasureHouseholds: append(slices.Clone(householdCaseFigures), householdVisitFigures...),
	MeasureExemptions: {"due", "exempted", "met", "missed", "met_despite_exemption", "safety_not_approved", "safety_exempted"},
}

// FigureNames returns the figures of measure the read model answers, nil
// for a measure it does not.
func FigureNames(measure string) []string { return slices.Clone(figureNames[measure]) }

// sqlb builds a statement and its arguments in the order they appear.
type sqlb struct {
	b    strings.Builder
	args []any
	// pg says the statement runs on PostgreSQL, for the few places that
	// write it otherwise there (exemptionsDueFamily, enquiryBase); false
	// writes SQL both stores run.
	pg bool
	// numbered asks a figure set's rows for the numbers of their team
	// and officer too (figureSet.numbered).
	numbered bool
	// in, when set, is the cases the statement's rows are of (within):
	// the subqueries that do not read the outer query's row (exemptOn's)
	// keep to them, rather than read the whole service (decision 0080).
	in *caseIn
}

// caseIn is the cases of a figure query: the actor's scope and the
// query's officer and team filters (sqlb.scoped's).
type caseIn struct {
	actor             Actor
	officerID, teamID string
}

// within says that q's rows are of the cases of the actor's scope and
// f's officer and team (scoped, on the outer query).
func (q *sqlb) within(actor Actor, f FigureQuery) *sqlb {
	q.in = &caseIn{actor: actor, officerID: f.OfficerID, teamID: f.TeamID}
	return q
}

// inCases adds, when q is within cases (within), the condition that the
// case of column col is one of them, as sqlb.scoped keeps the outer
// query's rows to them: a subquery that reads no column of the outer
// query then reads the team's rows, not the service's. Without within,
// or for an actor who sees every case and no filter, nothing.
func (q *sqlb) inCases(col string) {
	if q.in == nil {
		return
	}
	if cond, args, err := scopeFilter(q.in.actor, col); err == nil && cond != "1 = 1" {
		q.add(" AND "+cond, args...)
	}
	if q.in.officerID != "" {
		q.add(" AND "+col+" IN (SELECT case_id FROM rm_cases WHERE officer_id = ?)", q.in.officerID)
	}
	if q.in.teamID != "" {
		q.add(" AND "+col+" IN (SELECT case_id FROM rm_cases WHERE team_id = ?)", q.in.teamID)
	}
}

func (q *sqlb) add(s string, args ...any) *sqlb {
	q.b.WriteString(s)
	q.args = append(q.args, args...)
	return q
}

// exemptOn adds the condition that the case of column col is exempted on
// day d by its safety assessment (policy.AssessmentAsOf and
// policy.SafetyExemption): the latest assessment of its current address
// assessed on or before d, by assessed_on, decided_on, id, exempts, with
// its decision made on or before d. decision, when set, also asks for
// that decision. The days each case is exempted are rm_exempt's spans
// (migration 0025, decision 0112), written with rm_safety: the case is
// exempted on d when one of its spans holds d. The cases exempted are one
// subquery that reads no column of the outer query, so that both stores
// work it out once a statement (SQLite into an index of its own,
// PostgreSQL into a hash) rather than once a row (decision 0057). Within
// cases (sqlb.within), the subquery reads only their spans (decision
// 0080).
func (q *sqlb) exemptOn(col string, d schema.Date, decision string) {
	q.add(col + ` IN (SELECT s.case_id FROM rm_exempt s WHERE `)
	q.exempting("s", d, decision)
	q.inCases("s.case_id")
	q.add(`)`)
}

// exemptingAssessment adds the condition that the rm_exempt row alias is
// the span of the assessment that exempts the case of column col on day
// d (see exemptOn): the row names the assessment, its decision, reason
// and decider.
func (q *sqlb) exemptingAssessment(alias, col string, d schema.Date, decision string) {
	q.add(alias + `.case_id = ` + col + ` AND `)
	q.exempting(alias, d, decision)
}

// exempting adds the condition that the rm_exempt row alias is a span
// that exempts its case on day d (see exemptOn): a case has one such
// span at most.
func (q *sqlb) exempting(alias string, d schema.Date, decision string) {
	q.exemptingOnDay(alias, "?", string(d), decision)
}

// exemptingOnDay is exempting on the day of the SQL expression day,
// with its argument arg when it has one (nil when it has none).
func (q *sqlb) exemptingOnDay(alias, day string, arg any, decision string) {
	var args []any
	if arg != nil {
		args = []any{arg, arg}
	}
	q.add(alias+`.from_day <= `+day+` AND `+day+` < `+alias+`.to_day`, args...)
	if decision != "" {
		q.add(` AND `+alias+`.decision = ?`, decision)
	}
}

// scoped adds the actor's scope and the query's officer and team filters
// on the case, team and officer columns of alias a.
func (q *sqlb) scoped(actor Actor, a string, f FigureQuery) error {
	cond, args, err := scopeFilter(actor, a+".case_id")
	if err != nil {
		return err
	}
	q.add(" AND "+cond, args...)
	if f.OfficerID != "" {
		q.add(" AND "+a+".officer_id = ?", f.OfficerID)
	}
	if f.TeamID != "" {
		q.add(" AND "+a+".team_id = ?", f.TeamID)
	}
	return nil
}

// figureRows builds the query of f's rows: case_id, team_id, officer_id,
// x (days overdue) and wk (week from as_of).
func figureRows(actor Actor, f FigureQuery) (*sqlb, error) {
	if !slices.Contains(figureNames[f.Measure], f.Figure) {
		if figureNames[f.Measure] == nil {
			return nil, schema.Errorf(schema.ECodeInvalid, "measure", "the read model does not answer measure %q", f.Measure)
		}
		return nil, schema.Errorf(schema.ECodeInvalid, "figure", "measure %s has no figure %q; it has %s", f.Measure, f.Figure,
			strings.Join(figureNames[f.Measure], ", "))
	}
	d, ok := dayNumber(f.AsOf)
	if !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	q := (&sqlb{}).within(actor, f)
	if fam, ok := familyOf(f.Measure, f.Figure); ok {
		return q, familyRows(q, fam, actor, f, d)
	}
	var err error
	switch f.Measure {
	case MeasureOverdue:
		err = overdueRows(q, actor, f, d)
	case MeasureWorkload:
		err = workloadRows(q, actor, f, d)
	case MeasureContacts, MeasureHouseholds:
		s, _ := figureSetOf(f.Measure, f.Figure)
		err = setRows(q, s, actor, f)
	case MeasureReviews:
		err = reviewRows(q, actor, f, d)
	case MeasureInterventions:
		err = interventionRows(q, actor, f)
	case MeasureEnquiries:
		err = enquiryRows(q, actor, f)
	}
	return q, err
}

// unmetRows writes the requirements that rows selects (a SELECT over
// requirements r whose WHERE it has begun) that exist on day d and are
// neither met nor exempted then, in two branches joined by UNION ALL:
// those never met, then those met after d. One condition, met_day IS
// NULL OR met_day > d, read every requirement row for the 12% not met;
// each branch's condition is an index's (migration 0026, decision 0124):
// requirements_unmet holds the rows never met by due day, and
// requirements_met the others by met_day. The branches are disjoint, so
// the rows are the one condition's.
func (q *sqlb) unmetRows(f FigureQuery, d int64, rows func(q *sqlb) error) error {
	branches := []struct {
		met  string
		args []any
	}{{`r.met_day IS NULL`, nil}, {`r.met_day > ?`, []any{d}}}
	for i, b := range branches {
		if i > 0 {
			q.add(` UNION ALL `)
		}
		if err := rows(q); err != nil {
			return err
		}
		q.add(` AND r.triggered_day <= ? AND `, d)
		q.add(b.met+` AND NOT `, b.args...)
		q.exemptOn("r.case_id", f.AsOf, "")
	}
	return nil
}

// overdueRows: measure 2's overdue requirements, those of open cases past
// their due date on as_of, not met nor exempted then.
func overdueRows(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	return q.unmetRows(f, d, func(q *sqlb) error {
		q.add(`SELECT r.case_id, r.team_id, r.officer_id, ? - r.due_day AS x, 0 AS wk FROM requirements r
		WHERE r.closed = 0 AND r.due_day < ?`, d, d)
		return q.scoped(actor, "r", f)
	})
}

// workloadRows: measure 8's planned visits (its other figures are
// families: readmodel_tally.go).
func workloadRows(q *sqlb, actor Actor, f FigureQuery, _ int64) error {
	asOf := string(f.AsOf)
	until := schema.DateOf(f.AsOf.Time().AddDate(0, 0, 7*WorkloadWeeks-1))
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk FROM rm_visits v JOIN rm_cases c ON c.case_id = v.case_id
		WHERE v.status = 'planned' AND v.day <> '' AND v.day >= ? AND v.day <= ?
		AND c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ?`, asOf, string(until), asOf)
	return q.scoped(actor, "c", f)
}

// firstVisitCases: measure 1's cases, those whose supervision started in
// the period, on or before as_of, with a domestic-abuse flag live on some
// day from the start to the first home visit's due date (or as_of, if
// earlier), each with the outcome of its first home visit on as_of
// (outcome), whether it was visited by then (visited) and the safety
// decision that exempts it (safety): the rows of firstVisitFamily.
func firstVisitCases(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	if _, ok := dayNumber(f.From); !ok {
		return schema.Errorf(schema.ECodeInvalid, "from", "from must be a date (YYYY-MM-DD)")
	}
	if _, ok := dayNumber(f.To); !ok {
		return schema.Errorf(schema.ECodeInvalid, "to", "to must be a date (YYYY-MM-DD)")
	}
	asOf := string(f.AsOf)
	// The cases are a CTE kept MATERIALIZED (decision 0067): PostgreSQL
	// would pull a plain subquery up into the family's count and copy the
	// outcome, with its exemptOn, into every figure's condition that reads
	// it (a hashed subplan over rm_safety each, 15 of them a statement).
	outer := q
	q = &sqlb{in: outer.in}
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk,
		CASE WHEN r.case_id IS NULL THEN 'no_requirement'
			WHEN r.met_day IS NOT NULL AND r.met_day <= ? THEN
				CASE WHEN r.due_day > ? THEN 'not_yet_due' WHEN r.met_day <= r.due_day THEN 'on_time' ELSE 'late' END
			WHEN `, d, d)
	q.exemptOn("c.case_id", f.AsOf, "")
	q.add(` THEN 'exempted'
			WHEN r.closed = 1 AND ? > r.due_day THEN 'missed'
			WHEN r.closed = 1 THEN 'cancelled'
			WHEN ? > r.due_day THEN 'missed'
			ELSE 'not_yet_due' END AS outcome,
		CASE WHEN r.met_day IS NOT NULL AND r.met_day <= ? THEN 1 ELSE 0 END AS visited,
		CASE WHEN `, d, d, d)
	q.exemptOn("c.case_id", f.AsOf, "not_approved")
	q.add(` THEN 'not_approved' WHEN `)
	q.exemptOn("c.case_id", f.AsOf, "exempted")
	q.add(` THEN 'exempted' ELSE '' END AS safety
		FROM rm_cases c LEFT JOIN requirements r ON r.case_id = c.case_id AND r.first_home = 1
		WHERE c.supervision_start <> '' AND c.supervision_start >= ? AND c.supervision_start <= ? AND c.supervision_start <= ?
		AND EXISTS (SELECT 1 FROM rm_flags g WHERE g.case_id = c.case_id AND g.type IN ('da_perpetrator', 'da_victim')
			AND (g.start_date = '' OR g.start_date <= CASE WHEN r.due_on IS NOT NULL AND r.due_on < ? THEN r.due_on ELSE ? END)
			AND (g.ended_on = '' OR g.ended_on > c.supervision_start))`, string(f.From), string(f.To), asOf, asOf, asOf)
	if err := q.scoped(actor, "c", f); err != nil {
		return err
	}
	outer.add(`WITH fv AS MATERIALIZED (`+q.b.String()+`) SELECT * FROM fv`, q.args...)
	return nil
}

// FigureGroups counts f's figure over the actor's scope by team and
// officer, with one GROUP BY over the read model: the groups with at
// least one row, ordered by team then officer id.
func (db *DB) FigureGroups(ctx context.Context, actor Actor, f FigureQuery) ([]FigureGroup, error) {
	return figureGroups(ctx, db.r, actor, f)
}

func figureGroups(ctx context.Context, db querier, actor Actor, f FigureQuery) ([]FigureGroup, error) {
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT team_id, officer_id, count(*), count(DISTINCT case_id), coalesce(max(x), 0)`)
	for w := 1; w <= WorkloadWeeks; w++ {
		q.add(fmt.Sprintf(`, sum(CASE WHEN wk = %d THEN 1 ELSE 0 END)`, w))
	}
	q.add(` FROM (`+rows.b.String()+`) f GROUP BY team_id, officer_id ORDER BY team_id, officer_id`, rows.args...)
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s: %w", f.Measure, f.Figure, err)
	}
	defer rs.Close()
	var out []FigureGroup
	for rs.Next() {
		var g FigureGroup
		dst := []any{&g.TeamID, &g.OfficerID, &g.Rows, &g.Cases, &g.Max}
		for i := range g.ByWeek {
			dst = append(dst, &g.ByWeek[i])
		}
		if err := rs.Scan(dst...); err != nil {
			return nil, fmt.Errorf("figure %s.%s: %w", f.Measure, f.Figure, err)
		}
		out = append(out, g)
	}
	return out, rs.Err()
}

// FigureCases lists the cases of f's figure in the actor's scope, in
// case id order, those after the case id after ("" from the first), at
// most limit of them.
func (db *DB) FigureCases(ctx context.Context, actor Actor, f FigureQuery, after string, limit int) ([]string, error) {
	return figureCases(ctx, db.r, actor, f, after, limit)
}

func figureCases(ctx context.Context, db querier, actor Actor, f FigureQuery, after string, limit int) ([]string, error) {
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT DISTINCT case_id FROM (`+rows.b.String()+`) f WHERE case_id > ? ORDER BY case_id LIMIT ?`,
		append(rows.args, after, limit)...)
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s cases: %w", f.Measure, f.Figure, err)
	}
	defer rs.Close()
	ids := []string{}
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			return nil, fmt.Errorf("figure %s.%s cases: %w", f.Measure, f.Figure, err)
		}
		ids = append(ids, id)
	}
	return ids, rs.Err()
}

// Excuse is why one case of measure 1's exempted figure was exempted, and
// who approved it: the safety assessment that exempts it on as_of.
type Excuse struct {
	CaseID, TeamID, OfficerID string
	Reason, ApprovedBy        string
}

// FigureExcuses lists, for measure 1's exempted cases of f (its Figure is
// not read), why each was exempted, in case id order.
func (db *DB) FigureExcuses(ctx context.Context, actor Actor, f FigureQuery) ([]Excuse, error) {
	return figureExcuses(ctx, db.r, actor, f)
}

func figureExcuses(ctx context.Context, db querier, actor Actor, f FigureQuery) ([]Excuse, error) {
	f.Measure, f.Figure = MeasureFirstHomeVisit, "exempted"
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT e.case_id, e.team_id, e.officer_id, a.reason, a.decided_by FROM (`+rows.b.String()+`) e
		JOIN rm_exempt a ON `, rows.args...)
	q.exemptingAssessment("a", "e.case_id", f.AsOf, "")
	q.add(` ORDER BY e.case_id`)
	return scanExcuses(ctx, db, q, f)
}

// scanExcuses runs q, whose rows are Excuses' columns in order, for the
// excuses of f.
func scanExcuses(ctx context.Context, db querier, q *sqlb, f FigureQuery) ([]Excuse, error) {
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.exempted reasons: %w", f.Measure, err)
	}
	defer rs.Close()
	var out []Excuse
	for rs.Next() {
		var e Excuse
		if err := rs.Scan(&e.CaseID, &e.TeamID, &e.OfficerID, &e.Reason, &e.ApprovedBy); err != nil {
			return nil, fmt.Errorf("figure %s.exempted reasons: %w", f.Measure, err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// Figures answers figure queries on one snapshot of the read model, so
// that the figures of one answer agree with each other (ReadFigures).
type Figures struct {
	q querier
	// tallies are the families' counts and cases already made on the
	// snapshot (tallyOnce); nil: a statement a figure.
	tallies map[tallyKey]*familyTally
	// enquiries are measure 4's cases of an agency already read on the
	// snapshot (enquiryCasesOnce); nil: a statement a figure.
	enquiries map[enquiryKey][]enquiryCase
	// setCases are the cases of measures 3 and 5's figure sets' rows
	// kept by CountsListing (setCasesOnce); nil: none kept.
	setCases map[setKey][]string
	// reviews are measure 7's reviews counted by status already read on
	// the snapshot (reviewStatsOnce); nil: figureSums a family.
	reviews map[reviewKey][]reviewStat
	// pg: q is PostgreSQL's, and the tallies may be written for it
	// (sqlb.pg).
	pg bool
}

// Groups is FigureGroups on the snapshot; a figure of a family (measure
// 1's, measure 8's of cases and of requirements, the exemptions report's
// of requirements) is counted with its family, once a snapshot.
func (f Figures) Groups(ctx context.Context, actor Actor, q FigureQuery) ([]FigureGroup, error) {
	if cs, ok, err := f.enquiryAllCases(ctx, actor, q); err != nil || ok { // measure 4's cases, read once
		return enquiryGroups(cs), err
	}
	return f.groupsOnce(ctx, actor, q)
}

// Cases is FigureCases on the snapshot; a figure of a family's cases are
// its family's, counted once a snapshot (casesOnce).
func (f Figures) Cases(ctx context.Context, actor Actor, q FigureQuery, after string, limit int) ([]string, error) {
	if cs, ok, err := f.enquiryAllCases(ctx, actor, q); err != nil || ok { // measure 4's cases, read once
		return casesAfter(enquiryCaseIDs(cs), after, limit), err
	}
	return f.casesOnce(ctx, actor, q, after, limit)
}

// Excuses is FigureExcuses on the snapshot. On PostgreSQL the exempted
// cases are its family's tally's (the report's counts have them
// already), read by key with the assessment that exempts each, where
// figureExcuses works out measure 1's rows again (decision 0107).
func (f Figures) Excuses(ctx context.Context, actor Actor, q FigureQuery) ([]Excuse, error) {
	if !f.pg {
		return figureExcuses(ctx, f.q, actor, q)
	}
	q.Measure, q.Figure = MeasureFirstHomeVisit, "exempted"
	t, ok, err := f.tallyOnce(ctx, actor, q)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return figureExcuses(ctx, f.q, actor, q)
	}
	ids := t.casesOf(q.Figure)
	if len(ids) == 0 {
		return nil, nil
	}
	s := &sqlb{pg: true}
	s.add(`SELECT c.case_id, c.team_id, c.officer_id, a.reason, a.decided_by FROM rm_cases c JOIN rm_exempt a ON `)
	s.exemptingAssessment("a", "c.case_id", q.AsOf, "")
	s.add(` WHERE c.case_id = ANY(?) ORDER BY c.case_id`, ids)
	return scanExcuses(ctx, f.q, s, q)
}

// ReadFigures runs fn on one read transaction of the read model.
func (db *DB) ReadFigures(ctx context.Context, fn func(Figures) error) error {
	return db.view(ctx, func(tx *sql.Tx) error {
		return fn(newFigures(tx, db.eng.name() == "postgres"))
	})
}

// newFigures answers figure queries with q (PostgreSQL's when pg), each
// family's figures counted once and measure 4's agencies read once
// (ReadFigures' snapshot).
func newFigures(q querier, pg bool) Figures {
	return Figures{q: q, tallies: map[tallyKey]*familyTally{}, enquiries: map[enquiryKey][]enquiryCase{},
		setCases: map[setKey][]string{}, reviews: map[reviewKey][]reviewStat{}, pg: pg}
}
