package server

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// periodEnv is env with three domestic-abuse cases that started in
// October 2026, published on 2 November: team A's P000001 (asha, a phone
// call on 5 October: the first home visit, due 16 October, missed) and
// P000002 (ben, a home visit on 10 October: on time), team B's P000003
// (carl, on time).
type periodEnv struct {
	*env
	p1, p2, p3 string
	call       string // p1's phone call
	tokens     map[string]issued
}

const periodBody = `{"from": "2026-10-01", "to": "2026-10-31"}`

func newPeriodEnv(t *testing.T) *periodEnv {
	t.Helper()
	e := &periodEnv{env: newEnv(t), tokens: map[string]issued{}}
	e.clock.Set(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	var recs []schema.Record
	addCase := func(crn, officer, start string) string {
		id := schema.NewID()
		r := e.caseRecord(id, crn, officer)
		r.Fields["supervision_start"], _ = json.Marshal(start)
		recs = append(recs, r, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: id,
			Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: schema.Date(start)})})
		return id
	}
	visit := func(caseID, officer, day, typ string) string {
		u := e.users[officer]
		v := schema.Visit{OfficerID: u.ID, PlannedType: "home_announced", Type: typ, Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: schema.Timestamp(day + "T10:00:00Z"), EndedAt: schema.Timestamp(day + "T10:40:00Z"),
			PersonSeen: "yes", PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: schema.Timestamp(day + "T11:00:00Z"), SignedBy: u.ID}
		if typ == "phone" {
			v.Location, v.FaceToFace = "", false
		}
		id := schema.NewID()
		recs = append(recs, schema.Record{Entity: "visit", ID: id, CaseID: caseID, Fields: schema.FieldsOf(v)})
		return id
	}
	e.p1 = addCase("P000001", "asha", "2026-10-01")
	e.call = visit(e.p1, "asha", "2026-10-05", "phone")
	e.p2 = addCase("P000002", "ben", "2026-10-03")
	visit(e.p2, "ben", "2026-10-10", "home_announced")
	e.p3 = addCase("P000003", "carl", "2026-10-02")
	visit(e.p3, "carl", "2026-10-09", "home_announced")
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	return e
}

// as is user's bearer header: signed in once, and again once the clock
// has moved (the tests move it past a token's life).
func (e *periodEnv) as(user string) map[string]string {
	if t, ok := e.tokens[user]; ok && t.at.Equal(e.clock.Now()) {
		return bearer(t.token)
	}
	tok := e.login(user, "dev-"+user).AccessToken
	e.tokens[user] = issued{tok, e.clock.Now()}
	return bearer(tok)
}

type issued struct {
	token string
	at    time.Time
}

// amend pushes, as asha's tablet, an amendment of p1's phone call: it was
// a home visit.
func (e *periodEnv) amend(t *testing.T) string {
	t.Helper()
	id := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "amendment", RecordID: id, CaseID: e.p1, Clock: schema.HLC{Wall: e.clock.Now().UnixMilli(), Node: "dev-asha"},
		Fields: rawFields("visit_id", e.call, "reason", "recorded as a phone call by mistake", "amended_at", schema.TimestampOf(e.clock.Now()),
			"changes", rawFields("type", "home_announced", "face_to_face", true, "location", "home"))}
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, e.as("asha"))
	var pr schema.PushResponse
	r.decode(t, &pr)
	if r.status != 200 || len(pr.Results) != 1 || pr.Results[0].Status != schema.StatusApplied {
		t.Fatalf("push the amendment: %d %s", r.status, r.body)
	}
	return id
}

func (e *periodEnv) period(t *testing.T, user, id string) PeriodAnswer {
	t.Helper()
	return getAs[PeriodAnswer](t, e, user, "/v1/periods/"+id)
}

// getAs GETs path as user, wants 200 and decodes the answer.
func getAs[T any](t *testing.T, e *periodEnv, user, path string) T {
	t.Helper()
	r := e.do("GET", path, nil, e.as(user))
	if r.status != 200 {
		t.Fatalf("GET %s as %s: %d %s", path, user, r.status, r.body)
	}
	var a T
	r.decode(t, &a)
	return a
}

func publishedMeasure(t *testing.T, a PeriodAnswer, slug string) compliance.FirstVisitReport {
	t.Helper()
	var pf compliance.PeriodFigures
	if err := json.Unmarshal(a.Figures, &pf); err != nil {
		t.Fatal(err)
	}
	var rep compliance.FirstVisitReport
	if err := json.Unmarshal(pf.Measures[slug], &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func comparison(a PeriodAnswer, slug string) compliance.MeasureComparison {
	for _, m := range a.Now {
		if m.Slug == slug {
			return m
		}
	}
	return compliance.MeasureComparison{}
}

func figureText(f *compliance.Figure) string {
	if f == nil {
		return "nil"
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// The story: team A's October is published with P000001's first
// home visit missed; in November an amendment says the phone call was a
// home visit. The published figures stay as they were, the live figure
// moves, and the revision says which case, which record, what, when, who
// and what the figure is now.
func TestPublishedPeriodKeepsItsFiguresAndListsRevisions(t *testing.T) {
	t.Parallel()
	e := newPeriodEnv(t)
	r := e.do("POST", "/v1/periods", periodBody, e.as("sue"))
	if r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	var pub Published
	r.decode(t, &pub)
	p := pub.Publication
	if p.Scope != "team" || p.TeamID != e.teamA.ID || p.From != "2026-10-01" || p.To != "2026-10-31" || p.AsOf != "2026-10-31" ||
		p.PublishedBy != e.users["sue"].ID || p.PublishedByName != "sue" || p.PublishedAt != "2026-11-02T10:00:00.000Z" ||
		p.RuleVersion == "" || !strings.HasPrefix(p.RulesTag, "r:") || p.Supersedes != "" || p.Status != "current" {
		t.Errorf("publication = %+v", p)
	}
	before := e.period(t, "sue", p.ID)
	if string(before.Figures) != string(pub.Figures) {
		t.Errorf("GET's figures differ from those published")
	}
	fhv := publishedMeasure(t, before, "first-home-visits")
	if fhv.Totals.Numerator.N != 1 || fhv.Totals.Denominator.N != 2 || fhv.Totals.Percent == nil || *fhv.Totals.Percent != 50 ||
		!slices.Equal(fhv.Totals.Missed.CaseIDs, []string{e.p1}) || fhv.Totals.VisitedAtAll.Numerator.N != 1 {
		t.Errorf("published measure 1 = %+v", fhv.Totals)
	}
	if fhv.Headline == nil || fhv.Headline.Numerator != 1 || fhv.Headline.Denominator != 2 {
		t.Errorf("published headline = %s", figureText(&fhv.Headline.Figure))
	}
	if len(before.Revisions) != 0 {
		t.Errorf("revisions before any change: %+v", before.Revisions)
	}

	// Three days later: the amendment, and a visit after the period (which
	// no figure of October reads).
	e.clock.Set(time.Date(2026, 11, 5, 9, 30, 0, 0, time.UTC))
	am := e.amend(t)
	later := visitMutation(e.p1, "dev-asha", e.clock.Now().UnixMilli())
	later.Fields = rawFields("status", "planned", "planned_type", "home_announced", "planned_at", "2026-11-20T10:00:00Z")
	if r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{later}}, e.as("asha")); r.status != 200 {
		t.Fatalf("push a later visit: %d %s", r.status, r.body)
	}
	// An admin corrects the spelling of P000002's name in place.
	e.clock.Set(time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC))
	if r := e.do("PATCH", "/v1/cases/"+e.p2, map[string]any{"fields": rawFields("given_name", "Samuel")}, e.as("root")); r.status != 200 {
		t.Fatalf("patch P000002: %d %s", r.status, r.body)
	}
	e.clock.Set(time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC))

	after := e.period(t, "sue", p.ID)
	if string(after.Figures) != string(pub.Figures) {
		t.Errorf("the published figures changed after the amendment")
	}
	c := comparison(after, "first-home-visits")
	if figureText(c.Published) != `{"numerator":1,"denominator":2,"percent":50}` || figureText(c.Now) != `{"numerator":2,"denominator":2,"percent":100}` {
		t.Errorf("measure 1 published %s, now %s; want 1 of 2 then 2 of 2", figureText(c.Published), figureText(c.Now))
	}
	changed := map[string]bool{}
	for _, f := range c.Figures {
		if f.Changed {
			changed[f.Figure] = true
		}
	}
	for _, want := range []string{"numerator", "missed", "percent", "visited_at_all.numerator"} {
		if !changed[want] {
			t.Errorf("figure %s not marked changed: %+v", want, c.Figures)
		}
	}
	if changed["denominator"] || changed["cases"] {
		t.Errorf("the denominator and the cases did not change, but are marked: %+v", c.Figures)
	}
	if len(after.Revisions) != 2 {
		t.Fatalf("revisions = %+v, want the name's change, then the amendment", after.Revisions)
	}
	if rv := after.Revisions[0]; rv.CaseID != e.p2 || rv.CRN != "P000002" || rv.Entity != "case" || rv.RecordID != e.p2 || rv.Action != "update" ||
		rv.At != "2026-11-05T10:00:00.000Z" || rv.ByName != "root" || !slices.Equal(rv.Changes, []compliance.FieldChange{{Field: "given_name", New: "Samuel"}}) ||
		len(rv.Figures) == 0 || rv.Figures[0].Slug != "first-home-visits" || !slices.Contains(rv.Figures[0].NowIn, "numerator") {
		t.Errorf("the name's revision = %+v", rv)
	}
	rv := after.Revisions[1]
	if rv.CaseID != e.p1 || rv.CRN != "P000001" || rv.Entity != "amendment" || rv.RecordID != am || rv.At != "2026-11-05T09:30:00.000Z" ||
		rv.By != e.users["asha"].ID || rv.ByName != "asha" || !strings.HasPrefix(rv.What, "amendment new") {
		t.Errorf("revision = %+v", rv)
	}
	wantChanges := []compliance.FieldChange{{Field: "face_to_face", Old: "no", New: "yes"}, {Field: "location", Old: "none", New: "home"},
		{Field: "type", Old: "phone", New: "home_announced"}}
	if !slices.Equal(rv.Changes, wantChanges) {
		t.Errorf("changes = %+v, want %+v", rv.Changes, wantChanges)
	}
	var cf *compliance.CaseFigure
	for i := range rv.Figures {
		if rv.Figures[i].Slug == "first-home-visits" {
			cf = &rv.Figures[i]
		}
	}
	if cf == nil || !slices.Contains(cf.PublishedIn, "missed") || slices.Contains(cf.PublishedIn, "numerator") ||
		!slices.Contains(cf.NowIn, "numerator") || slices.Contains(cf.NowIn, "missed") ||
		figureText(cf.Published) != `{"numerator":1,"denominator":2,"percent":50}` || figureText(cf.Now) != `{"numerator":2,"denominator":2,"percent":100}` {
		t.Errorf("the case's figures = %+v", cf)
	}
	// The live measure agrees with the "now" figure.
	var live compliance.FirstVisitReport
	lr := e.do("GET", "/v1/compliance/first-home-visits?from=2026-10-01&to=2026-10-31", nil, e.as("sue"))
	lr.decode(t, &live)
	if live.Totals.Numerator.N != 2 || live.Totals.Denominator.N != 2 {
		t.Errorf("live measure 1 = %d of %d", live.Totals.Numerator.N, live.Totals.Denominator.N)
	}
}

// Publishing the same period again needs a reason (400 naming it, nothing
// written); with one, it supersedes the first, which is kept and shown as
// superseded. Publishing is audited, in an intact chain.
func TestPublishingAgainSupersedes(t *testing.T) {
	t.Parallel()
	e := newPeriodEnv(t)
	var first, second Published
	r := e.do("POST", "/v1/periods", periodBody, e.as("sue"))
	if r.status != 201 {
		t.Fatalf("the first publication: %d %s", r.status, r.body)
	}
	r.decode(t, &first)
	e.as("sue")
	before := e.counts()
	r = e.do("POST", "/v1/periods", periodBody, e.as("sue"))
	if er := r.errorResponse(); r.status != 400 || er.Error.Code != schema.ECodeRequired || er.Error.Field != "reason" {
		t.Errorf("again without a reason: %d %s, want 400 required on reason", r.status, r.body)
	}
	if e.counts() != before {
		t.Errorf("a refused publication changed something")
	}
	e.clock.Advance(time.Hour)
	r = e.do("POST", "/v1/periods", `{"from": "2026-10-01", "to": "2026-10-31", "reason": "P000001's amendment"}`, e.as("sue"))
	if r.status != 201 {
		t.Fatalf("again with a reason: %d %s", r.status, r.body)
	}
	r.decode(t, &second)
	if second.Publication.Supersedes != first.Publication.ID || second.Publication.Reason != "P000001's amendment" {
		t.Errorf("second = %+v", second.Publication)
	}
	a := e.period(t, "sue", first.Publication.ID)
	if a.Publication.SupersededBy != second.Publication.ID || len(a.History) != 2 || a.History[0].ID != second.Publication.ID {
		t.Errorf("the first after the second: %+v, history %+v", a.Publication, a.History)
	}
	var list struct{ Periods []serverdb.Publication }
	e.do("GET", "/v1/periods", nil, e.as("sue")).decode(t, &list)
	if len(list.Periods) != 2 || list.Periods[1].SupersededBy != second.Publication.ID || list.Periods[1].Status != "superseded" ||
		list.Periods[0].SupersededBy != "" || list.Periods[0].Status != "current" {
		t.Errorf("list = %+v", list.Periods)
	}
	evs, err := e.srv.DB().AuditByAction(context.Background(), "publish_period")
	if err != nil || len(evs) != 2 || evs[1].RecordID != second.Publication.ID || evs[1].UserID != e.users["sue"].ID {
		t.Errorf("publish events = %+v, %v", evs, err)
	}
	if rep, err := e.srv.DB().VerifyAudit(context.Background()); err != nil || rep.Broken != nil {
		t.Errorf("audit chain: %+v %v", rep.Broken, err)
	}
}

// Who may publish and read what; bad bodies are refused naming the field.
func TestPeriodRolesAndValidation(t *testing.T) {
	t.Parallel()
	e := newPeriodEnv(t)
	post := func(user, body string) resp { return e.do("POST", "/v1/periods", body, e.as(user)) }
	var bPub, svc Published
	r := post("root", `{"from": "2026-10-01", "to": "2026-10-31", "team_id": "`+e.teamB.ID+`"}`)
	if r.status != 201 {
		t.Fatalf("admin publishes team B: %d %s", r.status, r.body)
	}
	r.decode(t, &bPub)
	r = post("root", periodBody)
	if r.status != 201 {
		t.Fatalf("admin publishes the service: %d %s", r.status, r.body)
	}
	r.decode(t, &svc)
	if svc.Publication.Scope != "service" || svc.Publication.TeamID != "" {
		t.Errorf("the admin's publication without a team: %+v", svc.Publication)
	}
	sa := e.period(t, "root", svc.Publication.ID)
	if n := publishedMeasure(t, sa, "first-home-visits").Totals.Denominator.N; n != 3 {
		t.Errorf("the service's measure 1 counts %d cases, want 3", n)
	}
	for _, u := range []string{"asha", "audrey", "sue", "root"} {
		e.as(u)
	}
	before := e.counts()
	for _, c := range []struct {
		name, user, body string
		status           int
		code, field      string
	}{
		{"an officer", "asha", periodBody, 403, schema.ECodeForbidden, ""},
		{"an auditor", "audrey", periodBody, 403, schema.ECodeForbidden, ""},
		{"sue, team B", "sue", `{"from": "2026-10-01", "to": "2026-10-31", "team_id": "` + e.teamB.ID + `"}`, 403, schema.ECodeForbidden, "team_id"},
		{"sue, a team nobody has", "sue", `{"from": "2026-10-01", "to": "2026-10-31", "team_id": "no-such-team"}`, 403, schema.ECodeForbidden, "team_id"},
		{"admin, a team nobody has", "root", `{"from": "2026-10-01", "to": "2026-10-31", "team_id": "no-such-team"}`, 400, schema.ECodeInvalid, "team_id"},
		{"no from", "sue", `{"to": "2026-10-31"}`, 400, schema.ECodeRequired, "from"},
		{"a bad from", "sue", `{"from": "1 October", "to": "2026-10-31"}`, 400, schema.ECodeInvalid, "from"},
		{"a bad to", "sue", `{"from": "2026-10-01", "to": "2026-02-30"}`, 400, schema.ECodeInvalid, "to"},
		{"to before from", "sue", `{"from": "2026-10-31", "to": "2026-10-01"}`, 400, schema.ECodeInvalid, "to"},
		{"not over yet", "sue", `{"from": "2026-11-01", "to": "2026-11-30"}`, 400, schema.ECodeInvalid, "to"},
		{"in the future", "sue", `{"from": "2026-12-01", "to": "2026-12-31"}`, 400, schema.ECodeInvalid, "from"},
		{"too long", "sue", `{"from": "2025-01-01", "to": "2026-10-31"}`, 400, schema.ECodeInvalid, "from"},
		{"an unknown field", "sue", `{"from": "2026-10-01", "to": "2026-10-31", "teamid": "x"}`, 400, schema.ECodeUnknownField, "teamid"},
		{"a number for a date", "sue", `{"from": 20261001, "to": "2026-10-31"}`, 400, schema.ECodeWrongType, "from"},
		{"a reason too long", "sue", `{"from": "2026-10-01", "to": "2026-10-31", "reason": "` + strings.Repeat("é", serverdb.MaxPublicationReason+1) + `"}`,
			400, schema.ECodeInvalid, "reason"},
	} {
		r := post(c.user, c.body)
		if er := r.errorResponse(); r.status != c.status || er.Error.Code != c.code || er.Error.Field != c.field {
			t.Errorf("%s: %d %s, want %d %s on %q", c.name, r.status, r.body, c.status, c.code, c.field)
		}
	}
	if e.counts() != before {
		t.Errorf("a refused publication changed something")
	}
	// Reading: sue sees team A's only; team B's answers as a missing one.
	var list struct{ Periods []serverdb.Publication }
	e.do("GET", "/v1/periods", nil, e.as("sue")).decode(t, &list)
	if len(list.Periods) != 0 {
		t.Errorf("sue's list = %+v, want none", list.Periods)
	}
	out := e.do("GET", "/v1/periods/"+bPub.Publication.ID, nil, e.as("sue"))
	missing := e.do("GET", "/v1/periods/"+schema.NewID(), nil, e.as("sue"))
	if out.status != 404 || out.errorResponse().Error != missing.errorResponse().Error || strings.Contains(string(out.body), "P000003") {
		t.Errorf("sue reads team B's publication: %d %s; a missing one: %d %s", out.status, out.body, missing.status, missing.body)
	}
	if r := e.do("GET", "/v1/periods/"+bPub.Publication.ID, nil, e.as("asha")); r.status != 403 {
		t.Errorf("an officer reads a publication: %d", r.status)
	}
	e.do("GET", "/v1/periods?scope=service", nil, e.as("audrey")).decode(t, &list)
	if len(list.Periods) != 1 || list.Periods[0].ID != svc.Publication.ID {
		t.Errorf("the auditor's service publications = %+v", list.Periods)
	}
	e.do("GET", "/v1/periods?team_id="+e.teamB.ID+"&from=2026-10-01&to=2026-10-31", nil, e.as("root")).decode(t, &list)
	if len(list.Periods) != 1 || list.Periods[0].ID != bPub.Publication.ID {
		t.Errorf("the admin's team B publications = %+v", list.Periods)
	}
	if r := e.do("GET", "/v1/periods?scope=region", nil, e.as("root")); r.status != 400 || r.errorResponse().Error.Field != "scope" {
		t.Errorf("a bad scope: %d %s", r.status, r.body)
	}
	e.period(t, "audrey", bPub.Publication.ID)
}

// measureAnswer is a measure's JSON answer: the live report and the
// publication member.
type measureAnswer struct {
	compliance.FirstVisitReport
	Publication *struct {
		serverdb.Publication
		Revisions int                         `json:"revisions"`
		Figures   compliance.FirstVisitReport `json:"figures"`
		Changed   []compliance.FigureChange   `json:"changed"`
	} `json:"publication"`
}

func (e *periodEnv) measure(t *testing.T, user, query string) measureAnswer {
	t.Helper()
	return getAs[measureAnswer](t, e, user, "/v1/compliance/first-home-visits?"+query)
}

// A measure asked over exactly a published period and the caller's scope
// answers the live figures with the publication beside them: its figures
// of record, its revisions' count and the figures that differ now. A
// superseding publication replaces it there; another scope, another
// period or an officer filter has no publication member.
func TestComplianceAnswerShowsThePublication(t *testing.T) {
	t.Parallel()
	e := newPeriodEnv(t)
	const oct = "from=2026-10-01&to=2026-10-31"
	if a := e.measure(t, "sue", oct); a.Publication != nil {
		t.Fatalf("a period not published answers a publication: %+v", a.Publication)
	}
	var pub Published
	if r := e.do("POST", "/v1/periods", periodBody, e.as("sue")); r.status != 201 {
		t.Fatalf("publish: %d %s", r.status, r.body)
	} else {
		r.decode(t, &pub)
	}
	e.clock.Set(time.Date(2026, 11, 5, 9, 30, 0, 0, time.UTC))
	e.amend(t)
	e.clock.Set(time.Date(2026, 11, 6, 9, 0, 0, 0, time.UTC))

	a := e.measure(t, "sue", oct)
	if a.Totals.Numerator.N != 2 || a.Totals.Denominator.N != 2 || len(a.Cases) != 2 {
		t.Errorf("live figures = %d of %d, %d rows; want 2 of 2, 2 rows", a.Totals.Numerator.N, a.Totals.Denominator.N, len(a.Cases))
	}
	p := a.Publication
	if p == nil {
		t.Fatalf("no publication member for the published period")
	}
	if p.ID != pub.Publication.ID || p.Status != "current" || p.PublishedByName != "sue" || p.PublishedAt != "2026-11-02T10:00:00.000Z" ||
		p.RuleVersion == "" || p.Revisions != 1 {
		t.Errorf("publication = %+v, want %s by sue with 1 revision", p.Publication, pub.Publication.ID)
	}
	if f := p.Figures; f.Totals.Numerator.N != 1 || f.Totals.Denominator.N != 2 || !slices.Equal(f.Totals.Missed.CaseIDs, []string{e.p1}) ||
		f.Headline == nil || figureText(&f.Headline.Figure) != `{"numerator":1,"denominator":2,"percent":50}` || len(f.Cases) != 0 {
		t.Errorf("published figures = %+v, want 1 of 2 (50%%), P000001 missed, no rows", f.Totals)
	}
	changed := map[string]compliance.FigureChange{}
	for _, f := range p.Changed {
		changed[f.Figure] = f
	}
	if n := changed["numerator"]; n.Published == nil || *n.Published != 1 || n.Now == nil || *n.Now != 2 || !n.Changed {
		t.Errorf("numerator change = %+v, want 1 then 2", n)
	}
	if pc := changed["percent"]; pc.PublishedPercent == nil || *pc.PublishedPercent != 50 || pc.NowPercent == nil || *pc.NowPercent != 100 {
		t.Errorf("percent change = %+v, want 50 then 100", pc)
	}
	if _, ok := changed["denominator"]; ok || len(p.Changed) != len(changed) {
		t.Errorf("changed lists a figure that did not change, or twice: %+v", p.Changed)
	}
	// detail=counts drops the ids behind the published counts too.
	if c := e.measure(t, "sue", oct+"&detail=counts"); c.Publication == nil || c.Publication.Figures.Totals.Numerator.N != 1 ||
		c.Publication.Figures.Totals.Missed.CaseIDs != nil || c.Totals.Missed.N != 0 || len(c.Cases) != 0 {
		t.Errorf("detail=counts: %+v", c.Publication)
	}
	// Another period, an officer filter, another scope: no publication.
	for _, q := range []struct{ user, query string }{{"sue", "from=2026-10-01&to=2026-10-30"}, {"sue", oct + "&officer_id=" + e.users["asha"].ID},
		{"root", oct}, {"audrey", oct}} {
		if a := e.measure(t, q.user, q.query); a.Publication != nil {
			t.Errorf("%s asking %s sees publication %s", q.user, q.query, a.Publication.ID)
		}
	}
	// Team B's and the service's publications are not sue's.
	for _, body := range []string{`{"from": "2026-10-01", "to": "2026-10-31", "team_id": "` + e.teamB.ID + `"}`, periodBody} {
		if r := e.do("POST", "/v1/periods", body, e.as("root")); r.status != 201 {
			t.Fatalf("admin publishes %s: %d %s", body, r.status, r.body)
		}
	}
	if a := e.measure(t, "sue", oct); a.Publication == nil || a.Publication.ID != pub.Publication.ID {
		t.Errorf("sue sees %+v, want her team's publication only", a.Publication)
	}
	if a := e.measure(t, "audrey", oct); a.Publication == nil || a.Publication.Scope != "service" || a.Publication.Figures.Totals.Denominator.N != 3 {
		t.Errorf("the auditor sees %+v, want the service's publication (3 cases)", a.Publication)
	}
	// Superseded: the new publication's figures replace the old ones.
	var second Published
	if r := e.do("POST", "/v1/periods", `{"from": "2026-10-01", "to": "2026-10-31", "reason": "P000001's amendment"}`, e.as("sue")); r.status != 201 {
		t.Fatalf("publish again: %d %s", r.status, r.body)
	} else {
		r.decode(t, &second)
	}
	a = e.measure(t, "sue", oct)
	if p := a.Publication; p == nil || p.ID != second.Publication.ID || p.Supersedes != pub.Publication.ID || p.Revisions != 0 ||
		p.Figures.Totals.Numerator.N != 2 || p.Figures.Totals.Denominator.N != 2 || len(p.Changed) != 0 {
		t.Errorf("after superseding: %+v, want %s with 2 of 2, nothing changed", p, second.Publication.ID)
	}
}
