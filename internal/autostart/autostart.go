// Package autostart writes what makes a program start at the user's
// sign-in and again after a crash, for the current user only: a systemd
// user unit (Linux), a launchd agent (macOS) and a Task Scheduler task at
// logon (Windows; docs/decisions/0035-the-agent-at-sign-in.md says why not
// a service). It only generates the definitions and says where they go and
// which commands register and remove them; running those commands is the
// caller's (doorstep device install), so all of it is tested on every OS.
package autostart

import (
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf16"
)

// Spec is the program to start.
type Spec struct {
	Name        string   // the unit, agent and task name: doorstep-device
	Label       string   // launchd's reverse-DNS label: org.doorstep.device
	Description string   // one line for a person
	Exe         string   // the program, an absolute path
	Args        []string // its arguments
	WorkDir     string   // the folder it runs in (the data folder)
	UserID      string   // Windows: the account the task runs as (DOMAIN\user)
}

// Plan is one platform's definition: the file to write, and the commands
// that register and start it (Load) and stop and unregister it (Unload,
// before the file is removed; AfterRemove after).
type Plan struct {
	Path        string
	Content     []byte
	Load        [][]string
	Unload      [][]string
	AfterRemove [][]string
}

// Where a plan puts things: the user's home, its XDG config folder
// (Linux, "" for ~/.config), the data folder (Windows keeps the task's XML
// there) and the user's numeric id (macOS's launchctl domain).
type Where struct {
	Home, XDGConfigHome, DataDir, UID string
}

// ErrUnsupported is the answer for a platform with no sign-in start here
// (Android, iOS, the BSDs).
var ErrUnsupported = errors.New("no start at sign-in on this platform")

// PlanFor returns goos's plan for s.
func PlanFor(goos string, s Spec, w Where) (Plan, error) {
	switch goos {
	case "linux":
		cfg := w.XDGConfigHome
		if cfg == "" {
			if w.Home == "" {
				return Plan{}, errors.New("no home folder (set HOME or XDG_CONFIG_HOME)")
			}
			cfg = filepath.Join(w.Home, ".config")
		}
		unit := s.Name + ".service"
		return Plan{
			Path:    filepath.Join(cfg, "systemd", "user", unit),
			Content: []byte(SystemdUnit(s)),
			Load: [][]string{
				{"systemctl", "--user", "daemon-reload"},
				{"systemctl", "--user", "enable", "--now", unit},
			},
			Unload:      [][]string{{"systemctl", "--user", "disable", "--now", unit}},
			AfterRemove: [][]string{{"systemctl", "--user", "daemon-reload"}},
		}, nil
	case "darwin":
		if w.Home == "" {
			return Plan{}, errors.New("no home folder (set HOME)")
		}
		p := filepath.Join(w.Home, "Library", "LaunchAgents", s.Label+".plist")
		return Plan{
			Path:    p,
			Content: []byte(LaunchdPlist(s)),
			Load:    [][]string{{"launchctl", "bootstrap", "gui/" + w.UID, p}},
			Unload:  [][]string{{"launchctl", "bootout", "gui/" + w.UID + "/" + s.Label}},
		}, nil
	case "windows":
		if w.DataDir == "" {
			return Plan{}, errors.New("no data folder for the task's definition")
		}
		p := filepath.Join(w.DataDir, s.Name+"-task.xml")
		return Plan{
			Path:    p,
			Content: UTF16(WindowsTask(s)),
			Load: [][]string{
				{"schtasks", "/Create", "/TN", s.Name, "/XML", p, "/F"},
				{"schtasks", "/Run", "/TN", s.Name},
			},
			Unload: [][]string{
				{"schtasks", "/End", "/TN", s.Name},
				{"schtasks", "/Delete", "/TN", s.Name, "/F"},
			},
		}, nil
	}
	return Plan{}, fmt.Errorf("%s: %w", goos, ErrUnsupported)
}

// --- systemd ---

// SystemdUnit is a user unit that starts s when the user's session
// starts (default.target) and restarts it 5 seconds after it fails.
func SystemdUnit(s Spec) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\n\n", oneLine(s.Description))
	b.WriteString("[Service]\nType=simple\n")
	fmt.Fprintf(&b, "ExecStart=%s\n", systemdCommand(append([]string{s.Exe}, s.Args...)))
	if s.WorkDir != "" {
		fmt.Fprintf(&b, "WorkingDirectory=%s\n", systemdPath(s.WorkDir))
	}
	b.WriteString("Restart=on-failure\nRestartSec=5s\n\n")
	b.WriteString("[Install]\nWantedBy=default.target\n")
	return b.String()
}

// systemdCommand quotes a command line as systemd reads ExecStart: each
// word in double quotes when it needs them (with \ and " escaped), and %
// and $ doubled so that systemd expands nothing.
func systemdCommand(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		a = strings.NewReplacer("%", "%%", "$", "$$").Replace(a)
		if a == "" || strings.ContainsAny(a, " \t\"'\\;") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
		}
		words[i] = a
	}
	return strings.Join(words, " ")
}

// systemdPath escapes a path setting (WorkingDirectory): % doubled.
func systemdPath(p string) string { return strings.ReplaceAll(p, "%", "%%") }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// --- launchd ---

// LaunchdPlist is a launchd agent that runs s when the user signs in
// (RunAtLoad) and again whenever it exits other than cleanly (KeepAlive,
// SuccessfulExit false), no sooner than 10 s apart.
func LaunchdPlist(s Spec) string {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	key := func(k string) { fmt.Fprintf(&b, "\t<key>%s</key>\n", esc(k)) }
	str := func(indent, v string) { fmt.Fprintf(&b, "%s<string>%s</string>\n", indent, esc(v)) }
	key("Label")
	str("\t", s.Label)
	key("ProgramArguments")
	b.WriteString("\t<array>\n")
	for _, a := range append([]string{s.Exe}, s.Args...) {
		str("\t\t", a)
	}
	b.WriteString("\t</array>\n")
	if s.WorkDir != "" {
		key("WorkingDirectory")
		str("\t", s.WorkDir)
	}
	key("RunAtLoad")
	b.WriteString("\t<true/>\n")
	key("KeepAlive")
	b.WriteString("\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n")
	key("ThrottleInterval")
	b.WriteString("\t<integer>10</integer>\n")
	key("ProcessType")
	str("\t", "Interactive")
	b.WriteString("</dict>\n</plist>\n")
	return b.String()
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// --- Windows Task Scheduler ---

// WindowsTask is a Task Scheduler definition (schema 1.2) that runs s as
// s.UserID at that user's logon, with the user's own rights (no
// elevation), on battery too, with no time limit, one instance at a time,
// restarted every minute after a failure (255 times, the most the schema
// allows). Its declaration says UTF-16: write it with UTF16, as schtasks
// /Create /XML expects.
func WindowsTask(s Spec) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-16"?>` + "\n")
	b.WriteString(`<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">` + "\n")
	fmt.Fprintf(&b, "  <RegistrationInfo>\n    <Description>%s</Description>\n  </RegistrationInfo>\n", esc(oneLine(s.Description)))
	fmt.Fprintf(&b, "  <Triggers>\n    <LogonTrigger>\n      <Enabled>true</Enabled>\n      <UserId>%s</UserId>\n    </LogonTrigger>\n  </Triggers>\n", esc(s.UserID))
	fmt.Fprintf(&b, "  <Principals>\n    <Principal id=\"Author\">\n      <UserId>%s</UserId>\n      <LogonType>InteractiveToken</LogonType>\n      <RunLevel>LeastPrivilege</RunLevel>\n    </Principal>\n  </Principals>\n", esc(s.UserID))
	b.WriteString(`  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>255</Count>
    </RestartOnFailure>
  </Settings>
`)
	b.WriteString("  <Actions Context=\"Author\">\n    <Exec>\n")
	fmt.Fprintf(&b, "      <Command>%s</Command>\n", esc(s.Exe))
	if len(s.Args) > 0 {
		fmt.Fprintf(&b, "      <Arguments>%s</Arguments>\n", esc(WindowsCommandLine(s.Args)))
	}
	if s.WorkDir != "" {
		fmt.Fprintf(&b, "      <WorkingDirectory>%s</WorkingDirectory>\n", esc(s.WorkDir))
	}
	b.WriteString("    </Exec>\n  </Actions>\n</Task>\n")
	return b.String()
}

// WindowsCommandLine joins args as a Windows program's command line, each
// quoted the way CommandLineToArgvW splits it back (syscall.EscapeArg's
// rules, which exist only on Windows builds).
func WindowsCommandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = windowsArg(a)
	}
	return strings.Join(out, " ")
}

func windowsArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// UTF16 encodes s as UTF-16 little-endian with a byte-order mark: the
// encoding Task Scheduler writes and schtasks reads.
func UTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 2, 2+2*len(u))
	out[0], out[1] = 0xFF, 0xFE
	for _, c := range u {
		out = append(out, byte(c), byte(c>>8))
	}
	return out
}
