package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// wireMutation is schema.Mutation with the fields kept as the JSON the
// outbox stored, so a push re-encodes nothing.
type wireMutation struct {
	ID         string          `json:"id"`
	Entity     string          `json:"entity"`
	RecordID   string          `json:"record_id"`
	CaseID     string          `json:"case_id"`
	Fields     json.RawMessage `json:"fields"`
	Clock      string          `json:"clock"`
	DeviceTime time.Time       `json:"device_time"`
	// DeviceSignature: the tablet's signature of the visit or amendment
	// the mutation signs (§6.1).
	DeviceSignature *schema.DeviceSignature `json:"device_signature,omitempty"`
	// Sealed: a change the tablet can no longer read, as sealed to the
	// server's outbox key (§6.2).
	Sealed string `json:"sealed,omitempty"`
}

// maxPushBytes keeps a batch well under the server's 16 MiB limit.
const maxPushBytes = 8 << 20

// push sends the pending outbox, oldest first, in batches until it is empty
// or a request fails. The batch halves after a failed request (floor 1) and
// doubles after a success (up to the configured size).
//
// Three things overlap, so a long outbox drains at the pace of the slowest
// rather than of all three added: while a batch is on the wire (and the
// server applies it), the tablet reads and encodes the next one and stores
// the answers to the one before. At most one store and one read run at a
// time, and every return waits for both, so the outbox and the report are
// settled when push returns. A store that fails loses nothing: its rows
// stay pending and are resent, and the server answers duplicate. A batch
// read ahead of a request that failed is dropped unsent.
//
// With handOff, a push whose last batch was answered returns while that
// batch's answers are still being stored: the store, and the outbox's
// pending count as it will be once the store is done, are returned for
// the pull that follows (storingPush), whose request then overlaps the
// store (decision 0109). Otherwise (and on every failure) nil.
func (a *Agent) push(ctx context.Context, rep *SyncReport, handOff bool) (last *storingPush, err error) {
	var storing chan error // the previous batch's store, when one runs
	settle := func() error {
		if storing == nil {
			return nil
		}
		err := <-storing
		storing = nil
		return err
	}
	var reading chan outgoing // the next batch's read, when one runs
	defer func() {
		if reading != nil {
			<-reading
		}
		if last == nil {
			err = errors.Join(err, settle())
		}
	}()
	next := a.readBatch(ctx, 0, a.batch)
	for {
		cur := next
		if cur.err != nil && len(cur.entries) > 0 {
			return nil, a.pushFailed(ctx, cur.entries, cur.err) // read, but not encoded
		}
		if cur.err != nil {
			return nil, cur.err
		}
		if len(cur.entries) == 0 {
			return nil, nil
		}
		// Read ahead at the size the next batch has if this one succeeds.
		reading = make(chan outgoing, 1)
		go func(after int64, limit int) {
			reading <- a.readBatch(ctx, after, limit)
		}(cur.entries[len(cur.entries)-1].Seq, min(a.batch*2, a.cfg.BatchSize))
		body, ex, err := a.authedCall(ctx, "/v1/sync/push", cur.body, true)
		rep.Requests++
		if err != nil {
			return nil, a.pushFailed(ctx, cur.entries, err)
		}
		var resp schema.PushResponse
		if err := decodePushAnswer(body, &resp); err != nil {
			return nil, a.pushFailed(ctx, cur.entries, fmt.Errorf("push: the answer does not decode: %w", err))
		}
		a.observeServer(ex.sent, ex.received, resp.ServerTime)
		a.batch = min(a.batch*2, a.cfg.BatchSize)
		if err := settle(); err != nil {
			return nil, err
		}
		next = <-reading
		reading = nil
		var pending int
		handing := handOff && next.err == nil && len(next.entries) == 0
		if handing {
			// The last batch: the pull's header says what will be
			// pending once its answers are stored, counted before the
			// store begins.
			n, err := a.pendingAfter(ctx, cur.entries, resp.Results)
			handing, pending = err == nil, n
		}
		storing = make(chan error, 1)
		go func(entries []devicedb.OutboxEntry, results []schema.MutationResult, out chan<- error) {
			done, err := a.storeResults(ctx, entries, results, rep)
			if err == nil && done == 0 {
				err = fmt.Errorf("push: the server answered no result for %d mutations", len(entries))
			}
			out <- err
		}(cur.entries, resp.Results, storing)
		if handing {
			last, storing = &storingPush{done: storing, pending: pending}, nil
			return last, nil
		}
	}
}

// storingPush is a push's last batch whose answers are being stored
// (push with handOff): done gives the store's outcome, once; pending is
// the outbox's pending count for when it is done.
type storingPush struct {
	done    chan error
	pending int
	err     error
	waited  bool
}

// wait returns the store's outcome, waiting for it the first time.
func (s *storingPush) wait() error {
	if s == nil {
		return nil
	}
	if !s.waited {
		s.err, s.waited = <-s.done, true
	}
	return s.err
}

// pendingAfter counts the outbox's pending entries as they will be once
// results, the answers to the batch entries, are stored: those pending now
// less the entries an answer takes out (applied, duplicate, conflict:
// deleted; rejected: set aside), as storeResults decides them. Nothing
// but the sync, which holds syncMu, changes the status of a pending
// entry; a local edit meanwhile is a new entry, counted either way.
func (a *Agent) pendingAfter(ctx context.Context, entries []devicedb.OutboxEntry, results []schema.MutationResult) (int, error) {
	sent := make(map[string]bool, len(entries))
	for _, e := range entries {
		sent[e.MutationID] = true
	}
	out := 0
	for _, r := range results {
		if !sent[r.MutationID] {
			continue
		}
		switch r.Status {
		case schema.StatusApplied, schema.StatusDuplicate, schema.StatusConflict, schema.StatusRejected:
			sent[r.MutationID] = false // answered once
			out++
		}
	}
	var pending int
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		pending, _, err = tx.CountOutbox(ctx)
		return err
	})
	return max(pending-out, 0), err
}

// outgoing is a push batch read from the outbox, and its request body;
// err with entries is a batch read that did not encode (it counts an
// attempt, as a request that failed), err alone a read that failed.
type outgoing struct {
	entries []devicedb.OutboxEntry
	body    gzippedJSON
	err     error
}

// readBatch reads up to limit pending entries after outbox seq after (fewer
// when they would make the body larger than maxPushBytes) in one read
// transaction, and encodes and compresses their request.
func (a *Agent) readBatch(ctx context.Context, after int64, limit int) outgoing {
	var entries []devicedb.OutboxEntry
	var cursor string
	// The first batch is read on a reader (most syncs send nothing, and
	// take no write lock); a later one, read while the previous answers
	// are stored, on the writer's connection, whose page cache those
	// stores left whole (decision 0137).
	view := a.db.View
	if after > 0 {
		view = a.db.ViewWriter
	}
	err := view(ctx, func(tx *devicedb.Tx) error {
		if after == 0 {
			// Most syncs have nothing to send: the kept count says so
			// in one row.
			if pending, _, err := tx.CountOutbox(ctx); err != nil || pending == 0 {
				return err
			}
		}
		var err error
		if entries, err = tx.PendingOutboxAfter(ctx, after, limit); err != nil {
			return err
		}
		// The cursor tells the server which of the records these
		// mutations make the tablet already knows in full, so the
		// next pull does not bring them back (protocol §6, echoes).
		if cursor, err = tx.State(ctx, devicedb.KeyCursor); err != nil {
			return err
		}
		// A record that left the tablet while its change waited (its
		// case was removed, then came back before the server had the
		// record) is not known here at all: without the cursor the
		// server marks no echo, and the next pull brings it.
		if len(entries) == 0 || cursor == "" {
			return nil
		}
		unheld, err := tx.PendingUnheld(ctx, after, entries[len(entries)-1].Seq)
		if unheld {
			cursor = ""
		}
		return err
	})
	if err != nil {
		return outgoing{err: fmt.Errorf("push: read outbox: %w", err)}
	}
	size := 0
	for i, e := range entries {
		size += len(e.Fields) + 256
		if e.Opaque {
			size += len(e.ServerBox)
		}
		if i > 0 && size > maxPushBytes {
			entries = entries[:i]
			break
		}
	}
	if len(entries) == 0 {
		return outgoing{}
	}
	body, err := encodePush(entries, cursor)
	if err != nil {
		return outgoing{entries: entries, err: err}
	}
	gz, err := gzipJSON(body)
	if err != nil {
		return outgoing{entries: entries, err: fmt.Errorf("push: compress: %w", err)}
	}
	return outgoing{entries: entries, body: gzippedJSON(gz)}
}

// pushFailed handles a push that failed as a whole: the rows stay pending
// and the batch shrinks. When a single mutation is refused as a whole by a
// reachable server, it is a poison mutation: it is set aside as rejected so that it never blocks the
// queue. That is a 413, or a 400 other than malformed (a body cut short in
// transit is malformed, and is simply resent).
func (a *Agent) pushFailed(ctx context.Context, entries []devicedb.OutboxEntry, cause error) error {
	a.batch = max(a.batch/2, 1)
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.MutationID
	}
	he := asHTTPError(cause)
	poison := len(entries) == 1 && he != nil && (he.Status == http.StatusRequestEntityTooLarge ||
		(he.Status == http.StatusBadRequest && he.Response.Error.Code != schema.ECodeMalformed))
	if errors.Is(cause, ErrDeviceRevoked) {
		return fmt.Errorf("push: %w", cause)
	}
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		if poison {
			e := he.Response.Error
			return tx.RejectOutbox(ctx, ids[0], &e)
		}
		return tx.CountAttempt(ctx, ids)
	})
	if err != nil {
		a.log.Warn("push: count attempts", "err", err)
	}
	return fmt.Errorf("push %d mutations: %w", len(entries), cause)
}

// storeResults applies the server's outcomes in one transaction: an outcome
// (applied, duplicate, conflict) deletes the outbox row and stores the
// receipt on the local record; a rejection sets the row aside with its
// reason. Rows the server gave no result for stay pending.
func (a *Agent) storeResults(ctx context.Context, entries []devicedb.OutboxEntry, results []schema.MutationResult, rep *SyncReport) (int, error) {
	sent := make(map[string]bool, len(entries))
	byID := make(map[string]devicedb.OutboxEntry, len(entries))
	for _, e := range entries {
		sent[e.MutationID] = true
		byID[e.MutationID] = e
	}
	done := 0
	var c SyncReport
	err := a.db.Update(ctx, func(tx *devicedb.Tx) error {
		done, c = 0, SyncReport{}
		answered := make(map[string]bool, len(results))
		// Acknowledged entries are deleted, and their receipts stored, a
		// chunk per statement. An outcome that reads or changes the
		// outbox or the record further (a rejection, the server's current
		// values) first writes what was gathered, so each outcome sees
		// the ones before it, as when they were written one by one.
		var acked []int64 // outbox seqs
		var receipts []schema.Receipt
		flush := func() error {
			if err := tx.DeleteOutboxSeqs(ctx, acked); err != nil {
				return err
			}
			if err := tx.SetReceipts(ctx, receipts); err != nil {
				return err
			}
			acked, receipts = acked[:0], receipts[:0]
			return nil
		}
		for _, r := range results {
			if !sent[r.MutationID] || answered[r.MutationID] {
				continue
			}
			status := r.Status
			if status == schema.StatusDuplicate && r.Original == schema.StatusRejected {
				status = schema.StatusRejected // a lost answer to a rejection: keep it set aside
			}
			switch status {
			case schema.StatusApplied, schema.StatusDuplicate, schema.StatusConflict:
				acked = append(acked, byID[r.MutationID].Seq)
				if r.Receipt != nil {
					receipts = append(receipts, *r.Receipt)
				}
				if e, ok := byID[r.MutationID]; ok && r.Current != nil {
					if err := flush(); err != nil {
						return err
					}
					if err := tx.ApplyCurrent(ctx, e.Entity, e.RecordID, r.Current); err != nil {
						return err
					}
				}
				switch status {
				case schema.StatusApplied:
					c.Applied++
				case schema.StatusDuplicate:
					c.Duplicates++
				default:
					c.Conflicts++
				}
			case schema.StatusRejected:
				if err := flush(); err != nil {
					return err
				}
				if err := tx.RejectOutbox(ctx, r.MutationID, r.Error); err != nil {
					return err
				}
				// The record shows what the server holds; the refused
				// change stays listed in the outbox with its reason.
				if e, ok := byID[r.MutationID]; ok && r.Current != nil {
					if err := tx.ApplyCurrent(ctx, e.Entity, e.RecordID, r.Current); err != nil {
						return err
					}
					// Kept so that discarding the change later knows the
					// record already shows the server's values.
					if err := tx.SetOutboxCurrent(ctx, r.MutationID, r.Current); err != nil {
						return err
					}
				}
				c.Rejected++
			default:
				continue // unknown outcome: leave it pending
			}
			answered[r.MutationID] = true
			done++
		}
		if err := flush(); err != nil {
			return err
		}
		var missing []string
		for _, e := range entries {
			if !answered[e.MutationID] {
				missing = append(missing, e.MutationID)
			}
		}
		return tx.CountAttempt(ctx, missing)
	})
	if err != nil {
		return 0, fmt.Errorf("push: store results: %w", err)
	}
	rep.Pushed += done
	rep.Applied += c.Applied
	rep.Duplicates += c.Duplicates
	rep.Conflicts += c.Conflicts
	rep.Rejected += c.Rejected
	return done, nil
}
