package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"doorstep/server/serverdb/serverdbtest"
)

// The data and secrets folders are made 0700 and their files 0600; a
// folder that others can read is refused with the chmod that fixes it,
// and nothing is created in it (issue 11, defect 5).
func TestDataFolderPermissions(t *testing.T) {
	t.Parallel()
	serverdbtest.SQLiteOnly(t, "the modes of server.db and its data folder")
	ctx := context.Background()
	root := t.TempDir()
	data := filepath.Join(root, "data")
	srv, err := Open(ctx, Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	for path, want := range map[string]os.FileMode{
		data: 0o700, filepath.Join(data, DBFile): 0o600, filepath.Join(data, DBFile+"-wal"): 0o600,
		DefaultSecretsDir(data): 0o700, filepath.Join(DefaultSecretsDir(data), KeyFile): 0o600,
	} {
		fi, err := os.Stat(path)
		if os.IsNotExist(err) && strings.HasSuffix(path, "-wal") {
			continue // checkpointed away at close
		}
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %04o", path, fi.Mode().Perm(), err, want)
		}
	}

	// A database file left readable by an earlier version is tightened.
	if err := os.Chmod(filepath.Join(data, DBFile), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err = Open(ctx, Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if fi, _ := os.Stat(filepath.Join(data, DBFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("server.db left at mode %v, want 0600", fi.Mode().Perm())
	}

	for _, c := range []struct {
		name, dir string
		cfg       Config
	}{
		{"data folder", filepath.Join(root, "open"), Config{DataDir: filepath.Join(root, "open")}},
		{"secrets folder", filepath.Join(root, "open-secrets"), Config{DataDir: filepath.Join(root, "closed"), SecretsDir: filepath.Join(root, "open-secrets")}},
	} {
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(c.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, c.cfg)
		if err == nil {
			t.Fatalf("%s of mode 0755 accepted", c.name)
		}
		for _, want := range []string{c.name, c.dir, "0755", "chmod 700 " + c.dir} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not say %q", c.name, err, want)
			}
		}
		if entries, _ := os.ReadDir(c.dir); len(entries) > 0 {
			t.Errorf("%s: refused, yet %d files were made in it", c.name, len(entries))
		}
	}
}
