package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
)

// TestTabletAndServerComputeTheSameDueDates: "doorstep server --rules" with
// rules of its own (a first visit for high RoSH within 5 days, not 15) and
// a real "doorstep device" given no rules file. After one sync the tablet
// computes, through its local app, every due date of the officer's cases
// that the server's compliance measures (overdue and workload) compute,
// and no other, both under the server's rule_version.
func TestTabletAndServerComputeTheSameDueDates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newE2EServer(t)
	w := seedE2E(t, srv.srv)
	today := time.Now().UTC()
	asOf := schema.Date(today.Format(time.DateOnly))
	day := func(d int) schema.Date { return schema.Date(today.AddDate(0, 0, d).Format(time.DateOnly)) }
	var recs []schema.Record
	for i, c := range []struct {
		rosh  string
		start int
		da    bool
	}{
		{"high", -3, false}, {"very_high", -8, true}, {"high", -40, true}, {"medium", -30, false}, {"low", -70, true}, {"medium", -2, true},
	} {
		id := schema.NewID()
		recs = append(recs, schema.Record{Entity: "case", ID: id, CaseID: id, Fields: schema.FieldsOf(schema.Case{
			CRN: fmt.Sprintf("T3%05d", i), GivenName: "Case", FamilyName: fmt.Sprintf("Number%d", i), DateOfBirth: "1990-01-02",
			Address: fmt.Sprintf("%d Alder Way, Testford, ZZ9 1AA", i+1), AddressSince: day(c.start - 100),
			OfficerID: w.officer.ID, TeamID: w.officer.TeamID, SentenceType: "community_order", SupervisionStart: day(c.start),
			RoSH: c.rosh, RoSHDate: day(c.start)})})
		if c.da {
			recs = append(recs,
				schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: day(c.start), NextReviewDate: day(60)})},
				schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.HouseholdMember{
					Relation: "partner", Residence: "lives_here", Name: "New Partner", VictimOrPotentialVictim: "yes", AddedOn: day(-1)})})
		}
	}
	if err := srv.srv.DB().Seed(ctx, cliActor, recs); err != nil {
		t.Fatalf("seed: %v", err)
	}
	srv.stop()

	// The server, as an operator starts it, with a rules file of its own.
	doc := strings.Replace(string(policy.DefaultRules()), `"due_within_days": 15`, `"due_within_days": 5`, 1)
	doc = strings.Replace(doc, `"version": "2026-11-23.1"`, `"version": "e2e-5d"`, 1)
	file := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	logs := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(runCtx, []string{"server", "--rules", file, "--data", srv.dir, "--addr", srv.addr}, io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("doorstep server: %v", err)
		}
	})
	testkit.WaitFor(t, 20*time.Second, `"doorstep server" to log "server listening"`, func() bool {
		return strings.Contains(logs.String(), "server listening")
	})

	// The tablet, with no rules file: it signs in and syncs once.
	tablet := startDevice(t, srv.url())
	call := tabletCaller(t, tablet)
	call("POST", "/v1/login", map[string]string{"username": w.officer.Username, "password": testPassword})
	call("POST", "/v1/sync", map[string]string{})
	var onTablet struct {
		RuleVersion  string               `json:"rule_version"`
		RulesSource  string               `json:"rules_source"`
		Requirements []policy.Requirement `json:"requirements"`
	}
	if err := json.Unmarshal(call("GET", "/v1/requirements?as_of="+string(asOf), nil), &onTablet); err != nil {
		t.Fatal(err)
	}
	if onTablet.RuleVersion != "e2e-5d" || onTablet.RulesSource != "from the server" {
		t.Fatalf("the tablet computes with rules %s (%s), want the server's e2e-5d", onTablet.RuleVersion, onTablet.RulesSource)
	}

	// The server's figures for the officer, as a supervisor asks for them.
	token := w.serverToken(srv.url())
	type item struct {
		CaseID      string         `json:"case_id"`
		RuleID      string         `json:"rule_id"`
		RuleVersion string         `json:"rule_version"`
		Trigger     policy.Trigger `json:"trigger"`
		TriggeredOn schema.Date    `json:"triggered_on"`
		Recurrence  int            `json:"recurrence"`
		DueOn       schema.Date    `json:"due_on"`
	}
	key := func(i item) string {
		return strings.Join([]string{i.CaseID, i.RuleID, i.RuleVersion, string(i.Trigger), string(i.TriggeredOn), fmt.Sprint(i.Recurrence), string(i.DueOn)}, " ")
	}
	var onServer []string
	for _, measure := range []string{"overdue", "workload"} {
		var rep struct {
			RuleVersion string `json:"rule_version"`
			Items       []item `json:"items"`
		}
		req, _ := http.NewRequest("GET", srv.url()+"/v1/compliance/"+measure+"?as_of="+string(asOf)+"&officer_id="+w.officer.ID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Unmarshal(raw, &rep) != nil {
			t.Fatalf("GET /v1/compliance/%s: %d %s", measure, resp.StatusCode, raw)
		}
		if rep.RuleVersion != "e2e-5d" {
			t.Errorf("the server's %s answer is under rules %s, want e2e-5d", measure, rep.RuleVersion)
		}
		for _, it := range rep.Items {
			onServer = append(onServer, key(it))
		}
	}

	// The tablet's overdue (missed, in an open case) and due in the
	// workload's four weeks: the same items, the same dates.
	until := schema.Date(today.AddDate(0, 0, 27).Format(time.DateOnly))
	var mine []string
	fiveDays := 0
	for _, r := range onTablet.Requirements {
		if r.RuleVersion != "e2e-5d" {
			t.Errorf("a tablet requirement under rules %s: %+v", r.RuleVersion, r)
		}
		if r.RuleID == "first_visit_high" && r.Recurrence == 0 {
			if start, _ := time.Parse(time.DateOnly, string(r.TriggeredOn)); schema.Date(start.AddDate(0, 0, 5).Format(time.DateOnly)) == r.DueOn {
				fiveDays++
			}
		}
		if (r.Status == policy.StatusMissed && !r.CaseClosed) || (r.Status == policy.StatusOpen && r.DueOn >= asOf && r.DueOn <= until) {
			mine = append(mine, key(item{r.CaseID, r.RuleID, r.RuleVersion, r.Trigger, r.TriggeredOn, r.Recurrence, r.DueOn}))
		}
	}
	t.Logf("%d items on both sides, %d first visits due in 5 days", len(onServer), fiveDays)
	if fiveDays < 4 {
		t.Errorf("expected the high-RoSH first visits due 5 days after the start (the server's rules), got %d", fiveDays)
	}
	slices.Sort(mine)
	slices.Sort(onServer)
	if len(onServer) < 6 || !slices.Equal(mine, onServer) {
		t.Errorf("the tablet's due dates differ from the server's:\ntablet:\n  %s\nserver:\n  %s", strings.Join(mine, "\n  "), strings.Join(onServer, "\n  "))
	}
}

// tabletCaller returns a function that calls the tablet's local JSON API
// at base and returns the answer's body, failing the test unless it is 200.
func tabletCaller(t *testing.T, base string) func(method, path string, body any) []byte {
	var token string // the session a sign-in or an unlock answered
	return func(method, path string, body any) []byte {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if path == "/v1/login" || path == "/v1/unlock" {
			var s struct{ Token string }
			if json.Unmarshal(raw, &s); s.Token == "" {
				t.Fatalf("%s %s answered no session token: %s", method, path, raw)
			}
			token = s.Token
		}
		return raw
	}
}

// tabletToken unlocks the tablet's JSON API with the password of the
// officer signed in on it and returns the session's token.
func tabletToken(t *testing.T, base, username string) string {
	t.Helper()
	var s struct{ Token string }
	json.Unmarshal(tabletCaller(t, base)("POST", "/v1/unlock", map[string]string{"username": username, "password": testPassword}), &s)
	return s.Token
}

// serverToken signs in to the server's JSON API as the supervisor.
func (w *e2eWorld) serverToken(base string) string {
	t := w.t
	t.Helper()
	body, _ := json.Marshal(schema.LoginRequest{Username: w.supervisor.Username, Password: testPassword, DeviceID: schema.NewID(), DeviceName: "e2e check"})
	resp, err := http.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("server login: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var tok schema.TokenResponse
	if resp.StatusCode != 200 || json.Unmarshal(raw, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("server login as %s: %d %s", w.supervisor.Username, resp.StatusCode, raw)
	}
	return tok.AccessToken
}

// TestTabletAndServerBuildTheSameFacts: for every case of a synthetic
// caseload, the tablet (its records pulled by "doorstep device", read by
// its local app) and the server (compliance.Group and compliance.Facts over
// the same records) compute the same requirements, every field of them.
// Beside the caseload's own history, the records hold what the two used to
// read differently (docs/decisions/0016-one-facts-builder.md): amendments
// that arrive out of order, with UTC offsets whose text sorts otherwise than
// their instant, amendments that clear a field with null, and safety
// assessments assessed or decided after the day asked about.
func TestTabletAndServerBuildTheSameFacts(t *testing.T) {
	ctx := context.Background()
	srv := newE2EServer(t)
	db := srv.srv.DB()
	ds := synth.Generate(synth.Options{Seed: 16, Teams: 1, OfficersPerTeam: 1, CasesPerOfficer: 30, HistoryDays: 200})
	asOf := schema.DateOf(synth.DefaultNow)
	var officer schema.User
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, cliActor, tm); err != nil {
			t.Fatalf("create team: %v", err)
		}
	}
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, cliActor, u, testPassword); err != nil {
			t.Fatalf("create user %s: %v", u.Username, err)
		}
		if u.Role == schema.RoleOfficer {
			officer = u
		}
	}
	recs := slices.Clone(ds.Records)
	amend := func(v schema.Record, n int, at string, changes map[string]json.RawMessage) {
		recs = append(recs, schema.Record{Entity: "amendment", ID: schema.NewID(), CaseID: v.CaseID, Fields: schema.FieldsOf(schema.Amendment{
			VisitID: v.ID, Reason: fmt.Sprintf("correction %d", n), Changes: changes, AmendedBy: officer.ID, AmendedAt: schema.Timestamp(at)})})
	}
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	signed, edges := 0, 0
	seenCase := map[string]bool{}
	for _, r := range ds.Records {
		switch {
		case r.Entity == "visit" && string(r.Fields["status"]) == `"signed"`:
			signed++
			switch signed % 4 {
			case 1:
				// Made second (09:30Z), though its text sorts first: the
				// visit keeps its own type.
				amend(r, 2, "2026-03-01T09:30:00Z", map[string]json.RawMessage{"type": r.Fields["type"]})
				amend(r, 1, "2026-03-01T10:00:00+01:00", map[string]json.RawMessage{"type": raw(`"office"`)})
				edges++
			case 2:
				amend(r, 1, "2026-03-02T08:00:00-05:00", map[string]json.RawMessage{"outcome": raw(`null`), "location": raw(`"doorstep"`)})
				edges++
			}
		case r.Entity == "case" && !seenCase[r.ID]:
			seenCase[r.ID] = true
			var c schema.Case
			if err := r.Decode(&c); err != nil {
				t.Fatal(err)
			}
			if len(seenCase)%3 == 0 && c.Address != "" {
				// Not known on asOf: assessed after it, or decided after it.
				after := schema.DateOf(synth.DefaultNow.AddDate(0, 0, len(seenCase)%2+1))
				assessed := map[bool]schema.Date{true: after, false: asOf}[len(seenCase)%2 == 0]
				recs = append(recs, schema.Record{Entity: "safety_assessment", ID: schema.NewID(), CaseID: r.ID, Fields: schema.FieldsOf(schema.SafetyAssessment{
					Address: c.Address, AssessedOn: assessed, AssessedBy: officer.ID, Decision: "not_approved",
					DecisionReason: "dogs", DecidedBy: officer.ID, DecidedOn: after})})
				edges++
			}
		}
	}
	if err := db.Seed(ctx, cliActor, recs); err != nil {
		t.Fatalf("seed: %v", err)
	}
	srv.start()

	// The server's path.
	raws := make([]schema.RawRecord, 0, len(recs))
	for _, r := range recs {
		rr, err := r.Raw()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, rr)
	}
	cases, err := compliance.Group(raws)
	if err != nil {
		t.Fatalf("group: %v", err)
	}
	p := policy.Default()
	onServer := []policy.Requirement{}
	open := 0
	for _, cr := range cases {
		if cr.Case.Closed || cr.Case.OfficerID != officer.ID {
			continue
		}
		open++
		f, _ := compliance.Facts(cr, asOf)
		onServer = append(onServer, p.Requirements(f, asOf)...)
	}

	// The tablet's path: the officer's device, after one sync.
	tablet := startDevice(t, srv.url())
	call := tabletCaller(t, tablet)
	call("POST", "/v1/login", map[string]string{"username": officer.Username, "password": testPassword})
	call("POST", "/v1/sync", map[string]string{})
	var onTablet struct {
		RuleVersion  string               `json:"rule_version"`
		Requirements []policy.Requirement `json:"requirements"`
	}
	if err := json.Unmarshal(call("GET", "/v1/requirements?as_of="+string(asOf), nil), &onTablet); err != nil {
		t.Fatal(err)
	}

	t.Logf("%d open cases, %d requirements, %d edge records", open, len(onServer), edges)
	if open < 10 || len(onServer) < open || edges < 20 {
		t.Fatalf("the caseload is too small to say anything: %d open cases, %d requirements, %d edge records", open, len(onServer), edges)
	}
	key := func(r policy.Requirement) string {
		b, _ := json.Marshal(r)
		return string(b)
	}
	mine, theirs := make([]string, len(onTablet.Requirements)), make([]string, len(onServer))
	for i, r := range onTablet.Requirements {
		mine[i] = key(r)
	}
	for i, r := range onServer {
		theirs[i] = key(r)
	}
	slices.Sort(mine)
	slices.Sort(theirs)
	if !slices.Equal(mine, theirs) {
		var onlyTablet, onlyServer []string
		for _, k := range mine {
			if _, found := slices.BinarySearch(theirs, k); !found {
				onlyTablet = append(onlyTablet, k)
			}
		}
		for _, k := range theirs {
			if _, found := slices.BinarySearch(mine, k); !found {
				onlyServer = append(onlyServer, k)
			}
		}
		t.Errorf("the tablet's requirements differ from the server's (%d on the tablet, %d on the server):\nonly on the tablet:\n  %s\nonly on the server:\n  %s",
			len(mine), len(theirs), strings.Join(onlyTablet, "\n  "), strings.Join(onlyServer, "\n  "))
	}
}
