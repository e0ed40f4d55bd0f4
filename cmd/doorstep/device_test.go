package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The tablet's data folder holds the caseload and the tokens: like the
// server's, it is made 0700 and refused, untouched, when others can read
// it.
func TestDeviceDataFolderIsTheUsersOnly(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("modes are not checked on Windows")
	}
	open := filepath.Join(t.TempDir(), "tablet")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := doorstep(t, "device", "status", "--data", open)
	if err == nil || !strings.Contains(err.Error(), "mode 0755") || !strings.Contains(err.Error(), "chmod 700 "+open) {
		t.Errorf("device status on a 0755 data folder: err = %v (%s), want a refusal naming the mode and the chmod", err, out)
	}
	if _, err := os.Stat(filepath.Join(open, "device.db")); err == nil {
		t.Error("device.db was made in a folder others can read")
	}

	fresh := filepath.Join(t.TempDir(), "new", "tablet")
	if out, err := doorstep(t, "device", "status", "--data", fresh); err != nil {
		t.Fatalf("device status on a new data folder: %v\n%s", err, out)
	}
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("a new data folder has mode %04o, want 0700", m)
	}
}
