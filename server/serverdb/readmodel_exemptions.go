package serverdb

import (
	"context"
	"fmt"

	"doorstep/schema"
)

// The exemptions report (docs/compliance.md, "Exempted and not approved
// visits") over the read model: every requirement of every case whose
// supervision started by as_of, due on a day of the period up to as_of,
// where it stands on as_of (from the requirement row's dates and the
// safety assessment that exempts the case then, as "The read model"
// says).

// MeasureExemptions is the exemptions report, by its report's name.
const MeasureExemptions = "exemptions"

// exemptionsRows: the exemptions report's figures. The requirement
// figures (due, met, missed, exempted, met_despite_exemption) are rows of
// requirements; the safety figures are rows of cases.
func exemptionsRows(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	if _, ok := dayNumber(f.From); !ok {
		return schema.Errorf(schema.ECodeInvalid, "from", "from must be a date (YYYY-MM-DD)")
	}
	if _, ok := dayNumber(f.To); !ok {
		return schema.Errorf(schema.ECodeInvalid, "to", "to must be a date (YYYY-MM-DD)")
	}
	switch f.Figure {
	case "safety_not_approved", "safety_exempted":
		q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk FROM rm_cases c
			WHERE c.supervision_start <> '' AND c.supervision_start <= ? AND `, string(f.AsOf))
		decision := "not_approved"
		if f.Figure == "safety_exempted" {
			decision = "exempted"
		}
		q.exemptOn("c.case_id", f.AsOf, decision)
		return q.scoped(actor, "c", f)
	}
	return fmt.Errorf("measure %s: figure %q has no query", MeasureExemptions, f.Figure) // a family's (exemptionsDueFamily)
}

// exemptionsDue adds, to a query of requirements r, the join to their
// case and the conditions of the requirement figures: due in the period
// up to as_of (day d), triggered by then, of a case started by then.
func exemptionsDue(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	q.add(` JOIN rm_cases c ON c.case_id = r.case_id
		WHERE c.supervision_start <> '' AND c.supervision_start <= ? AND r.due_on >= ? AND r.due_on <= ?
		AND r.due_day <= ? AND r.triggered_day <= ?`, string(f.AsOf), string(f.From), string(f.To), d, d)
	return q.scoped(actor, "r", f)
}

// ExemptedRequirement is one requirement of the exemptions report's
// exempted figure, with the safety assessment that exempts it on as_of.
type ExemptedRequirement struct {
	CaseID, TeamID, OfficerID string
	RuleID, Trigger           string
	TriggeredOn               schema.Date
	Recurrence                int
	DueOn                     schema.Date
	// Reason is the exemption's reason as the policy words it
	// (policy.SafetyExemption); ApprovedBy, who decided it.
	Reason, ApprovedBy string
}

// ExemptedRequirements lists the exempted requirements of the exemptions
// report of fq (its Measure and Figure are not read), each with its
// reason, in case id and policy order.
func (f Figures) ExemptedRequirements(ctx context.Context, actor Actor, fq FigureQuery) ([]ExemptedRequirement, error) {
	fq.Measure, fq.Figure = MeasureExemptions, "exempted"
	d, ok := dayNumber(fq.AsOf)
	if !ok {
		return nil, schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD)")
	}
	if _, err := figureRows(actor, fq); err != nil { // the parameters checked
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT r.case_id, r.team_id, r.officer_id, r.rule_id, r.trigger_kind, r.triggered_on, r.recurrence, r.due_on,
		a.reason, a.decided_by FROM requirements r JOIN rm_safety a ON `)
	q.exemptingAssessment("a", "r.case_id", fq.AsOf, "") // exempted: the assessment that exempts it on as_of
	if err := exemptionsDue(q, actor, fq, d); err != nil {
		return nil, err
	}
	q.add(` AND NOT (r.met_day IS NOT NULL AND r.met_day <= ?) ORDER BY r.case_id, r.n`, d)
	rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("exempted requirements: %w", err)
	}
	defer rs.Close()
	var out []ExemptedRequirement
	for rs.Next() {
		var e ExemptedRequirement
		if err := rs.Scan(&e.CaseID, &e.TeamID, &e.OfficerID, &e.RuleID, &e.Trigger, &e.TriggeredOn, &e.Recurrence, &e.DueOn,
			&e.Reason, &e.ApprovedBy); err != nil {
			return nil, fmt.Errorf("exempted requirements: %w", err)
		}
		out = append(out, e)
	}
	return out, rs.Err()
}
