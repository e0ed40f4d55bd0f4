package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// The operator's kit (issue 13): /readyz, /metrics on their own
// listener, the access log, TLS.

// On both stores (PostgreSQL when DOORSTEP_TEST_POSTGRES is set).
func TestReadyzSaysWhatIsNotReady(t *testing.T) {
	t.Parallel()
	engines(t, testReadyzSaysWhatIsNotReady)
}

func testReadyzSaysWhatIsNotReady(t *testing.T, tweak func(*Config)) {
	e := newEnvWith(t, tweak)
	var ans ReadyAnswer
	r := e.do("GET", "/readyz", nil, nil)
	r.decode(t, &ans)
	if r.status != 200 || ans.Status != "ready" || ans.Checks["database"] != "ok" || ans.Checks["migrations"] != "ok" {
		t.Fatalf("a fresh server: /readyz = %d %s, want 200 ready with both checks ok", r.status, r.body)
	}
	// A migration the file no longer records (a restore of an older
	// back-up under the running server, say): not ready, saying which.
	known := len(schema.ServerMigrations())
	driver := "sqlite"
	if serverdb.IsPostgresURL(e.srv.DB().Path()) {
		driver = "pgx" // registered by the store's PostgreSQL driver
	}
	db, err := sql.Open(driver, serverdbtest.DriverURL(e.srv.DB().Path()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, known)); err != nil {
		t.Fatal(err)
	}
	r = e.do("GET", "/readyz", nil, nil)
	ans = ReadyAnswer{}
	r.decodeAny(t, &ans)
	want := "pending: " + strconv.Itoa(known-1) + " of " + strconv.Itoa(known) + " applied"
	if r.status != 503 || ans.Status != "not_ready" || ans.Checks["migrations"] != want || ans.Checks["database"] != "ok" {
		t.Fatalf("a migration missing: /readyz = %d %s, want 503 not_ready, migrations %q", r.status, r.body, want)
	}
	// The database gone: not ready, naming the database and no file.
	e.srv.DB().Close()
	r = e.do("GET", "/readyz", nil, nil)
	ans = ReadyAnswer{}
	r.decodeAny(t, &ans)
	if r.status != 503 || ans.Status != "not_ready" || ans.Checks["database"] != "unreachable" {
		t.Fatalf("the database closed: /readyz = %d %s, want 503 not_ready, database unreachable", r.status, r.body)
	}
	if strings.Contains(string(r.body), e.srv.DB().Path()) || strings.Contains(string(r.body), "sql") {
		t.Errorf("/readyz tells anyone the error text: %s", r.body)
	}
	// Liveness is not readiness: /healthz still answers.
	if r := e.do("GET", "/healthz", nil, nil); r.status != 200 {
		t.Errorf("/healthz with the database closed = %d, want 200 (the process is alive)", r.status)
	}
}

// scrape reads the metrics listener: each series (name and labels, as
// Prometheus's text format writes them) and its value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics = %d %s, want 200 text/plain", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func TestMetricsCountSyncAndRequests(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	murl := e.srv.MetricsURL()
	if murl == "" {
		t.Fatal("MetricsURL is empty with MetricsAddr set")
	}
	const (
		applied     = `doorstep_sync_mutations_total{outcome="applied"}`
		rejected    = `doorstep_sync_mutations_total{outcome="rejected"}`
		setAsides   = `doorstep_sync_set_asides_total`
		pushes      = `doorstep_sync_push_mutations_count`
		pushed      = `doorstep_sync_push_mutations_sum`
		pushBytes   = `doorstep_sync_push_bytes_sum`
		pulls       = `doorstep_sync_pull_records_count`
		pulled      = `doorstep_sync_pull_records_sum`
		pullBytes   = `doorstep_sync_pull_bytes_sum`
		pushOK      = `doorstep_http_requests_total{method="POST",route="/v1/sync/push",status="200"}`
		pushTime    = `doorstep_http_request_duration_seconds_count{method="POST",route="/v1/sync/push"}`
		recordGet   = `doorstep_http_requests_total{method="GET",route="/v1/:path/:id",status="404"}`
		unmatched   = `doorstep_http_requests_total{method="GET",route="unmatched",status="404"}`
		active15m   = `doorstep_devices_active{within="15m"}`
		active24h   = `doorstep_devices_active{within="24h"}`
		writerWaits = `doorstep_db_writer_wait_seconds_count`
	)
	before := scrape(t, murl)
	for _, name := range []string{applied, rejected, setAsides, `doorstep_sync_conflicts_total`, active15m, active24h,
		`doorstep_db_open_connections{pool="write"}`, `doorstep_db_open_connections{pool="read"}`,
		`doorstep_db_max_open_connections{pool="write"}`, `doorstep_db_wait_seconds_total{pool="write"}`,
		`doorstep_db_waits_total{pool="read"}`, `go_goroutines`} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	// SQLite has one writer connection; PostgreSQL's writers queue on the
	// store's advisory lock, behind a pool of 4 (decision 0042), which the
	// tests' URLs cap (pool_max_conns).
	writePool := 1.0
	if serverdbtest.Postgres() {
		writePool = float64(min(4, serverdbtest.TestPoolMax))
	}
	if before[active24h] != 0 || before[`doorstep_db_max_open_connections{pool="write"}`] != writePool {
		t.Errorf("before any sign-in: %s = %v, write pool max %v; want 0 and %v", active24h, before[active24h], before[`doorstep_db_max_open_connections{pool="write"}`], writePool)
	}

	h := bearer(e.login("asha", "dev-asha").AccessToken)
	good := visitMutation(e.ashaCase, "dev-asha", synth0())
	bad := visitMutation(e.benCase, "dev-asha", synth0()) // out of Asha's scope: set aside
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{good, bad}}, h)
	if r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/sync/pull", schema.PullRequest{}, h); r.status != 200 {
		t.Fatalf("pull: %d %s", r.status, r.body)
	}
	e.do("GET", "/v1/cases/"+e.benCase+"?access_token=hunter2", nil, h)
	e.do("GET", "/nothing/here", nil, nil)

	after := scrape(t, murl)
	for _, c := range []struct {
		name string
		want float64
	}{{applied, 1}, {rejected, 1}, {setAsides, 1}, {pushes, 1}, {pushed, 2}, {pulls, 1}, {pushOK, 1}, {pushTime, 1},
		{recordGet, 1}, {unmatched, 1}} {
		if got := after[c.name] - before[c.name]; got != c.want {
			t.Errorf("%s went up by %v after one push of one good and one refused mutation and one pull; want %v", c.name, got, c.want)
		}
	}
	if after[pulled] < 2 || after[pullBytes] <= 0 || after[pushBytes] <= 0 {
		t.Errorf("pull records %v (want at least Asha's case and visit), pull bytes %v, push bytes %v", after[pulled], after[pullBytes], after[pushBytes])
	}
	if after[writerWaits] <= before[writerWaits] {
		t.Errorf("%s did not move after writes: %v then %v", writerWaits, before[writerWaits], after[writerWaits])
	}
	if after[active15m] != 1 || after[active24h] != 1 {
		t.Errorf("after Asha's sync: %s = %v, %s = %v; want 1 and 1", active15m, after[active15m], active24h, after[active24h])
	}
	e.clock.Advance(20 * time.Minute)
	later := scrape(t, murl)
	if later[active15m] != 0 || later[active24h] != 1 {
		t.Errorf("20 minutes later: %s = %v, %s = %v; want 0 and 1", active15m, later[active15m], active24h, later[active24h])
	}
	// Route patterns only: no id, no query string, no token.
	for series := range after {
		for _, secret := range []string{e.benCase, e.ashaCase, "hunter2", "/nothing"} {
			if strings.Contains(series, secret) {
				t.Errorf("a metric names %q: %s", secret, series)
			}
		}
	}
}

func synth0() int64 { return time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixMilli() }

// The metrics listener serves /metrics and nothing else, and the API's
// listener does not serve /metrics to anyone, an admin included
// (decision 0036). A route added to the metrics listener without a rule
// here fails.
func TestMetricsOnlyOnTheirOwnListener(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *Config) { c.MetricsAddr = "127.0.0.1:0" })
	metricsRules := map[string]string{
		"GET /metrics":  "whoever reaches the metrics listener: counts only, no person, case or id",
		"HEAD /metrics": "the same as GET",
	}
	for _, rt := range e.srv.MetricsApp().GetRoutes(true) {
		if _, ok := metricsRules[rt.Method+" "+rt.Path]; !ok {
			t.Errorf("the metrics listener serves %s %s, which has no rule in metricsRules", rt.Method, rt.Path)
		}
	}
	for _, rt := range e.srv.App().GetRoutes(true) {
		if rt.Path == "/metrics" {
			t.Errorf("the API's listener serves %s /metrics: metrics belong on their own listener", rt.Method)
		}
	}
	admin := bearer(e.login("root", "dev-root").AccessToken)
	for _, h := range []map[string]string{nil, admin} {
		if r := e.do("GET", "/metrics", nil, h); r.status != 404 || r.errorResponse().Error.Code != schema.ECodeNotFound {
			t.Errorf("GET /metrics on the API's listener = %d %s, want 404 not_found", r.status, r.body)
		}
	}
	m := &env{t: t, url: e.srv.MetricsURL()}
	for _, p := range []string{"/v1/me", "/healthz", "/readyz", "/metrics/../v1/me", "/dashboard/"} {
		if r := m.do("GET", p, nil, admin); r.status != 404 {
			t.Errorf("GET %s on the metrics listener = %d %s, want 404", p, r.status, r.body)
		}
	}
}

// The access log: one line a request with method, route pattern, status,
// duration and request id, in JSON when the logger is; never the path's
// ids, the query string or a token.
func TestAccessLogNamesTheRouteNotThePath(t *testing.T) {
	t.Parallel()
	var logBuf testkit.Buffer
	e := newEnvWith(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logBuf, nil))
	})
	tok := e.login("asha", "dev-asha").AccessToken
	r := e.do("GET", "/v1/cases/"+e.ashaCase+"?token=hunter2&q=Doe", nil, with(bearer(tok), schema.HeaderRequestID, "rid-access-log-1"))
	if r.status != 200 {
		t.Fatalf("GET case: %d %s", r.status, r.body)
	}
	e.do("GET", "/v1/cases/"+e.benCase, nil, with(bearer(tok), schema.HeaderRequestID, "rid-access-log-2"))
	var lines []map[string]any
	testkit.WaitFor(t, 5*time.Second, "two access log lines", func() bool {
		lines = lines[:0]
		for _, l := range strings.Split(logBuf.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" && strings.HasPrefix(m["request_id"].(string), "rid-access-log-") {
				lines = append(lines, m)
			}
		}
		return len(lines) == 2
	})
	for i, want := range []float64{200, 404} {
		l := lines[i]
		if l["method"] != "GET" || l["route"] != "/v1/:path/:id" || l["status"] != want || l["level"] != "INFO" {
			t.Errorf("access log line %d = %v, want GET /v1/:path/:id %v at INFO", i, l, want)
		}
		if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("access log line %d has no duration_ms: %v", i, l)
		}
	}
	all := logBuf.String()
	for _, secret := range []string{tok, "hunter2", "Doe", e.ashaCase, e.benCase, "token="} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q:\n%s", secret, all)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := testkit.SelfSignedCert(t)
	e := newEnvWith(t, func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	if !strings.HasPrefix(e.url, "https://") {
		t.Fatalf("URL with TLS = %q, want https://", e.url)
	}
	e.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if r := e.do("GET", "/readyz", nil, nil); r.status != 200 {
		t.Fatalf("GET /readyz over TLS = %d %s", r.status, r.body)
	}
	e.login("asha", "dev-asha")
	// Plain http to the TLS port gets no answer of ours.
	if res, err := http.Get("http://" + strings.TrimPrefix(e.url, "https://") + "/readyz"); err == nil {
		if res.StatusCode == 200 {
			t.Errorf("plain http to the TLS listener answered 200")
		}
		res.Body.Close()
	}

	dir := t.TempDir()
	for _, c := range []struct {
		name, cert, key, want string
	}{
		{"cert alone", certFile, "", "--tls-cert was given without --tls-key"},
		{"key alone", "", keyFile, "--tls-key was given without --tls-cert"},
		{"missing files", filepath.Join(dir, "nope.pem"), keyFile, "load --tls-cert " + filepath.Join(dir, "nope.pem")},
		{"key for the cert swapped", keyFile, certFile, "load --tls-cert"},
	} {
		_, err := Open(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, c.name), TLSCert: c.cert, TLSKey: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Open err = %v, want one saying %q", c.name, err, c.want)
		}
	}
}
