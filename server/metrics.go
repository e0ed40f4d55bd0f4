package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The server's Prometheus metrics, served at /metrics on their own
// listener (Config.MetricsAddr; decision 0036). Every name is listed in
// docs/operations.md ("Metrics"). Each server has its own registry, so
// servers in one process (the tests) count apart.

// storeStats is what the metrics read from the store at each scrape: a
// small interface, so that another store can answer it.
type storeStats interface {
	PoolStats() []serverdb.PoolStats
	ActiveDevices(ctx context.Context, since time.Time) (int, error)
}

// activeWindows are the periods doorstep_devices_active counts over.
var activeWindows = []struct {
	label string
	d     time.Duration
}{{"15m", 15 * time.Minute}, {"24h", 24 * time.Hour}}

// metrics holds the registry and what the handlers count.
type metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // method, route, status
	duration      *prometheus.HistogramVec // method, route
	pushMutations prometheus.Histogram
	pushBytes     prometheus.Histogram
	pullRecords   prometheus.Histogram
	pullBytes     prometheus.Histogram
	mutations     *prometheus.CounterVec // outcome
	conflicts     prometheus.Counter
	setAsides     prometheus.Counter
	writerWait    prometheus.Histogram
	// pullWait is the time each pull that waited for a change spent
	// waiting; pullWaitRefused counts the pulls over MaxWaitingPulls.
	pullWait        prometheus.Histogram
	pullWaitRefused prometheus.Counter
}

// sizeBuckets: 1 to 16,384 by powers of 4 (mutations, records).
var sizeBuckets = prometheus.ExponentialBuckets(1, 4, 8)

// byteBuckets: 1 KiB to 16 MiB (the push limit) by powers of 4.
var byteBuckets = prometheus.ExponentialBuckets(1024, 4, 8)

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern and status.",
	}, []string{"method", "route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "doorstep_http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	m.pushMutations = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_sync_push_mutations", Help: "Mutations per push answered (one that did not decode included).", Buckets: sizeBuckets})
	m.pushBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_sync_push_bytes", Help: "Push bodies' sizes, decompressed.", Buckets: byteBuckets})
	m.pullRecords = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_sync_pull_records", Help: "Records per pull page sent.", Buckets: sizeBuckets})
	m.pullBytes = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "doorstep_sync_pull_bytes", Help: "Pull pages' sizes before compression.", Buckets: byteBuckets})
	m.mutations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "doorstep_sync_mutations_total",
		Help: "Pushed mutations by outcome: applied, duplicate, conflict or rejected.",
	}, []string{"outcome"})
	for _, o := range []string{schema.StatusApplied, schema.StatusDuplicate, schema.StatusConflict, schema.StatusRejected} {
		m.mutations.WithLabelValues(o) // present at 0 from the start
	}
	m.conflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_sync_conflicts_total",
		Help: "Pushed mutations that lost fields to newer values (kept as conflict records for review).",
	})
	m.setAsides = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_sync_set_asides_total",
		Help: "Pushed mutations refused, which the tablet sets aside (those that decoded are also in the review queue).",
	})
	m.writerWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "doorstep_db_writer_wait_seconds",
		Help:    "Time each write transaction waited for the one writer (connection and write lock).",
		Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 10},
	})
	m.pullWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "doorstep_sync_pull_wait_seconds",
		Help:    "Time each pull that asked to wait spent waiting for a change (left out of doorstep_http_request_duration_seconds).",
		Buckets: []float64{.1, .5, 1, 2.5, 5, 10, 15, 20, 25, 30},
	})
	m.pullWaitRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "doorstep_sync_pull_wait_refused_total",
		Help: "Pulls that asked to wait but were answered at once: --max-waiting-pulls were waiting already.",
	})
	m.reg.MustRegister(m.requests, m.duration, m.pushMutations, m.pushBytes, m.pullRecords, m.pullBytes,
		m.mutations, m.conflicts, m.setAsides, m.writerWait, m.pullWait, m.pullWaitRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchStore registers the figures read from the store at each scrape.
func (m *metrics) watchStore(st storeStats, now func() time.Time) {
	m.reg.MustRegister(&storeCollector{st: st, now: now})
}

// observePush counts one push answered: its body's size and every
// mutation's result.
func (m *metrics) observePush(bodyBytes int, results []schema.MutationResult) {
	m.pushBytes.Observe(float64(bodyBytes))
	m.pushMutations.Observe(float64(len(results)))
	for _, r := range results {
		m.mutations.WithLabelValues(r.Status).Inc()
		switch r.Status {
		case schema.StatusConflict:
			m.conflicts.Inc()
		case schema.StatusRejected:
			m.setAsides.Inc()
		}
	}
}

// observePull counts one pull page sent.
func (m *metrics) observePull(records int, bytes int64) {
	m.pullRecords.Observe(float64(records))
	m.pullBytes.Observe(float64(bytes))
}

// watchWaitingPulls registers the gauge of the pulls waiting now.
func (m *metrics) watchWaitingPulls(n func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "doorstep_sync_pulls_waiting",
		Help: "Pulls waiting for a change now (at most --max-waiting-pulls), each holding a connection.",
	}, n))
}

// watchJobs registers the compliance service's gate on the answers
// computed in Go (compliance.Service.Job), read at each scrape.
func (m *metrics) watchJobs(stats func() compliance.JobStats) {
	m.reg.MustRegister(jobsCollector(stats))
}

// jobsCollector reads the gate's figures when Prometheus scrapes.
type jobsCollector func() compliance.JobStats

var (
	descJobsRunning = prometheus.NewDesc("doorstep_report_jobs_running", "Compliance answers computed in Go (from decoded records) running now.", nil, nil)
	descJobsWaiting = prometheus.NewDesc("doorstep_report_jobs_waiting", "Requests waiting for their turn to compute a compliance answer in Go.", nil, nil)
	descJobsMax     = prometheus.NewDesc("doorstep_report_jobs_max", "The most compliance answers computed in Go at once (--max-report-jobs).", nil, nil)
	descJobsRefused = prometheus.NewDesc("doorstep_report_jobs_refused_total", "Requests answered 503 busy after waiting in vain for their turn.", nil, nil)
	descJobsCases   = prometheus.NewDesc("doorstep_report_cases_in_flight", "Cases the compliance answers computed in Go running now cover (loaded or loading).", nil, nil)
	descJobsMaxCase = prometheus.NewDesc("doorstep_report_cases_max", "The most cases the compliance answers computed in Go at once may cover together (--max-report-cases).", nil, nil)
)

func (jc jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJobsRunning, descJobsWaiting, descJobsMax, descJobsRefused, descJobsCases, descJobsMaxCase} {
		ch <- d
	}
}

func (jc jobsCollector) Collect(ch chan<- prometheus.Metric) {
	st := jc()
	ch <- prometheus.MustNewConstMetric(descJobsRunning, prometheus.GaugeValue, float64(st.Running))
	ch <- prometheus.MustNewConstMetric(descJobsWaiting, prometheus.GaugeValue, float64(st.Waiting))
	ch <- prometheus.MustNewConstMetric(descJobsMax, prometheus.GaugeValue, float64(st.Max))
	ch <- prometheus.MustNewConstMetric(descJobsRefused, prometheus.CounterValue, float64(st.Refused))
	ch <- prometheus.MustNewConstMetric(descJobsCases, prometheus.GaugeValue, float64(st.Cases))
	ch <- prometheus.MustNewConstMetric(descJobsMaxCase, prometheus.GaugeValue, float64(st.MaxCases))
}

// handler serves the registry in Prometheus's text format.
func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
}

// storeCollector reads the pools' figures and the active devices when
// Prometheus scrapes.
type storeCollector struct {
	st  storeStats
	now func() time.Time
}

var (
	descOpen     = prometheus.NewDesc("doorstep_db_open_connections", "Connections open, in use or idle, by pool (write, read).", []string{"pool"}, nil)
	descInUse    = prometheus.NewDesc("doorstep_db_in_use_connections", "Connections in use, by pool.", []string{"pool"}, nil)
	descIdle     = prometheus.NewDesc("doorstep_db_idle_connections", "Idle connections, by pool.", []string{"pool"}, nil)
	descMaxOpen  = prometheus.NewDesc("doorstep_db_max_open_connections", "The most connections the pool opens.", []string{"pool"}, nil)
	descWaits    = prometheus.NewDesc("doorstep_db_waits_total", "Times a query waited for a free connection, by pool.", []string{"pool"}, nil)
	descWaitTime = prometheus.NewDesc("doorstep_db_wait_seconds_total", "Time queries waited for a free connection, by pool.", []string{"pool"}, nil)
	descActive   = prometheus.NewDesc("doorstep_devices_active", "Devices not revoked seen within the window (15m, 24h).", []string{"within"}, nil)
)

func (sc *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descInUse, descIdle, descMaxOpen, descWaits, descWaitTime, descActive} {
		ch <- d
	}
}

func (sc *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range sc.st.PoolStats() {
		ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(p.OpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(descInUse, prometheus.GaugeValue, float64(p.InUse), p.Name)
		ch <- prometheus.MustNewConstMetric(descIdle, prometheus.GaugeValue, float64(p.Idle), p.Name)
		ch <- prometheus.MustNewConstMetric(descMaxOpen, prometheus.GaugeValue, float64(p.MaxOpenConnections), p.Name)
		ch <- prometheus.MustNewConstMetric(descWaits, prometheus.CounterValue, float64(p.WaitCount), p.Name)
		ch <- prometheus.MustNewConstMetric(descWaitTime, prometheus.CounterValue, p.WaitDuration.Seconds(), p.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := sc.now()
	for _, w := range activeWindows {
		n, err := sc.st.ActiveDevices(ctx, now.Add(-w.d))
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descActive, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(n), w.label)
	}
}

// routeLabel is the route pattern a request matched, never its path: ids
// and query strings stay out of metrics and logs. A request refused by a
// group's middleware (the admin routes without a token) counts under the
// group's prefix (/v1/admin); one that matched no route but the
// middleware every request passes (at "/") is "unmatched". No route of
// the server is "/" itself.
func routeLabel(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || r.Path == "/" || r.Path == "" {
		return "unmatched"
	}
	return r.Path
}

// observe is the first middleware: it answers any error of the chain
// (with errorHandler, so the status is known), then counts the request
// and writes the access log line: method, route pattern, status,
// duration, request id, answer size, client address (and a waiting
// pull's wait, which the duration metric leaves out). Never the path's
// ids, the query string, a header or a body. An answer streamed after
// the handler returned (a large report, decision 0074) is timed and
// logged when its last byte is written (streamEnd), so that its
// duration covers the body (decision 0079).
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	end := new(streamEnd)
	c.Locals(streamEndKey{}, end)
	if err := c.Next(); err != nil {
		if herr := s.errorHandler(c, err); herr != nil {
			s.log.Error("answer an error", "err", herr)
			c.Status(fiber.StatusInternalServerError)
		}
	}
	waited, _ := c.Locals(pullWaitedKey).(time.Duration)
	method, route, status := c.Method(), routeLabel(c), c.Response().StatusCode()
	rid, _ := c.Locals("rid").(string)
	remote, ctx := c.IP(), c.UserContext()
	s.metrics.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	done := func(bytes int64, streamed bool) {
		took := time.Since(start)
		s.metrics.duration.WithLabelValues(method, route).Observe((took - waited).Seconds())
		level := slog.LevelInfo
		if route == "/healthz" || route == "/readyz" {
			level = slog.LevelDebug // probes every few seconds would drown the rest
		}
		attrs := []any{"method", method, "route", route, "status", status,
			"duration_ms", float64(took.Microseconds()) / 1000, "request_id", rid}
		if streamed {
			attrs = append(attrs, "streamed", true)
		}
		attrs = append(attrs, "bytes", bytes, "remote", remote)
		if waited > 0 {
			attrs = append(attrs, "wait_ms", float64(waited.Microseconds())/1000)
		}
		s.log.Log(ctx, level, "http request", attrs...)
	}
	if c.Response().IsBodyStream() {
		// Reading the body here would hold it whole; its writer says
		// when it is written, and how much.
		end.then(func(n int64) { done(n, true) })
		return nil
	}
	done(int64(len(c.Response().Body())), false)
	return nil
}

// streamEndKey is the Locals key of the request's streamEnd.
type streamEndKey struct{}

// streamEnd joins the two ends of a streamed answer, which run on two
// goroutines in either order: observe, once the handler returned, gives
// what to do when the body is written (then); the body's writer says
// when it is, with the bytes it wrote (wrote). Whichever comes second
// runs it.
type streamEnd struct {
	mu     sync.Mutex
	n      int64
	ended  bool
	finish func(int64)
}

func (e *streamEnd) then(f func(int64)) {
	e.mu.Lock()
	ended, n := e.ended, e.n
	if !ended {
		e.finish = f
	}
	e.mu.Unlock()
	if ended {
		f(n)
	}
}

func (e *streamEnd) wrote(n int64) {
	e.mu.Lock()
	f := e.finish
	e.ended, e.n = true, n
	e.mu.Unlock()
	if f != nil {
		f(n)
	}
}

// countingWriter counts what passes through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}
