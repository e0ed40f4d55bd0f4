package serverdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"doorstep/schema"
)

// Push applies a batch of mutations from a device, in order, in one
// transaction, and answers one result per mutation (docs/sync-protocol.md
// §6). A mutation that is refused is stored with its reason and changes
// nothing else; the rest of the batch goes on. The error is non-nil only
// when the batch as a whole failed, and then nothing was applied.
func (db *DB) Push(ctx context.Context, actor Actor, muts []schema.Mutation) ([]schema.MutationResult, error) {
	return db.PushAt(ctx, actor, muts, "")
}

// PushAt is Push for a device that says which pull cursor it had when it
// sent the batch. Records whose state the device then knows in full (it
// made the record, or it had pulled the previous change and its change
// applied whole) are marked as its echoes, and its pulls leave them out: a
// tablet does not download again the 10,000 visits it just uploaded. A bad
// or empty cursor just marks nothing.
func (db *DB) PushAt(ctx context.Context, actor Actor, muts []schema.Mutation, cursor string) ([]schema.MutationResult, error) {
	echoCursor, cerr := db.parseCursor(cursor)
	echo := cursor != "" && cerr == nil && actor.DeviceID != ""
	if len(muts) > schema.MaxPushMutations {
		return nil, schema.Errorf(schema.ECodeTooLarge, "mutations", "a push holds at most %d mutations, not %d", schema.MaxPushMutations, len(muts))
	}
	if len(muts) == 0 {
		// A push of nothing (a tablet's sync with an empty outbox)
		// answers nothing and makes no write transaction.
		return []schema.MutationResult{}, nil
	}
	muts = db.boundClocks(muts)
	fieldErrs := validateAll(muts)
	var results []schema.MutationResult
	err := db.update(ctx, func(t *wtx) error {
		a, err := db.newApplierAfter(t, actor, false, func(a *applier) error { return a.prefetch(muts) })
		if err != nil {
			return err
		}
		defer a.close()
		a.echo, a.echoCursor = echo, echoCursor
		if len(muts) >= 2*insertChunk {
			// Read the sequence now, so that nextSeq never queries while
			// chunks are queued.
			if err := t.readSeq(); err != nil {
				return err
			}
			a.ins.start() // a.close stops it
		}
		results = make([]schema.MutationResult, len(muts))
		for i, m := range muts {
			a.fieldErr = fieldErrs[i]
			if results[i], err = a.apply(m); err != nil {
				return fmt.Errorf("apply push batch: mutation %d (%s): %w", i, m.ID, err)
			}
			if err := a.flushFull(); err != nil {
				return fmt.Errorf("apply push batch: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// boundClocks lets the server's clock follow each mutation's stamp, in
// order, except a stamp more than schema.MaxClockAhead ahead of the
// server's wall clock: that mutation is applied with a stamp the server
// issues now, which keeps the device's node (so the write is still traced
// to its device) and orders after every stamp the server has seen, so a
// device's later mutations still order after its earlier ones. It returns
// muts, copied when a stamp changed.
func (db *DB) boundClocks(muts []schema.Mutation) []schema.Mutation {
	copied := false
	for i, m := range muts {
		switch {
		case m.Clock.IsZero():
		case m.Clock.AheadOf(db.now(), schema.MaxClockAhead):
			if !copied {
				muts, copied = append([]schema.Mutation(nil), muts...), true
			}
			now := db.clock.Now()
			muts[i].Clock = schema.HLC{Wall: now.Wall, Logical: now.Logical, Node: m.Clock.Node}
		default:
			db.clock.Observe(m.Clock)
		}
	}
	return muts
}

// Write changes (or, when id is new, creates) one record on behalf of a
// REST client: a mutation stamped by the server clock, through the same
// apply path as a push. A refused write changes nothing and returns the
// error; a signed record answers record_signed. An empty id creates a new
// record; an empty caseID means the record's own case.
func (db *DB) Write(ctx context.Context, actor Actor, entity, id, caseID string, fields map[string]json.RawMessage) (schema.Record, error) {
	if id == "" {
		id = schema.NewID()
		if entity == "case" && caseID == "" {
			caseID = id
		}
	}
	m := schema.Mutation{ID: schema.NewID(), Entity: entity, RecordID: id, CaseID: caseID, Fields: fields,
		Clock: db.clock.Now(), DeviceTime: db.now()}
	var rec schema.Record
	err := db.update(ctx, func(t *wtx) error {
		a, err := db.newApplier(t, actor, true)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.prefetch([]schema.Mutation{m}); err != nil {
			return err
		}
		res, err := a.apply(m)
		if err != nil {
			return fmt.Errorf("write %s %s: %w", entity, id, err)
		}
		if res.Status == schema.StatusRejected {
			return res.Error
		}
		r := a.records[id]
		if r == nil {
			return fmt.Errorf("write %s %s: record vanished", entity, id)
		}
		rec, err = r.record()
		return err
	})
	return rec, err
}

// applier applies mutations inside one write transaction. It reads what a
// batch needs in a few queries up front and keeps what it writes, so a
// batch of a thousand new records costs no reads, and collects the rows it
// inserts into multi-row INSERTs (batch.go), so it costs about fifty
// statements.
type applier struct {
	db    *DB
	t     *wtx
	actor Actor
	// rest: a REST write; refusals abort the transaction instead of being
	// stored, and a signed record is refused rather than turned into
	// conflict records.
	rest bool

	updRecord, touchRecord *sql.Stmt // see stmt

	// echo: the device pushing said its pull cursor, echoCursor. See PushAt.
	echo       bool
	echoCursor int64

	// Rows collected for multi-row INSERTs (batch.go). newRecords are
	// also in records, marked pending until written; changedRecords,
	// stored records this transaction changed, are marked dirty until
	// written (flushChanged).
	newRecords               []*row
	changedRecords           []*row
	recBuf, mutBuf, auditBuf *rowBuffer
	scopeBuf                 *rowBuffer // new cases' scopes (Seed)
	ins                      *inserter

	records  map[string]*row       // by id; nil value: known absent
	scopes   map[string]*caseScope // by case id; nil value: known absent
	seen     map[string]seenMutation
	authors  map[string]string // HLC node (device id) -> user id
	da       map[string]bool   // case id -> has a live domestic-abuse flag
	recordTS string
	buf      []byte // scratch for encoding rows
	// beyond: a stored stamp that sorts after this text is more than
	// schema.MaxClockAhead ahead of the server's clock.
	beyond string

	// fieldErr, when set, is the mutation's ValidateFields outcome, found
	// before the transaction (see validateAll).
	fieldErr *fieldCheck
	// stamped: the server wrote the caller into a field of the mutation
	// (schema.EntitySpec.StampPeople), so its sender does not know the
	// record's new state in full: not an echo.
	stamped bool
}

// fieldCheck is the outcome of spec.ValidateFields for one mutation.
type fieldCheck struct{ err error }

// validateAll runs the field checks of §6 step 2 that depend on nothing
// stored (types, enums, lengths, dates) for every mutation, before the
// write transaction: they were a sixth of the time a push held the one
// writer connection. A large batch is split over the CPUs. check still
// decides, in order, whether a mutation gets as far as this check.
func validateAll(muts []schema.Mutation) []*fieldCheck {
	out := make([]*fieldCheck, len(muts))
	checks := make([]fieldCheck, len(muts))
	one := func(i int) {
		m := muts[i]
		spec, ok := schema.Entity(m.Entity)
		if !ok || len(m.Fields) == 0 {
			return // check refuses it before looking at the fields
		}
		checks[i].err = spec.ValidateFields(m.Fields)
		out[i] = &checks[i]
	}
	const perWorker = 128
	workers := min(runtime.GOMAXPROCS(0), (len(muts)+perWorker-1)/perWorker)
	if workers <= 1 {
		for i := range muts {
			one(i)
		}
		return out
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(muts); i += workers {
				one(i)
			}
		})
	}
	wg.Wait()
	return out
}

// seenMutation is the stored outcome of a mutation id, and who sent it.
type seenMutation struct {
	status, errText, lostText, recordID string
	userID, deviceID                    string
}

func (db *DB) newApplier(t *wtx, actor Actor, rest bool) (*applier, error) {
	return db.newApplierAfter(t, actor, rest, nil)
}

// newApplierAfter is newApplier that runs first, before the chain's tail
// is read, a step that may read it itself (prefetch, on PostgreSQL).
func (db *DB) newApplierAfter(t *wtx, actor Actor, rest bool, first func(*applier) error) (*applier, error) {
	a := &applier{db: db, t: t, actor: actor, rest: rest,
		records: map[string]*row{}, scopes: map[string]*caseScope{}, seen: map[string]seenMutation{},
		authors: map[string]string{}, da: map[string]bool{},
		recBuf: newRowBuffer("records", recordCols), mutBuf: newRowBuffer("mutations", mutationCols),
		auditBuf: newRowBuffer("audit", auditCols), scopeBuf: newRowBuffer("case_scope", scopeCols), ins: &inserter{t: t},
		beyond: schema.HLC{Wall: db.now().Add(schema.MaxClockAhead).UnixMilli() + 1}.String()}
	if first != nil {
		if err := first(a); err != nil {
			return nil, err
		}
	}
	// The chain's tail now, before an inserter goroutine may be using the
	// transaction: auditEvent then hands out ids and hashes from memory.
	if err := t.loadAuditTail(); err != nil {
		return nil, err
	}
	// Whatever is still collected goes in before the commit.
	t.beforeCommit = append(t.beforeCommit, a.flush)
	return a, nil
}

// The statements that change a stored record, prepared at their first
// use in the transaction (a batch of new records uses neither). Changed
// records are written by flushChanged: on PostgreSQL many a statement
// (updateRecordsSQL), on SQLite with updRecordSQL.
const (
	updRecordSQL   = `UPDATE records SET fields = ?, clocks = ?, version = ?, seq = ?, updated_at = ?, updated_by = ?, signed = ?, echo_device = ? WHERE id = ?`
	touchRecordSQL = `UPDATE records SET seq = ?, echo_device = '' WHERE id = ?`
)

// stmt returns *s, preparing q into it at the first call.
func (a *applier) stmt(s **sql.Stmt, q string) (*sql.Stmt, error) {
	if *s == nil {
		p, err := a.t.PrepareContext(a.t.ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare apply statement: %w", err)
		}
		*s = p
	}
	return *s, nil
}

func (a *applier) close() {
	a.ins.close()
	for _, s := range []*sql.Stmt{a.updRecord, a.touchRecord} {
		if s != nil {
			s.Close()
		}
	}
	// The last flush (wtx.beforeCommit) may come after: it prepares
	// again what it needs, closed with the transaction.
	a.updRecord, a.touchRecord = nil, nil
}

// prefetch reads, in three queries, the stored mutations, records and case
// scopes the batch refers to. On PostgreSQL, where each query is a round
// trip, one statement reads them all, and the audit chain's tail and the
// sequence beside them (prefetchOne).
func (a *applier) prefetch(muts []schema.Mutation) error {
	mids := make([]string, 0, len(muts))
	rids := make([]string, 0, len(muts))
	cids := make([]string, 0, len(muts))
	for _, m := range muts {
		mids = append(mids, m.ID)
		rids = append(rids, m.RecordID)
		cids = append(cids, m.CaseID)
	}
	if a.t.eng.name() == "postgres" {
		return a.prefetchOne(uniq(mids), rids, cids)
	}
	return a.prefetchThree(uniq(mids), rids, cids)
}

// prefetchThree is prefetch's three queries: the mutations mids, the
// records rids and those of the mutations seen, the case scopes cids and
// those of the records.
func (a *applier) prefetchThree(mids, rids, cids []string) error {
	ctx := a.t.ctx
	rows, err := a.t.QueryContext(ctx, `SELECT mutation_id, status, error, lost, record_id, user_id, device_id FROM mutations
		WHERE mutation_id IN (`+a.t.eng.idsIn()+`)`, jsonIDList(mids))
	if err != nil {
		return fmt.Errorf("read mutations: %w", err)
	}
	for rows.Next() {
		var id string
		var s seenMutation
		if err := rows.Scan(&id, &s.status, &s.errText, &s.lostText, &s.recordID, &s.userID, &s.deviceID); err != nil {
			rows.Close()
			return fmt.Errorf("read mutations: %w", err)
		}
		a.seen[id] = s
		rids = append(rids, s.recordID)
	}
	rows.Close()

	if err := a.loadRecords(uniq(rids)); err != nil {
		return err
	}
	for _, r := range a.records {
		if r != nil {
			cids = append(cids, r.caseID)
		}
	}
	return a.loadScopes(uniq(cids))
}

// prefetchSQL is prefetch's one statement on PostgreSQL: the three reads
// of prefetch, each set of ids widened as there (a seen mutation's record,
// a record's case), in one result of rows tagged by their kind ('r' a
// record, 'm' a mutation, 's' a case scope) with the columns each scans,
// then one row 'a' of the audit chain's last id (-1: none) and hash and
// the sequence's value. The arguments: the mutation ids, the record ids,
// the case ids, each a JSON array.
var prefetchSQL = `WITH m AS (SELECT mutation_id, status, error, lost, record_id, user_id, device_id FROM mutations
		WHERE mutation_id IN (SELECT value FROM json_array_elements_text(?::json) AS ids (value))),
	r AS (SELECT ` + recordCols + ` FROM records
		WHERE id IN (SELECT value FROM json_array_elements_text(?::json) AS ids (value) UNION SELECT record_id FROM m)),
	s AS (SELECT case_id, officer_id, team_id FROM case_scope
		WHERE case_id IN (SELECT value FROM json_array_elements_text(?::json) AS ids (value) UNION SELECT case_id FROM r))
	SELECT 'r', ` + recordCols + ` FROM r
	UNION ALL SELECT 'm', mutation_id, status, error, lost, record_id, 0, 0, user_id, device_id, '', '', '', 0, '' FROM m
	UNION ALL SELECT 's', case_id, officer_id, team_id, '', '', 0, 0, '', '', '', '', '', 0, '' FROM s
	UNION ALL SELECT 'a', '', '', '', coalesce(t.hash, ''), '', coalesce(t.id, -1), q.value, '', '', '', '', '', 0, ''
		FROM sequence q LEFT JOIN (SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1) t ON true WHERE q.id = 1`

// prefetchOne is prefetch on PostgreSQL: one round trip where the three
// queries, the audit tail's and the sequence's were five (a push of 100
// changed drafts was 12 statements, 8 with it). What it leaves in
// a.seen, a.records and a.scopes is what the three queries leave: every id
// asked for is known, nil when absent. The audit tail and the sequence are
// taken only if the transaction has not read them yet; a trail whose last
// event has no hash is left to loadAuditTail.
func (a *applier) prefetchOne(mids, rids, cids []string) error {
	t := a.t
	rows, err := t.QueryContext(t.ctx, prefetchSQL, jsonIDList(mids), jsonIDList(uniq(rids)), jsonIDList(uniq(cids)))
	if err != nil {
		return fmt.Errorf("read mutations, records and case scopes: %w", err)
	}
	defer rows.Close()
	var tail struct {
		hash     string
		id, seq  int64
		haveTail bool
	}
	for rows.Next() {
		var kind string
		r := &row{}
		var signed int
		if err := rows.Scan(&kind, &r.entity, &r.id, &r.caseID, &r.fieldsText, &r.clocksText, &r.version, &r.seq,
			&r.receivedAt, &r.updatedAt, &r.deviceTime, &r.createdBy, &r.updatedBy, &signed, &r.echo); err != nil {
			return fmt.Errorf("read mutations, records and case scopes: %w", err)
		}
		switch kind {
		case "r":
			r.signed = signed == 1
			a.records[r.id] = r
		case "m":
			a.seen[r.entity] = seenMutation{status: r.id, errText: r.caseID, lostText: r.fieldsText, recordID: r.clocksText,
				userID: r.receivedAt, deviceID: r.updatedAt}
		case "s":
			a.scopes[r.entity] = &caseScope{officerID: r.id, teamID: r.caseID}
		case "a":
			tail.hash, tail.id, tail.seq, tail.haveTail = r.fieldsText, r.version, r.seq, true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read mutations, records and case scopes: %w", err)
	}
	for _, s := range a.seen {
		rids = append(rids, s.recordID)
	}
	for _, id := range rids {
		if _, ok := a.records[id]; !ok {
			a.records[id] = nil
		}
	}
	for _, r := range a.records {
		if r != nil {
			cids = append(cids, r.caseID)
		}
	}
	for _, id := range cids {
		if _, ok := a.scopes[id]; !ok {
			a.scopes[id] = nil
		}
	}
	if !tail.haveTail {
		return errors.New("read the sequence: no row")
	}
	if !t.seqRead {
		t.seq, t.seqRead = tail.seq, true
	}
	if !t.auditRead && (tail.id < 0 || tail.hash != "") {
		t.auditID, t.auditHash, t.auditRead = max(tail.id, 0), tail.hash, true
	}
	return nil
}

// loadRecords reads records by id. It needs no flush of collected rows:
// it is only asked for ids that are not in a.records, and every collected
// row is.
func (a *applier) loadRecords(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	rows, err := a.t.QueryContext(a.t.ctx, `SELECT `+recordCols+` FROM records WHERE id IN (`+a.t.eng.idsIn()+`)`, jsonIDList(ids))
	if err != nil {
		return fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	for _, id := range ids {
		a.records[id] = nil
	}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		a.records[r.id] = r
	}
	return rows.Err()
}

func (a *applier) loadScopes(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	rows, err := a.t.QueryContext(a.t.ctx, `SELECT case_id, officer_id, team_id FROM case_scope WHERE case_id IN (`+a.t.eng.idsIn()+`)`, jsonIDList(ids))
	if err != nil {
		return fmt.Errorf("read case scopes: %w", err)
	}
	defer rows.Close()
	for _, id := range ids {
		a.scopes[id] = nil
	}
	for rows.Next() {
		var id string
		s := &caseScope{}
		if err := rows.Scan(&id, &s.officerID, &s.teamID); err != nil {
			return fmt.Errorf("read case scopes: %w", err)
		}
		a.scopes[id] = s
	}
	return rows.Err()
}

// record returns the stored record id (nil when there is none), reading it
// if the prefetch did not.
func (a *applier) record(id string) (*row, error) {
	if r, ok := a.records[id]; ok {
		return r, nil
	}
	if err := a.loadRecords([]string{id}); err != nil {
		return nil, err
	}
	return a.records[id], nil
}

func (a *applier) scope(caseID string) (*caseScope, error) {
	if s, ok := a.scopes[caseID]; ok {
		return s, nil
	}
	if err := a.loadScopes([]string{caseID}); err != nil {
		return nil, err
	}
	return a.scopes[caseID], nil
}

// pendingConflict is a conflict record to write once the mutation is known
// to be accepted.
type pendingConflict struct {
	field, reason           string
	losing, winning         json.RawMessage
	losingClock, winClock   string
	losingAuthor, winAuthor string
	losingDevice            string
}

// apply decides one mutation. Refusals come back as a rejected result; the
// error is for failures of the store itself, which abort the batch.
func (a *applier) apply(m schema.Mutation) (schema.MutationResult, error) {
	res := schema.MutationResult{MutationID: m.ID}

	// 1. Seen before: repeat the first outcome, to its sender only.
	if s, ok := a.seen[m.ID]; ok {
		return a.duplicate(m, res, s)
	}
	if !schema.ValidID(m.ID) {
		// Without a usable id the refusal cannot be stored under it.
		res.Status = schema.StatusRejected
		res.Error = schema.Errorf(schema.ECodeInvalid, "id", "a mutation id must be a UUID, not %q", m.ID)
		return res, nil
	}
	if name := schema.NULMember(&m); name != "" {
		// Nor can a refusal holding a NUL: PostgreSQL's text has none
		// (decision 0048).
		res.Status = schema.StatusRejected
		res.Error = schema.Errorf(schema.ECodeInvalid, name, "%s holds a NUL character (\\u0000), which no text may hold", name)
		return res, nil
	}

	caseID, cerr := a.check(&m)
	if cerr != nil {
		return a.reject(m, res, cerr)
	}
	r, _ := a.record(m.RecordID)
	if r == nil {
		return a.create(m, res, caseID)
	}
	return a.change(m, res, r)
}

// duplicate answers a mutation id seen before (§6 step 1). A mutation id
// belongs to the user and device that first sent it: sent by anyone else it
// is refused, and the refusal tells nothing of the record or its outcome (it
// cannot be stored: the id is taken). The sender itself gets its first
// outcome again, and the record's receipt and current values only while the
// record's case is in its scope.
func (a *applier) duplicate(m schema.Mutation, res schema.MutationResult, s seenMutation) (schema.MutationResult, error) {
	if s.userID != a.actor.UserID || s.deviceID != a.actor.DeviceID {
		res.Status = schema.StatusRejected
		res.Error = schema.Errorf(schema.ECodeInvalid, "id", "this mutation id was sent before from another device; a change needs a new mutation id")
		return res, nil
	}
	res.Status = schema.StatusDuplicate
	res.Original = s.status
	if s.errText != "" {
		res.Error = &schema.Error{}
		_ = json.Unmarshal([]byte(s.errText), res.Error)
	}
	if s.lostText != "" {
		_ = json.Unmarshal([]byte(s.lostText), &res.Lost)
	}
	r, err := a.record(s.recordID)
	if err != nil || r == nil {
		return res, err
	}
	sc, err := a.scope(r.caseID)
	if err != nil {
		return res, err
	}
	if sc == nil || !sc.allows(a.actor) {
		return res, nil
	}
	res.Receipt = r.receipt()
	if s.status != schema.StatusRejected {
		return res, setCurrent(&res, r, m)
	}
	return res, nil
}

// check runs the checks that need no merge (§6 steps 2 and 3) and returns
// the case the record belongs to. It writes the caller into the fields
// that name who made the record or a decision of it (schema rule by).
func (a *applier) check(m *schema.Mutation) (string, error) {
	a.stamped = false
	spec, ok := schema.Entity(m.Entity)
	if !ok {
		return "", schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", m.Entity)
	}
	if !schema.ValidID(m.RecordID) {
		return "", schema.Errorf(schema.ECodeInvalid, "record_id", "record_id must be a UUID, not %q", m.RecordID)
	}
	if m.Clock.IsZero() {
		return "", schema.Errorf(schema.ECodeRequired, "clock", "a mutation needs a clock stamp")
	}
	if len(m.Fields) == 0 {
		return "", schema.Errorf(schema.ECodeRequired, "fields", "a mutation changes at least one field")
	}
	var ferr error
	if a.fieldErr != nil {
		ferr = a.fieldErr.err
	} else {
		ferr = spec.ValidateFields(m.Fields)
	}
	if ferr != nil {
		return "", prefixField(ferr, "fields")
	}
	// A date of birth in the future, from any writer in any time zone.
	if err := spec.CheckPast(m.Fields, schema.LatestToday(a.db.now())); err != nil {
		return "", prefixField(err, "fields")
	}
	r, err := a.record(m.RecordID)
	if err != nil {
		return "", err
	}
	creating := r == nil
	if !creating {
		// 3, for a stored record, before anything is said of it: a record
		// out of scope answers the same whatever its entity or case.
		s, err := a.scope(r.caseID)
		if err != nil {
			return "", err
		}
		if s == nil || !s.allows(a.actor) {
			return "", schema.Errorf(schema.ECodeOutOfScope, "record_id", "record %s is not in your caseload", m.RecordID)
		}
	}
	if !creating && r.entity != m.Entity {
		return "", schema.Errorf(schema.ECodeInvalid, "entity", "record %s is a %s, not a %s", m.RecordID, r.entity, m.Entity)
	}
	if err := spec.CheckWriter(a.actor.Role, m.Fields, creating); err != nil {
		return "", prefixFieldIfNamed(err)
	}
	if m.Fields, a.stamped, err = spec.StampPeople(a.actor.UserID, m.Fields, creating); err != nil {
		return "", prefixField(err, "fields")
	}
	if !creating && spec.Name == "conflict" {
		if err := a.checkResolved(r, m.Fields); err != nil {
			return "", err
		}
	}
	if creating && spec.Name == "conflict" {
		return "", schema.Errorf(schema.ECodeForbidden, "entity", "conflict records are created by the server only")
	}

	// 3. Scope.
	caseID := m.CaseID
	if !creating {
		if m.CaseID != "" && m.CaseID != r.caseID {
			return "", schema.Errorf(schema.ECodeInvalid, "case_id", "a record cannot move to another case (it belongs to %s)", r.caseID)
		}
		caseID = r.caseID
	}
	if creating && m.Entity == "case" {
		if caseID != m.RecordID {
			return "", schema.Errorf(schema.ECodeInvalid, "case_id", "a case's case_id is its own id")
		}
		s := caseScope{officerID: stringField(m.Fields, "officer_id"), teamID: stringField(m.Fields, "team_id")}
		if !s.allows(a.actor) {
			return "", schema.Errorf(schema.ECodeOutOfScope, "team_id", "you may only create cases in your own team")
		}
		return caseID, nil
	}
	if !schema.ValidID(caseID) {
		return "", schema.Errorf(schema.ECodeInvalid, "case_id", "case_id must be a UUID, not %q", caseID)
	}
	s, err := a.scope(caseID)
	if err != nil {
		return "", err
	}
	if s == nil || !s.allows(a.actor) {
		return "", schema.Errorf(schema.ECodeOutOfScope, "case_id", "case %s is not in your caseload", caseID)
	}
	return caseID, nil
}

// checkResolved refuses an officer's change to the resolution of a conflict
// already resolved: that is a decision taken (often the supervisor's, in
// the review queue), and only a supervisor or an admin changes it, as
// they do every decision field (schema rule admin).
func (a *applier) checkResolved(r *row, fields map[string]json.RawMessage) error {
	if a.actor.Role == schema.RoleSupervisor || a.actor.Role == schema.RoleAdmin {
		return nil
	}
	if err := r.decode(); err != nil {
		return err
	}
	if stringField(r.fields, "status") != "resolved" {
		return nil
	}
	for _, f := range []string{"status", "resolution", "resolved_by", "resolved_at"} {
		if v, ok := fields[f]; ok && !schema.SameJSON(v, r.fields[f]) {
			return schema.Errorf(schema.ECodeForbidden, "fields."+f, "this conflict is resolved already; only a supervisor or an admin may change its resolution")
		}
	}
	return nil
}

// prefixFieldIfNamed puts "fields." before a field name that is a record
// field (CheckWriter names "entity" or a field).
func prefixFieldIfNamed(err error) error {
	e := schema.AsError(err)
	if e == nil || e.Field == "" || e.Field == "entity" {
		return err
	}
	return prefixField(err, "fields")
}

// reject stores a refusal under the mutation id (a device's push) and
// answers it. For a REST write the caller aborts the transaction instead.
func (a *applier) reject(m schema.Mutation, res schema.MutationResult, err error) (schema.MutationResult, error) {
	e := schema.AsError(err)
	if e == nil {
		return res, err // the store failed, not the mutation
	}
	res.Status = schema.StatusRejected
	res.Error = e
	if a.rest {
		return res, nil
	}
	if err := a.logMutation(m, schema.StatusRejected, e, nil); err != nil {
		return res, err
	}
	if err := a.auditRefusal(m, e); err != nil {
		return res, err
	}
	if err := a.keepSetAside(m); err != nil { // review.go
		return res, err
	}
	// For a record the device may see, say what the server holds, so the
	// device shows that rather than the refused value (the refused change
	// stays listed, set aside, on the device). Nothing of a record out of
	// the user's scope is told.
	if r, _ := a.record(m.RecordID); r != nil {
		if sc, err := a.scope(r.caseID); err == nil && sc != nil && sc.allows(a.actor) {
			res.Receipt = r.receipt()
			return res, setCurrent(&res, r, m)
		}
	}
	return res, nil
}

func (a *applier) logMutation(m schema.Mutation, status string, e *schema.Error, lost []string) error {
	errText, lostText := "", ""
	if e != nil {
		b, _ := json.Marshal(e)
		errText = string(b)
	}
	if len(lost) > 0 {
		b, _ := json.Marshal(lost)
		lostText = string(b)
	}
	// The case of a stored record, except for a refusal of a record out of
	// the sender's scope: the set-aside queue shows it to the sender's
	// supervisor, who must not learn where another team's record is.
	caseID := m.CaseID
	if r := a.records[m.RecordID]; r != nil {
		if sc := a.scopes[r.caseID]; status != schema.StatusRejected || sc != nil && sc.allows(a.actor) {
			caseID = r.caseID
		}
	}
	a.mutBuf.add(m.ID, a.actor.DeviceID, a.actor.UserID, m.Entity, m.RecordID, caseID,
		status, errText, lostText, a.t.nowText, fmtTime(m.DeviceTime))
	// A second mutation with this id in the same batch finds it here (the
	// row itself may not be written yet).
	a.seen[m.ID] = seenMutation{status: status, errText: errText, lostText: lostText, recordID: m.RecordID,
		userID: a.actor.UserID, deviceID: a.actor.DeviceID}
	return nil
}

// auditRefusal records a pushed change refused as out of scope or
// forbidden (a decision field, a person's name) as a "refused" event of
// the record, naming the case the record is in (the investigator's trail
// may know it; the sender is told nothing of it).
func (a *applier) auditRefusal(m schema.Mutation, e *schema.Error) error {
	if e.Code != schema.ECodeOutOfScope && e.Code != schema.ECodeForbidden {
		return nil
	}
	r := &row{entity: m.Entity, id: m.RecordID, caseID: m.CaseID}
	if stored, _ := a.record(m.RecordID); stored != nil {
		r.caseID = stored.caseID
	}
	detail, _ := json.Marshal(map[string]string{"mutation_id": m.ID, "code": e.Code, "field": e.Field})
	return a.auditEvent("refused", r, string(detail))
}

func (a *applier) auditEvent(action string, r *row, detail string) error {
	e := auditRow{at: a.t.nowText, userID: a.actor.UserID, deviceID: a.actor.DeviceID, action: action,
		entity: r.entity, recordID: r.id, caseID: r.caseID, detail: detail}
	if err := a.t.chain(&e); err != nil {
		return err
	}
	a.auditBuf.add(e.args()...)
	return nil
}

// create makes a new record from a mutation (§6 step 4, and 7 when it is
// signed at birth).
func (a *applier) create(m schema.Mutation, res schema.MutationResult, caseID string) (schema.MutationResult, error) {
	spec, _ := schema.Entity(m.Entity)
	fields := make(map[string]json.RawMessage, len(m.Fields))
	for k, v := range m.Fields {
		if !isNullJSON(v) {
			fields[k] = v
		}
	}
	if err := validateFull(spec, m.RecordID, caseID, fields); err != nil {
		return a.reject(m, res, prefixField(err, "fields"))
	}
	signed := spec.IsSigned(fields)
	if signed && spec.Name == "visit" {
		if err := a.checkSigning(caseID, m.RecordID, fields); err != nil {
			return a.reject(m, res, err)
		}
	}
	if spec.Name == "amendment" {
		if err := a.checkAmends(caseID, stringField(fields, "visit_id")); err != nil {
			return a.reject(m, res, err)
		}
	}
	if spec.Name == "case" {
		if err := a.checkCaseOwner(fields); err != nil {
			return a.reject(m, res, err)
		}
	}
	// Every field the mutation names is stamped with its clock, a null one
	// too (the stamp is what makes a later, older write of it lose).
	r := &row{entity: m.Entity, id: m.RecordID, caseID: caseID, fields: fields, version: 1,
		receivedAt: a.t.nowText, updatedAt: a.t.nowText, deviceTime: fmtTime(m.DeviceTime),
		createdBy: a.actor.UserID, updatedBy: a.actor.UserID, signed: signed}
	if a.echo && !a.stamped {
		r.echo = a.actor.DeviceID // it made the record: it knows it whole
	}
	var err error
	if a.buf, err = r.encodeNew(a.buf, spec.SortedNames(m.Fields), m.Clock.String()); err != nil {
		return res, err
	}
	if err := a.insert(r); err != nil {
		return res, err
	}
	if spec.Name == "case" {
		if err := a.setCaseScope(r.id, caseScope{officerID: stringField(fields, "officer_id"), teamID: stringField(fields, "team_id")}); err != nil {
			return res, err
		}
	}
	action := "create"
	if signed {
		action = "create_signed"
	}
	if err := a.auditEvent(action, r, `{"mutation_id":"`+m.ID+`"}`); err != nil {
		return res, err
	}
	if signed {
		if err := a.recordSignature(m, r); err != nil {
			return res, err
		}
	}
	if err := a.logMutation(m, schema.StatusApplied, nil, nil); err != nil {
		return res, err
	}
	res.Status = schema.StatusApplied
	res.Receipt = r.receipt()
	return res, nil
}

// insert adds a new row with the next sequence number. The row is
// collected and written with others (batch.go); until then it is pending.
func (a *applier) insert(r *row) error {
	seq, err := a.t.nextSeq()
	if err != nil {
		return err
	}
	r.seq = seq
	r.pending = true
	a.newRecords = append(a.newRecords, r)
	a.records[r.id] = r
	a.t.created(r)
	return nil
}

// created notes a record t created (wtx.newIDs), and a case record
// (wtx.newCases).
func (t *wtx) created(r *row) {
	r.rmLoud = true
	if t.newIDs == nil {
		t.newIDs = map[string]bool{}
	}
	t.newIDs[r.id] = true
	t.wrote(r)
	if r.entity != "case" {
		return
	}
	if t.newCases == nil {
		t.newCases = map[string]bool{}
	}
	t.newCases[r.id] = true
}

// change applies a mutation to an existing record (§6 steps 5 to 7).
func (a *applier) change(m schema.Mutation, res schema.MutationResult, r *row) (schema.MutationResult, error) {
	spec, _ := schema.Entity(m.Entity)
	if err := r.decode(); err != nil {
		return res, err
	}
	stamp := m.Clock.String()
	names := spec.SortedNames(m.Fields)

	// 5. A signed record never changes: every differing value is kept as a
	// conflict the officer can turn into an amendment.
	if r.signed {
		if a.rest {
			return a.reject(m, res, schema.Errorf(schema.ECodeSigned, "id", "%s %s is signed and cannot be changed; add an amendment", r.entity, r.id))
		}
		var conflicts []pendingConflict
		var lost []string
		for _, f := range names {
			if schema.SameJSON(r.fields[f], m.Fields[f]) {
				continue
			}
			lost = append(lost, f)
			conflicts = append(conflicts, pendingConflict{field: f, reason: "record_signed",
				losing: m.Fields[f], losingClock: stamp, losingAuthor: a.actor.UserID, losingDevice: a.actor.DeviceID,
				winning: r.fields[f], winClock: r.clock(f)})
		}
		if err := a.writeConflicts(m, r, conflicts); err != nil {
			return res, err
		}
		status := schema.StatusApplied
		if len(lost) > 0 {
			status = schema.StatusConflict
			if err := a.touch(r); err != nil {
				return res, err
			}
		}
		if err := a.logMutation(m, status, nil, lost); err != nil {
			return res, err
		}
		res.Status, res.Lost, res.Receipt = status, lost, r.receipt()
		if status == schema.StatusConflict {
			return res, setCurrent(&res, r, m)
		}
		return res, nil
	}

	// 6 and 7. Per field, last writer wins; a signature wins regardless.
	signing := spec.IsSigned(m.Fields)
	if signing && spec.Name == "visit" {
		// 7. What is signed is what the officer saw: the whole field set,
		// never a merge with values the signer did not send.
		if err := schema.CheckSigningFields(m.Fields); err != nil {
			return a.reject(m, res, err)
		}
	}
	var oldScope caseScope
	if spec.Name == "case" {
		oldScope = caseScope{officerID: stringField(r.fields, "officer_id"), teamID: stringField(r.fields, "team_id")}
	}
	// The merge changes the record's maps in place; a change refused
	// below puts them back (undoMerge) before it is stored as refused.
	mg := r.merge(m.Fields, names, stamp, a.beyond, signing, a.actor)
	merged, conflicts, lost, applied := r.fields, mg.conflicts, mg.lost, mg.applied
	refuse := func(err error) (schema.MutationResult, error) {
		undoMerge(r.fields, r.clocks, mg)
		return a.reject(m, res, err)
	}

	if applied > 0 {
		if err := validateFull(spec, r.id, r.caseID, merged); err != nil {
			return refuse(prefixField(err, "fields"))
		}
		if signing && spec.Name == "visit" {
			if err := a.checkSigning(r.caseID, r.id, merged); err != nil {
				return refuse(err)
			}
		}
		var newScope caseScope
		scopeChanged := false
		if spec.Name == "case" {
			newScope = caseScope{officerID: stringField(merged, "officer_id"), teamID: stringField(merged, "team_id")}
			if newScope != oldScope {
				if err := a.checkCaseOwner(merged); err != nil {
					return refuse(err)
				}
				scopeChanged = true
			}
		}
		seq, err := a.t.nextSeq()
		if err != nil {
			return res, err
		}
		// The device knows the record's new state in full when its change
		// applied whole and it knew the state before: it had pulled it
		// (seq within its cursor) or made it.
		if len(lost) == 0 && a.echo && !a.stamped && (r.echo == a.actor.DeviceID || r.seq <= a.echoCursor) {
			r.echo = a.actor.DeviceID
		} else {
			r.echo = ""
		}
		if a.buf, err = r.encode(a.buf, names); err != nil {
			return res, err
		}
		r.rmLoud = r.rmLoud || slices.ContainsFunc(names, func(f string) bool { return rmReadsField(r.entity, f) })
		a.t.wrote(r)
		r.version++
		r.seq = seq
		r.updatedAt, r.updatedBy = a.t.nowText, a.actor.UserID
		r.signed = spec.IsSigned(merged)
		// A row created earlier in the batch and not yet written goes in
		// as it is now; there is nothing to update. A stored row is
		// collected once, and written as it is at the flush (with every
		// later change of the batch), many rows a statement.
		if !r.pending && !r.dirty {
			r.dirty = true
			a.changedRecords = append(a.changedRecords, r)
		}
		if scopeChanged {
			if err := a.setCaseScope(r.id, newScope); err != nil {
				return res, err
			}
		}
		action := "update"
		if r.signed && signing {
			action = "sign"
		}
		var scratch [512]byte
		if err := a.auditEvent(action, r, string(changeDetail(scratch[:0], m.ID, names, r.version))); err != nil {
			return res, err
		}
		if r.signed && signing {
			if err := a.recordSignature(m, r); err != nil {
				return res, err
			}
		}
	}
	if err := a.writeConflicts(m, r, conflicts); err != nil {
		return res, err
	}
	status := schema.StatusApplied
	if len(lost) > 0 {
		status = schema.StatusConflict
		if applied == 0 {
			if err := a.touch(r); err != nil {
				return res, err
			}
		}
	}
	if err := a.logMutation(m, status, nil, lost); err != nil {
		return res, err
	}
	res.Status, res.Lost, res.Receipt = status, lost, r.receipt()
	if status == schema.StatusConflict {
		return res, setCurrent(&res, r, m)
	}
	return res, nil
}

// changeDetail appends the audit detail of a change: the bytes
// json.Marshal gives for map[string]any{"mutation_id": id, "fields": names,
// "version": version} (its keys sorted, its strings escaped alike by
// appendJSONString), without its reflection and sort, for every change
// a push applies.
func changeDetail(b []byte, id string, names []string, version int64) []byte {
	b = append(b, `{"fields":`...)
	if names == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, n := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, n)
		}
		b = append(b, ']')
	}
	b = append(b, `,"mutation_id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, version, 10)
	return append(b, '}')
}

// currentOf returns the record's values of the fields m sets (null for a
// field the record does not have), for MutationResult.Current.
func currentOf(r *row, m schema.Mutation) (map[string]json.RawMessage, error) {
	if err := r.decode(); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(m.Fields))
	for f := range m.Fields {
		if v, ok := r.fields[f]; ok {
			out[f] = v
		} else {
			out[f] = json.RawMessage("null")
		}
	}
	return out, nil
}

func setCurrent(res *schema.MutationResult, r *row, m schema.Mutation) error {
	cur, err := currentOf(r, m)
	res.Current = cur
	return err
}

// touch gives a record that did not change a new sequence number. A device
// whose change lost still shows its own value; the record must come back in
// its next pull so that it takes the winning one (protocol §7).
func (a *applier) touch(r *row) error {
	seq, err := a.t.nextSeq()
	if err != nil {
		return err
	}
	r.seq, r.echo = seq, ""
	if r.pending || r.dirty {
		return nil // written with its new number by the next flush
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	touch, err := a.stmt(&a.touchRecord, touchRecordSQL)
	if err != nil {
		return err
	}
	if _, err := touch.ExecContext(a.t.ctx, seq, r.id); err != nil {
		return fmt.Errorf("touch %s %s: %w", r.entity, r.id, err)
	}
	return nil
}

// checkSigning runs the signing rules over the full visit about to be
// signed. domesticAbuse comes from the case's live flags.
func (a *applier) checkSigning(caseID, id string, fields map[string]json.RawMessage) error {
	var v schema.Visit
	if err := (schema.Record{Entity: "visit", ID: id, CaseID: caseID, Fields: fields}).Decode(&v); err != nil {
		return schema.Errorf(schema.ECodeMalformed, "fields", "the visit does not decode: %v", err)
	}
	da, err := a.domesticAbuse(caseID)
	if err != nil {
		return err
	}
	// A signature is a legal attestation: nobody signs in another's name
	// (signed_by is the signer's by schema rule by, see check).
	return prefixField(v.ValidateForSigning(da), "fields")
}

// checkAmends holds a new amendment of case caseID to schema.CheckAmends:
// the visit it amends is one the writer can see, of the same case, and
// signed. A visit out of the writer's scope is answered as a missing one.
func (a *applier) checkAmends(caseID, visitID string) error {
	v, err := a.record(visitID)
	if err != nil {
		return err
	}
	found := v != nil && v.entity == "visit"
	if found {
		s, err := a.scope(v.caseID)
		if err != nil {
			return err
		}
		found = s != nil && s.allows(a.actor)
	}
	var visitCase string
	var signed bool
	if found {
		visitCase, signed = v.caseID, v.signed
	}
	return prefixField(schema.CheckAmends(caseID, visitID, found, visitCase, signed), "fields")
}

func (a *applier) domesticAbuse(caseID string) (bool, error) {
	if v, ok := a.da[caseID]; ok {
		return v, nil
	}
	// A flag created earlier in the batch must be in the table to count.
	if err := a.flushRecords(); err != nil {
		return false, err
	}
	if err := a.ins.wait(); err != nil {
		return false, err
	}
	rows, err := a.t.QueryContext(a.t.ctx, `SELECT id, fields FROM records WHERE case_id = ? AND entity = 'flag'`, caseID)
	if err != nil {
		return false, fmt.Errorf("read flags: %w", err)
	}
	defer rows.Close()
	da := false
	for rows.Next() {
		var id, text string
		if err := rows.Scan(&id, &text); err != nil {
			return false, fmt.Errorf("read flags: %w", err)
		}
		var f schema.Flag
		if json.Unmarshal([]byte(text), &f) == nil && f.IsDomesticAbuse() {
			da = true
		}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	// Not cached: a flag written later in the same batch must count.
	return da, nil
}

// checkCaseOwner checks that a case's officer and team exist and agree, so
// that scope (officer's caseload, supervisor's team) stays meaningful.
func (a *applier) checkCaseOwner(fields map[string]json.RawMessage) error {
	officerID, teamID := stringField(fields, "officer_id"), stringField(fields, "team_id")
	if err := a.ins.wait(); err != nil {
		return err
	}
	var role, team string
	err := a.t.QueryRowContext(a.t.ctx, `SELECT role, coalesce(team_id, '') FROM users WHERE id = ?`, officerID).Scan(&role, &team)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Errorf(schema.ECodeInvalid, "fields.officer_id", "there is no user %q", officerID)
	}
	if err != nil {
		return fmt.Errorf("read officer: %w", err)
	}
	if role != string(schema.RoleOfficer) && role != string(schema.RoleSupervisor) {
		return schema.Errorf(schema.ECodeInvalid, "fields.officer_id", "user %s is an %s; a case is allocated to an officer or supervisor", officerID, role)
	}
	if team != teamID {
		return schema.Errorf(schema.ECodeInvalid, "fields.team_id", "the officer is in team %s, not %s", team, teamID)
	}
	if a.actor.Role == schema.RoleSupervisor && teamID != a.actor.TeamID {
		return schema.Errorf(schema.ECodeOutOfScope, "fields.team_id", "a supervisor may allocate cases within their own team only")
	}
	return nil
}

// setCaseScope keeps case_scope in step with a case's officer and team and,
// when they change, numbers a revoke for each user who loses the case and a
// grant for each who gains it, so their next pull removes or sends it.
func (a *applier) setCaseScope(caseID string, s caseScope) error {
	// case_scope refers to the case's row by foreign key.
	if err := a.flushRecords(); err != nil {
		return err
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	return setCaseScope(a.t, a.scopes, caseID, s)
}

func setCaseScope(t *wtx, cache map[string]*caseScope, caseID string, s caseScope) error {
	ctx := t.ctx
	old, ok := cache[caseID]
	if !ok {
		old = &caseScope{}
		err := t.QueryRowContext(ctx, `SELECT officer_id, team_id FROM case_scope WHERE case_id = ?`, caseID).Scan(&old.officerID, &old.teamID)
		if errors.Is(err, sql.ErrNoRows) {
			old = nil
		} else if err != nil {
			return fmt.Errorf("read case scope: %w", err)
		}
	}
	ns := s
	cache[caseID] = &ns
	if old == nil {
		_, err := t.ExecContext(ctx, `INSERT INTO case_scope (case_id, officer_id, team_id) VALUES (?, ?, ?)`, caseID, s.officerID, s.teamID)
		if err != nil {
			return fmt.Errorf("insert case scope: %w", err)
		}
		return nil
	}
	if *old == s {
		return nil
	}
	if _, err := t.ExecContext(ctx, `UPDATE case_scope SET officer_id = ?, team_id = ? WHERE case_id = ?`, s.officerID, s.teamID, caseID); err != nil {
		return fmt.Errorf("update case scope: %w", err)
	}
	var revoke, grant []string
	if old.officerID != s.officerID {
		revoke = append(revoke, old.officerID)
		grant = append(grant, s.officerID)
	}
	if old.teamID != s.teamID {
		sup := func(team string) ([]string, error) {
			rows, err := t.QueryContext(ctx, `SELECT id FROM users WHERE team_id = ? AND role = 'supervisor'`, team)
			if err != nil {
				return nil, fmt.Errorf("read supervisors: %w", err)
			}
			defer rows.Close()
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return nil, err
				}
				ids = append(ids, id)
			}
			return ids, rows.Err()
		}
		olds, err := sup(old.teamID)
		if err != nil {
			return err
		}
		news, err := sup(s.teamID)
		if err != nil {
			return err
		}
		revoke = append(revoke, olds...)
		grant = append(grant, news...)
	}
	event := func(user, kind string) error {
		if user == "" {
			return nil
		}
		seq, err := t.nextSeq()
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `INSERT INTO scope_events (seq, user_id, case_id, kind, at) VALUES (?, ?, ?, ?, ?)`, seq, user, caseID, kind, t.nowText)
		if err != nil {
			return fmt.Errorf("write scope event: %w", err)
		}
		return nil
	}
	// Revokes first, then grants: a user who both loses and gains the case
	// (a supervisor who is also its new officer) ends on a grant.
	for _, u := range revoke {
		if err := event(u, "revoke"); err != nil {
			return err
		}
	}
	for _, u := range grant {
		if err := event(u, "grant"); err != nil {
			return err
		}
	}
	return nil
}

// writeConflicts stores each losing (or overwritten) value as a conflict
// record of the same case, so it is pulled by the officer's tablet and
// seen by the supervisor.
func (a *applier) writeConflicts(m schema.Mutation, r *row, cs []pendingConflict) error {
	if len(cs) == 0 {
		return nil
	}
	stamp := a.db.clock.Now().String()
	for _, c := range cs {
		if c.winAuthor == "" {
			c.winAuthor = a.authorOf(c.winClock, r.updatedBy)
		}
		if c.losingAuthor == "" {
			c.losingAuthor = a.authorOf(c.losingClock, r.updatedBy)
		}
		if c.losingDevice == "" {
			c.losingDevice = clockNode(c.losingClock)
		}
		conf := schema.Conflict{RecordEntity: r.entity, RecordID: r.id, Field: c.field, Reason: c.reason,
			LosingValue: jsonText(c.losing), LosingClock: c.losingClock, LosingAuthor: c.losingAuthor, LosingDevice: c.losingDevice,
			MutationID: m.ID, WinningValue: jsonText(c.winning), WinningClock: c.winClock, WinningAuthor: c.winAuthor, Status: "open"}
		fields := schema.FieldsOf(conf)
		cr := &row{entity: "conflict", id: schema.NewID(), caseID: r.caseID, fields: fields, version: 1,
			receivedAt: a.t.nowText, updatedAt: a.t.nowText, createdBy: a.actor.UserID, updatedBy: a.actor.UserID}
		var err error
		if a.buf, err = cr.encodeNew(a.buf, sortedNames(fields), stamp); err != nil {
			return err
		}
		if err := a.insert(cr); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"mutation_id": m.ID, "record_id": r.id, "field": c.field, "reason": c.reason})
		if err := a.auditEvent("conflict", cr, string(detail)); err != nil {
			return err
		}
	}
	return nil
}

// authorOf finds the user behind a stamp: its node is a device id (or
// "server"); fallback when it cannot tell.
func (a *applier) authorOf(stamp, fallback string) string {
	node := clockNode(stamp)
	if node == "" || node == "server" {
		return fallback
	}
	if u, ok := a.authors[node]; ok {
		return u
	}
	// A failed insert is kept and fails the batch at its last flush.
	_ = a.ins.wait()
	var u string
	if err := a.t.QueryRowContext(a.t.ctx, `SELECT user_id FROM devices WHERE id = ?`, node).Scan(&u); err != nil {
		u = fallback
	}
	a.authors[node] = u
	return u
}

func clockNode(stamp string) string {
	h, err := schema.ParseHLC(stamp)
	if err != nil {
		return ""
	}
	return h.Node
}

func jsonText(v json.RawMessage) string {
	if isNullJSON(v) {
		return "null"
	}
	return string(v)
}
