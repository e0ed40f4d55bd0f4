package main

// "doorstep version": which build this is. The version comes from the
// release build (-ldflags "-X main.version=…", cmd/release); the commit from
// -ldflags "-X main.commit=…" or, in a plain "go build" from a git checkout,
// from the VCS stamp Go records in the binary (debug.ReadBuildInfo).

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// commit is set at build time with -ldflags "-X main.commit=..."; empty
// means the VCS stamp Go recorded, if any.
var commit = ""

// buildInfo is what "doorstep version" prints.
type buildInfo struct {
	Version  string // main.version: "dev" unless stamped
	Commit   string // the git commit, "unknown" when neither stamp is there
	Modified bool   // built from a checkout with uncommitted changes (VCS stamp only)
	Go       string // runtime.Version()
	OSArch   string // GOOS/GOARCH
}

// currentBuild reads the stamps of the running binary.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version(), OSArch: runtime.GOOS + "/" + runtime.GOARCH}
	if b.Commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					b.Commit = s.Value
				case "vcs.modified":
					b.Modified = s.Value == "true"
				}
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// print writes the build in the form docs/operations.md shows.
func (b buildInfo) print(w io.Writer) {
	fmt.Fprintf(w, "doorstep %s\n", b.Version)
	mod := ""
	if b.Modified {
		mod = " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "commit   %s%s\n", b.Commit, mod)
	fmt.Fprintf(w, "go       %s %s\n", b.Go, b.OSArch)
}
