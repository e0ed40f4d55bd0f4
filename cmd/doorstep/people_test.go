package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/serverdb"
)

// TestTabletNamesTheSupervisor: a real server and "doorstep device". The
// supervisor approves the officer's safety assessment on the server
// (serverdb.Oversee); the officer's tablet pulls the decision and the
// team's people, and the case page says who decided by name and role, not
// by id. Another team's officer never reaches the tablet.
func TestTabletNamesTheSupervisor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newE2EServer(t)
	w := seedE2E(t, srv.srv)
	db := srv.srv.DB()

	other := schema.Team{ID: schema.NewID(), Name: "Testford West"}
	zed := schema.User{ID: schema.NewID(), Username: "zed.officer", Name: "Zed Other", Role: schema.RoleOfficer, TeamID: other.ID}
	if err := db.CreateTeam(ctx, cliActor, other); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, cliActor, zed, testPassword); err != nil {
		t.Fatal(err)
	}

	// The officer assessed the address again today; the supervisor approves.
	sa := schema.NewID()
	if err := db.Seed(ctx, cliActor, []schema.Record{{Entity: "safety_assessment", ID: sa, CaseID: w.caseID,
		Fields: schema.FieldsOf(schema.SafetyAssessment{Address: "14 Larch Row, Testford, ZZ9 4QT", Dogs: "yes", Weapons: "no",
			LoneWorkingPlan: "Visit in pairs.", AssessedOn: schema.Date(time.Now().Format("2006-01-02")), AssessedBy: w.officer.ID})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Oversee(ctx, serverdb.ActorOf(w.supervisor, ""), serverdb.OversightInput{
		SubjectEntity: "safety_assessment", SubjectID: sa, Decision: "approved"}); err != nil {
		t.Fatalf("oversee: %v", err)
	}
	srv.start()
	tablet := startDevice(t, srv.url())

	// Sign in through the app's form, as a browser would.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) string {
		t.Helper()
		resp, err := c.Get(tablet + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	pre := regexp.MustCompile(`name="_pre" value="([0-9a-f]+)"`).FindStringSubmatch(get("/app/signin?online=1"))
	if pre == nil {
		t.Fatal("the sign-in form holds no _pre token")
	}
	form := url.Values{"_pre": {pre[1]}, "username": {w.officer.Username}, "password": {testPassword}}
	req, _ := http.NewRequest("POST", tablet+"/app/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", tablet)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/app/today" {
		t.Fatalf("sign in: expected Today, got %d at %s", resp.StatusCode, resp.Request.URL)
	}

	// The sign-in syncs in the background: wait for the decision to show.
	want := "by Omar Vell (supervisor)"
	var page string
	testkit.WaitFor(t, 20*time.Second, "the case page to say "+want, func() bool {
		page = get("/app/cases/" + w.caseID)
		return strings.Contains(page, want)
	})
	if !strings.Contains(page, want) || !strings.Contains(page, "Approved") {
		t.Fatalf("the case page does not name the supervisor who approved (%q):\n%s", want, page)
	}
	if strings.Contains(page, w.supervisor.ID) {
		t.Errorf("the case page still shows the supervisor's id %s", w.supervisor.ID)
	}
	if !strings.Contains(page, "<dt>Officer</dt><dd>Rosa Quill (you)</dd>") {
		t.Errorf("the case page does not name its officer")
	}

	// The tablet holds its own team's people, and only them.
	var got struct{ People []schema.Person }
	if err := json.Unmarshal([]byte(get("/v1/people")), &got); err != nil {
		t.Fatal(err)
	}
	names := map[string]schema.Person{}
	for _, p := range got.People {
		names[p.ID] = p
	}
	if names[w.supervisor.ID] != (schema.Person{ID: w.supervisor.ID, Name: "Omar Vell", Role: schema.RoleSupervisor}) ||
		names[w.officer.ID].Name != "Rosa Quill" || len(names) != 2 {
		t.Errorf("expected the team's 2 people, got %+v", got.People)
	}
	if _, ok := names[zed.ID]; ok {
		t.Errorf("another team's officer reached the tablet: %+v", got.People)
	}
}
