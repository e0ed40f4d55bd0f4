package serverdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"doorstep/schema"
)

// The supervisors' review queue (docs/review.md): the sync conflicts and
// set-aside (rejected) mutations of a team, with both versions and both
// authors, resolved with a recorded decision; and the signed visits and
// safety assessments awaiting a manager's oversight. Every decision is one
// write transaction: the records it writes go through the apply path (so
// they get a sequence number, a version and an audit event, and tablets
// pull them), plus one audit event naming the decision.

// Review decisions.
const (
	// A conflict: the server's value stands, or the losing value is
	// written again now, by the reviewer, and wins.
	ConflictKeepServer  = "keep_server"
	ConflictApplyLosing = "apply_losing"
	// A set-aside mutation: left as it is, or its attempted fields written
	// now, by the reviewer.
	SetAsideDismissed = "dismissed"
	SetAsideApplied   = "applied"
)

// Review queue kinds (ReviewFilter.Kind).
const (
	KindConflict   = "conflict"
	KindSetAside   = "set_aside"
	KindVisit      = "visit"
	KindAssessment = "safety_assessment"
)

// maxReason bounds a reviewer's reason, so that "decision: reason" fits a
// conflict's resolution (2000 characters).
const maxReason = 1900

// requireReviewer admits supervisors and admins: they decide. Auditors may
// read the queue but decide nothing; officers neither.
func requireReviewer(actor Actor) error {
	if actor.Role != schema.RoleSupervisor && actor.Role != schema.RoleAdmin {
		return schema.Errorf(schema.ECodeForbidden, "", "only a supervisor or an admin may review")
	}
	return nil
}

func requireQueueReader(actor Actor) error {
	switch actor.Role {
	case schema.RoleSupervisor, schema.RoleAdmin, schema.RoleAuditor:
		return nil
	}
	return schema.Errorf(schema.ECodeForbidden, "", "only a supervisor, an admin or an auditor may see the review queue")
}

// Author is who wrote a value: the user, the device, and when (the device's
// clock, from the value's HLC stamp or the mutation's device time).
type Author struct {
	UserID   string `json:"user_id"`
	UserName string `json:"user_name,omitempty"`
	DeviceID string `json:"device_id,omitempty"`
	At       string `json:"at,omitempty"`
	Clock    string `json:"clock,omitempty"`
}

// Version is one side of a conflict: a value (JSON) and its author.
type Version struct {
	Value  json.RawMessage `json:"value"`
	Author Author          `json:"author"`
}

// ConflictItem is an open conflict in the queue.
type ConflictItem struct {
	ID           string `json:"id"`
	CaseID       string `json:"case_id"`
	CRN          string `json:"crn"`
	OfficerID    string `json:"officer_id"`
	RecordEntity string `json:"record_entity"`
	RecordID     string `json:"record_id"`
	Field        string `json:"field"`
	Reason       string `json:"reason"`
	MutationID   string `json:"mutation_id"`
	// Losing is the change that lost; Winning the value it lost to.
	Losing  Version `json:"losing"`
	Winning Version `json:"winning"`
	// Current is the record's value of the field now (it may have changed
	// again since), and Signed whether the record is signed.
	Current    json.RawMessage `json:"current"`
	Signed     bool            `json:"signed"`
	RecordedAt string          `json:"recorded_at"`
	Status     string          `json:"status"`
}

// SetAsideItem is a rejected mutation in the queue.
type SetAsideItem struct {
	MutationID string `json:"mutation_id"`
	Entity     string `json:"entity"`
	RecordID   string `json:"record_id"`
	CaseID     string `json:"case_id"`
	// CRN and OfficerID are the case's, when the case is in the reader's
	// scope ("" otherwise: a case of another team stays unnamed).
	CRN       string        `json:"crn"`
	OfficerID string        `json:"officer_id"`
	Error     *schema.Error `json:"error"`
	// Attempted is what the mutation tried to write (null when it was
	// rejected before the server kept attempted values); Author who sent
	// it, from which device, at which device time.
	Attempted  map[string]json.RawMessage `json:"attempted"`
	Author     Author                     `json:"author"`
	ReceivedAt string                     `json:"received_at"`
	// Current holds the server's values of the attempted fields (null for
	// one the record lacks) when the record exists and is in scope.
	Current        map[string]json.RawMessage `json:"current"`
	CurrentVersion int64                      `json:"current_version,omitempty"`
	Decision       string                     `json:"decision"`
	Reason         string                     `json:"reason,omitempty"`
	DecidedBy      string                     `json:"decided_by,omitempty"`
	DecidedAt      string                     `json:"decided_at,omitempty"`
}

// VisitReviewItem is a signed visit no manager has reviewed yet.
type VisitReviewItem struct {
	ID         string `json:"id"`
	CaseID     string `json:"case_id"`
	CRN        string `json:"crn"`
	OfficerID  string `json:"officer_id"`
	Type       string `json:"type"`
	Outcome    string `json:"outcome"`
	StartedAt  string `json:"started_at"`
	SignedAt   string `json:"signed_at"`
	SignedBy   string `json:"signed_by"`
	ReceivedAt string `json:"received_at"`
	// Warnings are what the server's check of the signed visit found
	// (SignedVisitWarnings: a child of the household list unaccounted
	// for), each naming the field and the child; absent when none.
	Warnings []schema.Error `json:"warnings,omitempty"`
}

// AssessmentReviewItem is a safety assessment with no decision yet
// (decision empty, pending or referred).
type AssessmentReviewItem struct {
	ID         string `json:"id"`
	CaseID     string `json:"case_id"`
	CRN        string `json:"crn"`
	OfficerID  string `json:"officer_id"`
	Address    string `json:"address"`
	Dogs       string `json:"dogs"`
	Weapons    string `json:"weapons"`
	AssessedOn string `json:"assessed_on"`
	AssessedBy string `json:"assessed_by"`
	Decision   string `json:"decision"`
}

// ReviewQueue is what awaits a reviewer, oldest first in each list.
type ReviewQueue struct {
	Conflicts   []ConflictItem         `json:"conflicts"`
	SetAside    []SetAsideItem         `json:"set_aside"`
	Visits      []VisitReviewItem      `json:"visits"`
	Assessments []AssessmentReviewItem `json:"assessments"`
}

// CaseIDs returns the distinct cases the queue shows, for the audit event.
func (q ReviewQueue) CaseIDs() []string {
	var ids []string
	for _, c := range q.Conflicts {
		ids = append(ids, c.CaseID)
	}
	for _, s := range q.SetAside {
		if s.CRN != "" { // a case out of scope is not shown, only its id
			ids = append(ids, s.CaseID)
		}
	}
	for _, v := range q.Visits {
		ids = append(ids, v.CaseID)
	}
	for _, a := range q.Assessments {
		ids = append(ids, a.CaseID)
	}
	out := uniq(ids)
	if out == nil {
		out = []string{}
	}
	return out
}

// ReviewFilter narrows the queue.
type ReviewFilter struct {
	// OfficerID keeps the items of one officer: the case's officer, and for
	// a set-aside mutation the officer who sent it.
	OfficerID string
	// Kind keeps one list: KindConflict, KindSetAside, KindVisit or
	// KindAssessment ("" for all).
	Kind string
}

// Validate checks the filter's kind.
func (f ReviewFilter) Validate() error {
	switch f.Kind {
	case "", KindConflict, KindSetAside, KindVisit, KindAssessment:
		return nil
	}
	return schema.Errorf(schema.ECodeInvalid, "kind", "kind must be conflict, set_aside, visit or safety_assessment, not %q", f.Kind)
}

// reviewCase is a case as the queue names it.
type reviewCase struct{ crn, officerID, teamID string }

// ReviewQueue returns what awaits review in the actor's scope: a
// supervisor's team (the cases of the team; for set-aside mutations, those
// sent by the team's users), or everything for an admin or auditor. It does
// not audit: the caller records the view (AuditView) with q.CaseIDs().
func (db *DB) ReviewQueue(ctx context.Context, actor Actor, f ReviewFilter) (ReviewQueue, error) {
	q := ReviewQueue{Conflicts: []ConflictItem{}, SetAside: []SetAsideItem{}, Visits: []VisitReviewItem{}, Assessments: []AssessmentReviewItem{}}
	if err := requireQueueReader(actor); err != nil {
		return q, err
	}
	if err := f.Validate(); err != nil {
		return q, err
	}
	want := func(kind string) bool { return f.Kind == "" || f.Kind == kind }
	err := db.view(ctx, func(tx *sql.Tx) error {
		cases, err := scopeCases(ctx, tx, actor)
		if err != nil {
			return err
		}
		names, err := userNames(ctx, tx)
		if err != nil {
			return err
		}
		inFilter := func(caseID string) bool {
			c, ok := cases[caseID]
			return ok && (f.OfficerID == "" || c.officerID == f.OfficerID)
		}
		if want(KindConflict) {
			if q.Conflicts, err = openConflicts(ctx, tx, actor, cases, names, inFilter); err != nil {
				return err
			}
		}
		if want(KindSetAside) {
			if q.SetAside, err = openSetAside(ctx, tx, actor, cases, names, f.OfficerID); err != nil {
				return err
			}
		}
		if want(KindVisit) {
			if q.Visits, err = visitsToReview(ctx, tx, actor, cases, inFilter); err != nil {
				return err
			}
		}
		if want(KindAssessment) {
			if q.Assessments, err = assessmentsToReview(ctx, tx, actor, cases, inFilter); err != nil {
				return err
			}
		}
		return nil
	})
	return q, err
}

// scopeCases returns the cases in actor's scope by id.
func scopeCases(ctx context.Context, tx *sql.Tx, actor Actor) (map[string]reviewCase, error) {
	cond, args, err := scopeFilter(actor, "r.id")
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.fields, s.officer_id, s.team_id FROM records r
		JOIN case_scope s ON s.case_id = r.id WHERE r.entity = 'case' AND `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	defer rows.Close()
	out := map[string]reviewCase{}
	for rows.Next() {
		var id, fields string
		var c reviewCase
		if err := rows.Scan(&id, &fields, &c.officerID, &c.teamID); err != nil {
			return nil, fmt.Errorf("read cases: %w", err)
		}
		var cs struct {
			CRN string `json:"crn"`
		}
		_ = json.Unmarshal([]byte(fields), &cs)
		c.crn = cs.CRN
		out[id] = c
	}
	return out, rows.Err()
}

func userNames(ctx context.Context, tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name FROM users`)
	if err != nil {
		return nil, fmt.Errorf("read users: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("read users: %w", err)
		}
		out[id] = name
	}
	return out, rows.Err()
}

// scopedRows reads the records of entity in actor's scope, oldest change
// first, with an extra SQL condition.
func scopedRows(ctx context.Context, tx *sql.Tx, actor Actor, entity, extra string) ([]*row, error) {
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + recordCols + ` FROM records WHERE entity = ? AND ` + cond
	if extra != "" {
		q += " AND " + extra
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY seq`, append([]any{entity}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", entity, err)
	}
	defer rows.Close()
	var out []*row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", entity, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recordsByID reads records by id, whatever their scope (callers check).
func recordsByID(ctx context.Context, tx *sql.Tx, ids []string) (map[string]*row, error) {
	out := map[string]*row{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+recordCols+` FROM records WHERE id IN (SELECT value FROM json_each(?))`, jsonIDList(uniq(ids)))
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("read records: %w", err)
		}
		out[r.id] = r
	}
	return out, rows.Err()
}

// authorAt is the device time of an HLC stamp ("" when it is not one).
func authorAt(stamp string) string {
	h, err := schema.ParseHLC(stamp)
	if err != nil || h.Wall == 0 {
		return ""
	}
	return fmtTime(h.Time())
}

func openConflicts(ctx context.Context, tx *sql.Tx, actor Actor, cases map[string]reviewCase, names map[string]string,
	inFilter func(string) bool) ([]ConflictItem, error) {
	rows, err := scopedRows(ctx, tx, actor, "conflict", "")
	if err != nil {
		return nil, err
	}
	out := []ConflictItem{}
	var conflicts []schema.Conflict
	var kept []*row
	var targets []string
	for _, r := range rows {
		if !inFilter(r.caseID) {
			continue
		}
		var c schema.Conflict
		if err := json.Unmarshal([]byte(r.fieldsText), &c); err != nil {
			return nil, fmt.Errorf("conflict %s: %w", r.id, err)
		}
		if c.Status != "" && c.Status != "open" {
			continue
		}
		conflicts, kept = append(conflicts, c), append(kept, r)
		targets = append(targets, c.RecordID)
	}
	recs, err := recordsByID(ctx, tx, targets)
	if err != nil {
		return nil, err
	}
	for i, c := range conflicts {
		r := kept[i]
		item := ConflictItem{ID: r.id, CaseID: r.caseID, CRN: cases[r.caseID].crn, OfficerID: cases[r.caseID].officerID,
			RecordEntity: c.RecordEntity, RecordID: c.RecordID, Field: c.Field, Reason: c.Reason, MutationID: c.MutationID,
			Losing: Version{Value: rawOrNull(c.LosingValue), Author: Author{UserID: c.LosingAuthor, UserName: names[c.LosingAuthor],
				DeviceID: c.LosingDevice, Clock: c.LosingClock, At: authorAt(c.LosingClock)}},
			Winning: Version{Value: rawOrNull(c.WinningValue), Author: Author{UserID: c.WinningAuthor, UserName: names[c.WinningAuthor],
				DeviceID: clockNode(c.WinningClock), Clock: c.WinningClock, At: authorAt(c.WinningClock)}},
			Current: json.RawMessage("null"), RecordedAt: r.receivedAt, Status: "open"}
		if t := recs[c.RecordID]; t != nil {
			if err := t.decode(); err != nil {
				return nil, err
			}
			if v, ok := t.fields[c.Field]; ok {
				item.Current = v
			}
			item.Signed = t.signed
		}
		out = append(out, item)
	}
	return out, nil
}

// rawOrNull turns stored JSON text into a value ("" and bad text: null).
func rawOrNull(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

// setAsideScope is the SQL condition (on mutations m) for the rejected
// mutations in actor's scope: a supervisor's are those sent by the users of
// their team; an admin's or auditor's all.
func setAsideScope(actor Actor) (string, []any) {
	if actor.Role == schema.RoleSupervisor {
		return "m.user_id IN (SELECT id FROM users WHERE team_id = ?)", []any{actor.TeamID}
	}
	return "1 = 1", nil
}

const setAsideCols = `m.mutation_id, m.device_id, m.user_id, m.entity, m.record_id, m.case_id, m.error, m.received_at, m.device_time,
	coalesce(s.fields, ''), coalesce(s.clock, ''), coalesce(s.decision, ''), coalesce(s.reason, ''), coalesce(s.decided_by, ''), coalesce(s.decided_at, '')`

func scanSetAside(sc interface{ Scan(...any) error }) (SetAsideItem, string, error) {
	var it SetAsideItem
	var errText, fields, clock string
	err := sc.Scan(&it.MutationID, &it.Author.DeviceID, &it.Author.UserID, &it.Entity, &it.RecordID, &it.CaseID, &errText,
		&it.ReceivedAt, &it.Author.At, &fields, &clock, &it.Decision, &it.Reason, &it.DecidedBy, &it.DecidedAt)
	if err != nil {
		return it, "", err
	}
	it.Author.Clock = clock
	if errText != "" {
		it.Error = &schema.Error{}
		_ = json.Unmarshal([]byte(errText), it.Error)
	}
	if fields != "" {
		_ = json.Unmarshal([]byte(fields), &it.Attempted)
	}
	return it, fields, nil
}

func openSetAside(ctx context.Context, tx *sql.Tx, actor Actor, cases map[string]reviewCase, names map[string]string, officerID string) ([]SetAsideItem, error) {
	cond, args := setAsideScope(actor)
	q := `SELECT ` + setAsideCols + ` FROM mutations m LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id
		WHERE m.status = 'rejected' AND coalesce(s.decision, '') = '' AND ` + cond
	if officerID != "" {
		q += ` AND m.user_id = ?`
		args = append(args, officerID)
	}
	rows, err := tx.QueryContext(ctx, q+` ORDER BY m.received_at, m.mutation_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read set-aside mutations: %w", err)
	}
	out := []SetAsideItem{}
	var ids []string
	for rows.Next() {
		it, _, err := scanSetAside(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("read set-aside mutations: %w", err)
		}
		it.Author.UserName = names[it.Author.UserID]
		out = append(out, it)
		ids = append(ids, it.RecordID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	recs, err := recordsByID(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if err := fillSetAside(&out[i], cases, recs[out[i].RecordID]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillSetAside names the case and gives the server's current values, when
// the case is in the reader's scope (cases).
func fillSetAside(it *SetAsideItem, cases map[string]reviewCase, r *row) error {
	caseID := it.CaseID
	if r != nil {
		caseID = r.caseID
	}
	c, ok := cases[caseID]
	if !ok {
		return nil
	}
	it.CaseID, it.CRN, it.OfficerID = caseID, c.crn, c.officerID
	if r == nil {
		return nil
	}
	if err := r.decode(); err != nil {
		return err
	}
	it.CurrentVersion = r.version
	it.Current = map[string]json.RawMessage{}
	for f := range it.Attempted {
		if v, ok := r.fields[f]; ok {
			it.Current[f] = v
		} else {
			it.Current[f] = json.RawMessage("null")
		}
	}
	return nil
}

// oversightSubjects returns the subject ids of the oversight records in
// scope.
func oversightSubjects(ctx context.Context, tx *sql.Tx, actor Actor) (map[string]bool, error) {
	rows, err := scopedRows(ctx, tx, actor, "oversight", "")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, r := range rows {
		var o schema.Oversight
		if json.Unmarshal([]byte(r.fieldsText), &o) == nil {
			out[o.SubjectID] = true
		}
	}
	return out, nil
}

func visitsToReview(ctx context.Context, tx *sql.Tx, actor Actor, cases map[string]reviewCase, inFilter func(string) bool) ([]VisitReviewItem, error) {
	reviewed, err := oversightSubjects(ctx, tx, actor)
	if err != nil {
		return nil, err
	}
	// The queue shows five of a visit's fields: SQLite takes them out of
	// the JSON (json_extract), rather than every record's fields and
	// clocks coming over to be decoded whole.
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, case_id, received_at, json_valid(fields), json_extract(fields, '$.type'), json_extract(fields, '$.outcome'),
		json_extract(fields, '$.started_at'), json_extract(fields, '$.signed_at'), json_extract(fields, '$.signed_by')
		FROM records WHERE entity = 'visit' AND signed = 1 AND `+cond+` ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("read visit: %w", err)
	}
	defer rows.Close()
	out := []VisitReviewItem{}
	for rows.Next() {
		var it VisitReviewItem
		var valid bool
		var vals [5]any
		if err := rows.Scan(&it.ID, &it.CaseID, &it.ReceivedAt, &valid, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4]); err != nil {
			return nil, fmt.Errorf("read visit: %w", err)
		}
		if reviewed[it.ID] || !inFilter(it.CaseID) {
			continue
		}
		if !valid {
			return nil, fmt.Errorf("visit %s: fields are not JSON", it.ID)
		}
		// A field that is not a string (null, absent) is "", as decoding
		// into schema.Visit gives; a number or boolean is refused, as
		// decoding refused it (push validation keeps these fields strings).
		for i, dst := range []*string{&it.Type, &it.Outcome, &it.StartedAt, &it.SignedAt, &it.SignedBy} {
			switch v := vals[i].(type) {
			case nil:
			case string:
				*dst = v
			default:
				return nil, fmt.Errorf("visit %s: a field is %T, not a string", it.ID, v)
			}
		}
		it.CRN, it.OfficerID = cases[it.CaseID].crn, cases[it.CaseID].officerID
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := visitWarnings(ctx, tx, out); err != nil {
		return nil, err
	}
	return out, nil
}

func assessmentsToReview(ctx context.Context, tx *sql.Tx, actor Actor, cases map[string]reviewCase, inFilter func(string) bool) ([]AssessmentReviewItem, error) {
	rows, err := scopedRows(ctx, tx, actor, "safety_assessment", "")
	if err != nil {
		return nil, err
	}
	out := []AssessmentReviewItem{}
	for _, r := range rows {
		if !inFilter(r.caseID) {
			continue
		}
		var a schema.SafetyAssessment
		if err := json.Unmarshal([]byte(r.fieldsText), &a); err != nil {
			return nil, fmt.Errorf("safety assessment %s: %w", r.id, err)
		}
		switch a.Decision {
		case "", "pending", "referred":
		default:
			continue
		}
		out = append(out, AssessmentReviewItem{ID: r.id, CaseID: r.caseID, CRN: cases[r.caseID].crn, OfficerID: cases[r.caseID].officerID,
			Address: a.Address, Dogs: a.Dogs, Weapons: a.Weapons, AssessedOn: string(a.AssessedOn), AssessedBy: a.AssessedBy, Decision: a.Decision})
	}
	return out, nil
}

// keepSetAside stores what a rejected mutation tried to write, in the push
// transaction that rejects it, for the review queue.
func (a *applier) keepSetAside(m schema.Mutation) error {
	fields := ""
	if b, err := json.Marshal(m.Fields); err == nil {
		fields = string(b)
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	if _, err := a.t.ExecContext(a.t.ctx, `INSERT INTO set_aside (mutation_id, fields, clock) VALUES (?, ?, ?)
		ON CONFLICT (mutation_id) DO NOTHING`, m.ID, fields, m.Clock.String()); err != nil {
		return fmt.Errorf("keep set-aside mutation: %w", err)
	}
	return nil
}

// reviewWrites runs a reviewer's record writes through the apply path (as
// REST writes: a refusal aborts everything) in one transaction, with fn's
// own statements. fn gets a write function; each write is stamped by the
// server clock and audited by the apply path.
func (db *DB) reviewWrites(ctx context.Context, actor Actor, fn func(t *wtx, write func(entity, id, caseID string, fields map[string]json.RawMessage) (*row, error)) error) error {
	return db.update(ctx, func(t *wtx) error {
		a, err := db.newApplier(t, actor, true)
		if err != nil {
			return err
		}
		defer a.close()
		write := func(entity, id, caseID string, fields map[string]json.RawMessage) (*row, error) {
			m := schema.Mutation{ID: schema.NewID(), Entity: entity, RecordID: id, CaseID: caseID, Fields: fields,
				Clock: db.clock.Now(), DeviceTime: db.now()}
			if _, known := a.records[id]; !known {
				if err := a.loadRecords([]string{id}); err != nil {
					return nil, err
				}
			}
			if err := a.loadScopes(uniq([]string{caseID})); err != nil {
				return nil, err
			}
			res, err := a.apply(m)
			if err != nil {
				return nil, fmt.Errorf("write %s %s: %w", entity, id, err)
			}
			if res.Status == schema.StatusRejected {
				return nil, res.Error
			}
			// Written now, so that the audit trail reads in order: the
			// writes, then the decision.
			if err := a.flush(); err != nil {
				return nil, err
			}
			r := a.records[id]
			if r == nil {
				return nil, fmt.Errorf("write %s %s: record vanished", entity, id)
			}
			return r, nil
		}
		return fn(t, write)
	})
}

// readScoped reads one record of entity by id inside a write transaction,
// when it is in actor's scope; not_found (naming field) otherwise, so that
// another team's records are indistinguishable from missing ones.
func readScoped(t *wtx, actor Actor, entity, id, field string) (*row, error) {
	notFound := schema.Errorf(schema.ECodeNotFound, field, "no %s %q", entity, id)
	if !schema.ValidID(id) {
		return nil, notFound
	}
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	r, err := scanRow(t.QueryRowContext(t.ctx, `SELECT `+recordCols+` FROM records WHERE id = ? AND entity = ? AND `+cond,
		append([]any{id, entity}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", entity, id, err)
	}
	return r, nil
}

func checkReason(reason string, required bool, why string) (string, error) {
	reason = strings.TrimSpace(reason)
	if required && reason == "" {
		return "", schema.Errorf(schema.ECodeRequired, "reason", "reason is required %s", why)
	}
	if len(reason) > maxReason {
		return "", schema.Errorf(schema.ECodeInvalid, "reason", "reason must be at most %d characters", maxReason)
	}
	return reason, nil
}

// ConflictDecision is a reviewer's decision on a conflict.
type ConflictDecision struct {
	// Decision is ConflictKeepServer or ConflictApplyLosing.
	Decision string `json:"decision"`
	// Reason says why; required.
	Reason string `json:"reason"`
}

// ResolveConflict records a reviewer's decision on an open conflict of
// their scope: the conflict record gets status resolved, a resolution
// ("keep_server: <reason>" or "apply_losing: <reason>"), resolved_by and
// resolved_at; with ConflictApplyLosing the losing value is also written
// to its record, now, by the reviewer (refused, with nothing changed, when
// the record is signed: amend it instead). One transaction, audited
// ("resolve_conflict"). A conflict out of scope is not_found; one already
// resolved is a conflict error. It returns the conflict record.
func (db *DB) ResolveConflict(ctx context.Context, actor Actor, conflictID string, d ConflictDecision) (schema.Record, error) {
	if err := requireReviewer(actor); err != nil {
		return schema.Record{}, err
	}
	if d.Decision != ConflictKeepServer && d.Decision != ConflictApplyLosing {
		return schema.Record{}, schema.Errorf(schema.ECodeInvalid, "decision", "decision must be keep_server or apply_losing, not %q", d.Decision)
	}
	reason, err := checkReason(d.Reason, true, "to resolve a conflict")
	if err != nil {
		return schema.Record{}, err
	}
	var out schema.Record
	err = db.reviewWrites(ctx, actor, func(t *wtx, write func(string, string, string, map[string]json.RawMessage) (*row, error)) error {
		cr, err := readScoped(t, actor, "conflict", conflictID, "id")
		if err != nil {
			return err
		}
		var c schema.Conflict
		if err := json.Unmarshal([]byte(cr.fieldsText), &c); err != nil {
			return fmt.Errorf("conflict %s: %w", cr.id, err)
		}
		if c.Status == "resolved" {
			return schema.Errorf(schema.ECodeConflict, "id", "conflict %s was already resolved by %s at %s", cr.id, c.ResolvedBy, c.ResolvedAt)
		}
		if d.Decision == ConflictApplyLosing {
			target, err := readScoped(t, actor, c.RecordEntity, c.RecordID, "id")
			if err != nil {
				return err
			}
			if target.signed {
				return schema.Errorf(schema.ECodeSigned, "decision", "%s %s is signed and cannot be changed; keep the server's value and add an amendment", target.entity, target.id)
			}
			if _, err := write(c.RecordEntity, c.RecordID, target.caseID, map[string]json.RawMessage{c.Field: rawOrNull(c.LosingValue)}); err != nil {
				return err
			}
		}
		r, err := write("conflict", cr.id, cr.caseID, rawFields("status", "resolved", "resolution", d.Decision+": "+reason,
			"resolved_by", actor.UserID, "resolved_at", string(schema.TimestampOf(t.now))))
		if err != nil {
			return err
		}
		if out, err = r.record(); err != nil {
			return err
		}
		return t.audit(actor, "resolve_conflict", "conflict", cr.id, cr.caseID,
			map[string]any{"decision": d.Decision, "reason": reason, "record_id": c.RecordID, "field": c.Field})
	})
	return out, err
}

// SetAsideDecision is a reviewer's decision on a set-aside mutation.
type SetAsideDecision struct {
	// Decision is SetAsideDismissed or SetAsideApplied.
	Decision string `json:"decision"`
	// Reason says why; required.
	Reason string `json:"reason"`
}

// ResolveSetAside records a reviewer's decision on an open set-aside
// (rejected) mutation of their scope (sent by a user of their team). With
// SetAsideApplied the attempted fields are written now, by the reviewer,
// through the usual checks (scope, validation, a signed record refused); a
// refusal changes nothing and is returned. One transaction, audited
// ("resolve_set_aside"). Unknown or out of scope: not_found; decided
// already: a conflict error. It returns the item as decided.
func (db *DB) ResolveSetAside(ctx context.Context, actor Actor, mutationID string, d SetAsideDecision) (SetAsideItem, error) {
	var it SetAsideItem
	if err := requireReviewer(actor); err != nil {
		return it, err
	}
	if d.Decision != SetAsideDismissed && d.Decision != SetAsideApplied {
		return it, schema.Errorf(schema.ECodeInvalid, "decision", "decision must be dismissed or applied, not %q", d.Decision)
	}
	reason, err := checkReason(d.Reason, true, "to decide on a set-aside change")
	if err != nil {
		return it, err
	}
	err = db.reviewWrites(ctx, actor, func(t *wtx, write func(string, string, string, map[string]json.RawMessage) (*row, error)) error {
		cond, args := setAsideScope(actor)
		it, _, err = scanSetAside(t.QueryRowContext(t.ctx, `SELECT `+setAsideCols+` FROM mutations m
			LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id
			WHERE m.mutation_id = ? AND m.status = 'rejected' AND `+cond, append([]any{mutationID}, args...)...))
		if errors.Is(err, sql.ErrNoRows) {
			return schema.Errorf(schema.ECodeNotFound, "mutation_id", "no set-aside mutation %q", mutationID)
		}
		if err != nil {
			return fmt.Errorf("read set-aside mutation: %w", err)
		}
		if it.Decision != "" {
			return schema.Errorf(schema.ECodeConflict, "mutation_id", "set-aside mutation %s was already %s by %s at %s", mutationID, it.Decision, it.DecidedBy, it.DecidedAt)
		}
		if d.Decision == SetAsideApplied {
			if len(it.Attempted) == 0 {
				return schema.Errorf(schema.ECodeInvalid, "decision", "the attempted values of mutation %s were not kept (it was set aside before this server version); dismiss it and ask the officer to make the change again", mutationID)
			}
			caseID := it.CaseID
			if r, err := readScoped(t, actor, it.Entity, it.RecordID, "record_id"); err == nil {
				caseID = r.caseID
			} else if schema.ErrorCode(err) != schema.ECodeNotFound {
				return err
			}
			if _, err := write(it.Entity, it.RecordID, caseID, it.Attempted); err != nil {
				if e := schema.AsError(err); e != nil && e.Code == schema.ECodeOutOfScope {
					return schema.Errorf(schema.ECodeOutOfScope, "decision", "the change is for case %s, which is not in your scope: it cannot be applied", caseID)
				}
				return err
			}
		}
		if _, err := t.ExecContext(t.ctx, `INSERT INTO set_aside (mutation_id, decision, reason, decided_by, decided_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (mutation_id) DO UPDATE SET decision = excluded.decision, reason = excluded.reason,
			decided_by = excluded.decided_by, decided_at = excluded.decided_at`, mutationID, d.Decision, reason, actor.UserID, t.nowText); err != nil {
			return fmt.Errorf("record set-aside decision: %w", err)
		}
		it.Decision, it.Reason, it.DecidedBy, it.DecidedAt = d.Decision, reason, actor.UserID, t.nowText
		return t.audit(actor, "resolve_set_aside", it.Entity, it.RecordID, it.CaseID,
			map[string]any{"mutation_id": mutationID, "decision": d.Decision, "reason": reason})
	})
	return it, err
}

// OversightInput is a manager's review of a signed visit or a safety
// assessment, or a rating of a case's domestic-abuse risk analysis (the
// QA sample, docs/compliance.md measure 10).
type OversightInput struct {
	SubjectEntity string `json:"subject_entity"` // visit, safety_assessment, or case (with aspect da_risk_assessment)
	SubjectID     string `json:"subject_id"`
	// Aspect is what was reviewed: "general" (the default, for a visit or
	// a safety assessment) or "da_risk_assessment" (for a case).
	Aspect string `json:"aspect"`
	// Decision: approved, not_approved, exempted or noted; a safety
	// assessment may also be referred (to a senior officer); a DA risk
	// assessment is rated sufficient or insufficient.
	Decision string `json:"decision"`
	// Reason is required for not_approved, exempted, referred and
	// insufficient.
	Reason string `json:"reason"`
}

// Validate checks the input before anything is read.
func (in OversightInput) Validate() error {
	if in.Aspect != "" && in.Aspect != schema.AspectGeneral && in.Aspect != schema.AspectDARiskAssessment {
		return schema.Errorf(schema.ECodeInvalid, "aspect", "aspect must be general or da_risk_assessment, not %q", in.Aspect)
	}
	rating := in.Aspect == schema.AspectDARiskAssessment
	switch {
	case in.SubjectEntity == "case" && !rating:
		return schema.Errorf(schema.ECodeInvalid, "subject_entity", "a case is reviewed only for its domestic-abuse risk assessment (aspect da_risk_assessment); otherwise subject_entity must be visit or safety_assessment")
	case in.SubjectEntity != "visit" && in.SubjectEntity != "safety_assessment" && in.SubjectEntity != "case":
		return schema.Errorf(schema.ECodeInvalid, "subject_entity", "subject_entity must be visit, safety_assessment or case, not %q", in.SubjectEntity)
	case rating && in.SubjectEntity != "case":
		return schema.Errorf(schema.ECodeInvalid, "aspect", "aspect da_risk_assessment is for a case, not a %s", in.SubjectEntity)
	}
	if in.SubjectID == "" {
		return schema.Errorf(schema.ECodeRequired, "subject_id", "subject_id is required")
	}
	if !schema.ValidID(in.SubjectID) {
		return schema.Errorf(schema.ECodeInvalid, "subject_id", "subject_id must be a UUID")
	}
	switch in.Decision {
	case "approved", "not_approved", "exempted", "noted":
		if in.SubjectEntity == "case" {
			return schema.Errorf(schema.ECodeInvalid, "decision", "a domestic-abuse risk assessment is rated sufficient or insufficient, not %q", in.Decision)
		}
	case "referred":
		if in.SubjectEntity != "safety_assessment" {
			return schema.Errorf(schema.ECodeInvalid, "decision", "only a safety assessment can be referred")
		}
	case "sufficient", "insufficient":
		if in.SubjectEntity != "case" {
			return schema.Errorf(schema.ECodeInvalid, "decision", "decision %s rates a case's domestic-abuse risk assessment (aspect da_risk_assessment), not a %s", in.Decision, in.SubjectEntity)
		}
	default:
		return schema.Errorf(schema.ECodeInvalid, "decision", "decision must be approved, not_approved, exempted or noted (or referred, for a safety assessment; sufficient or insufficient, for a case's DA risk assessment), not %q", in.Decision)
	}
	_, err := checkReason(in.Reason, in.Decision == "not_approved" || in.Decision == "exempted" || in.Decision == "referred" || in.Decision == "insufficient", "when the decision is "+in.Decision)
	return err
}

// Oversee records a manager's review of a signed visit or a safety
// assessment of their scope, or their rating of a case's DA risk analysis
// (aspect da_risk_assessment), as an oversight record of the subject's
// case (by the reviewer, at now). For a safety assessment, a decision other than
// noted also sets the assessment's decision, decision_reason, decided_by
// and decided_on (today, server time), which the tablet pulls and measure 1
// reads. A visit must be signed. One transaction, audited ("oversight").
// A subject out of scope is not_found (field subject_id). It returns the
// oversight record.
func (db *DB) Oversee(ctx context.Context, actor Actor, in OversightInput) (schema.Record, error) {
	if err := requireReviewer(actor); err != nil {
		return schema.Record{}, err
	}
	if err := in.Validate(); err != nil {
		return schema.Record{}, err
	}
	reason := strings.TrimSpace(in.Reason)
	var out schema.Record
	err := db.reviewWrites(ctx, actor, func(t *wtx, write func(string, string, string, map[string]json.RawMessage) (*row, error)) error {
		subj, err := readScoped(t, actor, in.SubjectEntity, in.SubjectID, "subject_id")
		if err != nil {
			return err
		}
		if in.SubjectEntity == "visit" && !subj.signed {
			return schema.Errorf(schema.ECodeInvalid, "subject_id", "visit %s is not signed yet; only a signed visit is reviewed", subj.id)
		}
		if in.SubjectEntity == "safety_assessment" && in.Decision != "noted" {
			if _, err := write("safety_assessment", subj.id, subj.caseID, rawFields("decision", in.Decision, "decision_reason", reason,
				"decided_by", actor.UserID, "decided_on", string(schema.DateOf(t.now)))); err != nil {
				return err
			}
		}
		fields := rawFields("subject_entity", in.SubjectEntity, "subject_id", subj.id,
			"decision", in.Decision, "reason", reason, "by", actor.UserID, "at", string(schema.TimestampOf(t.now)))
		detail := map[string]any{"decision": in.Decision, "reason": reason}
		if in.Aspect == schema.AspectDARiskAssessment {
			// Only a rating carries its aspect: a general review's record
			// stays as it was, for tablets that do not know the field.
			fields["aspect"] = json.RawMessage(`"` + in.Aspect + `"`)
			detail["aspect"] = in.Aspect
		}
		r, err := write("oversight", schema.NewID(), subj.caseID, fields)
		if err != nil {
			return err
		}
		if out, err = r.record(); err != nil {
			return err
		}
		detail["oversight_id"] = r.id
		return t.audit(actor, "oversight", in.SubjectEntity, subj.id, subj.caseID, detail)
	})
	return out, err
}

// rawFields makes a field map from name, value pairs.
func rawFields(kv ...any) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		m[kv[i].(string)] = b
	}
	return m
}

// ReviewCount returns how many items ReviewQueue would list for actor with
// no filter, reading less: the dashboard shows it in its menu on every
// page. It is ReviewCountRecords (which changes only with the records, so
// a caller may keep it while MaxSeq stands still) plus ReviewCountSetAside.
// It does not audit (it names no case).
func (db *DB) ReviewCount(ctx context.Context, actor Actor) (int, error) {
	n, err := db.ReviewCountRecords(ctx, actor)
	if err != nil {
		return 0, err
	}
	sa, err := db.ReviewCountSetAside(ctx, actor)
	return n + sa, err
}

// ReviewCountSetAside counts the undecided set-aside mutations in actor's
// scope (the queue's set_aside list).
func (db *DB) ReviewCountSetAside(ctx context.Context, actor Actor) (int, error) {
	if err := requireQueueReader(actor); err != nil {
		return 0, err
	}
	cond, args := setAsideScope(actor)
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM mutations m LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id
		WHERE m.status = 'rejected' AND coalesce(s.decision, '') = '' AND `+cond, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count set-aside mutations: %w", err)
	}
	return n, nil
}

// ReviewCountRecords counts the queue's items that are records: open
// conflicts, signed visits with no oversight, safety assessments with no
// decision, in actor's scope.
func (db *DB) ReviewCountRecords(ctx context.Context, actor Actor) (int, error) {
	if err := requireQueueReader(actor); err != nil {
		return 0, err
	}
	n := 0
	err := db.view(ctx, func(tx *sql.Tx) error {
		// The cases of the scope, as scopeCases finds them, without
		// decoding them.
		cond, args, err := scopeFilter(actor, "r.id")
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT r.id FROM records r JOIN case_scope s ON s.case_id = r.id WHERE r.entity = 'case' AND `+cond, args...)
		if err != nil {
			return fmt.Errorf("read cases: %w", err)
		}
		cases := map[string]reviewCase{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("read cases: %w", err)
			}
			cases[id] = reviewCase{}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		inScope := func(caseID string) bool { _, ok := cases[caseID]; return ok }
		conflicts, err := scopedRows(ctx, tx, actor, "conflict", "")
		if err != nil {
			return err
		}
		for _, r := range conflicts {
			var c struct {
				Status string `json:"status"`
			}
			if err := json.Unmarshal([]byte(r.fieldsText), &c); err != nil {
				return fmt.Errorf("conflict %s: %w", r.id, err)
			}
			if inScope(r.caseID) && (c.Status == "" || c.Status == "open") {
				n++
			}
		}
		reviewed, err := oversightSubjects(ctx, tx, actor)
		if err != nil {
			return err
		}
		vcond, vargs, err := scopeFilter(actor, "case_id")
		if err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT id, case_id FROM records WHERE entity = 'visit' AND signed = 1 AND `+vcond, vargs...)
		if err != nil {
			return fmt.Errorf("read signed visits: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, caseID string
			if err := rows.Scan(&id, &caseID); err != nil {
				return fmt.Errorf("read signed visits: %w", err)
			}
			if !reviewed[id] && inScope(caseID) {
				n++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		as, err := assessmentsToReview(ctx, tx, actor, cases, inScope)
		n += len(as)
		return err
	})
	return n, err
}
