package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"doorstep/schema"
	"doorstep/schema/policy"
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

// The decisions of the review queue, as a refusal names them ("only a
// supervisor or an admin may resolve a conflict").
const (
	DecideConflict  = "resolve a conflict"
	DecideSetAside  = "decide a set-aside change"
	DecideApproval  = "approve visits or safety assessments"
	DecideOversight = "record an oversight"
)

// requireReviewer admits supervisors and admins: they decide. Auditors may
// read the queue but decide nothing; officers neither. what names the
// decision refused ("resolve a conflict").
func requireReviewer(actor Actor, what string) error {
	if actor.Role != schema.RoleSupervisor && actor.Role != schema.RoleAdmin {
		return schema.Errorf(schema.ECodeForbidden, "", "only a supervisor or an admin may %s", what)
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

// Risk is what orders the queue (docs/review.md, "Order"): the case's
// RoSH level, and whether a domestic-abuse or a child-protection flag is
// live today. The zero value is a case outside the reader's scope (a
// set-aside change's), which comes last.
type Risk struct {
	RoSH            string `json:"rosh"`
	DomesticAbuse   bool   `json:"domestic_abuse"`
	ChildProtection bool   `json:"child_protection"`
}

// ChildProtectionFlags are the flag types that mark a child-protection
// case in the queue's order.
var ChildProtectionFlags = []string{"child_protection", "child_concerns", "risk_to_children"}

var roshRank = map[string]int{"very_high": 4, "high": 3, "medium": 2, "low": 1}

// compareRisk orders higher risk first: RoSH, then domestic abuse, then
// child protection.
func compareRisk(a, b Risk) int {
	return cmp.Or(cmp.Compare(roshRank[b.RoSH], roshRank[a.RoSH]), cmpTrueFirst(a.DomesticAbuse, b.DomesticAbuse),
		cmpTrueFirst(a.ChildProtection, b.ChildProtection))
}

func cmpTrueFirst(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
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
	Name         string `json:"name"` // the person's given and family name
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
	Risk       Risk            `json:"risk"`
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
	Name      string        `json:"name"`
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
	Risk           Risk                       `json:"risk"`
}

// VisitReviewItem is a signed visit no manager has reviewed yet.
type VisitReviewItem struct {
	ID         string `json:"id"`
	CaseID     string `json:"case_id"`
	CRN        string `json:"crn"`
	Name       string `json:"name"`
	OfficerID  string `json:"officer_id"`
	Type       string `json:"type"`
	Outcome    string `json:"outcome"`
	StartedAt  string `json:"started_at"`
	SignedAt   string `json:"signed_at"`
	SignedBy   string `json:"signed_by"`
	ReceivedAt string `json:"received_at"`
	// Rule is the id of the review rule that queued it (docs/review.md).
	Rule string `json:"rule"`
	Risk Risk   `json:"risk"`
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
	Name       string `json:"name"`
	OfficerID  string `json:"officer_id"`
	Address    string `json:"address"`
	Dogs       string `json:"dogs"`
	Weapons    string `json:"weapons"`
	AssessedOn string `json:"assessed_on"`
	AssessedBy string `json:"assessed_by"`
	Decision   string `json:"decision"`
	Risk       Risk   `json:"risk"`
}

// ReviewCounts are how many items of each kind await review.
type ReviewCounts struct {
	Conflicts   int `json:"conflict"`
	SetAside    int `json:"set_aside"`
	Visits      int `json:"visit"`
	Assessments int `json:"safety_assessment"`
}

// Total is the sum of the counts.
func (c ReviewCounts) Total() int { return c.Conflicts + c.SetAside + c.Visits + c.Assessments }

// ReviewQueue is one page of what awaits a reviewer: each list ordered by
// risk, then oldest first, from Offset, at most Limit items; Counts are
// every item of each kind (the officer filter applied, not the kind).
type ReviewQueue struct {
	Counts      ReviewCounts           `json:"counts"`
	Total       int                    `json:"total"`
	Offset      int                    `json:"offset"`
	Limit       int                    `json:"limit"`
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
	// TeamID keeps one team's items (an admin's or auditor's choice): the
	// cases of the team, and the set-aside mutations its users sent.
	TeamID string
	// Offset and Limit page each list: its items from Offset, at most
	// Limit (0: DefaultReviewLimit; at most MaxReviewLimit). All lists
	// every item (the dashboard's CSV), whatever Offset and Limit say.
	Offset, Limit int
	All           bool
}

// The queue's page size: by default, and at most.
const (
	DefaultReviewLimit = 50
	MaxReviewLimit     = 500
)

// Validate checks the filter's kind and page.
func (f ReviewFilter) Validate() error {
	switch f.Kind {
	case "", KindConflict, KindSetAside, KindVisit, KindAssessment:
	default:
		return schema.Errorf(schema.ECodeInvalid, "kind", "kind must be conflict, set_aside, visit or safety_assessment, not %q", f.Kind)
	}
	if f.Offset < 0 {
		return schema.Errorf(schema.ECodeInvalid, "offset", "offset must be 0 or more, not %d", f.Offset)
	}
	if f.Limit < 0 || f.Limit > MaxReviewLimit {
		return schema.Errorf(schema.ECodeInvalid, "limit", "limit must be from 1 to %d, not %d", MaxReviewLimit, f.Limit)
	}
	return nil
}

// reviewCase is a case as the queue names it and orders it.
type reviewCase struct {
	crn, name, officerID, teamID string
	rosh, sentenceType           string
	flags                        []schema.Flag
	risk                         Risk
}

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
	q.Offset, q.Limit = f.Offset, cmp.Or(f.Limit, DefaultReviewLimit)
	if f.All {
		q.Offset, q.Limit = 0, 0
	}
	want := func(kind string) bool { return f.Kind == "" || f.Kind == kind }
	err := db.view(ctx, func(tx *sql.Tx) error {
		cases, err := db.scopeCases(ctx, tx, actor)
		if err != nil {
			return err
		}
		names, err := userNames(ctx, tx)
		if err != nil {
			return err
		}
		inFilter := func(caseID string) bool {
			c, ok := cases[caseID]
			return ok && (f.OfficerID == "" || c.officerID == f.OfficerID) && (f.TeamID == "" || c.teamID == f.TeamID)
		}
		// Every kind is read, for its count; only the page of each list
		// asked for is kept.
		conflicts, err := openConflicts(ctx, tx, db.eng, actor, cases, names, inFilter, db.review)
		if err != nil {
			return err
		}
		setAside, err := openSetAside(ctx, tx, db.eng, actor, cases, names, f, db.review)
		if err != nil {
			return err
		}
		visits, err := visitsToReview(ctx, tx, db.eng, actor, cases, inFilter, db.review, &db.visits)
		if err != nil {
			return err
		}
		assessments, err := assessmentsToReview(ctx, tx, actor, cases, inFilter, db.review)
		if err != nil {
			return err
		}
		q.Counts = ReviewCounts{Conflicts: len(conflicts), SetAside: len(setAside), Visits: len(visits), Assessments: len(assessments)}
		q.Total = q.Counts.Total()
		if want(KindConflict) {
			q.Conflicts = pageOf(conflicts, q, func(x ConflictItem) (Risk, string, string) { return x.Risk, x.RecordedAt, x.ID })
		}
		if want(KindSetAside) {
			q.SetAside = pageOf(setAside, q, func(x SetAsideItem) (Risk, string, string) { return x.Risk, x.ReceivedAt, x.MutationID })
		}
		if want(KindVisit) {
			q.Visits = pageOf(visits, q, func(x VisitReviewItem) (Risk, string, string) { return x.Risk, x.SignedAt, x.ID })
			if err := visitWarnings(ctx, tx, db.eng, q.Visits); err != nil {
				return err
			}
		}
		if want(KindAssessment) {
			q.Assessments = pageOf(assessments, q, func(x AssessmentReviewItem) (Risk, string, string) {
				return x.Risk, x.AssessedOn, x.ID
			})
		}
		return nil
	})
	return q, err
}

// pageOf orders items by risk, then oldest first (then by id, so the order
// is total), and returns q's page of them.
func pageOf[T any](items []T, q ReviewQueue, key func(T) (Risk, string, string)) []T {
	slices.SortFunc(items, func(a, b T) int {
		ra, ta, ia := key(a)
		rb, tb, ib := key(b)
		return cmp.Or(compareRisk(ra, rb), cmp.Compare(ta, tb), cmp.Compare(ia, ib))
	})
	if q.Limit == 0 {
		return items
	}
	lo := min(q.Offset, len(items))
	return items[lo:min(lo+q.Limit, len(items))]
}

// scopeCases returns the cases in actor's scope by id.
// scopeCases returns the cases in actor's scope by id, with their flags
// and their risk today (the server's date).
func (db *DB) scopeCases(ctx context.Context, tx *sql.Tx, actor Actor) (map[string]*reviewCase, error) {
	cond, args, err := scopeFilter(actor, "r.id")
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.id, s.officer_id, s.team_id, coalesce(`+db.eng.jsonText("r.fields", "crn")+`, ''),
		trim(coalesce(`+db.eng.jsonText("r.fields", "given_name")+`, '') || ' ' || coalesce(`+db.eng.jsonText("r.fields", "family_name")+`, '')),
		coalesce(`+db.eng.jsonText("r.fields", "rosh")+`, ''), coalesce(`+db.eng.jsonText("r.fields", "sentence_type")+`, '')
		FROM records r JOIN case_scope s ON s.case_id = r.id WHERE r.entity = 'case' AND `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	out := map[string]*reviewCase{}
	for rows.Next() {
		var id string
		c := &reviewCase{}
		if err := rows.Scan(&id, &c.officerID, &c.teamID, &c.crn, &c.name, &c.rosh, &c.sentenceType); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read cases: %w", err)
		}
		c.risk.RoSH = c.rosh
		out[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cases: %w", err)
	}
	fcond, fargs, _ := scopeFilter(actor, "case_id")
	rows, err = tx.QueryContext(ctx, `SELECT case_id, coalesce(`+db.eng.jsonText("fields", "type")+`, ''), coalesce(`+db.eng.jsonText("fields", "start_date")+`, ''),
		coalesce(`+db.eng.jsonText("fields", "ended_on")+`, '') FROM records WHERE entity = 'flag' AND `+fcond, fargs...)
	if err != nil {
		return nil, fmt.Errorf("read flags: %w", err)
	}
	defer rows.Close()
	today := schema.DateOf(db.now())
	for rows.Next() {
		var f schema.Flag
		if err := rows.Scan(&f.CaseID, &f.Type, &f.StartDate, &f.EndedOn); err != nil {
			return nil, fmt.Errorf("read flags: %w", err)
		}
		c := out[f.CaseID]
		if c == nil {
			continue
		}
		c.flags = append(c.flags, f)
		if policy.FlagLiveOn(f, today) {
			c.risk.DomesticAbuse = c.risk.DomesticAbuse || f.IsDomesticAbuse()
			c.risk.ChildProtection = c.risk.ChildProtection || slices.Contains(ChildProtectionFlags, f.Type)
		}
	}
	return out, rows.Err()
}

// caseRisk is a case's risk, the zero Risk when it is not in scope.
func caseRisk(cases map[string]*reviewCase, caseID string) Risk {
	if c := cases[caseID]; c != nil {
		return c.risk
	}
	return Risk{}
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
func recordsByID(ctx context.Context, tx *sql.Tx, eng engine, ids []string) (map[string]*row, error) {
	out := map[string]*row{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+recordCols+` FROM records WHERE id IN (`+eng.idsIn()+`)`, jsonIDList(uniq(ids)))
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

func openConflicts(ctx context.Context, tx *sql.Tx, eng engine, actor Actor, cases map[string]*reviewCase, names map[string]string,
	inFilter func(string) bool, rules policy.ReviewRules) ([]ConflictItem, error) {
	rows, err := scopedRows(ctx, tx, actor, "conflict", "")
	if err != nil {
		return nil, err
	}
	out := []ConflictItem{}
	var conflicts []schema.Conflict
	var kept []*row
	var targets []string
	for _, r := range rows {
		if !inFilter(r.caseID) || !rules.Dated(r.receivedAt) {
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
	recs, err := recordsByID(ctx, tx, eng, targets)
	if err != nil {
		return nil, err
	}
	for i, c := range conflicts {
		r := kept[i]
		item := ConflictItem{ID: r.id, CaseID: r.caseID, CRN: cases[r.caseID].crn, Name: cases[r.caseID].name, OfficerID: cases[r.caseID].officerID,
			RecordEntity: c.RecordEntity, RecordID: c.RecordID, Field: c.Field, Reason: c.Reason, MutationID: c.MutationID,
			Losing: Version{Value: rawOrNull(c.LosingValue), Author: Author{UserID: c.LosingAuthor, UserName: names[c.LosingAuthor],
				DeviceID: c.LosingDevice, Clock: c.LosingClock, At: authorAt(c.LosingClock)}},
			Winning: Version{Value: rawOrNull(c.WinningValue), Author: Author{UserID: c.WinningAuthor, UserName: names[c.WinningAuthor],
				DeviceID: clockNode(c.WinningClock), Clock: c.WinningClock, At: authorAt(c.WinningClock)}},
			Current: json.RawMessage("null"), RecordedAt: r.receivedAt, Status: "open", Risk: caseRisk(cases, r.caseID)}
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
// Those received before the review rules' From are left out.
func setAsideScope(actor Actor, rules policy.ReviewRules) (string, []any) {
	cond, args := "1 = 1", []any(nil)
	if actor.Role == schema.RoleSupervisor {
		cond, args = "m.user_id IN (SELECT id FROM users WHERE team_id = ?)", []any{actor.TeamID}
	}
	if rules.From != "" {
		cond, args = cond+" AND m.received_at >= ?", append(args, string(rules.From))
	}
	return cond, args
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

func openSetAside(ctx context.Context, tx *sql.Tx, eng engine, actor Actor, cases map[string]*reviewCase, names map[string]string, f ReviewFilter,
	rules policy.ReviewRules) ([]SetAsideItem, error) {
	cond, args := setAsideScope(actor, rules)
	q := `SELECT ` + setAsideCols + ` FROM mutations m LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id
		WHERE m.status = 'rejected' AND coalesce(s.decision, '') = '' AND ` + cond
	if f.OfficerID != "" {
		q += ` AND m.user_id = ?`
		args = append(args, f.OfficerID)
	}
	if f.TeamID != "" {
		q += ` AND m.user_id IN (SELECT id FROM users WHERE team_id = ?)`
		args = append(args, f.TeamID)
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
	recs, err := recordsByID(ctx, tx, eng, ids)
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
func fillSetAside(it *SetAsideItem, cases map[string]*reviewCase, r *row) error {
	caseID := it.CaseID
	if r != nil {
		caseID = r.caseID
	}
	c, ok := cases[caseID]
	if !ok {
		return nil
	}
	it.CaseID, it.CRN, it.Name, it.OfficerID, it.Risk = caseID, c.crn, c.name, c.officerID, c.risk
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

// RuleChildUnaccounted is the Rule of a queued visit that no review rule
// queues but that leaves a child unaccounted for (its Warnings): such a
// visit is always queued, whatever the rules say (docs/review.md).
const RuleChildUnaccounted = "child_unaccounted_for"

// RuleDeviceSignature is the Rule of a queued visit that no review rule
// queues but whose device signature did not verify on receipt
// (docs/sync-protocol.md §6.1): it is always queued, flagged.
const RuleDeviceSignature = "device_signature_invalid"

// visitsToReview returns the signed visits of the scope with no oversight
// that a review rule queues, and those that leave a child unaccounted for.
// Only the latter carry their Warnings: ReviewQueue fills the others' for
// the page it lists (visitWarnings reads each visit whole).
func visitsToReview(ctx context.Context, tx *sql.Tx, eng engine, actor Actor, cases map[string]*reviewCase, inFilter func(string) bool,
	rules policy.ReviewRules, visits *reviewVisits) ([]VisitReviewItem, error) {
	reviewed, err := oversightSubjects(ctx, tx, actor)
	if err != nil {
		return nil, err
	}
	// The queue shows five of a visit's fields and its rules read two
	// more: SQLite takes them out of the JSON (json_extract) once per
	// change of the visit, and db.visits keeps them (reviewcache.go).
	badSig, err := signatureProblems(ctx, tx, eng, nil)
	if err != nil {
		return nil, err
	}
	scope, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	out, unchecked := []VisitReviewItem{}, []VisitReviewItem{}
	err = visits.signedVisits(ctx, tx, eng, scope, args, func(v *reviewVisit) error {
		c := cases[v.caseID]
		if c == nil || reviewed[v.id] || !inFilter(v.caseID) {
			return nil
		}
		it := VisitReviewItem{ID: v.id, CaseID: v.caseID, ReceivedAt: v.receivedAt, Type: v.typ, Outcome: v.outcome,
			StartedAt: v.startedAt, SignedAt: v.signedAt, SignedBy: v.signedBy}
		concern, childNotSeen := v.concern, v.childNotSeen
		day := schema.Date(cmp.Or(it.StartedAt, it.SignedAt, "0000-00-00")[:10])
		var flags []string
		for _, f := range c.flags {
			if policy.FlagLiveOn(f, day) {
				flags = append(flags, f.Type)
			}
		}
		signed := schema.Date(cmp.Or(it.SignedAt, it.ReceivedAt, "0000-00-00")[:10])
		rule, ok := rules.Queues(policy.VisitFacts{Type: it.Type, Day: signed, SafeguardingConcern: concern, ChildNotSeen: childNotSeen,
			RoSH: c.rosh, SentenceType: c.sentenceType, Flags: flags})
		it.CRN, it.Name, it.OfficerID, it.Rule, it.Risk = c.crn, c.name, c.officerID, rule, c.risk
		switch {
		case ok:
			out = append(out, it)
		case badSig[it.ID] != "":
			it.Rule = RuleDeviceSignature
			out = append(out, it)
		case rules.Dated(string(signed)) && it.Outcome == "completed" && (schema.IsHomeVisit(it.Type) || it.Type == "doorstep") &&
			slices.ContainsFunc(flags, func(f string) bool { return f == "da_perpetrator" || f == "da_victim" }):
			// No rule queues it, but the server's check may find a child
			// left unaccounted for: then it is queued all the same.
			it.Rule = RuleChildUnaccounted
			unchecked = append(unchecked, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := visitWarnings(ctx, tx, eng, unchecked); err != nil {
		return nil, err
	}
	for _, it := range unchecked {
		if len(it.Warnings) > 0 {
			out = append(out, it)
		}
	}
	return out, nil
}

func assessmentsToReview(ctx context.Context, tx *sql.Tx, actor Actor, cases map[string]*reviewCase, inFilter func(string) bool,
	rules policy.ReviewRules) ([]AssessmentReviewItem, error) {
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
		if !rules.Dated(cmp.Or(string(a.AssessedOn), r.receivedAt)) {
			continue
		}
		c := cases[r.caseID]
		out = append(out, AssessmentReviewItem{ID: r.id, CaseID: r.caseID, CRN: c.crn, Name: c.name, OfficerID: c.officerID,
			Address: a.Address, Dogs: a.Dogs, Weapons: a.Weapons, AssessedOn: string(a.AssessedOn), AssessedBy: a.AssessedBy, Decision: a.Decision,
			Risk: c.risk})
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
func (db *DB) reviewWrites(ctx context.Context, actor Actor, fn func(t *wtx, write writeFunc) error) error {
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
	if err := requireReviewer(actor, DecideConflict); err != nil {
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
	if err := requireReviewer(actor, DecideSetAside); err != nil {
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
		cond, args := setAsideScope(actor, policy.ReviewRules{})
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
	if err := requireReviewer(actor, DecideOversight); err != nil {
		return schema.Record{}, err
	}
	if err := in.Validate(); err != nil {
		return schema.Record{}, err
	}
	reason := strings.TrimSpace(in.Reason)
	var out schema.Record
	err := db.reviewWrites(ctx, actor, func(t *wtx, write writeFunc) error {
		var err error
		out, err = overseeOne(t, write, actor, in, reason, "subject_id", nil)
		return err
	})
	return out, err
}

// writeFunc is reviewWrites' write function.
type writeFunc = func(entity, id, caseID string, fields map[string]json.RawMessage) (*row, error)

// overseeOne writes one oversight inside a reviewer's transaction: the
// record, the assessment's decision when it sets one, the audit event
// (with extra in its detail). field names the subject in an error.
func overseeOne(t *wtx, write writeFunc, actor Actor, in OversightInput, reason, field string, extra map[string]any) (schema.Record, error) {
	subj, err := readScoped(t, actor, in.SubjectEntity, in.SubjectID, field)
	if err != nil {
		return schema.Record{}, err
	}
	if in.SubjectEntity == "visit" && !subj.signed {
		return schema.Record{}, schema.Errorf(schema.ECodeInvalid, field, "visit %s is not signed yet; only a signed visit is reviewed", subj.id)
	}
	if in.SubjectEntity == "safety_assessment" && in.Decision != "noted" {
		if _, err := write("safety_assessment", subj.id, subj.caseID, rawFields("decision", in.Decision, "decision_reason", reason,
			"decided_by", actor.UserID, "decided_on", string(schema.DateOf(t.now)))); err != nil {
			return schema.Record{}, err
		}
	}
	fields := rawFields("subject_entity", in.SubjectEntity, "subject_id", subj.id,
		"decision", in.Decision, "reason", reason, "by", actor.UserID, "at", string(schema.TimestampOf(t.now)))
	detail := map[string]any{"decision": in.Decision, "reason": reason}
	for k, v := range extra {
		detail[k] = v
	}
	if in.Aspect == schema.AspectDARiskAssessment {
		// Only a rating carries its aspect: a general review's record
		// stays as it was, for tablets that do not know the field.
		fields["aspect"] = json.RawMessage(`"` + in.Aspect + `"`)
		detail["aspect"] = in.Aspect
	}
	r, err := write("oversight", schema.NewID(), subj.caseID, fields)
	if err != nil {
		return schema.Record{}, err
	}
	out, err := r.record()
	if err != nil {
		return schema.Record{}, err
	}
	detail["oversight_id"] = r.id
	return out, t.audit(actor, "oversight", in.SubjectEntity, subj.id, subj.caseID, detail)
}

// BulkApproval approves several signed visits, or several safety
// assessments, with one reason (the review queue's "Approve selected").
type BulkApproval struct {
	SubjectEntity string   `json:"subject_entity"` // visit or safety_assessment
	SubjectIDs    []string `json:"subject_ids"`
	Reason        string   `json:"reason"` // required
}

// Validate checks the input before anything is read.
func (in BulkApproval) Validate() error {
	if in.SubjectEntity != "visit" && in.SubjectEntity != "safety_assessment" {
		return schema.Errorf(schema.ECodeInvalid, "subject_entity", "subject_entity must be visit or safety_assessment, not %q", in.SubjectEntity)
	}
	switch n := len(in.SubjectIDs); {
	case n == 0:
		return schema.Errorf(schema.ECodeRequired, "subject_ids", "subject_ids must name at least one %s", in.SubjectEntity)
	case n > MaxReviewLimit:
		return schema.Errorf(schema.ECodeInvalid, "subject_ids", "subject_ids names %d items; approve at most %d at once", n, MaxReviewLimit)
	}
	seen := map[string]int{}
	for i, id := range in.SubjectIDs {
		field := fmt.Sprintf("subject_ids[%d]", i)
		if !schema.ValidID(id) {
			return schema.Errorf(schema.ECodeInvalid, field, "%s must be a UUID, not %q", field, id)
		}
		if j, dup := seen[id]; dup {
			return schema.Errorf(schema.ECodeInvalid, field, "%s names %s again (subject_ids[%d])", field, id, j)
		}
		seen[id] = i
	}
	_, err := checkReason(in.Reason, true, "to approve several items at once")
	return err
}

// ApproveAll records an approval of each subject, as Oversee would with
// decision approved, each its own oversight record and audit event (whose
// detail adds "bulk": the number approved together), all with the one
// reason, in one transaction: one subject refused (not found, not in
// scope, not signed) refuses them all, naming it (subject_ids[i]), and
// nothing is written. It returns the oversight records in the order of
// SubjectIDs.
func (db *DB) ApproveAll(ctx context.Context, actor Actor, in BulkApproval) ([]schema.Record, error) {
	if err := requireReviewer(actor, DecideApproval); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(in.Reason)
	var out []schema.Record
	err := db.reviewWrites(ctx, actor, func(t *wtx, write writeFunc) error {
		out = out[:0]
		for i, id := range in.SubjectIDs {
			one := OversightInput{SubjectEntity: in.SubjectEntity, SubjectID: id, Decision: "approved", Reason: reason}
			rec, err := overseeOne(t, write, actor, one, reason, fmt.Sprintf("subject_ids[%d]", i), map[string]any{"bulk": len(in.SubjectIDs)})
			if err != nil {
				return err
			}
			out = append(out, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
// no filter: the dashboard shows it in its menu on every page. It is
// ReviewCountRecords (which changes only with the records, so a caller may
// keep it while MaxSeq stands still) plus ReviewCountSetAside. It does not
// audit (it names no case).
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
	q, args := setAsideCount(actor, db.review)
	var n int
	if err := db.r.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count set-aside mutations: %w", err)
	}
	return n, nil
}

// setAsideCount is ReviewCountSetAside's statement: a supervisor's finds
// the team's users' rejected mutations by user (mutations_rejected_user,
// migration 0018), not among every team's.
func setAsideCount(actor Actor, rules policy.ReviewRules) (string, []any) {
	cond, args := setAsideScope(actor, rules)
	return `SELECT count(*) FROM mutations m LEFT JOIN set_aside s ON s.mutation_id = m.mutation_id
		WHERE m.status = 'rejected' AND coalesce(s.decision, '') = '' AND ` + cond, args
}

// ReviewCountRecords counts the queue's items that are records: open
// conflicts, signed visits a review rule queues with no oversight, safety
// assessments with no decision, in actor's scope. It reads what the queue
// reads, less the conflicts' records and the user names.
func (db *DB) ReviewCountRecords(ctx context.Context, actor Actor) (int, error) {
	if err := requireQueueReader(actor); err != nil {
		return 0, err
	}
	n := 0
	err := db.view(ctx, func(tx *sql.Tx) error {
		cases, err := db.scopeCases(ctx, tx, actor)
		if err != nil {
			return err
		}
		inScope := func(caseID string) bool { return cases[caseID] != nil }
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
			if inScope(r.caseID) && db.review.Dated(r.receivedAt) && (c.Status == "" || c.Status == "open") {
				n++
			}
		}
		vs, err := visitsToReview(ctx, tx, db.eng, actor, cases, inScope, db.review, &db.visits)
		if err != nil {
			return err
		}
		as, err := assessmentsToReview(ctx, tx, actor, cases, inScope, db.review)
		n += len(vs) + len(as)
		return err
	})
	return n, err
}
