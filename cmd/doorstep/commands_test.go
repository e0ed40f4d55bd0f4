package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// doorstep runs the command line as main does and returns what it printed.
func doorstep(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

// --db takes a PostgreSQL URL for the server and every admin action; a
// malformed one, or another scheme, is refused before anything is touched,
// naming --db and never echoing a password.
func TestDBFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct{ db, want string }{
		{"mysql://root@localhost/doorstep", `--db: "mysql://root@localhost/doorstep" is not a database URL this build understands (mysql)`},
		{"/var/lib/doorstep/server.db", "--db: \"/var/lib/doorstep/server.db\" is not a database URL this build understands (no scheme)"},
		{"postgres://doorstep:s3cret@db host/doorstep", "--db: not a valid URL"},
		{"postgres:///doorstep", "--db: postgres:///doorstep names no host"},
	} {
		for _, args := range [][]string{
			{"server", "--db", tc.db, "--data", filepath.Join(dir, "data")},
			{"admin", "list-teams", "--db", tc.db, "--data", filepath.Join(dir, "data")},
			{"admin", "backup", "--out", filepath.Join(dir, "b.db"), "--db", tc.db},
		} {
			_, err := doorstep(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%v: err = %v; want a refusal with %q and no password", args, err, tc.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("a refused --db made the data folder")
	}
	// Parsed, a PostgreSQL URL is taken (the store connects at Run).
	for _, args := range [][]string{
		{"server", "--db", "postgres://doorstep@db.example:5432/doorstep?sslmode=require"},
		{"admin", "new-epoch", "--db", "postgresql://doorstep@db.example/doorstep"},
		{"admin", "add-team", "--name", "North", "--db", "postgres:///doorstep?host=/var/run/postgresql"},
	} {
		if err := parseOnly(args); err != nil {
			t.Errorf("%v: %v; want it taken", args, err)
		}
	}
}

// DOORSTEP_DB is --db's twin, for the server and admin alike.
func TestDBFlagFromTheEnvironment(t *testing.T) {
	t.Setenv("DOORSTEP_DB", "mysql://root@localhost/doorstep")
	for _, args := range [][]string{{"server"}, {"admin", "list-users"}} {
		if err := parseOnly(args); err == nil || !strings.Contains(err.Error(), "--db") {
			t.Errorf("%v with DOORSTEP_DB=mysql://…: %v; want a refusal naming --db", args, err)
		}
	}
	t.Setenv("DOORSTEP_DB", "postgres://doorstep@db.example/doorstep")
	s := &serverCmd{stderr: io.Discard}
	if err := s.ParseFlags(nil); err != nil || s.db != "postgres://doorstep@db.example/doorstep" {
		t.Errorf("server with DOORSTEP_DB: %v, --db %q", err, s.db)
	}
	a := &adminCmd{stderr: io.Discard}
	if err := a.ParseFlags([]string{"list-users"}); err != nil || a.dbURL != "postgres://doorstep@db.example/doorstep" {
		t.Errorf("admin with DOORSTEP_DB: %v, --db %q", err, a.dbURL)
	}
}

// The server's limits: --max-report-cases (the case limit, decision
// 0051), --max-report-jobs (answers computed at once, decision 0060) and
// --max-waiting-pulls (pulls waiting for a change), each with its default,
// its environment twin, and a refusal naming the flag below 1.
func TestServerLimitFlags(t *testing.T) {
	for _, c := range []struct {
		flag, env string
		def       int
		got       func(*serverCmd) int
	}{
		{"max-report-cases", "DOORSTEP_MAX_REPORT_CASES", compliance.DefaultMaxCases, func(s *serverCmd) int { return s.maxCases }},
		{"max-report-jobs", "DOORSTEP_MAX_REPORT_JOBS", compliance.DefaultMaxJobs, func(s *serverCmd) int { return s.maxJobs }},
		{"max-waiting-pulls", "DOORSTEP_MAX_WAITING_PULLS", server.DefaultMaxWaitingPulls, func(s *serverCmd) int { return s.maxWaiting }},
	} {
		s := &serverCmd{stderr: io.Discard}
		if err := s.ParseFlags(nil); err != nil || c.got(s) != c.def {
			t.Errorf("--%s default: %v, %d; want %d", c.flag, err, c.got(s), c.def)
		}
		for _, v := range []string{"0", "-5", "many"} {
			if err := parseOnly([]string{"server", "--" + c.flag, v}); err == nil || !strings.Contains(err.Error(), c.flag) {
				t.Errorf("--%s %s: %v; want a refusal naming the flag", c.flag, v, err)
			}
		}
		t.Setenv(c.env, "12000")
		s = &serverCmd{stderr: io.Discard}
		if err := s.ParseFlags(nil); err != nil || c.got(s) != 12000 {
			t.Errorf("%s=12000: %v, %d", c.env, err, c.got(s))
		}
	}
}

// parseOnly parses a server or admin command line without running it.
func parseOnly(args []string) error {
	if args[0] == "server" {
		return (&serverCmd{stderr: io.Discard}).ParseFlags(args[1:])
	}
	return (&adminCmd{stderr: io.Discard}).ParseFlags(args[1:])
}

// A password is never taken on the command line, where every user of the
// machine sees it; reset-password prints a new setup code (issue 11,
// defect 7).
func TestAdminPasswordNeverOnTheCommandLine(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if out, err := doorstep(t, "admin", "add-team", "--name", "North", "--data", data); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, arg := range [][]string{{"--password", "a long pass phrase here"}, {"--password=a long pass phrase here"}, {"-password", "x"}} {
		args := append([]string{"admin", "add-user", "--username", "ola.k", "--name", "Ola K", "--role", "auditor", "--data", data}, arg...)
		_, err := doorstep(t, args...)
		if err == nil || !strings.Contains(err.Error(), "--password is no longer taken") || !strings.Contains(err.Error(), "--password-stdin") {
			t.Errorf("%v: err = %v, want a refusal saying what to use instead", arg, err)
		}
	}
	if out, _ := doorstep(t, "admin", "list-users", "--data", data); strings.Contains(out, "ola.k") {
		t.Fatalf("a refused add-user created the user:\n%s", out)
	}
	out, err := doorstep(t, "admin", "add-user", "--username", "ola.k", "--name", "Ola K", "--role", "auditor", "--data", data)
	if err != nil || !strings.Contains(out, "one-time setup code") {
		t.Fatalf("add-user: %v\n%s", err, out)
	}
	out, err = doorstep(t, "admin", "reset-password", "--username", "ola.k", "--data", data)
	if err != nil || !strings.Contains(out, "one-time setup code for the password reset for ola.k") {
		t.Fatalf("reset-password: %v\n%s", err, out)
	}
	if _, err := doorstep(t, "admin", "reset-password", "--username", "nobody.here", "--data", data); err == nil || !strings.Contains(err.Error(), "nobody.here") {
		t.Errorf("reset-password of an unknown user: %v", err)
	}
	if out, err := doorstep(t, "admin", "rotate-key", "--data", data); err == nil {
		t.Errorf("rotate-key before any server start: %s, want an error naming the missing key file", out)
	}
}

func TestFlagEnvironmentTwins(t *testing.T) {
	t.Setenv("DOORSTEP_INTERVAL", "soon")
	_, err := doorstep(t, "device", "--data", filepath.Join(t.TempDir(), "data"))
	if err == nil || !strings.Contains(err.Error(), "DOORSTEP_INTERVAL") || !strings.Contains(err.Error(), "soon") {
		t.Fatalf("a bad DOORSTEP_INTERVAL: err = %v, want one naming the variable and the value", err)
	}
	t.Setenv("DOORSTEP_INTERVAL", "")
	os.Unsetenv("DOORSTEP_INTERVAL")
	if _, err := doorstep(t, "device", "--interval", "often"); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Fatalf("a bad --interval: err = %v, want one naming the flag", err)
	}
	if _, err := doorstep(t, "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: err = %v", err)
	}
}

// TestDeviceRefusesDurationsThatAreNotPositive: --interval and --lock-after
// of zero or less are refused naming the flag, rather than quietly replaced
// by the defaults.
func TestDeviceRefusesDurationsThatAreNotPositive(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--interval", "0s"}, {"--interval", "-5s"}, {"--lock-after", "0s"}, {"--lock-after", "-1m"}} {
		c := newDeviceCmd(nil, io.Discard, io.Discard)
		err := c.ParseFlags(args)
		if err == nil || !strings.Contains(err.Error(), args[0]) || !strings.Contains(err.Error(), args[1]) {
			t.Errorf("device %v: err = %v, want one naming the flag and the value", args, err)
		}
	}
	c := newDeviceCmd(nil, io.Discard, io.Discard)
	if err := c.ParseFlags([]string{"--interval", "1s", "--lock-after", "30s"}); err != nil {
		t.Errorf("positive durations refused: %v", err)
	}
}

// TestDevicePullWait: --pull-wait takes whole seconds from 0s (pulls do
// not wait: the agent syncs every --interval) to 25s, the protocol's
// longest (its default); anything else is refused naming the flag.
func TestDevicePullWait(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"-1s", "26s", "1500ms", "1m"} {
		c := newDeviceCmd(nil, io.Discard, io.Discard)
		err := c.ParseFlags([]string{"--pull-wait", v})
		if err == nil || !strings.Contains(err.Error(), "--pull-wait") {
			t.Errorf("device --pull-wait %s: err = %v, want one naming the flag", v, err)
		}
	}
	for _, c := range []struct {
		args []string
		want time.Duration
	}{{nil, 25 * time.Second}, {[]string{"--pull-wait", "10s"}, 10 * time.Second}, {[]string{"--pull-wait", "0s"}, -1}} {
		d := newDeviceCmd(nil, io.Discard, io.Discard)
		if err := d.ParseFlags(c.args); err != nil {
			t.Fatalf("device %v: %v", c.args, err)
		}
		if got := d.agentPullWait(); got != c.want {
			t.Errorf("device %v: the agent's PullWait %v, want %v", c.args, got, c.want)
		}
	}
}

// TestAdminImportAndReassign drives "doorstep admin" on a data folder: a bad
// CSV is refused whole with every problem named by line and field, the
// example file imports, and a case is reassigned.
func TestAdminImportAndReassign(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := doorstep(t, append(args, "--data", data)...)
		if err != nil {
			t.Fatalf("doorstep %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	mustRun("admin", "add-team", "--name", "Quillbury North")
	for _, u := range []string{"asha.officer", "ben.officer"} {
		out := mustRun("admin", "add-user", "--username", u, "--name", "Test "+u, "--role", "officer", "--team", "Quillbury North")
		if !strings.Contains(out, "one-time setup code for the first password of "+u) {
			t.Fatalf("add-user without a password printed no setup code:\n%s", out)
		}
	}
	if out, err := doorstep(t, "admin", "add-user", "--username", "x.officer", "--name", "X", "--team", "No Such Team", "--data", data); err == nil || !strings.Contains(err.Error(), `no team named "No Such Team"`) {
		t.Fatalf("add-user with an unknown team: err = %v\n%s", err, out)
	}

	example, err := os.ReadFile("../../docs/examples/cases.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(example)), "\n")
	bad := append([]string{}, lines...)
	bad[2] = strings.Replace(bad[2], ",very_high,", ",severe,", 1)
	bad[3] = strings.Replace(bad[3], "2001-02-03", "2001-02-30", 1)
	badPath := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badPath, []byte(strings.Join(bad, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = doorstep(t, "admin", "import-cases", "--file", badPath, "--data", data)
	if err == nil {
		t.Fatal("a CSV with bad rows was accepted")
	}
	for _, want := range []string{"nothing imported", "line 3, field rosh", "line 4, field date_of_birth"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("import error %q does not say %q", err, want)
		}
	}
	// Nothing of the bad file was imported: its first, valid case is not there.
	if _, err := doorstep(t, "admin", "reassign", "--crn", "Z100001", "--officer", "ben.officer", "--data", data); err == nil || !strings.Contains(err.Error(), `no case "Z100001"`) {
		t.Fatalf("after a refused import, reassign found the case (err = %v): the import was partial", err)
	}
	if out := mustRun("admin", "import-cases", "--file", "../../docs/examples/cases.csv"); !strings.Contains(out, fmt.Sprintf("imported %d cases", len(lines)-1)) {
		t.Fatalf("import of the example file said %q, want %d cases", out, len(lines)-1)
	}
	if out := mustRun("admin", "reassign", "--crn", "Z100001", "--officer", "ben.officer"); !strings.Contains(out, "reassigned to ben.officer") {
		t.Fatalf("reassign said %q", out)
	}
	if _, err := doorstep(t, "admin", "reassign", "--crn", "Z100001", "--officer", "nobody.here", "--data", data); err == nil {
		t.Fatal("reassign to an unknown officer was accepted")
	}
	if out := mustRun("admin", "list-users"); !strings.Contains(out, "asha.officer") || !strings.Contains(out, "ben.officer") {
		t.Fatalf("list-users:\n%s", out)
	}
	// An officer who leaves: disabled, then enabled again.
	if out := mustRun("admin", "disable-user", "--username", "asha.officer"); !strings.Contains(out, "user asha.officer disabled") {
		t.Fatalf("disable-user said %q", out)
	}
	if out := mustRun("admin", "list-users"); !regexp.MustCompile(`asha\.officer.*true`).MatchString(out) {
		t.Fatalf("list-users does not show asha.officer disabled:\n%s", out)
	}
	if _, err := doorstep(t, "admin", "disable-user", "--username", "nobody.here", "--data", data); err == nil || !strings.Contains(err.Error(), `no user "nobody.here"`) {
		t.Fatalf("disable-user of an unknown user: err = %v", err)
	}
	if _, err := doorstep(t, "admin", "enable-user", "--data", data); err == nil || !strings.Contains(err.Error(), "--username is required") {
		t.Fatalf("enable-user without --username: err = %v", err)
	}
	if out := mustRun("admin", "enable-user", "--username", "asha.officer"); !strings.Contains(out, "user asha.officer enabled") {
		t.Fatalf("enable-user said %q", out)
	}
}

// TestDeviceCommands: "doorstep device login|sync|status" against a real
// server, each doing one thing on the same data folder.
func TestDeviceCommands(t *testing.T) {
	c := newCluster(t, 2)
	officer := c.officers[0]
	dir := filepath.Join(t.TempDir(), "tablet")
	t.Setenv("DOORSTEP_PASSWORD", testPassword)
	out, err := doorstep(t, "device", "login", "--server", c.srv.URL(), "--data", dir, "--username", officer.Username)
	if err != nil || !strings.Contains(out, "signed in as "+officer.Name) {
		t.Fatalf("device login: %v\n%s", err, out)
	}
	out, err = doorstep(t, "device", "sync", "--data", dir)
	if err != nil || !strings.Contains(out, "pulled ") || strings.Contains(out, "pulled 0,") {
		t.Fatalf("device sync (server remembered from login): %v\n%s", err, out)
	}
	// The tokens are sealed: a sync needs the officer's password.
	if _, err := doorstep(t, "device", "sync", "--data", dir, "--password", "not the password"); err == nil || !strings.Contains(err.Error(), "unlock the tablet's data") {
		t.Errorf("device sync with a wrong password: err = %v", err)
	}
	out, err = doorstep(t, "device", "status", "--data", dir)
	if err != nil {
		t.Fatalf("device status: %v", err)
	}
	for _, want := range []string{c.srv.URL(), officer.Username, "waiting to send", "open conflicts", "last successful sync", "offline lease", "valid until"} {
		if !strings.Contains(out, want) {
			t.Errorf("device status does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "last successful sync  never") {
		t.Errorf("status says never synced after a sync:\n%s", out)
	}
	if _, err := doorstep(t, "device", "login", "--data", dir); err == nil || !strings.Contains(err.Error(), "--username is required") {
		t.Errorf("device login without --username: err = %v", err)
	}
}

// TestDemoStartsAndStops runs "doorstep demo" as the README says (on free
// ports), checks both health endpoints and the banner, then stops it as
// Ctrl-C would. A second start reuses the seeded folder.
func TestDemoStartsAndStops(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel) // a failed wait stops the demo too
		out := &testkit.Buffer{}
		done := make(chan error, 1)
		go func() {
			done <- runDemoForTest(ctx, out, data)
		}()
		testkit.WaitFor(t, 60*time.Second, fmt.Sprintf("run %d: the demo's banner", run), func() bool {
			select {
			case err := <-done:
				t.Fatalf("run %d: demo stopped early: %v\n%s", run, err, out.String())
			default:
			}
			return strings.Contains(out.String(), "Ctrl-C stops both")
		})
		banner := out.String()
		for _, want := range []string{"officer", "supervisor", "pulled ", "synthetic data only"} {
			if !strings.Contains(banner, want) {
				t.Errorf("run %d: banner lacks %q:\n%s", run, want, banner)
			}
		}
		for _, url := range regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindAllString(banner, 2) {
			resp, err := http.Get(url + "/healthz")
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("run %d: GET %s/healthz: %v %v", run, url, resp, err)
			} else {
				resp.Body.Close()
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run %d: demo did not stop cleanly: %v", run, err)
		}
	}
}

func runDemoForTest(ctx context.Context, out io.Writer, data string) error {
	c := &demoCmd{stdout: out, stderr: io.Discard}
	if err := c.ParseFlags([]string{"--data", data, "--addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--log-level", "error"}); err != nil {
		return err
	}
	defer c.Close()
	return c.Run(ctx)
}

// TestAdminUnlockUser: "doorstep admin unlock-user" forgets the user's
// failed sign-ins, so they may sign in at once, and is audited; the
// address's own count stays.
func TestAdminUnlockUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	if out, err := doorstep(t, "admin", "add-team", "--name", "North", "--data", data); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	db, err := serverdb.Open(ctx, filepath.Join(data, serverDBFile), serverdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, cliActor, schema.User{Username: "sue.k", Name: "Sue K", Role: schema.RoleAuditor}, testPassword); err != nil {
		t.Fatal(err)
	}
	try := func(password string) error {
		_, _, err := db.SignIn(ctx, serverdb.SignInAttempt{Username: "sue.k", Password: password, Address: "192.0.2.7", Via: "api"})
		return err
	}
	for range serverdb.FreeSignInFailures {
		if err := try("a wrong guess"); schema.ErrorCode(err) != schema.ECodeUnauthorized {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	if err := try(testPassword); schema.ErrorCode(err) != schema.ECodeRateLimited {
		t.Fatalf("the right password during the wait: %v, want rate_limited", err)
	}
	if _, err := doorstep(t, "admin", "unlock-user", "--data", data); err == nil || !strings.Contains(err.Error(), "--username is required") {
		t.Fatalf("unlock-user without --username: err = %v", err)
	}
	if _, err := doorstep(t, "admin", "unlock-user", "--username", "nobody.here", "--data", data); err == nil || !strings.Contains(err.Error(), `no user "nobody.here"`) {
		t.Fatalf("unlock-user of an unknown user: err = %v", err)
	}
	out, err := doorstep(t, "admin", "unlock-user", "--username", "sue.k", "--data", data)
	if err != nil || !strings.Contains(out, "user sue.k unlocked: 2 count(s) of failed sign-ins forgotten") {
		t.Fatalf("unlock-user: %v\n%s", err, out)
	}
	if err := try(testPassword); err != nil {
		t.Fatalf("the right password after unlock-user: %v", err)
	}
	if evs, err := db.AuditByAction(ctx, "sign_in_unlocked"); err != nil || len(evs) != 1 || evs[0].UserID != cliActor.UserID {
		t.Fatalf("sign_in_unlocked events: %+v, %v", evs, err)
	}
}

// An admin action's error names the flag the operator typed, never the
// store's field behind it ("--team", not "team_id").
func TestAdminErrorsNameTheFlag(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if out, err := doorstep(t, "admin", "add-team", "--name", "North", "--data", data); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, c := range []struct {
		args           []string
		flag, notField string
	}{
		{[]string{"add-user", "--name", "Ola K"}, "--username:", "username:"},
		{[]string{"add-user", "--username", "ola.k", "--role", "officer", "--team", "North"}, "--name:", "name:"},
		{[]string{"add-user", "--username", "ola.k", "--name", "Ola K", "--role", "boss"}, "--role:", "role:"},
		{[]string{"add-user", "--username", "ola.k", "--name", "Ola K", "--role", "officer"}, "--team:", "team_id"},
		{[]string{"add-team", "--name", "North"}, "--name:", "name:"},
		{[]string{"reset-password", "--username", "nobody.here"}, "--username:", "username:"},
		{[]string{"disable-user", "--username", "nobody.here"}, "--username:", "username:"},
		{[]string{"enable-user", "--username", "nobody.here"}, "--username:", "username:"},
		{[]string{"unlock-user", "--username", "nobody.here"}, "--username:", "username:"},
		{[]string{"revoke-device", "--device", "no-such-device"}, "--device:", "device_id"},
	} {
		out, err := doorstep(t, append(append([]string{"admin"}, c.args...), "--data", data)...)
		if err == nil {
			t.Errorf("admin %v: no error\n%s", c.args, out)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "admin "+c.args[0]+": "+c.flag) || strings.HasPrefix(msg, c.notField) || strings.Contains(msg, "team_id") || strings.Contains(msg, "device_id") {
			t.Errorf("admin %v: %q, want it to name the flag %s", c.args, msg, strings.TrimSuffix(c.flag, ":"))
		}
	}
	// The password comes on standard input: the error says so.
	var out bytes.Buffer
	c := &adminCmd{stdin: strings.NewReader("too short\n"), stdout: &out, stderr: &out}
	if err := c.ParseFlags([]string{"add-user", "--username", "ola.k", "--name", "Ola K", "--role", "auditor", "--password-stdin", "--data", data}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "admin add-user: the password (--password-stdin or DOORSTEP_PASSWORD): ") {
		t.Errorf("add-user with a short password on stdin: %v, want it to name --password-stdin", err)
	}
}

// --memory-limit (decision 0070): 800 MiB by default, its environment
// twin, 0 for none, a negative or non-number refused naming the flag; the
// server sets the Go collector's soft limit to it, unless GOMEMLIMIT is
// set, and logs which limit holds.
func TestServerMemoryLimit(t *testing.T) {
	s := &serverCmd{stderr: io.Discard}
	if err := s.ParseFlags(nil); err != nil || s.memoryLimit != defaultMemoryLimitMiB || defaultMemoryLimitMiB != 800 {
		t.Errorf("--memory-limit default: %v, %d; want 800", err, s.memoryLimit)
	}
	for _, v := range []string{"-1", "lots"} {
		if err := parseOnly([]string{"server", "--memory-limit", v}); err == nil || !strings.Contains(err.Error(), "memory-limit") {
			t.Errorf("--memory-limit %s: %v; want a refusal naming the flag", v, err)
		}
	}
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	apply := func(args ...string) string {
		t.Helper()
		s := &serverCmd{stderr: io.Discard}
		if err := s.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		s.applyMemoryLimit(slog.New(slog.NewTextHandler(&logs, nil)))
		return logs.String()
	}
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	if l := apply("--memory-limit", "640"); debug.SetMemoryLimit(-1) != 640<<20 || !strings.Contains(l, "mib=640") {
		t.Errorf("--memory-limit 640: the limit is %d, log %q; want 640 MiB, logged", debug.SetMemoryLimit(-1), l)
	}
	t.Setenv("DOORSTEP_MEMORY_LIMIT", "512")
	if apply(); debug.SetMemoryLimit(-1) != 512<<20 {
		t.Errorf("DOORSTEP_MEMORY_LIMIT=512: the limit is %d", debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(before)
	if l := apply("--memory-limit", "0"); debug.SetMemoryLimit(-1) != before || !strings.Contains(l, "no memory limit") {
		t.Errorf("--memory-limit 0: the limit is %d (was %d), log %q; want it untouched, logged", debug.SetMemoryLimit(-1), before, l)
	}
	t.Setenv("GOMEMLIMIT", "300MiB")
	if l := apply("--memory-limit", "640"); debug.SetMemoryLimit(-1) != before || !strings.Contains(l, "GOMEMLIMIT") {
		t.Errorf("with GOMEMLIMIT set: the limit is %d (was %d), log %q; want GOMEMLIMIT's, logged", debug.SetMemoryLimit(-1), before, l)
	}
}
