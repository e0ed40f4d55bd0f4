package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
)

// TestReportClientSignsInAgain: a report set over a large service can
// outlast an access token; when the server answers 401 the bench signs
// in again once and asks again, rather than failing the run.
func TestReportClientSignsInAgain(t *testing.T) {
	t.Parallel()
	var logins atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/auth/login":
			fmt.Fprintf(w, `{"access_token":"tok-%d"}`, logins.Add(1))
		case r.Header.Get("Authorization") == "Bearer tok-2":
			fmt.Fprint(w, `{"ok":true}`)
		default: // tok-1 has expired
			http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	c := newReportClient(srv.URL)
	ctx := context.Background()
	if err := c.login(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	n, err := c.get(ctx, "/v1/compliance/overdue", true)
	if err != nil || n != int64(len(`{"ok":true}`)) {
		t.Fatalf("get = %d, %v; want the body after signing in again", n, err)
	}
	if logins.Load() != 2 {
		t.Errorf("signed in %d times, want 2", logins.Load())
	}
	// Without a bearer (the dashboard's pages), a 401 is an error at once.
	if _, err := c.get(ctx, "/dashboard/", false); err == nil {
		t.Error("a 401 without a bearer: no error")
	}
}

// TestProcStatusSplitsTheResidentSet: the bench reads the server's own
// memory apart from the file pages it maps, on Linux: both parts are
// there, and they add up to the resident set.
func TestProcStatusSplitsTheResidentSet(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("no /proc/<pid>/status here (not Linux)")
	}
	st := procStatus(os.Getpid())
	if st.anon <= 0 || st.file <= 0 || st.hwm < st.rss {
		t.Fatalf("procStatus = %+v: want own and file memory, and a peak at least the resident set", st)
	}
	// RssShmem is the third part; a test process has next to none.
	if d := st.rss - st.anon - st.file; d < 0 || d > 64<<20 {
		t.Errorf("procStatus = %+v: own %d + file %d is not the resident set %d", st, st.anon, st.file, st.rss)
	}
}
