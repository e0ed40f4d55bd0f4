// Package syncer is the tablet agent: it keeps the officer's caseload in a
// local SQLite store (package devicedb), accepts local writes while offline,
// each validated by package schema and recorded in the same transaction as an
// outbox mutation, and syncs with the server: push the outbox, then pull
// changes since a cursor, as docs/sync-protocol.md specifies.
//
// The tablet and the server share only package schema and the wire protocol;
// this package never imports the server.
package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// Config configures an Agent. Zero values take the defaults in brackets.
type Config struct {
	// DataDir holds device.db. Required.
	DataDir string
	// ServerURL is the server's base URL ("https://doorstep.example"). ""
	// keeps the one stored by an earlier run.
	ServerURL string
	// HTTPClient sends every request [a client of its own]. Tests put a
	// fault-injecting RoundTripper in it.
	HTTPClient *http.Client
	Logger     *slog.Logger     // [discard]
	Now        func() time.Time // the device clock [time.Now]
	// Interval is the background sync period when pulls do not wait
	// (PullWait), and the pause after a sync signed out, locked or too
	// old to pull [30s].
	Interval time.Duration
	// Timeout bounds each request, body included [30s].
	Timeout time.Duration
	// PullWait is how long the background sync's pull asks the server to
	// hold an empty answer until a change comes (protocol §7.3), once a
	// sync has left nothing to send or receive [25s, schema.MaxPullWait,
	// the most]. It is kept 5 s under Timeout and within the data key's
	// hold; under 1 s, or negative, the tablet polls every Interval
	// instead. Against a server that answers at once (one that ignores
	// the member) the tablet falls back to the Interval.
	PullWait time.Duration
	// BatchSize is the first and the largest push batch [500].
	BatchSize int
	// PullLimit is the page size asked of the server [2000].
	PullLimit int
	// AppVersion is sent with every request ["dev"].
	AppVersion string
	// KeyHold is how long the data key stays in memory after the
	// officer's last use of the app [15 minutes]; then it is dropped and
	// the tablet is locked (sealed.go). It is never shorter than the app's
	// lock: the app asks for the key at each request (KeepKey).
	KeyHold time.Duration
	// Unsealed keeps the store in clear: nothing is sealed at the sign-in.
	// For the sync benchmark's comparison only (doorstep bench sync
	// --sealed=false); a store already sealed stays sealed.
	Unsealed bool
	// AfterApplyPage, when set, runs inside each pull transaction after the
	// page is applied and before its cursor is stored; an error aborts the
	// transaction, as a crash at that point would. For tests.
	AfterApplyPage func() error
	// ShredKeys destroys the tablet's keys when the offline lease's grace
	// has run out (lease.go), so that what the tablet holds can no longer
	// be read, even with the password [Agent.EraseLocalData].
	// cmd/doorstep sets it.
	ShredKeys func(context.Context) error
}

func (c *Config) defaults() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Interval <= 0 {
		c.Interval = 30 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.PullWait == 0 {
		c.PullWait = schema.MaxPullWait * time.Second
	}
	c.PullWait = min(c.PullWait, schema.MaxPullWait*time.Second)
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	c.BatchSize = min(c.BatchSize, schema.MaxPushMutations)
	if c.PullLimit <= 0 {
		c.PullLimit = schema.DefaultPullLimit
	}
	c.PullLimit = min(c.PullLimit, schema.MaxPullLimit)
	if c.KeyHold <= 0 {
		c.KeyHold = DefaultKeyHold
	}
	if c.AppVersion == "" {
		c.AppVersion = "dev"
	}
	c.ServerURL = strings.TrimRight(c.ServerURL, "/")
}

// Agent is one tablet: its store, its clock and its sync client. Its methods
// are safe for concurrent use; syncs run one at a time.
type Agent struct {
	cfg      Config
	db       *devicedb.DB
	log      *slog.Logger
	deviceID string
	// devicePublic is the public half of the key that signs the visits
	// signed on this tablet (devicekey.go); the private half is sealed.
	devicePublic string
	clock        *schema.Clock
	// keyUsed is when the officer last used the data key (unix ns on the
	// device clock): it is dropped KeyHold after (seal.go).
	keyUsed atomic.Int64

	syncMu sync.Mutex // one sync at a time
	batch  int        // current push batch size, under syncMu

	// waitMu guards the background pull's wait (pull.go, fetchWaiting):
	// a sync asked for (SyncOnce, SyncNow) ends it, so that nobody waits
	// for the server's quiet.
	waitMu     sync.Mutex
	foreground int                // SyncOnce calls under way
	stopWait   context.CancelFunc // ends the wait under way; nil when none

	skewMs  atomic.Int64
	hasSkew atomic.Bool
	last    lastSync // the syncs' outcome, and what the store holds of it (sync.go)
	wake    chan struct{}
	rules   atomic.Pointer[serverRules] // the server's visit rules (rules.go)

	leaseMu sync.Mutex // guards leaseSt
	leaseSt leaseState // the offline lease (lease.go)
	shredMu sync.Mutex // one shred at a time
}

// Sentinel errors a caller branches on.
var (
	// ErrSignedOut: no usable tokens; the officer must sign in (data and
	// outbox are kept).
	ErrSignedOut = errors.New("signed out: sign in again to sync (local data and unsent changes are kept)")
	// ErrDeviceRevoked: the server revoked this tablet; its local data was
	// erased.
	ErrDeviceRevoked = errors.New("this tablet was revoked by an administrator; its local data has been erased")
	// ErrUpdateRequired: the server no longer serves pulls to this version;
	// pushes still go.
	ErrUpdateRequired = errors.New("update required: this app is too old to receive changes; update it (unsent changes are kept and still sent)")
	// ErrNoServer: no server address is configured or stored.
	ErrNoServer = errors.New("no server address: start the tablet with --server once")
	// ErrNetwork: a request to the server failed in transit (no
	// connection, or an answer cut short); the sync is retried later.
	ErrNetwork = errors.New("the network failed; the sync will be tried again")
)

// Open opens the tablet's store in cfg.DataDir, making the device id on the
// first run, and restores the clock so stamps keep increasing.
func Open(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("open tablet agent: no data folder given")
	}
	cfg.defaults()
	db, err := devicedb.Open(ctx, filepath.Join(cfg.DataDir, "device.db"), cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("open tablet agent: %w", err)
	}
	a := &Agent{cfg: cfg, db: db, log: cfg.Logger, batch: cfg.BatchSize, wake: make(chan struct{}, 1)}
	var last schema.HLC
	err = db.Update(ctx, func(tx *devicedb.Tx) error {
		st, err := tx.States(ctx)
		if err != nil {
			return err
		}
		a.deviceID = st[devicedb.KeyDeviceID]
		if a.deviceID == "" {
			a.deviceID = schema.NewID()
			if err := tx.SetState(ctx, devicedb.KeyDeviceID, a.deviceID); err != nil {
				return err
			}
		}
		if a.devicePublic, err = loadDeviceKey(ctx, tx, st); err != nil {
			return err
		}
		if cfg.ServerURL != "" && cfg.ServerURL != st[devicedb.KeyServerURL] {
			if err := tx.SetState(ctx, devicedb.KeyServerURL, cfg.ServerURL); err != nil {
				return err
			}
		}
		if last, err = schema.ParseHLC(st[devicedb.KeyHLC]); err != nil {
			return fmt.Errorf("stored clock: %w", err)
		}
		if err := a.loadRules(ctx, tx); err != nil {
			return err
		}
		if err := a.loadLease(st); err != nil {
			return err
		}
		if s := st[devicedb.KeyClockSkewMs]; s != "" {
			if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
				a.skewMs.Store(ms)
				a.hasSkew.Store(true)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open tablet agent: %w", err)
	}
	a.clock = schema.NewClock(a.deviceID, a.serverNow)
	a.clock.Observe(last)
	if a.cfg.ShredKeys == nil {
		a.cfg.ShredKeys = a.EraseLocalData
	}
	return a, nil
}

// Close writes the time of the last good sync when only memory holds it
// (a no-op sync does not write it: sync.go), drops the data key and
// closes the store. Stop Run first.
func (a *Agent) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ferr := a.flushLastSync(ctx)
	if ferr != nil {
		ferr = fmt.Errorf("close: write the last sync's time: %w", ferr)
	}
	return errors.Join(ferr, a.db.Close())
}

// DeviceID returns the tablet's id, made on its first run.
func (a *Agent) DeviceID() string { return a.deviceID }

// DB returns the local store, for tools and tests that inspect it.
func (a *Agent) DB() *devicedb.DB { return a.db }

// Status is what the tablet shows about its sync state.
type Status struct {
	ServerURL      string       `json:"server_url"`
	DeviceID       string       `json:"device_id"`
	User           *schema.User `json:"user,omitempty"`
	SignedIn       bool         `json:"signed_in"`
	Revoked        bool         `json:"revoked,omitempty"`
	LastSyncAt     time.Time    `json:"last_sync_at,omitzero"`
	LastError      string       `json:"last_error,omitempty"`
	Pending        int          `json:"pending"`
	Rejected       int          `json:"rejected"`
	Conflicts      int          `json:"conflicts"`
	ClockSkewMs    int64        `json:"clock_skew_ms"`
	UpdateRequired bool         `json:"update_required"`
	Cursor         string       `json:"cursor"`
	// Locked: the store is sealed and its data key is not held; the
	// conflicts are not counted and no sync runs until an unlock.
	Locked bool `json:"locked,omitempty"`
	// RulesVersion is the version of the server's visit rules the tablet
	// holds; "" when it holds none (the app uses its defaults).
	RulesVersion string `json:"rules_version,omitempty"`
	// Lease is how the offline lease stands (lease.go).
	Lease LeaseStatus `json:"lease"`
}

// Status reports the sync state.
func (a *Agent) Status(ctx context.Context) (Status, error) {
	s := Status{DeviceID: a.deviceID, Lease: a.Lease()}
	if p, _ := a.Rules(); p != nil {
		s.RulesVersion = p.Version
	}
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		st, err := tx.States(ctx)
		if err != nil {
			return err
		}
		s.ServerURL = st[devicedb.KeyServerURL]
		s.User, err = userOf(st[devicedb.KeyUser])
		if err != nil {
			return err
		}
		s.SignedIn = s.User != nil && st[devicedb.KeyRefreshToken] != ""
		s.Revoked = st[devicedb.KeyRevoked] != ""
		if t := st[devicedb.KeyLastSyncAt]; t != "" {
			s.LastSyncAt, _ = time.Parse(time.RFC3339Nano, t)
		}
		s.LastSyncAt = a.lastSyncAt(s.LastSyncAt) // a no-op sync's is in memory
		s.LastError = st[devicedb.KeyLastError]
		s.ClockSkewMs, _ = strconv.ParseInt(st[devicedb.KeyClockSkewMs], 10, 64)
		if a.hasSkew.Load() {
			s.ClockSkewMs = a.skewMs.Load() // the latest measure
		}
		s.UpdateRequired = st[devicedb.KeyUpdateRequired] != ""
		s.Cursor = st[devicedb.KeyCursor]
		if s.Pending, s.Rejected, err = tx.CountOutbox(ctx); err != nil {
			return err
		}
		if s.Locked = !a.HoldsKey(); s.Locked {
			return nil
		}
		s.Conflicts, err = tx.CountOpenConflicts(ctx)
		return err
	})
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	return s, nil
}

func userOf(s string) (*schema.User, error) {
	if s == "" {
		return nil, nil
	}
	var u schema.User
	if err := json.Unmarshal([]byte(s), &u); err != nil {
		return nil, fmt.Errorf("stored user: %w", err)
	}
	return &u, nil
}

// serverURL returns the stored server address.
func (a *Agent) serverURL(ctx context.Context) (string, error) {
	var u string
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		u, err = tx.State(ctx, devicedb.KeyServerURL)
		return err
	})
	if err != nil {
		return "", err
	}
	if u == "" {
		return "", ErrNoServer
	}
	return u, nil
}
