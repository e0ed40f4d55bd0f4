package devicedb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"doorstep/schema"
)

// Outbox row statuses.
const (
	OutboxPending  = "pending"
	OutboxRejected = "rejected"
)

// OutboxEntry is one local change waiting for (or set aside by) the server.
// Its JSON is the wire mutation plus the local bookkeeping.
type OutboxEntry struct {
	Seq        int64           `json:"seq"`
	MutationID string          `json:"mutation_id"`
	Entity     string          `json:"entity"`
	RecordID   string          `json:"record_id"`
	CaseID     string          `json:"case_id"`
	Fields     json.RawMessage `json:"fields"`
	Clock      string          `json:"clock"`
	DeviceTime time.Time       `json:"device_time"`
	// DeviceSignature is the tablet's signature sent with the mutation
	// (protocol §6.1); nil for one that signs nothing.
	DeviceSignature *schema.DeviceSignature `json:"device_signature,omitempty"`
	Status          string                  `json:"status"`
	Error           *schema.Error           `json:"error,omitempty"`
	Attempts        int                     `json:"attempts"`
	CreatedAt       time.Time               `json:"created_at"`
	// Current is the server's values of the fields, from the answer that
	// set the change aside (nil when it gave none).
	Current map[string]json.RawMessage `json:"current,omitempty"`
	// Before is the tablet's values that the change replaced (null for a
	// field the record did not have; nil for rows written before it was
	// kept).
	Before map[string]json.RawMessage `json:"before,omitempty"`
	// Opaque: the tablet can no longer read the change (its keys were
	// destroyed); it is delivered as ServerBox, which only the server
	// opens, and its Fields are empty.
	Opaque bool `json:"opaque,omitempty"`
	// ServerBox is the change sealed to the server's outbox key ("" when
	// the tablet had none).
	ServerBox string `json:"-"`
}

// AppendOutbox appends a mutation as pending. Call it in the transaction of
// the local change it carries.
func (tx *Tx) AppendOutbox(ctx context.Context, m schema.Mutation) error {
	return tx.AppendChange(ctx, m, nil)
}

// AppendChange is AppendOutbox that also keeps the values the change
// replaced on the tablet (before), so that discarding it, if the server
// sets it aside, can put them back.
func (tx *Tx) AppendChange(ctx context.Context, m schema.Mutation, before map[string]json.RawMessage) error {
	fields, err := json.Marshal(m.Fields)
	if err != nil {
		return fmt.Errorf("append mutation %s: %w", m.ID, err)
	}
	prev := ""
	if before != nil {
		b, err := json.Marshal(before)
		if err != nil {
			return fmt.Errorf("append mutation %s: %w", m.ID, err)
		}
		prev = string(b)
	}
	sig := ""
	if m.DeviceSignature != nil {
		b, err := json.Marshal(m.DeviceSignature)
		if err != nil {
			return fmt.Errorf("append mutation %s: %w", m.ID, err)
		}
		sig = string(b)
	}
	sealedFields, err := tx.sealText(outboxAAD("fields", m.ID), fields)
	if err != nil {
		return fmt.Errorf("append mutation %s: %w", m.ID, err)
	}
	if prev, err = tx.sealText(outboxAAD("before", m.ID), []byte(prev)); err != nil {
		return fmt.Errorf("append mutation %s: %w", m.ID, err)
	}
	serverBox, err := tx.serverBox(ctx, m)
	if err != nil {
		return fmt.Errorf("append mutation %s: %w", m.ID, err)
	}
	_, err = tx.exec(ctx, `INSERT INTO outbox
		(mutation_id, entity, record_id, case_id, fields, clock, device_time, created_at, before, device_signature, server_box)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Entity, m.RecordID, m.CaseID, sealedFields, m.Clock.String(), formatTime(m.DeviceTime), formatTime(tx.now), prev, sig, serverBox)
	if err != nil {
		return fmt.Errorf("append mutation %s: %w", m.ID, err)
	}
	return nil
}

const outboxColumns = `seq, mutation_id, entity, record_id, case_id, fields, clock, device_time, status, error, attempts, created_at,
	current, before, device_signature, server_box, opaque`

func (tx *Tx) queryOutbox(ctx context.Context, q string, args ...any) ([]OutboxEntry, error) {
	rows, err := tx.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	out := []OutboxEntry{}
	for rows.Next() {
		var e OutboxEntry
		var fields, deviceTime, errText, created, current, before, sig string
		if err := rows.Scan(&e.Seq, &e.MutationID, &e.Entity, &e.RecordID, &e.CaseID, &fields, &e.Clock,
			&deviceTime, &e.Status, &errText, &e.Attempts, &created, &current, &before, &sig, &e.ServerBox, &e.Opaque); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		if sig != "" {
			e.DeviceSignature = &schema.DeviceSignature{}
			if err := json.Unmarshal([]byte(sig), e.DeviceSignature); err != nil {
				return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
			}
		}
		for _, kv := range []struct {
			column, text string
			to           *map[string]json.RawMessage
		}{{"current", current, &e.Current}, {"before", before, &e.Before}} {
			plain, err := tx.openText(outboxAAD(kv.column, e.MutationID), kv.text)
			if err != nil {
				return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
			}
			if plain != nil {
				if err := json.Unmarshal(plain, kv.to); err != nil {
					return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
				}
			}
		}
		plain, err := tx.openText(outboxAAD("fields", e.MutationID), fields)
		if err != nil {
			return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
		}
		e.Fields = json.RawMessage(plain)
		e.DeviceTime, e.CreatedAt = parseTime(deviceTime), parseTime(created)
		if e.Error, err = tx.openError(outboxAAD("error", e.MutationID), errText); err != nil {
			return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// openError opens a stored refusal (schema.Error as JSON); nil for none.
func (tx *Tx) openError(aad, stored string) (*schema.Error, error) {
	plain, err := tx.openText(aad, stored)
	if err != nil || plain == nil {
		return nil, err
	}
	e := &schema.Error{}
	if err := json.Unmarshal(plain, e); err != nil {
		e = &schema.Error{Code: schema.ECodeInternal, Message: string(plain)}
	}
	return e, nil
}

// PendingOutbox returns up to limit pending entries, oldest first: the next
// push batch. Rejected entries are never in it.
func (tx *Tx) PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error) {
	return tx.queryOutbox(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE status = 'pending' ORDER BY seq LIMIT ?", limit)
}

// PendingOutboxAfter is PendingOutbox from outbox seq after on, with only
// what a push sends: the entries not yet sent by a push that is still
// storing earlier answers. One query over the outbox_status index; each
// entry opens its sealed fields and nothing else: Before, Current and
// Error (sealed too, and never sent) stay empty, Status is pending,
// Attempts and CreatedAt are zero, and ServerBox is empty unless the entry
// is Opaque.
func (tx *Tx) PendingOutboxAfter(ctx context.Context, after int64, limit int) ([]OutboxEntry, error) {
	// ServerBox only for an opaque entry, the one a push sends it for:
	// the others' copy of the change sealed to the server is as long as
	// the change, read and copied for nothing.
	rows, err := tx.tx.QueryContext(ctx, `SELECT seq, mutation_id, entity, record_id, case_id, fields, clock, device_time,
		device_signature, CASE WHEN opaque THEN server_box ELSE '' END, opaque
		FROM outbox WHERE status = 'pending' AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer rows.Close()
	// Not limit's room up front: the push reads ahead after every batch,
	// and the read after the last one finds nothing (a push of 100 made
	// room for 500 entries, about 130 KB, for none).
	var out []OutboxEntry
	for rows.Next() {
		e := OutboxEntry{Status: OutboxPending}
		var fields, deviceTime, sig string
		if err := rows.Scan(&e.Seq, &e.MutationID, &e.Entity, &e.RecordID, &e.CaseID, &fields, &e.Clock,
			&deviceTime, &sig, &e.ServerBox, &e.Opaque); err != nil {
			return nil, fmt.Errorf("read outbox: %w", err)
		}
		if sig != "" {
			e.DeviceSignature = &schema.DeviceSignature{}
			if err := json.Unmarshal([]byte(sig), e.DeviceSignature); err != nil {
				return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
			}
		}
		plain, err := tx.openText(outboxAAD("fields", e.MutationID), fields)
		if err != nil {
			return nil, fmt.Errorf("read outbox %s: %w", e.MutationID, err)
		}
		e.Fields = json.RawMessage(plain)
		e.DeviceTime = parseTime(deviceTime)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Outbox returns every entry, pending and rejected, oldest first.
func (tx *Tx) Outbox(ctx context.Context) ([]OutboxEntry, error) {
	return tx.queryOutbox(ctx, "SELECT "+outboxColumns+" FROM outbox ORDER BY seq")
}

// RecordOutbox returns the entries of one record, oldest first.
func (tx *Tx) RecordOutbox(ctx context.Context, entity, id string) ([]OutboxEntry, error) {
	return tx.queryOutbox(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE entity = ? AND record_id = ? ORDER BY seq", entity, id)
}

// DeleteOutbox removes an acknowledged entry.
func (tx *Tx) DeleteOutbox(ctx context.Context, mutationID string) error {
	if err := tx.deleteOutbox(ctx, "mutation_id = ?", mutationID); err != nil {
		return fmt.Errorf("delete mutation %s: %w", mutationID, err)
	}
	return nil
}

// deleteOutbox deletes the outbox rows that where (an SQL condition on
// outbox's columns, with args) names, and takes them off outbox_count in
// the statement before, in the same transaction: the counts of the rows of
// each status that the same condition names (migration 0009, which
// dropped the trigger that did it once per row). Every delete of outbox
// rows but a wipe's goes through here.
func (tx *Tx) deleteOutbox(ctx context.Context, where string, args ...any) error {
	if _, err := tx.exec(ctx, countDeleted(where), args...); err != nil {
		return fmt.Errorf("count the rows deleted: %w", err)
	}
	_, err := tx.exec(ctx, "DELETE FROM outbox WHERE "+where, args...)
	return err
}

// countDeleted is the statement that takes the outbox rows where names
// off outbox_count, before they are deleted.
func countDeleted(where string) string {
	return `UPDATE outbox_count SET (pending, rejected) = (SELECT pending - count(*) FILTER (WHERE status = 'pending'),
		rejected - count(*) FILTER (WHERE status = 'rejected') FROM outbox WHERE ` + where + `) WHERE id = 1`
}

// idChunk is how many ids one statement names: well under SQLite's
// limit on bound parameters, and long enough that a push batch's answers
// take a few statements rather than one per record.
const idChunk = 500

// DeleteOutboxes removes acknowledged entries, one statement per
// idChunk ids rather than one per entry.
func (tx *Tx) DeleteOutboxes(ctx context.Context, mutationIDs []string) error {
	for start := 0; start < len(mutationIDs); start += idChunk {
		chunk := mutationIDs[start:min(start+idChunk, len(mutationIDs))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := tx.deleteOutbox(ctx, "mutation_id IN (?"+strings.Repeat(", ?", len(chunk)-1)+")", args...); err != nil {
			return fmt.Errorf("delete %d acknowledged mutations: %w", len(chunk), err)
		}
	}
	return nil
}

// DeleteOutboxSeqs removes acknowledged entries by their outbox seq, as a
// push read them: each run of consecutive seqs is one range of the
// table's rowid, and a statement deletes up to seqRuns runs, so a batch of
// new drafts (one run) is one statement with no look-up by mutation id.
// A seq is never reused (the outbox is AUTOINCREMENT), so a range names
// exactly the seqs in it that still exist.
func (tx *Tx) DeleteOutboxSeqs(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	var runs []int64 // lo, hi pairs
	for i, s := range seqs {
		if i > 0 && s <= runs[len(runs)-1]+1 {
			runs[len(runs)-1] = s
			continue
		}
		runs = append(runs, s, s)
	}
	for start := 0; start < len(runs); start += 2 * seqRuns {
		chunk := runs[start:min(start+2*seqRuns, len(runs))]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s
		}
		if err := tx.deleteOutbox(ctx, seqRunsIn(len(chunk)/2), args...); err != nil {
			return fmt.Errorf("delete %d acknowledged mutations: %w", len(seqs), err)
		}
	}
	return nil
}

// seqRuns is how many ranges of seqs one DeleteOutboxSeqs statement names.
const seqRuns = 100

// seqRunsIn is DeleteOutboxSeqs' condition for n runs (lo, hi pairs).
func seqRunsIn(n int) string {
	return "seq BETWEEN ? AND ?" + strings.Repeat(" OR seq BETWEEN ? AND ?", n-1)
}

// PendingUnheld reports whether a pending entry with seq in (after,
// through] changes a record the tablet does not hold: one query for a
// push batch instead of one look-up per entry.
func (tx *Tx) PendingUnheld(ctx context.Context, after, through int64) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM outbox o
		WHERE o.status = 'pending' AND o.seq > ? AND o.seq <= ?
		AND NOT EXISTS (SELECT 1 FROM records r WHERE r.entity = o.entity AND r.id = o.record_id) LIMIT 1)`,
		after, through).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up the records of the outbox: %w", err)
	}
	return n > 0, nil
}

// RejectOutbox sets an entry aside with the server's reason: it stays
// visible and is not sent again.
func (tx *Tx) RejectOutbox(ctx context.Context, mutationID string, reason *schema.Error) error {
	if reason == nil {
		reason = &schema.Error{Code: schema.ECodeInvalid, Message: "rejected by the server without a reason"}
	}
	b, err := json.Marshal(reason)
	if err != nil {
		return fmt.Errorf("reject mutation %s: %w", mutationID, err)
	}
	stored, err := tx.sealText(outboxAAD("error", mutationID), b)
	if err != nil {
		return fmt.Errorf("reject mutation %s: %w", mutationID, err)
	}
	if _, err := tx.tx.ExecContext(ctx, "UPDATE outbox SET status = 'rejected', error = ?, attempts = attempts + 1 WHERE mutation_id = ?",
		stored, mutationID); err != nil {
		return fmt.Errorf("reject mutation %s: %w", mutationID, err)
	}
	return nil
}

// CountAttempt adds one send attempt to each entry (a push that failed as a
// whole, or a result the server left out).
func (tx *Tx) CountAttempt(ctx context.Context, mutationIDs []string) error {
	if len(mutationIDs) == 0 {
		return nil
	}
	args := make([]any, len(mutationIDs))
	for i, id := range mutationIDs {
		args[i] = id
	}
	q := "UPDATE outbox SET attempts = attempts + 1 WHERE mutation_id IN (?" + strings.Repeat(", ?", len(args)-1) + ")"
	if _, err := tx.tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("count attempts: %w", err)
	}
	return nil
}

// qCountOutbox is CountOutbox's statement, which every sync request runs
// (db.go, everySync).
const qCountOutbox = "SELECT pending, rejected FROM outbox_count WHERE id = 1"

// CountOutbox returns how many entries are pending and how many rejected.
// It reads one row, outbox_count, which triggers keep in the statement
// that inserts or sets aside (migration 0007) and deleteOutbox in the
// statement before a delete (migration 0009): every sync request sends
// the pending count, and counting the outbox_status index cost as much as
// the outbox is long.
func (tx *Tx) CountOutbox(ctx context.Context) (pending, rejected int, err error) {
	err = tx.queryRow(ctx, qCountOutbox).Scan(&pending, &rejected)
	if err != nil {
		return 0, 0, fmt.Errorf("count outbox: %w", err)
	}
	return pending, rejected, nil
}

// pendingFields returns, per record with pending entries, the fields those
// entries set (later entries over earlier ones): the values a pull must not
// overwrite.
func (tx *Tx) pendingFields(ctx context.Context) (map[recordKey]map[string]json.RawMessage, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT mutation_id, entity, record_id, fields FROM outbox WHERE status = 'pending' ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("read pending fields: %w", err)
	}
	defer rows.Close()
	out := map[recordKey]map[string]json.RawMessage{}
	for rows.Next() {
		var k recordKey
		var id, fields string
		if err := rows.Scan(&id, &k.entity, &k.id, &fields); err != nil {
			return nil, fmt.Errorf("read pending fields: %w", err)
		}
		plain, err := tx.openText(outboxAAD("fields", id), fields)
		if err != nil {
			return nil, fmt.Errorf("read pending fields: %w", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(plain, &m); err != nil {
			return nil, fmt.Errorf("read pending fields of %s %s: %w", k.entity, k.id, err)
		}
		acc := out[k]
		if acc == nil {
			acc = map[string]json.RawMessage{}
			out[k] = acc
		}
		for f, v := range m {
			acc[f] = v
		}
	}
	return out, rows.Err()
}

type recordKey struct{ entity, id string }
