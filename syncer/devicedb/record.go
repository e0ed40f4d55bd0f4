package devicedb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"doorstep/schema"
)

// Record is a record as the tablet holds it, with what the outbox says of it.
type Record struct {
	schema.Record
	// Signed: the sign field is set; the tablet refuses local changes.
	Signed bool `json:"signed"`
	// Pending: local changes wait in the outbox for the server.
	Pending bool `json:"pending"`
	// Rejected: a local change to it was rejected by the server and is set
	// aside in the outbox with the reason.
	Rejected bool `json:"rejected"`
}

// recordColumns are read FROM recordsFrom: a record's version and server
// times are its receipt's when that is newer than the row (SetReceipts).
const recordColumns = `r.entity, r.id, r.case_id, r.fields,
	CASE WHEN rc.version > r.version THEN rc.version ELSE r.version END,
	CASE WHEN rc.version > r.version THEN rc.received_at ELSE r.received_at END,
	CASE WHEN rc.version > r.version THEN rc.updated_at ELSE r.updated_at END,
	r.device_time, r.created_by, r.updated_by, r.signed,
	EXISTS (SELECT 1 FROM outbox o WHERE o.entity = r.entity AND o.record_id = r.id AND o.status = 'pending'),
	EXISTS (SELECT 1 FROM outbox o WHERE o.entity = r.entity AND o.record_id = r.id AND o.status = 'rejected')`

const recordsFrom = ` FROM records r LEFT JOIN receipts rc ON rc.entity = r.entity AND rc.id = r.id`

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads a row of recordColumns, opening its sealed fields.
func (tx *Tx) scanRecord(s scanner) (Record, error) {
	var r Record
	var fields, received, updated, deviceTime string
	if err := s.Scan(&r.Entity, &r.ID, &r.CaseID, &fields, &r.Version, &received, &updated,
		&deviceTime, &r.CreatedBy, &r.UpdatedBy, &r.Signed, &r.Pending, &r.Rejected); err != nil {
		return Record{}, err
	}
	plain, err := tx.openText(recordAAD(r.Entity, r.ID), fields)
	if err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal(plain, &r.Fields); err != nil {
		return Record{}, fmt.Errorf("record %s/%s: fields are not a JSON object: %w", r.Entity, r.ID, err)
	}
	if r.Fields == nil {
		r.Fields = map[string]json.RawMessage{}
	}
	r.ReceivedAt, r.UpdatedAt, r.DeviceTime = parseTime(received), parseTime(updated), parseTime(deviceTime)
	return r, nil
}

// GetRecord returns one record, or ErrNotFound.
func (tx *Tx) GetRecord(ctx context.Context, entity, id string) (Record, error) {
	row := tx.queryRow(ctx, "SELECT "+recordColumns+recordsFrom+" WHERE r.entity = ? AND r.id = ?", entity, id)
	r, err := tx.scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("get %s %s: %w", entity, id, err)
	}
	return r, nil
}

// HasRecord reports whether a record exists.
func (tx *Tx) HasRecord(ctx context.Context, entity, id string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, "SELECT count(*) FROM records WHERE entity = ? AND id = ?", entity, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up %s %s: %w", entity, id, err)
	}
	return n > 0, nil
}

// ListRecords returns the records of entity ("" for every entity) in case
// caseID ("" for every case), oldest id first.
func (tx *Tx) ListRecords(ctx context.Context, entity, caseID string) ([]Record, error) {
	var where []string
	var args []any
	if entity != "" {
		where = append(where, "r.entity = ?")
		args = append(args, entity)
	}
	if caseID != "" {
		where = append(where, "r.case_id = ?")
		args = append(args, caseID)
	}
	q := "SELECT " + recordColumns + recordsFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY r.entity, r.id"
	rows, err := tx.tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", entity, err)
	}
	defer rows.Close()
	out := []Record{}
	for rows.Next() {
		r, err := tx.scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", entity, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// PutRecord stores a record's whole row, as a local write leaves it.
func (tx *Tx) PutRecord(ctx context.Context, r schema.Record) error {
	fields, err := json.Marshal(r.Fields)
	if err != nil {
		return fmt.Errorf("put %s %s: %w", r.Entity, r.ID, err)
	}
	if r.Fields == nil {
		fields = []byte("{}")
	}
	stored, err := tx.sealText(recordAAD(r.Entity, r.ID), fields)
	if err != nil {
		return fmt.Errorf("put %s %s: %w", r.Entity, r.ID, err)
	}
	_, err = tx.exec(ctx, upsertRecord, r.Entity, r.ID, r.CaseID, stored, r.Version,
		formatTime(r.ReceivedAt), formatTime(r.UpdatedAt), formatTime(r.DeviceTime), r.CreatedBy, r.UpdatedBy,
		boolInt(r.Signed()))
	if err != nil {
		return fmt.Errorf("put %s %s: %w", r.Entity, r.ID, err)
	}
	return nil
}

const upsertRecord = `INSERT INTO records
	(entity, id, case_id, fields, version, received_at, updated_at, device_time, created_by, updated_by, signed)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (entity, id) DO UPDATE SET
		case_id = excluded.case_id,
		fields = excluded.fields,
		version = excluded.version,
		received_at = excluded.received_at,
		updated_at = excluded.updated_at,
		device_time = CASE WHEN excluded.device_time = '' THEN records.device_time ELSE excluded.device_time END,
		created_by = CASE WHEN excluded.created_by = '' THEN records.created_by ELSE excluded.created_by END,
		updated_by = CASE WHEN excluded.updated_by = '' THEN records.updated_by ELSE excluded.updated_by END,
		signed = excluded.signed`

// SetReceipts stores the server's receipts for records: each one's
// version and server times, a chunk of receipts per statement rather than
// one statement per record. They go to the receipts table (device
// migration 0008), not the records' rows: rewriting a row for its version
// rewrote its sealed fields too. A receipt for a record the tablet does
// not hold is dropped; an older receipt never overwrites a newer one
// (the row's or an earlier receipt's); when a record has several receipts
// the newest version wins.
func (tx *Tx) SetReceipts(ctx context.Context, rcs []schema.Receipt) error {
	// One receipt per record, the newest: a statement that upserts a row
	// from two would take either.
	newest := make(map[[2]string]int, len(rcs))
	kept := make([]schema.Receipt, 0, len(rcs))
	for _, rc := range rcs {
		k := [2]string{rc.Entity, rc.ID}
		if i, ok := newest[k]; ok {
			if rc.Version > kept[i].Version {
				kept[i] = rc
			}
			continue
		}
		newest[k] = len(kept)
		kept = append(kept, rc)
	}
	args := make([]any, 0, 5*min(len(kept), receiptChunk))
	for start := 0; start < len(kept); start += receiptChunk {
		chunk := kept[start:min(start+receiptChunk, len(kept))]
		args = args[:0]
		for _, rc := range chunk {
			args = append(args, rc.Entity, rc.ID, rc.Version, formatTime(rc.ReceivedAt), formatTime(rc.UpdatedAt))
		}
		if _, err := tx.exec(ctx, storeReceipts(len(chunk)), args...); err != nil {
			return fmt.Errorf("store %d receipts: %w", len(chunk), err)
		}
	}
	return nil
}

// receiptChunk is how many receipts one statement stores (5 parameters
// each); a push batch's answers take a few statements.
const receiptChunk = 200

// storeReceipts is SetReceipts' statement for n receipts: the newer of a
// receipt and what the tablet holds (the row's version, a receipt before).
func storeReceipts(n int) string {
	return `WITH v(entity, id, version, received_at, updated_at) AS (VALUES (?, ?, ?, ?, ?)` +
		strings.Repeat(", (?, ?, ?, ?, ?)", n-1) + `)
		INSERT INTO receipts (entity, id, version, received_at, updated_at)
		SELECT v.entity, v.id, v.version, v.received_at, v.updated_at
		FROM v JOIN records r ON r.entity = v.entity AND r.id = v.id WHERE r.version <= v.version
		ON CONFLICT (entity, id) DO UPDATE SET version = excluded.version,
			received_at = excluded.received_at, updated_at = excluded.updated_at
		WHERE receipts.version <= excluded.version`
}

// DeleteCase deletes every record of a case (the case record included) and
// reports how many went. Outbox rows stay.
func (tx *Tx) DeleteCase(ctx context.Context, caseID string) (int, error) {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM records WHERE case_id = ?", caseID)
	if err != nil {
		return 0, fmt.Errorf("delete case %s: %w", caseID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteRecord deletes one record. Outbox rows stay.
func (tx *Tx) DeleteRecord(ctx context.Context, entity, id string) (int, error) {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM records WHERE entity = ? AND id = ?", entity, id)
	if err != nil {
		return 0, fmt.Errorf("delete %s %s: %w", entity, id, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeleteSyncedRecords deletes every record that no outbox row refers to:
// the start of a full resync, which then pulls back all that is still in
// scope. Records with local changes stay so that no work disappears.
func (tx *Tx) DeleteSyncedRecords(ctx context.Context) (int, error) {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM records WHERE NOT EXISTS
		(SELECT 1 FROM outbox o WHERE o.entity = records.entity AND o.record_id = records.id)`)
	if err != nil {
		return 0, fmt.Errorf("delete synced records: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// CountOpenConflicts counts conflict records not yet resolved. A
// conflict's status is among its sealed fields, so each is opened here
// (there are few); ErrLocked when the key is not held.
func (tx *Tx) CountOpenConflicts(ctx context.Context) (int, error) {
	recs, err := tx.ListRecords(ctx, "conflict", "")
	if err != nil {
		return 0, fmt.Errorf("count conflicts: %w", err)
	}
	n := 0
	for _, r := range recs {
		var status string
		if raw, ok := r.Fields["status"]; ok {
			_ = json.Unmarshal(raw, &status)
		}
		if status == "" || status == "open" {
			n++
		}
	}
	return n, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ApplyCurrent takes the server's values of some fields of a record (a push
// answer's MutationResult.Current), except fields that a still-pending
// outbox entry sets: the push of that entry decides them. Call it after the
// answered entry left the outbox.
func (tx *Tx) ApplyCurrent(ctx context.Context, entity, id string, current map[string]json.RawMessage) error {
	if len(current) == 0 {
		return nil
	}
	rec, err := tx.GetRecord(ctx, entity, id)
	if errors.Is(err, ErrNotFound) {
		return nil // gone from the device (a removal): nothing to correct
	}
	if err != nil {
		return err
	}
	entries, err := tx.RecordOutbox(ctx, entity, id)
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, e := range entries {
		if e.Status != "pending" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(e.Fields, &m); err != nil {
			return fmt.Errorf("read pending fields of %s %s: %w", entity, id, err)
		}
		for f := range m {
			pending[f] = true
		}
	}
	if rec.Fields == nil {
		rec.Fields = map[string]json.RawMessage{}
	}
	changed := false
	for f, v := range current {
		if pending[f] {
			continue
		}
		if string(v) == "null" {
			if _, ok := rec.Fields[f]; ok {
				delete(rec.Fields, f)
				changed = true
			}
			continue
		}
		if string(rec.Fields[f]) != string(v) {
			rec.Fields[f] = v
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return tx.PutRecord(ctx, rec.Record)
}
