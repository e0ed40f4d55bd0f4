package serverdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"doorstep/schema"
)

// The audit trail is a hash chain (docs/security.md, "An audit nobody can
// quietly edit"; docs/decisions/0024-the-audit-chain.md). Every
// event is appended by the one writer connection in the transaction of
// the change it records; it takes the next id and carries the hash of the
// event before it, so an event changed, deleted or inserted behind the
// store's back breaks the chain at that event, and VerifyAudit names it.

// auditRow is one event as stored: the columns its hash covers.
type auditRow struct {
	id       int64
	at       string
	userID   string
	deviceID string
	action   string
	entity   string
	recordID string
	caseID   string
	detail   string
	prevHash string
	hash     string
}

// chainHash returns the event's hash: the lowercase hex SHA-256 of its
// canonical encoding, which is each of these, in this order, as a
// netstring (the length in bytes as a decimal, ':', the bytes, ','):
// "doorstep-audit-1", the id as a decimal, at, user_id, device_id, action,
// entity, record_id, case_id, detail, prev_hash, each as the text stored
// in the column. A netstring says where each field ends, so no two events
// encode alike; the detail is hashed as the JSON text stored, never
// re-encoded.
func chainHash(e *auditRow) string {
	h := sha256.New()
	var b []byte
	for _, f := range [...]string{"doorstep-audit-1", strconv.FormatInt(e.id, 10), e.at, e.userID, e.deviceID,
		e.action, e.entity, e.recordID, e.caseID, e.detail, e.prevHash} {
		b = strconv.AppendInt(b[:0], int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ',')
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// loadAuditTail reads, once per transaction, the last event's id and hash,
// which the next event follows. A trail whose last event has no hash (all
// written before the chain) gets the hash the chain would have had through
// its events, as VerifyAudit computes it.
func (t *wtx) loadAuditTail() error {
	if t.auditRead {
		return nil
	}
	err := t.QueryRowContext(t.ctx, `SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&t.auditID, &t.auditHash)
	switch {
	case err == sql.ErrNoRows:
		t.auditID, t.auditHash = 0, ""
	case err != nil:
		return fmt.Errorf("read the audit trail's last event: %w", err)
	case t.auditHash == "":
		w := chainWalk{}
		err := walkAudit(t.ctx, t.Tx, 0, func(e *auditRow) error { w.step(e); return nil })
		if err != nil {
			return fmt.Errorf("hash the audit events before the chain: %w", err)
		}
		t.auditHash = w.head
	}
	t.auditRead = true
	return nil
}

// chain gives e the next id, the previous event's hash and its own.
func (t *wtx) chain(e *auditRow) error {
	if err := t.loadAuditTail(); err != nil {
		return err
	}
	t.auditID++
	e.id, e.prevHash = t.auditID, t.auditHash
	e.hash = chainHash(e)
	t.auditHash = e.hash
	return nil
}

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
	e := auditRow{at: t.nowText, userID: actor.UserID, deviceID: actor.DeviceID, action: action, entity: entity,
		recordID: recordID, caseID: caseID, detail: string(d)}
	if err := t.chain(&e); err != nil {
		return err
	}
	_, err := t.ExecContext(t.ctx, `INSERT INTO audit (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.args()...)
	if err != nil {
		return fmt.Errorf("write audit: %w", err)
	}
	return nil
}

// args are the event's values in the order of auditCols.
func (e *auditRow) args() []any {
	return []any{e.id, e.at, e.userID, e.deviceID, e.action, e.entity, e.recordID, e.caseID, e.detail, e.prevHash, e.hash}
}

// Audit appends one event that records no change of its own: a read of a
// case's data, a sign-in or its failure, a refused request. It is a write
// transaction of its own, so the event is in the chain before the answer
// leaves.
func (db *DB) Audit(ctx context.Context, actor Actor, action, entity, recordID, caseID string, detail any) error {
	return db.update(ctx, func(t *wtx) error {
		return t.audit(actor, action, entity, recordID, caseID, detail)
	})
}

// AuditRead records that a supervisor, an admin or an auditor read a
// case's data (an officer's reads of their own caseload are what their
// work is, and are not recorded): one event, action "read", naming the
// case (and the record, when one was asked for by id). Officers' reads
// record nothing.
func (db *DB) AuditRead(ctx context.Context, actor Actor, what, entity, recordID, caseID string, params map[string]string) error {
	if actor.Role == schema.RoleOfficer {
		return nil
	}
	if params == nil {
		params = map[string]string{}
	}
	return db.Audit(ctx, actor, "read", entity, recordID, caseID, map[string]any{"view": what, "params": params, "scope": scopeOf(actor)})
}

// scopeOf names the cases the actor can see, for an audit event of a
// view: the caller's role and team.
func scopeOf(a Actor) map[string]string {
	s := map[string]string{"role": string(a.Role)}
	if a.Role == schema.RoleSupervisor || a.Role == schema.RoleOfficer {
		s["team_id"] = a.TeamID
	}
	return s
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
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

func (e *auditRow) event() AuditEvent {
	return AuditEvent{ID: e.id, At: e.at, UserID: e.userID, DeviceID: e.deviceID, Action: e.action, Entity: e.entity,
		RecordID: e.recordID, CaseID: e.caseID, Detail: json.RawMessage(e.detail), PrevHash: e.prevHash, Hash: e.hash}
}

// AuditCount returns how many audit events there are.
func (db *DB) AuditCount(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM audit`).Scan(&n)
	return n, err
}

// AuditChangeCount returns how many audit events record a change: every
// event but those of reads, views, refusals, sign-ins (dashboard sessions,
// failures and the waits they bring) and queries of the trail. A refused
// request changes nothing but leaves its trace: tests that check "nothing
// changed" count these.
func (db *DB) AuditChangeCount(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE action NOT IN
		('read', 'view', 'refused', 'sign_in', 'sign_in_failed', 'sign_in_locked', 'sign_in_throttled', 'audit_query')`).Scan(&n)
	return n, err
}

// AuditFor returns the audit events of one record, oldest first.
func (db *DB) AuditFor(ctx context.Context, recordID string) ([]AuditEvent, error) {
	return db.readAudit(ctx, "record_id", recordID)
}

// readAudit returns the events whose column equals value, oldest first.
func (db *DB) readAudit(ctx context.Context, column, value string) ([]AuditEvent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE `+column+` = ? ORDER BY id`, value)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	return scanAudit(rows)
}

func scanAudit(rows *sql.Rows) ([]AuditEvent, error) {
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e auditRow
		if err := e.scan(rows); err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		out = append(out, e.event())
	}
	return out, rows.Err()
}

func (e *auditRow) scan(rows *sql.Rows) error {
	return rows.Scan(&e.id, &e.at, &e.userID, &e.deviceID, &e.action, &e.entity, &e.recordID, &e.caseID, &e.detail, &e.prevHash, &e.hash)
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

// AuditView records that actor viewed case data through a view (what:
// "compliance/first-home-visits", "dashboard/case", ...), with the
// request's parameters, as one event, action "view", entity "case". A
// view of one case names it (case_id), so the case's trail finds it. A
// view of more records the query, not the cases: detail {"view": what,
// "params": {...}, "scope": {"role", "team_id"}, "case_count": n}, the
// params holding the filters and the period asked for (a national view
// would otherwise write megabytes per event).
func (db *DB) AuditView(ctx context.Context, actor Actor, what string, caseIDs []string, params map[string]string) error {
	if params == nil {
		params = map[string]string{}
	}
	detail := map[string]any{"view": what, "params": params, "scope": scopeOf(actor), "case_count": len(caseIDs)}
	caseID := ""
	if len(caseIDs) == 1 {
		caseID = caseIDs[0]
	}
	return db.Audit(ctx, actor, "view", "case", "", caseID, detail)
}

// AuditByAction returns the audit events of one action, oldest first.
func (db *DB) AuditByAction(ctx context.Context, action string) ([]AuditEvent, error) {
	return db.readAudit(ctx, "action", action)
}

// AuditFilter selects events of the trail for an investigator: each
// filter given must hold. UserID selects what the person did and what was
// done to their account (entity "user"); DeviceID what was done from the
// device and to it (entity "device"). From and To bound the period (To excluded);
// AfterID pages (events after that id); Limit caps the page (0: 1,000).
type AuditFilter struct {
	UserID   string
	CaseID   string
	DeviceID string
	From, To time.Time
	AfterID  int64
	Limit    int
}

// MaxAuditPage is the most events one page of AuditTrail holds.
const MaxAuditPage = 1000

// AuditTrail returns the events f selects, oldest first. Only the
// investigator's API calls it; the caller checks the role and audits the
// query.
func (db *DB) AuditTrail(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	q := `SELECT ` + auditCols + ` FROM audit WHERE id > ?`
	args := []any{f.AfterID}
	// A person's events are what they did and what was done to their
	// account; a device's, what was done from it and to it. Each is the
	// union of two index searches (written so, SQLite uses the indexes
	// rather than reading the whole trail in id order).
	if f.UserID != "" {
		q += ` AND id IN (SELECT id FROM audit WHERE user_id = ? AND id > ?
			UNION ALL SELECT id FROM audit WHERE entity = 'user' AND record_id = ? AND id > ?)`
		args = append(args, f.UserID, f.AfterID, f.UserID, f.AfterID)
	}
	if f.DeviceID != "" {
		q += ` AND id IN (SELECT id FROM audit WHERE device_id = ? AND device_id <> '' AND id > ?
			UNION ALL SELECT id FROM audit WHERE entity = 'device' AND record_id = ? AND id > ?)`
		args = append(args, f.DeviceID, f.AfterID, f.DeviceID, f.AfterID)
	}
	if f.CaseID != "" {
		q += ` AND case_id = ?`
		args = append(args, f.CaseID)
	}
	if !f.From.IsZero() {
		q += ` AND at >= ?`
		args = append(args, fmtTime(f.From))
	}
	if !f.To.IsZero() {
		q += ` AND at < ?`
		args = append(args, fmtTime(f.To))
	}
	if f.Limit <= 0 || f.Limit > MaxAuditPage {
		f.Limit = MaxAuditPage
	}
	q += ` ORDER BY id LIMIT ?`
	args = append(args, f.Limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	return scanAudit(rows)
}

// AuditBreak is the first event at which the chain breaks.
type AuditBreak struct {
	ID     int64  // the event at fault
	Reason string // what is wrong with it, for a person
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Events   int         // events read
	Before   int         // of them, written before the chain (no hash of their own)
	LastID   int64       // the last event's id (0: none)
	LastHash string      // the chain's head: the hash through the last event
	Broken   *AuditBreak // nil when the chain holds
}

// VerifyAudit walks the whole trail in id order in one snapshot,
// recomputing each event's hash, and stops at the first event that breaks
// the chain: one changed (its hash no longer matches), one after a
// deleted event (an id skipped), one whose prev_hash is not the hash of
// the event before it (an event before it changed and rehashed, or one
// inserted), or one without a hash after the chain began (inserted behind
// the store's back). Events from before the chain are covered by the
// prev_hash of the first event after them. Deleting events at the end
// leaves no gap: compare LastID and LastHash with a head recorded earlier
// (docs/operations.md).
func (db *DB) VerifyAudit(ctx context.Context) (AuditReport, error) {
	w := chainWalk{}
	err := db.view(ctx, func(tx *sql.Tx) error {
		return walkAudit(ctx, tx, 0, func(e *auditRow) error {
			w.step(e)
			if w.broken != nil {
				return errChainBroken
			}
			return nil
		})
	})
	if err != nil && err != errChainBroken {
		return AuditReport{}, fmt.Errorf("verify the audit trail: %w", err)
	}
	return AuditReport{Events: w.events, Before: w.before, LastID: w.lastID, LastHash: w.head, Broken: w.broken}, nil
}

var errChainBroken = fmt.Errorf("the audit chain is broken")

// querier is a transaction of either pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// walkAudit calls fn with each event after afterID, in id order.
func walkAudit(ctx context.Context, q querier, afterID int64, fn func(e *auditRow) error) error {
	rows, err := q.QueryContext(ctx, `SELECT `+auditCols+` FROM audit WHERE id > ? ORDER BY id`, afterID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e auditRow
		if err := e.scan(rows); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// chainWalk follows the chain event by event: head is the hash through
// the last event stepped, broken the first break found.
type chainWalk struct {
	head    string
	lastID  int64
	chained bool // an event with a hash of its own has been seen
	events  int
	before  int
	broken  *AuditBreak
}

func (w *chainWalk) step(e *auditRow) {
	w.events++
	defer func() { w.lastID = e.id }()
	if e.hash == "" {
		if w.chained && w.broken == nil {
			w.broken = &AuditBreak{ID: e.id, Reason: fmt.Sprintf("event #%d has no hash, though the events before it have: it was inserted behind Doorstep's back, or its hash was removed", e.id)}
		}
		if !w.chained {
			w.before++
		}
		e.prevHash = w.head
		w.head = chainHash(e)
		return
	}
	if w.broken == nil {
		w.broken = w.check(e)
	}
	w.chained = true
	w.head = e.hash
}

// check returns what breaks the chain at e, if anything.
func (w *chainWalk) check(e *auditRow) *AuditBreak {
	switch {
	case w.chained && e.id == w.lastID+2:
		return &AuditBreak{ID: e.id, Reason: fmt.Sprintf("event #%d follows #%d: event #%d is missing (deleted)", e.id, w.lastID, w.lastID+1)}
	case w.chained && e.id > w.lastID+2:
		return &AuditBreak{ID: e.id, Reason: fmt.Sprintf("event #%d follows #%d: events #%d to #%d are missing (deleted)", e.id, w.lastID, w.lastID+1, e.id-1)}
	case e.prevHash != w.head:
		before := "the events before it"
		if w.lastID > 0 {
			before = fmt.Sprintf("event #%d", w.lastID)
		}
		return &AuditBreak{ID: e.id, Reason: fmt.Sprintf("event #%d does not follow %s: its prev_hash is not the hash of %s (an event was changed and rehashed, inserted or deleted before it)", e.id, before, before)}
	case chainHash(e) != e.hash:
		return &AuditBreak{ID: e.id, Reason: fmt.Sprintf("event #%d does not match its hash: it was changed after it was written", e.id)}
	}
	return nil
}
