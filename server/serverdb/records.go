package serverdb

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
)

// row is one stored record as the apply path works on it. fields and clocks
// are decoded from their JSON text only when a mutation needs them.
type row struct {
	entity, id, caseID string
	fieldsText         string
	clocksText         string
	fields             map[string]json.RawMessage
	// clocks are the stamps of the fields that have one of their own;
	// with hasBase, every other field fields has is stamped base (the
	// stored text's "" key, decodeOwnClocks). clock reads a field's stamp.
	clocks  map[string]string
	base    string
	hasBase bool
	// names are fields' names, sorted, when known (nil: not known): the
	// stored text's keys as decode read them, then what encode wrote.
	names        []string
	version, seq int64
	receivedAt   string
	updatedAt    string
	deviceTime   string
	createdBy    string
	updatedBy    string
	signed       bool
	// echo is the device whose own push made the record's current state,
	// which its pulls leave out ("" for none; see PushAt).
	echo string
	// pending: created in this transaction and collected, not yet written
	// (see applier.insert).
	pending bool
	// dirty: stored before this transaction, changed in it, and collected
	// for the batch's multi-row UPDATE, not yet written (see
	// applier.change and flushChanged).
	dirty bool
	// rmLoud: the transaction created the record, or changed a field of
	// it that the read model reads (rmReadsField); a record it changed
	// only elsewhere (a visit's notes, its next visit's date) keeps its
	// read model rows as they are (refreshReadModel, decision 0099).
	rmLoud bool
}

const recordCols = `entity, id, case_id, fields, clocks, version, seq, received_at, updated_at, device_time, created_by, updated_by, signed, echo_device`

func scanRow(s interface{ Scan(...any) error }) (*row, error) {
	r := &row{}
	var signed int
	err := s.Scan(&r.entity, &r.id, &r.caseID, &r.fieldsText, &r.clocksText, &r.version, &r.seq,
		&r.receivedAt, &r.updatedAt, &r.deviceTime, &r.createdBy, &r.updatedBy, &signed, &r.echo)
	r.signed = signed == 1
	return r, err
}

// decode fills fields and clocks from their text, each only if it is not
// already in memory (a row created in this transaction has its fields but
// not its clocks: see encodeNew).
func (r *row) decode() error {
	if r.fields == nil {
		fields, names, err := decodeStoredFields(r.fieldsText)
		if err != nil {
			return fmt.Errorf("record %s: stored fields: %w", r.id, err)
		}
		r.fields, r.names = fields, names
	}
	if r.clocks == nil {
		clocks, base, hasBase, err := decodeOwnClocks(r.clocksText)
		if err != nil {
			return fmt.Errorf("record %s: stored clocks: %w", r.id, err)
		}
		r.clocks, r.base, r.hasBase = clocks, base, hasBase
	}
	return nil
}

// clock is the stamp of field f ("" for none): its own, or the base when
// the record has the field.
func (r *row) clock(f string) string {
	s, _ := stampIn(r.clocks, r.fields, r.base, r.hasBase, f)
	return s
}

// stampIn is field k's stamp in clocks (a field's own) or, with hasBase,
// base when fields has k; false when it has none.
func stampIn(clocks map[string]string, fields map[string]json.RawMessage, base string, hasBase bool, k string) (string, bool) {
	if s, own := clocks[k]; own {
		return s, true
	}
	if _, present := fields[k]; present && hasBase {
		return base, true
	}
	return "", false
}

// merge is mergeInto on the record's decoded maps: the fields of names
// that the base stamps get their stamp as their own first, so that
// mergeInto reads each name's stamp from clocks alone (and undoMerge puts
// back that). A record's clocks hold the base's fields apart since
// decision 0117: a visit's thirty stamps were a map of thirty entries
// decoded, and iterated again to encode, for a change of one field.
func (r *row) merge(in map[string]json.RawMessage, names []string, stamp, beyond string, signing bool, by Actor) fieldMerge {
	if r.hasBase {
		for _, f := range names {
			if _, own := r.clocks[f]; !own {
				if _, present := r.fields[f]; present {
					r.clocks[f] = r.base
				}
			}
		}
	}
	return mergeInto(r.fields, r.clocks, in, names, stamp, beyond, signing, by)
}

// decodeStoredFields reads a record's stored fields text as
// json.Unmarshal into a map of raw values does, without its reflection and
// its copy of every value: the text is the server's own encoding
// (appendFields, of values checked as JSON when they came), and each value
// is a slice of one copy of it (capped, so an append to one copies). A
// text the scanner does not expect (null, a key given twice) goes to
// encoding/json, whose answer is then authoritative. Decoded with
// json.Unmarshal, the stored fields and clocks of the changed records were
// about a seventh of the server's CPU time in an incremental push of 100
// (decision 0073).
//
// It also returns the names in the text's order when they are in
// ascending order, as the server writes them (nil otherwise), so that
// encoding the record again need not sort them (decision 0104).
func decodeStoredFields(text string) (map[string]json.RawMessage, []string, error) {
	fields := make(map[string]json.RawMessage, 32)
	names := make([]string, 0, 32)
	err := schema.EachMember([]byte(text), func(k string, v []byte) error {
		if _, twice := fields[k]; twice {
			return schema.ErrSlowJSON
		}
		fields[k] = json.RawMessage(v[:len(v):len(v)])
		if names != nil && (len(names) == 0 || names[len(names)-1] < k) {
			names = append(names, k)
		} else {
			names = nil
		}
		return nil
	})
	if err == nil {
		return fields, names, nil
	}
	fields = map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(text), &fields); err != nil {
		return nil, nil, err
	}
	return fields, nil, nil
}

// The stored clocks text (decision 0059) is a JSON object of field name
// to stamp, where the key "" (never a field's name) gives the stamp of
// every field of the record's fields that has no key of its own. Most
// records carry one stamp on every field (a record made by one mutation,
// or changed whole), so their clocks are `{"":"<stamp>"}` rather than the
// name and stamp of each field again, which was more bytes than the
// fields themselves and a third of a push's writes. A field set to null
// (absent from fields) and a field whose stamp differs keep their key.
// Text without "" (every record written before) names every field.
const baseClockKey = ""

// decodeOwnClocks reads a stored clocks text: the stamps of the keys of
// their own, and the base (ok: the text has one), which stamps every other
// field the record has.
func decodeOwnClocks(text string) (clocks map[string]string, base string, ok bool, err error) {
	clocks = map[string]string{}
	err = schema.EachMember([]byte(text), func(k string, v []byte) error {
		s, err := schema.JSONString(v)
		if err != nil || (len(v) > 0 && v[0] != '"') {
			return schema.ErrSlowJSON // null, a number: encoding/json decides
		}
		clocks[k] = s
		return nil
	})
	if err != nil {
		clocks = map[string]string{}
		if err := json.Unmarshal([]byte(text), &clocks); err != nil {
			return nil, "", false, err
		}
	}
	base, ok = clocks[baseClockKey]
	delete(clocks, baseClockKey)
	return clocks, base, ok, nil
}

// appendClocksBase appends the stored text of a record's clocks (names:
// fields' names, sorted): the stamp most of fields carry as the base, then
// each key whose stamp differs or that fields lack; a field without a
// stamp would take the base's, so then every key is written. clocks are
// the record's own stamps and, with hasBase, base stamps every other field
// fields has (a row's, decodeOwnClocks), without those being spelled out.
func appendClocksBase(b []byte, names []string, fields map[string]json.RawMessage, clocks map[string]string, base string, hasBase bool) []byte {
	stampOf := func(k string) (string, bool) { return stampIn(clocks, fields, base, hasBase, k) }
	common, ok := commonStamp(names, stampOf)
	keys := make([]string, 0, len(clocks))
	for k, v := range clocks {
		if _, present := fields[k]; !ok || !present || v != common {
			keys = append(keys, k)
		}
	}
	if hasBase && (!ok || base != common) {
		for k := range fields {
			if _, own := clocks[k]; !own {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	if ok {
		b = appendJSONString(b, baseClockKey)
		b = append(b, ':')
		b = appendJSONString(b, common)
	}
	for i, k := range keys {
		if i > 0 || ok {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		s, _ := stampOf(k)
		b = appendJSONString(b, s)
	}
	return append(b, '}')
}

// commonStamp returns the stamp most of names carry (stampOf; the
// earliest of those tied), false when a name has none or names is empty.
func commonStamp(names []string, stampOf func(string) (string, bool)) (string, bool) {
	if len(names) == 0 {
		return "", false
	}
	type count struct {
		stamp string
		n     int
	}
	counts := make([]count, 0, 4) // a record's stamps are few
	for _, k := range names {
		v, ok := stampOf(k)
		if !ok {
			return "", false
		}
		i := 0
		for i < len(counts) && counts[i].stamp != v {
			i++
		}
		if i == len(counts) {
			counts = append(counts, count{stamp: v})
		}
		counts[i].n++
	}
	best, n := "", 0
	for _, c := range counts {
		if c.n > n || c.n == n && c.stamp < best {
			best, n = c.stamp, c.n
		}
	}
	return best, true
}

// encode writes fields and clocks back to their text: keys sorted, values
// compact, as json.Marshal would, without its reflection and its
// re-validation of every json.RawMessage (push spent a good part of its
// time there). changed (sorted) names every field set or cleared since
// r.names was right; with r.names known, the keys are the two lists
// merged, those fields has, rather than its names sorted again. buf is
// scratch space, returned for reuse.
func (r *row) encode(buf []byte, changed []string) ([]byte, error) {
	var keys []string
	if r.names != nil {
		keys = make([]string, 0, len(r.names)+len(changed))
		i, j := 0, 0
		for i < len(r.names) || j < len(changed) {
			var k string
			switch {
			case j == len(changed) || i < len(r.names) && r.names[i] < changed[j]:
				k, i = r.names[i], i+1
			case i == len(r.names) || changed[j] < r.names[i]:
				k, j = changed[j], j+1
			default: // the same name in both
				k, i, j = r.names[i], i+1, j+1
			}
			if _, ok := r.fields[k]; ok {
				keys = append(keys, k)
			}
		}
	} else {
		keys = sortedNames(r.fields)
	}
	r.names = keys
	b, err := appendFields(buf[:0], keys, r.fields)
	if err != nil {
		return buf, fmt.Errorf("record %s: encode fields: %w", r.id, err)
	}
	r.fieldsText = string(b)
	b = appendClocksBase(b[:0], keys, r.fields, r.clocks, r.base, r.hasBase)
	r.clocksText = string(b)
	return b, nil
}

// encodeNew writes the text of a new row whose every field in names
// (sorted) carries the one stamp: fields from r.fields (a name it lacks,
// a field set to null, is left out), clocks for every name. The clocks map
// is not built; decode reads it from the text should a later mutation of
// the batch need it. buf is scratch space, returned for reuse.
func (r *row) encodeNew(buf []byte, names []string, stamp string) ([]byte, error) {
	b, err := appendFields(buf[:0], names, r.fields)
	if err != nil {
		return buf, fmt.Errorf("record %s: encode fields: %w", r.id, err)
	}
	r.fieldsText = string(b)
	// The base stamp (decodeOwnClocks) covers every field r.fields has; a
	// name it lacks, set to null, keeps its own key.
	quoted := appendJSONString(make([]byte, 0, len(stamp)+2), stamp)
	b = append(b[:0], '{')
	b = appendJSONString(b, baseClockKey)
	b = append(b, ':')
	b = append(b, quoted...)
	for _, k := range names {
		if _, ok := r.fields[k]; ok {
			continue
		}
		b = append(b, ',')
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = append(b, quoted...)
	}
	b = append(b, '}')
	r.clocksText = string(b)
	r.clocks = nil
	return b, nil
}

// appendFields appends the fields named in keys (sorted; names m lacks are
// skipped) as a compact JSON object. Each value must be valid JSON (the
// schema decoded it already); it is copied as it is unless it has
// insignificant space.
func appendFields(b []byte, keys []string, m map[string]json.RawMessage) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, k)
		b = append(b, ':')
		if len(v) > 0 && isCompact(v) {
			b = append(b, v...)
			continue
		}
		buf := bytes.NewBuffer(b)
		if err := json.Compact(buf, v); err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
		b = buf.Bytes()
	}
	return append(b, '}'), nil
}

// isCompact reports whether a JSON value has no space outside its strings,
// which json.Compact would remove. Spaces inside strings (most free text)
// are not insignificant and need no compaction. A value that begins and
// ends with a quote is one string (it is one JSON value), so it is compact
// without reading it: most fields are strings, and their bytes were most
// of what the push's encode read (decision 0128).
func isCompact(v []byte) bool {
	return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' || scanCompact(v)
}

// scanCompact is isCompact reading every byte of v.
func scanCompact(v []byte) bool {
	inString := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\r', '\n':
			return false
		}
	}
	return true
}

func (r *row) receipt() *schema.Receipt {
	return &schema.Receipt{Entity: r.entity, ID: r.id, Version: r.version,
		ReceivedAt: parseTime(r.receivedAt), UpdatedAt: parseTime(r.updatedAt)}
}

func (r *row) record() (schema.Record, error) {
	if err := r.decode(); err != nil {
		return schema.Record{}, err
	}
	return schema.Record{Entity: r.entity, ID: r.id, CaseID: r.caseID, Fields: r.fields, Version: r.version,
		ReceivedAt: parseTime(r.receivedAt), UpdatedAt: parseTime(r.updatedAt), DeviceTime: parseTime(r.deviceTime),
		CreatedBy: r.createdBy, UpdatedBy: r.updatedBy}, nil
}

// scopeFilter returns the SQL condition on a case_id column that limits
// reads to actor's scope, and its argument. Admins and auditors see all.
func scopeFilter(actor Actor, col string) (string, []any, error) {
	switch actor.Role {
	case schema.RoleAdmin, schema.RoleAuditor:
		return "1 = 1", nil, nil
	case schema.RoleOfficer:
		return col + " IN (SELECT case_id FROM case_scope WHERE officer_id = ?)", []any{actor.UserID}, nil
	case schema.RoleSupervisor:
		return col + " IN (SELECT case_id FROM case_scope WHERE team_id = ?)", []any{actor.TeamID}, nil
	}
	return "", nil, schema.Errorf(schema.ECodeForbidden, "", "role %q may not read records", actor.Role)
}

// caseScope is who may see one case.
type caseScope struct{ officerID, teamID string }

// allows reports whether actor's scope holds a case with scope s.
func (s caseScope) allows(actor Actor) bool {
	switch actor.Role {
	case schema.RoleAdmin, schema.RoleAuditor:
		return true
	case schema.RoleOfficer:
		return s.officerID == actor.UserID
	case schema.RoleSupervisor:
		return actor.TeamID != "" && s.teamID == actor.TeamID
	}
	return false
}

// Get returns one record the actor may see; not_found otherwise, so that
// records out of scope are indistinguishable from missing ones.
func (db *DB) Get(ctx context.Context, actor Actor, entity, id string) (schema.Record, error) {
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return schema.Record{}, err
	}
	r, err := scanRow(db.r.QueryRowContext(ctx, `SELECT `+recordCols+` FROM records WHERE id = ? AND entity = ? AND `+cond,
		append([]any{id, entity}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Record{}, schema.Errorf(schema.ECodeNotFound, "id", "no %s %q", entity, id)
	}
	if err != nil {
		return schema.Record{}, fmt.Errorf("get %s %s: %w", entity, id, err)
	}
	return r.record()
}

// ListOptions narrows List.
type ListOptions struct {
	// Limit caps the answer (0: no cap).
	Limit int
}

// List returns the records of entity the actor may see, of one case when
// caseID is set, oldest change first.
func (db *DB) List(ctx context.Context, actor Actor, entity, caseID string, opts ...ListOptions) ([]schema.Record, error) {
	if _, ok := schema.Entity(entity); !ok {
		return nil, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", entity)
	}
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + recordCols + ` FROM records WHERE entity = ? AND ` + cond
	args = append([]any{entity}, args...)
	if caseID != "" {
		q += ` AND case_id = ?`
		args = append(args, caseID)
	}
	q += ` ORDER BY seq`
	if len(opts) > 0 && opts[0].Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", opts[0].Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", entity, err)
	}
	defer rows.Close()
	out := []schema.Record{}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", entity, err)
		}
		rec, err := r.record()
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, rows.Err()
}

// CountRecords returns how many records of entity ("" for all) are stored.
func (db *DB) CountRecords(ctx context.Context, entity string) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE ? = '' OR entity = ?`, entity, entity).Scan(&n)
	return n, err
}

// MaxSeq returns the highest change number handed out so far.
func (db *DB) MaxSeq(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, `SELECT value FROM sequence WHERE id = 1`).Scan(&n)
	return n, err
}

// validateFull checks a full field set: required fields present and the
// entity's cross-field rules.
func validateFull(spec *schema.EntitySpec, id, caseID string, fields map[string]json.RawMessage) error {
	if err := spec.CheckCreate(fields); err != nil {
		return err
	}
	// Decoding a record just to learn it has no rules would cost every write.
	if spec.HasRules() {
		if err := spec.Validate(id, caseID, fields); err != nil {
			return err
		}
	}
	return nil
}

// prefixField puts prefix before the field an error names, so that a
// field inside a mutation reads "fields.rosh".
func prefixField(err error, prefix string) error {
	e := schema.AsError(err)
	if e == nil {
		return err
	}
	f := prefix
	if e.Field != "" {
		f = prefix + "." + e.Field
	}
	return &schema.Error{Code: e.Code, Field: f, Message: e.Message}
}

func isNullJSON(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) == 0 || string(t) == "null"
}

// stringField reads a string field of a field map ("" when absent or not
// a string).
func stringField(fields map[string]json.RawMessage, name string) string {
	var s string
	_ = json.Unmarshal(fields[name], &s)
	return s
}

func sortedNames(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// jsonIDList encodes ids as a JSON array for `IN (`+eng.idsIn()+`)` (SQLite:
// json_each), one round trip for a whole batch.
//
// An id holding a NUL is left out: no stored id holds one, and
// PostgreSQL's jsonb, which idsIn reads the list through, refuses the whole
// list for it (a push naming one failed every mutation of its batch).
func jsonIDList(ids []string) string {
	if slices.ContainsFunc(ids, func(id string) bool { return strings.IndexByte(id, 0) >= 0 }) {
		ids = slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return strings.IndexByte(id, 0) >= 0 })
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

// uniq returns the distinct non-empty strings of in.
func uniq(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// CheckNewID reports whether id may name a new record made by actor: nil
// when no record has it; a conflict error when actor can see the record
// that has it (a create sent again); not_found, as a GET of it answers,
// when that record is out of actor's scope, so that a create tells nothing
// of it (docs/decisions/0019-a-taken-id-out-of-scope.md).
func (db *DB) CheckNewID(ctx context.Context, actor Actor, id string) error {
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return err
	}
	var n, visible int
	err = db.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN `+cond+` THEN 1 ELSE 0 END), 0) FROM records WHERE id = ?`,
		append(args, id)...).Scan(&n, &visible)
	switch {
	case err != nil:
		return fmt.Errorf("check record id: %w", err)
	case visible > 0:
		return schema.Errorf(schema.ECodeConflict, "id", "a record with id %s already exists; PATCH it instead", id)
	case n > 0:
		return schema.Errorf(schema.ECodeNotFound, "id", "no record you can see has this id, and it cannot be used; leave id out and the server makes one")
	}
	return nil
}

// ListRaw returns every record of the given entities in actor's scope, in
// change order, with fields as stored JSON text: one query, no field maps,
// for reports that read a whole team's records (see server/compliance).
func (db *DB) ListRaw(ctx context.Context, actor Actor, entities []string) ([]schema.RawRecord, error) {
	if len(entities) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(entities)+1)
	marks := make([]string, len(entities))
	for i, e := range entities {
		if _, ok := schema.Entity(e); !ok {
			return nil, schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", e)
		}
		marks[i] = "?"
		args = append(args, e)
	}
	cond, scopeArgs, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, `SELECT entity, id, case_id, fields FROM records
		WHERE entity IN (`+strings.Join(marks, ", ")+`) AND `+cond+` ORDER BY seq`, append(args, scopeArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	out, err := scanRawRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return out, nil
}

// scanRawRecords reads rows of (entity, id, case_id, fields) and closes
// them.
func scanRawRecords(rows *sql.Rows) ([]schema.RawRecord, error) {
	defer rows.Close()
	var out []schema.RawRecord
	for rows.Next() {
		var r schema.RawRecord
		var fields string
		if err := rows.Scan(&r.Entity, &r.ID, &r.CaseID, &fields); err != nil {
			return nil, err
		}
		r.Fields = json.RawMessage(fields)
		out = append(out, r)
	}
	return out, rows.Err()
}
