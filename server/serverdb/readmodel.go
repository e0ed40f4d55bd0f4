package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// The compliance read model (schema/sql/server/0010_read_model.sql,
// docs/decisions/0044-the-compliance-read-model.md): typed tables of each
// case's records and its requirement rows, derived from records by the
// write transaction that changed them, so that the measures are SQL
// aggregates (readmodel_measures.go) rather than a decode of every case.
//
// A case's rows are written whole: every write transaction that gave a
// record of the case a new sequence number deletes the case's rows and
// writes them again from all its records (refreshReadModel, called by
// update before it commits). The requirement rows are computed by
// schema/policy, the code the Go measures and the tablet run, from every
// record the case has ("as of" rmHorizon) and with no exemption; where a
// requirement stands on a given day (met by then, exempted by the safety
// assessment of then, missed, open) is the query's to say, from the
// dates on the row. So nothing changes with the passing of days: there is
// no daily job.

// rmHorizon is the day the requirement rows are computed as of: later
// than any record's date, so every record counts.
const rmHorizon schema.Date = "9999-12-31"

// rmChunk is how many cases one statement reads the records of, and how
// many cases one transaction of a whole rebuild writes.
const rmChunk = 500

// rmEntities are the entities the read model is derived from.
var rmEntities = []string{"case", "flag", "household_member", "visit", "amendment", "enquiry", "safety_assessment", "referral"}

// rmTables are the read model's tables of case rows, each with its case
// column.
var rmTables = []string{"rm_cases", "rm_visits", "rm_household", "rm_flags", "rm_enquiries", "rm_referrals", "rm_safety", "requirements"}

// policyTag names the policy the requirement rows were computed with: the
// tag of its JSON (policy.Tag), so that other rules, or the same rules
// with another version, rebuild the requirement rows.
func policyTag(p *policy.Policy) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	return policy.Tag(b)
}

// refreshReadModel writes again the read model rows of every case whose
// records t gave a sequence number after from (the counter's value when t
// began).
func (db *DB) refreshReadModel(t *wtx, from int64) error {
	rows, err := t.QueryContext(t.ctx, `SELECT DISTINCT case_id FROM records WHERE seq > ?`, from)
	if err != nil {
		return fmt.Errorf("read model: touched cases: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("read model: touched cases: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read model: touched cases: %w", err)
	}
	return db.writeCases(t, ids)
}

// writeCases derives the read model rows of the given cases again.
func (db *DB) writeCases(t *wtx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	w, err := newRMWriter(t)
	if err != nil {
		return err
	}
	defer w.close()
	for chunk := range slices.Chunk(ids, rmChunk) {
		recs, err := readCaseRecords(t, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			if err := w.deleteCase(id); err != nil {
				return err
			}
			if err := w.writeCase(db, id, recs[id]); err != nil {
				return err
			}
		}
	}
	return w.flush()
}

// readCaseRecords reads the records of the given cases that the read
// model is derived from, by case, in change order.
func readCaseRecords(t *wtx, ids []string) (map[string][]schema.RawRecord, error) {
	q := `SELECT entity, id, case_id, fields FROM records WHERE case_id IN (?` + strings.Repeat(",?", len(ids)-1) +
		`) AND entity IN ('` + strings.Join(rmEntities, "','") + `') ORDER BY seq`
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := t.QueryContext(t.ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read model: read records: %w", err)
	}
	defer rows.Close()
	out := map[string][]schema.RawRecord{}
	for rows.Next() {
		var r schema.RawRecord
		var fields string
		if err := rows.Scan(&r.Entity, &r.ID, &r.CaseID, &fields); err != nil {
			return nil, fmt.Errorf("read model: read records: %w", err)
		}
		r.Fields = json.RawMessage(fields)
		out[r.CaseID] = append(out[r.CaseID], r)
	}
	return out, rows.Err()
}

// rmCase is one case's records, decoded as the Go measures decode them
// (compliance.Group): visits with their amendments applied.
type rmCase struct {
	c         schema.Case
	flags     []schema.Flag
	household []schema.HouseholdMember
	visits    []schema.Visit
	enquiries []schema.Enquiry
	safety    []schema.SafetyAssessment
	referrals []schema.Referral
}

// rmVisit is what the read model keeps of a visit: the fields rm_visits
// holds and those the policy reads (as compliance's policyVisits keeps),
// decoded without the rest of a visit's kilobyte of notes.
type rmVisit struct {
	Status          string              `json:"status"`
	Type            string              `json:"type"`
	Location        string              `json:"location"`
	Outcome         string              `json:"outcome"`
	FaceToFace      bool                `json:"face_to_face"`
	PlannedAt       schema.Timestamp    `json:"planned_at"`
	StartedAt       schema.Timestamp    `json:"started_at"`
	SignedAt        schema.Timestamp    `json:"signed_at"`
	ChildrenPresent string              `json:"children_present"`
	Children        []schema.VisitChild `json:"children"`
}

// decodeCase decodes recs; false when there is no case record among them.
// A record that does not decode (the store validated it on write, so
// only a damaged file holds one) is left out and logged, rather than
// stopping every later write to the case.
func (db *DB) decodeCase(recs []schema.RawRecord) (rmCase, bool) {
	var out rmCase
	found := false
	amendments := map[string][]schema.Amendment{}
	var visits []schema.Visit
	for _, r := range recs {
		var err error
		switch r.Entity {
		case "case":
			err = r.Decode(&out.c)
			found = err == nil
		case "flag":
			var v schema.Flag
			if err = r.Decode(&v); err == nil {
				out.flags = append(out.flags, v)
			}
		case "household_member":
			var v schema.HouseholdMember
			if err = r.Decode(&v); err == nil {
				out.household = append(out.household, v)
			}
		case "enquiry":
			var v schema.Enquiry
			if err = r.Decode(&v); err == nil {
				out.enquiries = append(out.enquiries, v)
			}
		case "safety_assessment":
			var v schema.SafetyAssessment
			if err = r.Decode(&v); err == nil {
				out.safety = append(out.safety, v)
			}
		case "referral":
			var v schema.Referral
			if err = r.Decode(&v); err == nil {
				out.referrals = append(out.referrals, v)
			}
		case "visit":
			var v rmVisit
			if err = json.Unmarshal(r.Fields, &v); err == nil {
				visits = append(visits, schema.Visit{ID: r.ID, CaseID: r.CaseID, Status: v.Status, Type: v.Type,
					Location: v.Location, Outcome: v.Outcome, FaceToFace: v.FaceToFace, PlannedAt: v.PlannedAt,
					StartedAt: v.StartedAt, SignedAt: v.SignedAt, ChildrenPresent: v.ChildrenPresent, Children: v.Children})
			}
		case "amendment":
			var a schema.Amendment
			if err = r.Decode(&a); err == nil {
				amendments[a.VisitID] = append(amendments[a.VisitID], a)
			}
		}
		if err != nil {
			db.log.Warn("read model: a record does not decode; left out", "entity", r.Entity, "id", r.ID, "err", err)
		}
	}
	for _, v := range visits {
		if as := amendments[v.ID]; len(as) > 0 {
			amended, err := policy.AmendVisit(v, as)
			if err != nil {
				db.log.Warn("read model: an amendment does not apply; applied as far as it goes", "visit", v.ID, "err", err)
			}
			v = amended
		}
		out.visits = append(out.visits, v)
	}
	return out, found
}

// rmWriter holds the statements that write one transaction's read model
// rows. Inserts are buffered per table and written rmBatch rows to a
// statement (flush), which costs a fraction of one statement a row.
type rmWriter struct {
	t     *wtx
	del   []*sql.Stmt
	full  map[string]*sql.Stmt // an INSERT of rmBatch rows, per table
	rows  map[string][]any     // buffered arguments, per table
	stmts []*sql.Stmt
}

// rmBatch is how many rows one INSERT writes.
const rmBatch = 64

var rmInserts = map[string]string{
	"rm_cases": `INSERT INTO rm_cases (case_id, crn, given_name, family_name, officer_id, team_id, rosh, address,
		supervision_start, closed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_visits": `INSERT INTO rm_visits (visit_id, case_id, status, type, location, outcome, face_to_face, planned_at,
		started_at, signed_at, day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_household": `INSERT INTO rm_household (member_id, case_id, relation, residence, added_on, left_on) VALUES (?, ?, ?, ?, ?, ?)`,
	"rm_flags":     `INSERT INTO rm_flags (flag_id, case_id, type, start_date, ended_on) VALUES (?, ?, ?, ?, ?)`,
	"rm_enquiries": `INSERT INTO rm_enquiries (enquiry_id, case_id, agency, stage, requested_on, due_on, answered_on, result)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_referrals": `INSERT INTO rm_referrals (referral_id, case_id, need, identified_on, decision, status, status_on)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
	"rm_safety": `INSERT INTO rm_safety (assessment_id, case_id, assessed_on, decided_on, decision, decided_by, reason,
		applies, exempting) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"requirements": `INSERT INTO requirements (case_id, n, officer_id, team_id, closed, rule_id, rule_version, trigger_kind,
		triggered_on, triggered_day, source, recurrence, due_on, due_day, met_by, met_on, met_day, first_home)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
}

func newRMWriter(t *wtx) (*rmWriter, error) {
	w := &rmWriter{t: t, full: map[string]*sql.Stmt{}, rows: map[string][]any{}}
	prep := func(q string) (*sql.Stmt, error) {
		s, err := t.PrepareContext(t.ctx, q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("read model: prepare: %w", err)
		}
		w.stmts = append(w.stmts, s)
		return s, nil
	}
	for _, table := range rmTables {
		d, err := prep(`DELETE FROM ` + table + ` WHERE case_id = ?`)
		if err != nil {
			return nil, err
		}
		w.del = append(w.del, d)
		if w.full[table], err = prep(rmInsert(table, rmBatch)); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// rmInsert is the INSERT of n rows into table.
func rmInsert(table string, n int) string {
	head, values, _ := strings.Cut(rmInserts[table], "VALUES")
	values = strings.TrimSpace(values)
	return head + "VALUES " + strings.TrimSuffix(strings.Repeat(values+", ", n), ", ")
}

func (w *rmWriter) close() {
	for _, s := range w.stmts {
		s.Close()
	}
}

func (w *rmWriter) deleteCase(id string) error {
	for i, d := range w.del {
		if _, err := d.ExecContext(w.t.ctx, id); err != nil {
			return fmt.Errorf("read model: clear %s of case %s: %w", rmTables[i], id, err)
		}
	}
	return nil
}

// exec buffers one row of table, writing the buffer when it is full.
func (w *rmWriter) exec(table string, args ...any) error {
	w.rows[table] = append(w.rows[table], args...)
	if len(w.rows[table]) == rmBatch*len(args) {
		if _, err := w.full[table].ExecContext(w.t.ctx, w.rows[table]...); err != nil {
			return fmt.Errorf("read model: write %s: %w", table, err)
		}
		w.rows[table] = w.rows[table][:0]
	}
	return nil
}

// flush writes the rows still buffered.
func (w *rmWriter) flush() error {
	for _, table := range rmTables {
		args := w.rows[table]
		if len(args) == 0 {
			continue
		}
		n := len(args) / strings.Count(rmInserts[table], "?")
		if _, err := w.t.ExecContext(w.t.ctx, rmInsert(table, n), args...); err != nil {
			return fmt.Errorf("read model: write %s: %w", table, err)
		}
		w.rows[table] = args[:0]
	}
	return nil
}

// writeCase writes the rows of case id from its records (none when they
// hold no case record).
func (w *rmWriter) writeCase(db *DB, id string, recs []schema.RawRecord) error {
	cr, ok := db.decodeCase(recs)
	if !ok {
		return nil
	}
	c := cr.c
	if err := w.exec("rm_cases", id, c.CRN, c.GivenName, c.FamilyName, c.OfficerID, c.TeamID, c.RoSH, c.Address,
		string(c.SupervisionStart), boolInt(c.Closed)); err != nil {
		return err
	}
	for _, v := range cr.visits {
		day, _ := localDay(cmp.Or(v.PlannedAt, v.StartedAt))
		if err := w.exec("rm_visits", v.ID, id, v.Status, v.Type, v.Location, v.Outcome, boolInt(v.FaceToFace),
			string(v.PlannedAt), string(v.StartedAt), string(v.SignedAt), string(day)); err != nil {
			return err
		}
	}
	for _, m := range cr.household {
		if err := w.exec("rm_household", m.ID, id, m.Relation, m.Residence, string(m.AddedOn), string(m.LeftOn)); err != nil {
			return err
		}
	}
	for _, f := range cr.flags {
		if err := w.exec("rm_flags", f.ID, id, f.Type, string(f.StartDate), string(f.EndedOn)); err != nil {
			return err
		}
	}
	for _, e := range cr.enquiries {
		if err := w.exec("rm_enquiries", e.ID, id, e.Agency, e.Stage, string(e.RequestedOn), string(e.DueOn),
			string(e.AnsweredOn), e.Result); err != nil {
			return err
		}
	}
	for _, r := range cr.referrals {
		if err := w.exec("rm_referrals", r.ID, id, r.Need, string(r.IdentifiedOn), r.Decision, r.Status, string(r.StatusOn)); err != nil {
			return err
		}
	}
	for _, a := range cr.safety {
		applies := a.Address == "" || c.Address == "" || a.Address == c.Address
		ex, exempting := policy.SafetyExemption(c, a)
		if err := w.exec("rm_safety", a.ID, id, string(a.AssessedOn), string(a.DecidedOn), a.Decision, a.DecidedBy, ex.Reason,
			boolInt(applies), boolInt(exempting)); err != nil {
			return err
		}
	}
	// Every record, no exemption: the query applies the safety
	// assessment of the day it asks about.
	facts := policy.FactsOf(policy.Records{Case: c, Flags: cr.flags, Household: cr.household, Visits: cr.visits,
		Enquiries: cr.enquiries}, rmHorizon)
	reqs := db.policy.Requirements(facts, rmHorizon)
	first := -1
	for i, r := range reqs {
		if r.Trigger == policy.TriggerSupervisionStart && r.Recurrence == 0 {
			first = i
			break
		}
	}
	for i, r := range reqs {
		trig, _ := dayNumber(r.TriggeredOn)
		due, _ := dayNumber(r.DueOn)
		var met any
		if d, ok := dayNumber(r.MetOn); ok && r.Status == policy.StatusMet {
			met = d
		}
		if err := w.exec("requirements", id, i, c.OfficerID, c.TeamID, boolInt(c.Closed), r.RuleID, r.RuleVersion,
			string(r.Trigger), string(r.TriggeredOn), trig, r.Source, r.Recurrence, string(r.DueOn), due, r.MetBy,
			string(r.MetOn), met, boolInt(i == first)); err != nil {
			return err
		}
	}
	return nil
}

// dayNumber is d as days since 1970-01-01; false when d is not a date.
func dayNumber(d schema.Date) (int64, bool) {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return 0, false
	}
	return t.Unix() / 86400, true
}

// localDay is the calendar day of ts in the offset it was recorded with.
func localDay(ts schema.Timestamp) (schema.Date, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return "", false
	}
	return schema.Date(t.Format(time.DateOnly)), true
}

// buildReadModel brings the read model up to date when the store opens:
// when it was never built (a store migrated from before it) or was built
// with other visit rules, every case's rows are derived again, rmChunk
// cases per transaction, and the state row says so last; a build cut
// short starts again at the next open.
func (db *DB) buildReadModel(ctx context.Context) error {
	tag := policyTag(db.policy)
	var built int64
	var was string
	if err := db.w.QueryRowContext(ctx, `SELECT built_seq, policy_tag FROM read_model_state WHERE id = 1`).Scan(&built, &was); err != nil {
		return fmt.Errorf("read model state: %w", err)
	}
	if built >= 0 && was == tag {
		return nil
	}
	var ids []string
	rows, err := db.w.QueryContext(ctx, `SELECT id FROM records WHERE entity = 'case' ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read model: list cases: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("read model: list cases: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read model: list cases: %w", err)
	}
	why := "never built"
	if built >= 0 {
		why = "the visit rules changed"
	}
	db.log.Info(fmt.Sprintf("building the compliance read model: %d cases", len(ids)), "cases", len(ids), "why", why)
	started := time.Now()
	err = db.update(ctx, func(t *wtx) error {
		for _, table := range rmTables {
			if _, err := t.ExecContext(t.ctx, `DELETE FROM `+table); err != nil {
				return fmt.Errorf("read model: clear %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(ids, rmChunk) {
		if err := db.update(ctx, func(t *wtx) error { return db.writeCases(t, chunk) }); err != nil {
			return err
		}
	}
	err = db.update(ctx, func(t *wtx) error {
		if err := t.readSeq(); err != nil {
			return err
		}
		_, err := t.ExecContext(t.ctx, `UPDATE read_model_state SET built_seq = ?, policy_tag = ?, built_at = ? WHERE id = 1`,
			t.seq, tag, t.nowText)
		return err
	})
	if err != nil {
		return fmt.Errorf("read model state: %w", err)
	}
	db.log.Info("built the compliance read model", "cases", len(ids), "took", time.Since(started).Round(time.Millisecond))
	return nil
}
