package autostart

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// spec is an agent with the awkward things a real install meets: a space
// in a path (Windows' "Program Files", a Mac volume), a % and a $ (which
// systemd would expand), a quote, an ampersand and angle brackets (XML).
func spec() Spec {
	return Spec{
		Name: "doorstep-device", Label: "org.doorstep.device",
		Description: "Doorstep tablet agent: the officer's app on 127.0.0.1:8081",
		Exe:         "/opt/door step/doorstep",
		Args:        []string{"device", "--data", "/home/asha/Door & <step> 100%/tablet", "--addr", "127.0.0.1:8081", "--server", `https://doorstep.example/$x"y`},
		WorkDir:     "/home/asha/Door & <step> 100%/tablet",
		UserID:      `NORTH\asha.k`,
	}
}

// TestSystemdUnit: the unit's keys, and ExecStart read back the way
// systemd splits it gives the program and every argument unchanged.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	s := spec()
	unit := SystemdUnit(s)
	sections := map[string]map[string]string{}
	var cur string
	for _, line := range strings.Split(strings.TrimSpace(unit), "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "["):
			cur = strings.Trim(line, "[]")
			sections[cur] = map[string]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || cur == "" {
				t.Fatalf("not a key=value line in a section: %q\n%s", line, unit)
			}
			sections[cur][k] = v
		}
	}
	for _, want := range []struct{ sec, key, val string }{
		{"Unit", "Description", s.Description},
		{"Service", "Type", "simple"},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartSec", "5s"},
		{"Service", "WorkingDirectory", "/home/asha/Door & <step> 100%%/tablet"},
		{"Install", "WantedBy", "default.target"},
	} {
		if got := sections[want.sec][want.key]; got != want.val {
			t.Errorf("[%s] %s = %q, want %q", want.sec, want.key, got, want.val)
		}
	}
	if got, want := splitSystemd(t, sections["Service"]["ExecStart"]), append([]string{s.Exe}, s.Args...); !slices.Equal(got, want) {
		t.Errorf("ExecStart splits to\n%q\nwant\n%q", got, want)
	}
}

// splitSystemd splits an ExecStart line as systemd does for what
// systemdCommand writes: words, double quotes with \ escapes, %% and $$.
func splitSystemd(t *testing.T, line string) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted, inWord = !quoted, true
		case !quoted && c == ' ':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case (c == '%' || c == '$') && i+1 < len(line) && line[i+1] == c:
			cur.WriteByte(c)
			inWord = true
			i++
		case c == '%' || c == '$':
			t.Fatalf("an unescaped %c in ExecStart would be expanded by systemd: %s", c, line)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in ExecStart: %s", line)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// TestSystemdAnalyzeVerify runs systemd's own checker over a unit for a
// program that exists, where systemd-analyze is installed.
func TestSystemdAnalyzeVerify(t *testing.T) {
	t.Parallel()
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not on PATH; the unit's keys are checked by TestSystemdUnit")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := spec()
	s.Exe, s.WorkDir = exe, dir
	s.Args = []string{"-test.run=^$", "--data", filepath.Join(dir, "a 100% folder")}
	p := filepath.Join(dir, "doorstep-device.service")
	if err := os.WriteFile(p, []byte(SystemdUnit(s)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "verify", p).CombinedOutput()
	// systemd-analyze complains about the machine (no D-Bus, no running
	// systemd in a container) as well as the unit: only lines naming
	// the unit file count.
	var bad []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "doorstep-device.service") {
			bad = append(bad, line)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("systemd-analyze verify (%v) finds fault with the unit:\n%s\n\n%s", err, strings.Join(bad, "\n"), SystemdUnit(s))
	}
	t.Logf("systemd-analyze verify: %v %s", err, out)
}

// plist mirrors the launchd agent's property list.
type plistDoc struct {
	XMLName xml.Name `xml:"plist"`
	Version string   `xml:"version,attr"`
	Dict    struct {
		Items []plistItem `xml:",any"`
	} `xml:"dict"`
}

type plistItem struct {
	XMLName xml.Name
	Text    string      `xml:",chardata"`
	Items   []plistItem `xml:",any"`
}

// TestLaunchdPlist parses the agent's plist and reads each key's value.
func TestLaunchdPlist(t *testing.T) {
	t.Parallel()
	s := spec()
	var doc plistDoc
	dec := xml.NewDecoder(strings.NewReader(LaunchdPlist(s)))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the plist is not well-formed XML: %v\n%s", err, LaunchdPlist(s))
	}
	if doc.Version != "1.0" {
		t.Errorf("plist version %q", doc.Version)
	}
	kv := map[string]plistItem{}
	items := doc.Dict.Items
	if len(items)%2 != 0 {
		t.Fatalf("the dict does not alternate keys and values: %+v", items)
	}
	for i := 0; i < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("item %d is a <%s>, want a <key>", i, items[i].XMLName.Local)
		}
		kv[items[i].Text] = items[i+1]
	}
	if v := kv["Label"]; v.XMLName.Local != "string" || v.Text != s.Label {
		t.Errorf("Label: %+v", v)
	}
	if v := kv["RunAtLoad"]; v.XMLName.Local != "true" {
		t.Errorf("RunAtLoad: <%s>, want <true/>", v.XMLName.Local)
	}
	ka := kv["KeepAlive"]
	if ka.XMLName.Local != "dict" || len(ka.Items) != 2 || ka.Items[0].Text != "SuccessfulExit" || ka.Items[1].XMLName.Local != "false" {
		t.Errorf("KeepAlive: want {SuccessfulExit: false} (restart after a crash, not after a clean stop), got %+v", ka)
	}
	if v := kv["WorkingDirectory"]; v.Text != s.WorkDir {
		t.Errorf("WorkingDirectory %q", v.Text)
	}
	var argv []string
	for _, a := range kv["ProgramArguments"].Items {
		argv = append(argv, a.Text)
	}
	if want := append([]string{s.Exe}, s.Args...); !slices.Equal(argv, want) {
		t.Errorf("ProgramArguments\n%q\nwant\n%q", argv, want)
	}
}

type taskDoc struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/windows/2004/02/mit/task Task"`
	Version  string   `xml:"version,attr"`
	Triggers struct {
		Logon []struct {
			Enabled string `xml:"Enabled"`
			UserID  string `xml:"UserId"`
		} `xml:"LogonTrigger"`
	} `xml:"Triggers"`
	Principal struct {
		UserID    string `xml:"UserId"`
		LogonType string `xml:"LogonType"`
		RunLevel  string `xml:"RunLevel"`
	} `xml:"Principals>Principal"`
	Settings struct {
		MultipleInstancesPolicy    string
		DisallowStartIfOnBatteries string
		StopIfGoingOnBatteries     string
		ExecutionTimeLimit         string
		Enabled                    string
		Restart                    struct {
			Interval string
			Count    string
		} `xml:"RestartOnFailure"`
	} `xml:"Settings"`
	Exec struct {
		Command, Arguments, WorkingDirectory string
	} `xml:"Actions>Exec"`
}

// TestWindowsTask decodes the task from the UTF-16 bytes schtasks reads
// and checks the trigger, the principal, the settings that keep it
// running, and the command line.
func TestWindowsTask(t *testing.T) {
	t.Parallel()
	s := spec()
	s.Exe = `C:\Program Files\Doorstep\doorstep.exe`
	s.Args = []string{"device", "--data", `C:\Users\asha.k\AppData\Local\Doorstep\tablet data\`, "--server", `https://x.example/"q"`, "--empty", ""}
	raw := UTF16(WindowsTask(s))
	if !bytes.HasPrefix(raw, []byte{0xFF, 0xFE}) {
		t.Fatalf("no UTF-16LE byte-order mark: % x", raw[:4])
	}
	u := make([]uint16, (len(raw)-2)/2)
	for i := range u {
		u[i] = uint16(raw[2+2*i]) | uint16(raw[3+2*i])<<8
	}
	text := string(utf16.Decode(u))
	if text != WindowsTask(s) {
		t.Fatal("the UTF-16 bytes do not decode to the task's text")
	}
	var doc taskDoc
	dec := xml.NewDecoder(strings.NewReader(text))
	dec.Strict = true
	dec.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if !strings.EqualFold(label, "UTF-16") {
			t.Errorf("declared encoding %q, want UTF-16", label)
		}
		return r, nil // decoded above
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the task is not well-formed: %v\n%s", err, WindowsTask(s))
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %q, want %q", what, got, want)
		}
	}
	check("version", doc.Version, "1.2")
	if len(doc.Triggers.Logon) != 1 {
		t.Fatalf("want one logon trigger, got %+v", doc.Triggers)
	}
	check("LogonTrigger/UserId", doc.Triggers.Logon[0].UserID, s.UserID)
	check("LogonTrigger/Enabled", doc.Triggers.Logon[0].Enabled, "true")
	check("Principal/UserId", doc.Principal.UserID, s.UserID)
	check("Principal/LogonType", doc.Principal.LogonType, "InteractiveToken")
	check("Principal/RunLevel", doc.Principal.RunLevel, "LeastPrivilege")
	check("MultipleInstancesPolicy", doc.Settings.MultipleInstancesPolicy, "IgnoreNew")
	check("DisallowStartIfOnBatteries", doc.Settings.DisallowStartIfOnBatteries, "false")
	check("StopIfGoingOnBatteries", doc.Settings.StopIfGoingOnBatteries, "false")
	check("ExecutionTimeLimit", doc.Settings.ExecutionTimeLimit, "PT0S")
	check("RestartOnFailure/Interval", doc.Settings.Restart.Interval, "PT1M")
	check("RestartOnFailure/Count", doc.Settings.Restart.Count, "255")
	check("Command", doc.Exec.Command, s.Exe)
	check("WorkingDirectory", doc.Exec.WorkingDirectory, s.WorkDir)
	if got := splitWindows(doc.Exec.Arguments); !slices.Equal(got, s.Args) {
		t.Errorf("Arguments %s split back as\n%q\nwant\n%q", doc.Exec.Arguments, got, s.Args)
	}
}

// splitWindows is CommandLineToArgvW's rule for arguments: 2n backslashes
// before a quote are n and the quote toggles quoting; 2n+1 are n and a
// literal quote; other backslashes are literal.
func splitWindows(s string) []string {
	var out []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					quoted = !quoted
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			inWord = true
		case c == '"':
			quoted, inWord = !quoted, true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}

// TestPlans: where each platform's definition goes and what registers it;
// a platform without one says so.
func TestPlans(t *testing.T) {
	t.Parallel()
	s := spec()
	w := Where{Home: "/home/asha", DataDir: "/data", UID: "501"}
	p, err := PlanFor("linux", s, w)
	if err != nil || p.Path != "/home/asha/.config/systemd/user/doorstep-device.service" {
		t.Fatalf("linux: %s %v", p.Path, err)
	}
	if !slices.Equal(p.Load[len(p.Load)-1], []string{"systemctl", "--user", "enable", "--now", "doorstep-device.service"}) {
		t.Errorf("linux load: %q", p.Load)
	}
	w.XDGConfigHome = "/xdg"
	if p, _ := PlanFor("linux", s, w); p.Path != "/xdg/systemd/user/doorstep-device.service" {
		t.Errorf("linux with XDG_CONFIG_HOME: %s", p.Path)
	}
	p, err = PlanFor("darwin", s, w)
	if err != nil || p.Path != "/home/asha/Library/LaunchAgents/org.doorstep.device.plist" || !slices.Equal(p.Unload[0], []string{"launchctl", "bootout", "gui/501/org.doorstep.device"}) {
		t.Errorf("darwin: %s %q %v", p.Path, p.Unload, err)
	}
	p, err = PlanFor("windows", s, w)
	if err != nil || p.Path != filepath.Join("/data", "doorstep-device-task.xml") || p.Load[0][0] != "schtasks" || !slices.Contains(p.Load[0], "/XML") {
		t.Errorf("windows: %s %q %v", p.Path, p.Load, err)
	}
	if _, err := PlanFor("android", s, w); err == nil || !strings.Contains(err.Error(), "android") {
		t.Errorf("android: want ErrUnsupported naming it, got %v", err)
	}
	if _, err := PlanFor("linux", s, Where{}); err == nil {
		t.Error("linux with no home: want an error")
	}
}
