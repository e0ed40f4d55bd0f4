package devicedb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"doorstep/schema"
)

// RawRecord is a pulled record as it came off the wire: the fields stay raw
// JSON and the times stay text, so applying a page of thousands of records
// decodes nothing it does not need.
type RawRecord struct {
	Entity     string          `json:"entity"`
	ID         string          `json:"id"`
	CaseID     string          `json:"case_id"`
	Fields     json.RawMessage `json:"fields"`
	Version    int64           `json:"version"`
	ReceivedAt string          `json:"received_at"`
	UpdatedAt  string          `json:"updated_at"`
	DeviceTime string          `json:"device_time"`
	CreatedBy  string          `json:"created_by"`
	UpdatedBy  string          `json:"updated_by"`
}

// ApplyPulled stores a page of pulled records. The server's fields replace
// the local ones, except fields that a pending outbox entry sets for the
// same record: those keep their local value until the push decides them.
// A set-aside (rejected) entry of a pulled record gets the server's values
// of its fields as its Current, so that discarding it later knows the
// record already shows them (see syncer's Discard).
func (tx *Tx) ApplyPulled(ctx context.Context, recs []RawRecord) (int, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	pending, err := tx.pendingFields(ctx)
	if err != nil {
		return 0, err
	}
	if err := tx.noteServerValues(ctx, recs); err != nil {
		return 0, err
	}
	// Rows go in multi-row INSERTs of applyChunk rows: one statement
	// execution per chunk instead of per record.
	var stmts [applyChunk + 1]*sql.Stmt
	defer func() {
		for _, st := range stmts {
			if st != nil {
				st.Close()
			}
		}
	}()
	args := make([]any, 0, applyChunk*recordParams)
	for start := 0; start < len(recs); start += applyChunk {
		chunk := recs[start:min(start+applyChunk, len(recs))]
		args = args[:0]
		for i := range chunk {
			r := &chunk[i]
			if r.Entity == "" || r.ID == "" {
				return start, fmt.Errorf("apply pulled record %d: entity and id are required", start+i)
			}
			caseID := r.CaseID
			if caseID == "" && r.Entity == "case" {
				caseID = r.ID
			}
			fields := bytes.TrimSpace(r.Fields)
			if len(fields) == 0 || bytes.Equal(fields, []byte("null")) {
				fields = []byte("{}")
			}
			var signed bool
			if local, ok := pending[recordKey{r.Entity, r.ID}]; ok {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(fields, &m); err != nil {
					return start, fmt.Errorf("apply pulled %s %s: fields: %w", r.Entity, r.ID, err)
				}
				if m == nil {
					m = map[string]json.RawMessage{}
				}
				for f, v := range local {
					m[f] = v
				}
				if fields, err = json.Marshal(m); err != nil {
					return start, fmt.Errorf("apply pulled %s %s: %w", r.Entity, r.ID, err)
				}
				signed = schema.Record{Entity: r.Entity, Fields: m}.Signed()
			} else {
				signed = isSigned(r.Entity, fields)
			}
			stored, err := tx.sealText(recordAAD(r.Entity, r.ID), fields)
			if err != nil {
				return start, fmt.Errorf("apply pulled %s %s: %w", r.Entity, r.ID, err)
			}
			args = append(args, r.Entity, r.ID, caseID, stored, r.Version,
				wireTime(r.ReceivedAt), wireTime(r.UpdatedAt), wireTime(r.DeviceTime), r.CreatedBy, r.UpdatedBy,
				boolInt(signed))
		}
		st := stmts[len(chunk)]
		if st == nil {
			if st, err = tx.tx.PrepareContext(ctx, upsertRecords(len(chunk))); err != nil {
				return start, fmt.Errorf("apply pulled records: %w", err)
			}
			stmts[len(chunk)] = st
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return start, fmt.Errorf("apply pulled records %d to %d: %w", start, start+len(chunk), err)
		}
	}
	return len(recs), nil
}

// applyChunk is how many rows one INSERT of a pull page carries
// (11 parameters each, far under SQLite's limit of 32766).
const (
	applyChunk   = 64
	recordParams = 11
)

// upsertRecords is upsertRecord for n rows.
func upsertRecords(n int) string {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	head, tail, _ := strings.Cut(upsertRecord, row)
	return head + row + strings.Repeat(", "+row, n-1) + tail
}

// ApplyRemovals deletes what the server says left the device: whole cases,
// or single records. Outbox entries stay (the push reports them).
func (tx *Tx) ApplyRemovals(ctx context.Context, removed []schema.Removal) (int, error) {
	total := 0
	for _, rm := range removed {
		var n int
		var err error
		switch {
		case rm.ID != "" && rm.Entity != "":
			n, err = tx.DeleteRecord(ctx, rm.Entity, rm.ID)
		case rm.CaseID != "":
			n, err = tx.DeleteCase(ctx, rm.CaseID)
		default:
			continue
		}
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// isSigned reports whether raw fields (valid JSON: the page decoded) hold a
// set sign field. It reads the top level of the object up to that one key
// (topLevelValue) instead of decoding the fields, which is most of the cost
// of applying a page otherwise; and the value there, without a map made
// for it (a map and a search of the whole text for the name were about a
// fifth of applying a pulled page's records).
func isSigned(entity string, fields []byte) bool {
	spec, ok := schema.Entity(entity)
	if !ok || spec.SignField == "" {
		return false
	}
	v, ok := topLevelValue(fields, spec.SignField)
	return ok && spec.SignValueSet(v)
}

// topLevelValue returns the raw value of key in the JSON object obj, which
// must be valid JSON. Keys with escapes are compared as written.
func topLevelValue(obj []byte, key string) (json.RawMessage, bool) {
	i := schema.SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = schema.SkipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return nil, false
		}
		if obj[i] == ',' {
			i++
			continue
		}
		kEnd := schema.SkipJSON(obj, i)
		if kEnd < 0 {
			return nil, false
		}
		k := obj[i+1 : kEnd-1]
		i = schema.SkipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = schema.SkipSpace(obj, i+1)
		vEnd := schema.SkipJSON(obj, i)
		if vEnd < 0 {
			return nil, false
		}
		if string(k) == key {
			return obj[i:vEnd], true
		}
		i = vEnd
	}
}

// wireTime keeps a server time as text, mapping Go's zero time to "".
func wireTime(s string) string {
	if strings.HasPrefix(s, "0001-01-01") {
		return ""
	}
	return s
}

// noteServerValues stores, on each set-aside outbox entry of a pulled
// record, the server's values of the entry's fields (null for a field the
// server's record lacks).
func (tx *Tx) noteServerValues(ctx context.Context, recs []RawRecord) error {
	rows, err := tx.tx.QueryContext(ctx, "SELECT mutation_id, entity, record_id, fields FROM outbox WHERE status = 'rejected'")
	if err != nil {
		return fmt.Errorf("read set-aside changes: %w", err)
	}
	type entry struct{ id, fields string }
	rejected := map[recordKey][]entry{}
	for rows.Next() {
		var k recordKey
		var e entry
		if err := rows.Scan(&e.id, &k.entity, &k.id, &e.fields); err != nil {
			rows.Close()
			return fmt.Errorf("read set-aside changes: %w", err)
		}
		rejected[k] = append(rejected[k], e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read set-aside changes: %w", err)
	}
	if len(rejected) == 0 {
		return nil
	}
	for _, r := range recs {
		entries := rejected[recordKey{r.Entity, r.ID}]
		if len(entries) == 0 {
			continue
		}
		var server map[string]json.RawMessage
		if len(bytes.TrimSpace(r.Fields)) > 0 {
			if err := json.Unmarshal(r.Fields, &server); err != nil {
				return fmt.Errorf("apply pulled %s %s: fields: %w", r.Entity, r.ID, err)
			}
		}
		for _, e := range entries {
			plain, err := tx.openText(outboxAAD("fields", e.id), e.fields)
			if err != nil {
				return err
			}
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(plain, &fields); err != nil {
				return fmt.Errorf("read fields of change %s: %w", e.id, err)
			}
			current := make(map[string]json.RawMessage, len(fields))
			for f := range fields {
				if v, ok := server[f]; ok {
					current[f] = v
				} else {
					current[f] = json.RawMessage("null")
				}
			}
			if err := tx.SetOutboxCurrent(ctx, e.id, current); err != nil {
				return err
			}
		}
	}
	return nil
}
