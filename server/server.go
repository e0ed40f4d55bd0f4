// Package server is Doorstep's central JSON API: sign-in and tokens, the
// sync endpoints tablets push to and pull from (docs/sync-protocol.md), a
// REST view of every entity, the admin endpoints, and the compliance
// measures as JSON (computed by package compliance). Storage is package
// serverdb; the supervisors' HTML dashboard is package dashboard, mounted
// on the same app through Config.Mount.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/internal/fsperm"
	"doorstep/internal/linger"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// Config configures a Server. Zero values take the defaults in brackets.
type Config struct {
	Addr    string // listen address ["127.0.0.1:8080"]; ":0" picks a port
	DataDir string // folder of server.db (created 0700; refused if others can read it) [required without DB]
	// DB is the database URL (postgres://… or postgresql://…): the store
	// is that PostgreSQL database, and DataDir holds nothing of it ["":
	// SQLite, DataDir/server.db].
	DB string
	// SecretsDir is the folder of the token signing keys (KeyFile),
	// apart from the data so that a copy of the data cannot mint tokens
	// [DefaultSecretsDir(DataDir)].
	SecretsDir string
	Logger     *slog.Logger     // [discard]
	Now        func() time.Time // the clock, injected by tests [time.Now]
	AccessTTL  time.Duration    // access token lifetime [15m]
	RefreshTTL time.Duration    // refresh token lifetime [30 days]
	// Policy is the visit policy the compliance measures compute with
	// [policy.Default()]: the admin's rules file (doorstep server --rules),
	// parsed and checked with policy.Parse before the server opens.
	Policy *policy.Policy
	// Rules is the rules document Policy is parsed from (the --rules file
	// as read), sent to tablets with their pulls (rules.go); Policy may
	// then be left nil. Without it: the embedded defaults, or Policy's own
	// JSON.
	Rules []byte
	// MaxReportCases is the most cases one compliance answer computed in
	// Go (a report at detail=full or summary, a dashboard page, a
	// publication) may cover; more is a 422 too_many_cases
	// [compliance.DefaultMaxCases].
	MaxReportCases int
	// MaxReportJobs is the most such answers computed at once; a request
	// over it waits its turn, at most ReportJobWait, then is answered
	// 503 busy with Retry-After (decision 0060)
	// [compliance.DefaultMaxJobs, compliance.DefaultJobWait].
	MaxReportJobs int
	ReportJobWait time.Duration
	// MaxReportCasesInFlight is the most cases such answers computed at
	// once cover together: a request whose cases do not fit beside the
	// running ones' waits, at most ReportJobWait, then is answered 503
	// busy (decision 0079) [MaxReportCases: one answer's worth].
	MaxReportCasesInFlight int
	// MaxWaitingPulls is the most pulls waiting for a change at once
	// (docs/sync-protocol.md §7.3); a pull over it is answered at once, as
	// if it had not asked to wait [DefaultMaxWaitingPulls].
	MaxWaitingPulls int
	// Mount, when set, adds routes of its own to the app (s.App()) while
	// the routes are built: after the API's, before the final answer to
	// an unknown path. cmd/doorstep mounts the supervisors' dashboard
	// (package server/dashboard) with it.
	Mount func(s *Server)
	// TLSCert and TLSKey are the PEM files of the certificate (its chain)
	// and its private key: with both, Start serves HTTPS, for a deployment
	// without a TLS-terminating proxy. Both or neither [neither: http].
	TLSCert, TLSKey string
	// MetricsAddr is the address of the listener that serves /metrics
	// (Prometheus), apart from the API's so that it is reachable only where
	// the operator binds it (decision 0036) ["": no metrics listener].
	MetricsAddr string
	// reportHeadBytes is sendReport's: the largest report answer held
	// whole; a larger one is streamed. Tests set it low [reportHeadBytes].
	reportHeadBytes int
	// deviceFlush is the store's: how often the device reports kept in
	// memory are written. Tests set it long, so that no flush lands in a
	// window they count writes in [serverdb.DefaultDeviceFlush].
	deviceFlush time.Duration
}

// DBFile is the database file's name inside Config.DataDir.
const DBFile = "server.db"

// Server is the running HTTP API and its store.
type Server struct {
	cfg  Config
	db   *serverdb.DB
	app  *fiber.App
	log  *slog.Logger
	keys *keyring
	comp *compliance.Service // what the compliance measures read, loaded and cached
	// ready is what /readyz checks (the store); metrics what /metrics
	// serves, on metricsApp.
	ready      readiness
	metrics    *metrics
	metricsApp *fiber.App
	tls        *tls.Config // nil: plain http
	// signKey is the server's Ed25519 key: it countersigns visits and
	// signs offline leases (lease.go); pubKey is its public half, base64.
	signKey ed25519.PrivateKey
	pubKey  string
	// outbox is the key pair tablets seal their outbox entries to
	// (outboxkey.go).
	outbox *outboxKey

	// stopCtx ends when Close begins: pulls waiting for a change
	// (sync.go) answer then, rather than hold the shutdown.
	stopCtx context.Context
	stopAll context.CancelFunc
	// waitingPulls counts the pulls waiting now (takeWaitingPull).
	waitingPulls atomic.Int64

	mu        sync.Mutex
	ln        net.Listener
	metricsLn net.Listener
}

// Open creates the data folder (or checks that no one else can read it),
// opens its database, loads (or makes, on the first start) the token
// signing keys in the secrets folder and builds the routes. It does not
// listen yet: see Start.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" && (cfg.DB == "" || cfg.SecretsDir == "") {
		return nil, errors.New("server: DataDir is required (--data)")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.MaxWaitingPulls <= 0 {
		cfg.MaxWaitingPulls = DefaultMaxWaitingPulls
	}
	rules, err := rulesOf(&cfg)
	if err != nil {
		return nil, err
	}
	review := cfg.Policy.ReviewRules()
	tlsConfig, err := loadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.SecretsDir == "" {
		cfg.SecretsDir = DefaultSecretsDir(cfg.DataDir)
	}
	target := cfg.DB
	if target == "" {
		var err error
		if target, err = prepareDataDir(cfg.DataDir, cfg.Logger); err != nil {
			return nil, err
		}
	}
	keys, created, err := loadKeyring(cfg.SecretsDir, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("server: token keys: %w", err)
	}
	if created {
		cfg.Logger.Info("generated a new token signing key; keep the secrets folder apart from the data and its backups", "file", keys.path)
	}
	visitKey, visitKeyPath, created, err := loadVisitKey(cfg.SecretsDir, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("server: visit signing key: %w", err)
	}
	if created {
		cfg.Logger.Info("generated the server's visit signing key (it countersigns the visits tablets sign and signs their offline leases); keep the secrets folder apart from the data and its backups", "file", visitKeyPath)
	}
	outbox, outboxPath, created, err := loadOutboxKey(cfg.SecretsDir, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("server: outbox key: %w", err)
	}
	if created {
		cfg.Logger.Info("generated the server's outbox key (tablets seal their unsent changes to it); keep the secrets folder apart from the data and its backups", "file", outboxPath)
	}
	m := newMetrics()
	db, err := serverdb.Open(ctx, target, serverdb.Options{Now: cfg.Now, Logger: cfg.Logger, Rules: rules, Review: &review, VisitKey: visitKey, Policy: cfg.Policy,
		DeviceFlush: cfg.deviceFlush, WriterWait: func(d time.Duration) { m.writerWait.Observe(d.Seconds()) }})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := dropLegacySecret(ctx, db, cfg.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("server: token keys: %w", err)
	}
	s := &Server{cfg: cfg, db: db, log: cfg.Logger, keys: keys, outbox: outbox,
		comp: compliance.NewService(db, cfg.Policy), ready: db, metrics: m, tls: tlsConfig,
		signKey: visitKey, pubKey: schema.EncodePublicKey(visitKey.Public().(ed25519.PublicKey))}
	s.comp.MaxCases = cfg.MaxReportCases
	s.comp.MaxJobs, s.comp.JobWait = cfg.MaxReportJobs, cfg.ReportJobWait
	s.comp.MaxCasesInFlight = cfg.MaxReportCasesInFlight
	s.stopCtx, s.stopAll = context.WithCancel(context.Background())
	m.watchStore(db, cfg.Now)
	m.watchJobs(s.comp.JobStats)
	m.watchWaitingPulls(func() float64 { return float64(s.waitingPulls.Load()) })
	// fasthttp arms ReadTimeout to read a request and WriteTimeout once
	// the handler has returned, to write the answer: neither runs while a
	// pull waits (up to schema.MaxPullWait), so neither cuts it.
	// IdleTimeout is between requests on a kept-alive connection.
	// Concurrency stays fiber's default (262,144 connections), over
	// MaxWaitingPulls.
	s.app = fiber.New(fiber.Config{
		// A gzipped push may be a little larger than its limit when the
		// data does not compress; the decompressed size is checked after.
		BodyLimit:             schema.MaxPushBody + 1<<20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		// Values handed to the store outlive nothing, but copies keep a
		// slip from ever aliasing fasthttp's reused buffers.
		Immutable: true,
	})
	s.routes()
	s.metricsApp = fiber.New(fiber.Config{ErrorHandler: s.errorHandler, DisableStartupMessage: true,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second})
	s.metricsRoutes()
	return s, nil
}

// prepareDataDir makes the data folder and its SQLite file, readable by
// their owner only, and returns the file's path.
func prepareDataDir(dir string, log *slog.Logger) (string, error) {
	if err := fsperm.MakeDir(dir, "data folder"); err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	if err := fsperm.CreateFile(path); err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	if changed, err := fsperm.Tighten(path, path+"-wal", path+"-shm"); err != nil {
		return "", fmt.Errorf("server: %w", err)
	} else if len(changed) > 0 {
		log.Warn("made the database's files readable by their owner only (mode 0600)", "files", changed)
	}
	return path, nil
}

// DB returns the store, for wiring and tests.
func (s *Server) DB() *serverdb.DB { return s.db }

// Logger returns the logger of Config.Logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Now is the server's clock (Config.Now).
func (s *Server) Now() time.Time { return s.cfg.Now() }

// Policy returns the visit policy of Config.Policy; nil means
// policy.Default().
func (s *Server) Policy() *policy.Policy { return s.cfg.Policy }

// Compliance returns the service that loads and caches what the
// compliance measures read, shared by the JSON endpoints and the
// dashboard.
func (s *Server) Compliance() *compliance.Service { return s.comp }

// App returns the fiber app, for tests that call it without a socket.
func (s *Server) App() *fiber.App { return s.app }

// MetricsApp returns the fiber app of the metrics listener
// (Config.MetricsAddr), for tests that walk its routes.
func (s *Server) MetricsApp() *fiber.App { return s.metricsApp }

// Start listens on the configured address (with TLS when configured), and
// on the metrics address when one is configured, and serves in the
// background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w (is another server running? choose another --addr)", s.cfg.Addr, err)
	}
	var mln net.Listener
	if s.cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", s.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("server: listen on %s for metrics: %w (choose another --metrics-addr, or leave it empty for none)", s.cfg.MetricsAddr, err)
		}
	}
	s.mu.Lock()
	s.ln, s.metricsLn = ln, mln
	s.mu.Unlock()
	// The TLS layer goes over the lingering close, so fasthttp sees a TLS
	// connection (c.Protocol() is "https": the dashboard's cookies are
	// Secure) and close_notify is sent before the lingering close.
	var served net.Listener = linger.Listener{Listener: ln}
	if s.tls != nil {
		served = tls.NewListener(served, s.tls)
	}
	go func() {
		if err := s.app.Listener(served); err != nil {
			s.log.Error("server stopped", "err", err)
		}
	}()
	if mln != nil {
		go func() {
			if err := s.metricsApp.Listener(mln); err != nil {
				s.log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	return nil
}

// URL returns the base URL, "http://127.0.0.1:PORT" ("https://…" with
// TLS), once started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	if s.tls != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// MetricsURL returns the metrics listener's base URL, or "" when there is
// none (Config.MetricsAddr empty) or before Start.
func (s *Server) MetricsURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metricsLn == nil {
		return ""
	}
	return "http://" + s.metricsLn.Addr().String()
}

// Close stops accepting requests, lets those in flight finish (up to 10
// s), then closes the store.
func (s *Server) Close() error {
	s.stopAll()
	var errs []error
	s.mu.Lock()
	started, metricsStarted := s.ln != nil, s.metricsLn != nil
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if started {
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: shutdown: %w", err))
		}
	}
	if metricsStarted {
		if err := s.metricsApp.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: shutdown of the metrics listener: %w", err))
		}
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

func (s *Server) routes() {
	app := s.app
	app.Use(s.observe) // first: it sees every answer, errors included
	app.Use(s.requestID)
	// A panic is a bug of ours: answer it as an internal error with the
	// request id rather than let it take the server down.
	app.Use(recover.New())
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", s.readyz)

	v1 := app.Group("/v1")
	v1.Post("/auth/login", s.login)
	v1.Post("/auth/refresh", s.refresh)
	v1.Post("/auth/setup", s.setup)
	v1.Post("/auth/logout", s.authed, s.logout)
	v1.Get("/me", s.authed, s.me)

	v1.Post("/sync/push", s.authed, s.push)
	v1.Post("/sync/pull", s.authed, s.pull)
	v1.Get("/audit", s.authed, s.auditTrail)

	admin := v1.Group("/admin", s.authed, s.adminOnly)
	admin.Post("/teams", s.createTeam)
	admin.Post("/users", s.createUser)
	admin.Post("/users/:username/reset-password", s.resetPassword)
	admin.Post("/cases/:id/reassign", s.reassign)
	admin.Get("/devices", s.listDevices)
	admin.Post("/devices/:id/revoke", s.revokeDevice)
	s.complianceRoutes(v1) // before the /:path catch-alls
	s.complianceCasesRoutes(v1)
	s.complianceQARoutes(v1)
	s.freshnessRoutes(v1)
	s.reviewRoutes(v1)
	s.periodRoutes(v1)

	v1.Get("/:path", s.authed, s.listRecords)
	v1.Get("/:path/:id", s.authed, s.getRecord)
	v1.Post("/:path", s.authed, s.createRecord)
	v1.Patch("/:path/:id", s.authed, s.patchRecord)

	if s.cfg.Mount != nil {
		s.cfg.Mount(s)
	}

	app.Use(noSuchEndpoint)
}

func noSuchEndpoint(c *fiber.Ctx) error {
	return schema.Errorf(schema.ECodeNotFound, "", "no such endpoint: %s %s", c.Method(), c.Path())
}

// metricsRoutes: the metrics listener serves /metrics and nothing else.
// Whoever reaches the listener may read it (decision 0036); it holds
// counts, never a person, a case or an id.
func (s *Server) metricsRoutes() {
	app := s.metricsApp
	app.Use(s.requestID)
	app.Use(recover.New())
	app.Get("/metrics", s.metrics.handler())
	app.Use(noSuchEndpoint)
}

// loadTLS reads the certificate and key files: both or neither.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, errors.New("TLS: --tls-key was given without --tls-cert; give both (or neither, for plain http)")
	case keyFile == "":
		return nil, errors.New("TLS: --tls-cert was given without --tls-key; give both (or neither, for plain http)")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS: load --tls-cert %s and --tls-key %s: %w (both PEM: the certificate, then its chain; the key unencrypted)", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
