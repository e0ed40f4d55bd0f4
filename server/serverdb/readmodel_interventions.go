package serverdb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// Measure 6, interventions from need to completion, over the read model
// (docs/compliance.md, "The read model"): every referral (a need)
// identified in the period and on or before as_of, with its stage on
// as_of worked out by the query from its decision and its status (read
// as unknown when dated after as_of), as compliance.Interventions does.

// MeasureInterventions is measure 6's report name.
const MeasureInterventions = "interventions"

// ReferralStatuses are the statuses a referred need can have on as_of, by
// the name measure 6's statuses give them: the referral's statuses, and
// "unknown" (none recorded, or set after as_of).
var ReferralStatuses = []string{"awaiting_allocation", "scheduled", "on_programme", "deferred", "suitable_not_ready", "withdrawn",
	"breach", "completed", "unknown"}

func init() {
	names := []string{"needed", "awaiting_decision", "not_referred", "referred", "waiting", "withdrawn", "started", "completed"}
	for _, s := range []string{"referred_share", "started_share", "completed_share", "delivered_share"} {
		names = append(names, s+".numerator", s+".denominator")
	}
	for _, s := range ReferralStatuses {
		names = append(names, "statuses."+s)
	}
	figureNames[MeasureInterventions] = names
}

// interventionStage is each figure's condition on the row's stage (and,
// for statuses, its status on as_of, st).
var interventionStage = map[string]string{
	"needed":                      `1 = 1`,
	"awaiting_decision":           `i.stage = 'awaiting_decision'`,
	"not_referred":                `i.stage = 'not_referred'`,
	"referred":                    `i.stage NOT IN ('awaiting_decision', 'not_referred')`,
	"waiting":                     `i.stage = 'waiting'`,
	"withdrawn":                   `i.stage = 'withdrawn'`,
	"started":                     `i.stage IN ('started', 'completed')`,
	"completed":                   `i.stage = 'completed'`,
	"referred_share.numerator":    `i.stage NOT IN ('awaiting_decision', 'not_referred')`,
	"referred_share.denominator":  `i.stage <> 'awaiting_decision'`,
	"started_share.numerator":     `i.stage IN ('started', 'completed')`,
	"started_share.denominator":   `i.stage NOT IN ('awaiting_decision', 'not_referred')`,
	"completed_share.numerator":   `i.stage = 'completed'`,
	"completed_share.denominator": `i.stage IN ('started', 'completed')`,
	"delivered_share.numerator":   `i.stage IN ('started', 'completed')`,
	"delivered_share.denominator": `i.stage <> 'awaiting_decision'`,
}

// interventionRows: measure 6's figures. Its rows are needs (referrals),
// each with its case, need, stage and status on as_of (st).
func interventionRows(q *sqlb, actor Actor, f FigureQuery) error {
	if err := periodDates(f); err != nil {
		return err
	}
	q.add(`SELECT i.case_id, i.team_id, i.officer_id, 0 AS x, 0 AS wk, i.need, i.st, i.referral_id, i.decision, i.decision_reason
		FROM (`)
	if err := interventionNeeds(q, actor, f); err != nil {
		return err
	}
	q.add(`) i WHERE `)
	if st, ok := strings.CutPrefix(f.Figure, "statuses."); ok {
		q.add(interventionStage["referred"]+` AND i.st = ?`, st)
	} else {
		q.add(interventionStage[f.Figure])
	}
	return nil
}

// interventionNeeds adds the query of measure 6's needs of f's period
// (f's Figure is not read): case_id, team_id, officer_id, need,
// referral_id, decision, decision_reason, and its stage and status on
// as_of (st).
func interventionNeeds(q *sqlb, actor Actor, f FigureQuery) error {
	asOf := string(f.AsOf)
	q.add(`SELECT r.case_id, c.team_id, c.officer_id, r.need, r.referral_id, r.decision, r.decision_reason,
			CASE WHEN r.decision = 'refer' THEN
				CASE WHEN r.status_on <> '' AND r.status_on > ? THEN 'waiting'
					WHEN r.status = 'completed' THEN 'completed'
					WHEN r.status IN ('on_programme', 'breach') THEN 'started'
					WHEN r.status = 'withdrawn' THEN 'withdrawn'
					ELSE 'waiting' END
				WHEN r.decision IN ('not_suitable', 'not_available') THEN 'not_referred'
				ELSE 'awaiting_decision' END AS stage,
			CASE WHEN r.decision <> 'refer' OR r.status = '' OR (r.status_on <> '' AND r.status_on > ?) THEN 'unknown'
				ELSE r.status END AS st
		FROM rm_referrals r JOIN rm_cases c ON c.case_id = r.case_id
		WHERE r.identified_on <> '' AND r.identified_on >= ? AND r.identified_on <= ? AND r.identified_on <= ?`,
		asOf, asOf, string(f.From), string(f.To), asOf)
	if f.Need != "" {
		q.add(` AND r.need = ?`, f.Need)
	}
	return q.scoped(actor, "c", f)
}

// NotReferred is one need of measure 6 decided not to be referred, with
// the decision and its reason as recorded.
type NotReferred struct {
	ReferralID, CaseID, TeamID, OfficerID string
	Need, Decision, Reason                string
}

// notReferred lists f's needs not referred (f.Figure is not read), in
// referral id order.
func notReferred(ctx context.Context, db querier, actor Actor, f FigureQuery) ([]NotReferred, error) {
	f.Measure, f.Figure = MeasureInterventions, "not_referred"
	rows, err := figureRows(actor, f)
	if err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, `SELECT referral_id, case_id, team_id, officer_id, need, decision, decision_reason FROM (`+
		rows.b.String()+`) n ORDER BY referral_id`, rows.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.not_referred reasons: %w", f.Measure, err)
	}
	defer rs.Close()
	var out []NotReferred
	for rs.Next() {
		var n NotReferred
		if err := rs.Scan(&n.ReferralID, &n.CaseID, &n.TeamID, &n.OfficerID, &n.Need, &n.Decision, &n.Reason); err != nil {
			return nil, fmt.Errorf("figure %s.not_referred reasons: %w", f.Measure, err)
		}
		out = append(out, n)
	}
	return out, rs.Err()
}

// NotReferred is notReferred on the snapshot.
func (f Figures) NotReferred(ctx context.Context, actor Actor, q FigureQuery) ([]NotReferred, error) {
	return notReferred(ctx, f.q, actor, q)
}

// InterventionGroup is measure 6's needs of one need, team, officer and
// status on as_of: N[i] of them are in the i-th figure asked for. The
// needs of a status figure ("statuses."+Status) are its group's
// "referred".
type InterventionGroup struct {
	Need, TeamID, OfficerID, Status string
	N                               []int
}

// InterventionGroups counts measure 6's figures names (none of the
// statuses: see InterventionGroup) over the actor's scope by need, team,
// officer and status, in one pass over fq's needs (fq's Figure is not
// read): where a statement a figure read them once each (decision 0102).
// The groups come in no order.
//
// On a PostgreSQL snapshot the same statement lists each group's cases
// (string_agg), and the snapshot keeps them: the cases of the needed
// figure, which the report lists (Figures.Cases), are then no statement
// of their own, where figureCases read the period's needs and every case
// of rm_cases again (decision 0133).
func (f Figures) InterventionGroups(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]InterventionGroup, error) {
	var out []InterventionGroup
	var ids []string
	list := f.pg && f.setCases != nil
	err := interventionSums(ctx, f.q, actor, fq, names, true, list, func(g InterventionGroup, cases string) {
		out = append(out, g)
		if list {
			ids = append(ids, strings.Split(cases, ",")...) // ids are UUIDs: no comma
		}
	})
	if err == nil && list {
		f.setCases[neededKey(actor, fq)] = slices.Compact(sortIDs(ids)) // as figureCases: distinct, in byte order
	}
	return out, err
}

// neededKey is the key on a snapshot (Figures.setCases) of the cases of
// measure 6's needed figure of fq (its Figure not read): those
// InterventionGroups listed.
func neededKey(actor Actor, fq FigureQuery) setKey {
	fq.Measure, fq.Figure = MeasureInterventions, ""
	return setKey{actor: actor, q: fq, set: "needed"}
}

// neededCasesOnce is the cases of q's figure, when it is measure 6's
// needed and InterventionGroups listed them on the snapshot; false
// otherwise.
func (f Figures) neededCasesOnce(actor Actor, q FigureQuery) ([]string, bool) {
	if f.setCases == nil || q.Measure != MeasureInterventions || q.Figure != "needed" {
		return nil, false
	}
	ids, ok := f.setCases[neededKey(actor, q)]
	return ids, ok
}

// InterventionTotals is InterventionGroups summed: N[i] is the needs of
// the i-th figure of names in the actor's scope.
func (f Figures) InterventionTotals(ctx context.Context, actor Actor, fq FigureQuery, names []string) ([]int, error) {
	out := make([]int, len(names))
	err := interventionSums(ctx, f.q, actor, fq, names, false, false, func(g InterventionGroup, _ string) { copy(out, g.N) })
	return out, err
}

// interventionSums runs InterventionGroups' statement (grouped) or
// InterventionTotals' (one row), calling row with each row; with list
// (grouped, on PostgreSQL), with the group's cases too, their ids joined
// by commas.
func interventionSums(ctx context.Context, db querier, actor Actor, fq FigureQuery, names []string, grouped, list bool,
	row func(g InterventionGroup, cases string)) error {
	fq.Measure, fq.Figure = MeasureInterventions, "needed"
	if _, err := figureRows(actor, fq); err != nil { // the parameters checked
		return err
	}
	q := &sqlb{}
	if grouped {
		q.add(`SELECT i.need, i.team_id, i.officer_id, i.st`)
	} else {
		q.add(`SELECT '', '', '', ''`)
	}
	if list {
		q.add(`, string_agg(i.case_id, ',')`)
	}
	for _, name := range names {
		cond, ok := interventionStage[name]
		if !ok {
			return schema.Errorf(schema.ECodeInvalid, "figure", "measure %s has no figure %q to sum", MeasureInterventions, name)
		}
		q.add(`, coalesce(sum(CASE WHEN ` + cond + ` THEN 1 ELSE 0 END), 0)`)
	}
	q.add(` FROM (`)
	if err := interventionNeeds(q, actor, fq); err != nil {
		return err
	}
	q.add(`) i`)
	if grouped {
		q.add(` GROUP BY i.need, i.team_id, i.officer_id, i.st`)
	}
	rs, err := db.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return fmt.Errorf("figures of %s: %w", MeasureInterventions, err)
	}
	defer rs.Close()
	for rs.Next() {
		g := InterventionGroup{N: make([]int, len(names))}
		var cases string
		dst := []any{&g.Need, &g.TeamID, &g.OfficerID, &g.Status}
		if list {
			dst = append(dst, &cases) // a group has a need at least: never NULL
		}
		for i := range g.N {
			dst = append(dst, &g.N[i])
		}
		if err := rs.Scan(dst...); err != nil {
			return fmt.Errorf("figures of %s: %w", MeasureInterventions, err)
		}
		row(g, cases)
	}
	return rs.Err()
}
