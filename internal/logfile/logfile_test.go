package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRotatesBySizeAndKeepsN writes more than keep+1 files' worth and
// checks that every file stays within the limit, the newest lines are in
// the live file, the older ones shift to .1, .2 …, and no more than keep
// old files remain.
func TestRotatesBySizeAndKeepsN(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "agent.log")
	l, err := Open(p, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		fmt.Fprintf(l, "line %02d of the log......\n", i) // 25 bytes: four a file
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		p:        "line 16", // lines 16-19
		p + ".1": "line 12", // lines 12-15
		p + ".2": "line 08", // lines 8-11
	}
	for f, first := range want {
		s := read(t, f)
		if !strings.HasPrefix(s, first) || len(s) > 100 {
			t.Errorf("%s: want it to start with %q and hold at most 100 bytes, got %d bytes:\n%s", filepath.Base(f), first, len(s), s)
		}
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Errorf("a third old file was kept (keep is 2): %v", err)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("log file mode %04o, want 0600", fi.Mode().Perm())
		}
	}
	if _, err := l.Write([]byte("x")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestReopenAppendsAndCountsWhatIsThere: a restarted agent appends to its
// log and rotates by the file's real size, not from zero.
func TestReopenAppendsAndCountsWhatIsThere(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "agent.log")
	os.WriteFile(p, []byte(strings.Repeat("a", 90)+"\n"), 0o600)
	l, err := Open(p, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	l.Write([]byte("after the restart\n"))
	l.Close()
	if s := read(t, p); s != "after the restart\n" {
		t.Errorf("live file: %q", s)
	}
	if s := read(t, p+".1"); !strings.HasPrefix(s, "aaaa") {
		t.Errorf(".1: %q", s)
	}
	// keep 0: the old file goes.
	l, _ = Open(p, 10, 0)
	l.Write([]byte("0123456789"))
	l.Write([]byte("next"))
	l.Close()
	if s := read(t, p); s != "next" {
		t.Errorf("keep 0: live file %q", s)
	}
	if _, err := Open(p, 0, 1); err == nil {
		t.Error("a max size of 0 was accepted")
	}
}
