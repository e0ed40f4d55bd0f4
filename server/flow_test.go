package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorstep/schema"

	"github.com/klauspost/compress/gzip"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.do("GET", "/healthz", nil, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("healthz = %d %s", r.status, r.body)
	}
}

// TestSyncFlow: a tablet signs in, pushes, pulls (gzip), refreshes its
// token, and the server records what it learnt about the device.
func TestSyncFlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := e.login("asha", "dev-asha")
	if tr.User.Username != "asha" || tr.ExpiresIn != 900 || tr.RefreshToken == "" {
		t.Fatalf("login = %+v", tr)
	}
	h := with(bearer(tr.AccessToken), schema.HeaderAppVersion, "1.2.3", schema.HeaderClockSkew, "-1500")
	m := visitMutation(e.ashaCase, "dev-asha", 1000)
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, with(h, "Content-Encoding", "gzip", "X-Raw", ""))
	if r.status != 400 { // the body was not gzipped: refused, nothing applied
		t.Errorf("push claiming gzip with a plain body = %d", r.status)
	}
	body, _ := json.Marshal(schema.PushRequest{Mutations: []schema.Mutation{m}})
	r = e.do("POST", "/v1/sync/push", gzipped(string(body)), with(h, "Content-Encoding", "gzip"))
	var pr schema.PushResponse
	r.decode(t, &pr)
	if r.status != 200 || pr.Results[0].Status != schema.StatusApplied || pr.ServerTime.IsZero() {
		t.Fatalf("push = %d %s", r.status, r.body)
	}
	// The same batch again: duplicate.
	r = e.do("POST", "/v1/sync/push", body, h)
	r.decode(t, &pr)
	if pr.Results[0].Status != schema.StatusDuplicate || pr.Results[0].Original != schema.StatusApplied {
		t.Errorf("resent push = %+v", pr.Results[0])
	}

	r = e.do("POST", "/v1/sync/pull", `{"cursor": ""}`, with(h, "Accept-Encoding", "gzip"))
	if r.status != 200 || r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("pull = %d, encoding %q", r.status, r.header.Get("Content-Encoding"))
	}
	var pl schema.PullResponse
	r.decode(t, &pl)
	if len(pl.Records) != 2 || pl.HasMore || pl.Cursor == "" {
		t.Errorf("pull = %d records, more %v, cursor %q", len(pl.Records), pl.HasMore, pl.Cursor)
	}
	r = e.do("POST", "/v1/sync/pull", map[string]string{"cursor": pl.Cursor}, h)
	r.decode(t, &pl)
	if len(pl.Records) != 0 {
		t.Errorf("no-op pull sent %d records", len(pl.Records))
	}

	devs, _ := e.srv.DB().ListDevices(context.Background())
	if len(devs) != 1 || devs[0].AppVersion != "1.2.3" || devs[0].ClockSkewMs != -1500 || devs[0].LastSyncAt == "" || devs[0].Protocol != schema.ProtocolVersion {
		t.Errorf("device after sync = %+v", devs)
	}

	e.clock.Advance(20 * time.Minute)
	if r := e.do("GET", "/v1/me", nil, h); r.status != 401 || r.errorResponse().Error.Code != schema.ECodeTokenExpired {
		t.Errorf("expired access token = %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr.RefreshToken, DeviceID: "dev-asha"}, nil)
	var tr2 schema.TokenResponse
	r.decode(t, &tr2)
	if r.status != 200 || tr2.RefreshToken == tr.RefreshToken {
		t.Fatalf("refresh = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/me", nil, bearer(tr2.AccessToken))
	var me schema.User
	r.decode(t, &me)
	if me.Username != "asha" {
		t.Errorf("me = %+v", me)
	}
	if r := e.do("POST", "/v1/auth/logout", nil, bearer(tr2.AccessToken)); r.status != 200 {
		t.Errorf("logout = %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/refresh", schema.RefreshRequest{RefreshToken: tr2.RefreshToken, DeviceID: "dev-asha"}, nil); r.status != 401 {
		t.Errorf("refresh after logout = %d", r.status)
	}
}

func TestRESTAndAdmin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	officer := bearer(e.login("asha", "dev-asha").AccessToken)
	admin := bearer(e.login("root", "dev-root").AccessToken)
	sup := bearer(e.login("sue", "dev-sue").AccessToken)

	r := e.do("POST", "/v1/household-members", map[string]any{"case_id": e.ashaCase,
		"fields": rawFields("relation", "partner", "residence", "lives_here", "name", "Alex")}, officer)
	var rec schema.Record
	r.decode(t, &rec)
	if r.status != 201 || rec.Version != 1 {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	// A date of birth in the future is refused (schema rule past), and
	// nothing is written.
	r = e.do("PATCH", "/v1/household-members/"+rec.ID, map[string]any{"fields": rawFields("date_of_birth", "2099-01-01")}, officer)
	if r.status != 400 || !strings.Contains(string(r.body), "date_of_birth cannot be in the future") {
		t.Errorf("a date of birth in 2099 = %d %s", r.status, r.body)
	}
	r = e.do("PATCH", "/v1/household-members/"+rec.ID, map[string]any{"fields": rawFields("name", "Alex B")}, sup)
	r.decode(t, &rec)
	if r.status != 200 || rec.Version != 2 {
		t.Errorf("supervisor patch = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/household-members?case_id="+e.ashaCase, nil, officer)
	var list struct{ Records []schema.Record }
	r.decode(t, &list)
	if len(list.Records) != 1 {
		t.Errorf("list = %s", r.body)
	}
	if r := e.do("PATCH", "/v1/cases/"+e.ashaCase, map[string]any{"fields": rawFields("rosh", "low")}, officer); r.status != 403 {
		t.Errorf("officer changes rosh = %d %s", r.status, r.body)
	}

	// Admin: a team, a user, reassign, devices.
	r = e.do("POST", "/v1/admin/teams", map[string]string{"name": "Team C"}, admin)
	var team schema.Team
	r.decode(t, &team)
	if r.status != 201 || team.ID == "" {
		t.Fatalf("create team = %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/admin/teams", map[string]string{"name": "Team C"}, admin); r.status != 409 {
		t.Errorf("duplicate team = %d", r.status)
	}
	r = e.do("POST", "/v1/admin/users", map[string]string{"username": "dee", "name": "Dee", "role": "officer", "team_id": team.ID, "password": pw}, admin)
	if r.status != 201 {
		t.Fatalf("create user = %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/admin/users", map[string]string{"username": "x", "name": "X", "role": "officer"}, admin); r.status != 400 {
		t.Errorf("bad user = %d %s", r.status, r.body)
	}
	r = e.do("POST", "/v1/admin/cases/"+e.ashaCase+"/reassign", map[string]string{"officer_username": "dee"}, admin)
	if r.status != 200 {
		t.Fatalf("reassign = %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/cases/"+e.ashaCase, nil, officer); r.status != 404 {
		t.Errorf("asha reads her old case = %d", r.status)
	}
	r = e.do("GET", "/v1/admin/devices", nil, admin)
	var devs struct{ Devices []schema.Device }
	r.decode(t, &devs)
	if len(devs.Devices) != 3 {
		t.Errorf("devices = %s", r.body)
	}
	if r := e.do("POST", "/v1/admin/devices/dev-asha/revoke", nil, admin); r.status != 200 {
		t.Errorf("revoke = %d %s", r.status, r.body)
	}
	r = e.do("GET", "/v1/me", nil, officer)
	if r.status != 403 || !r.errorResponse().Wipe {
		t.Errorf("revoked device = %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/auth/login", schema.LoginRequest{Username: "asha", Password: pw, DeviceID: "dev-asha"}, nil); r.status != 403 {
		t.Errorf("login on revoked device = %d", r.status)
	}
}

// BenchmarkHTTPPull is a tablet's initial pull of 10,000 ~1 KB visits over
// HTTP with gzip, gunzipped by the client; .../decoded also decodes the
// JSON into schema.PullResponse, as a Go client would.
func BenchmarkHTTPPull(b *testing.B) {
	b.Run("raw", func(b *testing.B) { benchHTTPPull(b, false) })
	b.Run("decoded", func(b *testing.B) { benchHTTPPull(b, true) })
}

// benchVisits seeds n ~1 KB visits of asha's case.
func benchVisits(b *testing.B, e *env, n int) {
	recs := make([]schema.Record, n)
	for i := range recs {
		recs[i] = schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: e.ashaCase, Fields: benchVisit()}
	}
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		b.Fatal(err)
	}
}

// benchPull sends a pull request body with tok, as a tablet does.
func benchPull(b *testing.B, e *env, tok, body string) *http.Response {
	req, _ := http.NewRequest("POST", e.url+"/v1/sync/pull", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	return res
}

func benchHTTPPull(b *testing.B, decodePull bool) {
	e := newEnv(b)
	benchVisits(b, e, 10000)
	tok := e.login("asha", "dev-asha").AccessToken
	b.ResetTimer()
	var wire int64
	for i := 0; i < b.N; i++ {
		res := benchPull(b, e, tok, `{"cursor":"","limit":10000}`)
		cr := &countingReader{r: res.Body}
		zr, err := gzip.NewReader(cr)
		if err != nil {
			b.Fatal(err)
		}
		if decodePull {
			var pr schema.PullResponse
			if err := json.NewDecoder(zr).Decode(&pr); err != nil {
				b.Fatal(err)
			}
			if len(pr.Records) < 10000 {
				b.Fatalf("pulled %d", len(pr.Records))
			}
		} else if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		wire += cr.n
	}
	b.ReportMetric(float64(wire)/float64(b.N)/1e6, "MB-gzip/pull")
}

// BenchmarkHTTPPush pushes batches of 1,000 new ~1 KB visits over HTTP,
// gzipped, as a tablet does.
func BenchmarkHTTPPush(b *testing.B) {
	e := newEnv(b)
	tok := e.login("asha", "dev-asha").AccessToken
	const batch = 1000
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		muts := make([]schema.Mutation, batch)
		for j := range muts {
			n++
			muts[j] = schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: e.ashaCase,
				Fields: benchVisit(), Clock: schema.HLC{Wall: int64(n), Node: "dev-asha"}, DeviceTime: e.clock.Now()}
		}
		body, _ := json.Marshal(schema.PushRequest{Mutations: muts})
		var zb bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
		zw.Write(body)
		zw.Close()
		b.StartTimer()
		req, _ := http.NewRequest("POST", e.url+"/v1/sync/push", &zb)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var pr schema.PushResponse
		err = json.NewDecoder(res.Body).Decode(&pr)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || pr.Results[batch-1].Status != schema.StatusApplied {
			b.Fatalf("push: %d %v", res.StatusCode, err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

func benchVisit() map[string]json.RawMessage {
	return rawFields("status", "draft", "type", "home_unannounced", "planned_type", "home_unannounced",
		"outcome", "completed", "location", "home", "face_to_face", true,
		"started_at", "2026-11-23T09:00:00Z", "ended_at", "2026-11-23T09:40:00Z",
		"person_seen", "yes", "partner_present", "yes", "partner_seen_alone", "no",
		"children_present", "not_known", "observations", []string{"poor_living_conditions", "fear"},
		"observation_notes", strings.Repeat("Kitchen untidy, partner quiet, person engaged. ", 14),
		"actions", []string{"manager_informed"}, "next_visit_on", "2026-12-07")
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkHTTPPullNoOp is a tablet's no-op sync as the server sees it:
// one pull with a cursor at the sequence's end, over HTTP, in a store of
// 1,000 visits.
func BenchmarkHTTPPullNoOp(b *testing.B) {
	e := newEnv(b)
	benchVisits(b, e, 1000)
	tok := e.login("asha", "dev-asha").AccessToken
	_, cursor := e.pullAll(tok, "")
	body := `{"cursor":"` + cursor + `","limit":500}`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res := benchPull(b, e, tok, body)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("no-op pull: %d", res.StatusCode)
		}
	}
}
