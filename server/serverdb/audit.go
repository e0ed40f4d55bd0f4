package serverdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// audit appends one audit event in the transaction of the change it
// records, so the trail and the data can never disagree.
func (t *wtx) audit(actor Actor, action, entity, recordID, caseID string, detail any) error {
	d := []byte("{}")
	if detail != nil {
		var err error
		if d, err = json.Marshal(detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	_, err := t.ExecContext(t.ctx, `INSERT INTO audit (at, user_id, device_id, action, entity, record_id, case_id, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.nowText, actor.UserID, actor.DeviceID, action, entity, recordID, caseID, string(d))
	if err != nil {
		return fmt.Errorf("write audit: %w", err)
	}
	return nil
}

// AuditEvent is one row of the audit trail.
type AuditEvent struct {
	ID       int64           `json:"id"`
	At       string          `json:"at"`
	UserID   string          `json:"user_id"`
	DeviceID string          `json:"device_id,omitempty"`
	Action   string          `json:"action"`
	Entity   string          `json:"entity,omitempty"`
	RecordID string          `json:"record_id,omitempty"`
	CaseID   string          `json:"case_id,omitempty"`
	Detail   json.RawMessage `json:"detail"`
}

// AuditCount returns how many audit events there are.
func (db *DB) AuditCount(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM audit`).Scan(&n)
	return n, err
}

// AuditFor returns the audit events of one record, oldest first.
func (db *DB) AuditFor(ctx context.Context, recordID string) ([]AuditEvent, error) {
	return db.readAudit(ctx, "record_id", recordID)
}

// readAudit returns the events whose column equals value, oldest first.
func (db *DB) readAudit(ctx context.Context, column, value string) ([]AuditEvent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, at, user_id, device_id, action, entity, record_id, case_id, detail
		FROM audit WHERE `+column+` = ? ORDER BY id`, value)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var d string
		if err := rows.Scan(&e.ID, &e.At, &e.UserID, &e.DeviceID, &e.Action, &e.Entity, &e.RecordID, &e.CaseID, &d); err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		e.Detail = json.RawMessage(d)
		out = append(out, e)
	}
	return out, rows.Err()
}

// MutationCount returns how many mutations with status ("" for all) the
// server has stored.
func (db *DB) MutationCount(ctx context.Context, status string) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM mutations WHERE ? = '' OR status = ?`, status, status).Scan(&n)
	return n, err
}

// CountMutations returns how many distinct mutations the server has
// decided (applied, conflict or rejected): each is stored once, by id.
func (db *DB) CountMutations(ctx context.Context) (int, error) {
	return db.MutationCount(ctx, "")
}

// MutationOutcome returns the stored first outcome of a mutation (applied,
// conflict or rejected) and the fields it lost; status "" when the server
// never decided it.
func (db *DB) MutationOutcome(ctx context.Context, mutationID string) (status string, lost []string, err error) {
	var lostText string
	err = db.r.QueryRowContext(ctx, `SELECT status, lost FROM mutations WHERE mutation_id = ?`, mutationID).Scan(&status, &lostText)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("read mutation %s: %w", mutationID, err)
	}
	if lostText != "" {
		if err := json.Unmarshal([]byte(lostText), &lost); err != nil {
			return "", nil, fmt.Errorf("read mutation %s: lost: %w", mutationID, err)
		}
	}
	return status, lost, nil
}

// AuditView records that actor viewed the records of caseIDs through an
// aggregate view (what: "compliance/first-home-visits", ...), with the
// request's parameters: one event, action "view", entity "case", and
// detail {"view": what, "cases": [...], "params": {...}}. The views of one
// case are found with json_each(detail -> '$.cases').
func (db *DB) AuditView(ctx context.Context, actor Actor, what string, caseIDs []string, params map[string]string) error {
	if caseIDs == nil {
		caseIDs = []string{}
	}
	if params == nil {
		params = map[string]string{}
	}
	return db.update(ctx, func(t *wtx) error {
		return t.audit(actor, "view", "case", "", "", map[string]any{"view": what, "cases": caseIDs, "params": params})
	})
}

// AuditByAction returns the audit events of one action, oldest first.
func (db *DB) AuditByAction(ctx context.Context, action string) ([]AuditEvent, error) {
	return db.readAudit(ctx, "action", action)
}
