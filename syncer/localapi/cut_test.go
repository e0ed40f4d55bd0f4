package localapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi/localapitest"
)

// TestSyncWithAnswerCutShortIsUnavailable: when the server's answer to a
// pull is cut short in transit, POST /v1/sync is a network failure, 503
// unavailable as docs/api.md says, and the tablet logs no internal error.
func TestSyncWithAnswerCutShortIsUnavailable(t *testing.T) {
	t.Parallel()
	peer := fakePeer(t, schema.NewID())
	target, _ := url.Parse(peer.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The pull's answer promises more than it sends, then the connection
	// closes: the tablet reads "unexpected EOF".
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/sync/pull" {
			proxy.ServeHTTP(w, r)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"records\": [{\"entity\": \"ca")
		buf.Flush()
	}))
	t.Cleanup(cut.Close)

	logs := &testkit.Buffer{}
	a, err := syncer.Open(context.Background(), syncer.Config{DataDir: t.TempDir(), ServerURL: cut.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	api := New(a, Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := api.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	c := localapitest.Client{T: t, Base: api.URL()}.SignIn("/v1/login", map[string]string{"username": "asha.officer", "password": testPassword})
	status, out, _ := c.Do("POST", "/v1/sync", "{}", nil)
	if code, _ := localapitest.ErrCode(out); status != 503 || code != schema.ECodeUnavailable {
		t.Fatalf("sync with the answer cut short: %d %v; want 503 unavailable", status, out)
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("the tablet logged an error for a network failure:\n%s", logs.String())
	}
}
