package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/serverdb"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
	"doorstep/syncer/officerapp"
)

// demoCmd starts a server seeded with a synthetic team and one tablet agent
// signed in as one of its officers, and runs both until interrupted.
type demoCmd struct {
	stdout, stderr         io.Writer
	data, addr, deviceAddr string
	log                    logFlags
	seed                   int64

	srv   *server.Server
	agent *syncer.Agent
	api   *localapi.API
}

func (c *demoCmd) ParseFlags(args []string) error {
	fs := newFlagSet("demo", c.stderr)
	fs.StringVar(&c.data, "data", "./demo-data", "folder for the demo's server and tablet data (created; reused when it exists)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "server address")
	fs.StringVar(&c.deviceAddr, "device-addr", "127.0.0.1:8081", "tablet agent's local API address (loopback)")
	c.log.register(fs, "warn")
	fs.Int64Var(&c.seed, "seed", 1, "seed of the synthetic data")
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	return c.log.check()
}

// demoLogins is where the demo keeps the passwords it generated, so a second
// run can print them again. It holds synthetic users only.
const demoLogins = "demo-logins.txt"

func (c *demoCmd) Run(ctx context.Context) error {
	log, err := c.log.newLogger(c.stderr)
	if err != nil {
		return err
	}
	serverDir := filepath.Join(c.data, "server")
	c.srv, err = openServer(ctx, server.Config{Addr: c.addr, DataDir: serverDir, Logger: log})
	if err != nil {
		return err
	}
	logins, err := seedDemo(ctx, c.srv.DB(), filepath.Join(c.data, demoLogins), c.seed, time.Now())
	if err != nil {
		return err
	}
	if err := c.srv.Start(); err != nil {
		return err
	}
	officer := logins[1] // [0] is the supervisor, then the officers
	c.agent, err = syncer.Open(ctx, syncer.Config{
		DataDir: filepath.Join(c.data, "tablet"), ServerURL: c.srv.URL(),
		Logger: log, AppVersion: version, Interval: 15 * time.Second,
	})
	if err != nil {
		return err
	}
	if _, err := c.agent.Login(ctx, officer.username, officer.password); err != nil {
		return fmt.Errorf("demo: tablet login: %w", err)
	}
	rep, err := c.agent.SyncOnce(ctx)
	if err != nil {
		return fmt.Errorf("demo: first sync: %w", err)
	}
	c.api = officerapp.New(c.agent, localapi.Config{Addr: c.deviceAddr, Logger: log})
	if err := c.api.Start(); err != nil {
		return err
	}
	c.printBanner(logins, officer, rep)
	err = c.agent.Run(ctx)
	fmt.Fprintln(c.stdout, "\nstopping the demo")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (c *demoCmd) printBanner(logins []demoLogin, officer demoLogin, rep syncer.SyncReport) {
	w := c.stdout
	fmt.Fprintf(w, "Doorstep demo (synthetic data only)\n\n")
	fmt.Fprintf(w, "  server        %s   (data: %s)\n", c.srv.URL(), filepath.Join(c.data, "server"))
	fmt.Fprintf(w, "  tablet agent  %s   (data: %s, signed in as %s, pulled %d records)\n",
		c.api.URL(), filepath.Join(c.data, "tablet"), officer.username, rep.Pulled)
	fmt.Fprintf(w, "  officer app   %s/   (open it in a browser; unlock as %s with the password below)\n", c.api.URL(), officer.username)
	fmt.Fprintf(w, "  dashboard     %s/dashboard/   (supervisors: sign in as %s with the password below)\n", c.srv.URL(), logins[0].username)
	fmt.Fprintf(w, "\nLogins (also in %s):\n", filepath.Join(c.data, demoLogins))
	for _, l := range logins {
		fmt.Fprintf(w, "  %-11s %-22s %s\n", l.role, l.username, l.password)
	}
	fmt.Fprintf(w, "\nTry:\n  curl %s/healthz\n", c.srv.URL())
	fmt.Fprintf(w, "  curl -H 'Content-Type: application/json' -d '{\"username\":\"%s\",\"password\":\"%s\"}' %s/v1/unlock   (answers a \"token\")\n",
		officer.username, officer.password, c.api.URL())
	fmt.Fprintf(w, "  curl -H 'Authorization: Bearer <token>' %s/v1/status\n", c.api.URL())
	fmt.Fprintf(w, "  go run ./cmd/doorstep device status --data %s\n", filepath.Join(c.data, "tablet"))
	fmt.Fprintf(w, "\nCtrl-C stops both.\n")
}

func (c *demoCmd) Close() error {
	var errs []error
	if c.api != nil {
		errs = append(errs, c.api.Close())
	}
	if c.agent != nil {
		errs = append(errs, c.agent.Close())
	}
	if c.srv != nil {
		errs = append(errs, c.srv.Close())
	}
	return errors.Join(errs...)
}

type demoLogin struct{ role, username, password string }

// seedDemo fills an empty server store with the synthetic team and returns
// the logins; on a store seeded before, it reads the logins back from file.
func seedDemo(ctx context.Context, db *serverdb.DB, loginsPath string, seed int64, now time.Time) ([]demoLogin, error) {
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return readDemoLogins(loginsPath)
	}
	ds := synth.Generate(synth.Options{Seed: seed, Teams: 1, OfficersPerTeam: 4, CasesPerOfficer: 50, Now: now, HistoryDays: 365})
	for _, t := range ds.Teams {
		if err := db.CreateTeam(ctx, cliActor, t); err != nil {
			return nil, fmt.Errorf("demo: seed team: %w", err)
		}
	}
	var logins []demoLogin
	for _, u := range ds.Users {
		pw := newPassword()
		if err := db.CreateUser(ctx, cliActor, u, pw); err != nil {
			return nil, fmt.Errorf("demo: seed user %s: %w", u.Username, err)
		}
		logins = append(logins, demoLogin{string(u.Role), u.Username, pw})
	}
	if err := db.Seed(ctx, cliActor, ds.Records); err != nil {
		return nil, fmt.Errorf("demo: seed records: %w", err)
	}
	sortLogins(logins)
	var b strings.Builder
	for _, l := range logins {
		fmt.Fprintf(&b, "%s %s %s\n", l.role, l.username, l.password)
	}
	if err := os.WriteFile(loginsPath, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("demo: save logins: %w", err)
	}
	slog.Default().Info("demo data seeded", "records", len(ds.Records))
	return logins, nil
}

// sortLogins puts the supervisor first, then officers, then the rest, so the
// banner reads top-down and logins[1] is an officer.
func sortLogins(ls []demoLogin) {
	rank := map[string]int{"supervisor": 0, "officer": 1, "admin": 2, "auditor": 3}
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && rank[ls[j].role] < rank[ls[j-1].role]; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func readDemoLogins(path string) ([]demoLogin, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("demo: the data folder was seeded before but %s is unreadable (delete the folder to start afresh): %w", path, err)
	}
	var out []demoLogin
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 {
			out = append(out, demoLogin{f[0], f[1], f[2]})
		}
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("demo: %s lists no officer (delete the data folder to start afresh)", path)
	}
	return out, nil
}
