package main

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
)

// TestVersionPrintsTheBuild: "doorstep version" says the version, the
// commit, the Go version and the platform, from the -ldflags stamps.
func TestVersionPrintsTheBuild(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "1.4.0", "0123456789abcdef0123456789abcdef01234567"
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	want := "doorstep 1.4.0\n" +
		"commit   0123456789abcdef0123456789abcdef01234567\n" +
		"go       " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if out.String() != want {
		t.Fatalf("doorstep version printed\n%s\nwant\n%s", out.String(), want)
	}
	// Without a stamped commit: the VCS stamp, else "unknown", never empty.
	commit = ""
	if b := currentBuild(); b.Commit == "" {
		t.Fatal("no commit and no VCS stamp: want \"unknown\", got an empty commit")
	}
	out.Reset()
	run(context.Background(), []string{"--version"}, &out, &out)
	if !strings.HasPrefix(out.String(), "doorstep 1.4.0\ncommit   ") {
		t.Fatalf("--version: %q", out.String())
	}
}
