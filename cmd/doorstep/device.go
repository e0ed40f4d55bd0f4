package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"doorstep/internal/fsperm"
	"doorstep/internal/logfile"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
	"doorstep/syncer/officerapp"
)

// deviceCmd is the tablet agent: "doorstep device" runs it (local store,
// background sync, local API); "doorstep device login|sync|status" each do
// one thing against the same data folder and stop;
// "doorstep device install|uninstall|open" (device_install.go) start the
// agent at sign-in, stop that, and open the officer's app.
type deviceCmd struct {
	stdout, stderr io.Writer
	action         string // "", login, sync, status, install, uninstall, open

	server, data, addr  string
	log                 logFlags
	rules               string
	interval, lockAfter time.Duration
	pullWait            time.Duration // --pull-wait; 0: pulls do not wait
	username, password  string
	asJSON              bool
	logFile             string   // --log-file: the rotated log instead of stderr
	keep                []string // install: the flags given, kept in the definition
	noStart             bool     // install --no-start, uninstall --no-stop
	exe                 string   // install: the program the definition starts

	logOut *logfile.File // the open --log-file
	agent  *syncer.Agent
	api    *localapi.API
}

func newDeviceCmd(args []string, stdout, stderr io.Writer) *deviceCmd {
	c := &deviceCmd{stdout: stdout, stderr: stderr}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.action = args[0]
	}
	return c
}

func (c *deviceCmd) ParseFlags(args []string) error {
	switch c.action {
	case "", "login", "sync", "status":
	case "install", "uninstall", "open":
		return c.parseServiceFlags(args)
	default:
		return fmt.Errorf("device: unknown action %q (want login, sync, status, install, uninstall or open, or none to run the agent)", c.action)
	}
	fs := newFlagSet("device "+c.action, c.stderr)
	fs.StringVar(&c.server, "server", "", "the central server's URL, e.g. http://127.0.0.1:8080 (remembered after login)")
	fs.StringVar(&c.data, "data", "./device-data", "the tablet's data folder")
	c.log.register(fs, "info")
	switch c.action {
	case "":
		fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "loopback address of the local API")
		fs.DurationVar(&c.interval, "interval", 30*time.Second, "how often to sync in the background when the server does not wait for changes (see --pull-wait)")
		fs.DurationVar(&c.pullWait, "pull-wait", pullWaitDefault, "how long a background pull waits on the server for the next change, 1s to 25s; 0s: sync every --interval instead")
		fs.DurationVar(&c.lockAfter, "lock-after", 5*time.Minute, "lock the officer's app after this long without use")
		fs.StringVar(&c.rules, "rules", "", "visit rules file (JSON, docs/visit-policy.md) the officer app computes due visits with, overriding the server's (for testing); empty means the server's, the built-in defaults until the first sync")
		fs.StringVar(&c.logFile, "log-file", "", "write the log to this file, rotated at 10 MB with 5 old files kept, instead of to stderr (what device install sets)")
	case "login":
		fs.StringVar(&c.username, "username", "", "the officer's username")
		fs.StringVar(&c.password, "password", "", "the password (or DOORSTEP_PASSWORD; asked on the terminal when empty)")
	case "sync":
		fs.StringVar(&c.password, "password", "", "the signed-in officer's password, which unlocks the sealed data and tokens (or DOORSTEP_PASSWORD; asked on the terminal when empty)")
	case "status":
		fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	}
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if err := c.log.check(); err != nil {
		return err
	}
	if c.action == "" {
		return c.checkDurations()
	}
	return nil
}

// pullWaitDefault is --pull-wait's default: the longest wait the protocol
// allows (docs/sync-protocol.md §7.3).
const pullWaitDefault = schema.MaxPullWait * time.Second

// checkDurations refuses an --interval or --lock-after of zero or less
// rather than quietly using the default, and a --pull-wait outside 0 to
// 25 s.
func (c *deviceCmd) checkDurations() error {
	if c.pullWait < 0 || c.pullWait > pullWaitDefault || c.pullWait%time.Second != 0 {
		return fmt.Errorf("--pull-wait: %s is not whole seconds from 0s (no wait) to %s", c.pullWait, pullWaitDefault)
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--interval", c.interval}, {"--lock-after", c.lockAfter}} {
		if d.v <= 0 {
			return fmt.Errorf("%s: %s is not a duration above zero (e.g. 30s, 5m)", d.flag, d.v)
		}
	}
	return nil
}

func (c *deviceCmd) open(ctx context.Context) error {
	// The data folder holds the officer's caseload and tokens: made 0700,
	// and refused when others can read it, as the server's is.
	if err := fsperm.MakeDir(c.data, "--data folder"); err != nil {
		return fmt.Errorf("device: %w", err)
	}
	if c.logFile != "" {
		f, err := openLog(c.logFile)
		if err != nil {
			return err
		}
		c.logOut, c.stderr = f, f
	}
	log, err := c.log.newLogger(c.stderr)
	if err != nil {
		return err
	}
	c.agent, err = syncer.Open(ctx, syncer.Config{
		DataDir: c.data, ServerURL: c.server, Logger: log,
		Interval: c.interval, PullWait: c.agentPullWait(), AppVersion: version, ShredKeys: shredKeysOf(&c.agent),
	})
	return err
}

// agentPullWait is --pull-wait as syncer.Config takes it (negative: off).
func (c *deviceCmd) agentPullWait() time.Duration {
	if c.pullWait == 0 {
		return -1
	}
	return c.pullWait
}

func (c *deviceCmd) Run(ctx context.Context) error {
	if isServiceAction(c.action) {
		return c.runService(ctx)
	}
	if err := c.open(ctx); err != nil {
		return err
	}
	switch c.action {
	case "login":
		return c.login(ctx)
	case "sync":
		if err := c.unlock(ctx); err != nil {
			return err
		}
		rep, err := c.agent.SyncOnce(ctx)
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		fmt.Fprintf(c.stdout, "synced in %s: pushed %d (applied %d, duplicates %d, conflicts %d, set aside %d), pulled %d, removed %d, %d requests\n",
			rep.Duration.Round(time.Millisecond), rep.Pushed, rep.Applied, rep.Duplicates, rep.Conflicts, rep.Rejected, rep.Pulled, rep.Removed, rep.Requests)
		return nil
	case "status":
		return c.status(ctx)
	}
	return c.runAgent(ctx)
}

// askPassword fills c.password from DOORSTEP_PASSWORD or the terminal
// when --password was not given.
func (c *deviceCmd) askPassword() error {
	if c.password == "" {
		c.password = os.Getenv("DOORSTEP_PASSWORD")
	}
	if c.password == "" {
		fmt.Fprint(c.stderr, "password: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("device %s: no password given (use --password, DOORSTEP_PASSWORD or type it)", c.action)
		}
		c.password = strings.TrimRight(line, "\r\n")
	}
	return nil
}

// unlock opens the sealed data with the signed-in officer's password (the
// offline unlock, counted like the app's, but also past the offline
// lease's end, since a sync does not open the app), so that a sync can read
// the tokens. A store not sealed yet needs nothing.
func (c *deviceCmd) unlock(ctx context.Context) error {
	if !c.agent.DB().Sealed() {
		return nil
	}
	st, err := c.agent.Status(ctx)
	if err != nil {
		return err
	}
	if st.User == nil {
		return errors.New("device sync: nobody has signed in on this tablet: run doorstep device login first")
	}
	if err := c.askPassword(); err != nil {
		return err
	}
	if _, _, err := c.agent.UnlockForSync(ctx, st.User.Username, c.password); err != nil {
		return fmt.Errorf("device sync: unlock the tablet's data: %w", err)
	}
	return nil
}

func (c *deviceCmd) login(ctx context.Context) error {
	if c.username == "" {
		return errors.New("device login: --username is required")
	}
	if err := c.askPassword(); err != nil {
		return err
	}
	u, err := c.agent.Login(ctx, c.username, c.password)
	if err != nil {
		return fmt.Errorf("device login: %w", err)
	}
	fmt.Fprintf(c.stdout, "signed in as %s (%s, %s) on device %s\n", u.Name, u.Username, u.Role, c.agent.DeviceID())
	return nil
}

func (c *deviceCmd) status(ctx context.Context) error {
	st, err := c.agent.Status(ctx)
	if err != nil {
		return err
	}
	if c.asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	user := "(signed out)"
	if st.User != nil {
		user = fmt.Sprintf("%s (%s, %s)", st.User.Name, st.User.Username, st.User.Role)
	}
	last := "never"
	if !st.LastSyncAt.IsZero() {
		last = st.LastSyncAt.Local().Format("2006-01-02 15:04:05")
	}
	fmt.Fprintf(tw, "server\t%s\n", orDash(st.ServerURL))
	fmt.Fprintf(tw, "device\t%s\n", st.DeviceID)
	fmt.Fprintf(tw, "officer\t%s\n", user)
	fmt.Fprintf(tw, "last successful sync\t%s\n", last)
	fmt.Fprintf(tw, "visit rules\t%s\n", cmp.Or(st.RulesVersion, "built-in defaults (none from the server yet)"))
	fmt.Fprintf(tw, "waiting to send\t%d\n", st.Pending)
	fmt.Fprintf(tw, "set aside (rejected)\t%d\n", st.Rejected)
	if st.Locked {
		fmt.Fprintf(tw, "open conflicts\t(not counted: the data is sealed and locked)\n")
	} else {
		fmt.Fprintf(tw, "open conflicts\t%d\n", st.Conflicts)
	}
	fmt.Fprintf(tw, "clock skew\t%d ms\n", st.ClockSkewMs)
	fmt.Fprintf(tw, "offline lease\t%s\n", leaseText(st.Lease))
	if st.LastError != "" {
		fmt.Fprintf(tw, "last error\t%s\n", st.LastError)
	}
	if st.UpdateRequired {
		fmt.Fprintf(tw, "update\trequired: this app is too old to receive changes\n")
	}
	return tw.Flush()
}

// leaseText is the offline lease for `device status`.
func leaseText(l syncer.LeaseStatus) string {
	at := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
	switch l.State {
	case syncer.LeaseValid:
		return fmt.Sprintf("valid until %s (then locked until an online sign-in; keys destroyed after %s)", at(l.ValidUntil), at(l.GraceUntil))
	case syncer.LeaseExpired:
		if l.ValidUntil.IsZero() {
			return "expired: none held; sign in online"
		}
		return fmt.Sprintf("expired on %s: sign in online (keys destroyed after %s)", at(l.ValidUntil), at(l.GraceUntil))
	case syncer.LeaseShredded:
		return fmt.Sprintf("keys destroyed on %s: sign in online", at(l.ShreddedAt))
	}
	return "none (no server key pinned yet)"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *deviceCmd) runAgent(ctx context.Context) error {
	log, _ := c.log.newLogger(c.stderr)
	// The server's rules, which come with the pulls, unless --rules names
	// a file: that overrides them, for testing a rules change on one
	// tablet (docs/visit-policy.md, "How the rules reach the tablets").
	var rules *policy.Policy
	if c.rules != "" {
		var err error
		if rules, _, err = loadRules(c.rules, log); err != nil {
			return err
		}
		log.Warn("visit rules: --rules overrides the server's rules on this tablet", "rule_version", rules.Version)
	} else if p, tag := c.agent.Rules(); p != nil {
		log.Info("visit rules", "source", "server", "rule_version", p.Version, "rules", len(p.Rules), "tag", tag)
	} else {
		p := policy.Default()
		log.Info("visit rules", "source", "built-in defaults, until the server sends its own", "rule_version", p.Version, "rules", len(p.Rules))
	}
	c.api = officerapp.New(c.agent, localapi.Config{Addr: c.addr, Logger: log, Policy: rules, LockAfter: c.lockAfter})
	if err := c.api.Start(); err != nil {
		return err
	}
	log.Info("tablet agent running", "local_api", c.api.URL(), "data", c.data, "device", c.agent.DeviceID())
	return c.agent.Run(ctx)
}

func (c *deviceCmd) Close() error {
	var errs []error
	if c.api != nil {
		errs = append(errs, c.api.Close())
	}
	if c.agent != nil {
		errs = append(errs, c.agent.Close())
	}
	if c.logOut != nil {
		errs = append(errs, c.logOut.Close())
	}
	return errors.Join(errs...)
}
