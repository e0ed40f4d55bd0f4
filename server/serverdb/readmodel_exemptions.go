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

// exemptionsSafetyFamily: the exemptions report's safety figures, its
// cases started by as_of whose safety assessment exempts them then, each
// with that assessment's decision (safety): one statement a snapshot for
// both figures' groups and cases, where each figure's groups and its
// cases were a statement each, four readings of rm_safety (decision
// 0107).
var exemptionsSafetyFamily = figureFamily{
	name:    "safety",
	figures: []string{"safety_not_approved", "safety_exempted"},
	rows:    exemptionsSafetyRows,
	perCase: true, // a case has one exempting assessment on a day at most
	cond: func(q *sqlb, _ FigureQuery, _ int64, figure string) {
		if figure == "safety_exempted" {
			q.add(`b.safety = 'exempted'`)
		} else {
			q.add(`b.safety = 'not_approved'`)
		}
	},
}

// exemptionsSafetyRows: the rows of exemptionsSafetyFamily.
func exemptionsSafetyRows(q *sqlb, actor Actor, f FigureQuery, _ int64) error {
	if err := periodDates(f); err != nil {
		return err
	}
	q.add(`SELECT c.case_id, c.team_id, c.officer_id, 0 AS x, 0 AS wk, `)
	if !q.pg {
		// SQLite works each exemptOn out once a statement (decision 0057).
		q.add(`CASE WHEN `)
		q.exemptOn("c.case_id", f.AsOf, "not_approved")
		q.add(` THEN 'not_approved' WHEN `)
		q.exemptOn("c.case_id", f.AsOf, "exempted")
		q.add(` THEN 'exempted' ELSE '' END AS safety FROM rm_cases c
			WHERE c.supervision_start <> '' AND c.supervision_start <= ? AND `, string(f.AsOf))
		q.exemptOn("c.case_id", f.AsOf, "")
		return q.scoped(actor, "c", f)
	}
	// On PostgreSQL the exempting assessments are joined, read once (as
	// exemptionsDueFamily's). A case has at most one on a day: its spans
	// in rm_exempt never overlap (migration 0025, decision 0112).
	q.add(`x.decision AS safety FROM rm_cases c JOIN (SELECT s.case_id, s.decision FROM rm_exempt s WHERE `)
	q.exempting("s", f.AsOf, "")
	q.inCases("s.case_id")
	q.add(`) x ON x.case_id = c.case_id
		WHERE c.supervision_start <> '' AND c.supervision_start <= ?`, string(f.AsOf))
	return q.scoped(actor, "c", f)
}

// exemptionsDue adds, to a query of requirements r, the join to their
// case and the conditions of the requirement figures: due in the period
// up to as_of (day d), triggered by then, of a case started by then.
//
// The period is asked of the due day, a number, not of due_on, its text:
// a requirement's due_day is its due_on's day number (writeRequirements;
// the policy's due dates are dates), so the rows are the same. With
// due_on PostgreSQL read every requirement of the service and kept the
// period's; with due_day it reads the period's by requirements_due, and
// its estimate of them is the due day's alone (with both, it multiplied
// the two ranges' shares, guessed a row or two and joined them in a
// nested loop). Decision 0122.
//
// On PostgreSQL the case's start is the row's (start_day, migration
// 0030), read with the rest from requirements_due (a team's from
// requirements_team): joining rm_cases for it read and hashed every
// case, most of what the statements cost after the index (decision
// 0144). SQLite reads the case by its key, its requirements_team
// holding the rest of what the statements read.
func exemptionsDue(q *sqlb, actor Actor, f FigureQuery, d int64) error {
	from, _ := dayNumber(f.From)
	to, _ := dayNumber(f.To)
	if q.pg {
		q.add(` WHERE r.start_day <= ?`, d)
	} else {
		q.add(` JOIN rm_cases c ON c.case_id = r.case_id
		WHERE c.supervision_start <> '' AND c.supervision_start <= ?`, string(f.AsOf))
	}
	q.add(` AND r.due_day >= ? AND r.due_day <= ? AND r.due_day <= ? AND r.triggered_day <= ?`, from, to, d, d)
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
	// On PostgreSQL, on a snapshot, the requirements are read of the
	// exempted figure's cases alone, by the primary key: its tally (the
	// report's counts) has them already, and they are all the cases with
	// a requirement exempted. Otherwise the statement read every
	// requirement due in the period and worked out every case's
	// exempting assessment again (decision 0107).
	var only []string
	if f.pg {
		t, ok, err := f.tallyOnce(ctx, actor, fq)
		if err != nil {
			return nil, err
		}
		if ok {
			if only = t.cases[fq.Figure]; len(only) == 0 {
				return nil, nil
			}
		}
	}
	q := &sqlb{pg: f.pg}
	q.add(`SELECT r.case_id, r.team_id, r.officer_id, r.rule_id, r.trigger_kind, r.triggered_on, r.recurrence, r.due_on,
		a.reason, a.decided_by FROM requirements r JOIN rm_exempt a ON `)
	q.exemptingAssessment("a", "r.case_id", fq.AsOf, "") // exempted: the assessment that exempts it on as_of
	if err := exemptionsDue(q, actor, fq, d); err != nil {
		return nil, err
	}
	if only != nil {
		q.add(` AND r.case_id = ANY(?)`, only)
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
