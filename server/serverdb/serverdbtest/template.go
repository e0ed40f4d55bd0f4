package serverdbtest

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// templates are the SQLite stores built once a test binary (Copy).
var templates struct {
	mu sync.Mutex
	m  map[string]*template
}

type template struct {
	once sync.Once
	dir  string // the folder of the built store; "" until it is built
	err  string // why it is not
}

// Copy returns the path of a copy, in t.TempDir(), of a SQLite store that
// build makes once a test binary under name: the first test to ask runs
// build(t, path) (which makes the store at path and closes it, failing its
// t on error), the others wait for it and copy the file. A test that
// opens the copy has a store of its own, as if it had built it, without
// the minutes of CPU that building a synthetic service costs each time
// (decision 0083). The copies' folder is t's; the stores built are
// removed by RemoveTemplates (call it from TestMain).
func Copy(t testing.TB, name string, build func(t testing.TB, path string)) string {
	t.Helper()
	templates.mu.Lock()
	if templates.m == nil {
		templates.m = map[string]*template{}
	}
	tp := templates.m[name]
	if tp == nil {
		tp = &template{}
		templates.m[name] = tp
	}
	templates.mu.Unlock()
	tp.once.Do(func() {
		tp.err = "its build failed in the first test that asked for it"
		dir, err := os.MkdirTemp("", "doorstep-template-")
		if err != nil {
			t.Fatal(err)
		}
		build(t, filepath.Join(dir, "server.db")) // a t.Fatal here ends the Do; err says so
		tp.dir, tp.err = dir, ""
	})
	if tp.dir == "" {
		t.Fatalf("the store %q: %s", name, tp.err)
	}
	to := t.TempDir()
	entries, err := os.ReadDir(tp.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := copyFile(filepath.Join(tp.dir, e.Name()), filepath.Join(to, e.Name())); err != nil {
			t.Fatalf("copy the store %q: %v", name, err)
		}
	}
	return filepath.Join(to, "server.db")
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// RemoveTemplates removes the stores Copy built; TestMain calls it after
// the tests.
func RemoveTemplates() {
	templates.mu.Lock()
	defer templates.mu.Unlock()
	for _, tp := range templates.m {
		if tp.dir != "" {
			os.RemoveAll(tp.dir)
		}
	}
}
