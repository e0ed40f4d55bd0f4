package serverdb

import (
	"context"
	"fmt"
)

// FigureMember is one case of a figure with the team and officer it
// counts for.
type FigureMember struct{ CaseID, TeamID, OfficerID string }

// Members lists the cases of f's figure in the actor's scope, each with
// its team and officer, in case id order: the ids behind a figure's
// counts, per team and officer, for a report at detail=summary.
func (f Figures) Members(ctx context.Context, actor Actor, fq FigureQuery) ([]FigureMember, error) {
	rows, err := figureRows(actor, fq)
	if err != nil {
		return nil, err
	}
	q := &sqlb{}
	q.add(`SELECT DISTINCT case_id, team_id, officer_id FROM (`+rows.b.String()+`) f ORDER BY case_id, team_id, officer_id`,
		rows.args...)
	rs, err := f.q.QueryContext(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("figure %s.%s members: %w", fq.Measure, fq.Figure, err)
	}
	defer rs.Close()
	var out []FigureMember
	for rs.Next() {
		var m FigureMember
		if err := rs.Scan(&m.CaseID, &m.TeamID, &m.OfficerID); err != nil {
			return nil, fmt.Errorf("figure %s.%s members: %w", fq.Measure, fq.Figure, err)
		}
		out = append(out, m)
	}
	return out, rs.Err()
}
