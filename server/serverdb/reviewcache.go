package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
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
//
// They are bounded (decision 0074): held for every scope, they grew with
// the service (about 420 bytes a signed visit: 365 MiB at 25,000 cases).
// Past max rows the cache is dropped for good (a store's visits are never
// deleted) and each read takes the visits of the reader's own scope from
// the store, as they come, keeping none: a 500-case team's queue then
// extracts its visits' fields each time (about 110 ms of CPU), and the
// memory no longer grows with the cases.
type reviewVisits struct {
	mu   sync.Mutex
	seq  int64
	rows []reviewVisit
	at   map[string]int // id → index in rows
	// max is the most rows kept (0: reviewCacheRows); off is set once
	// the store's signed visits passed it.
	max int
	off bool
	// read counts the visits the merges read (tests read it, under mu).
	read int64
}

// reviewCacheRows is the most signed visits reviewVisits keeps: about
// 85 MiB, the signed visits of a service of some 5,800 cases of two
// years' history (the synthetic service has about 35 a case).
const reviewCacheRows = 200_000

// errCacheFull stops the merge of a cache past its bound.
var errCacheFull = errors.New("the review cache is full")

// reviewVisit is one signed visit as visitsToReview reads it.
type reviewVisit struct {
	seq                                         int64
	id, caseID, receivedAt                      string
	typ, outcome, startedAt, signedAt, signedBy string
	concern, childNotSeen                       bool
}

// signedVisits calls fn with each signed visit, as of tx's snapshot or
// later, after reading those changed since the last call; once the cache
// is off, with each signed visit of the scope (scope and args, a
// scopeFilter on case_id) as of tx's snapshot. fn runs under the cache's
// lock: it must not call back into the store.
func (c *reviewVisits) signedVisits(ctx context.Context, tx *sql.Tx, eng engine, scope string, args []any, fn func(v *reviewVisit) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.off && c.seq == 0 {
		// The first read: a store with more signed visits than the cache
		// keeps turns it off before reading one, rather than reading every
		// scope's visits up to the bound for nothing (decision 0084).
		over, err := signedVisitsOver(ctx, tx, cmp.Or(c.max, reviewCacheRows))
		if err != nil {
			return err
		}
		c.off = over
	}
	if !c.off {
		err := c.merge(ctx, tx, eng)
		if !errors.Is(err, errCacheFull) {
			if err != nil {
				return err
			}
			for i := range c.rows {
				if err := fn(&c.rows[i]); err != nil {
					return err
				}
			}
			return nil
		}
		c.off, c.seq, c.rows, c.at = true, 0, nil, nil
	}
	return readVisits(ctx, tx, eng, " AND signed = 1 AND "+scope, 0, args, func(v *reviewVisit, signed bool) error { return fn(v) })
}

// signedVisitsOver reports whether the store holds more than most signed
// visits, counting at most most+1 entries of an index of the signed visits
// (records_signed_visit_day, partial to them), reading no record.
func signedVisitsOver(ctx context.Context, tx *sql.Tx, most int) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM records WHERE entity = 'visit' AND signed = 1 LIMIT ?) v`,
		most+1).Scan(&n); err != nil {
		return false, fmt.Errorf("count the signed visits: %w", err)
	}
	return n > most, nil
}

// readVisits reads the visits changed after seq (and matching where),
// in the order of their change numbers, calling fn with each.
func readVisits(ctx context.Context, tx *sql.Tx, eng engine, where string, seq int64, args []any, fn func(v *reviewVisit, signed bool) error) error {
	rows, err := tx.QueryContext(ctx, `SELECT seq, signed, id, case_id, received_at, `+eng.jsonValid("fields")+`, `+eng.jsonText("fields", "type")+`, `+eng.jsonText("fields", "outcome")+`,
		`+eng.jsonText("fields", "started_at")+`, `+eng.jsonText("fields", "signed_at")+`, `+eng.jsonText("fields", "signed_by")+`,
		`+eng.jsonTrue("fields", "safeguarding_concern")+`,
		`+eng.anyChildUnseen("fields")+`
		FROM records WHERE entity = 'visit' AND seq > ?`+where+` ORDER BY seq`, append([]any{seq}, args...)...)
	if err != nil {
		return fmt.Errorf("read visit: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v reviewVisit
		var signed, valid bool
		var vals [5]any
		if err := rows.Scan(&v.seq, &signed, &v.id, &v.caseID, &v.receivedAt, &valid, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4],
			&v.concern, &v.childNotSeen); err != nil {
			return fmt.Errorf("read visit: %w", err)
		}
		if !signed {
			if err := fn(&v, false); err != nil {
				return err
			}
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
		if err := fn(&v, true); err != nil {
			return err
		}
	}
	return rows.Err()
}

// merge reads the visits changed since the last merge into the cache;
// errCacheFull when they would be more than its bound.
func (c *reviewVisits) merge(ctx context.Context, tx *sql.Tx, eng engine) error {
	if c.at == nil {
		c.at = map[string]int{}
	}
	most := cmp.Or(c.max, reviewCacheRows)
	seq, moved := c.seq, false
	var gone []string
	err := readVisits(ctx, tx, eng, "", c.seq, nil, func(v *reviewVisit, signed bool) error {
		seq = v.seq
		c.read++
		if !signed {
			gone = append(gone, v.id)
			return nil
		}
		if i, ok := c.at[v.id]; ok {
			c.rows[i], moved = *v, true
		} else if len(c.rows) >= most {
			return errCacheFull
		} else {
			c.at[v.id] = len(c.rows)
			c.rows = append(c.rows, *v)
		}
		return nil
	})
	if err != nil {
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
