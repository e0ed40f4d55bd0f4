package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"doorstep/schema"
)

// Seed inserts full records in one transaction, bypassing the merge: for
// the demo, benchmarks and tests. Each record is validated like a new one
// (fields, required fields, cross-field rules), gets version 1 and the next
// sequence number, and every field is stamped with one server clock stamp.
// Case records get their scope. One audit event covers the batch.
//
// The records and their cases' scopes are collected and written as the
// push writes its rows (batch.go): multi-row INSERTs on SQLite, COPY on
// PostgreSQL, on the transaction's own connection. An id already taken is
// found by one read of the batch's ids first, so it is still this
// record's error.
func (db *DB) Seed(ctx context.Context, actor Actor, recs []schema.Record) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	stamp := db.clock.Now().String()
	bulk := false
	err := db.update(ctx, func(t *wtx) error {
		a, err := db.newApplier(t, actor, true)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.prefetchIDs(recs); err != nil {
			return err
		}
		if len(recs) >= 2*t.chunk() {
			bulk = true
			if err := t.readSeq(); err != nil {
				return err
			}
			a.ins.start() // a.close stops it
		}
		cases := map[string]bool{}
		for i, rec := range recs {
			if err := a.seedOne(rec, stamp, cases); err != nil {
				if e := schema.AsError(err); e != nil {
					return schema.Errorf(e.Code, fmt.Sprintf("records[%d].%s", i, e.Field), "%s %s: %s", rec.Entity, rec.ID, e.Message)
				}
				return fmt.Errorf("seed record %d (%s %s): %w", i, rec.Entity, rec.ID, err)
			}
			if err := a.flushFull(); err != nil {
				return fmt.Errorf("seed: %w", err)
			}
		}
		// The batch's event comes after any the applier collected.
		if err := a.flush(); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"records": len(recs)})
		return t.audit(actor, "seed", "", "", "", json.RawMessage(detail))
	})
	// A bulk load on SQLite: the planner's statistics of the tables it
	// grew (PRAGMA optimize, decision 0061). PostgreSQL's come with
	// Checkpoint's VACUUM (ANALYZE), which a bulk load ends with.
	if err == nil && bulk && db.eng.name() == "sqlite" {
		err = db.eng.analyze(ctx)
	}
	return err
}

func (a *applier) seedOne(rec schema.Record, stamp string, cases map[string]bool) error {
	spec, ok := schema.Entity(rec.Entity)
	if !ok {
		return schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", rec.Entity)
	}
	if !schema.ValidID(rec.ID) {
		return schema.Errorf(schema.ECodeInvalid, "id", "id must be a UUID")
	}
	if rec.Entity == "case" {
		if rec.CaseID == "" {
			rec.CaseID = rec.ID
		}
		if rec.CaseID != rec.ID {
			return schema.Errorf(schema.ECodeInvalid, "case_id", "a case's case_id is its own id")
		}
	} else if !cases[rec.CaseID] {
		s, err := a.scope(rec.CaseID)
		if err != nil {
			return err
		}
		if s == nil {
			return schema.Errorf(schema.ECodeInvalid, "case_id", "there is no case %q", rec.CaseID)
		}
	}
	if err := spec.ValidateFields(rec.Fields); err != nil {
		return prefixField(err, "fields")
	}
	fields := make(map[string]json.RawMessage, len(rec.Fields))
	for k, v := range rec.Fields {
		if !isNullJSON(v) {
			fields[k] = v
		}
	}
	if err := validateFull(spec, rec.ID, rec.CaseID, fields); err != nil {
		return prefixField(err, "fields")
	}
	by := rec.CreatedBy
	if by == "" {
		by = a.actor.UserID
	}
	r := &row{entity: rec.Entity, id: rec.ID, caseID: rec.CaseID, fields: fields, version: 1,
		receivedAt: a.t.nowText, updatedAt: a.t.nowText, deviceTime: fmtTime(rec.DeviceTime),
		createdBy: by, updatedBy: by, signed: spec.IsSigned(fields)}
	if !rec.ReceivedAt.IsZero() {
		r.receivedAt = fmtTime(rec.ReceivedAt)
	}
	if !rec.UpdatedAt.IsZero() {
		r.updatedAt = fmtTime(rec.UpdatedAt)
	}
	taken, err := a.record(rec.ID)
	if err != nil {
		return err
	}
	if taken != nil {
		return schema.Errorf(schema.ECodeConflict, "id", "a record with this id already exists")
	}
	if a.buf, err = r.encodeNew(a.buf, sortedNames(fields), stamp); err != nil {
		return err
	}
	if err := a.insert(r); err != nil {
		return err
	}
	if rec.Entity == "case" {
		cases[rec.ID] = true
		a.newScope(rec.ID, caseScope{officerID: stringField(fields, "officer_id"), teamID: stringField(fields, "team_id")})
	}
	return nil
}

// prefetchIDs reads, in one query, which of the records' ids are taken,
// and the scopes of the cases they name.
func (a *applier) prefetchIDs(recs []schema.Record) error {
	ids := make([]string, 0, len(recs))
	cids := make([]string, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.ID)
		if r.Entity != "case" {
			cids = append(cids, r.CaseID)
		}
	}
	if err := a.loadRecords(uniq(ids)); err != nil {
		return err
	}
	return a.loadScopes(uniq(cids))
}

// ImportCases creates the cases of an import file, with their flags, all or
// nothing. Every row's officer and team must exist and agree, and its CRN
// must be new; otherwise the answer is a *schema.ImportError naming each
// line and field at fault, and nothing is written. It returns the number of
// cases created.
func (db *DB) ImportCases(ctx context.Context, actor Actor, rows []schema.CaseRow) (int, error) {
	if err := requireAdmin(actor); err != nil {
		return 0, err
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		return 0, err
	}
	byName := map[string]schema.User{}
	for _, u := range users {
		byName[u.Username] = u
	}
	teams, err := db.ListTeams(ctx)
	if err != nil {
		return 0, err
	}
	teamByName := map[string]schema.Team{}
	for _, t := range teams {
		teamByName[strings.ToLower(t.Name)] = t
	}
	stamp := db.clock.Now()
	n := 0
	err = db.update(ctx, func(t *wtx) error {
		existing := map[string]bool{}
		q, err := t.QueryContext(ctx, `SELECT `+t.eng.jsonText("fields", "crn")+` FROM records WHERE entity = 'case'`)
		if err != nil {
			return fmt.Errorf("read case references: %w", err)
		}
		for q.Next() {
			var crn *string
			if err := q.Scan(&crn); err != nil {
				q.Close()
				return fmt.Errorf("read case references: %w", err)
			}
			if crn != nil {
				existing[*crn] = true
			}
		}
		q.Close()

		ie := &schema.ImportError{}
		problem := func(line int, field, format string, args ...any) {
			ie.Problems = append(ie.Problems, schema.ImportProblem{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
		}
		type planned struct {
			c     schema.Case
			flags []schema.Flag
		}
		var plan []planned
		caseSpec, _ := schema.Entity("case")
		today := schema.LatestToday(db.now())
		for _, row := range rows {
			c := row.Case
			u, ok := byName[row.OfficerUsername]
			team, tok := teamByName[strings.ToLower(strings.TrimSpace(row.TeamName))]
			switch {
			case !ok:
				problem(row.Line, "officer_username", "there is no user %q", row.OfficerUsername)
			case u.Role != schema.RoleOfficer && u.Role != schema.RoleSupervisor:
				problem(row.Line, "officer_username", "%s is an %s; cases are allocated to officers", u.Username, u.Role)
			}
			if !tok {
				problem(row.Line, "team", "there is no team %q", row.TeamName)
			} else if ok && u.TeamID != team.ID {
				problem(row.Line, "team", "%s is not in team %s", u.Username, team.Name)
			}
			if existing[c.CRN] {
				problem(row.Line, "crn", "a case with crn %s already exists", c.CRN)
			}
			if e := schema.AsError(caseSpec.CheckPast(schema.FieldsOf(c), today)); e != nil {
				problem(row.Line, e.Field, "%s", e.Message)
			}
			c.ID = schema.NewID()
			c.CaseID, c.OfficerID, c.TeamID = c.ID, u.ID, team.ID
			p := planned{c: c}
			for _, f := range row.NewFlags() {
				f.ID, f.CaseID = schema.NewID(), c.ID
				p.flags = append(p.flags, f)
			}
			plan = append(plan, p)
		}
		if len(ie.Problems) > 0 {
			return ie
		}
		a, err := db.newApplier(t, actor, true)
		if err != nil {
			return err
		}
		defer a.close()
		cases := map[string]bool{}
		for i, p := range plan {
			recs := []schema.Record{{Entity: "case", ID: p.c.ID, CaseID: p.c.ID, Fields: schema.FieldsOf(p.c)}}
			for _, f := range p.flags {
				recs = append(recs, schema.Record{Entity: "flag", ID: f.ID, CaseID: f.CaseID, Fields: schema.FieldsOf(f)})
			}
			for _, rec := range recs {
				if err := a.seedOne(rec, stamp.String(), cases); err != nil {
					if e := schema.AsError(err); e != nil {
						problem(rows[i].Line, strings.TrimPrefix(e.Field, "fields."), "%s", e.Message)
						continue
					}
					return err
				}
				if err := a.auditEvent("import", a.records[rec.ID], `{}`); err != nil {
					return err
				}
			}
			n++
		}
		if len(ie.Problems) > 0 {
			return ie
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// ReassignCase allocates a case to another officer (and that officer's
// team). The case leaves the old officer's (and old team's supervisors')
// tablets at their next pull and comes whole to the new ones'.
func (db *DB) ReassignCase(ctx context.Context, actor Actor, caseID, officerUsername string) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	u, err := db.UserByUsername(ctx, officerUsername)
	if err != nil {
		return schema.Errorf(schema.ECodeInvalid, "officer_username", "there is no user %q", officerUsername)
	}
	if u.Role != schema.RoleOfficer && u.Role != schema.RoleSupervisor {
		return schema.Errorf(schema.ECodeInvalid, "officer_username", "%s is an %s; cases are allocated to officers", u.Username, u.Role)
	}
	if _, err := db.Get(ctx, actor, "case", caseID); err != nil {
		return err
	}
	oid, _ := json.Marshal(u.ID)
	tid, _ := json.Marshal(u.TeamID)
	_, err = db.Write(ctx, actor, "case", caseID, caseID, map[string]json.RawMessage{"officer_id": oid, "team_id": tid})
	return err
}
