package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

// trail reads the audit trail as an investigator (audrey) through the API.
func (e *env) trail(t *testing.T, tok, query string) []serverdb.AuditEvent {
	t.Helper()
	r := e.do("GET", "/v1/audit?"+query, nil, bearer(tok))
	if r.status != 200 {
		t.Fatalf("GET /v1/audit?%s: %d %s", query, r.status, r.body)
	}
	var page struct {
		Events []serverdb.AuditEvent `json:"events"`
	}
	r.decode(t, &page)
	return page.Events
}

func actions(evs []serverdb.AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Action)
	}
	return out
}

// TestAuditRecordsReadsSignInsAndRefusals: reads of a case's data by a
// supervisor, admin or auditor (REST record, list, pull), failed and
// locked sign-ins and refused requests each leave an event; an officer's
// reads of their own cases do not; the chain holds after it all.
func TestAuditRecordsReadsSignInsAndRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sue, asha, carl := e.login("sue", "dev-sue").AccessToken, e.login("asha", "dev-asha").AccessToken, e.login("carl", "dev-carl").AccessToken
	audrey := e.login("audrey", "dev-audrey").AccessToken
	db := e.srv.DB()
	reads := func() []serverdb.AuditEvent {
		evs, err := db.AuditByAction(context.Background(), "read")
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}

	for _, path := range []string{"/v1/cases/" + e.ashaCase, "/v1/cases?case_id=" + e.ashaCase, "/v1/household-members?case_id=" + e.ashaCase, "/v1/visits?case_id=" + e.ashaCase} {
		if r := e.do("GET", path, nil, bearer(asha)); r.status != 200 {
			t.Fatalf("asha GET %s: %d", path, r.status)
		}
	}
	if n := len(reads()); n != 0 {
		t.Errorf("an officer's reads of their own case: %d read events, want none", n)
	}
	for i, path := range []string{"/v1/cases/" + e.ashaCase, "/v1/household-members?case_id=" + e.ashaCase, "/v1/visits?case_id=" + e.ashaCase, "/v1/cases"} {
		if r := e.do("GET", path, nil, bearer(sue)); r.status != 200 {
			t.Fatalf("sue GET %s: %d", path, r.status)
		}
		evs := reads()
		if len(evs) != i+1 {
			t.Fatalf("after sue's GET %s: %d read events, want %d", path, len(evs), i+1)
		}
		ev := evs[i]
		wantCase := e.ashaCase
		if path == "/v1/cases" {
			wantCase = "" // a list of every case in scope records the query
		}
		if ev.UserID != e.users["sue"].ID || ev.DeviceID != "dev-sue" || ev.CaseID != wantCase || !strings.Contains(string(ev.Detail), `"team_id":"`+e.teamA.ID) {
			t.Errorf("sue's GET %s: event %+v %s", path, ev, ev.Detail)
		}
	}
	if r := e.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(sue)); r.status != 200 {
		t.Fatalf("sue's pull: %d %s", r.status, r.body)
	}
	if evs := reads(); len(evs) != 5 || !strings.Contains(string(evs[4].Detail), `"view":"sync/pull"`) {
		t.Errorf("sue's pull: read events %v", actions(evs))
	}
	if r := e.do("POST", "/v1/sync/pull", schema.PullRequest{}, bearer(asha)); r.status != 200 || len(reads()) != 5 {
		t.Errorf("asha's pull: %d, %d read events; want 200 and no new event", r.status, len(reads()))
	}

	// Another team's officer asks for asha's case: answered as missing,
	// and recorded.
	if r := e.do("GET", "/v1/cases/"+e.ashaCase, nil, bearer(carl)); r.status != 404 {
		t.Fatalf("carl GET asha's case: %d", r.status)
	}
	refused := e.trail(t, audrey, "user_id="+e.users["carl"].ID)
	if i := slices.Index(actions(refused), "refused"); i < 0 || !strings.Contains(string(refused[i].Detail), e.ashaCase) || !strings.Contains(string(refused[i].Detail), `"status":"404"`) {
		t.Errorf("carl's refused read: %v", actions(refused))
	}

	// Sign-ins: wrong passwords, then a try during the wait they began.
	for range 5 {
		if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "ben", Password: "wrong password!", DeviceID: "dev-x"}, nil); r.status != 401 {
			t.Fatalf("a wrong password: %d", r.status)
		}
	}
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "ben", Password: pw, DeviceID: "dev-x"}, nil); r.status != 429 {
		t.Fatalf("the sixth try: %d", r.status)
	}
	failed, _ := db.AuditByAction(context.Background(), "sign_in_failed")
	locked, _ := db.AuditByAction(context.Background(), "sign_in_locked")
	if len(failed) != 5 || len(locked) != 1 || !strings.Contains(string(locked[0].Detail), `"username":"ben"`) || failed[0].DeviceID != "dev-x" ||
		strings.Contains(string(failed[0].Detail), "wrong password") {
		t.Errorf("sign-in events: %d failed, %d locked: %+v", len(failed), len(locked), locked)
	}
	if err := e.srv.DB().RevokeDevice(context.Background(), e.admin, "dev-carl"); err != nil {
		t.Fatal(err)
	}
	if evs := e.trail(t, audrey, "device_id=dev-carl"); !slices.Contains(actions(evs), "revoke_device") {
		t.Errorf("dev-carl's trail: %v, want its revocation", actions(evs))
	}
	if rep, err := db.VerifyAudit(context.Background()); err != nil || rep.Broken != nil {
		t.Errorf("the chain: %+v %v", rep.Broken, err)
	}
}

// TestAuditTrailAPI: the investigator's API and CSV export, for admins
// and auditors only, filtered by person, case, device and period, each
// query itself audited.
func TestAuditTrailAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	toks := map[string]string{}
	for _, u := range []string{"asha", "sue", "root", "audrey"} {
		toks[u] = e.login(u, "dev-"+u).AccessToken
	}
	e.do("GET", "/v1/cases/"+e.ashaCase, nil, bearer(toks["sue"]))
	e.do("GET", "/v1/cases/"+e.benCase, nil, bearer(toks["root"]))
	e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "=HYPERLINK(\"http://x\")", Password: "nope nope nope", DeviceID: "dev-y"}, nil)

	// Per role.
	for _, tc := range []struct {
		who    string
		status int
	}{{"asha", 403}, {"sue", 403}, {"root", 200}, {"audrey", 200}} {
		before := e.counts()
		r := e.do("GET", "/v1/audit?case_id="+e.ashaCase, nil, bearer(toks[tc.who]))
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.who, r.status, r.body, tc.status)
		}
		if tc.status == 403 {
			if strings.Contains(string(r.body), e.ashaCase) || r.errorResponse().Error.Code != schema.ECodeForbidden {
				t.Errorf("%s's refusal: %s", tc.who, r.body)
			}
			if e.counts() != before {
				t.Errorf("%s's refusal changed the store", tc.who)
			}
		}
		if r := e.do("GET", "/v1/audit?format=csv", nil, bearer(toks[tc.who])); r.status != tc.status {
			t.Errorf("%s CSV: %d, want %d", tc.who, r.status, tc.status)
		}
	}
	if r := e.do("GET", "/v1/audit", nil, nil); r.status != 401 {
		t.Errorf("anonymous: %d, want 401", r.status)
	}

	audrey := toks["audrey"]
	byCase := e.trail(t, audrey, "case_id="+e.ashaCase)
	if len(byCase) == 0 || !slices.Contains(actions(byCase), "read") {
		t.Errorf("asha's case's trail: %v, want sue's read", actions(byCase))
	}
	for _, ev := range byCase {
		if ev.CaseID != e.ashaCase {
			t.Errorf("case filter let through %+v", ev)
		}
	}
	bySue := e.trail(t, audrey, "user_id="+e.users["sue"].ID)
	byDev := e.trail(t, audrey, "device_id=dev-sue")
	if len(bySue) == 0 || len(byDev) == 0 {
		t.Errorf("sue: %d events, dev-sue: %d", len(bySue), len(byDev))
	}
	for _, ev := range append(bySue, byDev...) {
		if ev.UserID != e.users["sue"].ID && ev.RecordID != e.users["sue"].ID && ev.RecordID != "dev-sue" {
			t.Errorf("person/device filter let through %+v", ev)
		}
	}
	today := e.clock.Now().Format(time.DateOnly)
	tomorrow := e.clock.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	if evs := e.trail(t, audrey, "from="+today+"&to="+today); len(evs) == 0 {
		t.Errorf("today's events: none")
	}
	if evs := e.trail(t, audrey, "from="+tomorrow); len(evs) != 0 {
		t.Errorf("tomorrow's events: %d, want none", len(evs))
	}
	page := e.trail(t, audrey, "limit=3")
	next := e.trail(t, audrey, "limit=3&after="+strconv.FormatInt(page[2].ID, 10))
	if len(page) != 3 || len(next) != 3 || next[0].ID != page[2].ID+1 {
		t.Errorf("paging: %d then %d from #%d", len(page), len(next), next[0].ID)
	}

	// Bad input names the parameter and changes nothing.
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=2026-10-02&to=2026-10-01", "limit=5000", "after=-1", "format=xml", "user_id=" + url.QueryEscape("a b")} {
		before := e.counts()
		r := e.do("GET", "/v1/audit?"+q, nil, bearer(audrey))
		name, _, _ := strings.Cut(q, "=")
		if name == "from" && strings.Contains(q, "&to=") {
			name = "to"
		}
		if r.status != 400 || r.errorResponse().Error.Field != name {
			t.Errorf("?%s: %d %s, want 400 naming %s", q, r.status, r.body, name)
		}
		if e.counts() != before {
			t.Errorf("?%s changed the store", q)
		}
	}

	// The CSV export: every event, formulas defused.
	r := e.do("GET", "/v1/audit?format=csv&device_id=dev-y", nil, bearer(audrey))
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %d %s %v\n%s", r.status, r.header.Get("Content-Type"), err, r.body)
	}
	if !slices.Equal(rows[0][:5], []string{"id", "at", "user_id", "device_id", "action"}) || rows[1][4] != "sign_in_failed" || !strings.Contains(rows[1][8], "=HYPERLINK") {
		t.Errorf("CSV rows: %q", rows)
	}

	// Each query is in the trail, with what it asked.
	queries, _ := e.srv.DB().AuditByAction(context.Background(), "audit_query")
	var last map[string]map[string]string
	if len(queries) == 0 || json.Unmarshal(queries[len(queries)-1].Detail, &last) != nil || last["params"]["device_id"] != "dev-y" ||
		last["params"]["format"] != "csv" || last["params"]["returned"] != "1" || queries[len(queries)-1].UserID != e.users["audrey"].ID {
		t.Errorf("the queries' events: %d, last %s", len(queries), queries[len(queries)-1].Detail)
	}
}
