package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"text/tabwriter"
	"time"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// benchCmd runs "doorstep bench sync": the standard sync scenarios against a
// server it starts itself, over real HTTP on 127.0.0.1, with real SQLite on
// both sides, in a temporary folder.
type benchCmd struct {
	stdout, stderr io.Writer
	records        int
	noopRounds     int
	asJSON         bool
	keep           bool
	runs           int
	cpuProfile     string
	sealed         bool
}

func (c *benchCmd) ParseFlags(args []string) error {
	if len(args) == 0 || args[0] != "sync" {
		return errors.New(`bench: the benchmarks are "sync" and "service": doorstep bench sync [--records N] [--json], doorstep bench service [--cases N,...] [--json]`)
	}
	fs := newFlagSet("bench sync", c.stderr)
	fs.IntVar(&c.records, "records", 10000, "records in the initial pull and the push")
	fs.IntVar(&c.noopRounds, "noop-rounds", 200, "no-op syncs to time (the median is reported)")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON instead of a table")
	fs.IntVar(&c.runs, "runs", 1, "run every scenario this many times, each on fresh stores, and report the median time")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary data folder")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (both sides) to this file")
	fs.BoolVar(&c.sealed, "sealed", true, "seal the tablets' data at rest, as the app does; --sealed=false keeps it in clear, to measure what sealing costs")
	if err := parseWithEnv(fs, args[1:]); err != nil {
		return err
	}
	if c.records < 200 || c.records > 1_000_000 {
		return fmt.Errorf("--records: %d is out of range (200 to 1000000)", c.records)
	}
	if c.runs < 1 || c.runs > 50 {
		return fmt.Errorf("--runs: %d is out of range (1 to 50)", c.runs)
	}
	if c.noopRounds < 1 {
		return fmt.Errorf("--noop-rounds: %d must be at least 1", c.noopRounds)
	}
	return nil
}

// benchResult is one scenario's figures.
type benchResult struct {
	Scenario string  `json:"scenario"`
	Records  int     `json:"records"`
	Seconds  float64 `json:"seconds"`
	// CPUSeconds is the CPU time of the whole process (server and tablet)
	// during the scenario; 0 where it is not measured.
	CPUSeconds    float64 `json:"cpu_seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	Requests      int64   `json:"requests"`
	BytesUp       int64   `json:"bytes_up"`
	BytesDown     int64   `json:"bytes_down"`
	// WriteTransactions is the server's write transactions during the
	// scenario, where counted (the no-op syncs): 0 is the target; the
	// server's flush of what devices report, every 5 seconds, may add one.
	WriteTransactions *int64 `json:"write_transactions,omitempty"`
}

func (c *benchCmd) Run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "doorstep-bench-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var runs [][]benchResult
	for i := 0; i < c.runs; i++ {
		results, err := runSyncBench(ctx, filepath.Join(dir, fmt.Sprint("run", i+1)), c.records, c.noopRounds, c.sealed)
		if err != nil {
			return err
		}
		runs = append(runs, results)
	}
	results := medianResults(runs)
	if c.asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{
			"go": runtime.Version(), "cpus": runtime.NumCPU(), "sealed": c.sealed, "results": results,
		})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trecords\twall ms\tcpu ms\trecords/s\trequests\tbytes up\tbytes down\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.0f\t%d\t%d\t%d\t\n", r.Scenario, r.Records, r.Seconds*1000, r.CPUSeconds*1000, r.RecordsPerSec, r.Requests, r.BytesUp, r.BytesDown)
	}
	data := "sealed at rest"
	if !c.sealed {
		data = "in clear (--sealed=false)"
	}
	if n := results[len(results)-1].WriteTransactions; n != nil {
		fmt.Fprintf(tw, "\nthe server's write transactions during the %d no-op syncs: %d\n", c.noopRounds, *n)
	}
	fmt.Fprintf(tw, "\n(%s, %d CPUs, the tablets' data %s)\n", runtime.Version(), runtime.NumCPU(), data)
	if c.keep {
		fmt.Fprintf(tw, "data kept in %s\n", dir)
	}
	return tw.Flush()
}

// benchEnv is a server with one team, one officer and one case, and a
// tablet agent signed in as that officer, its data sealed or not. The
// server is this process's own (srv), or another process's that the
// service benchmark started (url, with db a handle on its store).
type benchEnv struct {
	srv     *server.Server // nil when the server is another process
	db      *serverdb.DB
	url     string
	agent   *syncer.Agent
	wire    *wireCounter
	officer schema.User
	// supervisor is the officer's team's, who changes records on the
	// server in the incremental pull.
	supervisor schema.User
	caseID     string
	sealed     bool
	// seed varies the scenarios' records, so that they can run more than
	// once in one store (0 for bench sync).
	seed int64
	// writeTxs counts the server's write transactions so far.
	writeTxs func() (int64, error)
}

const benchPassword = "bench-password-not-secret"

func newBenchEnv(ctx context.Context, dir string, tabletName string, sealed bool) (*benchEnv, error) {
	srv, err := openServer(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "server"), Logger: newQuietLogger()})
	if err != nil {
		return nil, err
	}
	env := &benchEnv{srv: srv, db: srv.DB(), wire: &wireCounter{}, sealed: sealed,
		writeTxs: func() (int64, error) { return srv.DB().WriteTransactions(), nil }}
	if err := env.seedOfficer(ctx, ""); err != nil {
		srv.Close()
		return nil, err
	}
	if err := srv.Start(); err != nil {
		srv.Close()
		return nil, err
	}
	env.url = srv.URL()
	if err := env.signIn(ctx, filepath.Join(dir, tabletName)); err != nil {
		env.close()
		return nil, err
	}
	return env, nil
}

// attachBenchEnv is newBenchEnv on a server that is already running
// elsewhere: its team, officer and case get names starting with prefix,
// so that they stand apart from the data already there.
func attachBenchEnv(ctx context.Context, db *serverdb.DB, url, tabletDir, prefix string, seed int64, sealed bool,
	writeTxs func() (int64, error)) (*benchEnv, error) {
	env := &benchEnv{db: db, url: url, wire: &wireCounter{}, sealed: sealed, seed: seed, writeTxs: writeTxs}
	if err := env.seedOfficer(ctx, prefix); err != nil {
		return nil, err
	}
	if err := env.signIn(ctx, tabletDir); err != nil {
		env.close()
		return nil, err
	}
	return env, nil
}

// seedOfficer creates the team, its users and the one case.
func (e *benchEnv) seedOfficer(ctx context.Context, prefix string) error {
	ds := synth.Generate(synth.Options{Seed: 7 + e.seed, Teams: 1, OfficersPerTeam: 1, CasesPerOfficer: 1, Now: time.Now(), HistoryDays: 30})
	if prefix != "" {
		renameDataset(ds, prefix)
	}
	for _, t := range ds.Teams {
		if err := e.db.CreateTeam(ctx, cliActor, t); err != nil {
			return err
		}
	}
	for _, u := range ds.Users {
		if err := e.db.CreateUser(ctx, cliActor, u, benchPassword); err != nil {
			return err
		}
		switch u.Role {
		case schema.RoleOfficer:
			e.officer = u
		case schema.RoleSupervisor:
			e.supervisor = u
		}
	}
	for _, r := range ds.Records {
		if r.Entity == "case" {
			e.caseID = r.ID
		}
	}
	return e.db.Seed(ctx, cliActor, ds.Records)
}

// signIn opens the officer's tablet in dir, signs in and syncs once.
func (e *benchEnv) signIn(ctx context.Context, dir string) error {
	var err error
	e.agent, err = syncer.Open(ctx, syncer.Config{
		DataDir: dir, ServerURL: e.url,
		HTTPClient: e.wire.client(), Logger: newQuietLogger(), AppVersion: version, Unsealed: !e.sealed,
	})
	if err != nil {
		return err
	}
	if _, err := e.agent.Login(ctx, e.officer.Username, benchPassword); err != nil {
		return err
	}
	_, err = e.agent.SyncOnce(ctx)
	return err
}

func (e *benchEnv) close() {
	if e.agent != nil {
		e.agent.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
}

// measure runs f once and returns its figures.
func (e *benchEnv) measure(name string, records int, f func() error) (benchResult, error) {
	before := e.wire.snapshot()
	start, cpu := time.Now(), processCPU()
	if err := f(); err != nil {
		return benchResult{}, fmt.Errorf("bench %s: %w", name, err)
	}
	d, cpu := time.Since(start), processCPU()-cpu
	w := e.wire.snapshot().sub(before)
	r := benchResult{Scenario: name, Records: records, Seconds: d.Seconds(), CPUSeconds: cpu.Seconds(),
		Requests: w.Requests, BytesUp: w.Up, BytesDown: w.Down}
	if records > 0 {
		r.RecordsPerSec = float64(records) / d.Seconds()
	}
	return r, nil
}

func runSyncBench(ctx context.Context, dir string, n, noopRounds int, sealed bool) ([]benchResult, error) {
	env, err := newBenchEnv(ctx, dir, "tablet", sealed)
	if err != nil {
		return nil, err
	}
	defer env.close()
	return env.syncScenarios(ctx, dir, n, noopRounds)
}

// syncScenarios runs the five scenarios of "doorstep bench sync" on env,
// the fresh tablet of the first one in dir.
func (env *benchEnv) syncScenarios(ctx context.Context, dir string, n, noopRounds int) ([]benchResult, error) {
	sealed := env.sealed
	var results []benchResult
	add := func(r benchResult, err error) error {
		if err == nil {
			results = append(results, r)
		}
		return err
	}

	// 1. Initial pull of n visit-sized records into an empty tablet.
	visits := synth.BenchVisits(11+100*env.seed, env.caseID, env.officer.ID, n)
	if err := env.db.Seed(ctx, cliActor, visits); err != nil {
		return nil, err
	}
	// The seed's 10 MB of WAL is the loader's cost, not the pull's.
	if err := env.db.Checkpoint(); err != nil {
		return nil, err
	}
	fresh, err := syncer.Open(ctx, syncer.Config{
		DataDir: filepath.Join(dir, "fresh-tablet"), ServerURL: env.url,
		HTTPClient: env.wire.client(), Logger: newQuietLogger(),
		AppVersion: version, Unsealed: !sealed,
	})
	if err != nil {
		return nil, err
	}
	defer fresh.Close()
	if _, err := fresh.Login(ctx, env.officer.Username, benchPassword); err != nil {
		return nil, err
	}
	if err := add(env.measure("initial pull", n, func() error {
		rep, err := fresh.SyncOnce(ctx)
		if err == nil && rep.Pulled < n {
			err = fmt.Errorf("pulled %d records, want at least %d", rep.Pulled, n)
		}
		return err
	})); err != nil {
		return nil, err
	}

	// 2. Push of n new records made on the tablet (written locally first,
	// untimed: the scenario is the sync).
	if _, err := env.agent.SyncOnce(ctx); err != nil { // catch up with the seeded visits
		return nil, err
	}
	// Drafts, not signed visits, so the incremental scenarios can change them.
	writes := benchDrafts(synth.BenchVisits(12+100*env.seed, env.caseID, env.officer.ID, n))
	if err := env.agent.PutMany(ctx, writes); err != nil {
		return nil, err
	}
	if err := add(env.measure("push", n, func() error {
		rep, err := env.agent.SyncOnce(ctx)
		if err == nil && rep.Applied != n {
			err = fmt.Errorf("server applied %d of %d", rep.Applied, n)
		}
		return err
	})); err != nil {
		return nil, err
	}

	// 3 and 4. Incremental: 100 records changed on the server (a
	// supervisor's notes on drafts), pulled by the tablet; then 100
	// records changed on the tablet, pushed. Each is timed in
	// incrementalRounds rounds and the median kept: one sync of 100 takes
	// milliseconds, and a single one on a shared machine can take ten
	// times the next (decision 0076).
	//
	// The supervisor writes through the server's API, as a supervisor
	// does, so that both benchmarks time the pull and the push after it
	// in the same state: through env.db, bench service's changes were
	// made by a second writer on the server's SQLite file (this process's
	// handle), which a running server never has beside it, and the
	// server's writer read the file again after them.
	sup := newReportClient(env.url)
	if err := sup.login(ctx, env.supervisor.Username); err != nil {
		return nil, fmt.Errorf("bench: change on server: %w", err)
	}
	var pulls, pushes [][]benchResult
	for round := range incrementalRounds {
		for i := 0; i < 100; i++ {
			fields := map[string]json.RawMessage{"observation_notes": json.RawMessage(fmt.Sprintf(`"supervisor note %d-%d"`, round, i))}
			if err := sup.patch(ctx, "/v1/visits/"+writes[100+i].ID, fields); err != nil {
				return nil, fmt.Errorf("bench: change on server: %w", err)
			}
		}
		r, err := env.measure("incremental pull of 100", 100, func() error {
			rep, err := env.agent.SyncOnce(ctx)
			if err == nil && rep.Pulled < 100 {
				err = fmt.Errorf("pulled %d, want 100", rep.Pulled)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		pulls = append(pulls, []benchResult{r})

		changes := make([]syncer.Write, 100)
		for i := range changes {
			changes[i] = syncer.Write{Entity: "visit", ID: writes[i].ID, CaseID: env.caseID,
				Fields: map[string]json.RawMessage{"next_visit_on": json.RawMessage(fmt.Sprintf(`"2031-06-%02d"`, 1+round))}}
		}
		if err := env.agent.PutMany(ctx, changes); err != nil {
			return nil, err
		}
		r, err = env.measure("incremental push of 100", 100, func() error {
			rep, err := env.agent.SyncOnce(ctx)
			if err == nil && rep.Applied+rep.Conflicts != 100 {
				err = fmt.Errorf("server answered %d of 100", rep.Applied+rep.Conflicts)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		pushes = append(pushes, []benchResult{r})
	}
	results = append(results, medianResults(pulls)[0], medianResults(pushes)[0])

	// 5. No-op sync: nothing to send, nothing to receive. Median of many.
	durs := make([]time.Duration, 0, noopRounds)
	txs, err := env.writeTxs()
	if err != nil {
		return nil, err
	}
	before, cpu := env.wire.snapshot(), processCPU()
	for i := 0; i < noopRounds; i++ {
		start := time.Now()
		if _, err := env.agent.SyncOnce(ctx); err != nil {
			return nil, fmt.Errorf("bench no-op: %w", err)
		}
		durs = append(durs, time.Since(start))
	}
	w, cpu := env.wire.snapshot().sub(before), processCPU()-cpu
	after, err := env.writeTxs()
	if err != nil {
		return nil, err
	}
	txs = after - txs
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	results = append(results, benchResult{Scenario: "no-op sync (median)", Seconds: durs[len(durs)/2].Seconds(),
		CPUSeconds: cpu.Seconds() / float64(noopRounds),
		Requests:   w.Requests / int64(noopRounds), BytesUp: w.Up / int64(noopRounds), BytesDown: w.Down / int64(noopRounds), WriteTransactions: &txs})
	return results, nil
}

// incrementalRounds is how many times the incremental pull and push of
// 100 are timed, one after the other, for their medians.
const incrementalRounds = 5

// benchDrafts turns signed visits into the tablet's writes of drafts.
func benchDrafts(visits []schema.Record) []syncer.Write {
	writes := make([]syncer.Write, 0, len(visits))
	for _, v := range visits {
		delete(v.Fields, "signed_at")
		delete(v.Fields, "signed_by")
		v.Fields["status"] = json.RawMessage(`"draft"`)
		writes = append(writes, syncer.Write{Entity: v.Entity, ID: v.ID, CaseID: v.CaseID, Fields: v.Fields})
	}
	return writes
}

func newQuietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// medianResults keeps, per scenario, the run with the median wall time
// (its requests and bytes come with it).
func medianResults(runs [][]benchResult) []benchResult {
	out := make([]benchResult, len(runs[0]))
	for i := range out {
		col := make([]benchResult, len(runs))
		for r := range runs {
			col[r] = runs[r][i]
		}
		sort.Slice(col, func(a, b int) bool { return col[a].Seconds < col[b].Seconds })
		out[i] = col[len(col)/2]
	}
	return out
}

func (c *benchCmd) Close() error { return nil }
