package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// process is a running doorstep command.
type process struct {
	cmd    *exec.Cmd
	log    *urlLog       // what it wrote to standard error
	exited chan struct{} // closed when it has exited; err is then its end
	err    error
}

// stop sends SIGTERM and waits for the process to end.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(30 * time.Second):
		return errors.New("still running 30 s after SIGTERM")
	}
}

// startDoorstep runs `doorstep args...` as a process of its own (the test
// binary, see TestMain) and returns it with the URL its server logged.
func startDoorstep(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	log := &urlLog{found: make(chan string, 1)}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	select {
	case u := <-log.found:
		return p, u
	case <-p.exited:
		t.Fatalf("doorstep %v stopped without listening:\n%s", args, log.text())
	case <-time.After(30 * time.Second):
		t.Fatalf("doorstep %v did not say where it listens within 30 s:\n%s", args, log.text())
	}
	return nil, ""
}

// urlLog keeps a process's log and hands over the URL of its "server
// listening" line once.
type urlLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	found chan string
	sent  bool
}

var listeningRE = regexp.MustCompile(`msg="server listening" url=(\S+)`)

func (l *urlLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := listeningRE.FindStringSubmatch(l.buf.String()); m != nil && !l.sent {
		l.found <- m[1]
		l.sent = true
	}
	return len(p), nil
}

func (l *urlLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// call sends one API request to base and decodes a 200 answer into v.
func call(t *testing.T, base, method, path, token string, body, v any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(schema.HeaderProtocol, strconv.Itoa(schema.ProtocolVersion))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 && v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return res.StatusCode
}

// TestTwoServerProcesses: two `doorstep server` processes on one data
// folder and one secrets folder (SQLite, each with its own writer): a push
// to one is pulled from the other, a log-out on one is refused by the
// other, and both stop cleanly.
func TestTwoServerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two server processes (the full suite runs it)")
	}
	t.Parallel()
	twoServerProcesses(t, "")
}

// TestTwoServerProcessesOnPostgres: the same with both processes on one
// PostgreSQL schema (--db), as instances on two machines would be; the
// data folder then holds nothing, and both answer ready.
func TestTwoServerProcessesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts two server processes (the full suite runs it)")
	}
	t.Parallel()
	// A password in the URL (trust authentication ignores it) is never
	// logged.
	dbURL := strings.Replace(serverdbtest.PostgresURL(t), "postgres://postgres@", "postgres://postgres:s3cret@", 1)
	twoServerProcesses(t, dbURL)
}

// twoServerProcesses runs the two-process check on the store of dbURL
// (SQLite in the data folder when empty).
func twoServerProcesses(t *testing.T, dbURL string) {
	ctx := context.Background()
	dir := t.TempDir()
	data, secrets := filepath.Join(dir, "data"), filepath.Join(dir, "secrets")
	store := []string{"--data", data}
	target := filepath.Join(data, serverDBFile)
	if dbURL != "" {
		store = append(store, "--db", dbURL)
		target = dbURL
	}
	if out, err := doorstep(t, append([]string{"admin", "add-team", "--name", "North"}, store...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	db, err := serverdb.Open(ctx, target, serverdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	teams, err := db.ListTeams(ctx)
	if err != nil || len(teams) != 1 {
		t.Fatalf("teams: %+v, %v", teams, err)
	}
	officer := schema.User{ID: schema.NewID(), Username: "asha.k", Name: "Asha K", Role: schema.RoleOfficer, TeamID: teams[0].ID}
	caseID := schema.NewID()
	if err := db.CreateUser(ctx, cliActor, officer, testPassword); err != nil {
		t.Fatal(err)
	}
	c := schema.Case{CRN: "X100001", GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
		OfficerID: officer.ID, TeamID: officer.TeamID, SentenceType: "community_order", SupervisionStart: "2026-10-01", RoSH: "high"}
	if err := db.Seed(ctx, cliActor, []schema.Record{{Entity: "case", ID: caseID, CaseID: caseID, Fields: schema.FieldsOf(c)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	args := append([]string{"server", "--secrets", secrets, "--addr", "127.0.0.1:0"}, store...)
	one, url1 := startDoorstep(t, args...)
	two, url2 := startDoorstep(t, args...)
	for _, u := range []string{url1, url2} {
		var ready struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if st := call(t, u, "GET", "/readyz", "", nil, &ready); st != 200 || ready.Status != "ready" || ready.Checks["database"] != "ok" || ready.Checks["migrations"] != "ok" {
			t.Fatalf("%s/readyz: %d %+v; want ready, the database reachable and migrated", u, st, ready)
		}
	}

	var tok schema.TokenResponse
	if st := call(t, url1, "POST", "/v1/auth/login", "", schema.LoginRequest{Username: officer.Username, Password: testPassword, DeviceID: "tablet-1"}, &tok); st != 200 {
		t.Fatalf("login on the first process: %d", st)
	}
	var page schema.PullResponse
	if st := call(t, url2, "POST", "/v1/sync/pull", tok.AccessToken, schema.PullRequest{}, &page); st != 200 || len(page.Records) != 1 {
		t.Fatalf("the second process's first pull: %d, %d records; want 200 and the case", st, len(page.Records))
	}
	visit := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: caseID,
		Fields: map[string]json.RawMessage{"status": json.RawMessage(`"planned"`), "planned_type": json.RawMessage(`"home_announced"`)},
		Clock:  schema.HLC{Wall: time.Now().UnixMilli(), Node: "tablet-1"}, DeviceTime: time.Now().UTC()}
	var pushed schema.PushResponse
	if st := call(t, url1, "POST", "/v1/sync/push", tok.AccessToken, schema.PushRequest{Mutations: []schema.Mutation{visit}, Cursor: page.Cursor}, &pushed); st != 200 ||
		len(pushed.Results) != 1 || pushed.Results[0].Status != schema.StatusApplied {
		t.Fatalf("push to the first process: %d %+v", st, pushed.Results)
	}
	// From the beginning, so the tablet's own echo is not left out.
	var all schema.PullResponse
	if st := call(t, url2, "POST", "/v1/sync/pull", tok.AccessToken, schema.PullRequest{}, &all); st != 200 || len(all.Records) != 2 || all.Records[1].ID != visit.RecordID {
		t.Fatalf("the second process's pull after a push to the first: %d, %+v; want the case and the visit %s", st, all.Records, visit.RecordID)
	}

	if st := call(t, url2, "POST", "/v1/auth/logout", tok.AccessToken, nil, nil); st != 200 {
		t.Fatalf("log out on the second process: %d", st)
	}
	if st := call(t, url1, "POST", "/v1/sync/pull", tok.AccessToken, schema.PullRequest{}, nil); st != 401 {
		t.Errorf("the first process after a log-out on the second: %d, want 401", st)
	}

	for name, p := range map[string]*process{"first": one, "second": two} {
		if err := p.stop(t); err != nil {
			t.Errorf("the %s process at SIGTERM: %v; want a clean exit", name, err)
		}
		if strings.Contains(p.log.text(), "s3cret") {
			t.Errorf("the %s process logged the database's password:\n%s", name, p.log.text())
		}
	}
	if dbURL != "" {
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("with --db, the data folder %s: %v; want nothing made there", data, err)
		}
	}
	// Stopped cleanly, the device's last reports are written.
	db, err = serverdb.Open(ctx, target, serverdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	devices, err := db.ListDevices(ctx)
	if err != nil || len(devices) != 1 || devices[0].LastSyncAt == "" {
		t.Errorf("the device after both stopped: %+v, %v; want its last sync recorded", devices, err)
	}
}
