package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestTargetsAreTheReleasePlatforms: the release covers the platforms issue
// 14 names, every one a platform the go tool knows, and no iOS (cgo).
func TestTargetsAreTheReleasePlatforms(t *testing.T) {
	t.Parallel()
	want := []string{"android/arm64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}
	var got []string
	for _, tg := range Targets {
		got = append(got, tg.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("Targets = %v, want %v", got, want)
	}
	goTool := requireGo(t)
	out, err := exec.Command(goTool, "tool", "dist", "list").Output()
	if err != nil {
		t.Fatalf("go tool dist list: %v", err)
	}
	known := strings.Fields(string(out))
	for _, tg := range got {
		if !slices.Contains(known, tg) {
			t.Errorf("target %s is not a platform the go tool builds for", tg)
		}
	}
	if n := BinaryName("1.4.0", Target{"windows", "arm64"}); n != "doorstep-1.4.0-windows-arm64.exe" {
		t.Errorf("windows binary name %q", n)
	}
	if n := BinaryName("1.4.0", Target{"android", "arm64"}); n != "doorstep-1.4.0-android-arm64" {
		t.Errorf("android binary name %q", n)
	}
}

func TestParseTargetsAndBadOptions(t *testing.T) {
	t.Parallel()
	if ts, err := ParseTargets("all"); err != nil || len(ts) != len(Targets) {
		t.Fatalf("all: %v %v", ts, err)
	}
	if ts, err := ParseTargets("linux/amd64, windows/arm64"); err != nil || !slices.Equal(ts, []Target{{"linux", "amd64"}, {"windows", "arm64"}}) {
		t.Fatalf("two targets: %v %v", ts, err)
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/amd64,"} {
		if _, err := ParseTargets(bad); err == nil || !strings.Contains(err.Error(), "--targets") {
			t.Errorf("ParseTargets(%q): want an error naming --targets, got %v", bad, err)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Version: "../1", Commit: "abc", Targets: Targets}, "--version"},
		{Options{Version: "", Commit: "abc", Targets: Targets}, "--version"},
		{Options{Version: "1.4.0", Targets: Targets}, "commit"},
		{Options{Version: "1.4.0", Commit: "abc"}, "--targets"},
	} {
		tc.o.Out = filepath.Join(dir, "out")
		if _, err := Build(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%+v): want an error naming %s, got %v", tc.o, tc.want, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a refused build created its output folder: %v", err)
	}
}

// TestBuildStampsAndSums builds the host's target only (the cross builds
// run in .ci/run) and checks the binary's stamps and the checksum file.
func TestBuildStampsAndSums(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary; not short")
	}
	t.Parallel()
	goTool := requireGo(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	host := Target{runtime.GOOS, runtime.GOARCH}
	// A stale checksum file is replaced, not appended to.
	os.WriteFile(filepath.Join(out, SumsFile), []byte("stale\n"), 0o644)
	const commit = "0123456789abcdef0123456789abcdef01234567"
	names, err := Build(context.Background(), Options{Out: out, Version: "1.4.0-test", Commit: commit,
		Targets: []Target{host}, Jobs: 1, Dir: root, GoTool: goTool})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0] != BinaryName("1.4.0-test", host) {
		t.Fatalf("built %v", names)
	}
	bin := filepath.Join(out, names[0])
	v, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	for _, want := range []string{"doorstep 1.4.0-test\n", "commit   " + commit + "\n", runtime.GOOS + "/" + runtime.GOARCH} {
		if !strings.Contains(string(v), want) {
			t.Errorf("doorstep version lacks %q:\n%s", want, v)
		}
	}
	sums, err := os.ReadFile(filepath.Join(out, SumsFile))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([0-9a-f]{64})  (\S+)\n$`).FindStringSubmatch(string(sums))
	if line == nil || line[2] != names[0] {
		t.Fatalf("%s is not one line \"<sha256>  %s\":\n%q", SumsFile, names[0], sums)
	}
	if sha, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha, "-c", SumsFile)
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sha256sum -c: %v\n%s", err, b)
		}
	}
}

func requireGo(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but the go tool is not on PATH")
		}
		t.Skip("the go tool is not on PATH")
	}
	return p
}
