package serverdb

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// Measure 10 (DA risk assessment sufficiency, the QA sample) over the read
// model (docs/compliance.md, measure 10): the ratings are typed rows of
// rm_qa_ratings (schema/sql/server/0013_rm_qa_ratings.sql), written with
// the oversight record that makes each; the cases the sample is drawn
// from, and each case's latest rating in the period, are queries. The
// draw itself (a SHA-256 of the seed and the case id, which neither
// engine's plain SQL has) and the counting over those rows are
// compliance's, the code the Go measure runs.

// applyRatings writes the rm_qa_ratings rows of the oversight records
// among recs (a rating's row, nothing for any other oversight record) and
// returns the other records. An oversight record changes nothing else of
// the read model: its case's requirement rows are not computed again.
func (db *DB) applyRatings(w *rmWriter, recs []schema.RawRecord, whole bool) ([]schema.RawRecord, error) {
	rest := recs[:0:0]
	var changed []string
	for _, r := range recs {
		if r.Entity == "oversight" {
			changed = append(changed, r.ID)
		} else {
			rest = append(rest, r)
		}
	}
	if len(changed) == 0 {
		return rest, nil
	}
	if !whole {
		// One statement for the batch (a review queue's bulk approval
		// writes one oversight record a visit): a changed record's row,
		// if it had one, goes.
		for chunk := range slices.Chunk(changed, rmChunk) {
			if _, err := w.t.ExecContext(w.t.ctx, `DELETE FROM rm_qa_ratings WHERE oversight_id IN (?`+
				strings.Repeat(",?", len(chunk)-1)+`)`, anys(chunk)...); err != nil {
				return nil, fmt.Errorf("read model: clear rm_qa_ratings: %w", err)
			}
			w.deletes.Add(1)
		}
	}
	for _, r := range recs {
		if r.Entity != "oversight" {
			continue
		}
		if !bytes.Contains(r.Fields, []byte(schema.AspectDARiskAssessment)) {
			continue // most oversight records are reviews of visits: not decoded
		}
		var o schema.Oversight
		if err := r.Decode(&o); err != nil {
			db.decodeFailed(r, err)
			continue
		}
		if !o.IsDARating() {
			continue
		}
		if err := w.exec("rm_qa_ratings", r.ID, r.CaseID, o.SubjectID, o.Decision, o.Reason, o.By, string(o.At),
			string(o.Day())); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// QAQuery asks for measure 10's rows over a period.
type QAQuery struct {
	// From and End: the period's first day and the earlier of its last day
	// and as_of.
	From, End schema.Date
	// OfficerID, when set, keeps only the cases allocated to this officer.
	OfficerID string
}

// QAEligible is a case the sample is drawn from: open, its supervision
// started by End, a DA flag live on some day from the later of the start
// and From, to End.
type QAEligible struct {
	CaseID, CRN, TeamID, OfficerID string
	// DAFlags: the DA flag types live then, sorted.
	DAFlags []string
}

// QARating is a case's latest rating in a period (sufficient or
// insufficient, its day from From to End), and how many it had then.
type QARating struct {
	CaseID, CRN, TeamID, OfficerID string
	OversightID, Decision, Reason  string
	By                             string
	At                             schema.Timestamp
	Ratings                        int
}

func (q QAQuery) check() error {
	if _, ok := dayNumber(q.From); !ok {
		return schema.Errorf(schema.ECodeInvalid, "from", "from must be a date (YYYY-MM-DD)")
	}
	if _, ok := dayNumber(q.End); !ok {
		return schema.Errorf(schema.ECodeInvalid, "to", "to must be a date (YYYY-MM-DD)")
	}
	return nil
}

// QAEligible lists the cases in the actor's scope the sample of q is drawn
// from, in case id order.
func (f Figures) QAEligible(ctx context.Context, actor Actor, q QAQuery) ([]QAEligible, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	b := &sqlb{}
	b.add(`SELECT c.case_id, c.crn, c.team_id, c.officer_id, g.type`)
	if err := qaFlagRows(b, actor, q); err != nil {
		return nil, err
	}
	rs, err := f.q.QueryContext(ctx, b.b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("qa eligible cases: %w", err)
	}
	defer rs.Close()
	var out []QAEligible
	for rs.Next() {
		var e QAEligible
		var flag string
		if err := rs.Scan(&e.CaseID, &e.CRN, &e.TeamID, &e.OfficerID, &flag); err != nil {
			return nil, fmt.Errorf("qa eligible cases: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].CaseID == e.CaseID {
			if last := &out[n-1]; last.DAFlags[len(last.DAFlags)-1] != flag {
				last.DAFlags = append(last.DAFlags, flag)
			}
			continue
		}
		e.DAFlags = []string{flag}
		out = append(out, e)
	}
	return out, rs.Err()
}

// qaFlagRows adds the FROM, WHERE and ORDER BY of QAEligible's rows: the
// DA flags g that make their case c eligible for q's sample, by case id
// and flag type.
func qaFlagRows(b *sqlb, actor Actor, q QAQuery) error {
	end := string(q.End)
	b.add(` FROM rm_cases c JOIN rm_flags g ON g.case_id = c.case_id
		WHERE c.closed = 0 AND c.supervision_start <> '' AND c.supervision_start <= ?
		AND g.type IN ('da_perpetrator', 'da_victim') AND (g.start_date = '' OR g.start_date <= ?)
		AND (g.ended_on = '' OR g.ended_on > CASE WHEN c.supervision_start > ? THEN c.supervision_start ELSE ? END)`,
		end, end, string(q.From), string(q.From))
	if err := b.scoped(actor, "c", FigureQuery{OfficerID: q.OfficerID}); err != nil {
		return err
	}
	b.add(` ORDER BY c.case_id, g.type`)
	return nil
}

// QARatings lists the latest rating in q's period of each case in the
// actor's scope rated then, in case id order. The latest is by rated_at
// as text (RFC 3339 UTC of the server's clock), then by oversight id.
func (f Figures) QARatings(ctx context.Context, actor Actor, q QAQuery) ([]QARating, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	from, end := string(q.From), string(q.End)
	rated := func(a string) string {
		return a + `.subject_id = r.subject_id AND ` + a + `.day >= ? AND ` + a + `.day <= ? AND ` + a +
			`.decision IN ('sufficient', 'insufficient')`
	}
	b := &sqlb{}
	b.add(`SELECT c.case_id, c.crn, c.team_id, c.officer_id, r.oversight_id, r.decision, r.reason, r.rated_by, r.rated_at,
		(SELECT count(*) FROM rm_qa_ratings n WHERE `+rated("n")+`)
		FROM rm_qa_ratings r JOIN rm_cases c ON c.case_id = r.subject_id
		WHERE r.day <> '' AND r.day >= ? AND r.day <= ? AND r.decision IN ('sufficient', 'insufficient')
		AND NOT EXISTS (SELECT 1 FROM rm_qa_ratings l WHERE `+rated("l")+`
			AND (l.rated_at > r.rated_at OR (l.rated_at = r.rated_at AND l.oversight_id > r.oversight_id)))`,
		from, end, from, end, from, end)
	// The rating's record must be in scope as well as the case it rates.
	cond, args, err := scopeFilter(actor, "r.case_id")
	if err != nil {
		return nil, err
	}
	b.add(" AND "+cond, args...)
	if err := b.scoped(actor, "c", FigureQuery{OfficerID: q.OfficerID}); err != nil {
		return nil, err
	}
	b.add(` ORDER BY c.case_id`)
	rs, err := f.q.QueryContext(ctx, b.b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("qa ratings: %w", err)
	}
	defer rs.Close()
	var out []QARating
	for rs.Next() {
		var r QARating
		if err := rs.Scan(&r.CaseID, &r.CRN, &r.TeamID, &r.OfficerID, &r.OversightID, &r.Decision, &r.Reason, &r.By, &r.At,
			&r.Ratings); err != nil {
			return nil, fmt.Errorf("qa ratings: %w", err)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// QARatingRecords returns every DA risk assessment rating in the actor's
// scope (the rating's record's case in scope) as oversight records, from
// rm_qa_ratings: what compliance.RiskAssessmentQA reads, without decoding
// an oversight record. In oversight id order.
func (db *DB) QARatingRecords(ctx context.Context, actor Actor) ([]schema.Oversight, error) {
	cond, args, err := scopeFilter(actor, "r.case_id")
	if err != nil {
		return nil, err
	}
	rs, err := db.r.QueryContext(ctx, `SELECT r.oversight_id, r.case_id, r.subject_id, r.decision, r.reason, r.rated_by, r.rated_at
		FROM rm_qa_ratings r WHERE `+cond+` ORDER BY r.oversight_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("qa ratings: %w", err)
	}
	defer rs.Close()
	var out []schema.Oversight
	for rs.Next() {
		o := schema.Oversight{SubjectEntity: "case", Aspect: schema.AspectDARiskAssessment}
		if err := rs.Scan(&o.ID, &o.CaseID, &o.SubjectID, &o.Decision, &o.Reason, &o.By, &o.At); err != nil {
			return nil, fmt.Errorf("qa ratings: %w", err)
		}
		out = append(out, o)
	}
	return out, rs.Err()
}
