package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"doorstep/schema"
)

// CaseVersion says whether a case's records changed: the highest change
// number among them and how many there are. Every write gives the record
// a new seq, so a new or changed record raises MaxSeq; Records also moves
// when one disappears or, with several writers, when a lower number
// commits after a higher one was seen.
type CaseVersion struct {
	MaxSeq  int64
	Records int
}

// CaseVersions returns the version of every case in the actor's scope
// that has records, from the records index alone (case_id, seq): a cheap
// question to ask before reusing records decoded earlier.
func (db *DB) CaseVersions(ctx context.Context, actor Actor) (map[string]CaseVersion, error) {
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT case_id, max(seq), count(*) FROM records WHERE `+cond+` GROUP BY case_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("case versions: %w", err)
	}
	defer rows.Close()
	out := map[string]CaseVersion{}
	for rows.Next() {
		var id string
		var v CaseVersion
		if err := rows.Scan(&id, &v.MaxSeq, &v.Records); err != nil {
			return nil, fmt.Errorf("case versions: %w", err)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// ListRawCases is ListRaw for the given cases only (those out of the
// actor's scope give nothing), in change order.
func (db *DB) ListRawCases(ctx context.Context, actor Actor, entities, caseIDs []string) ([]schema.RawRecord, error) {
	if len(entities) == 0 || len(caseIDs) == 0 {
		return nil, nil
	}
	for _, e := range entities {
		if _, ok := schema.Entity(e); !ok {
			return nil, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", e)
		}
	}
	cond, scopeArgs, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	const chunk = 500 // well under SQLite's limit on parameters
	var out []schema.RawRecord
	for len(caseIDs) > 0 {
		n := min(chunk, len(caseIDs))
		args := make([]any, 0, len(entities)+n+len(scopeArgs))
		for _, e := range entities {
			args = append(args, e)
		}
		for _, id := range caseIDs[:n] {
			args = append(args, id)
		}
		args = append(args, scopeArgs...)
		q := `SELECT entity, id, case_id, fields FROM records WHERE entity IN (` + listMarks(len(entities)) + `) AND case_id IN (` +
			listMarks(n) + `) AND ` + cond + ` ORDER BY seq`
		rows, err := db.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("list records of cases: %w", err)
		}
		for rows.Next() {
			var r schema.RawRecord
			var fields string
			if err := rows.Scan(&r.Entity, &r.ID, &r.CaseID, &fields); err != nil {
				rows.Close()
				return nil, fmt.Errorf("list records of cases: %w", err)
			}
			r.Fields = json.RawMessage(fields)
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		caseIDs = caseIDs[n:]
	}
	return out, nil
}

func listMarks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }
