// Command doorstep is the one binary of Doorstep: the central server, the
// tablet agent, the admin tools, the demo and the benchmarks. It wires the
// server and the tablet packages together; nothing else imports both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand: it parses its flags, runs until done or until
// ctx is cancelled, and releases what it holds.
type command interface {
	ParseFlags(args []string) error
	Run(ctx context.Context) error
	Close() error
}

const usage = `doorstep: home visits for probation, offline first.

Usage:
  doorstep demo                      a server with synthetic data and one tablet agent
  doorstep server [flags]            the central server
  doorstep device [flags]            a tablet agent (local store, sync loop, local API)
  doorstep device login|sync|status  one tablet action from a shell
  doorstep device install|uninstall  start the tablet agent at sign-in (this user), or stop that
  doorstep device open               open the officer's app in the default browser
  doorstep admin <action> [flags]    teams, users, case import, reassignment, devices
  doorstep bench sync [flags]        sync benchmarks over real HTTP and SQLite
  doorstep bench service [flags]     a synthetic service of N cases: reports, memory, sync, many devices
  doorstep health [--url URL]        exit 0 when the server answers ready (for a container's HEALTHCHECK)
  doorstep version

Run "doorstep <command> -h" for a command's flags. Every flag has an
environment twin: --data is DOORSTEP_DATA, --server is DOORSTEP_SERVER.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "doorstep:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	var cmd command
	rest := args[1:]
	switch args[0] {
	case "server":
		cmd = &serverCmd{stdout: stdout, stderr: stderr}
	case "device":
		cmd = newDeviceCmd(rest, stdout, stderr)
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			rest = rest[1:]
		}
	case "admin":
		cmd = &adminCmd{stdin: os.Stdin, stdout: stdout, stderr: stderr}
	case "demo":
		cmd = &demoCmd{stdout: stdout, stderr: stderr}
	case "bench":
		cmd = &benchCmd{stdout: stdout, stderr: stderr}
		if len(rest) > 0 && rest[0] == "service" {
			cmd, rest = &benchServiceCmd{stdout: stdout, stderr: stderr}, rest[1:]
		}
	case "health":
		cmd = &healthCmd{stdout: stdout, stderr: stderr}
	case "version", "--version", "-version":
		currentBuild().print(stdout)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	defer cmd.Close()
	return cmd.Run(ctx)
}

// newFlagSet returns a flag set whose errors go to stderr and that exits
// nowhere: the caller returns the error.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseWithEnv applies each flag's environment twin (DOORSTEP_ + the flag
// name upper-cased, '-' as '_') and then the command line, which wins. A bad
// value names the flag or variable and what was given.
func parseWithEnv(fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		env := envName(f.Name)
		if v, ok := os.LookupEnv(env); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", env, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func envName(flagName string) string {
	return "DOORSTEP_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// logFlags are the --log-level and --log-format flags of the long-running
// commands (server, device, demo).
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *flag.FlagSet, level string) {
	fs.StringVar(&l.level, "log-level", level, "debug, info, warn or error")
	fs.StringVar(&l.format, "log-format", "text", "text (key=value lines) or json (one JSON object a line, for a log collector)")
}

// check refuses a bad level or format when the flags are parsed, before
// the command opens anything.
func (l logFlags) check() error {
	_, err := l.newLogger(io.Discard)
	return err
}

// newLogger returns the logger a command writes to stderr, in the format
// of its flags.
func (l logFlags) newLogger(w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch l.format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", l.format)
}
