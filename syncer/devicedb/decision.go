package devicedb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"doorstep/schema"
)

// Decisions the officer takes about what the server did not take.
const (
	DecisionDiscarded = "discarded" // a set-aside change dropped for good
	DecisionRetried   = "retried"   // a set-aside change queued again under a new id
	DecisionKeptMine  = "kept_mine" // a lost value (lww_lost) written again
)

// Decision is one row of the outbox log: what was decided about a change,
// by whom and when, with the change's content as it was.
type Decision struct {
	Seq           int64           `json:"seq"`
	Decision      string          `json:"decision"`
	MutationID    string          `json:"mutation_id,omitempty"`
	NewMutationID string          `json:"new_mutation_id,omitempty"`
	ConflictID    string          `json:"conflict_id,omitempty"`
	Entity        string          `json:"entity"`
	RecordID      string          `json:"record_id"`
	CaseID        string          `json:"case_id"`
	Fields        json.RawMessage `json:"fields"`
	Clock         string          `json:"clock,omitempty"`
	DeviceTime    time.Time       `json:"device_time,omitzero"`
	Error         *schema.Error   `json:"error,omitempty"`
	ChangedAt     time.Time       `json:"changed_at,omitzero"` // when the change was made on the tablet
	DecidedBy     string          `json:"decided_by"`
	DecidedAt     time.Time       `json:"decided_at"`
}

// GetOutbox returns one outbox entry, or ErrNotFound.
func (tx *Tx) GetOutbox(ctx context.Context, mutationID string) (OutboxEntry, error) {
	out, err := tx.queryOutbox(ctx, "SELECT "+outboxColumns+" FROM outbox WHERE mutation_id = ?", mutationID)
	if err != nil {
		return OutboxEntry{}, err
	}
	if len(out) == 0 {
		return OutboxEntry{}, ErrNotFound
	}
	return out[0], nil
}

// SetOutboxCurrent keeps the server's values that came with a rejection.
func (tx *Tx) SetOutboxCurrent(ctx context.Context, mutationID string, current map[string]json.RawMessage) error {
	b, err := json.Marshal(current)
	if err != nil {
		return fmt.Errorf("keep current of %s: %w", mutationID, err)
	}
	stored, err := tx.sealText(outboxAAD("current", mutationID), b)
	if err != nil {
		return fmt.Errorf("keep current of %s: %w", mutationID, err)
	}
	if _, err := tx.exec(ctx, "UPDATE outbox SET current = ? WHERE mutation_id = ?", stored, mutationID); err != nil {
		return fmt.Errorf("keep current of %s: %w", mutationID, err)
	}
	return nil
}

// LogDecision appends d to the outbox log at the transaction's time.
func (tx *Tx) LogDecision(ctx context.Context, d Decision) error {
	errText := ""
	if d.Error != nil {
		b, err := json.Marshal(d.Error)
		if err != nil {
			return fmt.Errorf("log decision: %w", err)
		}
		if errText, err = tx.sealText(logAAD(d.Entity, d.RecordID), b); err != nil {
			return fmt.Errorf("log decision: %w", err)
		}
	}
	plain := d.Fields
	if len(plain) == 0 {
		plain = json.RawMessage("{}")
	}
	fields, err := tx.sealText(logAAD(d.Entity, d.RecordID), plain)
	if err != nil {
		return fmt.Errorf("log decision: %w", err)
	}
	_, err = tx.exec(ctx, `INSERT INTO outbox_log (decision, mutation_id, new_mutation_id, conflict_id, entity, record_id, case_id,
		fields, clock, device_time, error, changed_at, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Decision, d.MutationID, d.NewMutationID, d.ConflictID, d.Entity, d.RecordID, d.CaseID, fields, d.Clock,
		formatTime(d.DeviceTime), errText, formatTime(d.ChangedAt), d.DecidedBy, formatTime(tx.now))
	if err != nil {
		return fmt.Errorf("log decision %s on %s %s: %w", d.Decision, d.Entity, d.RecordID, err)
	}
	return nil
}

// OutboxLog returns every decision, oldest first.
func (tx *Tx) OutboxLog(ctx context.Context) ([]Decision, error) {
	rows, err := tx.tx.QueryContext(ctx, `SELECT seq, decision, mutation_id, new_mutation_id, conflict_id, entity, record_id, case_id,
		fields, clock, device_time, error, changed_at, decided_by, decided_at FROM outbox_log ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("read outbox log: %w", err)
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var d Decision
		var fields, deviceTime, errText, changed, decided string
		if err := rows.Scan(&d.Seq, &d.Decision, &d.MutationID, &d.NewMutationID, &d.ConflictID, &d.Entity, &d.RecordID, &d.CaseID,
			&fields, &d.Clock, &deviceTime, &errText, &changed, &d.DecidedBy, &decided); err != nil {
			return nil, fmt.Errorf("read outbox log: %w", err)
		}
		plain, err := tx.openText(logAAD(d.Entity, d.RecordID), fields)
		if err != nil {
			return nil, fmt.Errorf("read outbox log: %w", err)
		}
		d.Fields = json.RawMessage(plain)
		d.DeviceTime, d.ChangedAt, d.DecidedAt = parseTime(deviceTime), parseTime(changed), parseTime(decided)
		if d.Error, err = tx.openError(logAAD(d.Entity, d.RecordID), errText); err != nil {
			return nil, fmt.Errorf("read outbox log: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
