package syncer

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

// pagedPeer serves an initial pull of n records of about 1 KB, in pages of
// limit, from bodies encoded (and gzipped) beforehand, so that what is
// measured is the tablet's side: transfer, decode, apply.
func pagedPeer(tb testing.TB, n, limit int) *httptest.Server {
	tb.Helper()
	caseID := schema.NewID()
	notes := strings.Repeat("n", 600)
	pages := map[string][]byte{}
	for start := 0; start < n; start += limit {
		end := min(start+limit, n)
		resp := schema.PullResponse{Cursor: fmt.Sprintf("c%d", end), HasMore: end < n, ServerTime: time.Now()}
		for i := start; i < end; i++ {
			resp.Records = append(resp.Records, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Version: 1,
				ReceivedAt: time.Now(), UpdatedAt: time.Now(), DeviceTime: time.Now(), CreatedBy: "officer", UpdatedBy: "officer",
				Fields: map[string]json.RawMessage{
					"status": raw("signed"), "type": raw("home_unannounced"), "outcome": raw("completed"), "location": raw("home"),
					"started_at": raw("2026-11-20T13:58:01Z"), "partner_present": raw("yes"), "children_present": raw("no_children"),
					"observation_notes": raw(notes), "signed_at": raw("2026-11-20T14:02:11Z"), "signed_by": raw("officer"),
				}})
		}
		b, _ := json.Marshal(resp)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		cursor := ""
		if start > 0 {
			cursor = fmt.Sprintf("c%d", start)
		}
		pages[cursor] = buf.Bytes()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/auth/login":
			json.NewEncoder(w).Encode(schema.TokenResponse{AccessToken: "a", RefreshToken: "r", ServerTime: time.Now(),
				User: schema.User{ID: "officer", Username: "asha.officer", Name: "Asha", Role: schema.RoleOfficer, TeamID: "t"}})
		case "/v1/sync/pull":
			var req schema.PullRequest
			json.NewDecoder(r.Body).Decode(&req)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(pages[req.Cursor])
		default:
			w.WriteHeader(404)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func pullAgent(tb testing.TB, url string) *Agent {
	tb.Helper()
	a, err := Open(context.Background(), Config{DataDir: tb.TempDir(), ServerURL: url})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	if _, err := a.Login(context.Background(), "asha.officer", "correct horse battery"); err != nil {
		tb.Fatal(err)
	}
	return a
}

// BenchmarkInitialPull10000 is a whole initial pull: 10,000 records of about
// 1 KB in 5 pages over HTTP, decoded and applied into a fresh store.
func BenchmarkInitialPull10000(b *testing.B) {
	srv := pagedPeer(b, 10000, 2000)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		a := pullAgent(b, srv.URL)
		b.StartTimer()
		if _, err := a.SyncOnce(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "records/s")
}

// benchAgent is an agent signed in through a peer of its own.
func benchAgent(b *testing.B) (*peer, *Agent) {
	p := newPeer(&testing.T{})
	b.Cleanup(p.srv.Close)
	a, err := Open(context.Background(), Config{DataDir: b.TempDir(), ServerURL: p.URL()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	if _, err := a.Login(context.Background(), "asha.officer", "correct horse battery"); err != nil {
		b.Fatal(err)
	}
	return p, a
}

// BenchmarkPutMany1000 writes 1000 household members in one local
// transaction: validation, 1000 records and 1000 outbox mutations.
func BenchmarkPutMany1000(b *testing.B) {
	p, a := benchAgent(b)
	ctx := context.Background()
	caseID := schema.NewID()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 200, schema.PullResponse{Records: []schema.Record{caseRecord(caseID)}, Cursor: "c1", ServerTime: time.Now()}
	}
	if _, err := a.SyncOnce(ctx); err != nil {
		b.Fatal(err)
	}
	ws := make([]Write, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range ws {
			ws[j] = Write{Entity: "household_member", CaseID: caseID, Fields: map[string]json.RawMessage{
				"relation": raw("other_adult"), "residence": raw("visits"), "name": raw(fmt.Sprintf("Person %d", j)),
				"victim_or_potential_victim": raw("not_known")}}
		}
		if err := a.PutMany(ctx, ws); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkUnlock is the offline unlock with the password at the production
// argon2id cost (t=2, m=19 MiB, p=1): the verifier's check, then the data
// key's unwrap (decision 0033). Issue 12 asks for under 1 s.
func BenchmarkUnlock(b *testing.B) {
	saved := argonCost
	SetPasswordCost(argonTime, argonMemory)
	defer func() { argonCost = saved }()
	_, a := benchAgent(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.DropKey()
		if _, _, err := a.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if !a.HoldsKey() {
		b.Fatal("the unlock did not take the data key")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/unlock")
}
