package serverdb

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"doorstep/schema"
)

// reviewFixture adds to the fixture a team B supervisor (sam), a case of
// carl's with a device, and one open conflict in asha's case (team A) and
// one in carl's (team B).
type reviewFixture struct {
	*fixture
	sam                    schema.User
	carlCase, carlDev      string
	ashaVisit, carlVisit   string
	ashaConflict, carlConf string
}

func newReviewFixture(t *testing.T) *reviewFixture {
	t.Helper()
	ctx := context.Background()
	f := &reviewFixture{fixture: newFixture(t)}
	f.sam = schema.User{ID: schema.NewID(), Username: "sam", Name: "sam", Role: schema.RoleSupervisor, TeamID: f.teamB.ID}
	if err := f.db.CreateUser(ctx, f.admin, f.sam, testPassword); err != nil {
		t.Fatal(err)
	}
	f.carlCase, f.carlDev = schema.NewID(), "dev-carl"
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(f.carlCase, "C000003", f.carl)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Login(ctx, f.carl, f.carlDev, DeviceInfo{Name: "tablet"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	mkConflict := func(u schema.User, dev, caseID string) (visit, conflict string) {
		visit = schema.NewID()
		a := f.actor(u, dev)
		f.push(t, a, mutation("visit", visit, caseID, stamp(2000, dev), raw("status", "draft", "outcome_reason", "server value")))
		res := f.push(t, a, mutation("visit", visit, caseID, stamp(1000, dev), raw("outcome_reason", "losing value")))
		if res[0].Status != schema.StatusConflict {
			t.Fatalf("older write = %+v, want conflict", res[0])
		}
		cs := f.conflicts(t, visit)
		if len(cs) != 1 {
			t.Fatalf("conflicts of %s = %d, want 1", visit, len(cs))
		}
		return visit, cs[0].ID
	}
	f.ashaVisit, f.ashaConflict = mkConflict(f.asha, f.ashaDev, f.ashaCase)
	f.carlVisit, f.carlConf = mkConflict(f.carl, f.carlDev, f.carlCase)
	return f
}

type storeCounts struct{ records, audit, mutations, seq int64 }

func (f *fixture) counts(t *testing.T) storeCounts {
	t.Helper()
	ctx := context.Background()
	var c storeCounts
	n, err := f.db.CountRecords(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	c.records = int64(n)
	if n, err = f.db.AuditCount(ctx); err != nil {
		t.Fatal(err)
	}
	c.audit = int64(n)
	if n, err = f.db.MutationCount(ctx, ""); err != nil {
		t.Fatal(err)
	}
	c.mutations = int64(n)
	if c.seq, err = f.db.MaxSeq(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestReviewQueueScope(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	q, err := f.db.ReviewQueue(ctx, sue, ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Conflicts) != 1 || q.Conflicts[0].ID != f.ashaConflict {
		t.Fatalf("sue's conflicts = %+v, want only %s", q.Conflicts, f.ashaConflict)
	}
	c := q.Conflicts[0]
	if string(c.Losing.Value) != `"losing value"` || string(c.Winning.Value) != `"server value"` || string(c.Current) != `"server value"` {
		t.Errorf("versions = losing %s winning %s current %s", c.Losing.Value, c.Winning.Value, c.Current)
	}
	if c.Losing.Author.UserID != f.asha.ID || c.Losing.Author.DeviceID != f.ashaDev || c.Losing.Author.At != "1970-01-01T00:00:01.000Z" ||
		c.Winning.Author.UserID != f.asha.ID || c.CRN != "A000001" || c.OfficerID != f.asha.ID || c.Field != "outcome_reason" {
		t.Errorf("conflict item = %+v", c)
	}
	if got := q.CaseIDs(); len(got) != 1 || got[0] != f.ashaCase {
		t.Errorf("case ids = %v, want [%s]", got, f.ashaCase)
	}
	// Team B's supervisor sees only carl's; the admin both.
	q, _ = f.db.ReviewQueue(ctx, f.actor(f.sam, ""), ReviewFilter{})
	if len(q.Conflicts) != 1 || q.Conflicts[0].ID != f.carlConf {
		t.Errorf("sam's conflicts = %+v, want only %s", q.Conflicts, f.carlConf)
	}
	q, _ = f.db.ReviewQueue(ctx, f.admin, ReviewFilter{Kind: KindConflict})
	if len(q.Conflicts) != 2 {
		t.Errorf("admin's conflicts = %d, want 2", len(q.Conflicts))
	}
	// Filters.
	q, _ = f.db.ReviewQueue(ctx, f.admin, ReviewFilter{OfficerID: f.carl.ID})
	if len(q.Conflicts) != 1 || q.Conflicts[0].ID != f.carlConf {
		t.Errorf("admin's conflicts of carl = %+v", q.Conflicts)
	}
	if _, err := f.db.ReviewQueue(ctx, f.admin, ReviewFilter{Kind: "bogus"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("kind bogus: %v, want invalid", err)
	}
	if _, err := f.db.ReviewQueue(ctx, f.actor(f.asha, f.ashaDev), ReviewFilter{}); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("officer's queue: %v, want forbidden", err)
	}
}

func TestResolveConflict(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")

	// Another team's conflict is not found, and nothing changes.
	before := f.counts(t)
	if _, err := f.db.ResolveConflict(ctx, sue, f.carlConf, ConflictDecision{Decision: ConflictKeepServer, Reason: "x"}); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Fatalf("resolve another team's conflict: %v, want not_found", err)
	}
	if after := f.counts(t); after != before {
		t.Fatalf("refused resolve changed the store: %+v -> %+v", before, after)
	}

	rec, err := f.db.ResolveConflict(ctx, sue, f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "the later value is right"})
	if err != nil {
		t.Fatal(err)
	}
	if field(rec, "status") != "resolved" || field(rec, "resolution") != "keep_server: the later value is right" ||
		field(rec, "resolved_by") != f.sue.ID || field(rec, "resolved_at") != "2026-11-23T10:00:00Z" || rec.Version != 2 {
		t.Errorf("resolved conflict = %+v", rec)
	}
	if v := f.get(t, f.ashaVisit); field(v, "outcome_reason") != "server value" {
		t.Errorf("keep_server changed the record: %s", field(v, "outcome_reason"))
	}
	ev, err := f.db.AuditFor(ctx, f.ashaConflict)
	if err != nil {
		t.Fatal(err)
	}
	if last := ev[len(ev)-1]; last.Action != "resolve_conflict" || last.UserID != f.sue.ID {
		t.Errorf("last audit of the conflict = %+v, want resolve_conflict by sue", last)
	}
	q, _ := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindConflict})
	if len(q.Conflicts) != 0 {
		t.Errorf("resolved conflict still queued: %+v", q.Conflicts)
	}
	// Twice: a conflict error.
	if _, err := f.db.ResolveConflict(ctx, sue, f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "again"}); schema.ErrorCode(err) != schema.ECodeConflict {
		t.Errorf("resolve twice: %v, want conflict", err)
	}

	// Team B's supervisor applies the losing value of carl's conflict.
	sam := f.actor(f.sam, "")
	if _, err := f.db.ResolveConflict(ctx, sam, f.carlConf, ConflictDecision{Decision: ConflictApplyLosing, Reason: "officer confirmed"}); err != nil {
		t.Fatal(err)
	}
	v := f.get(t, f.carlVisit)
	if field(v, "outcome_reason") != "losing value" || v.UpdatedBy != f.sam.ID {
		t.Errorf("apply_losing: outcome_reason %q updated by %s", field(v, "outcome_reason"), v.UpdatedBy)
	}
}

func TestResolveConflictBadInput(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	for _, tc := range []struct {
		name  string
		actor Actor
		id    string
		d     ConflictDecision
		code  string
		field string
	}{
		{"unknown decision", sue, f.ashaConflict, ConflictDecision{Decision: "maybe", Reason: "x"}, schema.ECodeInvalid, "decision"},
		{"missing reason", sue, f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "  "}, schema.ECodeRequired, "reason"},
		{"unknown id", sue, schema.NewID(), ConflictDecision{Decision: ConflictKeepServer, Reason: "x"}, schema.ECodeNotFound, "id"},
		{"not a uuid", sue, "nope", ConflictDecision{Decision: ConflictKeepServer, Reason: "x"}, schema.ECodeNotFound, "id"},
		{"officer", f.actor(f.asha, f.ashaDev), f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "x"}, schema.ECodeForbidden, ""},
		{"auditor", Actor{UserID: "aud", Role: schema.RoleAuditor}, f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "x"}, schema.ECodeForbidden, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts(t)
			_, err := f.db.ResolveConflict(ctx, tc.actor, tc.id, tc.d)
			if e := schema.AsError(err); e == nil || e.Code != tc.code || e.Field != tc.field {
				t.Errorf("error = %v, want %s on %q", err, tc.code, tc.field)
			}
			if after := f.counts(t); after != before {
				t.Errorf("store changed: %+v -> %+v", before, after)
			}
		})
	}
}

func TestApplyLosingToSignedVisitRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	vid := schema.NewID()
	f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(1000, f.ashaDev), signedVisit(f.asha.ID)))
	f.push(t, a, mutation("visit", vid, f.ashaCase, stamp(9000, f.ashaDev), raw("outcome", "no_answer")))
	cs := f.conflicts(t, vid)
	if len(cs) != 1 {
		t.Fatalf("conflicts = %d", len(cs))
	}
	before := f.counts(t)
	_, err := f.db.ResolveConflict(ctx, f.actor(f.sue, ""), cs[0].ID, ConflictDecision{Decision: ConflictApplyLosing, Reason: "x"})
	if schema.ErrorCode(err) != schema.ECodeSigned {
		t.Fatalf("apply to a signed visit: %v, want record_signed", err)
	}
	if after := f.counts(t); after != before {
		t.Errorf("store changed: %+v -> %+v", before, after)
	}
}

func TestSetAside(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	// asha writes to ben's case (same team): out of scope, set aside. carl
	// does the same to asha's: set aside in team B's queue, not team A's.
	vid := schema.NewID()
	ashaMut := mutation("visit", vid, f.benCase, stamp(3000, f.ashaDev), raw("status", "planned", "planned_type", "home_announced"))
	if res := f.push(t, f.actor(f.asha, f.ashaDev), ashaMut); res[0].Status != schema.StatusRejected {
		t.Fatalf("push = %+v, want rejected", res[0])
	}
	carlMut := mutation("visit", schema.NewID(), f.ashaCase, stamp(3000, f.carlDev), raw("status", "planned"))
	f.push(t, f.actor(f.carl, f.carlDev), carlMut)

	sue := f.actor(f.sue, "")
	q, err := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindSetAside})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.SetAside) != 1 || q.SetAside[0].MutationID != ashaMut.ID {
		t.Fatalf("sue's set-aside = %+v, want only %s", q.SetAside, ashaMut.ID)
	}
	it := q.SetAside[0]
	if it.Error == nil || it.Error.Code != schema.ECodeOutOfScope || string(it.Attempted["planned_type"]) != `"home_announced"` ||
		it.Author.UserID != f.asha.ID || it.Author.DeviceID != f.ashaDev || it.CRN != "B000002" || it.OfficerID != f.ben.ID || it.Current != nil {
		t.Errorf("set-aside item = %+v", it)
	}
	if len(q.Conflicts)+len(q.Visits)+len(q.Assessments) != 0 {
		t.Errorf("kind filter let other lists through: %+v", q)
	}
	// sue cannot decide carl's; bad input changes nothing.
	for _, tc := range []struct {
		id   string
		d    SetAsideDecision
		code string
	}{
		{carlMut.ID, SetAsideDecision{Decision: SetAsideDismissed, Reason: "x"}, schema.ECodeNotFound},
		{schema.NewID(), SetAsideDecision{Decision: SetAsideDismissed, Reason: "x"}, schema.ECodeNotFound},
		{ashaMut.ID, SetAsideDecision{Decision: "deleted", Reason: "x"}, schema.ECodeInvalid},
		{ashaMut.ID, SetAsideDecision{Decision: SetAsideApplied}, schema.ECodeRequired},
	} {
		before := f.counts(t)
		if _, err := f.db.ResolveSetAside(ctx, sue, tc.id, tc.d); schema.ErrorCode(err) != tc.code {
			t.Errorf("resolve %s %+v: %v, want %s", tc.id, tc.d, err, tc.code)
		}
		if after := f.counts(t); after != before {
			t.Errorf("store changed: %+v -> %+v", before, after)
		}
	}
	// sue applies asha's change: the visit is created in ben's case, by sue.
	got, err := f.db.ResolveSetAside(ctx, sue, ashaMut.ID, SetAsideDecision{Decision: SetAsideApplied, Reason: "asha covered ben's visit"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != SetAsideApplied || got.DecidedBy != f.sue.ID {
		t.Errorf("decided item = %+v", got)
	}
	v := f.get(t, vid)
	if v.CaseID != f.benCase || v.CreatedBy != f.sue.ID || field(v, "planned_type") != "home_announced" {
		t.Errorf("applied visit = %+v", v)
	}
	ev, _ := f.db.AuditByAction(ctx, "resolve_set_aside")
	if len(ev) != 1 || ev[0].UserID != f.sue.ID || ev[0].RecordID != vid {
		t.Errorf("audit = %+v", ev)
	}
	q, _ = f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindSetAside})
	if len(q.SetAside) != 0 {
		t.Errorf("decided item still queued")
	}
	if _, err := f.db.ResolveSetAside(ctx, sue, ashaMut.ID, SetAsideDecision{Decision: SetAsideDismissed, Reason: "x"}); schema.ErrorCode(err) != schema.ECodeConflict {
		t.Errorf("decide twice: %v, want conflict", err)
	}
	// sam dismisses carl's.
	if _, err := f.db.ResolveSetAside(ctx, f.actor(f.sam, ""), carlMut.ID, SetAsideDecision{Decision: SetAsideDismissed, Reason: "wrong case"}); err != nil {
		t.Fatal(err)
	}
}

func TestOversightOfAssessmentReachesTablet(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	said := schema.NewID()
	f.push(t, asha, mutation("safety_assessment", said, f.ashaCase, stamp(1000, f.ashaDev),
		raw("address", "1 High St", "dogs", "yes", "assessed_on", "2026-11-20", "decision", "")))
	first, err := f.db.PullResponse(ctx, asha, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := f.db.ReviewQueue(ctx, f.actor(f.sue, ""), ReviewFilter{Kind: KindAssessment})
	if len(q.Assessments) != 1 || q.Assessments[0].ID != said {
		t.Fatalf("assessments to review = %+v", q.Assessments)
	}

	bad := []OversightInput{
		{SubjectEntity: "safety_assessment", SubjectID: said, Decision: "not_approved"},                // reason required
		{SubjectEntity: "safety_assessment", SubjectID: said, Decision: "rubber_stamped", Reason: "x"}, // unknown decision
		{SubjectEntity: "case", SubjectID: said, Decision: "approved"},                                 // subject entity
		{SubjectEntity: "safety_assessment", SubjectID: schema.NewID(), Decision: "approved"},          // unknown id
	}
	for _, in := range bad {
		before := f.counts(t)
		if _, err := f.db.Oversee(ctx, f.actor(f.sue, ""), in); err == nil {
			t.Errorf("Oversee(%+v) succeeded", in)
		}
		if after := f.counts(t); after != before {
			t.Errorf("Oversee(%+v) changed the store", in)
		}
	}
	if _, err := f.db.Oversee(ctx, asha, OversightInput{SubjectEntity: "safety_assessment", SubjectID: said, Decision: "approved"}); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("officer's oversight: %v, want forbidden", err)
	}

	o, err := f.db.Oversee(ctx, f.actor(f.sue, ""), OversightInput{SubjectEntity: "safety_assessment", SubjectID: said,
		Decision: "not_approved", Reason: "dog not secured"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Entity != "oversight" || o.CaseID != f.ashaCase || field(o, "by") != f.sue.ID || field(o, "decision") != "not_approved" {
		t.Errorf("oversight = %+v", o)
	}
	sa := f.get(t, said)
	if field(sa, "decision") != "not_approved" || field(sa, "decision_reason") != "dog not secured" ||
		field(sa, "decided_by") != f.sue.ID || field(sa, "decided_on") != "2026-11-23" || field(sa, "dogs") != "yes" {
		t.Errorf("assessment after oversight = %v", sa.Fields)
	}
	// asha's tablet pulls both.
	next, err := f.db.PullResponse(ctx, asha, schema.PullRequest{Cursor: first.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]schema.Record{}
	for _, r := range next.Records {
		got[r.Entity] = r
	}
	if r, ok := got["safety_assessment"]; !ok || field(r, "decision") != "not_approved" || field(r, "decided_by") != f.sue.ID {
		t.Errorf("pulled assessment = %+v", r)
	}
	if r, ok := got["oversight"]; !ok || r.ID != o.ID {
		t.Errorf("pulled oversight = %+v", r)
	}
	q, _ = f.db.ReviewQueue(ctx, f.actor(f.sue, ""), ReviewFilter{Kind: KindAssessment})
	if len(q.Assessments) != 0 {
		t.Errorf("decided assessment still queued")
	}
	ev, _ := f.db.AuditByAction(ctx, "oversight")
	if len(ev) != 1 || ev[0].RecordID != said {
		t.Errorf("oversight audit = %+v", ev)
	}
}

func TestOversightOfVisit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	signed, draft := schema.NewID(), schema.NewID()
	f.push(t, asha, mutation("visit", signed, f.ashaCase, stamp(1000, f.ashaDev), signedVisit(f.asha.ID)),
		mutation("visit", draft, f.ashaCase, stamp(1000, f.ashaDev), visitFields("draft")))
	sue := f.actor(f.sue, "")
	q, _ := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if len(q.Visits) != 1 || q.Visits[0].ID != signed || q.Visits[0].SignedAt != "2026-11-23T09:30:00Z" {
		t.Fatalf("visits to review = %+v", q.Visits)
	}
	if _, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "visit", SubjectID: draft, Decision: "approved"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("oversight of a draft: %v, want invalid", err)
	}
	if _, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "visit", SubjectID: signed, Decision: "referred", Reason: "x"}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("referred visit: %v, want invalid", err)
	}
	if _, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "visit", SubjectID: signed, Decision: "approved"}); err != nil {
		t.Fatal(err)
	}
	if v := f.get(t, signed); v.Version != 1 {
		t.Errorf("oversight changed the signed visit: version %d", v.Version)
	}
	q, _ = f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if len(q.Visits) != 0 {
		t.Errorf("reviewed visit still queued")
	}
}

func TestKeepSetAsideStoresAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	m := mutation("visit", schema.NewID(), f.ashaCase, stamp(1000, f.ashaDev), raw("status", "bogus"))
	f.push(t, f.actor(f.asha, f.ashaDev), m)
	q, err := f.db.ReviewQueue(context.Background(), f.admin, ReviewFilter{Kind: KindSetAside})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.SetAside) != 1 {
		t.Fatalf("set aside = %+v", q.SetAside)
	}
	b, _ := json.Marshal(q.SetAside[0].Attempted)
	if string(b) != `{"status":"bogus"}` || q.SetAside[0].Author.Clock != m.Clock.String() {
		t.Errorf("attempted = %s clock %s", b, q.SetAside[0].Author.Clock)
	}
}

// ReviewCount agrees with the queue's length, before and after decisions.
func TestReviewCount(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	signed := schema.NewID()
	f.push(t, asha, mutation("visit", signed, f.ashaCase, stamp(5000, f.ashaDev), signedVisit(f.asha.ID)),
		mutation("safety_assessment", schema.NewID(), f.ashaCase, stamp(5000, f.ashaDev), raw("address", "1 High St", "assessed_on", "2026-11-20")))
	f.push(t, asha, mutation("visit", schema.NewID(), f.benCase, stamp(5000, f.ashaDev), raw("status", "planned")))
	check := func(what string) {
		t.Helper()
		for _, a := range []Actor{f.actor(f.sue, ""), f.actor(f.sam, ""), f.admin, {UserID: "x", Role: schema.RoleAuditor}} {
			q, err := f.db.ReviewQueue(ctx, a, ReviewFilter{})
			if err != nil {
				t.Fatal(err)
			}
			n, err := f.db.ReviewCount(ctx, a)
			want := len(q.Conflicts) + len(q.SetAside) + len(q.Visits) + len(q.Assessments)
			if err != nil || n != want {
				t.Errorf("%s: %s count = %d %v, want %d", what, a.Role, n, err, want)
			}
		}
	}
	check("before")
	sue := f.actor(f.sue, "")
	if _, err := f.db.Oversee(ctx, sue, OversightInput{SubjectEntity: "visit", SubjectID: signed, Decision: "approved"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.ResolveConflict(ctx, sue, f.ashaConflict, ConflictDecision{Decision: ConflictKeepServer, Reason: "later is right"}); err != nil {
		t.Fatal(err)
	}
	check("after")
	if _, err := f.db.ReviewCount(ctx, f.actor(f.asha, "")); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("officer's count: %v, want forbidden", err)
	}
}
