package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// The compliance read model (schema/sql/server/0010_read_model.sql,
// docs/decisions/0044-the-compliance-read-model.md): typed tables of each
// case's records and its requirement rows, derived from records by the
// write transaction that changed them, so that the measures are SQL
// aggregates (readmodel_measures.go) rather than a decode of every case.
//
// Every write transaction that gave records a new sequence number writes
// their typed rows again (refreshReadModel, called by update before it
// commits): each record's own row; a visit's also when one of its
// amendments changed; a case's safety assessments' when the case record
// changed (whether one is of the current address reads the case's). Then
// each touched case's requirement rows are computed again, by
// schema/policy (the code the Go measures and the tablet run), from the
// case record and its typed rows, as of every record the case has
// (rmHorizon) and with no exemption. Where a requirement stands on a
// given day (met by then, exempted by the safety assessment of then,
// missed, open) is the query's to say, from the dates on the row. So
// nothing changes with the passing of days: there is no daily job.

// rmHorizon is the day the requirement rows are computed as of: later
// than any record's date, so every record counts.
const rmHorizon schema.Date = "9999-12-31"

// rmChunk is how many cases one statement reads the rows of, and how
// many cases one transaction of a whole rebuild writes.
const rmChunk = 500

// rmEntities are the entities the read model is derived from.
var rmEntities = []string{"case", "flag", "household_member", "visit", "amendment", "enquiry", "safety_assessment", "referral",
	"oversight"}

// rmEntity is rmEntities as a set.
var rmEntity = func() map[string]bool {
	m := map[string]bool{}
	for _, e := range rmEntities {
		m[e] = true
	}
	return m
}()

// rmTables are the read model's tables of case rows, each with its case
// column.
var rmTables = []string{"rm_cases", "rm_visits", "rm_household", "rm_flags", "rm_enquiries", "rm_referrals", "rm_safety", "requirements",
	"rm_visit_children", "rm_qa_ratings", "rm_exempt"}

// rmTableOf is the typed table of each entity that has one (a case's is
// rm_cases; an amendment has none: it is applied to its visit's row), and
// rmKeyOf that table's record id column.
var (
	rmTableOf = map[string]string{"visit": "rm_visits", "household_member": "rm_household", "flag": "rm_flags",
		"enquiry": "rm_enquiries", "referral": "rm_referrals", "safety_assessment": "rm_safety"}
	rmKeyOf = map[string]string{"rm_visits": "visit_id", "rm_household": "member_id", "rm_flags": "flag_id",
		"rm_enquiries": "enquiry_id", "rm_referrals": "referral_id", "rm_safety": "assessment_id"}
)

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

// refreshReadModel writes again the read model rows of the records t
// created or changed, and the requirement rows of their cases.
func (db *DB) refreshReadModel(t *wtx) error {
	recs, signed, quiet := t.changedRecords()
	db.rmUnchanged.Add(int64(quiet))
	if len(recs) == 0 {
		return nil
	}
	w := newRMWriter(db, t)
	defer w.close()
	// A case t created has no rows to delete, and recs hold every record
	// it has: it is written whole, as a rebuild writes it, without a
	// DELETE and a read per record (on PostgreSQL each a round trip: most
	// of a Seed's time).
	var fresh, changed []schema.RawRecord
	for _, r := range recs {
		if t.newCases[r.CaseID] {
			fresh = append(fresh, r)
		} else {
			changed = append(changed, r)
		}
	}
	if len(fresh) > 0 {
		if err := db.applyRecords(w, fresh, true); err != nil {
			return err
		}
	}
	if len(changed) == 0 {
		return nil
	}
	w.factsChanged = factsChanged(changed, signed)
	return db.applyRecords(w, changed, false)
}

// changedRecords returns the records t created or changed that the read
// model is derived from, in the order t numbered them, and which of them
// are signed: from the rows the apply holds in memory (wtx.written), not
// read back from records, whose every field the apply has just encoded.
// Every record write goes through the apply (applier.insert and change
// note theirs); a record that lost a write and was only given a new
// number (applier.touch) did not change, nor do its rows.
//
// A visit stored before t, unsigned, and changed by it only in fields
// the read model does not read (rmWriter.quiet) is left out and only
// counted (quiet): applyVisits would leave its rows alone, and nothing
// else of the read model reads it (factsChanged reads a signed visit
// only, widens a flag or household member, deriveVisits a visit's own
// case's). A case whose every change is such a visit (an officer's push
// of next visits' dates and notes) is then not read at all, where
// applyCase read and decoded its case record for nothing (decision
// 0109). A visit amended by t is still read back, by its amendment.
func (t *wtx) changedRecords() ([]schema.RawRecord, map[string]bool, int) {
	rows := make([]*row, 0, len(t.written))
	quiet := 0
	for _, r := range t.written {
		switch {
		case !rmEntity[r.entity]:
		case r.entity == "visit" && !r.rmLoud && !r.signed && !t.newIDs[r.id] && !t.newCases[r.caseID]:
			quiet++
		default:
			rows = append(rows, r)
		}
	}
	slices.SortFunc(rows, func(a, b *row) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]schema.RawRecord, len(rows))
	signed := map[string]bool{}
	for i, r := range rows {
		out[i] = schema.RawRecord{Entity: r.entity, ID: r.id, CaseID: r.caseID, Fields: json.RawMessage(r.fieldsText)}
		if r.signed {
			signed[r.id] = true
		}
	}
	return out, signed, quiet
}

// factsChanged returns the cases of recs (changed records of existing
// cases) whose requirement rows may change: those where a record the
// policy reads changed (readFacts: the case, a flag, a household member,
// an enquiry, a signed visit, or an amendment, which may amend a signed
// visit). A visit not signed is not read by the policy, before or after
// the change: a signed record never changes (the apply keeps a change to
// it as a conflict) and an amendment cannot unsign a visit, so a visit
// unsigned now was unsigned before. Referrals and safety assessments make
// no requirement rows (an exemption is the query's). A push of drafts
// thus rewrites no requirement rows, and does not read back the case's
// signed visits, which for a large case was most of a push's time.
func factsChanged(recs []schema.RawRecord, signed map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		switch r.Entity {
		case "referral", "safety_assessment":
		case "visit":
			if signed[r.ID] {
				out[r.CaseID] = true
			}
		default:
			out[r.CaseID] = true
		}
	}
	return out
}

// writeCases derives every read model row of the given cases again, from
// all their records: a rebuild.
func (db *DB) writeCases(t *wtx, ids []string) error {
	w := newRMWriter(db, t)
	defer w.close()
	for chunk := range slices.Chunk(ids, rmChunk) {
		for _, id := range chunk {
			if err := w.deleteCase(id); err != nil {
				return err
			}
		}
		recs, err := readRecords(t, `case_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, anys(chunk)...)
		if err != nil {
			return err
		}
		if err := db.applyRecords(w, recs, true); err != nil {
			return err
		}
		// The case rows are written (applyRecords flushes them) with empty
		// contact days (migration 0028): set them from the visits just
		// written, so that a case written again is as a push leaves it.
		if err := t.setContactDays(chunk); err != nil {
			return err
		}
	}
	return nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// readRecords reads the records matching cond that the read model is
// derived from, in no order (nothing here depends on it; ordering by seq
// made SQLite walk every record of a case rather than use
// records_case_entity).
func readRecords(t *wtx, cond string, args ...any) ([]schema.RawRecord, error) {
	return scanReadRecords(t.QueryContext(t.ctx, readRecordsSQL(cond), args...))
}

// scanReadRecords scans the answer to a readRecordsSQL query.
func scanReadRecords(rows *sql.Rows, err error) ([]schema.RawRecord, error) {
	if err != nil {
		return nil, fmt.Errorf("read model: read records: %w", err)
	}
	out, err := scanRawRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("read model: read records: %w", err)
	}
	return out, nil
}

func readRecordsSQL(cond string) string {
	return `SELECT entity, id, case_id, fields FROM records WHERE ` + cond +
		` AND entity IN ('` + strings.Join(rmEntities, "','") + `')`
}

// readRecords is readRecords with the statement prepared once for the
// writer's transaction: a push to many cases reads each one's case record
// and amendments with the same few statements, which SQLite otherwise
// parsed and planned again for every case.
func (w *rmWriter) readRecords(cond string, args ...any) ([]schema.RawRecord, error) {
	s, err := w.prep(w.reads, cond, readRecordsSQL(cond))
	if err != nil {
		return nil, err
	}
	return scanReadRecords(s.QueryContext(w.t.ctx, args...))
}

// applyRecords writes the typed rows of recs again (whole: recs are every
// record of their cases, whose rows were deleted), then the requirement
// rows of their cases.
func (db *DB) applyRecords(w *rmWriter, recs []schema.RawRecord, whole bool) error {
	recs, err := db.applyRatings(w, recs, whole)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return w.flush()
	}
	byCase := map[string][]schema.RawRecord{}
	var ids []string
	for _, r := range recs {
		if _, ok := byCase[r.CaseID]; !ok {
			ids = append(ids, r.CaseID)
		}
		byCase[r.CaseID] = append(byCase[r.CaseID], r)
	}
	slices.Sort(ids)
	cases := map[string]schema.Case{}
	var wide []string
	for _, id := range ids {
		c, ok, err := db.applyCase(w, id, byCase[id], whole)
		if err != nil {
			return err
		}
		if ok {
			cases[id] = c
			if !whole && slices.ContainsFunc(byCase[id], widens) {
				wide = append(wide, id)
			}
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.writeExempt(); err != nil {
		return err
	}
	if err := w.deriveVisits(wide); err != nil {
		return err
	}
	if w.factsChanged != nil {
		ids = slices.DeleteFunc(ids, func(id string) bool { return !w.factsChanged[id] })
	}
	for chunk := range slices.Chunk(ids, rmChunk) {
		facts, err := readFacts(w.t, chunk)
		if err != nil {
			return err
		}
		for _, id := range chunk {
			if !whole {
				if err := w.deleteRows("requirements", "case_id", id); err != nil {
					return err
				}
			}
			c, ok := cases[id]
			if !ok {
				continue
			}
			f := facts[id]
			f.Case = c
			if err := w.writeRequirements(db.policy, id, f); err != nil {
				return err
			}
		}
	}
	return w.flush()
}

// The columns of rm_visits that read other rows of the case (migration
// 0014, decision 0061): da, 1 when the case has a DA flag (da_perpetrator,
// da_victim) live on the visit's started_day (start_date '' or on or
// before it, ended_on '' or after it), as measure 3's domestic_abuse
// figures count a contact; and of the children the visit should have seen
// (own, step or other children on the household list that day who live or
// sometimes stay there, born by then), how many (expected), how many seen
// or given a reason not seen (accounted) and how many given a reason
// (reasons), as measure 5 counts a home visit. The dates are compared as
// text, as the queries compared them.
//
// They are worked out in Go (deriveVisits, decision 0063): a visit the
// transaction writes is inserted with them, from its own children answers
// and its case's DA flags and children as written; the visits already
// written of a case whose flags or household members the transaction
// wrote are worked out again and updated where a value changed. Nothing
// else changes them: a visit's values read only its own row, its
// children answers (rewritten with it) and its case's flags and household.

// rmVisitDerived is what the derived columns read of a case: its DA
// flags' dates and its children who live or stay there.
type rmVisitDerived struct {
	flags []rmDates // DA flags: start_date, ended_on
	kids  []rmKid
}

type rmDates struct{ from, until string }

type rmKid struct {
	member     string
	born, from string // date_of_birth, added_on
	until      string // left_on
}

// derive is the visit's da, expected, accounted and reasons, for a visit
// started on day whose children answers are answer (by member: "seen",
// "reason" or "").
func (d *rmVisitDerived) derive(day string, answer func(member string) string) (da, expected, accounted, reasons int) {
	for _, f := range d.flags {
		if (f.from == "" || f.from <= day) && (f.until == "" || f.until > day) {
			da = 1
			break
		}
	}
	for _, k := range d.kids {
		if (k.from != "" && k.from > day) || (k.until != "" && k.until <= day) || (k.born != "" && k.born > day) {
			continue
		}
		expected++
		switch answer(k.member) {
		case "seen":
			accounted++
		case "reason":
			accounted++
			reasons++
		}
	}
	return da, expected, accounted, reasons
}

// rmPendingVisit is a visit's row the transaction writes, held until its
// derived columns are known (deriveVisits).
type rmPendingVisit struct {
	caseID, day string
	args        []any
	answers     []rmAnswer
}

type rmAnswer struct{ member, answer string }

// deriveVisits works out the derived columns (above) of the visits the
// writer holds (w.pending), and writes them; and of the visits already
// written of the cases wide (whose flags or household members were
// written), updating those whose values changed. Call it after flush: it
// reads the cases' rows as written. It writes rm_visits before it
// returns (the requirement rows read them back).
func (w *rmWriter) deriveVisits(wide []string) error {
	byCase := map[string][]*rmPendingVisit{}
	for i := range w.pending {
		p := &w.pending[i]
		byCase[p.caseID] = append(byCase[p.caseID], p)
	}
	isWide := make(map[string]bool, len(wide))
	ids := slices.Clone(wide)
	for _, id := range wide {
		isWide[id] = true
	}
	for id := range byCase {
		if !isWide[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for chunk := range slices.Chunk(ids, rmChunk) {
		of, err := w.readDerived(chunk)
		if err != nil {
			return err
		}
		var wideChunk []string
		for _, id := range chunk {
			if isWide[id] {
				wideChunk = append(wideChunk, id)
			}
		}
		if err := w.rederiveVisits(wideChunk, of); err != nil {
			return err
		}
		for _, id := range chunk {
			for _, p := range byCase[id] {
				da, expected, accounted, reasons := of[id].derive(p.day, func(member string) string {
					for _, a := range p.answers {
						if a.member == member {
							return a.answer
						}
					}
					return ""
				})
				if err := w.exec("rm_visits", append(p.args, da, expected, accounted, reasons)...); err != nil {
					return err
				}
			}
		}
	}
	w.pending = w.pending[:0]
	return w.flushTable("rm_visits")
}

// readDerived reads what the derived columns read of the given cases.
func (w *rmWriter) readDerived(ids []string) (map[string]*rmVisitDerived, error) {
	out := make(map[string]*rmVisitDerived, len(ids))
	for _, id := range ids {
		out[id] = &rmVisitDerived{}
	}
	err := w.query("rm_flags derived", `SELECT case_id, start_date, ended_on FROM rm_flags
		WHERE case_id IN (`+w.t.eng.idsIn()+`) AND type IN ('da_perpetrator', 'da_victim')`, ids, func(rows *sql.Rows) error {
		var id string
		var f rmDates
		if err := rows.Scan(&id, &f.from, &f.until); err != nil {
			return err
		}
		out[id].flags = append(out[id].flags, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = w.query("rm_household derived", `SELECT case_id, member_id, date_of_birth, added_on, left_on FROM rm_household
		WHERE case_id IN (`+w.t.eng.idsIn()+`) AND is_child = 1 AND residence <> 'visits'`, ids, func(rows *sql.Rows) error {
		var id string
		var k rmKid
		if err := rows.Scan(&id, &k.member, &k.born, &k.from, &k.until); err != nil {
			return err
		}
		out[id].kids = append(out[id].kids, k)
		return nil
	})
	return out, err
}

// rederiveVisits works out again the derived columns of the written
// visits of the given cases, and updates the rows whose values changed.
func (w *rmWriter) rederiveVisits(ids []string, of map[string]*rmVisitDerived) error {
	if len(ids) == 0 {
		return nil
	}
	answers := map[[2]string]string{} // by visit and member
	err := w.query("rm_visit_children derived", `SELECT visit_id, member_id, answer FROM rm_visit_children
		WHERE case_id IN (`+w.t.eng.idsIn()+`) AND answer <> ''`, ids, func(rows *sql.Rows) error {
		var vid, member, answer string
		if err := rows.Scan(&vid, &member, &answer); err != nil {
			return err
		}
		answers[[2]string{vid, member}] = answer
		return nil
	})
	if err != nil {
		return err
	}
	type change struct {
		vid  string
		vals [4]int
	}
	var changes []change
	err = w.query("rm_visits derived", `SELECT visit_id, case_id, started_day, da, expected, accounted, reasons FROM rm_visits
		WHERE case_id IN (`+w.t.eng.idsIn()+`)`, ids, func(rows *sql.Rows) error {
		var vid, id, day string
		var was [4]int
		if err := rows.Scan(&vid, &id, &day, &was[0], &was[1], &was[2], &was[3]); err != nil {
			return err
		}
		var now [4]int
		now[0], now[1], now[2], now[3] = of[id].derive(day, func(member string) string { return answers[[2]string{vid, member}] })
		if now != was {
			changes = append(changes, change{vid, now})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		s, err := w.prep(w.full, "rm_visits derived", `UPDATE rm_visits SET da = ?, expected = ?, accounted = ?, reasons = ?
			WHERE visit_id = ?`)
		if err != nil {
			return err
		}
		if _, err := s.ExecContext(w.t.ctx, c.vals[0], c.vals[1], c.vals[2], c.vals[3], c.vid); err != nil {
			return fmt.Errorf("read model: visits' derived columns: %w", err)
		}
	}
	return nil
}

// query runs the statement q (prepared once for the writer's
// transaction, cached as key) for the cases ids, scanning each row.
func (w *rmWriter) query(key, q string, ids []string, scan func(*sql.Rows) error) error {
	s, err := w.prep(w.reads, key, q)
	if err != nil {
		return err
	}
	rows, err := s.QueryContext(w.t.ctx, jsonIDList(ids))
	if err != nil {
		return fmt.Errorf("read model: %s: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("read model: %s: %w", key, err)
		}
	}
	return rows.Err()
}

// rmVisit is what the read model keeps of a visit: the fields rm_visits
// holds, which are those the policy reads (those policy.IndexVisits
// keeps), decoded without the rest of a visit's kilobyte of notes.
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
	// Measures 3 and 5 (migration 0011).
	PlaceType        string   `json:"place_type"`
	ElsewhereReason  string   `json:"elsewhere_reason"`
	PartnerPresent   string   `json:"partner_present"`
	PartnerSeenAlone string   `json:"partner_seen_alone"`
	Observations     []string `json:"observations"`
}

func (v rmVisit) visit(id, caseID string) schema.Visit {
	return schema.Visit{ID: id, CaseID: caseID, Status: v.Status, Type: v.Type, Location: v.Location, Outcome: v.Outcome,
		FaceToFace: v.FaceToFace, PlannedAt: v.PlannedAt, StartedAt: v.StartedAt, SignedAt: v.SignedAt,
		ChildrenPresent: v.ChildrenPresent, Children: v.Children, PlaceType: v.PlaceType, ElsewhereReason: v.ElsewhereReason,
		PartnerPresent: v.PartnerPresent, PartnerSeenAlone: v.PartnerSeenAlone, Observations: v.Observations}
}

// decodeFailed logs a record that does not decode. The store validated it
// on write, so only a damaged file holds one; it is left out of the read
// model rather than stopping every later write to its case.
func (db *DB) decodeFailed(r schema.RawRecord, err error) {
	db.log.Warn("read model: a record does not decode; left out", "entity", r.Entity, "id", r.ID, "err", err)
}

// applyCase writes the typed rows of recs, the changed records of case
// id (whole: all of them). It returns the case, false when the case has
// no case record (its records then have no rows, as the Go measures drop
// them).
func (db *DB) applyCase(w *rmWriter, id string, recs []schema.RawRecord, whole bool) (schema.Case, bool, error) {
	var caseRec *schema.RawRecord
	for i := range recs {
		if recs[i].Entity == "case" {
			caseRec = &recs[i]
		}
	}
	changed := caseRec != nil
	if caseRec == nil && !whole {
		got, err := w.readRecords(`id = ? AND entity = 'case'`, id)
		if err != nil {
			return schema.Case{}, false, err
		}
		if len(got) == 1 {
			caseRec = &got[0]
		}
	}
	var c schema.Case
	if caseRec == nil {
		return c, false, nil
	}
	if err := caseRec.Decode(&c); err != nil {
		db.decodeFailed(*caseRec, err)
		return c, false, nil
	}
	if changed {
		if !whole {
			if err := w.deleteRows("rm_cases", "case_id", id); err != nil {
				return c, false, err
			}
		}
		roshDue := policy.RoSHReviewDue(c.RoSHDate)
		w.number(c.TeamID, c.OfficerID)
		if err := w.exec("rm_cases", id, c.CRN, c.GivenName, c.FamilyName, c.OfficerID, c.TeamID, c.RoSH, c.Address,
			string(c.SupervisionStart), boolInt(c.Closed),
			string(policy.MonthsAfter(c.SupervisionStart, schema.HouseholdConfirmMonths)),
			string(c.RoSHDate), string(roshDue), dayOrNull(roshDue), dayOrNull(c.SupervisionStart), c.TeamID, c.OfficerID); err != nil {
			return c, false, err
		}
	}

	// The safety assessments: all of them when the case changed (whether
	// each is of the current address reads the case's), else those changed.
	safety := filterEntity(recs, "safety_assessment")
	if changed && !whole {
		var err error
		if safety, err = w.readRecords(`case_id = ? AND entity = 'safety_assessment'`, id); err != nil {
			return c, false, err
		}
		if err := w.deleteRows("rm_safety", "case_id", id); err != nil {
			return c, false, err
		}
	} else if !whole {
		for _, r := range safety {
			if err := w.deleteRows("rm_safety", "assessment_id", r.ID); err != nil {
				return c, false, err
			}
		}
	}
	for _, r := range safety {
		var a schema.SafetyAssessment
		if err := r.Decode(&a); err != nil {
			db.decodeFailed(r, err)
			continue
		}
		applies := a.Address == "" || c.Address == "" || a.Address == c.Address
		ex, exempting := policy.SafetyExemption(c, a)
		if err := w.exec("rm_safety", a.ID, id, string(a.AssessedOn), string(a.DecidedOn), a.Decision, a.DecidedBy, ex.Reason,
			boolInt(applies), boolInt(exempting)); err != nil {
			return c, false, err
		}
	}
	// The case's exempted days (rm_exempt) are written again from its
	// rm_safety rows once those are written (rmWriter.writeExempt): when
	// any of them was, or the case record changed (whether each applies).
	if changed || len(safety) > 0 {
		if !whole {
			if err := w.deleteRows("rm_exempt", "case_id", id); err != nil {
				return c, false, err
			}
		}
		w.exempt = append(w.exempt, id)
	}

	if err := db.applyVisits(w, id, recs, whole); err != nil {
		return c, false, err
	}

	for _, r := range recs {
		table := rmTableOf[r.Entity]
		if table == "" || r.Entity == "visit" || r.Entity == "safety_assessment" {
			continue
		}
		if !whole {
			if err := w.deleteRows(table, rmKeyOf[table], r.ID); err != nil {
				return c, false, err
			}
		}
		var row []any
		var err error
		switch r.Entity {
		case "flag":
			var f schema.Flag
			if err = r.Decode(&f); err == nil {
				row = []any{f.ID, id, f.Type, string(f.StartDate), string(f.EndedOn), string(f.LastReviewed),
					string(f.NextReviewDate), dayOrNull(f.NextReviewDate)}
			}
		case "household_member":
			var m schema.HouseholdMember
			if err = r.Decode(&m); err == nil {
				row = []any{m.ID, id, m.Relation, m.Residence, string(m.DateOfBirth), string(m.AddedOn), string(m.LeftOn),
					boolInt(m.IsChild()), boolInt(m.IsPartner()), string(m.ConfirmedOn),
					string(policy.MonthsAfter(m.ConfirmedOn, schema.HouseholdConfirmMonths)), m.ChildVictimInOwnRight}
			}
		case "enquiry":
			var e schema.Enquiry
			if err = r.Decode(&e); err == nil {
				row = []any{e.ID, id, e.Agency, e.Stage, string(e.RequestedOn), string(e.DueOn), string(e.AnsweredOn), e.Result,
					e.NotRequestedReason, dayOrNull(e.AnsweredOn)}
			}
		case "referral":
			var f schema.Referral
			if err = r.Decode(&f); err == nil {
				row = []any{f.ID, id, f.Need, string(f.IdentifiedOn), f.Decision, f.Status, string(f.StatusOn), f.DecisionReason}
			}
		}
		if err != nil {
			db.decodeFailed(r, err)
			continue
		}
		if err := w.exec(table, row...); err != nil {
			return c, false, err
		}
	}
	return c, true, nil
}

func filterEntity(recs []schema.RawRecord, entity string) []schema.RawRecord {
	var out []schema.RawRecord
	for _, r := range recs {
		if r.Entity == entity {
			out = append(out, r)
		}
	}
	return out
}

// applyVisits writes the rows of the visits of case id that recs changed,
// or whose amendments they did, each with all its amendments applied
// (policy.AmendVisit, in the order made), as the Go measures group them.
func (db *DB) applyVisits(w *rmWriter, id string, recs []schema.RawRecord, whole bool) error {
	visits := map[string]schema.RawRecord{}
	var amended []string
	for _, r := range recs {
		switch r.Entity {
		case "visit":
			if !whole && w.quiet(r.ID) {
				w.unchanged.Add(1)
				continue
			}
			visits[r.ID] = r
		case "amendment":
			var a struct {
				VisitID string `json:"visit_id"`
			}
			if err := json.Unmarshal(r.Fields, &a); err == nil && a.VisitID != "" {
				amended = append(amended, a.VisitID)
			}
		}
	}
	amendments := filterEntity(recs, "amendment")
	if !whole && (len(visits) > 0 || len(amended) > 0) {
		// The case's amendments, all of them: a changed visit keeps those
		// made before.
		var err error
		if amendments, err = w.readRecords(`case_id = ? AND entity = 'amendment'`, id); err != nil {
			return err
		}
		var missing []string
		for _, v := range amended {
			if _, ok := visits[v]; !ok && !slices.Contains(missing, v) {
				missing = append(missing, v)
			}
		}
		if len(missing) > 0 {
			got, err := w.readRecords(`case_id = ? AND entity = 'visit' AND id IN (?`+strings.Repeat(",?", len(missing)-1)+`)`,
				append([]any{id}, anys(missing)...)...)
			if err != nil {
				return err
			}
			for _, r := range got {
				visits[r.ID] = r
			}
		}
	}
	byVisit := map[string][]schema.Amendment{}
	for _, r := range amendments {
		var a schema.Amendment
		if err := r.Decode(&a); err != nil {
			db.decodeFailed(r, err)
			continue
		}
		byVisit[a.VisitID] = append(byVisit[a.VisitID], a)
	}
	ids := make([]string, 0, len(visits))
	for vid := range visits {
		ids = append(ids, vid)
	}
	slices.Sort(ids)
	// The rows the changed visits have now: a visit whose rows would be
	// written as they are is left alone (see readStoredVisits).
	var stored map[string]*rmStoredVisit
	if !whole && !slices.ContainsFunc(recs, widens) {
		var err error
		if stored, err = w.readStoredVisits(ids); err != nil {
			return err
		}
	}
	for _, vid := range ids {
		r := visits[vid]
		var sv rmVisit
		if err := w.decodeFields(r, &sv); err != nil {
			db.decodeFailed(r, err)
			continue
		}
		v := sv.visit(r.ID, r.CaseID)
		if as := byVisit[vid]; len(as) > 0 {
			amended, err := policy.AmendVisit(v, as)
			if err != nil {
				db.log.Warn("read model: an amendment does not apply; applied as far as it goes", "visit", vid, "err", err)
			}
			v = amended
		}
		day, _ := localDay(cmp.Or(v.PlannedAt, v.StartedAt))
		children := ""
		if len(v.Children) > 0 {
			b, err := json.Marshal(v.Children)
			if err != nil {
				return fmt.Errorf("read model: visit %s: %w", vid, err)
			}
			children = string(b)
		}
		started, _ := localDay(v.StartedAt)
		channel, place := schema.ContactChannel(v)
		answers := visitAnswers(v)
		args := []any{
			v.ID, id, v.Status, v.Type, v.Location, v.Outcome, boolInt(v.FaceToFace),
			string(v.PlannedAt), string(v.StartedAt), string(v.SignedAt), string(day), v.ChildrenPresent, children,
			string(started), channel, place, v.ElsewhereReason, v.PartnerPresent, v.PartnerSeenAlone,
			boolInt(slices.Contains(v.Observations, "child_not_on_record"))}
		if st := stored[vid]; st != nil && st.same(args, answers) {
			w.unchanged.Add(1)
			continue
		}
		if !whole {
			if err := w.deleteRows("rm_visits", "visit_id", vid); err != nil {
				return err
			}
			if err := w.deleteRows("rm_visit_children", "visit_id", vid); err != nil {
				return err
			}
		}
		w.pending = append(w.pending, rmPendingVisit{caseID: id, day: string(started), answers: answers, args: args})
		for _, a := range answers {
			if err := w.exec("rm_visit_children", v.ID, v.CaseID, a.member, a.answer); err != nil {
				return err
			}
		}
	}
	return nil
}

// widens reports whether a record changed in a case makes its visits'
// derived columns be worked out again (deriveVisits' wide cases).
func widens(r schema.RawRecord) bool { return r.Entity == "flag" || r.Entity == "household_member" }

// rmVisitFields are the JSON names of the visit fields rm_visits and
// rm_visit_children are derived from (rmVisit's).
var rmVisitFields = jsonFieldsOf(reflect.TypeFor[rmVisit]())

// rmReadsField reports whether the read model's rows of a record of
// entity may read its field name: for a visit, whether rmVisit decodes it
// (compared as encoding/json matches a key, ignoring case: a name that
// differs only in case counts as read); for every other entity, any
// field. A visit's rows read nothing else of its record but its id and
// case, its amendments (records of their own) and its case's flags and
// household members (deriveVisits), so a visit the transaction changed
// only in fields rmReadsField refuses derives the rows it had.
func rmReadsField(entity, name string) bool {
	if entity != "visit" {
		return true
	}
	return slices.ContainsFunc(rmVisitFields, func(f jsonField) bool { return strings.EqualFold(f.name, name) })
}

// quiet reports whether the visit id, stored before the transaction, was
// changed by it only in fields the read model does not read (row.rmLoud):
// its rows stay as they are, and are neither read back nor compared
// (decision 0099). A visit whose amendment the transaction wrote is still
// read back and written (applyVisits' missing visits).
func (w *rmWriter) quiet(id string) bool {
	r := w.t.written[id]
	return r != nil && !r.rmLoud && !w.t.newIDs[id]
}

// rmStoredVisit is a visit's rows as the read model holds them: its
// rm_visits row's columns up to the derived ones (in rmPendingVisit.args'
// order) and its rm_visit_children answers.
type rmStoredVisit struct {
	cols    []any
	answers map[string]string // by member
	caseID  string            // of the answers' rows
	odd     bool              // an answer row of another case
}

// rmVisitColumns are rm_visits' columns in rmPendingVisit.args' order.
const rmVisitColumns = `visit_id, case_id, status, type, location, outcome, face_to_face, planned_at,
	started_at, signed_at, day, children_present, children, started_day, channel, place, elsewhere_reason,
	partner_present, partner_seen_alone, child_not_on_record`

// readStoredVisits reads the rows of the given visits, those the
// transaction did not create, as the read model holds them (decision
// 0073). A push that changes what the read model does not keep of a
// visit (its notes, its next visit's date: most of an officer's changes
// to a draft) would otherwise delete and insert again the same rows and
// their index entries; the visit is left alone when its new rows are
// those stored. Only for a case none of whose flags or household members
// the transaction wrote: then the derived columns (da, expected,
// accounted, reasons) read nothing that changed but the visit's own row
// and answers, so equal rows derive equal values.
func (w *rmWriter) readStoredVisits(ids []string) (map[string]*rmStoredVisit, error) {
	old := make([]string, 0, len(ids))
	for _, id := range ids {
		if !w.t.newIDs[id] {
			old = append(old, id)
		}
	}
	if len(old) == 0 {
		return nil, nil
	}
	w.stored.Add(int64(len(old)))
	out := make(map[string]*rmStoredVisit, len(old))
	err := w.query("rm_visits stored", `SELECT `+rmVisitColumns+` FROM rm_visits WHERE visit_id IN (`+w.t.eng.idsIn()+`)`, old,
		func(rows *sql.Rows) error {
			cols := make([]any, strings.Count(rmVisitColumns, ",")+1)
			ptrs := make([]any, len(cols))
			for i := range cols {
				ptrs[i] = &cols[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			id, _ := cols[0].(string)
			out[id] = &rmStoredVisit{cols: cols}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = w.query("rm_visit_children stored", `SELECT visit_id, case_id, member_id, answer FROM rm_visit_children
		WHERE visit_id IN (`+w.t.eng.idsIn()+`)`, old, func(rows *sql.Rows) error {
		var vid, caseID, member, answer string
		if err := rows.Scan(&vid, &caseID, &member, &answer); err != nil {
			return err
		}
		st := out[vid]
		if st == nil {
			return nil // answers without a visit row: written again
		}
		if st.answers == nil {
			st.answers, st.caseID = map[string]string{}, caseID
		}
		st.odd = st.odd || caseID != st.caseID
		st.answers[member] = answer
		return nil
	})
	return out, err
}

// same reports whether the visit's rows, written with args and answers,
// would be those stored: every column the same value, the same children
// answers for the same case.
func (st *rmStoredVisit) same(args []any, answers []rmAnswer) bool {
	if len(args) != len(st.cols) || st.odd || len(answers) != len(st.answers) {
		return false
	}
	for i, a := range args {
		if !sameColumn(a, st.cols[i]) {
			return false
		}
	}
	caseID, _ := args[1].(string)
	if len(answers) > 0 && st.caseID != caseID {
		return false
	}
	for _, a := range answers {
		if got, ok := st.answers[a.member]; !ok || got != a.answer {
			return false
		}
	}
	return true
}

// sameColumn compares a value to be written (a string or an int) with
// one read back (a string, []byte or an integer, by engine): any other
// type, or a type that does not match, is a difference (the row is
// written again).
func sameColumn(arg, got any) bool {
	switch a := arg.(type) {
	case string:
		switch g := got.(type) {
		case string:
			return a == g
		case []byte:
			return a == string(g)
		}
	case int:
		switch g := got.(type) {
		case int64:
			return int64(a) == g
		case int32:
			return int64(a) == int64(g)
		}
	}
	return false
}

// readFacts reads back, from the typed rows, what the policy reads of
// each of the given cases' records: of the visits, only the signed ones
// (the policy leaves the others out).
func readFacts(t *wtx, ids []string) (map[string]*policy.Records, error) {
	out := make(map[string]*policy.Records, len(ids))
	for _, id := range ids {
		out[id] = &policy.Records{}
	}
	in := `case_id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	args := anys(ids)
	read := func(q string, scan func(rows *sql.Rows) error) error {
		where := ` WHERE `
		if strings.Contains(q, " WHERE ") {
			where = ` AND `
		}
		rows, err := t.QueryContext(t.ctx, q+where+in, args...)
		if err != nil {
			return fmt.Errorf("read model: read facts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("read model: read facts: %w", err)
			}
		}
		return rows.Err()
	}
	err := read(`SELECT flag_id, case_id, type, start_date, ended_on FROM rm_flags`, func(rows *sql.Rows) error {
		var f schema.Flag
		if err := rows.Scan(&f.ID, &f.CaseID, &f.Type, &f.StartDate, &f.EndedOn); err != nil {
			return err
		}
		out[f.CaseID].Flags = append(out[f.CaseID].Flags, f)
		return nil
	})
	if err == nil {
		err = read(`SELECT member_id, case_id, relation, residence, date_of_birth, added_on, left_on FROM rm_household`, func(rows *sql.Rows) error {
			var m schema.HouseholdMember
			if err := rows.Scan(&m.ID, &m.CaseID, &m.Relation, &m.Residence, &m.DateOfBirth, &m.AddedOn, &m.LeftOn); err != nil {
				return err
			}
			out[m.CaseID].Household = append(out[m.CaseID].Household, m)
			return nil
		})
	}
	if err == nil {
		err = read(`SELECT enquiry_id, case_id, agency, result, answered_on FROM rm_enquiries`, func(rows *sql.Rows) error {
			var e schema.Enquiry
			if err := rows.Scan(&e.ID, &e.CaseID, &e.Agency, &e.Result, &e.AnsweredOn); err != nil {
				return err
			}
			out[e.CaseID].Enquiries = append(out[e.CaseID].Enquiries, e)
			return nil
		})
	}
	if err == nil {
		err = read(`SELECT visit_id, case_id, status, type, location, outcome, face_to_face, started_at, signed_at,
			children_present, children FROM rm_visits WHERE status = 'signed' AND signed_at <> ''`, func(rows *sql.Rows) error {
			var v schema.Visit
			var f2f int
			var children string
			if err := rows.Scan(&v.ID, &v.CaseID, &v.Status, &v.Type, &v.Location, &v.Outcome, &f2f, &v.StartedAt, &v.SignedAt,
				&v.ChildrenPresent, &children); err != nil {
				return err
			}
			v.FaceToFace = f2f == 1
			if children != "" {
				if err := json.Unmarshal([]byte(children), &v.Children); err != nil {
					return err
				}
			}
			out[v.CaseID].Visits = append(out[v.CaseID].Visits, v)
			return nil
		})
	}
	return out, err
}

// rmWriter holds the statements that write one transaction's read model
// rows. Inserts are buffered per table and written rmBatch rows to a
// statement (flush), which costs a fraction of one statement a row.
// Deletes are buffered too, per table and column, and written with one
// statement per table and column before the table's next insert or read
// (flushDeletes); a delete of a record the transaction created is not
// written at all: nothing can have derived a row from it yet.
type rmWriter struct {
	t       *wtx
	deletes *atomic.Int64 // DB.rmDeletes
	// unchanged counts the changed visits whose rows were left as they
	// were (readStoredVisits, quiet): DB.rmUnchanged, which tests read.
	unchanged *atomic.Int64
	del       map[string]rmStmt // by "table.column"
	full      map[string]rmStmt // an INSERT of rmBatch rows, per table
	reads     map[string]rmStmt // readRecords', by condition
	rows      map[string][]any  // buffered arguments, per table
	stmts     []*sql.Stmt
	// dels are the ids buffered for deletion, by table then column.
	dels map[string]map[string][]string
	// factsChanged, when not nil, are the cases whose requirement rows
	// are written again (see factsChanged); nil: every case's.
	factsChanged map[string]bool
	// pending are the visits' rows written once their derived columns
	// are known (deriveVisits).
	pending []rmPendingVisit
	// ids are the team and officer ids of the case rows buffered, to be
	// given a number in rm_ids (if they have none) before those rows are
	// written (number); numbered, those this writer has seen to.
	ids      []string
	numbered map[string]bool

	// exempt are the cases whose rm_exempt rows writeExempt writes
	// again, from their rm_safety rows.
	exempt []string

	// stored counts the visits readStoredVisits read back:
	// DB.rmStoredVisits, which tests read.
	stored *atomic.Int64
}

// rmBatch is how many rows one INSERT writes.
const rmBatch = 64

var rmInserts = map[string]string{
	// A case's team_no and officer_no are its ids' numbers (rm_ids,
	// migration 0020), which the writer gives an id first seen before the
	// case row is written (rmWriter.number).
	"rm_cases": `INSERT INTO rm_cases (case_id, crn, given_name, family_name, officer_id, team_id, rosh, address,
		supervision_start, closed, household_due_after, rosh_date, rosh_due, rosh_due_day, start_day, team_no, officer_no)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT no FROM rm_ids WHERE id = ?), (SELECT no FROM rm_ids WHERE id = ?))`,
	"rm_visits": `INSERT INTO rm_visits (visit_id, case_id, status, type, location, outcome, face_to_face, planned_at,
		started_at, signed_at, day, children_present, children, started_day, channel, place, elsewhere_reason,
		partner_present, partner_seen_alone, child_not_on_record, da, expected, accounted, reasons)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_household": `INSERT INTO rm_household (member_id, case_id, relation, residence, date_of_birth, added_on, left_on,
		is_child, is_partner, confirmed_on, confirmed_until, victim) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_flags": `INSERT INTO rm_flags (flag_id, case_id, type, start_date, ended_on, last_reviewed, next_review_date,
		next_review_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_enquiries": `INSERT INTO rm_enquiries (enquiry_id, case_id, agency, stage, requested_on, due_on, answered_on, result,
		not_requested_reason, answered_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_referrals": `INSERT INTO rm_referrals (referral_id, case_id, need, identified_on, decision, status, status_on,
		decision_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_safety": `INSERT INTO rm_safety (assessment_id, case_id, assessed_on, decided_on, decision, decided_by, reason,
		applies, exempting) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"requirements": `INSERT INTO requirements (case_id, n, officer_id, team_id, closed, rule_id, rule_version, trigger_kind,
		triggered_on, triggered_day, source, recurrence, due_on, due_day, met_by, met_on, met_day, first_home, start_day)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"rm_visit_children": `INSERT INTO rm_visit_children (visit_id, case_id, member_id, answer)
		VALUES (?, ?, ?, ?)`,
	"rm_qa_ratings": `INSERT INTO rm_qa_ratings (oversight_id, case_id, subject_id, decision, reason, rated_by, rated_at, day)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
}

func newRMWriter(db *DB, t *wtx) *rmWriter {
	return &rmWriter{t: t, deletes: &db.rmDeletes, unchanged: &db.rmUnchanged, stored: &db.rmStoredVisits, del: map[string]rmStmt{}, full: map[string]rmStmt{}, reads: map[string]rmStmt{}, rows: map[string][]any{},
		dels: map[string]map[string][]string{}}
}

// rmStmt is a statement of the writer's: *sql.Stmt, or on PostgreSQL
// rmText.
type rmStmt interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
}

// rmText runs its statement by its text in the transaction. On
// PostgreSQL a statement prepared in a transaction costs a round trip to
// prepare and another to deallocate when it is closed, every transaction
// (a push of 100 changed visits prepared about a dozen); run by its text,
// pgx prepares it once a connection (its statement cache, by text) and
// each run is one round trip (decision 0066).
type rmText struct {
	t *wtx
	q string
}

func (s rmText) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return s.t.Tx.ExecContext(ctx, s.q, args...)
}

func (s rmText) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return s.t.Tx.QueryContext(ctx, s.q, args...)
}

// prep prepares q once for the writer's transaction (on SQLite; on
// PostgreSQL see rmText).
func (w *rmWriter) prep(cache map[string]rmStmt, key, q string) (rmStmt, error) {
	if s, ok := cache[key]; ok {
		return s, nil
	}
	if w.t.eng.name() == "postgres" {
		s := rmText{w.t, q}
		cache[key] = s
		return s, nil
	}
	s, err := w.t.PrepareContext(w.t.ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read model: prepare: %w", err)
	}
	w.stmts = append(w.stmts, s)
	cache[key] = s
	return s, nil
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

// deleteRows deletes the rows of table whose column col is id, before
// the table's next rows are written or read. Rows still buffered are not
// looked at: a record's row is deleted before it is written again, and
// each record is written once a transaction.
func (w *rmWriter) deleteRows(table, col, id string) error {
	if col != "case_id" && w.t.newIDs[id] {
		return nil // created by this transaction: no row derives from it yet
	}
	if w.dels[table] == nil {
		w.dels[table] = map[string][]string{}
	}
	w.dels[table][col] = append(w.dels[table][col], id)
	return nil
}

// flushDeletes writes the deletes buffered for table.
func (w *rmWriter) flushDeletes(table string) error {
	for col, ids := range w.dels[table] {
		if len(ids) == 0 {
			continue
		}
		s, err := w.prep(w.del, table+"."+col, `DELETE FROM `+table+` WHERE `+col+` IN (`+w.t.eng.idsIn()+`)`)
		if err != nil {
			return err
		}
		if _, err := s.ExecContext(w.t.ctx, jsonIDList(ids)); err != nil {
			return fmt.Errorf("read model: clear %s: %w", table, err)
		}
		w.deletes.Add(int64(len(ids)))
		w.dels[table][col] = ids[:0]
	}
	return nil
}

// deleteCase deletes every row of case id.
func (w *rmWriter) deleteCase(id string) error {
	for _, table := range rmTables {
		if err := w.deleteRows(table, "case_id", id); err != nil {
			return err
		}
	}
	return nil
}

// number buffers ids (a case's team and officer) to be given their
// numbers in rm_ids, when they have none, before the case rows buffered
// are written: each id once a writer.
func (w *rmWriter) number(ids ...string) {
	if w.numbered == nil {
		w.numbered = map[string]bool{}
	}
	for _, id := range ids {
		if !w.numbered[id] {
			w.numbered[id] = true
			w.ids = append(w.ids, id)
		}
	}
}

// flushIDs gives the ids buffered by number their numbers, one statement
// for them all; an id numbered already keeps its number.
func (w *rmWriter) flushIDs() error {
	if len(w.ids) == 0 {
		return nil
	}
	q := `INSERT INTO rm_ids (id) VALUES ` + strings.TrimSuffix(strings.Repeat(`(?), `, len(w.ids)), `, `) +
		` ON CONFLICT (id) DO NOTHING`
	args := make([]any, len(w.ids))
	for i, id := range w.ids {
		args[i] = id
	}
	if _, err := w.t.ExecContext(w.t.ctx, q, args...); err != nil {
		return fmt.Errorf("read model: number ids: %w", err)
	}
	w.ids = w.ids[:0]
	return nil
}

// beforeInsert writes what table's buffered rows need written first: its
// deletes, and for rm_cases the numbers of its ids.
func (w *rmWriter) beforeInsert(table string) error {
	if table == "rm_cases" {
		if err := w.flushIDs(); err != nil {
			return err
		}
	}
	return w.flushDeletes(table)
}

// exec buffers one row of table, writing the buffer when it is full.
func (w *rmWriter) exec(table string, args ...any) error {
	w.rows[table] = append(w.rows[table], args...)
	if len(w.rows[table]) == rmBatch*len(args) {
		if err := w.beforeInsert(table); err != nil {
			return err
		}
		s, err := w.prep(w.full, table, rmInsert(table, rmBatch))
		if err != nil {
			return err
		}
		if _, err := s.ExecContext(w.t.ctx, w.rows[table]...); err != nil {
			return fmt.Errorf("read model: write %s: %w", table, err)
		}
		w.rows[table] = w.rows[table][:0]
	}
	return nil
}

// flushTable writes the rows of table still buffered.
func (w *rmWriter) flushTable(table string) error {
	if err := w.beforeInsert(table); err != nil {
		return err
	}
	args := w.rows[table]
	if len(args) == 0 {
		return nil
	}
	n := len(args) / strings.Count(rmInserts[table], "?")
	if _, err := w.t.ExecContext(w.t.ctx, rmInsert(table, n), args...); err != nil {
		return fmt.Errorf("read model: write %s: %w", table, err)
	}
	w.rows[table] = args[:0]
	return nil
}

// rmExemptSelect is the rm_exempt rows of the cases whose rm_safety rows
// its WHERE (to be completed) keeps: the statement migration 0025 fills
// the table with, whose comments say why each row is a span its
// assessment exempts the case on.
const rmExemptSelect = `SELECT case_id, from_day, COALESCE(next_on, '9999-12-31'), assessment_id, decision, reason, decided_by
FROM (SELECT s.case_id, s.assessment_id, s.decision, s.reason, s.decided_by, s.exempting,
        CASE WHEN s.decided_on > s.assessed_on THEN s.decided_on ELSE s.assessed_on END AS from_day,
        LEAD(s.assessed_on) OVER (PARTITION BY s.case_id ORDER BY s.assessed_on, s.decided_on, s.assessment_id) AS next_on
    FROM rm_safety s WHERE s.applies = 1 AND s.assessed_on <> '' AND `

// writeExempt writes the rm_exempt rows of the cases buffered (exempt)
// from their rm_safety rows, once those and the cases' rm_exempt deletes
// are written (flush): one statement for them all.
func (w *rmWriter) writeExempt() error {
	if len(w.exempt) == 0 {
		return nil
	}
	q := `INSERT INTO rm_exempt (case_id, from_day, to_day, assessment_id, decision, reason, decided_by) ` + rmExemptSelect +
		`s.case_id IN (` + w.t.eng.idsIn() + `)) x
WHERE exempting = 1 AND (next_on IS NULL OR next_on > from_day)`
	if _, err := w.t.ExecContext(w.t.ctx, q, jsonIDList(w.exempt)); err != nil {
		return fmt.Errorf("read model: write rm_exempt: %w", err)
	}
	w.exempt = w.exempt[:0]
	return nil
}

// flush writes every delete and row still buffered.
func (w *rmWriter) flush() error {
	for _, table := range rmTables {
		if err := w.flushTable(table); err != nil {
			return err
		}
	}
	return nil
}

// writeRequirements writes the requirement rows of case id from its
// records r (the case record decoded, the rest as the typed rows hold
// them): every record counts, no exemption (see the top of this file).
// Each row carries the case's officer, team, whether it is closed and its
// supervision start's day number (start_day, migration 0030), as
// rm_cases has them: a change to the case record writes them again.
func (w *rmWriter) writeRequirements(p *policy.Policy, id string, r *policy.Records) error {
	c := r.Case
	reqs := p.Requirements(policy.FactsOf(*r, rmHorizon), rmHorizon)
	start := dayOrNull(c.SupervisionStart)
	first := -1
	for i, q := range reqs {
		if q.Trigger == policy.TriggerSupervisionStart && q.Recurrence == 0 {
			first = i
			break
		}
	}
	for i, q := range reqs {
		trig, _ := dayNumber(q.TriggeredOn)
		due, _ := dayNumber(q.DueOn)
		var met any
		if d, ok := dayNumber(q.MetOn); ok && q.Status == policy.StatusMet {
			met = d
		}
		if err := w.exec("requirements", id, i, c.OfficerID, c.TeamID, boolInt(c.Closed), q.RuleID, q.RuleVersion,
			string(q.Trigger), string(q.TriggeredOn), trig, q.Source, q.Recurrence, string(q.DueOn), due, q.MetBy,
			string(q.MetOn), met, boolInt(i == first), start); err != nil {
			return err
		}
	}
	return nil
}

// visitAnswers is what visit v recorded of each child it names (measure
// 5, rm_visit_children): the first entry for a member, as the measure
// reads it.
func visitAnswers(v schema.Visit) []rmAnswer {
	var out []rmAnswer
	for _, c := range v.Children {
		if c.MemberID == "" || slices.ContainsFunc(out, func(a rmAnswer) bool { return a.member == c.MemberID }) {
			continue
		}
		answer := ""
		switch {
		case c.Seen == "yes":
			answer = "seen"
		case c.ReasonNotSeen != "":
			answer = "reason"
		}
		out = append(out, rmAnswer{c.MemberID, answer})
	}
	return out
}

// decodeFields decodes the fields of r into v, a pointer to a struct
// with json tags, as json.Unmarshal(r.Fields, v) does for the objects
// the store writes (their names exact, each once). For a record the
// transaction created or changed, whose fields the apply holds as a map,
// it decodes only the values v has a field for: a visit's kilobyte of
// notes is not scanned again (twice: encoding/json validates the whole
// object before it decodes it), which was a fifth of a push's time.
func (w *rmWriter) decodeFields(r schema.RawRecord, v any) error {
	row := w.t.written[r.ID]
	if row == nil || row.fields == nil {
		return json.Unmarshal(r.Fields, v)
	}
	rv := reflect.ValueOf(v).Elem()
	for _, f := range jsonFieldsOf(rv.Type()) {
		raw, ok := row.fields[f.name]
		if !ok {
			continue
		}
		fv := rv.FieldByIndex(f.index)
		if f.plain && decodePlain(raw, fv) {
			continue
		}
		if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	return nil
}

// decodePlain sets fv, a string or bool without a decoder of its own, to
// raw when raw is what encoding/json decodes without a question: true,
// false, null (which leaves fv as it is), or a string of valid UTF-8 with
// no escape and no control character. It reports false for anything else,
// which json.Unmarshal then decodes (and refuses as it would have). Most
// of a visit's read-model values are such strings, and json.Unmarshal's
// reflection for each was most of decodeFields' time.
func decodePlain(raw json.RawMessage, fv reflect.Value) bool {
	s := string(raw)
	if s == "null" {
		return true
	}
	switch fv.Kind() {
	case reflect.Bool:
		if s == "true" || s == "false" {
			fv.SetBool(s == "true")
			return true
		}
	case reflect.String:
		if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
			return false
		}
		in := s[1 : len(s)-1]
		for i := 0; i < len(in); i++ {
			if c := in[i]; c < 0x20 || c == '"' || c == '\\' {
				return false
			}
		}
		if !utf8.ValidString(in) {
			return false
		}
		fv.SetString(in)
		return true
	}
	return false
}

// jsonField is a struct field and the JSON name it decodes; plain: a
// string or bool kind that decodes itself in no way of its own
// (decodePlain may set it).
type jsonField struct {
	name  string
	index []int
	plain bool
}

var jsonFields sync.Map // reflect.Type -> []jsonField

// jsonFieldsOf lists the fields of struct type t that encoding/json
// decodes, by their JSON names (the tag's name, else the field's).
func jsonFieldsOf(t reflect.Type) []jsonField {
	if fs, ok := jsonFields.Load(t); ok {
		return fs.([]jsonField)
	}
	var fs []jsonField
	for _, sf := range reflect.VisibleFields(t) {
		if !sf.IsExported() || sf.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		k := sf.Type.Kind()
		p := reflect.PointerTo(sf.Type)
		plain := (k == reflect.String || k == reflect.Bool) &&
			!p.Implements(reflect.TypeFor[json.Unmarshaler]()) && !p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
		fs = append(fs, jsonField{name: name, index: sf.Index, plain: plain})
	}
	jsonFields.Store(t, fs)
	return fs
}

// dayNumber is d as days since 1970-01-01; false when d is not a date.
func dayNumber(d schema.Date) (int64, bool) {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return 0, false
	}
	return t.Unix() / 86400, true
}

// dayOrNull is d as days since 1970-01-01 (dayNumber), nil (NULL) when d
// is not a date.
func dayOrNull(d schema.Date) any {
	if n, ok := dayNumber(d); ok {
		return n
	}
	return nil
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
// short starts again at the next open. It says whether it built.
func (db *DB) buildReadModel(ctx context.Context) (bool, error) {
	tag := policyTag(db.policy)
	var built int64
	var was string
	if err := db.w.QueryRowContext(ctx, `SELECT built_seq, policy_tag FROM read_model_state WHERE id = 1`).Scan(&built, &was); err != nil {
		return false, fmt.Errorf("read model state: %w", err)
	}
	if built >= 0 && was == tag {
		return false, nil
	}
	var ids []string
	rows, err := db.w.QueryContext(ctx, `SELECT id FROM records WHERE entity = 'case' ORDER BY id`)
	if err != nil {
		return false, fmt.Errorf("read model: list cases: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return false, fmt.Errorf("read model: list cases: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read model: list cases: %w", err)
	}
	why := "never built"
	switch {
	case built >= 0 && was == "": // a migration cleared the tag: it added to the read model
		why = "a migration added to it"
	case built >= 0:
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
		return false, err
	}
	for chunk := range slices.Chunk(ids, rmChunk) {
		if err := db.update(ctx, func(t *wtx) error { return db.writeCases(t, chunk) }); err != nil {
			return false, err
		}
	}
	err = db.update(ctx, func(t *wtx) error {
		if err := t.readSeq(); err != nil {
			return err
		}
		if err := t.recountContactTotals(); err != nil {
			return err
		}
		_, err := t.ExecContext(t.ctx, `UPDATE read_model_state SET built_seq = ?, policy_tag = ?, built_at = ? WHERE id = 1`,
			t.seq, tag, t.nowText)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("read model state: %w", err)
	}
	db.log.Info("built the compliance read model", "cases", len(ids), "took", time.Since(started).Round(time.Millisecond))
	return true, nil
}
