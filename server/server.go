// Package server is Doorstep's central JSON API: sign-in and tokens, the
// sync endpoints tablets push to and pull from (docs/sync-protocol.md), a
// REST view of every entity, the admin endpoints, and the compliance
// measures as JSON (computed by package compliance). Storage is package
// serverdb; the supervisors' HTML dashboard is package dashboard, mounted
// on the same app through Config.Mount.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
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
	DataDir string // folder of server.db (created 0700; refused if others can read it) [required]
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
	// Mount, when set, adds routes of its own to the app (s.App()) while
	// the routes are built: after the API's, before the final answer to
	// an unknown path. cmd/doorstep mounts the supervisors' dashboard
	// (package server/dashboard) with it.
	Mount func(s *Server)
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
	// outbox is the key pair tablets seal their outbox entries to
	// (outboxkey.go).
	outbox *outboxKey

	mu sync.Mutex
	ln net.Listener
}

// Open creates the data folder (or checks that no one else can read it),
// opens its database, loads (or makes, on the first start) the token
// signing keys in the secrets folder and builds the routes. It does not
// listen yet: see Start.
func Open(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
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
	rules, err := rulesOf(&cfg)
	if err != nil {
		return nil, err
	}
	review := cfg.Policy.ReviewRules()
	if cfg.SecretsDir == "" {
		cfg.SecretsDir = DefaultSecretsDir(cfg.DataDir)
	}
	if err := fsperm.MakeDir(cfg.DataDir, "data folder"); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	path := filepath.Join(cfg.DataDir, DBFile)
	if err := fsperm.CreateFile(path); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if changed, err := fsperm.Tighten(path, path+"-wal", path+"-shm"); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	} else if len(changed) > 0 {
		cfg.Logger.Warn("made the database's files readable by their owner only (mode 0600)", "files", changed)
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
		cfg.Logger.Info("generated the server's visit signing key (it countersigns the visits tablets sign); keep the secrets folder apart from the data and its backups", "file", visitKeyPath)
	}
	outbox, outboxPath, created, err := loadOutboxKey(cfg.SecretsDir, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("server: outbox key: %w", err)
	}
	if created {
		cfg.Logger.Info("generated the server's outbox key (tablets seal their unsent changes to it); keep the secrets folder apart from the data and its backups", "file", outboxPath)
	}
	db, err := serverdb.Open(ctx, path, serverdb.Options{Now: cfg.Now, Logger: cfg.Logger, Rules: rules, Review: &review, VisitKey: visitKey})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := dropLegacySecret(ctx, db, cfg.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("server: token keys: %w", err)
	}
	s := &Server{cfg: cfg, db: db, log: cfg.Logger, keys: keys, outbox: outbox,
		comp: compliance.NewService(db, cfg.Policy)}
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
	return s, nil
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

// Start listens on the configured address and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w (is another server running? choose another --addr)", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		if err := s.app.Listener(linger.Listener{Listener: ln}); err != nil {
			s.log.Error("server stopped", "err", err)
		}
	}()
	return nil
}

// URL returns the base URL, "http://127.0.0.1:PORT", once started.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests, lets those in flight finish (up to 10
// s), then closes the store.
func (s *Server) Close() error {
	var errs []error
	s.mu.Lock()
	started := s.ln != nil
	s.mu.Unlock()
	if started {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("server: shutdown: %w", err))
		}
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

func (s *Server) routes() {
	app := s.app
	app.Use(s.requestID)
	// A panic is a bug of ours: answer it as an internal error with the
	// request id rather than let it take the server down.
	app.Use(recover.New())
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })

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
	s.complianceQARoutes(v1)
	s.freshnessRoutes(v1)
	s.reviewRoutes(v1)

	v1.Get("/:path", s.authed, s.listRecords)
	v1.Get("/:path/:id", s.authed, s.getRecord)
	v1.Post("/:path", s.authed, s.createRecord)
	v1.Patch("/:path/:id", s.authed, s.patchRecord)

	if s.cfg.Mount != nil {
		s.cfg.Mount(s)
	}

	app.Use(func(c *fiber.Ctx) error {
		return schema.Errorf(schema.ECodeNotFound, "", "no such endpoint: %s %s", c.Method(), c.Path())
	})
}
