package server

import (
	"context"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// reviewEnv adds to env a team B supervisor (sam), a case of carl's, and an
// open conflict in asha's case and in carl's, made by pushes.
type reviewEnv struct {
	*env
	sam                        schema.User
	carlCase                   string
	ashaConflict, carlConflict string
	tokens                     map[string]string // username -> access token
}

func newReviewEnv(t *testing.T) *reviewEnv {
	t.Helper()
	ctx := context.Background()
	e := &reviewEnv{env: newEnv(t), tokens: map[string]string{}}
	db := e.srv.DB()
	e.sam = schema.User{ID: schema.NewID(), Username: "sam", Name: "sam", Role: schema.RoleSupervisor, TeamID: e.teamB.ID}
	if err := db.CreateUser(ctx, e.admin, e.sam, pw); err != nil {
		t.Fatal(err)
	}
	e.users["sam"] = e.sam
	e.carlCase = schema.NewID()
	if err := db.Seed(ctx, e.admin, []schema.Record{e.caseRecord(e.carlCase, "C000003", "carl")}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"asha", "carl", "sue", "sam", "root", "audrey"} {
		e.tokens[u] = e.login(u, "dev-"+u).AccessToken
	}
	e.ashaConflict = e.makeConflict("asha", e.ashaCase)
	e.carlConflict = e.makeConflict("carl", e.carlCase)
	return e
}

// push sends mutations as username's tablet and returns the results.
func (e *reviewEnv) push(username string, muts ...schema.Mutation) []schema.MutationResult {
	e.t.Helper()
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: muts}, bearer(e.tokens[username]))
	if r.status != 200 {
		e.t.Fatalf("push: %d %s", r.status, r.body)
	}
	var pr schema.PushResponse
	r.decode(e.t, &pr)
	return pr.Results
}

func (e *reviewEnv) makeConflict(username, caseID string) string {
	e.t.Helper()
	dev := "dev-" + username
	vid := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: caseID,
		Fields: rawFields("status", "draft", "outcome_reason", "server value"), Clock: schema.HLC{Wall: 2000, Node: dev}}
	e.push(username, m)
	m.ID, m.Clock, m.Fields = schema.NewID(), schema.HLC{Wall: 1000, Node: dev}, rawFields("outcome_reason", "losing value")
	if res := e.push(username, m); res[0].Status != schema.StatusConflict {
		e.t.Fatalf("older write = %+v, want conflict", res[0])
	}
	recs, err := e.srv.DB().List(context.Background(), serverdb.Actor{Role: schema.RoleAdmin}, "conflict", caseID)
	if err != nil || len(recs) != 1 {
		e.t.Fatalf("conflicts of %s: %d %v", caseID, len(recs), err)
	}
	return recs[0].ID
}

func TestReviewQueueHTTP(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	r := e.do("GET", "/v1/review", nil, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Fatalf("queue: %d %s", r.status, r.body)
	}
	var q serverdb.ReviewQueue
	r.decode(t, &q)
	if len(q.Conflicts) != 1 || q.Conflicts[0].ID != e.ashaConflict || string(q.Conflicts[0].Losing.Value) != `"losing value"` ||
		q.Conflicts[0].Losing.Author.UserID != e.users["asha"].ID || q.Conflicts[0].Losing.Author.DeviceID != "dev-asha" {
		t.Fatalf("sue's queue = %s", r.body)
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	last := evs[len(evs)-1]
	if view, n := viewDetail(t, last.Detail); last.UserID != e.users["sue"].ID || view != "review" || n != 1 || last.CaseID != e.ashaCase {
		t.Errorf("audit of the view = %+v %s", last, last.Detail)
	}
	// sam sees only carl's; filters; refusals.
	r = e.do("GET", "/v1/review?kind=conflict", nil, bearer(e.tokens["sam"]))
	r.decode(t, &q)
	if len(q.Conflicts) != 1 || q.Conflicts[0].ID != e.carlConflict {
		t.Errorf("sam's queue = %s", r.body)
	}
	r = e.do("GET", "/v1/review?officer_id="+e.users["carl"].ID, nil, bearer(e.tokens["root"]))
	r.decode(t, &q)
	if r.status != 200 || len(q.Conflicts) != 1 || q.Conflicts[0].ID != e.carlConflict {
		t.Errorf("admin's queue of carl = %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		path, user string
		status     int
		field      string
	}{
		{"/v1/review?kind=bogus", "sue", 400, "kind"},
		{"/v1/review?officer_id=a%20b", "sue", 400, "officer_id"},
		{"/v1/review", "asha", 403, ""},
		{"/v1/review", "audrey", 200, ""},
	} {
		before := e.counts()
		r := e.do("GET", tc.path, nil, bearer(e.tokens[tc.user]))
		if r.status != tc.status || (tc.status != 200 && r.errorResponse().Error.Field != tc.field) {
			t.Errorf("GET %s as %s = %d %s, want %d on %q", tc.path, tc.user, r.status, r.body, tc.status, tc.field)
		}
		if after := e.counts(); tc.status != 200 && after != before {
			t.Errorf("GET %s as %s changed the store", tc.path, tc.user)
		}
	}
}

func TestResolveConflictHTTP(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	path := "/v1/review/conflicts/"
	ok := map[string]string{"decision": "keep_server", "reason": "the later value is right"}
	for _, tc := range []struct {
		name, user, id string
		body           any
		status         int
		field          string
	}{
		{"another team's conflict", "sue", e.carlConflict, ok, 404, "id"},
		{"unknown id", "sue", schema.NewID(), ok, 404, "id"},
		{"unknown decision", "sue", e.ashaConflict, map[string]string{"decision": "toss_a_coin", "reason": "x"}, 400, "decision"},
		{"no decision", "sue", e.ashaConflict, map[string]string{"reason": "x"}, 400, "decision"},
		{"no reason", "sue", e.ashaConflict, map[string]string{"decision": "keep_server"}, 400, "reason"},
		{"not json", "sue", e.ashaConflict, "{", 400, ""},
		{"officer", "asha", e.ashaConflict, ok, 403, ""},
		{"auditor", "audrey", e.ashaConflict, ok, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counts()
			r := e.do("POST", path+tc.id, tc.body, bearer(e.tokens[tc.user]))
			if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
				t.Errorf("= %d %s, want %d on %q", r.status, r.body, tc.status, tc.field)
			}
			if after := e.counts(); after != before {
				t.Errorf("store changed: %+v -> %+v", before, after)
			}
		})
	}
	r := e.do("POST", path+e.ashaConflict, ok, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Fatalf("resolve: %d %s", r.status, r.body)
	}
	var rec schema.Record
	r.decode(t, &rec)
	var c schema.Conflict
	if err := rec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Status != "resolved" || c.Resolution != "keep_server: the later value is right" || c.ResolvedBy != e.users["sue"].ID {
		t.Errorf("resolved = %+v", c)
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "resolve_conflict")
	if len(evs) != 1 || evs[0].RecordID != e.ashaConflict || evs[0].UserID != e.users["sue"].ID {
		t.Errorf("audit = %+v", evs)
	}
	if r := e.do("POST", path+e.ashaConflict, ok, bearer(e.tokens["sue"])); r.status != 409 {
		t.Errorf("resolve twice = %d %s, want 409", r.status, r.body)
	}
	// asha's tablet pulls the resolution.
	r = e.do("POST", "/v1/sync/pull", map[string]string{"cursor": ""}, bearer(e.tokens["asha"]))
	var pl schema.PullResponse
	r.decode(t, &pl)
	found := false
	for _, rec := range pl.Records {
		if rec.ID == e.ashaConflict && string(rec.Fields["status"]) == `"resolved"` {
			found = true
		}
	}
	if !found {
		t.Errorf("asha's pull has no resolved conflict %s", e.ashaConflict)
	}
}

func TestResolveSetAsideHTTP(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	// asha writes to ben's case: set aside.
	vid := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: e.benCase,
		Fields: rawFields("status", "planned", "planned_type", "home_announced"), Clock: schema.HLC{Wall: 3000, Node: "dev-asha"}}
	if res := e.push("asha", m); res[0].Status != schema.StatusRejected {
		t.Fatalf("push = %+v", res[0])
	}
	var q serverdb.ReviewQueue
	e.do("GET", "/v1/review?kind=set_aside", nil, bearer(e.tokens["sue"])).decode(t, &q)
	if len(q.SetAside) != 1 || q.SetAside[0].MutationID != m.ID || string(q.SetAside[0].Attempted["planned_type"]) != `"home_announced"` {
		t.Fatalf("set aside = %+v", q.SetAside)
	}
	path := "/v1/review/set-aside/"
	for _, tc := range []struct {
		user, id string
		body     any
		status   int
		field    string
	}{
		{"sam", m.ID, map[string]string{"decision": "dismissed", "reason": "x"}, 404, "mutation_id"},
		{"sue", "nope", map[string]string{"decision": "dismissed", "reason": "x"}, 404, "mutation_id"},
		{"sue", m.ID, map[string]string{"decision": "ignored", "reason": "x"}, 400, "decision"},
		{"sue", m.ID, map[string]string{"decision": "applied"}, 400, "reason"},
		{"asha", m.ID, map[string]string{"decision": "dismissed", "reason": "x"}, 403, ""},
	} {
		before := e.counts()
		r := e.do("POST", path+tc.id, tc.body, bearer(e.tokens[tc.user]))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s %v = %d %s, want %d on %q", tc.user, tc.body, r.status, r.body, tc.status, tc.field)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s %v changed the store", tc.user, tc.body)
		}
	}
	r := e.do("POST", path+m.ID, map[string]string{"decision": "applied", "reason": "asha covered ben's visit"}, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Fatalf("apply: %d %s", r.status, r.body)
	}
	rec, err := e.srv.DB().Get(context.Background(), serverdb.Actor{Role: schema.RoleAdmin}, "visit", vid)
	if err != nil || rec.CaseID != e.benCase || rec.CreatedBy != e.users["sue"].ID {
		t.Errorf("applied visit = %+v %v", rec, err)
	}
}

func TestOversightHTTP(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	said := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "safety_assessment", RecordID: said, CaseID: e.ashaCase,
		Fields: rawFields("address", "1 High St", "dogs", "yes", "assessed_on", "2026-11-20"), Clock: schema.HLC{Wall: 3000, Node: "dev-asha"}}
	e.push("asha", m)
	r := e.do("POST", "/v1/sync/pull", map[string]string{"cursor": ""}, bearer(e.tokens["asha"]))
	var first schema.PullResponse
	r.decode(t, &first)

	for _, tc := range []struct {
		user   string
		body   any
		status int
		field  string
	}{
		{"sue", map[string]string{"subject_entity": "safety_assessment", "subject_id": said, "decision": "not_approved"}, 400, "reason"},
		{"sue", map[string]string{"subject_entity": "safety_assessment", "subject_id": said, "decision": "fine", "reason": "x"}, 400, "decision"},
		{"sue", map[string]string{"subject_entity": "case", "subject_id": said, "decision": "approved"}, 400, "subject_entity"},
		{"sue", map[string]string{"subject_entity": "safety_assessment", "subject_id": schema.NewID(), "decision": "approved"}, 404, "subject_id"},
		{"sue", map[string]any{"subject_entity": "safety_assessment", "subject_id": said, "decision": 3}, 400, "decision"},
		{"sam", map[string]string{"subject_entity": "safety_assessment", "subject_id": said, "decision": "approved"}, 404, "subject_id"},
		{"asha", map[string]string{"subject_entity": "safety_assessment", "subject_id": said, "decision": "approved"}, 403, ""},
	} {
		before := e.counts()
		r := e.do("POST", "/v1/oversight", tc.body, bearer(e.tokens[tc.user]))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s %v = %d %s, want %d on %q", tc.user, tc.body, r.status, r.body, tc.status, tc.field)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s %v changed the store", tc.user, tc.body)
		}
	}
	r = e.do("POST", "/v1/oversight", map[string]string{"subject_entity": "safety_assessment", "subject_id": said,
		"decision": "exempted", "reason": "address unsafe; office contact agreed"}, bearer(e.tokens["sue"]))
	if r.status != 201 {
		t.Fatalf("oversight: %d %s", r.status, r.body)
	}
	// asha's tablet pulls the decision.
	r = e.do("POST", "/v1/sync/pull", map[string]string{"cursor": first.Cursor}, bearer(e.tokens["asha"]))
	var next schema.PullResponse
	r.decode(t, &next)
	var sa schema.SafetyAssessment
	var sawOversight bool
	for _, rec := range next.Records {
		switch rec.Entity {
		case "safety_assessment":
			if err := rec.Decode(&sa); err != nil {
				t.Fatal(err)
			}
		case "oversight":
			sawOversight = true
		}
	}
	if sa.Decision != "exempted" || sa.DecisionReason != "address unsafe; office contact agreed" || sa.DecidedBy != e.users["sue"].ID ||
		sa.DecidedOn != schema.DateOf(e.clock.Now()) || !sawOversight {
		t.Errorf("pulled assessment = %+v, oversight %v", sa, sawOversight)
	}
}

// seedSignedVisits adds n signed home visits to caseID (asha's, high RoSH:
// the default review rules queue each), signed a day apart from 1 November
// 2026, and returns their ids, oldest first.
func (e *reviewEnv) seedSignedVisits(caseID string, n int) []string {
	e.t.Helper()
	var ids []string
	var recs []schema.Record
	for i := range n {
		day := time.Date(2026, 11, 1+i, 10, 0, 0, 0, time.UTC)
		v := schema.Visit{OfficerID: e.users["asha"].ID, Type: "home_announced", Status: "signed", Outcome: "completed",
			StartedAt: schema.TimestampOf(day), SignedAt: schema.TimestampOf(day.Add(time.Hour)), SignedBy: e.users["asha"].ID}
		id := schema.NewID()
		ids = append(ids, id)
		recs = append(recs, schema.Record{Entity: "visit", ID: id, CaseID: caseID, Fields: schema.FieldsOf(v)})
	}
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		e.t.Fatal(err)
	}
	return ids
}

// GET /v1/review pages each list and counts every item by kind; bad
// paging is refused by name.
func TestReviewQueuePagingHTTP(t *testing.T) {
	e := newReviewEnv(t)
	ids := e.seedSignedVisits(e.ashaCase, 5)
	var q serverdb.ReviewQueue
	r := e.do("GET", "/v1/review?kind=visit&offset=2&limit=2", nil, bearer(e.tokens["sue"]))
	r.decode(t, &q)
	want := serverdb.ReviewCounts{Conflicts: 1, Visits: 5}
	if r.status != 200 || q.Counts != want || q.Total != 6 || q.Offset != 2 || q.Limit != 2 || len(q.Visits) != 2 ||
		q.Visits[0].ID != ids[2] || q.Visits[1].ID != ids[3] || len(q.Conflicts) != 0 {
		t.Fatalf("page 2 of 2 = %d %s", r.status, r.body)
	}
	if q.Visits[0].Rule != "home_visit_high_rosh" || q.Visits[0].Risk.RoSH != "high" {
		t.Errorf("rule %q risk %+v", q.Visits[0].Rule, q.Visits[0].Risk)
	}
	r = e.do("GET", "/v1/review", nil, bearer(e.tokens["sue"]))
	r.decode(t, &q)
	if q.Limit != serverdb.DefaultReviewLimit || len(q.Visits) != 5 || len(q.Conflicts) != 1 {
		t.Errorf("default page: %s", r.body)
	}
	for _, tc := range []struct{ query, field string }{
		{"offset=-1", "offset"}, {"offset=x", "offset"}, {"limit=0", "limit"}, {"limit=501", "limit"}, {"limit=ten", "limit"},
	} {
		before := e.counts()
		r := e.do("GET", "/v1/review?"+tc.query, nil, bearer(e.tokens["sue"]))
		if r.status != 400 || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s = %d %s, want 400 on %s", tc.query, r.status, r.body, tc.field)
		}
		if e.counts() != before {
			t.Errorf("%s changed the store", tc.query)
		}
	}
}

// POST /v1/review/approve: one reason, one oversight record per item; a
// refusal names the item and writes nothing.
func TestApproveAllHTTP(t *testing.T) {
	e := newReviewEnv(t)
	ids := e.seedSignedVisits(e.ashaCase, 3)
	carls := e.seedSignedVisits(e.carlCase, 1)
	body := func(ids ...string) map[string]any {
		return map[string]any{"subject_entity": "visit", "subject_ids": ids, "reason": "Read in supervision"}
	}
	for _, tc := range []struct {
		name, user string
		body       any
		status     int
		field      string
	}{
		{"another team's visit", "sue", body(ids[0], carls[0]), 404, "subject_ids[1]"},
		{"no reason", "sue", map[string]any{"subject_entity": "visit", "subject_ids": ids}, 400, "reason"},
		{"no items", "sue", body(), 400, "subject_ids"},
		{"a conflict", "sue", map[string]any{"subject_entity": "conflict", "subject_ids": []string{e.ashaConflict}, "reason": "x"}, 400, "subject_entity"},
		{"officer", "asha", body(ids...), 403, ""},
		{"auditor", "audrey", body(ids...), 403, ""},
	} {
		before := e.counts()
		r := e.do("POST", "/v1/review/approve", tc.body, bearer(e.tokens[tc.user]))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s = %d %s, want %d on %q", tc.name, r.status, r.body, tc.status, tc.field)
		}
		if e.counts() != before {
			t.Errorf("%s changed the store", tc.name)
		}
	}
	r := e.do("POST", "/v1/review/approve", body(ids[2], ids[0]), bearer(e.tokens["sue"]))
	if r.status != 201 {
		t.Fatalf("approve = %d %s", r.status, r.body)
	}
	var out struct {
		Oversights []schema.Record `json:"oversights"`
	}
	r.decode(t, &out)
	if len(out.Oversights) != 2 {
		t.Fatalf("%d oversight records, want 2", len(out.Oversights))
	}
	for i, want := range []string{ids[2], ids[0]} {
		var o schema.Oversight
		if err := out.Oversights[i].Decode(&o); err != nil || o.SubjectID != want || o.Decision != "approved" || o.Reason != "Read in supervision" {
			t.Errorf("oversight %d = %+v %v", i, o, err)
		}
	}
	var q serverdb.ReviewQueue
	e.do("GET", "/v1/review?kind=visit", nil, bearer(e.tokens["sue"])).decode(t, &q)
	if q.Counts.Visits != 1 || q.Visits[0].ID != ids[1] {
		t.Errorf("left in the queue: %+v", q.Visits)
	}
}
