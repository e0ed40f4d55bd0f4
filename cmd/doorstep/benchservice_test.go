package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestBenchServiceFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--cases", "750"}, "--cases: 750 is not a multiple of 500"},
		{[]string{"--cases", "250"}, "--cases: 250 is out of range"},
		{[]string{"--cases", "1000,500"}, "--cases"},
		{[]string{"--cases", "ten"}, `--cases: "ten" is not a number`},
		{[]string{"--cases", "500", "--devices", "1,11"}, "--devices: 11 devices need 11 officers"},
		{[]string{"--devices", "0"}, "--devices: 0 is out of range"},
		{[]string{"--db", "mysql://x"}, "--db"},
		{[]string{"--db", "sqlite,sqlite"}, "--db: \"\" is listed twice"},
		{[]string{"--reps", "0"}, "--reps"},
		{[]string{"--records", "10"}, "--records"},
		{[]string{"--device-writes", "0"}, "--device-writes"},
	} {
		c := &benchServiceCmd{stderr: &bytes.Buffer{}}
		err := c.ParseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bench service %v: got error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
	c := &benchServiceCmd{stderr: &bytes.Buffer{}}
	if err := c.ParseFlags([]string{"--cases", "25_000,100000", "--devices", "1,10,100", "--db", "sqlite"}); err != nil {
		t.Fatal(err)
	}
	if len(c.sizes) != 2 || c.sizes[0] != 25000 || c.sizes[1] != 100000 || len(c.dbs) != 1 || c.dbs[0] != "" {
		t.Errorf("parsed sizes %v and stores %q, want [25000 100000] and [\"\"]", c.sizes, c.dbs)
	}
}

// TestBenchServiceSmall runs the whole benchmark on a one-team service
// (500 cases), its server a process of its own (this test binary, see
// TestMain), and checks that its JSON has every figure.
func TestBenchServiceSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 500-case service and starts a server process: not in -short")
	}
	t.Parallel()
	results, _ := runBenchService(t, "--cases", "500", "--devices", "1,2", "--records", "200", "--noop-rounds", "3",
		"--reps", "1", "--device-writes", "20")
	if len(results) != 1 {
		t.Fatalf("%d results, want 1 (sqlite, 500 cases)", len(results))
	}
	r := results[0]
	if r.Store != "sqlite" || r.Cases != 500 || r.Records < 10000 || r.LoadedRecords != r.Records || r.StoreBytes == 0 {
		t.Errorf("store %s, %d cases, %d records (%d loaded), %d bytes; want sqlite, 500 cases and the records of 500 cases",
			r.Store, r.Cases, r.Records, r.LoadedRecords, r.StoreBytes)
	}
	for name, v := range map[string]float64{"start": r.StartSeconds, "first report": r.FirstReportSeconds,
		"service reports": r.ServiceReportSeconds, "team dashboard": r.TeamDashboardSeconds, "team reports": r.TeamReportsSeconds} {
		if v <= 0 {
			t.Errorf("%s took %v s, want a time", name, v)
		}
	}
	if r.ServiceReportBytes == 0 {
		t.Error("the service's reports came to 0 bytes")
	}
	if runtime.GOOS == "linux" && (r.RSSPeakEnd < r.RSSEnd || r.RSSEnd == 0 || r.RSSPeakReports == 0) {
		t.Errorf("server RSS %d (peak %d) at the end, peak %d after the reports; want them read from /proc", r.RSSEnd, r.RSSPeakEnd, r.RSSPeakReports)
	}
	if len(r.Sync) != 5 || r.Sync[0].Scenario != "initial pull" || r.Sync[0].Records != 200 {
		t.Errorf("sync scenarios %+v, want bench sync's five with 200 records", r.Sync)
	}
	// The server writes what devices reported every 5 seconds: the no-op
	// syncs may see that flush, for the syncs before them and for theirs.
	if noop := r.Sync[len(r.Sync)-1]; noop.WriteTransactions == nil || *noop.WriteTransactions > 2 {
		t.Errorf("no-op syncs made %v write transactions, want them counted from the server's metrics, and at most the devices' flushes", noop.WriteTransactions)
	}
	if len(r.Devices) != 2 {
		t.Fatalf("device results %+v, want 1 and 2 devices", r.Devices)
	}
	for _, d := range r.Devices {
		if d.PushMutations != 20*d.Devices || d.PullRecords == 0 || d.PullPerSec <= 0 || d.PushPerSec <= 0 {
			t.Errorf("%d devices: pushed %d (want %d), pulled %d; rates %v and %v", d.Devices, d.PushMutations, 20*d.Devices,
				d.PullRecords, d.PushPerSec, d.PullPerSec)
		}
	}
}

func TestParseCouchTable(t *testing.T) {
	t.Parallel()
	out := `bench: node v20.20.2, pouchdb 9.0.0 client (leveldb adapter)
docs ~1026 B JSON each, batch_size=100, reps=1

| phase | docs | median wall | docs/s | runs (min..max) | HTTP reqs | CPU ms client / server | bytes up / down (proxy pass) |
|---|---:|---:|---:|---|---:|---|---|
| initial pull, 10000 docs, empty client | 10000 | 7912 ms | 1264 | 7912 ms..7912 ms | 504 | 2119 / 3590 | - |
| (extra) first push after pull, 0 new | 0 | 3391 ms | - | 3391 ms..3391 ms | 323 | 1407 / 1030 | - |
| push 10000 new client docs | 10000 | 10.5 s | 952 | 10.5 s..10.5 s | 402 | 2881 / 3590 | - |
| incremental sync(), 100 edited on client | 100 | 129 ms | 777 | 129 ms..129 ms | 11 | 35 / 80 | - |
| incremental sync(), 100 edited on server | 100 | 79 ms | 1268 | 79 ms..79 ms | 12 | 24 / 70 | - |
| no-op sync(), nothing changed | 0 | 20 ms | - | 20 ms..20 ms | 8 | 8 / 10 | - |
`
	run, err := parseCouchTable(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"pull": 7.912, "push": 10.5, "incr-cli": 0.129, "incr-srv": 0.079, "noop": 0.020}
	if len(run.Phases) != len(want) {
		t.Fatalf("phases %+v, want %d (the extra ones left out)", run.Phases, len(want))
	}
	for name, s := range want {
		p := run.phase(name)
		if p == nil || p.Seconds != s {
			t.Errorf("phase %s: %+v, want a median of %v s", name, p, s)
		}
	}
	if p := run.phase("pull"); p.Requests != 504 || p.Docs != 10000 {
		t.Errorf("pull: %d requests, %d docs; want 504 and 10000", p.Requests, p.Docs)
	}
	if !strings.HasPrefix(run.Version, "node v20") {
		t.Errorf("version %q, want the harness's first line", run.Version)
	}
	if _, err := parseCouchTable("npm ERR! something"); err == nil {
		t.Error("an output without the table parsed")
	}
}

// TestBenchServiceMemoryCap: a server past --max-rss-mib is stopped, and
// the run records when instead of failing.
func TestBenchServiceMemoryCap(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("loads a 500-case service and reads /proc: linux, not in -short")
	}
	t.Parallel()
	results, log := runBenchService(t, "--cases", "500,1000", "--devices", "1", "--records", "200", "--reps", "1", "--max-rss-mib", "1")
	if len(results) != 1 {
		t.Fatalf("%d results, want 1: the larger size skipped", len(results))
	}
	x := results[0].RSSCapExceeded
	if x == nil || x.Bytes <= 1<<20 || x.During == "" {
		t.Errorf("rss_cap_exceeded = %+v, want the server's memory past 1 MiB and what was being measured", x)
	}
	if !strings.Contains(log, "larger sizes skipped") {
		t.Errorf("the log does not say the larger size was skipped:\n%s", log)
	}
}

// runBenchService runs bench service with args, --json and a data folder
// of the test's, its server this test binary (see TestMain), and returns
// its results and its log.
func runBenchService(t *testing.T, args ...string) ([]serviceResult, string) {
	t.Helper()
	var out, errs bytes.Buffer
	c := &benchServiceCmd{stdout: &out, stderr: &errs, exe: os.Args[0], env: append(os.Environ(), runMainEnv+"=1")}
	if err := c.ParseFlags(append(args, "--json", "--data", t.TempDir())); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("bench service %v: %v\n%s", args, err, errs.String())
	}
	var got struct {
		Results []serviceResult `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("the output is not JSON: %v\n%s", err, out.String())
	}
	return got.Results, errs.String()
}
