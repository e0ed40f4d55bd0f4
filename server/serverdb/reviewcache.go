package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
)

// reviewVisits keeps what the review rules read of every signed visit,
// taken out of its JSON once. The queue and its count (on every dashboard
// page after each write) would otherwise extract it from every signed visit
// of the scope each time: about 110 ms of CPU for a 500-case team with two
// years of history (docs/performance.md). Every write gives the record it
// changes a new, higher change number (seq), so each read takes only the
// visits changed since the highest number it holds, and replaces them (a
// visit no longer signed leaves). Records are never deleted.
//
// The rows are of every scope; a reader keeps those of its own. A reader
// whose snapshot is older than the last merge sees the newer rows: a
// visit signed a moment ago may appear, never one missing that its
// snapshot held.
type reviewVisits struct {
	mu   sync.Mutex
	seq  int64
	rows []reviewVisit
	at   map[string]int // id → index in rows
}

// reviewVisit is one signed visit as visitsToReview reads it.
type reviewVisit struct {
	seq                                         int64
	id, caseID, receivedAt                      string
	typ, outcome, startedAt, signedAt, signedBy string
	concern, childNotSeen                       bool
}

// signedVisits calls fn with each signed visit, as of tx's snapshot or
// later, after reading those changed since the last call. fn runs under
// the cache's lock: it must not call back into the store.
func (c *reviewVisits) signedVisits(ctx context.Context, tx *sql.Tx, eng engine, fn func(v *reviewVisit) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rows, err := tx.QueryContext(ctx, `SELECT seq, signed, id, case_id, received_at, `+eng.jsonValid("fields")+`, `+eng.jsonText("fields", "type")+`, `+eng.jsonText("fields", "outcome")+`,
		`+eng.jsonText("fields", "started_at")+`, `+eng.jsonText("fields", "signed_at")+`, `+eng.jsonText("fields", "signed_by")+`,
		`+eng.jsonTrue("fields", "safeguarding_concern")+`,
		`+eng.anyChildUnseen("fields")+`
		FROM records WHERE entity = 'visit' AND seq > ? ORDER BY seq`, c.seq)
	if err != nil {
		return fmt.Errorf("read visit: %w", err)
	}
	defer rows.Close()
	if c.at == nil {
		c.at = map[string]int{}
	}
	seq, moved := c.seq, false
	var gone []string
	for rows.Next() {
		var v reviewVisit
		var signed, valid bool
		var vals [5]any
		if err := rows.Scan(&v.seq, &signed, &v.id, &v.caseID, &v.receivedAt, &valid, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4],
			&v.concern, &v.childNotSeen); err != nil {
			return fmt.Errorf("read visit: %w", err)
		}
		seq = v.seq
		if !signed {
			gone = append(gone, v.id)
			continue
		}
		if !valid {
			return fmt.Errorf("visit %s: fields are not JSON", v.id)
		}
		// A field that is not a string (null, absent) is "", as decoding
		// into schema.Visit gives; a number or boolean is refused, as
		// decoding refused it (push validation keeps these fields strings).
		for i, dst := range []*string{&v.typ, &v.outcome, &v.startedAt, &v.signedAt, &v.signedBy} {
			switch x := vals[i].(type) {
			case nil:
			case string:
				*dst = x
			default:
				return fmt.Errorf("visit %s: a field is %T, not a string", v.id, x)
			}
		}
		if i, ok := c.at[v.id]; ok {
			c.rows[i], moved = v, true
		} else {
			c.at[v.id] = len(c.rows)
			c.rows = append(c.rows, v)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range gone {
		moved = c.remove(id) || moved
	}
	if moved { // in the order of their change numbers, as a fresh read gives
		slices.SortFunc(c.rows, func(a, b reviewVisit) int { return cmp.Compare(a.seq, b.seq) })
		for i, v := range c.rows {
			c.at[v.id] = i
		}
	}
	c.seq = seq
	for i := range c.rows {
		if err := fn(&c.rows[i]); err != nil {
			return err
		}
	}
	return nil
}

// remove drops visit id, if held, moving the last row into its place;
// false when it was not held.
func (c *reviewVisits) remove(id string) bool {
	i, ok := c.at[id]
	if !ok {
		return false
	}
	last := len(c.rows) - 1
	if i != last {
		c.rows[i] = c.rows[last]
		c.at[c.rows[i].id] = i
	}
	c.rows = c.rows[:last]
	delete(c.at, id)
	return true
}
