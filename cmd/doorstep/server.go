package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/dashboard"
	"doorstep/server/serverdb"
)

// serverCmd runs the central server until interrupted.
type serverCmd struct {
	stdout, stderr io.Writer
	addr, data     string
	secrets        string
	db             string
	log            logFlags
	rules          string
	tlsCert        string
	tlsKey         string
	metricsAddr    string
	maxCases       int
	maxJobs        int
	maxWaiting     int
	memoryLimit    int // MiB; 0: none of Doorstep's
	srv            *server.Server
}

// defaultMemoryLimitMiB is --memory-limit's default: the Go collector's
// soft limit, so that the heap's garbage does not take the server past
// 1 GiB of resident memory (issue 13; decision 0070).
const defaultMemoryLimitMiB = 800

func (c *serverCmd) ParseFlags(args []string) error {
	if err := parseWithEnv(c.flagSet(), args); err != nil {
		return err
	}
	if err := c.log.check(); err != nil {
		return err
	}
	if c.maxCases < 1 {
		return fmt.Errorf("--max-report-cases: %d must be at least 1 (the default is %d)", c.maxCases, compliance.DefaultMaxCases)
	}
	if c.maxJobs < 1 {
		return fmt.Errorf("--max-report-jobs: %d must be at least 1 (the default is %d)", c.maxJobs, compliance.DefaultMaxJobs)
	}
	if c.maxWaiting < 1 {
		return fmt.Errorf("--max-waiting-pulls: %d must be at least 1 (the default is %d)", c.maxWaiting, server.DefaultMaxWaitingPulls)
	}
	if c.memoryLimit < 0 {
		return fmt.Errorf("--memory-limit: %d must be 0 (no limit) or more MiB (the default is %d)", c.memoryLimit, defaultMemoryLimitMiB)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("server: give --tls-cert and --tls-key together (or neither, for plain http behind a proxy)")
	}
	return checkDBFlag(c.db)
}

// flagSet declares the server's flags, with their defaults, on c.
func (c *serverCmd) flagSet() *flag.FlagSet {
	fs := newFlagSet("server", c.stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.data, "data", "./data", "data folder: the SQLite database (mode 0700; refused if others can read it); unused with --db")
	fs.StringVar(&c.secrets, "secrets", "", "secrets folder: the token signing keys, kept apart from the data and its backups; empty means the data folder's name + \"-secrets\" (./data-secrets)")
	fs.StringVar(&c.db, "db", "", "PostgreSQL database URL (postgres://USER@HOST:5432/DATABASE; put a password in PGPASSWORD or ~/.pgpass, not here); empty means SQLite in the data folder")
	c.log.register(fs, "info")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate file (PEM, with its chain) to serve HTTPS without a proxy; needs --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the certificate's private key file (PEM); needs --tls-cert")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "address of a listener serving Prometheus metrics at /metrics, apart from --addr, e.g. 127.0.0.1:9464; whoever reaches it may read them; empty means no metrics")
	fs.IntVar(&c.maxCases, "max-report-cases", compliance.DefaultMaxCases, "the most cases one compliance answer computed case by case (a full or summary report, a dashboard page, a publication) may cover; more is answered 422 too_many_cases (docs/api.md); memory per answer grows with it")
	fs.IntVar(&c.maxJobs, "max-report-jobs", compliance.DefaultMaxJobs, "the most such answers computed at once; another waits its turn up to 30s, then is answered 503 busy (docs/api.md); memory is about this many times one answer's")
	fs.IntVar(&c.maxWaiting, "max-waiting-pulls", server.DefaultMaxWaitingPulls, "the most tablets' pulls waiting for a change at once (each holds a connection); a pull over it is answered at once, as if it had not asked to wait")
	fs.IntVar(&c.memoryLimit, "memory-limit", defaultMemoryLimitMiB, "the Go collector's soft memory limit in MiB: near it the collector runs more often rather than let the heap grow; 0 means none; GOMEMLIMIT, when set, wins")
	fs.StringVar(&c.rules, "rules", "", "visit rules file (JSON, docs/visit-policy.md) for the compliance measures, sent to the tablets with their pulls; empty means the built-in defaults")
	return fs
}

// checkDBFlag refuses a --db this build cannot open, before anything is
// touched: empty is SQLite in --data; otherwise a postgres:// or
// postgresql:// URL. The store checks the rest when it connects. A URL is
// never echoed whole: it may hold a password.
func checkDBFlag(db string) error {
	if db == "" {
		return nil
	}
	scheme, _, ok := strings.Cut(db, "://")
	if !ok || !serverdb.IsPostgresURL(db) {
		if !ok {
			scheme = "no scheme"
		}
		return fmt.Errorf("--db: %q is not a database URL this build understands (%s); give postgres://USER@HOST:5432/DATABASE, or leave --db empty for SQLite in --data", redactedDB(db), scheme)
	}
	u, err := url.Parse(db)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("--db: not a valid URL (%v); give postgres://USER@HOST:5432/DATABASE", err)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("--db: %s names no host; give postgres://USER@HOST:5432/DATABASE", u.Redacted())
	}
	return nil
}

// redactedDB is --db as it may be logged or printed: a URL's password
// replaced by xxxxx; anything that does not parse, only its scheme.
func redactedDB(db string) string {
	if u, err := url.Parse(db); err == nil {
		return u.Redacted()
	}
	scheme, _, _ := strings.Cut(db, "://")
	return scheme + "://…"
}

// storeName says where a command's store is, for its log and messages.
func storeName(db, data string) string {
	if db != "" {
		return redactedDB(db)
	}
	return filepath.Join(data, serverDBFile)
}

// openServer opens the central server with the supervisors' dashboard
// mounted: every server this binary builds (server, demo, bench and the
// tests) is opened here.
func openServer(ctx context.Context, cfg server.Config) (*server.Server, error) {
	cfg.Mount = dashboard.Mount
	return server.Open(ctx, cfg)
}

func (c *serverCmd) Run(ctx context.Context) error {
	log, err := c.log.newLogger(c.stderr)
	if err != nil {
		return err
	}
	c.applyMemoryLimit(log)
	rules, doc, err := loadRules(c.rules, log)
	if err != nil {
		return err
	}
	c.srv, err = openServer(ctx, server.Config{Addr: c.addr, DataDir: c.data, DB: c.db, SecretsDir: c.secrets, Logger: log, Policy: rules, Rules: doc,
		TLSCert: c.tlsCert, TLSKey: c.tlsKey, MetricsAddr: c.metricsAddr, MaxReportCases: c.maxCases, MaxReportJobs: c.maxJobs, MaxWaitingPulls: c.maxWaiting})
	if err != nil {
		return err
	}
	if err := c.srv.Start(); err != nil {
		return err
	}
	log.Info("server listening", "url", c.srv.URL(), "store", storeName(c.db, c.data))
	if u := c.srv.MetricsURL(); u != "" {
		log.Info("metrics listening", "url", u+"/metrics")
	}
	<-ctx.Done()
	log.Info("server stopping")
	return nil
}

// applyMemoryLimit sets the Go collector's soft limit to --memory-limit,
// unless GOMEMLIMIT is set (the runtime has applied it) or the flag is 0,
// and logs which limit holds.
func (c *serverCmd) applyMemoryLimit(log *slog.Logger) {
	switch {
	case os.Getenv("GOMEMLIMIT") != "":
		log.Info("memory limit from GOMEMLIMIT; --memory-limit not applied", "GOMEMLIMIT", os.Getenv("GOMEMLIMIT"))
	case c.memoryLimit == 0:
		log.Info("no memory limit (--memory-limit 0): the heap may grow to twice what it holds")
	default:
		debug.SetMemoryLimit(int64(c.memoryLimit) << 20)
		log.Info("memory limit set (a soft limit: the collector works harder near it)", "mib", c.memoryLimit)
	}
}

func (c *serverCmd) Close() error {
	if c.srv == nil {
		return nil
	}
	return c.srv.Close()
}
