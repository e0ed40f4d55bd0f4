package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server"
)

// TestOfficerEndToEnd is issue 3's end-to-end test: a real server, a real
// tablet agent run as "doorstep device" runs it, and the officer app in a
// real headless Chromium. The officer signs in online; the server stops (no
// signal); the officer records a home visit to a domestic-abuse case with
// the partner present and two children, one not seen, finds the draft
// after a reload, is asked why the child was not seen, answers and signs;
// the badge shows the visit waiting; the server starts again on the same
// database and address; Sync now sends the visit, the badge says synced,
// the tablet shows the server's receipt, and the server's API returns the
// visit as signed. Screenshots at both tablet sizes go to
// artifacts/officer-e2e/ (or $DOORSTEP_ARTIFACTS/officer-e2e/).
func TestOfficerEndToEnd(t *testing.T) {
	t.Parallel()
	testkit.RequireBrowser(t) // skip (or fail under CI) before starting anything
	began := time.Now()
	srv := newE2EServer(t)
	w := seedE2E(t, srv.srv)
	srv.start()
	tablet := startDevice(t, srv.url())
	br := testkit.StartBrowser(t, tablet, "officer-e2e", 60*time.Second)
	ctx, do, text, shoot := br.Ctx, br.Do, br.Text, br.Shoot
	base := br.Base
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("value of %s: %v", sel, err)
		}
		return v
	}
	checked := func(id string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("!!(document.getElementById(%q) || {}).checked", id)))
		if err != nil {
			t.Fatalf("checked %s: %v", id, err)
		}
		return v
	}
	// follow clicks sel, which loads another page, and waits until that
	// page has loaded and shows waitFor: an element of the old page, or
	// the old page going away under a query, must not pass for the new one.
	follow := func(what, sel, waitFor string) {
		t.Helper()
		do(what, chromedp.Evaluate[chromedp.Void](`window.e2eOld = true`), chromedp.Click(chromedp.CSS(sel)))
		testkit.WaitFor(t, 20*time.Second, what+": a new page", func() bool {
			fresh, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.e2eOld !== true && document.readyState === "complete"`))
			return err == nil && fresh
		})
		do(what, chromedp.WaitVisible(chromedp.CSS(waitFor)))
	}
	// badgeUntil reloads the page until the badge holds every want.
	badgeUntil := func(within time.Duration, wants ...string) string {
		t.Helper()
		var b string
		holds := func() bool {
			b = text("#sync-badge")
			for _, w := range wants {
				if !strings.Contains(b, w) {
					return false
				}
			}
			return true
		}
		if !holds() {
			testkit.WaitFor(t, within, fmt.Sprintf("the badge to say %q", wants), func() bool {
				do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sync-badge")))
				return holds()
			})
		}
		return b
	}

	// 1. Signal: the officer signs in online; the caseload comes down.
	do("open the app", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#f-username")))
	if h := text("h1"); h != "Sign in to Doorstep" {
		t.Fatalf("first page: %q, want the online sign-in", h)
	}
	do("type the credentials",
		chromedp.SendKeys(chromedp.CSS("#f-username"), w.officer.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword))
	follow("sign in", "#signin-submit", `a[href="/app/cases/`+w.caseID+`"]`)
	if cases := text("ul.cases"); !strings.Contains(cases, "Dale Marsh") || !strings.Contains(cases, "RoSH: High") {
		t.Fatalf("Today after sign-in lacks the case: %s", cases)
	}
	badgeUntil(10*time.Second, "Online", "Nothing waiting to be sent")
	shoot("01-today-online")

	// 2. No signal: the server stops; Sync now says so.
	srv.stop()
	follow("sync with the server down", "#sync-now", ".flash")
	if f := text(".flash"); !strings.Contains(f, "Could not sync") || !strings.Contains(f, "cannot be reached") {
		t.Fatalf("flash after an offline sync: %q", f)
	}
	badgeUntil(5*time.Second, "Offline", "Nothing waiting to be sent")
	shoot("02-today-offline")

	// 3. The visit, offline: the case, "Record a visit", the answers.
	follow("open the case", `a[href="/app/cases/`+w.caseID+`"]`, "#record-visit")
	if h := text("#household"); !strings.Contains(h, "Kim Marsh") || !strings.Contains(h, "Ava Marsh") || !strings.Contains(h, "Ben Marsh") {
		t.Fatalf("household: %s", h)
	}
	follow("record a visit", "#record-visit", "#check-visit")
	visitPath := br.Location()
	visitID := strings.TrimPrefix(visitPath, "/app/visits/")
	if !schema.ValidID(visitID) {
		t.Fatalf("after Record a visit: at %s, want /app/visits/<id>", visitPath)
	}
	// Each option's id is the field's and its index in the schema's enum:
	// location home|doorstep|elsewhere, yes|no|…, seen yes|no.
	answers := []string{
		"f-location-0",        // at the home address
		"f-face_to_face",      // face to face
		"f-person_seen-0",     // the person on probation seen
		"f-partner_present-0", // partner present: yes
		"f-partner_seen_alone-0",
		"f-children_present-0",                                                      // children present: yes
		"f-children-0-present-0", "f-children-0-seen-0", "f-children-0-spoken_to-0", // Ava: present, seen, spoken to
		"f-children-1-present-0", "f-children-1-seen-1", // Ben: present, not seen
	}
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS("#f-type"), "home_unannounced"),
		chromedp.SetValue(chromedp.CSS("#f-outcome"), "completed"),
	}
	for _, id := range answers {
		steps = append(steps, chromedp.Click(chromedp.CSS("#"+id)))
	}
	do("answer the visit", steps...)
	// The household's children are listed by name, once children present
	// is answered yes (the questions show only when they apply): Ava is
	// child 0, Ben child 1.
	if c0, c1 := text("#f-children-0-present"), text("#f-children-1-present"); !strings.Contains(c0, "Present") || !strings.Contains(c1, "Present") {
		t.Fatalf("the form does not ask about both children: %q %q", c0, c1)
	}
	form := text("form[data-autosave]")
	if !strings.Contains(form, "Ava Marsh") || !strings.Contains(form, "Ben Marsh") || strings.Index(form, "Ava Marsh") > strings.Index(form, "Ben Marsh") {
		t.Fatalf("the children on the form are not Ava then Ben:\n%s", form)
	}
	// The autosave is debounced; wait until the tablet's store (through
	// its local API) holds every answer, so the reload below tests the
	// draft and not the timing.
	var d schema.Visit
	token := tabletToken(t, tablet, w.officer.Username)
	testkit.WaitFor(t, 10*time.Second, "the draft on the tablet to hold every answer", func() bool {
		d = tabletVisit(t, tablet, token, visitID)
		return d.Type == "home_unannounced" && d.Outcome == "completed" && d.PartnerPresent == "yes" && d.ChildrenPresent == "yes" &&
			len(d.Children) == 2 && d.Children[1].Seen == "no"
	})
	if d.Status != "draft" || d.SignedAt != "" {
		t.Fatalf("the autosaved visit: status %q, signed_at %q, want an unsigned draft", d.Status, d.SignedAt)
	}
	// The page shows the autosave's answer a moment after the store holds
	// it: wait for the status line rather than read it once.
	var status string
	testkit.WaitFor(t, 10*time.Second, "the autosave status to say the draft is saved", func() bool {
		status = text("#autosave-status")
		return strings.Contains(status, "Draft saved")
	})
	if strings.Contains(status, "need") {
		t.Fatalf("the autosave status: %q, want all saved", status)
	}
	do("top of the form", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shoot("03-visit-form-offline")
	do("the children", chromedp.Evaluate[chromedp.Void](`document.getElementById("f-children-1-present").scrollIntoView({block: "center"})`))
	shoot("04-children")

	// 4. Reload mid-form: the draft's answers come back from the tablet.
	do("reload mid-form", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#check-visit")))
	if v := value("#f-type"); v != "home_unannounced" {
		t.Fatalf("after a reload the type is %q, want home_unannounced", v)
	}
	if v := value("#f-outcome"); v != "completed" {
		t.Fatalf("after a reload the outcome is %q, want completed", v)
	}
	for _, id := range answers {
		if !checked(id) {
			t.Errorf("after a reload #%s is not checked: the draft lost it", id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// 5. Check the answers: the app asks why Ben was not seen, first, and
	// its link leads to the question.
	follow("check the answers", "#check-visit", "#check-answers")
	const prompt = "Ben Marsh was present but not seen: give the reason."
	if s := text("#error-summary"); !strings.Contains(s, prompt) {
		t.Fatalf("still to answer: %q, want %q", s, prompt)
	}
	shoot("05-check-answers-missing")
	follow("go to Ben's reason", `#error-summary a[href$="#f-children-1-reason_not_seen"]`, "#f-children-1-reason_not_seen")
	if b := text("#sync-badge"); !strings.Contains(b, "Offline") {
		t.Fatalf("badge while refusing the signature: %s", b)
	}
	const reason = "Asleep upstairs; his mother would not wake him"
	do("give the reason", chromedp.SendKeys(chromedp.CSS("#f-children-1-reason_not_seen"), reason))
	follow("check the answers again", "#check-visit", "#sign-visit")
	if s := text("#check-answers"); !strings.Contains(s, reason) || !strings.Contains(s, "Child: Ava Marsh") {
		t.Fatalf("the answers as they will be signed: %q", s)
	}
	shoot("05-check-answers")
	follow("sign", "#sign-visit", ".flash")
	if f := text(".flash"); !strings.Contains(f, "Visit signed") {
		t.Fatalf("flash after signing: %q (at %s)", f, br.Location())
	}
	if got := br.Location(); got != "/app/cases/"+w.caseID {
		t.Fatalf("after signing: at %s, want the case page", got)
	}

	// 6. The badge: offline, the visit's changes waiting.
	// One signed visit is one record waiting, however many saves made it.
	b := badgeUntil(5*time.Second, "Offline", "waiting to be sent")
	if n := pendingCount(t, b); n != 1 {
		t.Fatalf("badge after signing offline: %q, want 1 record with changes waiting", b)
	}
	if v := text("#visits"); !strings.Contains(v, "Waiting to be sent") {
		t.Fatalf("the visit on the case page has no waiting receipt: %s", v)
	}
	do("top of the page", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	shoot("06-signed-pending")

	// 7. Signal again: the same server (database, address) starts; Sync now.
	srv.start()
	// Sync now waits 3 s at most and a sync may already be running (the
	// agent's own retry): press it again until the badge says synced.
	testkit.WaitFor(t, 20*time.Second, "the badge to say Online and 0 changes waiting after Sync now", func() bool {
		follow("sync now", "#sync-now", ".flash")
		b := text("#sync-badge")
		return strings.Contains(b, "Online") && strings.Contains(b, "Nothing waiting to be sent")
	})
	if b := text("#sync-badge"); !strings.Contains(b, "0 set aside") || !strings.Contains(b, "0 conflicts") {
		t.Fatalf("the badge after the sync: %q, want nothing set aside and no conflict", b)
	}
	do("open the signed visit", chromedp.Navigate(base+visitPath), chromedp.WaitVisible(chromedp.CSS("#visit-receipt")))
	if r := text("#visit-receipt"); !strings.Contains(r, "Safely on the server since") {
		t.Fatalf("the visit's receipt: %q", r)
	}
	if s := text("dl.facts"); !strings.Contains(s, reason) {
		t.Fatalf("the signed visit does not show Ben's reason: %s", s)
	}
	shoot("07-synced-receipt")

	// 8. The server has it: its own API, signed in as the supervisor.
	got := w.fetchVisit(srv.url(), visitID)
	var v schema.Visit
	if err := got.Decode(&v); err != nil {
		t.Fatalf("decode the server's visit: %v\n%s", err, got.Fields)
	}
	if v.Status != "signed" || v.SignedAt == "" || v.SignedBy != w.officer.ID {
		t.Errorf("server visit: status %q, signed_at %q, signed_by %q; want signed by %s", v.Status, v.SignedAt, v.SignedBy, w.officer.ID)
	}
	if v.Type != "home_unannounced" || v.Location != "home" || !v.FaceToFace || v.Outcome != "completed" || v.PersonSeen != "yes" {
		t.Errorf("server visit: type %q, location %q, face to face %v, outcome %q, person seen %q", v.Type, v.Location, v.FaceToFace, v.Outcome, v.PersonSeen)
	}
	if v.PartnerPresent != "yes" || v.ChildrenPresent != "yes" {
		t.Errorf("server visit: partner_present %q, children_present %q, want yes and yes", v.PartnerPresent, v.ChildrenPresent)
	}
	kids := map[string]schema.VisitChild{}
	for _, c := range v.Children {
		kids[c.MemberID] = c
	}
	if len(v.Children) != 2 {
		t.Errorf("server visit has %d children, want 2: %+v", len(v.Children), v.Children)
	}
	if a := kids[w.ava]; a.Present != "yes" || a.Seen != "yes" || a.SpokenTo != "yes" || a.ReasonNotSeen != "" {
		t.Errorf("Ava on the server: %+v, want present, seen, spoken to", a)
	}
	if b := kids[w.ben]; b.Present != "yes" || b.Seen != "no" || b.ReasonNotSeen != reason {
		t.Errorf("Ben on the server: %+v, want present, not seen, reason %q", b, reason)
	}
	if got.ReceivedAt.IsZero() || got.Version < 1 {
		t.Errorf("server visit: received_at %v, version %d", got.ReceivedAt, got.Version)
	}
	t.Logf("end to end in %s; screenshots in %s", time.Since(began).Round(time.Millisecond), br.Shots)
}

// pendingCount reads "N records with changes waiting to be sent" off the
// badge.
func pendingCount(t *testing.T, badge string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) records? with changes waiting to be sent`).FindStringSubmatch(badge)
	if m == nil {
		t.Fatalf("the badge does not count the changes waiting: %q", badge)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// e2eServer is the central server on a fixed loopback address over one
// data folder, so that it can be stopped and started again as the same
// server: same database, same token secret, same URL.
type e2eServer struct {
	t         *testing.T
	addr, dir string
	srv       *server.Server
}

func newE2EServer(t *testing.T) *e2eServer {
	t.Helper()
	s := &e2eServer{t: t, addr: freeAddr(t), dir: filepath.Join(t.TempDir(), "server")}
	s.open()
	t.Cleanup(func() {
		if s.srv != nil {
			s.srv.Close()
		}
	})
	return s
}

func (s *e2eServer) open() {
	s.t.Helper()
	srv, err := openServer(context.Background(), server.Config{Addr: s.addr, DataDir: s.dir, Logger: quietLogger()})
	if err != nil {
		s.t.Fatalf("open the server: %v", err)
	}
	s.srv = srv
}

// start listens (opening the store again after a stop).
func (s *e2eServer) start() {
	s.t.Helper()
	if s.srv == nil {
		s.open()
	}
	if err := s.srv.Start(); err != nil {
		s.t.Fatalf("start the server: %v", err)
	}
}

// stop shuts the server down and closes its store, as a stopped process would.
func (s *e2eServer) stop() {
	s.t.Helper()
	if err := s.srv.Close(); err != nil {
		s.t.Fatalf("stop the server: %v", err)
	}
	s.srv = nil
	if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
		c.Close()
		s.t.Fatalf("the server still answers on %s after stopping", s.addr)
	}
}

func (s *e2eServer) url() string { return "http://" + s.addr }

// freeAddr is a loopback address free when asked.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// e2eWorld is the synthetic data: one team, a supervisor, an officer, and
// one domestic-abuse case (RoSH high) with a partner and two children. The
// names are invented.
type e2eWorld struct {
	t                   *testing.T
	officer, supervisor schema.User
	caseID, ava, ben    string
}

func seedE2E(t *testing.T, srv *server.Server) *e2eWorld {
	t.Helper()
	ctx := context.Background()
	db := srv.DB()
	team := schema.Team{ID: schema.NewID(), Name: "Testford East"}
	w := &e2eWorld{t: t,
		officer:    schema.User{ID: schema.NewID(), Username: "rosa.officer", Name: "Rosa Quill", Role: schema.RoleOfficer, TeamID: team.ID},
		supervisor: schema.User{ID: schema.NewID(), Username: "omar.supervisor", Name: "Omar Vell", Role: schema.RoleSupervisor, TeamID: team.ID},
		caseID:     schema.NewID(), ava: schema.NewID(), ben: schema.NewID(),
	}
	if err := db.CreateTeam(ctx, cliActor, team); err != nil {
		t.Fatalf("create team: %v", err)
	}
	for _, u := range []schema.User{w.officer, w.supervisor} {
		if err := db.CreateUser(ctx, cliActor, u, testPassword); err != nil {
			t.Fatalf("create user %s: %v", u.Username, err)
		}
	}
	now := time.Now()
	day := func(d int) schema.Date { return schema.Date(now.AddDate(0, 0, d).Format("2006-01-02")) }
	const address = "14 Larch Row, Testford, ZZ9 4QT"
	recs := []schema.Record{
		{Entity: "case", ID: w.caseID, CaseID: w.caseID, Fields: schema.FieldsOf(schema.Case{
			CRN: "T204861", GivenName: "Dale", FamilyName: "Marsh", DateOfBirth: "1988-06-14", Address: address, AddressSince: day(-200),
			OfficerID: w.officer.ID, TeamID: team.ID, SentenceType: "community_order", SupervisionStart: day(-10),
			RoSH: "high", RoSHDate: day(-12)})},
		{Entity: "flag", ID: schema.NewID(), CaseID: w.caseID, Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: day(-10), NextReviewDate: day(80)})},
		{Entity: "flag", ID: schema.NewID(), CaseID: w.caseID, Fields: schema.FieldsOf(schema.Flag{Type: "child_concerns", StartDate: day(-10), NextReviewDate: day(80)})},
		{Entity: "household_member", ID: schema.NewID(), CaseID: w.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "partner", Residence: "lives_here", Name: "Kim Marsh", VictimOrPotentialVictim: "yes", AddedOn: day(-10)})},
		{Entity: "household_member", ID: w.ava, CaseID: w.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "own_child", Residence: "lives_here", Name: "Ava Marsh", DateOfBirth: "2018-03-09",
			ChildVictimInOwnRight: "not_known", KnownToChildrensServices: "yes", ChildProtectionPlan: "no", AddedOn: day(-10)})},
		{Entity: "household_member", ID: w.ben, CaseID: w.caseID, Fields: schema.FieldsOf(schema.HouseholdMember{
			Relation: "step_child", Residence: "lives_here", Name: "Ben Marsh", DateOfBirth: "2021-11-02",
			ChildVictimInOwnRight: "not_known", KnownToChildrensServices: "yes", ChildProtectionPlan: "no", AddedOn: day(-10)})},
		{Entity: "safety_assessment", ID: schema.NewID(), CaseID: w.caseID, Fields: schema.FieldsOf(schema.SafetyAssessment{
			Address: address, Dogs: "no", Weapons: "no", LoneWorkingPlan: "Call the duty desk on arrival and on leaving.",
			AssessedOn: day(-9), AssessedBy: w.officer.ID, Decision: "approved", DecidedBy: w.supervisor.ID, DecidedOn: day(-8)})},
	}
	if err := db.Seed(ctx, cliActor, recs); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return w
}

// fetchVisit signs in to the server's JSON API as the supervisor and GETs
// the visit.
func (w *e2eWorld) fetchVisit(base, id string) schema.Record {
	t := w.t
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	body, _ := json.Marshal(schema.LoginRequest{Username: w.supervisor.Username, Password: testPassword, DeviceID: schema.NewID(), DeviceName: "e2e check"})
	resp, err := c.Post(base+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("server login: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok schema.TokenResponse
	if resp.StatusCode != 200 || json.Unmarshal(raw, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("server login as %s: %d %s", w.supervisor.Username, resp.StatusCode, raw)
	}
	req, _ := http.NewRequest("GET", base+"/v1/visits/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatalf("GET the visit: %v", err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	var rec schema.Record
	if resp.StatusCode != 200 || json.Unmarshal(raw, &rec) != nil {
		t.Fatalf("GET /v1/visits/%s: %d %s", id, resp.StatusCode, raw)
	}
	return rec
}

// tabletVisit reads the visit from the tablet's own store through the
// agent's local JSON API, with the session token.
func tabletVisit(t *testing.T, tablet, token, id string) schema.Visit {
	t.Helper()
	req, _ := http.NewRequest("GET", tablet+"/v1/records/visit/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET the visit from the tablet: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var rec schema.Record
	var v schema.Visit
	if resp.StatusCode != 200 || json.Unmarshal(raw, &rec) != nil || rec.Decode(&v) != nil {
		t.Fatalf("GET /v1/records/visit/%s on the tablet: %d %s", id, resp.StatusCode, raw)
	}
	return v
}

// startDevice runs "doorstep device" against serverURL, as an officer's
// tablet runs it, on a fresh data folder, and returns the local app's URL.
// It stops when the test ends.
func startDevice(t *testing.T, serverURL string) string {
	t.Helper()
	addr := freeAddr(t)
	args := []string{"device", "--server", serverURL, "--data", filepath.Join(t.TempDir(), "tablet"), "--addr", addr, "--log-level", "error"}
	var logs io.Writer = &testkit.Buffer{}
	if os.Getenv("DOORSTEP_TEST_LOG") != "" {
		args[len(args)-1] = "debug"
		logs = os.Stderr
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("doorstep device did not stop cleanly: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("doorstep device did not stop within 15 s")
		}
	})
	base := "http://" + addr
	testkit.WaitFor(t, 15*time.Second, "doorstep device's local app to answer on "+base, func() bool {
		select {
		case err := <-done:
			t.Fatalf("doorstep device stopped: %v\n%s", err, logs)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base
}
