package serverdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
)

// requirementRows lists a case's requirement rows as
// "rule/recurrence/due_on/met_by".
func requirementRows(t *testing.T, db *DB, caseID string) []string {
	t.Helper()
	rows, err := db.r.Query(`SELECT rule_id, recurrence, due_on, met_by FROM requirements WHERE case_id = ? ORDER BY n`, caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var rule, due, met string
		var rec int
		if err := rows.Scan(&rule, &rec, &due, &met); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%d/%s/%s", rule, rec, due, met))
	}
	return out
}

func rowCount(t *testing.T, db *DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantRows(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: requirement rows %q, want %q", what, got, want)
	}
}

// TestReadModelFollowsEveryWrite: the write that changes a case's
// records changes its read model rows, in the same transaction: a
// signed home visit meets the first visit (and starts the repeat), an
// amendment that makes it a phone call takes that back, a refused write
// changes nothing, and the case's allocation follows it to the rows.
func TestReadModelFollowsEveryWrite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	wantRows(t, "a new case", requirementRows(t, f.db, f.ashaCase), "first_visit_high/0/2026-10-16/")

	vid := schema.NewID()
	v := signedVisit(f.asha.ID)
	v["started_at"], _ = json.Marshal("2026-10-10T09:00:00+01:00")
	v["face_to_face"] = json.RawMessage(`true`)
	res := f.push(t, f.actor(f.asha, f.ashaDev), mutation("visit", vid, f.ashaCase, stamp(1, f.ashaDev), v))
	if res[0].Status != schema.StatusApplied {
		t.Fatalf("push the visit: %+v", res[0])
	}
	wantRows(t, "after a home visit", requirementRows(t, f.db, f.ashaCase),
		"first_visit_high/0/2026-10-16/"+vid, "first_visit_high/1/2026-11-21/")
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_visits WHERE visit_id = ? AND type = 'home_unannounced' AND day = '2026-10-10'`, vid); n != 1 {
		t.Errorf("rm_visits holds %d rows of the visit as pushed, want 1", n)
	}

	if _, err := f.db.Write(ctx, f.admin, "amendment", "", f.ashaCase, raw("visit_id", vid, "reason", "it was a phone call",
		"changes", map[string]any{"type": "phone", "location": nil}, "amended_by", f.admin.UserID,
		"amended_at", "2026-11-20T09:00:00Z")); err != nil {
		t.Fatal(err)
	}
	wantRows(t, "after the amendment", requirementRows(t, f.db, f.ashaCase), "first_visit_high/0/2026-10-16/")
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_visits WHERE visit_id = ? AND type = 'phone' AND location = ''`, vid); n != 1 {
		t.Errorf("rm_visits holds %d rows of the visit amended, want 1", n)
	}

	// A write the store refuses leaves the rows as they were.
	if _, err := f.db.Write(ctx, f.admin, "case", f.ashaCase, "", raw("rosh", "extreme")); err == nil {
		t.Fatal("a case with rosh \"extreme\" was written")
	}
	wantRows(t, "after a refused write", requirementRows(t, f.db, f.ashaCase), "first_visit_high/0/2026-10-16/")

	// Another officer, another risk level: the rows follow.
	if _, err := f.db.Write(ctx, f.admin, "case", f.ashaCase, "", raw("rosh", "medium", "officer_id", f.carl.ID, "team_id", f.teamB.ID)); err != nil {
		t.Fatal(err)
	}
	wantRows(t, "after reallocation", requirementRows(t, f.db, f.ashaCase), "first_visit_medium/0/2026-11-12/")
	if n := rowCount(t, f.db, `SELECT count(*) FROM requirements r JOIN rm_cases c ON c.case_id = r.case_id
		WHERE r.case_id = ? AND r.officer_id = ? AND r.team_id = ? AND c.officer_id = ? AND c.rosh = 'medium'`,
		f.ashaCase, f.carl.ID, f.teamB.ID, f.carl.ID); n != 1 {
		t.Errorf("%d requirement rows carry the new allocation, want 1", n)
	}
}

// TestReadModelBuiltOnOpen: a store whose read model was never built (one
// migrated from before it) or was built with other visit rules builds it
// when it opens, saying so in the log; a store already built with the same
// rules does not.
func TestReadModelBuiltOnOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "server.db")
	var logs bytes.Buffer
	open := func(p *policy.Policy) *DB {
		t.Helper()
		logs.Reset()
		db, err := Open(ctx, path, Options{Now: clock.Now, Policy: p, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open(nil)
	admin, asha := teamAndOfficer(t, db)
	caseID := schema.NewID()
	if err := db.Seed(ctx, admin, []schema.Record{caseRecord(caseID, "A000001", asha)}); err != nil {
		t.Fatal(err)
	}
	wantRows(t, "seeded", requirementRows(t, db, caseID), "first_visit_high/0/2026-10-16/")
	db.Close()

	// The same rules: nothing to build.
	db = open(nil)
	if strings.Contains(logs.String(), "building the compliance read model") {
		t.Errorf("a store built with the same rules was built again: %s", logs.String())
	}
	db.Close()

	// Other rules: every case again.
	var doc map[string]any
	if err := json.Unmarshal(policy.DefaultRules(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["rules"].([]any)[0].(map[string]any)["due_within_days"] = 20
	b, _ := json.Marshal(doc)
	p, err := policy.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	db = open(p)
	if !strings.Contains(logs.String(), "building the compliance read model: 1 cases") {
		t.Errorf("opened with other rules, the log says %q; want it to say it builds the read model of 1 case", logs.String())
	}
	wantRows(t, "other rules", requirementRows(t, db, caseID), "first_visit_high/0/2026-10-21/")

	// Never built (as after migration 0010): built.
	for _, q := range []string{`DELETE FROM requirements`, `DELETE FROM rm_cases`, `UPDATE read_model_state SET built_seq = -1, policy_tag = ''`} {
		if _, err := db.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = open(p)
	defer db.Close()
	if !strings.Contains(logs.String(), "building the compliance read model: 1 cases") {
		t.Errorf("a store never built: the log says %q", logs.String())
	}
	wantRows(t, "built", requirementRows(t, db, caseID), "first_visit_high/0/2026-10-21/")
	if n := rowCount(t, db, `SELECT count(*) FROM rm_cases WHERE case_id = ?`, caseID); n != 1 {
		t.Errorf("rm_cases holds %d rows of the case, want 1", n)
	}
}

// rmDump is every read model row of a case, as text, in a fixed order.
func rmDump(t *testing.T, db *DB, caseID string) []string {
	t.Helper()
	var out []string
	for _, table := range rmTables {
		rows, err := db.r.Query(`SELECT * FROM `+table+` WHERE case_id = ?`, caseID)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+fmt.Sprint(vals...))
		}
		rows.Close()
	}
	slices.Sort(out)
	return out
}

// A case created by the write transaction has no read model rows yet, and
// every record it has is that transaction's: its rows are written whole,
// with no DELETE per record (a round trip each on PostgreSQL, most of a
// Seed's time), and they are the rows a rebuild writes.
func TestReadModelNewCaseWrittenWhole(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	caseID := schema.NewID()
	recs := []schema.Record{caseRecord(caseID, "A000777", f.asha),
		{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: signedVisit(f.asha.ID)},
		{Entity: "household_member", ID: schema.NewID(), CaseID: caseID,
			Fields: raw("relation", "lodger", "residence", "lives_here", "name", "Lee")}}
	before := f.db.rmDeletes.Load()
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	if n := f.db.rmDeletes.Load() - before; n != 0 {
		t.Errorf("seeding a new case deleted read model rows %d times; want none", n)
	}
	seeded := rmDump(t, f.db, caseID)
	if len(seeded) < 3 {
		t.Fatalf("read model rows of the seeded case: %q; want its case, visit and household rows at least", seeded)
	}
	if err := f.db.update(ctx, func(tx *wtx) error { return f.db.writeCases(tx, []string{caseID}) }); err != nil {
		t.Fatal(err)
	}
	if rebuilt := rmDump(t, f.db, caseID); !slices.Equal(seeded, rebuilt) {
		t.Errorf("read model of a new case:\n%q\nrebuilt:\n%q", seeded, rebuilt)
	}
	// A later write to the case is a change: its rows are replaced.
	before = f.db.rmDeletes.Load()
	if _, err := f.db.Write(ctx, f.admin, "case", caseID, "", raw("rosh", "medium")); err != nil {
		t.Fatal(err)
	}
	if f.db.rmDeletes.Load() == before {
		t.Error("a change to an existing case deleted no read model rows")
	}
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_cases WHERE case_id = ? AND rosh = 'medium'`, caseID); n != 1 {
		t.Errorf("rm_cases rows of the changed case: %d; want 1", n)
	}
}

// TestReadModelIncrementalIsARebuild: after each kind of write to an
// existing case (new drafts, changed drafts, a signing, an amendment, a
// change refused by a signed visit and kept as a conflict, a flag, a
// household member, an enquiry, a referral, a safety assessment, the case
// itself) its read model rows are those a rebuild writes. A push of new
// drafts deletes no read model row (there is none of a new record, and a
// draft does not move a requirement), and a change to drafts deletes
// their visit rows only.
func TestReadModelIncrementalIsARebuild(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	ms := int64(1000)
	next := func() schema.HLC { ms++; return stamp(ms, f.ashaDev) }
	same := func(what string) { t.Helper(); rmSameAsRebuild(t, f.db, f.ashaCase, what) }
	deletes := func(what string, want int64, write func()) {
		t.Helper()
		before := f.db.rmDeletes.Load()
		write()
		if n := f.db.rmDeletes.Load() - before; n != want {
			t.Errorf("%s deleted %d read model rows; want %d", what, n, want)
		}
		same(what)
	}
	applied := func(what string, res []schema.MutationResult, want string) {
		t.Helper()
		for i, r := range res {
			if r.Status != want {
				t.Fatalf("%s: result %d %+v; want %s", what, i, r, want)
			}
		}
	}

	drafts := make([]schema.Mutation, 20)
	for i := range drafts {
		drafts[i] = mutation("visit", schema.NewID(), f.ashaCase, next(), visitFields("draft"))
	}
	// One with every field the read model keeps of a visit, a list too.
	maps.Copy(drafts[3].Fields, raw("location", "home", "outcome", "completed", "face_to_face", true,
		"planned_at", "2026-11-02T10:00:00+01:00", "started_at", "2026-11-02T10:05:00+01:00", "children_present", "yes",
		"children", []schema.VisitChild{{MemberID: schema.NewID(), Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}},
		"observation_notes", strings.Repeat("Notes. ", 100)))
	reqs := requirementRows(t, f.db, f.ashaCase)
	deletes("a push of new drafts", 0, func() { applied("drafts", f.push(t, asha, drafts...), schema.StatusApplied) })
	changed := make([]schema.Mutation, 5)
	for i := range changed {
		changed[i] = mutation("visit", drafts[i].RecordID, f.ashaCase, next(), raw("location", "doorstep"))
	}
	// Each changed visit: its rm_visits row and its rm_visit_children rows (by visit id).
	deletes("a push changing 5 drafts", 10, func() { applied("changed drafts", f.push(t, asha, changed...), schema.StatusApplied) })
	// A change to what the read model does not keep of a visit leaves its
	// rows alone (decision 0073); one to a child's answer replaces them.
	for i := range changed {
		changed[i] = mutation("visit", drafts[i].RecordID, f.ashaCase, next(), raw("next_visit_on", "2026-12-24"))
	}
	unchanged := f.db.rmUnchanged.Load()
	deletes("a push changing 5 drafts' next visit", 0, func() {
		applied("next visit", f.push(t, asha, changed...), schema.StatusApplied)
	})
	if n := f.db.rmUnchanged.Load() - unchanged; n != 5 {
		t.Errorf("a push changing 5 drafts' next visit left %d visits' rows alone; want 5", n)
	}
	var child []schema.VisitChild
	if err := json.Unmarshal(drafts[3].Fields["children"], &child); err != nil {
		t.Fatal(err)
	}
	child[0].Seen, child[0].ReasonNotSeen = "yes", ""
	deletes("a push changing a child's answer", 2, func() {
		applied("a child seen", f.push(t, asha, mutation("visit", drafts[3].RecordID, f.ashaCase, next(), raw("children", child))), schema.StatusApplied)
	})
	if n := rowCount(t, f.db, `SELECT count(*) FROM rm_visit_children WHERE visit_id = ? AND answer = 'seen'`, drafts[3].RecordID); n != 1 {
		t.Errorf("the child's answer after the change: %d rows 'seen'; want 1", n)
	}
	wantRows(t, "after drafts", requirementRows(t, f.db, f.ashaCase), reqs...)

	vid := drafts[9].RecordID
	sv := signedVisit(f.asha.ID)
	sv["started_at"], _ = json.Marshal("2026-10-10T09:00:00+01:00")
	sv["face_to_face"] = json.RawMessage(`true`)
	applied("sign", f.push(t, asha, mutation("visit", vid, f.ashaCase, next(), sv)), schema.StatusApplied)
	if got := requirementRows(t, f.db, f.ashaCase); slices.Equal(got, reqs) {
		t.Errorf("a signed home visit left the requirement rows as they were: %q", got)
	}
	same("a signing")
	applied("a change to the signed visit", f.push(t, asha, mutation("visit", vid, f.ashaCase, next(), raw("location", "elsewhere"))), schema.StatusConflict)
	same("a change kept as a conflict")
	if _, err := f.db.Write(ctx, f.admin, "amendment", "", f.ashaCase, raw("visit_id", vid, "reason", "it was a phone call",
		"changes", map[string]any{"type": "phone"}, "amended_by", f.admin.UserID, "amended_at", "2026-11-20T09:00:00Z")); err != nil {
		t.Fatal(err)
	}
	same("an amendment")
	for _, m := range []schema.Mutation{
		mutation("flag", schema.NewID(), f.ashaCase, next(), schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: "2026-10-20"})),
		mutation("household_member", schema.NewID(), f.ashaCase, next(), raw("relation", "partner", "residence", "lives_here", "name", "Lee")),
		mutation("enquiry", schema.NewID(), f.ashaCase, next(), schema.FieldsOf(schema.Enquiry{Agency: "police", Stage: "initial_assessment", RequestedOn: "2026-10-02"})),
		mutation("referral", schema.NewID(), f.ashaCase, next(), schema.FieldsOf(schema.Referral{Need: "relationships", IdentifiedOn: "2026-10-03"})),
		mutation("safety_assessment", schema.NewID(), f.ashaCase, next(), raw("address", "1 High St", "dogs", "yes", "assessed_on", "2026-11-20", "decision", "")),
		mutation("case", f.ashaCase, f.ashaCase, next(), raw("address", "2 Low Road", "rosh", "medium")),
	} {
		if _, err := f.db.Write(ctx, f.admin, m.Entity, m.RecordID, m.CaseID, m.Fields); err != nil {
			t.Fatalf("write a %s: %v", m.Entity, err)
		}
		same("a " + m.Entity)
	}
}

// TestReadModelFromTheApplysRows: the read model is written from the rows
// the apply holds (wtx.changedRecords), not read back from records. One
// batch that creates a visit and changes it again, loses a write to
// another (which only renumbers it), signs a third and adds a household member leaves
// the rows a rebuild writes, each visit as it was last written.
func TestReadModelFromTheApplysRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	older, made, newer := stamp(1000, f.ashaDev), stamp(2000, f.ashaDev), stamp(3000, f.ashaDev)
	kept, signed := schema.NewID(), schema.NewID()
	f.push(t, asha, mutation("visit", kept, f.ashaCase, made, raw("status", "draft", "type", "office", "location", "doorstep")),
		mutation("visit", signed, f.ashaCase, made, visitFields("draft")))

	twice := schema.NewID()
	sv := signedVisit(f.asha.ID)
	sv["started_at"], _ = json.Marshal("2026-10-10T09:00:00+01:00")
	res := f.push(t, asha,
		mutation("visit", twice, f.ashaCase, made, visitFields("draft")),
		mutation("visit", twice, f.ashaCase, newer, raw("location", "elsewhere", "outcome", "completed")),
		mutation("visit", kept, f.ashaCase, older, raw("location", "home")),
		mutation("visit", signed, f.ashaCase, newer, sv),
		mutation("household_member", schema.NewID(), f.ashaCase, newer, raw("relation", "partner", "residence", "lives_here", "name", "Lee")))
	for i, want := range []string{schema.StatusApplied, schema.StatusApplied, schema.StatusConflict, schema.StatusApplied, schema.StatusApplied} {
		if res[i].Status != want {
			t.Fatalf("mutation %d: %+v; want %s", i, res[i], want)
		}
	}
	got := rmDump(t, f.db, f.ashaCase)
	var loc string
	if err := f.db.r.QueryRow(`SELECT location || '/' || outcome FROM rm_visits WHERE visit_id = ?`, twice).Scan(&loc); err != nil || loc != "elsewhere/completed" {
		t.Errorf("the visit made and changed in one batch: rm_visits %q, %v; want its last state", loc, err)
	}
	if err := f.db.update(ctx, func(tx *wtx) error { return f.db.writeCases(tx, []string{f.ashaCase}) }); err != nil {
		t.Fatal(err)
	}
	if want := rmDump(t, f.db, f.ashaCase); !slices.Equal(got, want) {
		t.Errorf("the read model written by the batch:\n%q\na rebuild:\n%q", got, want)
	}
}
