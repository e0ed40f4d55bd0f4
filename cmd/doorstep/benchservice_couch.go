package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// couchRun is what the CouchDB replication harness (a PouchDB client
// replicating with pouchdb-server over HTTP on this machine, outside the
// project) printed: its medians table.
type couchRun struct {
	Version string       `json:"version"` // its first line
	Reps    int          `json:"reps"`
	Phases  []couchPhase `json:"phases"`
}

type couchPhase struct {
	Phase    string  `json:"phase"` // pull, push, incr-cli, incr-srv, noop
	Label    string  `json:"label"`
	Docs     int     `json:"docs"`
	Seconds  float64 `json:"seconds"` // the median
	Requests int     `json:"requests"`
}

func (r *couchRun) phase(name string) *couchPhase {
	for i := range r.Phases {
		if r.Phases[i].Phase == name {
			return &r.Phases[i]
		}
	}
	return nil
}

// runCouchHarness copies the harness in src to work (or uses work as it
// is when it already has node_modules), installs its packages from its
// lock file, and runs it with docs documents (the pull's and the push's,
// as --records is Doorstep's), reps repetitions and no byte-counting pass.
func runCouchHarness(ctx context.Context, src, work, tmp string, docs, reps int, log io.Writer) (*couchRun, error) {
	if work == "" {
		work = tmp
	}
	if _, err := os.Stat(filepath.Join(work, "node_modules")); err != nil {
		if err := os.MkdirAll(work, 0o700); err != nil {
			return nil, err
		}
		for _, f := range []string{"bench.js", "package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return nil, fmt.Errorf("--couch-harness: %w (the folder of the CouchDB harness, with bench.js)", err)
			}
			if err := os.WriteFile(filepath.Join(work, f), b, 0o600); err != nil {
				return nil, err
			}
		}
		install := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund")
		install.Dir, install.Stdout, install.Stderr = work, log, log
		if err := install.Run(); err != nil {
			return nil, fmt.Errorf("couch harness: npm install in %s: %w", work, err)
		}
	}
	var out bytes.Buffer
	node := exec.CommandContext(ctx, "node", "bench.js", "--docs", strconv.Itoa(docs), "--reps", strconv.Itoa(reps), "--bytes", "false")
	node.Dir, node.Stdout, node.Stderr = work, &out, log
	node.WaitDelay = 10 * time.Second
	if err := node.Run(); err != nil {
		return nil, fmt.Errorf("couch harness: node bench.js: %w\n%s", err, out.String())
	}
	run, err := parseCouchTable(out.String())
	if err != nil {
		return nil, fmt.Errorf("couch harness: %w\n%s", err, out.String())
	}
	run.Reps = reps
	return run, nil
}

// parseCouchTable reads the harness's medians table:
//
//	| phase | docs | median wall | docs/s | runs (min..max) | HTTP reqs | CPU ms client / server | bytes up / down (proxy pass) |
//	| initial pull, 10000 docs, empty client | 10000 | 7912 ms | 1264 | 7912 ms..7912 ms | 504 | 2119 / 3590 | - |
func parseCouchTable(s string) (*couchRun, error) {
	run := &couchRun{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if run.Version == "" && strings.HasPrefix(line, "bench:") {
			run.Version = strings.TrimSpace(strings.TrimPrefix(line, "bench:"))
		}
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| phase") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 6 {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		label := cells[0]
		var phase string
		switch {
		case strings.HasPrefix(label, "initial pull"):
			phase = "pull"
		case strings.HasPrefix(label, "push "):
			phase = "push"
		case strings.HasPrefix(label, "incremental") && strings.HasSuffix(label, "on client"):
			phase = "incr-cli"
		case strings.HasPrefix(label, "incremental") && strings.HasSuffix(label, "on server"):
			phase = "incr-srv"
		case strings.HasPrefix(label, "no-op"):
			phase = "noop"
		default:
			continue // the harness's extra phases
		}
		docs, _ := strconv.Atoi(cells[1])
		secs, err := parseCouchDuration(cells[2])
		if err != nil {
			return nil, fmt.Errorf("phase %q: %w", label, err)
		}
		reqs, _ := strconv.Atoi(cells[5])
		run.Phases = append(run.Phases, couchPhase{Phase: phase, Label: label, Docs: docs, Seconds: secs, Requests: reqs})
	}
	if len(run.Phases) == 0 {
		return nil, fmt.Errorf("no medians table in the harness's output")
	}
	return run, nil
}

// parseCouchDuration reads "7912 ms" or "10.5 s".
func parseCouchDuration(s string) (float64, error) {
	num, unit, _ := strings.Cut(s, " ")
	v, err := strconv.ParseFloat(num, 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a duration", s)
	case unit == "ms":
		return v / 1000, nil
	case unit == "s":
		return v, nil
	}
	return 0, fmt.Errorf("%q is not a duration in ms or s", s)
}
