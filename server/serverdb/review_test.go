package serverdb

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
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

// queueFixture is newFixture plus four cases of team A (very high RoSH;
// medium with a live domestic-abuse flag; medium with a child-protection
// flag; low) and signed visits in them and in asha's high-RoSH case, some
// of which the default review rules queue.
type queueFixture struct {
	*fixture
	// The queued visits, in the queue's order: by risk, then oldest.
	queued []string
	// Signed visits no rule queues.
	notQueued []string
}

func newQueueFixture(t *testing.T) *queueFixture {
	t.Helper()
	f := &queueFixture{fixture: newFixture(t)}
	mkCase := func(crn, rosh string, officer schema.User, flag string) string {
		id := schema.NewID()
		rec := caseRecord(id, crn, officer)
		rec.Fields["rosh"], _ = json.Marshal(rosh)
		recs := []schema.Record{rec}
		if flag != "" {
			fl := schema.Flag{Type: flag, StartDate: "2026-01-01"}
			recs = append(recs, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(fl)})
		}
		if err := f.db.Seed(context.Background(), f.admin, recs); err != nil {
			t.Fatal(err)
		}
		return id
	}
	veryHigh := mkCase("V000010", "very_high", f.ben, "")
	da := mkCase("D000011", "medium", f.asha, "da_perpetrator")
	cp := mkCase("P000012", "medium", f.ben, "child_protection")
	low := mkCase("L000013", "low", f.asha, "")
	var recs []schema.Record
	visit := func(caseID, typ, signedOn string, edit func(*schema.Visit)) string {
		v := schema.Visit{OfficerID: f.asha.ID, Type: typ, Status: "signed", Outcome: "completed", StartedAt: schema.Timestamp(signedOn + "T09:00:00Z"),
			SignedAt: schema.Timestamp(signedOn + "T10:00:00Z"), SignedBy: f.asha.ID}
		if edit != nil {
			edit(&v)
		}
		id := schema.NewID()
		recs = append(recs, schema.Record{Entity: "visit", ID: id, CaseID: caseID, Fields: schema.FieldsOf(v)})
		return id
	}
	concern := func(v *schema.Visit) { v.Concern, v.NoActionReason = true, "already known" }
	childNotSeen := func(v *schema.Visit) {
		v.Children = []schema.VisitChild{{MemberID: "m1", Present: "yes", Seen: "yes"}, {MemberID: "m2", Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}}
	}
	f.queued = []string{
		visit(veryHigh, "home_unannounced", "2026-11-20", nil), // very high RoSH
		visit(f.ashaCase, "home_announced", "2026-11-10", nil), // high, older
		visit(f.ashaCase, "initial_home", "2026-11-15", nil),   // high, newer
		visit(da, "home_announced", "2026-11-01", nil),         // medium, domestic abuse
		visit(cp, "office", "2026-10-01", concern),             // medium, child protection: the concern queues it
		visit(low, "phone", "2026-09-01", childNotSeen),        // low: a child not seen
	}
	f.notQueued = []string{
		visit(f.ashaCase, "office", "2026-11-11", nil),  // high RoSH, not a home visit
		visit(da, "phone", "2026-11-02", nil),           // DA, not a home visit
		visit(low, "home_announced", "2026-11-03", nil), // low RoSH, no flag, nothing noted
		visit(cp, "doorstep", "2026-11-04", nil),        // a doorstep is not a home visit here
	}
	if err := f.db.Seed(context.Background(), f.admin, recs); err != nil {
		t.Fatal(err)
	}
	return f
}

func visitIDs(items []VisitReviewItem) []string {
	out := []string{}
	for _, v := range items {
		out = append(out, v.ID)
	}
	return out
}

// TestReviewQueueRulesOrderPaging: the default rules queue what they say
// and nothing else; the queue is ordered by risk, then oldest first; counts
// are by kind, whatever the page; pages follow each other; the menu's count
// agrees; nothing before the rules' From is queued.
func TestReviewQueueRulesOrderPaging(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	q, err := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if err != nil {
		t.Fatal(err)
	}
	if got := visitIDs(q.Visits); !slices.Equal(got, f.queued) {
		t.Fatalf("queued visits\n got %v\nwant %v", got, f.queued)
	}
	wantRules := []string{"home_visit_high_rosh", "home_visit_high_rosh", "home_visit_high_rosh", "home_visit_domestic_abuse", "safeguarding_concern", "child_not_seen"}
	for i, v := range q.Visits {
		if v.Rule != wantRules[i] {
			t.Errorf("visit %d queued by %q, want %q", i, v.Rule, wantRules[i])
		}
	}
	if q.Visits[0].Name != "Sam Doe" || q.Visits[0].CRN != "V000010" {
		t.Errorf("the first visit names %q %q, want Sam Doe V000010", q.Visits[0].Name, q.Visits[0].CRN)
	}
	if r := q.Visits[3].Risk; r != (Risk{RoSH: "medium", DomesticAbuse: true}) {
		t.Errorf("the DA case's risk: %+v", r)
	}
	if r := q.Visits[4].Risk; r != (Risk{RoSH: "medium", ChildProtection: true}) {
		t.Errorf("the child-protection case's risk: %+v", r)
	}
	want := ReviewCounts{Conflicts: 0, Visits: 6}
	if q.Counts != want || q.Total != 6 || q.Offset != 0 || q.Limit != DefaultReviewLimit || len(q.Conflicts) != 0 {
		t.Errorf("counts %+v total %d offset %d limit %d, want %+v, 6, 0, %d", q.Counts, q.Total, q.Offset, q.Limit, want, DefaultReviewLimit)
	}
	if n, err := f.db.ReviewCount(ctx, sue); err != nil || n != 6 {
		t.Errorf("ReviewCount = %d %v, want 6", n, err)
	}
	// Pages of two: each a slice of the whole order, the last short, one
	// past the end empty; the counts the same on each.
	var paged []string
	for off := 0; off <= 6; off += 2 {
		p, err := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit, Offset: off, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if p.Counts != want || p.Offset != off || p.Limit != 2 || len(p.Visits) > 2 {
			t.Errorf("page at %d: counts %+v offset %d limit %d, %d items", off, p.Counts, p.Offset, p.Limit, len(p.Visits))
		}
		paged = append(paged, visitIDs(p.Visits)...)
	}
	if !slices.Equal(paged, f.queued) {
		t.Errorf("the pages together\n got %v\nwant %v", paged, f.queued)
	}
	// Counts by kind do not depend on the kind asked for.
	if p, _ := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindConflict}); p.Counts != want || len(p.Visits) != 0 {
		t.Errorf("kind conflict: counts %+v, %d visits", p.Counts, len(p.Visits))
	}
	for _, bad := range []ReviewFilter{{Offset: -1}, {Limit: -1}, {Limit: MaxReviewLimit + 1}} {
		if _, err := f.db.ReviewQueue(ctx, sue, bad); schema.ErrorCode(err) != schema.ECodeInvalid {
			t.Errorf("filter %+v: %v, want invalid", bad, err)
		}
	}
	// Migrated history: nothing signed before From.
	f.db.review.From = "2026-11-10"
	q, _ = f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if got := visitIDs(q.Visits); !slices.Equal(got, f.queued[:3]) || q.Counts.Visits != 3 {
		t.Errorf("from 2026-11-10: %v (count %d), want %v", got, q.Counts.Visits, f.queued[:3])
	}
	if n, _ := f.db.ReviewCount(ctx, sue); n != 3 {
		t.Errorf("ReviewCount from 2026-11-10 = %d, want 3", n)
	}
	// A rules document that queues every visit.
	f.db.review = policy.ReviewRules{Visits: []policy.VisitReviewRule{{ID: "all", Name: "All"}}}
	if n, _ := f.db.ReviewCount(ctx, sue); n != 10 {
		t.Errorf("every visit queued: %d, want 10", n)
	}
}

// TestApproveAll: one reason, one oversight record and one audit event per
// item; an item refused refuses them all and writes nothing.
func TestApproveAll(t *testing.T) {
	t.Parallel()
	f := newQueueFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	picked := []string{f.queued[4], f.queued[0], f.queued[2]}
	// Refusals first: each changes nothing.
	carlCase := schema.NewID()
	carlVisit := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000003", f.carl),
		{Entity: "visit", ID: carlVisit, CaseID: carlCase, Fields: schema.FieldsOf(schema.Visit{Type: "home_announced", Status: "signed",
			StartedAt: "2026-11-20T09:00:00Z", SignedAt: "2026-11-20T10:00:00Z", SignedBy: f.carl.ID})}}); err != nil {
		t.Fatal(err)
	}
	before := f.counts(t)
	for _, tt := range []struct {
		name        string
		in          BulkApproval
		code, field string
	}{
		{"no reason", BulkApproval{SubjectEntity: "visit", SubjectIDs: picked, Reason: "  "}, schema.ECodeRequired, "reason"},
		{"none", BulkApproval{SubjectEntity: "visit", Reason: "ok"}, schema.ECodeRequired, "subject_ids"},
		{"a conflict", BulkApproval{SubjectEntity: "conflict", SubjectIDs: picked, Reason: "ok"}, schema.ECodeInvalid, "subject_entity"},
		{"twice", BulkApproval{SubjectEntity: "visit", SubjectIDs: []string{picked[0], picked[1], picked[0]}, Reason: "ok"}, schema.ECodeInvalid, "subject_ids[2]"},
		{"not an id", BulkApproval{SubjectEntity: "visit", SubjectIDs: []string{picked[0], "x"}, Reason: "ok"}, schema.ECodeInvalid, "subject_ids[1]"},
		{"another team's", BulkApproval{SubjectEntity: "visit", SubjectIDs: []string{picked[0], carlVisit}, Reason: "ok"}, schema.ECodeNotFound, "subject_ids[1]"},
		{"a visit as an assessment", BulkApproval{SubjectEntity: "safety_assessment", SubjectIDs: picked, Reason: "ok"}, schema.ECodeNotFound, "subject_ids[0]"},
	} {
		if _, err := f.db.ApproveAll(ctx, sue, tt.in); schema.ErrorCode(err) != tt.code || schema.AsError(err).Field != tt.field {
			t.Errorf("%s: %v, want %s at %s", tt.name, err, tt.code, tt.field)
		}
	}
	if _, err := f.db.ApproveAll(ctx, f.actor(f.asha, f.ashaDev), BulkApproval{SubjectEntity: "visit", SubjectIDs: picked, Reason: "ok"}); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("an officer's bulk approval: %v, want forbidden", err)
	}
	if after := f.counts(t); after != before {
		t.Fatalf("refusals wrote: %+v, then %+v", before, after)
	}
	recs, err := f.db.ApproveAll(ctx, sue, BulkApproval{SubjectEntity: "visit", SubjectIDs: picked, Reason: " Seen in supervision, 4 December "})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d oversight records, want 3", len(recs))
	}
	for i, r := range recs {
		var o schema.Oversight
		if err := json.Unmarshal(mustJSON(t, r.Fields), &o); err != nil {
			t.Fatal(err)
		}
		if r.Entity != "oversight" || o.SubjectID != picked[i] || o.Decision != "approved" || o.Reason != "Seen in supervision, 4 December" || o.By != f.sue.ID {
			t.Errorf("record %d: %s %+v", i, r.Entity, o)
		}
	}
	events, err := f.db.AuditByAction(ctx, "oversight")
	if err != nil || len(events) != 3 {
		t.Fatalf("oversight audit events: %d %v, want 3", len(events), err)
	}
	for i, e := range events {
		if e.RecordID != picked[i] || !strings.Contains(string(e.Detail), `"bulk":3`) || !strings.Contains(string(e.Detail), `"reason":"Seen in supervision, 4 December"`) {
			t.Errorf("event %d: %s %s", i, e.RecordID, e.Detail)
		}
	}
	q, _ := f.db.ReviewQueue(ctx, sue, ReviewFilter{Kind: KindVisit})
	if got, want := visitIDs(q.Visits), []string{f.queued[1], f.queued[3], f.queued[5]}; !slices.Equal(got, want) {
		t.Errorf("left in the queue %v, want %v", got, want)
	}
	// Approved once, again in a later batch: each approval is its own
	// record (a visit may be reviewed again).
	if _, err := f.db.ApproveAll(ctx, sue, BulkApproval{SubjectEntity: "visit", SubjectIDs: picked[:1], Reason: "again"}); err != nil {
		t.Errorf("a second approval: %v", err)
	}
}

func mustJSON(t *testing.T, m map[string]json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
