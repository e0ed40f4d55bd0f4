package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/internal/testkit"

	"github.com/gofiber/fiber/v2"
)

// slowJSON encodes as "slow"; its second encoding (the streamed one: the
// first is sendReport's try at holding the answer whole) says it began,
// then waits to be let go.
type slowJSON struct {
	calls   *atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (s slowJSON) MarshalJSON() ([]byte, error) {
	if s.calls.Add(1) == 2 {
		close(s.entered)
		<-s.release
	}
	return []byte(`"slow"`), nil
}

// The access log line and the latency histogram of a streamed answer
// (decision 0074) end when its body is written, not when the handler
// returns (decision 0079): an answer whose body is held back for a while
// after its handler returned is logged once it is written, with that
// while in duration_ms and in the histogram, and with the bytes written.
func TestStreamedAnswerTimedToItsLastByte(t *testing.T) {
	t.Parallel()
	var logBuf testkit.Buffer
	e := newEnvWith(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logBuf, nil))
		c.MetricsAddr = "127.0.0.1:0"
	})
	slow := slowJSON{calls: new(atomic.Int32), entered: make(chan struct{}), release: make(chan struct{})}
	answer := struct {
		Slow slowJSON `json:"slow"`
		Big  string   `json:"big"`
	}{slow, strings.Repeat("x", reportHeadBytes+1)}
	// The server's own middleware and sendReport, on a route of the test's.
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(e.srv.observe)
	app.Get("/slow-report", func(c *fiber.Ctx) error { return e.srv.sendReport(c, answer) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })

	type got struct {
		body []byte
		err  error
	}
	done := make(chan got, 1)
	go func() {
		// Not gzipped (Go's client would ask for it): bytes is then the body's length.
		client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		res, err := client.Get("http://" + ln.Addr().String() + "/slow-report")
		if err != nil {
			done <- got{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- got{b, err}
	}()
	<-slow.entered
	held := time.Now()
	const hold = 200 * time.Millisecond
	testkit.WaitFor(t, 10*time.Second, "the body held back a while", func() bool { return time.Since(held) >= hold })
	if strings.Contains(logBuf.String(), "/slow-report") {
		t.Errorf("the access log has the request's line before its body was written:\n%s", logBuf.String())
	}
	close(slow.release)
	r := <-done
	if r.err != nil || !json.Valid(r.body) {
		t.Fatalf("the streamed answer: %v, %d bytes (valid JSON: %v)", r.err, len(r.body), json.Valid(r.body))
	}
	var line map[string]any
	testkit.WaitFor(t, 10*time.Second, "the access log line", func() bool {
		for _, l := range strings.Split(logBuf.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" && m["route"] == "/slow-report" {
				line = m
				return true
			}
		}
		return false
	})
	if d, _ := line["duration_ms"].(float64); d < float64(hold.Milliseconds()) {
		t.Errorf("duration_ms = %v for an answer whose body took at least %s to write; line %v", line["duration_ms"], hold, line)
	}
	if line["streamed"] != true || line["bytes"] != float64(len(r.body)) || line["status"] != float64(200) {
		t.Errorf("access log line %v; want streamed, status 200 and bytes %d (what was written)", line, len(r.body))
	}
	m := scrape(t, e.srv.MetricsURL())
	if sum := m[`doorstep_http_request_duration_seconds_sum{method="GET",route="/slow-report"}`]; sum < hold.Seconds() {
		t.Errorf("the latency histogram's sum for the route = %v s; want at least %v", sum, hold.Seconds())
	}
}

// A streamed answer whose client is gone before its body is written is
// logged all the same, when its writer gives up: streamed, with the
// bytes it wrote, and in the latency histogram.
func TestStreamedAnswerLoggedWhenTheClientIsGone(t *testing.T) {
	t.Parallel()
	var logBuf testkit.Buffer
	e := newEnvWith(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logBuf, nil))
		c.MetricsAddr = "127.0.0.1:0"
	})
	slow := slowJSON{calls: new(atomic.Int32), entered: make(chan struct{}), release: make(chan struct{})}
	answer := struct {
		Slow slowJSON `json:"slow"`
		Big  string   `json:"big"`
	}{slow, strings.Repeat("x", 4*reportHeadBytes)}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Use(e.srv.observe)
	app.Get("/gone-report", func(c *fiber.Ctx) error { return e.srv.sendReport(c, answer) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, "GET /gone-report HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-slow.entered
	// The client goes, reading nothing, before the body is written.
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
	close(slow.release)
	var line map[string]any
	testkit.WaitFor(t, 30*time.Second, "the access log line of the answer whose client went", func() bool {
		for _, l := range strings.Split(logBuf.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" && m["route"] == "/gone-report" {
				line = m
				return true
			}
		}
		return false
	})
	if line["streamed"] != true || line["status"] != float64(200) {
		t.Errorf("access log line %v; want streamed, status 200", line)
	}
	m := scrape(t, e.srv.MetricsURL())
	if n := m[`doorstep_http_request_duration_seconds_count{method="GET",route="/gone-report"}`]; n != 1 {
		t.Errorf("the latency histogram's count for the route = %v; want 1", n)
	}
}
