package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// benchServiceCmd runs "doorstep bench service": a synthetic probation
// service of N cases loaded through the store's bulk path (serverdb.Seed,
// one transaction per batch), served by a `doorstep server` process of its
// own, and measured from outside it: the whole service's reports, a
// 500-case team's dashboard, the server's memory, the first report after a
// restart, the sync scenarios of "bench sync" against the loaded store,
// and many devices syncing at once. Several sizes grow one store; several
// stores (--db) are measured one after another in the same run, and
// --couch runs the CouchDB replication harness beside them.
type benchServiceCmd struct {
	stdout, stderr io.Writer
	dbs            []string // targets: "" is SQLite in the data folder
	data           string
	sizes          []int
	devices        []int
	deviceWrites   int
	records        int
	noopRounds     int
	reps           int
	couch          bool
	couchHarness   string
	couchDir       string
	couchReps      int
	asJSON         bool
	jsonOut        string
	keep           bool
	sealed         bool
	maxRSS         int64 // bytes; 0: no cap
	// exe and env start the server process: this executable and this
	// process's environment, unless a test sets them.
	exe string
	env []string
}

// benchTeamCases is the synthetic team's size: 10 officers with 50 cases
// each, the "500-case team" of the dashboard's target.
const (
	benchOfficersPerTeam = 10
	benchCasesPerOfficer = 50
	benchTeamCases       = benchOfficersPerTeam * benchCasesPerOfficer
)

func (c *benchServiceCmd) ParseFlags(args []string) error {
	fs := newFlagSet("bench service", c.stderr)
	var dbs, sizes, devices string
	fs.StringVar(&dbs, "db", "", `stores to measure, comma-separated: "sqlite" (or empty) is SQLite in the data folder, a postgres:// URL an empty PostgreSQL database; each is measured in turn`)
	fs.StringVar(&c.data, "data", "", "folder for the stores and the tablets (kept); empty means a temporary folder, removed afterwards unless --keep")
	fs.StringVar(&sizes, "cases", "25000", "service sizes in cases, comma-separated, ascending, multiples of 500: each size adds teams to the same store")
	fs.StringVar(&devices, "devices", "1,10,100", "concurrent devices for the push and pull scenarios, comma-separated (each device an officer of its own)")
	fs.IntVar(&c.deviceWrites, "device-writes", 100, "visit drafts each device pushes in the concurrent push scenario")
	fs.IntVar(&c.records, "records", 10000, "records of the sync scenarios (initial pull, push), as bench sync")
	fs.IntVar(&c.noopRounds, "noop-rounds", 200, "no-op syncs to time (the median is reported)")
	fs.IntVar(&c.reps, "reps", 3, "times each report is asked for after the first (the median is reported)")
	fs.BoolVar(&c.couch, "couch", false, "run the CouchDB replication harness (--couch-harness) in the same run, for the comparison")
	fs.StringVar(&c.couchHarness, "couch-harness", "/work/shared/peers", "folder of the CouchDB harness (bench.js, package-lock.json); copied, never changed")
	fs.StringVar(&c.couchDir, "couch-dir", "", "working copy of the harness: reused when it has node_modules, so npm install runs once; empty means a temporary copy")
	fs.IntVar(&c.couchReps, "couch-reps", 3, "repetitions of the CouchDB harness (its medians are reported)")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON instead of tables")
	fs.StringVar(&c.jsonOut, "json-out", "", "also write the JSON to this file")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary folder")
	fs.BoolVar(&c.sealed, "sealed", true, "seal the tablets' data at rest, as the app does")
	maxRSS := fs.Int64("max-rss-mib", 8192, "stop the server when its resident memory passes this many MiB (the figure is then recorded, and larger sizes skipped), so that a server whose memory grows with the cases cannot exhaust the machine; 0 means no limit")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if *maxRSS < 0 {
		return fmt.Errorf("--max-rss-mib: %d must be 0 (no limit) or more", *maxRSS)
	}
	c.maxRSS = *maxRSS << 20
	var err error
	if c.sizes, err = intList("--cases", sizes, benchTeamCases, 1_000_000); err != nil {
		return err
	}
	for i, n := range c.sizes {
		if n%benchTeamCases != 0 {
			return fmt.Errorf("--cases: %d is not a multiple of %d (the service is made of %d-case teams)", n, benchTeamCases, benchTeamCases)
		}
		if i > 0 && n <= c.sizes[i-1] {
			return fmt.Errorf("--cases: %q must be ascending, each size larger than the one before (each adds teams to the same store)", sizes)
		}
	}
	if c.devices, err = intList("--devices", devices, 1, 1000); err != nil {
		return err
	}
	if most, officers := slices.Max(c.devices), c.sizes[0]/benchCasesPerOfficer; most > officers {
		return fmt.Errorf("--devices: %d devices need %d officers, and %d cases (the smallest --cases) have %d", most, most, c.sizes[0], officers)
	}
	c.dbs = nil
	for t := range strings.SplitSeq(dbs, ",") {
		t = strings.TrimSpace(t)
		if t == "sqlite" || strings.HasPrefix(t, "sqlite:") {
			t = "" // SQLite is always in the data folder here
		}
		if err := checkDBFlag(t); err != nil {
			return err
		}
		if slices.Contains(c.dbs, t) {
			return fmt.Errorf("--db: %q is listed twice", t)
		}
		c.dbs = append(c.dbs, t)
	}
	switch {
	case c.deviceWrites < 1 || c.deviceWrites > 100_000:
		return fmt.Errorf("--device-writes: %d is out of range (1 to 100000)", c.deviceWrites)
	case c.records < 200 || c.records > 1_000_000:
		return fmt.Errorf("--records: %d is out of range (200 to 1000000)", c.records)
	case c.noopRounds < 1:
		return fmt.Errorf("--noop-rounds: %d must be at least 1", c.noopRounds)
	case c.reps < 1 || c.reps > 50:
		return fmt.Errorf("--reps: %d is out of range (1 to 50)", c.reps)
	case c.couchReps < 1 || c.couchReps > 20:
		return fmt.Errorf("--couch-reps: %d is out of range (1 to 20)", c.couchReps)
	}
	return nil
}

// intList parses "a,b,c" into numbers from lo to hi, naming flag when one
// is not.
func intList(flag, s string, lo, hi int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.ReplaceAll(strings.TrimSpace(f), "_", "")
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", flag, f)
		}
		if n < lo || n > hi {
			return nil, fmt.Errorf("%s: %d is out of range (%d to %d)", flag, n, lo, hi)
		}
		out = append(out, n)
	}
	return out, nil
}

// serviceResult is one store at one size.
type serviceResult struct {
	Store string `json:"store"` // "sqlite" or "postgresql"
	Cases int    `json:"cases"`
	// Records is every record in the store's service (the sync
	// scenarios' own excluded); LoadSeconds the time to load the ones
	// this size added (LoadedRecords), generation included.
	Records       int     `json:"records"`
	LoadedRecords int     `json:"loaded_records"`
	LoadSeconds   float64 `json:"load_seconds"`
	LoadPerSec    float64 `json:"load_records_per_sec"`
	// StoreBytes is the SQLite file (with its WAL) after the load; 0 for
	// PostgreSQL.
	StoreBytes int64 `json:"store_bytes"`
	// StartSeconds is from starting the server process to its listening;
	// FirstReportSeconds the whole-service report set asked for right
	// after, as an admin.
	StartSeconds       float64 `json:"start_seconds"`
	FirstReportSeconds float64 `json:"first_report_seconds"`
	// ServiceReportSeconds is the nine compliance reports of the whole
	// service as an admin, detail=counts, one after another (median of
	// --reps); ServiceReportBytes their bodies, decompressed.
	ServiceReportSeconds float64 `json:"service_report_seconds"`
	ServiceReportBytes   int64   `json:"service_report_bytes"`
	// TeamDashboardSeconds is the dashboard's overview page for the
	// supervisor of a 500-case team; TeamReportsSeconds the nine reports
	// in full for that team (medians of --reps).
	TeamDashboardSeconds float64 `json:"team_dashboard_seconds"`
	TeamReportsSeconds   float64 `json:"team_reports_seconds"`
	// RSS of the server process, from /proc/<pid>/status: VmHWM (the
	// peak) and VmRSS after the reports, and the peak at the end of every
	// scenario.
	RSSAfterReports int64 `json:"rss_after_reports_bytes"`
	RSSPeakReports  int64 `json:"rss_peak_after_reports_bytes"`
	RSSPeakEnd      int64 `json:"rss_peak_end_bytes"`
	RSSEnd          int64 `json:"rss_end_bytes"`
	// RSSAnonAfterReports and RSSFileAfterReports split RSSAfterReports
	// into the process's own memory and the file pages it maps (RssAnon
	// and RssFile): the memory bound is the first's.
	RSSAnonAfterReports int64 `json:"rss_anon_after_reports_bytes"`
	RSSFileAfterReports int64 `json:"rss_file_after_reports_bytes"`
	// Sync is "bench sync"'s scenarios against this server; Devices the
	// concurrent devices.
	Sync    []benchResult  `json:"sync"`
	Devices []deviceResult `json:"devices"`
	// RSSCapExceeded, when set, says the server passed --max-rss-mib and
	// was stopped: the figures after that point are missing.
	RSSCapExceeded *rssCapped `json:"rss_cap_exceeded,omitempty"`
	// Load is the machine's load average (1 minute) at the start and end
	// of this size's measurements, loading excluded.
	LoadAvg [2]float64 `json:"load_average"`
}

// rssCapped is when the server passed --max-rss-mib: its resident memory
// then and how long after its start.
type rssCapped struct {
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	During  string  `json:"during"` // what the benchmark was measuring
}

// deviceResult is one count of devices syncing at once, each as its own
// officer on a tablet of its own.
type deviceResult struct {
	Devices        int     `json:"devices"`
	PullRecords    int     `json:"pull_records"`
	PullSeconds    float64 `json:"pull_seconds"`
	PullPerSec     float64 `json:"pull_records_per_sec"`
	PushMutations  int     `json:"push_mutations"`
	PushSeconds    float64 `json:"push_seconds"`
	PushPerSec     float64 `json:"push_mutations_per_sec"`
	PushCPUSeconds float64 `json:"push_cpu_seconds"` // this process's: the tablets'
	// PullFailed and PushFailed count the devices whose sync failed (a
	// request past the tablet's 30-second timeout, say); Error is the
	// first such failure. Their records are not in the counts.
	PullFailed int    `json:"pull_failed"`
	PushFailed int    `json:"push_failed"`
	Error      string `json:"error,omitempty"`
}

func (c *benchServiceCmd) Run(ctx context.Context) error {
	dir := c.data
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "doorstep-bench-service-"); err != nil {
			return err
		}
		if !c.keep {
			defer os.RemoveAll(dir)
		}
	} else if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("--data: %s is not empty; give a new or empty folder (the benchmark loads a service into it)", dir)
	}
	if c.exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench service: find this executable to start the server: %w", err)
		}
		c.exe, c.env = exe, os.Environ()
	}
	// Synthetic users get the cheapest password hash: loading thousands
	// of them at production cost would take minutes and measure nothing.
	serverdb.SetPasswordCost(4)

	out := struct {
		Go      string          `json:"go"`
		CPUs    int             `json:"cpus"`
		Sealed  bool            `json:"sealed"`
		Results []serviceResult `json:"results"`
		Couch   *couchRun       `json:"couch,omitempty"`
	}{Go: runtime.Version(), CPUs: runtime.NumCPU(), Sealed: c.sealed}
	if c.couch {
		fmt.Fprintln(c.stderr, "bench service: running the CouchDB harness")
		run, err := runCouchHarness(ctx, c.couchHarness, c.couchDir, filepath.Join(dir, "couch"), c.records, c.couchReps, c.stderr)
		if err != nil {
			return err
		}
		out.Couch = run
	}
	save := func() error {
		if c.jsonOut == "" {
			return nil
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("--json-out: %w", err)
		}
		return nil
	}
	for i, target := range c.dbs {
		err := c.runStore(ctx, target, filepath.Join(dir, fmt.Sprintf("store%d", i+1)), func(r serviceResult) error {
			out.Results = append(out.Results, r)
			return save() // as it goes: a long run's figures survive its end
		})
		if err != nil {
			return fmt.Errorf("bench service (%s): %w", benchStoreName(target), err)
		}
	}
	if err := save(); err != nil {
		return err
	}
	if c.asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printServiceTables(c.stdout, out.Results, out.Couch)
	fmt.Fprintf(c.stdout, "\n(%s, %d CPUs, the tablets' data sealed: %v; data in %s%s)\n", out.Go, out.CPUs, c.sealed, dir,
		map[bool]string{true: ", kept", false: ", removed"}[c.keep || c.data != ""])
	return nil
}

func benchStoreName(target string) string {
	if strings.HasPrefix(target, "postgres") {
		return "postgresql"
	}
	return "sqlite"
}

// runStore loads and measures each size in one store, handing each
// size's figures to done.
func (c *benchServiceCmd) runStore(ctx context.Context, target, dir string, done func(serviceResult) error) error {
	dataDir := filepath.Join(dir, "server")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	path := target
	if path == "" {
		path = filepath.Join(dataDir, server.DBFile)
	}
	db, err := serverdb.Open(ctx, path, serverdb.Options{})
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer db.Close()
	teams, err := db.ListTeams(ctx)
	if err != nil {
		return err
	}
	if len(teams) > 0 {
		return fmt.Errorf("the store already has %d teams; the benchmark needs an empty database", len(teams))
	}
	ld := &serviceLoader{db: db}
	if err := ld.begin(ctx); err != nil {
		return err
	}
	for _, size := range c.sizes {
		fmt.Fprintf(c.stderr, "bench service: %s, loading to %d cases\n", benchStoreName(target), size)
		before := ld.records
		start := time.Now()
		if err := ld.loadTo(ctx, size/benchTeamCases); err != nil {
			return fmt.Errorf("load %d cases: %w", size, err)
		}
		// What the load left in the WAL is the loader's, not the server's.
		if err := db.Checkpoint(); err != nil {
			return err
		}
		r := serviceResult{Store: benchStoreName(target), Cases: size, Records: ld.records, LoadedRecords: ld.records - before,
			LoadSeconds: time.Since(start).Seconds()}
		r.LoadPerSec = float64(r.LoadedRecords) / r.LoadSeconds
		if target == "" {
			r.StoreBytes = fileSize(path) + fileSize(path+"-wal")
		}
		fmt.Fprintf(c.stderr, "bench service: loaded %d records in %.0f s; measuring\n", r.LoadedRecords, r.LoadSeconds)
		if err := c.measure(ctx, &r, ld, db, target, dataDir, filepath.Join(dir, fmt.Sprint("tablets-", size))); err != nil {
			return err
		}
		if err := done(r); err != nil {
			return err
		}
		if x := r.RSSCapExceeded; x != nil {
			fmt.Fprintf(c.stderr, "bench service: the server passed --max-rss-mib (%d MiB) %.0f s after its start, during %s; larger sizes skipped\n",
				x.Bytes>>20, x.Seconds, x.During)
			return nil
		}
	}
	return nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// measure starts the server on the loaded store and takes one size's
// figures.
func (c *benchServiceCmd) measure(ctx context.Context, r *serviceResult, ld *serviceLoader, db *serverdb.DB, target, dataDir, tablets string) error {
	r.LoadAvg[0] = loadAverage()
	p, err := startServerProcess(ctx, c.exe, c.env, dataDir, target)
	if err != nil {
		return err
	}
	defer p.stop()
	r.StartSeconds = p.listening.Seconds()
	var during atomic.Value
	during.Store("the start")
	if c.maxRSS > 0 {
		go p.watchRSS(c.maxRSS, func() string { return during.Load().(string) })
	}
	err = c.measureServer(ctx, r, ld, db, p, tablets, func(s string) {
		fmt.Fprintf(c.stderr, "bench service: %s %d: %s\n", r.Store, r.Cases, s)
		during.Store(s)
	})
	if x := p.capped.Load(); x != nil {
		r.RSSCapExceeded = x
		r.LoadAvg[1] = loadAverage()
		return nil
	}
	return err
}

// measureServer takes the figures from the running server p, saying
// what it measures as it goes.
func (c *benchServiceCmd) measureServer(ctx context.Context, r *serviceResult, ld *serviceLoader, db *serverdb.DB, p *serverProcess, tablets string, step func(string)) error {
	var err error
	hc := newReportClient(p.url)
	step("the first service report set")

	// The first report after the restart, then the others.
	if err := hc.login(ctx, benchAdminName); err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := hc.nine(ctx, "counts"); err != nil {
		return err
	}
	r.FirstReportSeconds = time.Since(t0).Seconds()
	step("the service report set")
	var bytes int64
	if r.ServiceReportSeconds, err = median(c.reps, func() error {
		bytes, err = hc.nine(ctx, "counts")
		return err
	}); err != nil {
		return err
	}
	r.ServiceReportBytes = bytes

	step("the team's reports and dashboard")
	sup := newReportClient(p.url)
	if err := sup.login(ctx, ld.supervisor.Username); err != nil {
		return err
	}
	if r.TeamReportsSeconds, err = median(c.reps, func() error { _, err := sup.nine(ctx, "full"); return err }); err != nil {
		return err
	}
	if err := sup.dashboardSignIn(ctx, ld.supervisor.Username); err != nil {
		return err
	}
	if r.TeamDashboardSeconds, err = median(c.reps, func() error { return sup.dashboard(ctx) }); err != nil {
		return err
	}
	st := procStatus(p.pid())
	r.RSSAfterReports, r.RSSPeakReports = st.rss, st.hwm
	r.RSSAnonAfterReports, r.RSSFileAfterReports = st.anon, st.file

	step("the sync scenarios")
	// The sync scenarios of "bench sync", as a new officer of a team of
	// its own in the loaded service.
	env, err := attachBenchEnv(ctx, db, p.url, filepath.Join(tablets, "sync-tablet"), fmt.Sprintf("sync%d.", r.Cases), int64(r.Cases), c.sealed,
		p.writeTransactions)
	if err != nil {
		return fmt.Errorf("sync scenarios: %w", err)
	}
	r.Sync, err = env.syncScenarios(ctx, filepath.Join(tablets, "sync"), c.records, c.noopRounds)
	env.close()
	if err != nil {
		return fmt.Errorf("sync scenarios: %w", err)
	}
	for _, k := range c.devices {
		step(fmt.Sprintf("%d devices at once", k))
		d, err := c.devicesAtOnce(ctx, p.url, ld.officers[:k], filepath.Join(tablets, fmt.Sprint("devices-", k)), int64(r.Cases)*1000+int64(k))
		if err != nil {
			return fmt.Errorf("%d devices: %w", k, err)
		}
		r.Devices = append(r.Devices, d)
	}
	st = procStatus(p.pid())
	r.RSSEnd, r.RSSPeakEnd = st.rss, st.hwm
	r.LoadAvg[1] = loadAverage()
	return nil
}

// median runs f n times and returns the median of its wall times.
func median(n int, f func() error) (float64, error) {
	ds := make([]float64, 0, n)
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start).Seconds())
	}
	sort.Float64s(ds)
	return ds[len(ds)/2], nil
}

// devicesAtOnce signs k tablets in, each as its own officer, then times
// their first syncs (each officer's whole caseload) all at once, then a
// push of --device-writes visit drafts from each, all at once.
func (c *benchServiceCmd) devicesAtOnce(ctx context.Context, url string, officers []benchOfficer, dir string, seed int64) (deviceResult, error) {
	d := deviceResult{Devices: len(officers)}
	wire := &wireCounter{}
	quiet := newQuietLogger()
	agents := make([]*syncer.Agent, len(officers))
	defer func() {
		for _, a := range agents {
			if a != nil {
				a.Close()
			}
		}
		os.RemoveAll(dir)
	}()
	for i, o := range officers {
		a, err := syncer.Open(ctx, syncer.Config{DataDir: filepath.Join(dir, fmt.Sprint("tablet", i)), ServerURL: url,
			HTTPClient: wire.client(), Logger: quiet, AppVersion: version, Unsealed: !c.sealed})
		if err != nil {
			return d, err
		}
		agents[i] = a
		if _, err := a.Login(ctx, o.user.Username, benchPassword); err != nil {
			return d, fmt.Errorf("sign in as %s: %w", o.user.Username, err)
		}
	}
	var pulled, applied atomic.Int64
	// all runs f on every tablet at once; a tablet's failure is counted,
	// not fatal: it is one of the figures.
	all := func(f func(i int, a *syncer.Agent) error) (time.Duration, int) {
		errs := make([]error, len(agents))
		var wg sync.WaitGroup
		start := time.Now()
		for i, a := range agents {
			wg.Go(func() { errs[i] = f(i, a) })
		}
		wg.Wait()
		took, failed := time.Since(start), 0
		for _, err := range errs {
			if err != nil {
				failed++
				if d.Error == "" {
					d.Error = err.Error()
				}
			}
		}
		return took, failed
	}
	synced := make([]bool, len(agents)) // a tablet whose first sync failed does not push
	took, failed := all(func(i int, a *syncer.Agent) error {
		rep, err := a.SyncOnce(ctx)
		if err == nil {
			pulled.Add(int64(rep.Pulled))
			synced[i] = true
		}
		return err
	})
	d.PullFailed = failed
	d.PullRecords, d.PullSeconds = int(pulled.Load()), took.Seconds()
	d.PullPerSec = float64(d.PullRecords) / d.PullSeconds

	wrote := make([]error, len(agents))
	for i, a := range agents {
		o := officers[i]
		writes := benchDrafts(synth.BenchVisits(seed*1000+int64(i), o.caseID, o.user.ID, c.deviceWrites))
		if !synced[i] {
			wrote[i] = errors.New("its first sync failed")
		} else if err := a.PutMany(ctx, writes); err != nil {
			wrote[i] = fmt.Errorf("write the drafts: %w", err)
		}
	}
	cpu := processCPU()
	took, failed = all(func(i int, a *syncer.Agent) error {
		if wrote[i] != nil {
			return wrote[i]
		}
		rep, err := a.SyncOnce(ctx)
		if err == nil && rep.Applied != c.deviceWrites {
			err = fmt.Errorf("the server applied %d of %d mutations", rep.Applied, c.deviceWrites)
		}
		if err == nil {
			applied.Add(int64(rep.Applied))
		}
		return err
	})
	d.PushFailed = failed
	d.PushCPUSeconds = (processCPU() - cpu).Seconds()
	d.PushMutations, d.PushSeconds = int(applied.Load()), took.Seconds()
	d.PushPerSec = float64(d.PushMutations) / d.PushSeconds
	return d, nil
}

// loadAverage is the machine's 1-minute load average, 0 where
// /proc/loadavg is not.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}

func (c *benchServiceCmd) Close() error { return nil }

// printServiceTables prints one column per store and size.
func printServiceTables(w io.Writer, rs []serviceResult, couch *couchRun) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(name string, f func(r serviceResult) string) {
		fmt.Fprint(tw, name, "\t")
		for _, r := range rs {
			fmt.Fprint(tw, f(r), "\t")
		}
		fmt.Fprintln(tw)
	}
	ms := func(s float64) string { return strconv.FormatFloat(s*1000, 'f', 1, 64) }
	mib := func(b int64) string { return strconv.FormatInt(b>>20, 10) }
	row("figure", func(r serviceResult) string { return fmt.Sprintf("%s %d", r.Store, r.Cases) })
	row("records in the service", func(r serviceResult) string { return fmt.Sprint(r.Records) })
	row("load: records/s", func(r serviceResult) string { return fmt.Sprintf("%.0f", r.LoadPerSec) })
	row("store size MiB", func(r serviceResult) string { return mib(r.StoreBytes) })
	row("server start ms", func(r serviceResult) string { return ms(r.StartSeconds) })
	row("first service report set after start ms", func(r serviceResult) string { return ms(r.FirstReportSeconds) })
	row("service report set (nine, counts) ms", func(r serviceResult) string { return ms(r.ServiceReportSeconds) })
	row("500-case team: dashboard overview ms", func(r serviceResult) string { return ms(r.TeamDashboardSeconds) })
	row("500-case team: nine reports in full ms", func(r serviceResult) string { return ms(r.TeamReportsSeconds) })
	row("server RSS after reports MiB (peak)", func(r serviceResult) string {
		return fmt.Sprintf("%s (%s)", mib(r.RSSAfterReports), mib(r.RSSPeakReports))
	})
	row("server RSS after reports: own / mapped file MiB", func(r serviceResult) string {
		return fmt.Sprintf("%s / %s", mib(r.RSSAnonAfterReports), mib(r.RSSFileAfterReports))
	})
	row("server RSS at the end MiB (peak)", func(r serviceResult) string { return fmt.Sprintf("%s (%s)", mib(r.RSSEnd), mib(r.RSSPeakEnd)) })
	if len(rs) > 0 {
		for i, s := range rs[0].Sync {
			row("sync: "+s.Scenario+" ms", func(r serviceResult) string {
				return ifAny(len(r.Sync) > i, func() string { return ms(r.Sync[i].Seconds) })
			})
			if s.Records > 0 {
				row("sync: "+s.Scenario+" records/s", func(r serviceResult) string {
					return ifAny(len(r.Sync) > i, func() string { return fmt.Sprintf("%.0f", r.Sync[i].RecordsPerSec) })
				})
			}
		}
		for i, d := range rs[0].Devices {
			row(fmt.Sprintf("%d devices: pull records/s", d.Devices), func(r serviceResult) string {
				return ifAny(len(r.Devices) > i, func() string { return fmt.Sprintf("%.0f", r.Devices[i].PullPerSec) })
			})
			row(fmt.Sprintf("%d devices: push mutations/s", d.Devices), func(r serviceResult) string {
				return ifAny(len(r.Devices) > i, func() string { return fmt.Sprintf("%.0f", r.Devices[i].PushPerSec) })
			})
			row(fmt.Sprintf("%d devices: syncs failed (pull, push)", d.Devices), func(r serviceResult) string {
				return ifAny(len(r.Devices) > i, func() string { return fmt.Sprintf("%d, %d", r.Devices[i].PullFailed, r.Devices[i].PushFailed) })
			})
		}
	}
	row("no-op syncs: server write transactions", func(r serviceResult) string {
		if s := findScenario(r.Sync, "no-op sync (median)"); s != nil && s.WriteTransactions != nil {
			return fmt.Sprint(*s.WriteTransactions)
		}
		return "-"
	})
	row("server stopped over --max-rss-mib", func(r serviceResult) string {
		if x := r.RSSCapExceeded; x != nil {
			return fmt.Sprintf("at %d MiB, %.0f s after start, during %s", x.Bytes>>20, x.Seconds, x.During)
		}
		return "no"
	})
	row("load average (start, end)", func(r serviceResult) string { return fmt.Sprintf("%.1f, %.1f", r.LoadAvg[0], r.LoadAvg[1]) })
	tw.Flush()
	if couch == nil {
		return
	}
	fmt.Fprintf(w, "\nCouchDB replication (%s), medians of %d, and Doorstep's sync scenarios against it:\n", couch.Version, couch.Reps)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "scenario\tCouchDB ms\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s %d: ms (× faster)\t", r.Store, r.Cases)
	}
	fmt.Fprintln(tw)
	for _, m := range couchMatches {
		cp := couch.phase(m.couch)
		if cp == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f\t", m.label, cp.Seconds*1000)
		for _, r := range rs {
			s := findScenario(r.Sync, m.doorstep)
			if s == nil || s.Seconds == 0 {
				fmt.Fprint(tw, "-\t")
				continue
			}
			fmt.Fprintf(tw, "%.1f (%.1f×)\t", s.Seconds*1000, cp.Seconds/s.Seconds)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// ifAny is f's answer when ok, else "-".
func ifAny(ok bool, f func() string) string {
	if !ok {
		return "-"
	}
	return f()
}

// couchMatches pairs the harness's phases with bench sync's scenarios.
var couchMatches = []struct{ label, couch, doorstep string }{
	{"initial pull", "pull", "initial pull"},
	{"push", "push", "push"},
	{"100 changed on the server, pulled", "incr-srv", "incremental pull of 100"},
	{"100 changed on the tablet, pushed", "incr-cli", "incremental push of 100"},
	{"no-op sync", "noop", "no-op sync (median)"},
}

func findScenario(rs []benchResult, name string) *benchResult {
	for i := range rs {
		if rs[i].Scenario == name {
			return &rs[i]
		}
	}
	return nil
}
