package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server"
)

// The operator's kit (issue 13): backup and restore, the server's flags
// (--log-format, --tls-cert/--tls-key, --metrics-addr) and the health
// command the container image probes with.

// TestBackupWhileServingAndRestore: data written through a tablet, a
// back-up taken while the server runs and goes on writing, restored into
// a new folder; a server started on it has the data, and the audit chain
// verifies.
func TestBackupWhileServingAndRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newCluster(t, 2)
	officer := c.officers[0]
	tab := c.tablet("tab", officer.Username, nil, nil)
	caseID := c.cases[officer.ID][0]
	mustSync(t, tab)
	visit, err := tab.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{
		"status": str("draft"), "planned_type": str("home_unannounced"), "officer_id": str(officer.ID)})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, tab)
	data := filepath.Join(c.dir, "server")
	teamsBefore := countTeams(t, c.srv)

	// The server keeps writing while the back-up is taken.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.srv.DB().CreateTeam(ctx, cliActor, schema.Team{ID: schema.NewID(), Name: fmt.Sprintf("Team %d", i)}); err != nil {
				t.Errorf("a write beside the back-up: %v", err)
				return
			}
		}
	}()
	backup := filepath.Join(t.TempDir(), "doorstep.db")
	out, err := doorstep(t, "admin", "backup", "--data", data, "--out", backup)
	close(stop)
	wg.Wait()
	if err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("admin backup: %v\n%s", err, out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the back-up file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if _, err := doorstep(t, "admin", "backup", "--data", data, "--out", backup); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("a back-up over another: err = %v, want a refusal", err)
	}
	if _, err := doorstep(t, "admin", "backup", "--data", data); err == nil || !strings.Contains(err.Error(), "--out is required") {
		t.Errorf("backup without --out: err = %v", err)
	}
	teamsAfter := countTeams(t, c.srv)

	// Refusals first: no --from, a file that is no database, a folder
	// that holds a database. Each leaves nothing behind.
	restored := filepath.Join(t.TempDir(), "restored")
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("not a database, not at all; just some words to fill a page"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", restored}, "--from is required"},
		{[]string{"--data", restored, "--from", junk}, "not a SQLite database"},
		{[]string{"--data", data, "--from", backup}, "already holds a database"},
	} {
		if _, err := doorstep(t, append([]string{"admin", "restore"}, r.args...)...); err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("admin restore %v: err = %v, want %q", r.args, err, r.want)
		}
	}
	if entries, _ := os.ReadDir(restored); len(entries) != 0 {
		t.Fatalf("refused restores left %v in the folder", entries)
	}
	out, err = doorstep(t, "admin", "restore", "--data", restored, "--from", backup)
	if err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("admin restore: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(restored, serverDBFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the restored database: %v, mode %v; want 0600", err, fi.Mode())
	}
	if out, err := doorstep(t, "admin", "audit", "verify", "--data", restored); err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("audit verify of the restored database: %v\n%s", err, out)
	}

	srv, err := openServer(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: restored, Logger: quietLogger(), Now: c.clock.Now})
	if err != nil {
		t.Fatalf("a server on the restored folder: %v", err)
	}
	defer srv.Close()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if out, err := doorstep(t, "health", "--url", srv.URL()+"/readyz"); err != nil || !strings.Contains(out, `"status":"ready"`) {
		t.Fatalf("health of the restored server: %v\n%s", err, out)
	}
	got, err := srv.DB().Get(ctx, serverActor, "visit", visit.ID)
	if err != nil || !jsonEqual(got.Fields["planned_type"], str("home_unannounced")) {
		t.Fatalf("the tablet's visit on the restored server: %+v, %v", got, err)
	}
	if n := countTeams(t, srv); n < teamsBefore || n > teamsAfter {
		t.Errorf("the restored server has %d teams; the live one had %d before the back-up and %d after", n, teamsBefore, teamsAfter)
	}
	// The officer signs in on the restored server (its secrets folder is
	// new: new keys, everyone signs in again).
	body, _ := json.Marshal(schema.LoginRequest{Username: officer.Username, Password: testPassword, DeviceID: "dev-after-restore"})
	res, err := http.Post(srv.URL()+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("sign-in on the restored server: %v %v", res, err)
	}
	res.Body.Close()
}

func countTeams(t *testing.T, srv *server.Server) int {
	t.Helper()
	teams, err := srv.DB().ListTeams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(teams)
}

// TestServerCommandFlags: --log-format json writes JSON lines (the access
// log among them), --metrics-addr serves /metrics apart, and bad
// combinations are refused with the flag named.
func TestServerCommandFlags(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--log-format", "yaml"}, `--log-format: "yaml" is not text or json`},
		{[]string{"--tls-cert", "cert.pem"}, "give --tls-cert and --tls-key together"},
		{[]string{"--tls-key", "key.pem"}, "give --tls-cert and --tls-key together"},
		{[]string{"--tls-cert", filepath.Join(data, "none.pem"), "--tls-key", filepath.Join(data, "none.pem")}, "load --tls-cert"},
	} {
		_, err := doorstep(t, append([]string{"server", "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", ""}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("server %v: err = %v, want %q", c.args, err, c.want)
		}
	}
	for _, args := range [][]string{{"device", "--log-format", "xml"}, {"device", "status", "--log-format", "xml"}, {"demo", "--log-format", "xml"}} {
		if _, err := doorstep(t, append(args, "--data", filepath.Join(t.TempDir(), "d"))...); err == nil || !strings.Contains(err.Error(), `--log-format: "xml" is not text or json`) {
			t.Errorf("%v: err = %v, want the flag named", args, err)
		}
	}
	if _, err := doorstep(t, "health", "--url", "127.0.0.1:8080/readyz"); err == nil || !strings.Contains(err.Error(), "--url must be an http") {
		t.Errorf("health with a URL without a scheme: err = %v", err)
	}

	logs, stop := startServerCmd(t, "--data", data, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-format", "json")
	defer stop()
	base := logURL(t, logs, "server listening")
	metrics := logURL(t, logs, "metrics listening")
	if out, err := doorstep(t, "health", "--url", base+"/readyz"); err != nil || !strings.Contains(out, `"status":"ready"`) {
		t.Fatalf("health: %v\n%s", err, out)
	}
	res, err := http.Get(metrics)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", metrics, res, err)
	}
	res.Body.Close()
	if res, err := http.Get(base + "/metrics"); err != nil || res.StatusCode != 404 {
		t.Errorf("GET /metrics on the API's address: %v %v, want 404", res, err)
	} else {
		res.Body.Close()
	}
	testkit.WaitFor(t, 5*time.Second, "the access log line of GET /metrics on the API", func() bool {
		return strings.Contains(logs.String(), `"msg":"http request","method":"GET","route":"unmatched","status":404`)
	})
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("--log-format json wrote a line that is not JSON: %q", line)
		}
	}
}

// startServerCmd runs "doorstep server" with args until the test ends;
// its log is returned as it grows.
func startServerCmd(t *testing.T, args ...string) (*testkit.Buffer, func()) {
	t.Helper()
	logs := &testkit.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"server"}, args...), logs, logs) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v\n%s", err, logs.String())
		}
	}
	t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			stop()
		}
	})
	return logs, stop
}

var logURLRE = regexp.MustCompile(`"url":"(https?://[^"]+)"`)

// logURL waits for the log line msg and returns the URL it names.
func logURL(t *testing.T, logs *testkit.Buffer, msg string) string {
	t.Helper()
	var url string
	testkit.WaitFor(t, 10*time.Second, "the log line "+msg, func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"`+msg+`"`) {
				if m := logURLRE.FindStringSubmatch(line); m != nil {
					url = m[1]
					return true
				}
			}
		}
		return false
	})
	return url
}

// TestServerOverTLS: with --tls-cert and --tls-key the server speaks
// HTTPS, the dashboard's cookies are Secure without any proxy header, and
// the health command probes it (with --insecure for a certificate it does
// not trust).
func TestServerOverTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := testkit.SelfSignedCert(t)
	logs, stop := startServerCmd(t, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0", "--metrics-addr", "",
		"--tls-cert", certFile, "--tls-key", keyFile, "--log-format", "json")
	defer stop()
	base := logURL(t, logs, "server listening")
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("the server's URL with TLS is %q", base)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get(base + "/dashboard/signin")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /dashboard/signin over TLS: %v %v", res, err)
	}
	res.Body.Close()
	if len(res.Cookies()) == 0 {
		t.Fatal("the sign-in page set no cookie")
	}
	for _, ck := range res.Cookies() {
		if !ck.Secure || !ck.HttpOnly {
			t.Errorf("cookie %s over TLS: Secure %v, HttpOnly %v; want both", ck.Name, ck.Secure, ck.HttpOnly)
		}
	}
	if _, err := doorstep(t, "health", "--url", base+"/readyz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("health of a server whose certificate it does not trust: err = %v, want a certificate error", err)
	}
	if out, err := doorstep(t, "health", "--insecure", "--url", base+"/readyz"); err != nil || !strings.Contains(out, `"status":"ready"`) {
		t.Errorf("health --insecure: %v\n%s", err, out)
	}
}
