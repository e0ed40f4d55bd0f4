package serverdb

import (
	"context"
	"encoding/json"
	"maps"
	"testing"
	"time"

	"doorstep/schema"
)

func TestPushAppliedThenDuplicate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	vid := schema.NewID()
	m := mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft"))
	res := f.push(t, a, m)
	if res[0].Status != schema.StatusApplied || res[0].Receipt == nil || res[0].Receipt.Version != 1 {
		t.Fatalf("first push = %+v, want applied version 1", res[0])
	}
	audits, _ := f.db.AuditCount(ctx)
	res = f.push(t, a, m)
	if res[0].Status != schema.StatusDuplicate || res[0].Original != schema.StatusApplied || res[0].Receipt.Version != 1 {
		t.Fatalf("resent push = %+v, want duplicate of applied, version 1", res[0])
	}
	if n, _ := f.db.AuditCount(ctx); n != audits {
		t.Errorf("a duplicate wrote %d audit events", n-audits)
	}
	if n, _ := f.db.CountRecords(ctx, "visit"); n != 1 {
		t.Errorf("%d visits, want 1", n)
	}
	rec := f.get(t, vid)
	if rec.CreatedBy != f.asha.ID || rec.DeviceTime.IsZero() || rec.ReceivedAt.IsZero() {
		t.Errorf("record receipt fields = %+v", rec)
	}
}

func TestPushLWWPerField(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"older first", "newer first"} {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t)
			a := f.actor(f.asha, f.ashaDev)
			vid := schema.NewID()
			f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft")))
			older := mutation("visit", vid, f.ashaCase, stamp(2000, f.ashaDev), raw("outcome_reason", "older", "observation_notes", "only older"))
			newer := mutation("visit", vid, f.ashaCase, stamp(3000, "dev-sue"), raw("outcome_reason", "newer"))
			var res []schema.MutationResult
			if order == "older first" {
				res = f.push(t, a, older, newer)
				for i, r := range res {
					if r.Status != schema.StatusApplied {
						t.Errorf("result %d = %s, want applied", i, r.Status)
					}
				}
			} else {
				res = f.push(t, a, newer, older)
				if res[0].Status != schema.StatusApplied {
					t.Errorf("newer = %s, want applied", res[0].Status)
				}
				if res[1].Status != schema.StatusConflict || len(res[1].Lost) != 1 || res[1].Lost[0] != "outcome_reason" {
					t.Errorf("older = %+v, want conflict losing outcome_reason", res[1])
				}
				cs := f.conflicts(t, vid)
				if len(cs) != 1 || field(cs[0], "reason") != "lww_lost" || field(cs[0], "losing_value") != `"older"` ||
					field(cs[0], "winning_value") != `"newer"` || field(cs[0], "status") != "open" || cs[0].CaseID != f.ashaCase {
					t.Errorf("conflicts = %+v", cs)
				}
			}
			rec := f.get(t, vid)
			if got := field(rec, "outcome_reason"); got != "newer" {
				t.Errorf("outcome_reason = %q, want newer", got)
			}
			if got := field(rec, "observation_notes"); got != "only older" {
				t.Errorf("observation_notes = %q, want the older mutation's value (no one else wrote it)", got)
			}
		})
	}
}

func TestPushEqualValuesNeverConflict(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	vid := schema.NewID()
	f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(5000, f.ashaDev), visitFields("draft")))
	res := f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), raw("status", "draft")))
	if res[0].Status != schema.StatusApplied {
		t.Errorf("older mutation with the same value = %+v, want applied", res[0])
	}
	if cs := f.conflicts(t, vid); len(cs) != 0 {
		t.Errorf("%d conflicts, want none", len(cs))
	}
}

// signedVisit is a complete visit signed by signer (a user id).
// signedVisit is a signing mutation's fields as a tablet sends them: the
// visit's whole field set (schema.CheckSigningFields), blank ones too.
func signedVisit(signer string) map[string]json.RawMessage {
	m := schema.FieldsOf(schema.Visit{})
	maps.Copy(m, raw("status", "signed", "type", "home_unannounced", "outcome", "completed", "location", "home",
		"started_at", "2026-11-23T09:00:00Z", "partner_present", "no_partner", "children_present", "no_children",
		"signed_at", "2026-11-23T09:30:00Z", "signed_by", signer))
	return m
}

func TestPushSignedIsImmutable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	vid := schema.NewID()
	res := f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), signedVisit(f.asha.ID)))
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("signing create = %+v", res[0])
	}
	res = f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(9000, f.ashaDev), raw("outcome", "no_answer", "status", "signed")))
	if res[0].Status != schema.StatusConflict || len(res[0].Lost) != 1 || res[0].Lost[0] != "outcome" {
		t.Fatalf("change to a signed visit = %+v, want conflict losing outcome", res[0])
	}
	rec := f.get(t, vid)
	if field(rec, "outcome") != "completed" || rec.Version != 1 {
		t.Errorf("signed visit changed: outcome %s version %d", field(rec, "outcome"), rec.Version)
	}
	cs := f.conflicts(t, vid)
	if len(cs) != 1 || field(cs[0], "reason") != "record_signed" || field(cs[0], "losing_value") != `"no_answer"` {
		t.Errorf("conflicts = %+v", cs)
	}
	// A REST write is refused outright.
	if _, err := f.db.Write(ctx, f.admin, "visit", vid, "", raw("outcome", "refused_entry")); schema.ErrorCode(err) != schema.ECodeSigned {
		t.Errorf("REST write to signed visit: %v, want record_signed", err)
	}
}

func TestPushSigningOverridesNewerStamps(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	vid := schema.NewID()
	f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft")))
	// Someone changes started_at later than the signer's stamp.
	f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(9000, "dev-other"), raw("started_at", "2026-11-23T08:00:00Z")))
	res := f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(5000, f.ashaDev), signedVisit(f.asha.ID)))
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("signing = %+v, want applied", res[0])
	}
	rec := f.get(t, vid)
	if field(rec, "started_at") != "2026-11-23T09:00:00Z" || field(rec, "signed_at") == "" {
		t.Errorf("signed record = %v", rec.Fields)
	}
	cs := f.conflicts(t, vid)
	if len(cs) != 1 || field(cs[0], "reason") != "overwritten_by_signature" || field(cs[0], "losing_value") != `"2026-11-23T08:00:00Z"` {
		t.Errorf("conflicts = %+v", cs)
	}
}

func TestPushSigningDomesticAbuseCase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	flag := schema.Flag{Type: "da_perpetrator", StartDate: "2026-10-01"}
	if err := f.db.Seed(ctx, f.admin, []schema.Record{{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase, Fields: schema.FieldsOf(flag)}}); err != nil {
		t.Fatal(err)
	}
	fields := signedVisit(f.asha.ID)
	delete(fields, "partner_present")
	vid := schema.NewID()
	before, _ := f.db.CountRecords(ctx, "")
	res := f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), fields))
	if res[0].Status != schema.StatusRejected || res[0].Error.Field != "fields.partner_present" {
		t.Fatalf("signing a DA home visit without partner section = %+v, want rejected naming fields.partner_present", res[0])
	}
	if after, _ := f.db.CountRecords(ctx, ""); after != before {
		t.Errorf("a rejected mutation wrote %d records", after-before)
	}
	if n, _ := f.db.MutationCount(ctx, schema.StatusRejected); n != 1 {
		t.Errorf("%d rejected mutations stored, want 1", n)
	}
	// The same visit on Ben's case (no flag) may be signed, by Ben.
	fields["signed_by"] = json.RawMessage(`"` + f.ben.ID + `"`)
	res = f.push(t, f.actor(f.ben, f.benDev), mutation("visit", schema.NewID(), f.benCase, stamp(1000, f.benDev), fields))
	if res[0].Status != schema.StatusApplied {
		t.Errorf("signing in a non-DA case = %+v, want applied", res[0])
	}
}

func TestPushRejectsOneAppliesRest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.actor(f.asha, f.ashaDev)
	good1 := mutation("visit", schema.NewID(), f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft"))
	bad := mutation("visit", schema.NewID(), f.ashaCase, stamp(1001, f.ashaDev), raw("status", "draft", "type", "teleport"))
	noReq := mutation("household_member", schema.NewID(), f.ashaCase, stamp(1002, f.ashaDev), raw("name", "Jo"))
	other := mutation("visit", schema.NewID(), f.benCase, stamp(1003, f.ashaDev), visitFields("draft"))
	adminField := mutation("case", f.ashaCase, f.ashaCase, stamp(1004, f.ashaDev), raw("rosh", "low"))
	unknown := mutation("spaceship", schema.NewID(), f.ashaCase, stamp(1005, f.ashaDev), raw("x", 1))
	good2 := mutation("visit", schema.NewID(), f.ashaCase, stamp(1006, f.ashaDev), visitFields("planned"))
	res := f.push(t, a, good1, bad, noReq, other, adminField, unknown, good2)
	want := []struct{ status, code, field string }{
		{schema.StatusApplied, "", ""},
		{schema.StatusRejected, schema.ECodeInvalid, "fields.type"},
		{schema.StatusRejected, schema.ECodeRequired, "fields.relation"},
		{schema.StatusRejected, schema.ECodeOutOfScope, "case_id"},
		{schema.StatusRejected, schema.ECodeForbidden, "fields.rosh"},
		{schema.StatusRejected, schema.ECodeUnknownEntity, "entity"},
		{schema.StatusApplied, "", ""},
	}
	for i, w := range want {
		r := res[i]
		code, fieldName := "", ""
		if r.Error != nil {
			code, fieldName = r.Error.Code, r.Error.Field
		}
		if r.Status != w.status || code != w.code || fieldName != w.field {
			t.Errorf("result %d = %s %s %s, want %s %s %s", i, r.Status, code, fieldName, w.status, w.code, w.field)
		}
	}
	// A rejection is stored: resending it answers duplicate of rejected.
	res = f.push(t, a, bad)
	if res[0].Status != schema.StatusDuplicate || res[0].Original != schema.StatusRejected || res[0].Error == nil {
		t.Errorf("resent rejected = %+v", res[0])
	}
	// Moving a record to another case is refused.
	res = f.push(t, f.actor(f.sue, ""), mutation("visit", good1.RecordID, f.benCase, stamp(2000, "x"), raw("status", "planned")))
	if res[0].Status != schema.StatusRejected || res[0].Error.Code != schema.ECodeInvalid || res[0].Error.Field != "case_id" {
		t.Errorf("moving a record = %+v, want invalid case_id", res[0])
	}
}

func TestWriteAndScopeReads(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	rec, err := f.db.Write(ctx, f.actor(f.asha, ""), "household_member", "", f.ashaCase, raw("relation", "partner", "residence", "lives_here", "name", "Alex"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != 1 || rec.CaseID != f.ashaCase {
		t.Errorf("written = %+v", rec)
	}
	if _, err := f.db.Get(ctx, f.actor(f.ben, ""), "household_member", rec.ID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Errorf("Ben reads Asha's record: %v, want not_found", err)
	}
	if _, err := f.db.Get(ctx, f.actor(f.sue, ""), "household_member", rec.ID); err != nil {
		t.Errorf("supervisor reads team record: %v", err)
	}
	if _, err := f.db.Get(ctx, f.actor(f.carl, ""), "household_member", rec.ID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Errorf("other team reads: %v, want not_found", err)
	}
	auditor := Actor{UserID: "aud", Role: schema.RoleAuditor}
	if _, err := f.db.Get(ctx, auditor, "household_member", rec.ID); err != nil {
		t.Errorf("auditor read: %v", err)
	}
	if _, err := f.db.Write(ctx, auditor, "household_member", rec.ID, "", raw("name", "Al")); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("auditor write: %v, want forbidden", err)
	}
	f.clock.Advance(time.Minute)
	rec2, err := f.db.Write(ctx, f.actor(f.sue, ""), "household_member", rec.ID, "", raw("name", "Alex B"))
	if err != nil || rec2.Version != 2 || field(rec2, "name") != "Alex B" || field(rec2, "relation") != "partner" {
		t.Errorf("supervisor update = %+v, %v", rec2, err)
	}
	list, _ := f.db.List(ctx, f.actor(f.ben, ""), "case", "")
	if len(list) != 1 || list[0].ID != f.benCase {
		t.Errorf("Ben's cases = %d", len(list))
	}
}

// TestPushRefusesSigningInAnothersName: a visit is signed, and an amendment
// made, only in the name of the user who sends it.
func TestPushRefusesSigningInAnothersName(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	before, _ := f.db.CountRecords(ctx, "")
	res := f.push(t, a, mutation("visit", schema.NewID(), f.ashaCase, stamp(1000, f.ashaDev), signedVisit(f.ben.ID)))
	if res[0].Status != schema.StatusRejected || res[0].Error == nil || res[0].Error.Field != "fields.signed_by" {
		t.Fatalf("signing in ben's name = %+v, want rejected on fields.signed_by", res[0])
	}
	amend := raw("visit_id", schema.NewID(), "reason", "typo", "amended_by", f.ben.ID, "amended_at", "2026-11-23T10:00:00Z")
	amend["changes"] = json.RawMessage(`{"observation_notes":"corrected"}`)
	res = f.push(t, a, mutation("amendment", schema.NewID(), f.ashaCase, stamp(2000, f.ashaDev), amend))
	if res[0].Status != schema.StatusRejected || res[0].Error == nil || res[0].Error.Field != "fields.amended_by" {
		t.Fatalf("amending in ben's name = %+v, want rejected on fields.amended_by", res[0])
	}
	if after, _ := f.db.CountRecords(ctx, ""); after != before {
		t.Errorf("records %d -> %d: a refused signature changed something", before, after)
	}
}
