package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"doorstep/server"
	"doorstep/server/dashboard"
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
	srv            *server.Server
}

func (c *serverCmd) ParseFlags(args []string) error {
	if err := parseWithEnv(c.flagSet(), args); err != nil {
		return err
	}
	if err := c.log.check(); err != nil {
		return err
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
	fs.StringVar(&c.data, "data", "./data", "data folder: the SQLite database (mode 0700; refused if others can read it)")
	fs.StringVar(&c.secrets, "secrets", "", "secrets folder: the token signing keys, kept apart from the data and its backups; empty means the data folder's name + \"-secrets\" (./data-secrets)")
	fs.StringVar(&c.db, "db", "", "database URL; empty means SQLite in the data folder")
	c.log.register(fs, "info")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "certificate file (PEM, with its chain) to serve HTTPS without a proxy; needs --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the certificate's private key file (PEM); needs --tls-cert")
	fs.StringVar(&c.metricsAddr, "metrics-addr", "", "address of a listener serving Prometheus metrics at /metrics, apart from --addr, e.g. 127.0.0.1:9464; whoever reaches it may read them; empty means no metrics")
	fs.StringVar(&c.rules, "rules", "", "visit rules file (JSON, docs/visit-policy.md) for the compliance measures, sent to the tablets with their pulls; empty means the built-in defaults")
	return fs
}

// checkDBFlag refuses database URLs this build cannot serve yet.
func checkDBFlag(db string) error {
	switch {
	case db == "" || strings.HasPrefix(db, "sqlite:"):
		return nil
	case strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://"):
		return fmt.Errorf("--db: PostgreSQL is not supported by this build yet; leave --db empty to use SQLite in --data")
	default:
		return fmt.Errorf("--db: %q is not a database URL this build understands (leave it empty for SQLite)", db)
	}
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
	rules, doc, err := loadRules(c.rules, log)
	if err != nil {
		return err
	}
	c.srv, err = openServer(ctx, server.Config{Addr: c.addr, DataDir: c.data, SecretsDir: c.secrets, Logger: log, Policy: rules, Rules: doc,
		TLSCert: c.tlsCert, TLSKey: c.tlsKey, MetricsAddr: c.metricsAddr})
	if err != nil {
		return err
	}
	if err := c.srv.Start(); err != nil {
		return err
	}
	log.Info("server listening", "url", c.srv.URL(), "data", c.data)
	if u := c.srv.MetricsURL(); u != "" {
		log.Info("metrics listening", "url", u+"/metrics")
	}
	go func() {
		// Decode every case's records once, so the supervisors' first
		// dashboard is as quick as the next (docs/performance.md).
		start := time.Now()
		n, err := c.srv.Compliance().Warm(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("compliance cache not warmed; the first report reads the records itself", "err", err)
			}
			return
		}
		log.Info("compliance cache warm", "cases", n, "took", time.Since(start).Round(time.Millisecond))
	}()
	<-ctx.Done()
	log.Info("server stopping")
	return nil
}

func (c *serverCmd) Close() error {
	if c.srv == nil {
		return nil
	}
	return c.srv.Close()
}
