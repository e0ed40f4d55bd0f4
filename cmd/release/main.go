// Command release builds Doorstep's release binaries in one go: every
// target in Targets, with cgo off, each stamped with the version and the
// git commit ("doorstep version" prints them), and a SHA256SUMS file
// beside them in the format sha256sum -c reads.
//
//	go run ./cmd/release --version 1.4.0 --out dist
//
// docs/operations.md ("Release builds") says what comes out and why iOS is
// not among the targets.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Target is one platform a release is built for.
type Target struct{ GOOS, GOARCH string }

func (t Target) String() string { return t.GOOS + "/" + t.GOARCH }

// Targets are the platforms of a release: the Windows laptops and tablets
// probation staff carry first, then macOS, Linux (servers and desktops) and
// Android. iOS is not here: a Go binary for ios/arm64 needs cgo linking
// against Apple's SDK, and an iPad would not run a background agent anyway
// (docs/deploy-tablet.md, "iPad and Android").
var Targets = []Target{
	{"windows", "amd64"},
	{"windows", "arm64"},
	{"darwin", "arm64"},
	{"linux", "amd64"},
	{"linux", "arm64"},
	{"android", "arm64"},
}

// SumsFile is the checksum file's name.
const SumsFile = "SHA256SUMS"

// Options say what to build and where.
type Options struct {
	Out      string   // the output folder, created
	Version  string   // stamped as main.version
	Commit   string   // stamped as main.commit
	Targets  []Target // what to build
	Jobs     int      // builds at once
	Dir      string   // the module's root (where ./cmd/doorstep is)
	GoTool   string   // the go command
	Progress io.Writer
}

// versionRE is what a version may be: it becomes part of file names.
var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$`)

// BinaryName is the file a target's binary is written to.
func BinaryName(version string, t Target) string {
	name := "doorstep-" + version + "-" + t.GOOS + "-" + t.GOARCH
	if t.GOOS == "windows" {
		name += ".exe"
	}
	return name
}

// Build builds every target into o.Out and writes SumsFile there; it
// returns the binaries' names in the order of o.Targets. A failed build
// stops it with the target and the compiler's words; the checksum file is
// written only when every target built.
func Build(ctx context.Context, o Options) ([]string, error) {
	if !versionRE.MatchString(o.Version) {
		return nil, fmt.Errorf("--version: %q is not a version (letters, digits, '.', '_', '+', '-'; e.g. 1.4.0)", o.Version)
	}
	if o.Commit == "" {
		return nil, errors.New("no commit to stamp (run from a git checkout)")
	}
	if len(o.Targets) == 0 {
		return nil, errors.New("--targets: no target to build")
	}
	if o.Jobs < 1 {
		o.Jobs = 1
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	// A checksum file from an earlier run must not outlive a failed one.
	if err := os.Remove(filepath.Join(o.Out, SumsFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	ldflags := fmt.Sprintf("-s -w -X main.version=%s -X main.commit=%s", o.Version, o.Commit)
	names := make([]string, len(o.Targets))
	errs := make([]error, len(o.Targets))
	sem := make(chan struct{}, o.Jobs)
	var wg sync.WaitGroup
	for i, t := range o.Targets {
		names[i] = BinaryName(o.Version, t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.CommandContext(ctx, o.GoTool, "build", "-trimpath", "-ldflags", ldflags,
				"-o", filepath.Join(o.Out, names[i]), "./cmd/doorstep")
			cmd.Dir = o.Dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+t.GOOS, "GOARCH="+t.GOARCH)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("build %s: %v\n%s", t, err, stderr.String())
				return
			}
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "built %s\n", names[i])
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return names, WriteSums(o.Out, names)
}

// WriteSums writes SumsFile in dir: one line per file, "<sha256 hex>  <name>",
// sorted by name, as sha256sum prints and checks (sha256sum -c SHA256SUMS).
func WriteSums(dir string, names []string) error {
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	var b strings.Builder
	for _, n := range sorted {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("checksum %s: %w", n, err)
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), n)
	}
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(b.String()), 0o644)
}

// ParseTargets reads "linux/amd64,windows/arm64"; "all" is Targets.
func ParseTargets(s string) ([]Target, error) {
	if s == "all" {
		return slices.Clone(Targets), nil
	}
	var out []Target
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		goos, goarch, ok := strings.Cut(f, "/")
		if !ok || goos == "" || goarch == "" {
			return nil, fmt.Errorf("--targets: %q is not GOOS/GOARCH (e.g. windows/amd64)", f)
		}
		out = append(out, Target{goos, goarch})
	}
	return out, nil
}

// git runs git in dir and returns its output, trimmed.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// commitOf is HEAD's commit in dir, with "-dirty" after it when the
// checkout has uncommitted changes to tracked files.
func commitOf(ctx context.Context, dir string) (string, error) {
	head, err := git(ctx, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	st, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", err
	}
	if st != "" {
		head += "-dirty"
	}
	return head, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "dist", "the folder the binaries and "+SumsFile+" are written to")
	ver := fs.String("version", "", "the version to stamp (default: git describe --tags --always --dirty)")
	targets := fs.String("targets", "all", "GOOS/GOARCH,… to build, or all: "+fmt.Sprint(Targets))
	jobs := fs.Int("jobs", 2, "builds to run at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	ts, err := ParseTargets(*targets)
	if err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the go tool is not on PATH")
	}
	dir, err := git(ctx, ".", "rev-parse", "--show-toplevel")
	if err != nil {
		return fmt.Errorf("run from the Doorstep checkout: %w", err)
	}
	if *ver == "" {
		if *ver, err = git(ctx, dir, "describe", "--tags", "--always", "--dirty"); err != nil {
			return fmt.Errorf("no --version given and %w", err)
		}
	}
	c, err := commitOf(ctx, dir)
	if err != nil {
		return err
	}
	names, err := Build(ctx, Options{Out: *out, Version: *ver, Commit: c, Targets: ts, Jobs: *jobs, Dir: dir, GoTool: goTool, Progress: stdout})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d binaries of doorstep %s (commit %s) and %s in %s\n", len(names), *ver, c, SumsFile, *out)
	return nil
}
