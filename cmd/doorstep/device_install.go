package main

// "doorstep device install|uninstall|open": the tablet agent started at the
// officer's sign-in and again after a crash, for the current user only
// (internal/autostart writes the definitions; decision 0035 says which on
// each system, and why a logon task on Windows), and the officer's app
// opened in the default browser.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"doorstep/internal/autostart"
	"doorstep/internal/fsperm"
	"doorstep/internal/logfile"
)

// The installed agent's names and its log, in the data folder.
const (
	serviceName  = "doorstep-device"
	launchdLabel = "org.doorstep.device"
	agentLogFile = "doorstep-device.log"
)

// isServiceAction reports whether action is one of this file's.
func isServiceAction(action string) bool {
	return action == "install" || action == "uninstall" || action == "open"
}

// defaultInstallData is where "device install" keeps the tablet's data
// unless --data says otherwise: the user's own application data folder.
func defaultInstallData(goos string, getenv func(string) string) string {
	home := getenv("HOME")
	switch goos {
	case "windows":
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "Doorstep", "device")
		}
		return filepath.Join(getenv("USERPROFILE"), "AppData", "Local", "Doorstep", "device")
	case "darwin":
		return filepath.Join(home, "Library", "Application Support", "Doorstep", "device")
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "doorstep", "device")
	}
	return filepath.Join(home, ".local", "share", "doorstep", "device")
}

// parseServiceFlags reads the flags of install, uninstall and open.
func (c *deviceCmd) parseServiceFlags(args []string) error {
	fs := newFlagSet("device "+c.action, c.stderr)
	var defData string
	if c.action == "open" {
		fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "the agent's local address (as given to install)")
	} else {
		defData = defaultInstallData(runtime.GOOS, os.Getenv)
		fs.StringVar(&c.data, "data", defData, "the tablet's data folder")
	}
	switch c.action {
	case "install":
		fs.StringVar(&c.server, "server", "", "the central server's URL, e.g. https://doorstep.example (kept in the definition)")
		fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "loopback address of the local API (a fixed port: the officer's app is installed from its URL)")
		fs.DurationVar(&c.interval, "interval", 30*time.Second, "how often to sync in the background when the server does not wait for changes")
		fs.DurationVar(&c.pullWait, "pull-wait", pullWaitDefault, "how long a background pull waits on the server for the next change (0s: sync every --interval)")
		fs.DurationVar(&c.lockAfter, "lock-after", 5*time.Minute, "lock the officer's app after this long without use")
		c.log.register(fs, "info")
		fs.StringVar(&c.rules, "rules", "", "visit rules file overriding the server's (for testing; see doorstep device -h)")
		fs.BoolVar(&c.noStart, "no-start", false, "write the definition but do not register or start it: print the commands that would")
	case "uninstall":
		fs.BoolVar(&c.noStart, "no-stop", false, "remove the definition but do not stop or unregister the agent: print the commands that would")
	}
	if err := parseWithEnv(fs, args); err != nil {
		return err
	}
	if c.action == "install" {
		if err := c.checkDurations(); err != nil {
			return err
		}
		if err := c.log.check(); err != nil {
			return err
		}
		// The flags to keep in the definition: those given (on the command
		// line or in the environment, which the started agent will not
		// have), besides the data folder, the address and the log file,
		// which are always written.
		c.keep = nil
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "server", "interval", "pull-wait", "lock-after", "log-level", "log-format", "rules":
				c.keep = append(c.keep, f.Name)
			}
		})
	}
	if c.action != "uninstall" {
		if err := fixedLoopback(c.addr); err != nil {
			return fmt.Errorf("--addr: %w", err)
		}
	}
	if c.action != "open" && c.data == "" {
		return errors.New("--data: empty (give the tablet's data folder)")
	}
	return nil
}

// fixedLoopback accepts a loopback host and a fixed port: the officer's
// app is installed in the browser from its address, so it must not move.
func fixedLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 127.0.0.1:8081)", addr)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: the agent listens on loopback only (127.0.0.1 or ::1)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("%q: give a fixed port from 1 to 65535", addr)
	}
	return nil
}

// runService runs install, uninstall or open.
func (c *deviceCmd) runService(ctx context.Context) error {
	switch c.action {
	case "install":
		return c.install(ctx)
	case "uninstall":
		return c.uninstall(ctx)
	}
	return c.openApp(ctx)
}

// appURL is the officer's app at addr.
func appURL(addr string) string { return "http://" + addr + "/" }

// plan is this system's definition for the agent with the flags given.
func (c *deviceCmd) plan() (autostart.Plan, error) {
	data, err := filepath.Abs(c.data)
	if err != nil {
		return autostart.Plan{}, fmt.Errorf("--data: %w", err)
	}
	c.data = data
	exe, err := os.Executable()
	if err != nil {
		return autostart.Plan{}, fmt.Errorf("find this program's path: %w", err)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	args := []string{"device", "--data", data, "--addr", c.addr, "--log-file", filepath.Join(data, agentLogFile)}
	for _, name := range c.keep {
		v := map[string]string{"server": c.server, "interval": c.interval.String(), "pull-wait": c.pullWait.String(), "lock-after": c.lockAfter.String(),
			"log-level": c.log.level, "log-format": c.log.format, "rules": c.rules}[name]
		if name == "rules" && v != "" {
			if v, err = filepath.Abs(v); err != nil {
				return autostart.Plan{}, fmt.Errorf("--rules: %w", err)
			}
		}
		args = append(args, "--"+name, v)
	}
	c.exe = exe
	spec := autostart.Spec{
		Name: serviceName, Label: launchdLabel, Exe: exe, Args: args, WorkDir: data,
		Description: "Doorstep tablet agent: the officer's app on " + appURL(c.addr),
	}
	where := autostart.Where{Home: os.Getenv("HOME"), XDGConfigHome: os.Getenv("XDG_CONFIG_HOME"), DataDir: data, UID: strconv.Itoa(os.Getuid())}
	if where.Home == "" {
		where.Home, _ = os.UserHomeDir()
	}
	if runtime.GOOS == "windows" {
		u, err := user.Current()
		if err != nil {
			return autostart.Plan{}, fmt.Errorf("who is signed in: %w", err)
		}
		spec.UserID = u.Username
	}
	p, err := autostart.PlanFor(runtime.GOOS, spec, where)
	if errors.Is(err, autostart.ErrUnsupported) {
		return p, fmt.Errorf("device %s: %w: run `doorstep device` from the system's own start-up instead (docs/deploy-tablet.md)", c.action, err)
	}
	return p, err
}

// install writes the definition, registers it and starts the agent.
func (c *deviceCmd) install(ctx context.Context) error {
	p, err := c.plan()
	if err != nil {
		return err
	}
	if err := fsperm.MakeDir(c.data, "--data folder"); err != nil {
		return err
	}
	_, statErr := os.Stat(p.Path)
	reinstall := statErr == nil
	if reinstall && !c.noStart && c.haveTool(p.Unload) {
		// Stop the agent the old definition started, so the new flags
		// take effect; an agent that was not running is no error.
		c.runAll(ctx, p.Unload, true)
	}
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	if err := os.WriteFile(p.Path, p.Content, 0o600); err != nil {
		return fmt.Errorf("device install: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s\n", p.Path)
	if strings.Contains(filepath.ToSlash(c.exe), "/go-build") {
		fmt.Fprintf(c.stdout, "warning: %s is a temporary build (go run?), which will be gone: install the doorstep binary where it stays and run its device install\n", c.exe)
	}
	if err := c.runOrPrint(ctx, p.Load, "to start the agent now and at every sign-in"); err != nil {
		return fmt.Errorf("device install: %w (the definition is in %s: run the commands yourself, or install again with --no-start to have them printed; doorstep device uninstall removes it)", err, p.Path)
	}
	fmt.Fprintf(c.stdout, "data folder: %s\nlog: %s (rotated at %d MB, %d kept)\nthe officer's app: %s (doorstep device open)\n",
		c.data, filepath.Join(c.data, agentLogFile), logfile.DefaultMaxSize>>20, logfile.DefaultKeep, appURL(c.addr))
	return nil
}

// uninstall stops and unregisters the agent and removes its definition.
// The data folder stays: removing a tablet's data is its own step
// (docs/deploy-tablet.md).
func (c *deviceCmd) uninstall(ctx context.Context) error {
	p, err := c.plan()
	if err != nil {
		return err
	}
	if _, err := os.Stat(p.Path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(c.stdout, "not installed for this user (no %s)\n", p.Path)
		return nil
	}
	if c.noStart || !c.haveTool(p.Unload) {
		c.printCommands(p.Unload, "to stop and unregister the agent")
	} else {
		c.runAll(ctx, p.Unload, true)
	}
	if err := os.Remove(p.Path); err != nil {
		return fmt.Errorf("device uninstall: %w", err)
	}
	fmt.Fprintf(c.stdout, "removed %s\n", p.Path)
	if err := c.runOrPrint(ctx, p.AfterRemove, "to let the system forget it"); err != nil {
		return fmt.Errorf("device uninstall: %w", err)
	}
	fmt.Fprintf(c.stdout, "the data folder %s is left as it was\n", c.data)
	return nil
}

// haveTool reports whether the program of the first command is on PATH.
func (c *deviceCmd) haveTool(cmds [][]string) bool {
	if len(cmds) == 0 {
		return true
	}
	_, err := exec.LookPath(cmds[0][0])
	return err == nil
}

// runOrPrint runs cmds, or prints them (with why) when --no-start or
// --no-stop was given or their program is not on PATH.
func (c *deviceCmd) runOrPrint(ctx context.Context, cmds [][]string, why string) error {
	if len(cmds) == 0 {
		return nil
	}
	if c.noStart || !c.haveTool(cmds) {
		c.printCommands(cmds, why)
		return nil
	}
	return c.runAll(ctx, cmds, false)
}

func (c *deviceCmd) printCommands(cmds [][]string, why string) {
	if len(cmds) == 0 {
		return
	}
	reason := "as asked"
	if !c.haveTool(cmds) {
		reason = cmds[0][0] + " is not on PATH"
	}
	fmt.Fprintf(c.stdout, "not run (%s); %s, run:\n", reason, why)
	for _, argv := range cmds {
		fmt.Fprintf(c.stdout, "  %s\n", shellLine(argv))
	}
}

// runAll runs cmds in order; the first failure stops them, unless
// tolerant, when it is printed and the rest run.
func (c *deviceCmd) runAll(ctx context.Context, cmds [][]string, tolerant bool) error {
	for _, argv := range cmds {
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		out, err := exec.CommandContext(cctx, argv[0], argv[1:]...).CombinedOutput()
		cancel()
		fmt.Fprintf(c.stdout, "ran %s\n", shellLine(argv))
		if err != nil {
			msg := fmt.Errorf("%s: %v: %s", shellLine(argv), err, strings.TrimSpace(string(out)))
			if !tolerant {
				return msg
			}
			fmt.Fprintf(c.stdout, "  (%v)\n", msg)
		}
	}
	return nil
}

// shellLine shows argv as one would type it, quoting words with spaces.
func shellLine(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t'\"\\$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}

// browserCommand opens url in the default browser on goos.
func browserCommand(goos, url string) []string {
	switch goos {
	case "windows":
		return []string{"rundll32", "url.dll,FileProtocolHandler", url}
	case "darwin":
		return []string{"open", url}
	}
	return []string{"xdg-open", url}
}

// openApp prints the app's address, says whether the agent answers there,
// and opens it in the default browser.
func (c *deviceCmd) openApp(ctx context.Context) error {
	u := appURL(c.addr)
	fmt.Fprintln(c.stdout, u)
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(hctx, http.MethodGet, u+"healthz", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		if err == nil {
			resp.Body.Close()
		}
		fmt.Fprintf(c.stdout, "the Doorstep agent does not answer at %s: start it (sign out and in again, or run doorstep device), or call IT\n", c.addr)
	} else {
		resp.Body.Close()
	}
	argv := browserCommand(runtime.GOOS, u)
	if _, err := exec.LookPath(argv[0]); err != nil {
		fmt.Fprintf(c.stdout, "%s is not on PATH: open the address above in the browser\n", argv[0])
		return nil
	}
	if out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("device open: %s: %v: %s (open the address above in the browser)", shellLine(argv), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// openLog opens the agent's rotated log file at path (--log-file), making
// its folder.
func openLog(path string) (*logfile.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	f, err := logfile.Open(path, logfile.DefaultMaxSize, logfile.DefaultKeep)
	if err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	return f, nil
}
