package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// serverProcess is a `doorstep server` the service benchmark started, so
// that its memory is its own (read from /proc/<pid>/status) and a restart
// is a real one.
type serverProcess struct {
	cmd       *exec.Cmd
	url       string
	metrics   string        // its metrics' URL, "" when it logged none
	listening time.Duration // from start to its "server listening" line
	log       *serverLog
	exited    chan struct{}
	started   time.Time
	capped    atomic.Pointer[rssCapped] // set when watchRSS stopped it
}

// startServerProcess runs exe server on dataDir (and target, when it is
// a database URL) on a port of its choosing, and waits until it listens.
func startServerProcess(ctx context.Context, exe string, env []string, dataDir, target string) (*serverProcess, error) {
	args := []string{"server", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data", dataDir}
	if target != "" {
		args = append(args, "--db", target)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	log := &serverLog{listening: make(chan string, 1), metrics: make(chan string, 1)}
	cmd.Stderr = log
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	p := &serverProcess{cmd: cmd, log: log, exited: make(chan struct{}), started: start}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case p.url = <-log.listening:
		p.listening = time.Since(start)
		// The metrics listener starts with the API's, before its line.
		select {
		case p.metrics = <-log.metrics:
		case <-time.After(5 * time.Second):
		}
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("the server stopped before listening:\n%s", log.text())
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	case <-time.After(10 * time.Minute):
		p.stop()
		return nil, fmt.Errorf("the server did not listen within 10 minutes:\n%s", log.text())
	}
}

func (p *serverProcess) pid() int { return p.cmd.Process.Pid }

// writeTransactions reads the server's count of write transactions from
// its metrics (the writer wait histogram observes each one).
func (p *serverProcess) writeTransactions() (int64, error) {
	if p.metrics == "" {
		return 0, errors.New("the server logged no metrics listener")
	}
	res, err := http.Get(p.metrics)
	if err != nil {
		return 0, fmt.Errorf("read the server's metrics: %w", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "doorstep_db_writer_wait_seconds_count "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, errors.New("the server's metrics have no doorstep_db_writer_wait_seconds_count")
}

// watchRSS kills the server when its resident memory passes limit,
// recording when and during what, until it exits.
func (p *serverProcess) watchRSS(limit int64, during func() string) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.exited:
			return
		case <-t.C:
			if st := procStatus(p.pid()); st.rss > limit {
				p.capped.Store(&rssCapped{Bytes: st.rss, Seconds: time.Since(p.started).Seconds(), During: during()})
				p.cmd.Process.Kill()
				return
			}
		}
	}
}

// stop asks the server to stop (SIGTERM), and kills it after a minute.
func (p *serverProcess) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// serverLog keeps the server's log (its last 64 KiB) and picks out the
// lines the benchmark waits for.
type serverLog struct {
	mu        sync.Mutex
	buf       []byte
	partial   []byte
	listening chan string
	metrics   chan string
}

var (
	serverLogURL     = regexp.MustCompile(`msg="server listening".* url=(\S+)`)
	serverLogMetrics = regexp.MustCompile(`msg="metrics listening".* url=(\S+)`)
)

func (l *serverLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	if len(l.buf) > 64<<10 {
		l.buf = l.buf[len(l.buf)-64<<10:]
	}
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if m := serverLogURL.FindStringSubmatch(line); m != nil {
			select {
			case l.listening <- m[1]:
			default:
			}
		}
		if m := serverLogMetrics.FindStringSubmatch(line); m != nil {
			select {
			case l.metrics <- m[1]:
			default:
			}
		}
	}
	return len(b), nil
}

func (l *serverLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// memStatus is what /proc/<pid>/status says of a process's memory: the
// resident set now and at its peak, and the resident set now split into
// the process's own memory (anon: heap, stacks, SQLite's page caches) and
// mapped file pages (file: the store SQLite's readers map, mmap_size;
// the kernel's page cache, dropped under pressure).
type memStatus struct{ rss, hwm, anon, file int64 }

// procStatus reads VmRSS (resident now), VmHWM (the peak resident),
// RssAnon and RssFile of pid; zeros where /proc is not.
func procStatus(pid int) memStatus {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}
	}
	var st memStatus
	for line := range strings.SplitSeq(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest) // "123456 kB"
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			st.rss = kb << 10
		case "VmHWM":
			st.hwm = kb << 10
		case "RssAnon":
			st.anon = kb << 10
		case "RssFile":
			st.file = kb << 10
		}
	}
	return st
}

// reportClient asks the server for reports and pages as one user: an
// access token for the API, a cookie for the dashboard. It accepts gzip,
// as a browser does.
type reportClient struct {
	base  string
	hc    *http.Client
	token string
	// user signed in for the token: an access token lasts minutes, and a
	// report set over a large service on a loaded machine can outlast it,
	// so get signs in again once when the server answers 401.
	user string
}

func newReportClient(base string) *reportClient {
	jar, _ := cookiejar.New(nil)
	return &reportClient{base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Minute}}
}

// login takes an access token for username (a device of its own).
func (c *reportClient) login(ctx context.Context, username string) error {
	body, _ := json.Marshal(map[string]string{"username": username, "password": benchPassword, "device_id": "bench-reports-" + username})
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/v1/auth/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sign in as %s: %w", username, err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&tok) != nil || tok.AccessToken == "" {
		return fmt.Errorf("sign in as %s: %s", username, res.Status)
	}
	c.token, c.user = tok.AccessToken, username
	return nil
}

// benchReports is the dashboard's nine compliance reports (measures 1–8
// and the exemptions), over synth's history (its "today" is 2026-11-23).
var benchReports = []string{
	"/v1/compliance/first-home-visits?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/overdue",
	"/v1/compliance/contacts?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/enquiries?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/households?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/interventions?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/reviews?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/workload",
	"/v1/compliance/exemptions?from=2026-08-25&to=2026-11-23",
}

// nine asks for the nine reports one after another at detail and
// returns the bytes of their bodies (decompressed).
func (c *reportClient) nine(ctx context.Context, detail string) (int64, error) {
	var total int64
	for _, p := range benchReports {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		n, err := c.get(ctx, p+sep+"detail="+detail, true)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (c *reportClient) get(ctx context.Context, path string, bearer bool) (int64, error) {
	n, status, err := c.getOnce(ctx, path, bearer)
	if status == http.StatusUnauthorized && bearer && c.user != "" {
		if err := c.login(ctx, c.user); err != nil {
			return 0, err
		}
		n, _, err = c.getOnce(ctx, path, bearer)
	}
	return n, err
}

func (c *reportClient) getOnce(ctx context.Context, path string, bearer bool) (int64, int, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if bearer {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err == nil && res.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return n, res.StatusCode, err
}

// patch changes the record at path (a REST record's, /v1/<path>/:id)
// through the API: its fields, as the signed-in user.
func (c *reportClient) patch(ctx context.Context, path string, fields map[string]json.RawMessage) error {
	body, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		return err
	}
	req, _ := http.NewRequestWithContext(ctx, "PATCH", c.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("PATCH %s: %w", path, err)
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("PATCH %s: %s: %s", path, res.Status, answer)
	}
	return nil
}

// dashboardSignIn signs username in to the dashboard through its form.
func (c *reportClient) dashboardSignIn(ctx context.Context, username string) error {
	if _, err := c.get(ctx, "/dashboard/signin", false); err != nil {
		return err
	}
	u, _ := url.Parse(c.base + "/dashboard/signin")
	var pre string
	for _, k := range c.hc.Jar.Cookies(u) {
		if k.Name == "doorstep_dash_pre" {
			pre = k.Value
		}
	}
	form := url.Values{"username": {username}, "password": {benchPassword}, "_pre": {pre}, "next": {"/dashboard/"}}
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/dashboard/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	res, err := c.hc.Do(req) // follows the redirect to the overview
	if err != nil {
		return fmt.Errorf("dashboard sign-in: %w", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Request.URL.Path, "/dashboard") || res.Request.URL.Path == "/dashboard/signin" {
		return fmt.Errorf("dashboard sign-in as %s: %s at %s", username, res.Status, res.Request.URL.Path)
	}
	return nil
}

// dashboard gets the overview page (not the sign-in form it sends
// anyone else to).
func (c *reportClient) dashboard(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/dashboard/", nil)
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET /dashboard/: %w", err)
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	switch {
	case err != nil:
		return fmt.Errorf("GET /dashboard/: %w", err)
	case res.StatusCode != 200 || res.Request.URL.Path != "/dashboard/":
		return fmt.Errorf("GET /dashboard/: %s at %s", res.Status, res.Request.URL.Path)
	case n == 0:
		return errors.New("the dashboard's overview came empty")
	}
	return nil
}
