package dashboard

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server"
)

// BenchmarkDashboardStore renders the overview, built in Go and from the
// read model, for the supervisor of a team of a store loaded by
// `doorstep bench service` (issue 13's "500-case team", team t0000),
// on the store as it is: DOORSTEP_DASH_DATA is its server data directory
// (a copy: the server may write to it) and DOORSTEP_DASH_DB, when set, its
// PostgreSQL URL. Skipped without them. DOORSTEP_DASH_PAGE, when set, is
// a file the overview built in Go is written to first (decision 0098
// compared two builds' pages so). For example, at 25,000 cases:
//
//	DOORSTEP_DASH_DATA=/work/bench/copy/store1/server go test ./server/dashboard \
//	    -run '^$' -bench DashboardStore -benchtime 10x
func BenchmarkDashboardStore(b *testing.B) {
	dir := os.Getenv("DOORSTEP_DASH_DATA")
	if dir == "" {
		b.Skip("DOORSTEP_DASH_DATA (a bench service store's server directory) is not set")
	}
	ctx := context.Background()
	srv, err := server.Open(ctx, server.Config{Addr: "127.0.0.1:0", DataDir: dir, DB: os.Getenv("DOORSTEP_DASH_DB"), Mount: Mount})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	users, err := srv.DB().ListUsers(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var sup schema.User
	for _, u := range users {
		if u.Role == schema.RoleSupervisor && strings.HasPrefix(u.Username, "t0000.") {
			sup = u
		}
	}
	if sup.ID == "" {
		b.Fatal("no supervisor of team t0000 in the store")
	}
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		b.Fatal(err)
	}
	get := benchGet(srv, tok)
	if out := os.Getenv("DOORSTEP_DASH_PAGE"); out != "" {
		// The overview in Go as rendered, to compare two builds' pages.
		req := httptest.NewRequest("GET", "/dashboard/", nil)
		req.AddCookie(&http.Cookie{Name: dashCookie, Value: tok})
		res, err := srv.App().Test(req, -1)
		if err != nil || res.StatusCode != 200 {
			b.Fatalf("GET /dashboard/: %v %v", err, res.Status)
		}
		page, err := io.ReadAll(res.Body)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out, page, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	for _, way := range []struct {
		name    string
		counted bool
	}{{"go", false}, {"counted", true}} {
		b.Run(way.name, func(b *testing.B) {
			countOverview = way.counted
			defer func() { countOverview = false }()
			t0, cpu0 := time.Now(), cpuTime()
			n := get(b, "/dashboard/") // the first page, apart
			b.Logf("first overview: %d bytes, %s, %d CPU ms", n, time.Since(t0).Round(time.Millisecond), (cpuTime() - cpu0).Milliseconds())
			cpu0 = cpuTime()
			for b.Loop() {
				get(b, "/dashboard/")
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			// The process's peak resident memory so far (the store's
			// mapped pages count in it: decision 0074).
			b.ReportMetric(float64(procStatusKiB("VmHWM"))/1024, "peak-rss-MiB")
		})
	}
}

// procStatusKiB is a figure of /proc/self/status in KiB (VmHWM, RssFile,
// ...); 0 where there is none.
func procStatusKiB(name string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
