package server

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/server/serverdb/serverdbtest"
)

// TestClientResetIsNotAnError: clients that reset the connection while the
// server reads their request (mid-body, as a tablet losing its network
// does) are the client's failure, not the server's: the log holds no
// error-level line, and the server goes on answering.
func TestClientResetIsNotAnError(t *testing.T) {
	t.Parallel()
	logs := &testkit.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := Open(context.Background(), Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data"), DB: serverdbtest.ConfigDB(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr := strings.TrimPrefix(srv.URL(), "http://")

	scenarios := []struct{ name, sent string }{
		{"mid-body", "POST /v1/sync/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"mutations\": [{\"id\": \"01"},
		{"mid-body, gzip", "POST /v1/sync/pull HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 900\r\n\r\n\x1f\x8b\x08\x00"},
		{"mid-body, login", "POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 300\r\n\r\n{\"username\": \"as"},
	}
	for _, sc := range scenarios {
		for i := range 3 {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write([]byte(sc.sent)); err != nil {
				t.Fatalf("%s %d: %v", sc.name, i, err)
			}
			// A reset, not a close: SO_LINGER 0 sends RST.
			tc := conn.(*net.TCPConn)
			tc.SetLinger(0)
			tc.Close()
		}
	}
	want := 3 * len(scenarios)
	testkit.WaitFor(t, 5*time.Second, fmt.Sprintf("the server to see %d reset requests", want), func() bool {
		l := logs.String() // the line after the fix, or the error before it
		return strings.Count(l, "client connection failed mid-request")+strings.Count(l, `msg="request failed"`) >= want
	})
	// The server still answers.
	if r := (&env{t: t, url: srv.URL()}).do("GET", "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("health after the resets: %d %s", r.status, r.body)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("error-level log line for a client's reset: %s", line)
		}
	}
}
