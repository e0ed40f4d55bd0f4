package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
)

// fakeTools puts programs named names on a PATH of their own (and nothing
// else), each appending its arguments as one line to the returned file:
// the system's service manager is the one thing these tests do not run.
func fakeTools(t *testing.T, names ...string) (calls string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake tools are shell scripts")
	}
	bin := t.TempDir()
	calls = filepath.Join(bin, "calls.txt")
	for _, n := range names {
		script := "#!/bin/sh\necho \"" + n + " $*\" >> '" + calls + "'\n"
		if err := os.WriteFile(filepath.Join(bin, n), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	return calls
}

func readCalls(t *testing.T, calls string) []string {
	t.Helper()
	b, err := os.ReadFile(calls)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := strings.Split(strings.TrimSpace(string(b)), "\n")
	os.Remove(calls)
	return out
}

// TestDeviceInstallAndUninstallOnLinux installs the agent for a user whose
// home is a temporary folder: the systemd user unit holds the data folder,
// the address, the log file and every flag given (the environment's
// included), systemctl is asked to enable and start it, a second install
// stops the first, and uninstall stops, removes and forgets it, leaving
// the data. Without systemctl, install writes the unit and prints what to
// run.
func TestDeviceInstallAndUninstallOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the systemd user unit is Linux's; the other systems' definitions are tested in internal/autostart")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "cfg"))
	t.Setenv("DOORSTEP_INTERVAL", "45s")
	calls := fakeTools(t, "systemctl")
	data := filepath.Join(home, "Door step", "tablet") // a space, as in "Program Files"
	unit := filepath.Join(home, "cfg", "systemd", "user", "doorstep-device.service")

	out, err := doorstep(t, "device", "install", "--data", data, "--server", "https://doorstep.example", "--lock-after", "2m", "--pull-wait", "10s",
		"--addr", "127.0.0.1:18081")
	if err != nil {
		t.Fatalf("device install: %v\n%s", err, out)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatalf("no unit at %s: %v\n%s", unit, err, out)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	logPath := filepath.Join(data, "doorstep-device.log")
	wantExec := "ExecStart=" + exe + ` device --data "` + data + `" --addr 127.0.0.1:18081 --log-file "` + logPath +
		`" --interval 45s --lock-after 2m0s --pull-wait 10s --server https://doorstep.example` + "\n"
	for _, want := range []string{wantExec, "Restart=on-failure\n", "WantedBy=default.target\n", `WorkingDirectory=` + data + "\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the unit lacks %q:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "--rules") || strings.Contains(string(b), "--log-level") {
		t.Errorf("the unit keeps flags that were not given:\n%s", b)
	}
	if fi, err := os.Stat(data); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Errorf("the data folder was not made 0700: %v %v", fi, err)
	}
	want := []string{"systemctl --user daemon-reload", "systemctl --user enable --now doorstep-device.service"}
	if got := readCalls(t, calls); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("install ran %q, want %q", got, want)
	}
	if strings.Contains(filepath.ToSlash(exe), "/go-build") && !strings.Contains(out, "temporary build") {
		t.Errorf("install from a go test binary did not warn that it is temporary:\n%s", out)
	}
	for _, w := range []string{"wrote " + unit, logPath, "http://127.0.0.1:18081/"} {
		if !strings.Contains(out, w) {
			t.Errorf("install's output lacks %q:\n%s", w, out)
		}
	}

	// Again, with another address: the running agent is stopped first.
	if out, err := doorstep(t, "device", "install", "--data", data, "--addr", "127.0.0.1:18082"); err != nil {
		t.Fatalf("second install: %v\n%s", err, out)
	}
	want = append([]string{"systemctl --user disable --now doorstep-device.service"}, want...)
	if got := readCalls(t, calls); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("a second install ran %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(unit); !strings.Contains(string(b), "--addr 127.0.0.1:18082") {
		t.Errorf("the second install did not rewrite the unit:\n%s", b)
	}

	out, err = doorstep(t, "device", "uninstall", "--data", data)
	if err != nil {
		t.Fatalf("device uninstall: %v\n%s", err, out)
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after uninstall: %v", err)
	}
	want = []string{"systemctl --user disable --now doorstep-device.service", "systemctl --user daemon-reload"}
	if got := readCalls(t, calls); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("uninstall ran %q, want %q", got, want)
	}
	if _, err := os.Stat(data); err != nil {
		t.Errorf("uninstall removed the data folder: %v", err)
	}
	if out, err := doorstep(t, "device", "uninstall", "--data", data); err != nil || !strings.Contains(out, "not installed") {
		t.Errorf("uninstall of nothing: %v %s", err, out)
	}

	// No systemctl: the unit is written and the commands printed.
	t.Setenv("PATH", t.TempDir())
	out, err = doorstep(t, "device", "install", "--data", data)
	if err != nil || !strings.Contains(out, "systemctl is not on PATH") || !strings.Contains(out, "  systemctl --user enable --now doorstep-device.service\n") {
		t.Fatalf("install without systemctl: %v\n%s", err, out)
	}
	if _, err := os.Stat(unit); err != nil {
		t.Fatalf("install without systemctl wrote no unit: %v", err)
	}
	// --no-stop: the unit goes, systemctl is not asked.
	calls = fakeTools(t, "systemctl")
	if out, err := doorstep(t, "device", "uninstall", "--data", data, "--no-stop"); err != nil || !strings.Contains(out, "not run (as asked)") {
		t.Fatalf("uninstall --no-stop: %v\n%s", err, out)
	}
	if got := readCalls(t, calls); got != nil {
		t.Errorf("uninstall --no-stop ran %q", got)
	}
}

// TestDeviceInstallRefusesBadFlags: each bad flag is named, and nothing is
// written.
func TestDeviceInstallRefusesBadFlags(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "tablet")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", "0.0.0.0:8081"}, "loopback only"},
		{[]string{"--addr", "127.0.0.1:0"}, "fixed port"},
		{[]string{"--addr", "8081"}, "host:port"},
		{[]string{"--interval", "0s"}, "--interval"},
		{[]string{"--lock-after", "-1m"}, "--lock-after"},
		{[]string{"--pull-wait", "30s"}, "--pull-wait"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--data", ""}, "--data"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		c := newDeviceCmd([]string{"install"}, io.Discard, io.Discard)
		err := c.ParseFlags(append([]string{"--data", data}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("install %v: err = %v, want one naming %s", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a refused install made the data folder: %v", err)
	}
	c := newDeviceCmd([]string{"open"}, io.Discard, io.Discard)
	if err := c.ParseFlags([]string{"--addr", "192.0.2.1:8081"}); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("open --addr 192.0.2.1:8081: err = %v", err)
	}
}

func TestDefaultInstallData(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", map[string]string{"HOME": "/home/asha"}, "/home/asha/.local/share/doorstep/device"},
		{"linux", map[string]string{"HOME": "/home/asha", "XDG_DATA_HOME": "/xdg"}, "/xdg/doorstep/device"},
		{"darwin", map[string]string{"HOME": "/Users/asha"}, "/Users/asha/Library/Application Support/Doorstep/device"},
		{"windows", map[string]string{"LOCALAPPDATA": "/c/Users/asha/AppData/Local"}, "/c/Users/asha/AppData/Local/Doorstep/device"},
	} {
		if got := defaultInstallData(tc.goos, env(tc.env)); got != filepath.FromSlash(tc.want) {
			t.Errorf("%s %v: %s, want %s", tc.goos, tc.env, got, tc.want)
		}
	}
}

// TestDeviceOpen prints the app's address, opens it with the system's
// opener, and says so plainly when no agent answers there.
func TestDeviceOpen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake opener is xdg-open")
	}
	calls := fakeTools(t, "xdg-open")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing answers there now
	out, err := doorstep(t, "device", "open", "--addr", addr)
	if err != nil {
		t.Fatalf("device open: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "http://"+addr+"/\n") || !strings.Contains(out, "does not answer") {
		t.Errorf("device open with no agent:\n%s", out)
	}
	if got := readCalls(t, calls); len(got) != 1 || got[0] != "xdg-open http://"+addr+"/" {
		t.Errorf("the opener ran %q", got)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte(`{"ok":true}`))
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	addr = strings.TrimPrefix(srv.URL, "http://")
	if out, err := doorstep(t, "device", "open", "--addr", addr); err != nil || strings.Contains(out, "does not answer") {
		t.Errorf("device open with an agent: %v\n%s", err, out)
	}
	t.Setenv("PATH", t.TempDir())
	if out, err := doorstep(t, "device", "open", "--addr", addr); err != nil || !strings.Contains(out, "xdg-open is not on PATH") {
		t.Errorf("device open without xdg-open: %v\n%s", err, out)
	}
}

// TestAgentLogsToItsFile: with --log-file (what the installed definition
// passes) the agent writes its log there, not to stderr.
func TestAgentLogsToItsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "tablet", "doorstep-device.log")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"device", "--data", filepath.Join(dir, "tablet"), "--addr", "127.0.0.1:0", "--log-file", logPath}, io.Discard, stderr)
	}()
	testkit.WaitFor(t, 20*time.Second, "the agent's start in its log file", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "tablet agent running")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("the agent did not stop cleanly: %v", err)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("the agent wrote to stderr with --log-file:\n%s", s)
	}
	if fi, err := os.Stat(logPath); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("log file: %v %v", fi, err)
	}
}
