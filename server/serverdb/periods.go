package serverdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"doorstep/schema"
)

// Published periods (docs/compliance.md, "Published periods";
// docs/decisions/0031-published-periods.md): a period's figures kept as
// they were published, never changed, only superseded by a new
// publication of the same scope and period that says why. The figures
// are computed by the caller (server/compliance); the store keeps them,
// with who, when, the rules and the change number they were computed at.

// MaxPublicationReason bounds a supersession's reason, in characters.
const MaxPublicationReason = 1900

// ErrStaleFigures: a record was written after the figures were computed
// and before they could be published; compute them again.
var ErrStaleFigures = errors.New("records changed while the figures were computed")

// PublicationInput is what a publication keeps: the scope (TeamID, "" for
// the whole service), the period, the figures (JSON) and the rules they
// were computed with, and Seq, the store's change number (MaxSeq) read
// before they were computed.
type PublicationInput struct {
	TeamID      string
	From, To    schema.Date
	AsOf        schema.Date
	RuleVersion string
	RulesTag    string
	Reason      string
	Seq         int64
	Figures     json.RawMessage
}

// Publication is one published period as stored.
type Publication struct {
	ID              string          `json:"id"`
	Scope           string          `json:"scope"` // "team" or "service"
	TeamID          string          `json:"team_id,omitempty"`
	From            schema.Date     `json:"from"`
	To              schema.Date     `json:"to"`
	AsOf            schema.Date     `json:"as_of"`
	RuleVersion     string          `json:"rule_version"`
	RulesTag        string          `json:"rules_tag"`
	PublishedAt     string          `json:"published_at"`
	PublishedBy     string          `json:"published_by"`
	PublishedByName string          `json:"published_by_name"`
	Reason          string          `json:"reason"`
	Supersedes      string          `json:"supersedes"`
	SupersededBy    string          `json:"superseded_by"`
	Status          string          `json:"status"` // "current" or "superseded"
	Seq             int64           `json:"-"`
	AuditID         int64           `json:"-"`
	FiguresHash     string          `json:"figures_hash"`
	Figures         json.RawMessage `json:"-"`
}

// Current reports whether no later publication superseded p.
func (p Publication) Current() bool { return p.SupersededBy == "" }

// publicationScope checks that actor may publish or read the scope of
// team ("" for the whole service): an admin any, a supervisor their own
// team's, an auditor (reading only) any.
func publicationScope(actor Actor, teamID string, write bool) bool {
	switch actor.Role {
	case schema.RoleAdmin:
		return true
	case schema.RoleAuditor:
		return !write
	case schema.RoleSupervisor:
		return actor.TeamID != "" && teamID == actor.TeamID
	}
	return false
}

// PublishPeriod stores a publication of in's scope and period by actor,
// and its audit event ("publish_period"), in one transaction. When a
// current publication of the same scope and period exists, the new one
// supersedes it, and in.Reason is required. A record written since in.Seq
// (the figures are out of date) gives ErrStaleFigures and writes nothing.
func (db *DB) PublishPeriod(ctx context.Context, actor Actor, in PublicationInput) (Publication, error) {
	if !publicationScope(actor, in.TeamID, true) {
		return Publication{}, schema.Errorf(schema.ECodeForbidden, "team_id", "a supervisor publishes their own team's periods only; an admin any team's or the whole service's")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if utf8.RuneCountInString(in.Reason) > MaxPublicationReason || strings.ContainsRune(in.Reason, 0) {
		return Publication{}, schema.Errorf(schema.ECodeInvalid, "reason", "reason must be at most %d characters of text", MaxPublicationReason)
	}
	// The publisher's name as it is now (a setup actor has no user row).
	user, err := db.UserByID(ctx, actor.UserID)
	if err != nil && schema.ErrorCode(err) != schema.ECodeNotFound {
		return Publication{}, fmt.Errorf("publish period: the publisher: %w", err)
	}
	sum := sha256.Sum256(in.Figures)
	p := Publication{ID: schema.NewID(), TeamID: in.TeamID, From: in.From, To: in.To, AsOf: in.AsOf, RuleVersion: in.RuleVersion,
		RulesTag: in.RulesTag, PublishedBy: actor.UserID, PublishedByName: user.Name, Reason: in.Reason, Seq: in.Seq,
		FiguresHash: hex.EncodeToString(sum[:]), Figures: in.Figures}
	err = db.update(ctx, func(t *wtx) error {
		if in.TeamID != "" {
			var n int
			if err := t.QueryRowContext(t.ctx, `SELECT count(*) FROM teams WHERE id = ?`, in.TeamID).Scan(&n); err != nil {
				return fmt.Errorf("publish period: read team: %w", err)
			}
			if n == 0 {
				return schema.Errorf(schema.ECodeInvalid, "team_id", "there is no team %q", in.TeamID)
			}
		}
		if err := t.readSeq(); err != nil {
			return err
		}
		if t.seq != in.Seq {
			return ErrStaleFigures
		}
		err := t.QueryRowContext(t.ctx, `SELECT p.id FROM publications p WHERE p.team_id = ? AND p.period_from = ? AND p.period_to = ?
			AND NOT EXISTS (SELECT 1 FROM publications s WHERE s.supersedes = p.id)`, in.TeamID, string(in.From), string(in.To)).Scan(&p.Supersedes)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("publish period: read the current publication: %w", err)
		case p.Reason == "":
			return schema.Errorf(schema.ECodeRequired, "reason", "this period was published already (%s): say why it is published again", p.Supersedes)
		}
		p.PublishedAt = t.nowText
		detail := map[string]any{"scope": scopeWord(p.TeamID), "team_id": p.TeamID, "from": p.From, "to": p.To, "as_of": p.AsOf,
			"rule_version": p.RuleVersion, "rules_tag": p.RulesTag, "figures_hash": p.FiguresHash}
		if p.Supersedes != "" {
			detail["supersedes"] = p.Supersedes
		}
		if p.Reason != "" {
			detail["reason"] = p.Reason
		}
		if err := t.audit(actor, "publish_period", "period", p.ID, "", detail); err != nil {
			return err
		}
		p.AuditID = t.auditID
		_, err = t.ExecContext(t.ctx, `INSERT INTO publications (id, team_id, period_from, period_to, as_of, rule_version, rules_tag,
			published_at, published_by, published_by_name, reason, supersedes, seq, audit_id, figures, figures_hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.TeamID, string(p.From), string(p.To), string(p.AsOf), p.RuleVersion, p.RulesTag, p.PublishedAt, p.PublishedBy,
			p.PublishedByName, p.Reason, p.Supersedes, p.Seq, p.AuditID, string(p.Figures), p.FiguresHash)
		if err != nil {
			return fmt.Errorf("publish period: %w", err)
		}
		return nil
	})
	if err != nil {
		return Publication{}, err
	}
	p.Scope, p.Status = scopeWord(p.TeamID), statusWord("")
	return p, nil
}

func statusWord(supersededBy string) string {
	if supersededBy == "" {
		return "current"
	}
	return "superseded"
}

func scopeWord(teamID string) string {
	if teamID == "" {
		return "service"
	}
	return "team"
}

const publicationCols = `p.id, p.team_id, p.period_from, p.period_to, p.as_of, p.rule_version, p.rules_tag, p.published_at, p.published_by,
	p.published_by_name, p.reason, p.supersedes, p.seq, p.audit_id, p.figures_hash,
	coalesce((SELECT s.id FROM publications s WHERE s.supersedes = p.id), '')`

func scanPublication(s interface{ Scan(...any) error }, withFigures bool) (Publication, error) {
	var p Publication
	var from, to, asOf, figures string
	dst := []any{&p.ID, &p.TeamID, &from, &to, &asOf, &p.RuleVersion, &p.RulesTag, &p.PublishedAt, &p.PublishedBy,
		&p.PublishedByName, &p.Reason, &p.Supersedes, &p.Seq, &p.AuditID, &p.FiguresHash, &p.SupersededBy}
	if withFigures {
		dst = append(dst, &figures)
	}
	if err := s.Scan(dst...); err != nil {
		return p, err
	}
	p.From, p.To, p.AsOf, p.Scope, p.Status = schema.Date(from), schema.Date(to), schema.Date(asOf), scopeWord(p.TeamID), statusWord(p.SupersededBy)
	if withFigures {
		p.Figures = json.RawMessage(figures)
	}
	return p, nil
}

// PublicationFilter narrows ListPublications: a team ("" any in scope),
// the whole service's only, a period's first and last day.
type PublicationFilter struct {
	TeamID   string
	Service  bool
	From, To schema.Date
}

// ListPublications returns the publications in actor's scope that pass f,
// newest first, without their figures: a supervisor's team's, every one
// for an admin or an auditor.
func (db *DB) ListPublications(ctx context.Context, actor Actor, f PublicationFilter) ([]Publication, error) {
	var cond []string
	var args []any
	switch actor.Role {
	case schema.RoleAdmin, schema.RoleAuditor:
	case schema.RoleSupervisor:
		cond, args = append(cond, "p.team_id = ?"), append(args, actor.TeamID)
	default:
		return nil, schema.Errorf(schema.ECodeForbidden, "", "only a supervisor, an admin or an auditor may see published periods")
	}
	if f.Service {
		cond = append(cond, "p.team_id = ''")
	} else if f.TeamID != "" {
		cond, args = append(cond, "p.team_id = ?"), append(args, f.TeamID)
	}
	if f.From != "" {
		cond, args = append(cond, "p.period_from = ?"), append(args, string(f.From))
	}
	if f.To != "" {
		cond, args = append(cond, "p.period_to = ?"), append(args, string(f.To))
	}
	q := `SELECT ` + publicationCols + ` FROM publications p`
	if len(cond) > 0 {
		q += ` WHERE ` + strings.Join(cond, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, q+` ORDER BY p.published_at DESC, p.audit_id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list publications: %w", err)
	}
	defer rows.Close()
	out := []Publication{}
	for rows.Next() {
		p, err := scanPublication(rows, false)
		if err != nil {
			return nil, fmt.Errorf("list publications: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// GetPublication returns one publication with its figures; not_found when
// there is none of that id in actor's scope, exactly as for a missing one.
func (db *DB) GetPublication(ctx context.Context, actor Actor, id string) (Publication, error) {
	p, err := scanPublication(db.r.QueryRowContext(ctx, `SELECT `+publicationCols+`, p.figures FROM publications p WHERE p.id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !publicationScope(actor, p.TeamID, false)) {
		return Publication{}, schema.Errorf(schema.ECodeNotFound, "id", "no published period you can see has this id")
	}
	if err != nil {
		return Publication{}, fmt.Errorf("read publication: %w", err)
	}
	return p, nil
}

// RecordChange is a record of a case written after a change number, with
// the audit events of its writes after an audit event.
type RecordChange struct {
	Entity     string
	ID         string
	CaseID     string
	Fields     json.RawMessage
	ReceivedAt string
	UpdatedAt  string
	UpdatedBy  string
	Events     []AuditEvent
}

// ChangedSince returns the records of the given cases in actor's scope
// written after change number seq (in change order), each with its audit
// events after the audit event afterAudit.
func (db *DB) ChangedSince(ctx context.Context, actor Actor, caseIDs []string, seq, afterAudit int64) ([]RecordChange, error) {
	if len(caseIDs) == 0 {
		return nil, nil
	}
	cond, args, err := scopeFilter(actor, "case_id")
	if err != nil {
		return nil, err
	}
	ids, _ := json.Marshal(caseIDs)
	rows, err := db.r.QueryContext(ctx, `SELECT entity, id, case_id, fields, received_at, updated_at, updated_by FROM records
		WHERE seq > ? AND case_id IN (`+db.eng.idsIn()+`) AND `+cond+` ORDER BY seq`, append([]any{seq, string(ids)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("records changed since: %w", err)
	}
	var out []RecordChange
	for rows.Next() {
		var r RecordChange
		var fields string
		if err := rows.Scan(&r.Entity, &r.ID, &r.CaseID, &fields, &r.ReceivedAt, &r.UpdatedAt, &r.UpdatedBy); err != nil {
			rows.Close()
			return nil, fmt.Errorf("records changed since: %w", err)
		}
		r.Fields = json.RawMessage(fields)
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records changed since: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	// The events after afterAudit of those cases (by the audit's case
	// index), each given to its record.
	byRecord := map[string]int{}
	for i, r := range out {
		byRecord[r.ID] = i
	}
	evRows, err := db.r.QueryContext(ctx, `SELECT `+auditCols+` FROM audit
		WHERE case_id IN (`+db.eng.idsIn()+`) AND id > ? ORDER BY id`, string(ids), afterAudit)
	if err != nil {
		return nil, fmt.Errorf("records changed since: audit: %w", err)
	}
	evs, err := scanAudit(evRows)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if i, ok := byRecord[e.RecordID]; ok {
			out[i].Events = append(out[i].Events, e)
		}
	}
	return out, nil
}
