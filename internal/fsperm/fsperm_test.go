package fsperm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestMakeDirCreatesPrivateAndRefusesShared(t *testing.T) {
	if !checked {
		t.Skip("modes are not checked on this system")
	}
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "a", "data")
	if err := MakeDir(dir, "--data folder"); err != nil {
		t.Fatalf("MakeDir of a new folder: %v", err)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Fatalf("a new folder has mode %04o, want 0700", m)
	}
	if err := MakeDir(dir, "--data folder"); err != nil {
		t.Fatalf("MakeDir of a private folder that exists: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := MakeDir(dir, "--data folder")
	if err == nil || !strings.Contains(err.Error(), "0755") || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Fatalf("a folder others can read: got %v, want a refusal naming the mode and the chmod", err)
	}
	file := filepath.Join(base, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := MakeDir(file, "--data folder"); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("a file given as the folder: got %v", err)
	}
}

func TestCreateFileAndTighten(t *testing.T) {
	if !checked {
		t.Skip("modes are not checked on this system")
	}
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "server.db")
	if err := CreateFile(db); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, db); m != 0o600 {
		t.Fatalf("a new file has mode %04o, want 0600", m)
	}
	if err := os.WriteFile(db, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CreateFile(db); err != nil {
		t.Fatalf("CreateFile of a file that exists: %v", err)
	}
	if b, _ := os.ReadFile(db); string(b) != "kept" {
		t.Fatalf("CreateFile changed a file that existed: %q", b)
	}
	wal := filepath.Join(dir, "server.db-wal")
	if err := os.WriteFile(wal, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(wal, 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := Tighten(db, wal, filepath.Join(dir, "absent"))
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != wal {
		t.Fatalf("Tighten changed %v, want only %s", changed, wal)
	}
	if m := mode(t, wal); m != 0o600 {
		t.Fatalf("after Tighten the file has mode %04o, want 0600", m)
	}
}
