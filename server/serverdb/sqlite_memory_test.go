package serverdb

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
)

// TestSQLiteReadersMapABoundedShare: the SQLite readers map at most
// readerMapBytes of the file together, whatever the cores, and each keeps
// a 2 MiB page cache, so that what SQLite holds of the store does not grow
// with it (decision 0074; docs/operations.md "Memory"). Before, each of
// the readers mapped up to 256 MiB: 1 GiB on four.
func TestSQLiteReadersMapABoundedShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "server.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	readers := max(4, runtime.NumCPU())
	if n := db.r.Stats().MaxOpenConnections; n != readers {
		t.Fatalf("%d readers, want %d", n, readers)
	}
	// Hold every reader at once, so that each is asked.
	conns := make([]interface {
		Close() error
	}, 0, readers)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range readers {
		c, err := db.r.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mmap, cache int64
		if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
			t.Fatal(err)
		}
		if mmap != (256<<20)/int64(readers) || cache != -2000 {
			t.Errorf("a reader maps %d bytes (%d readers: %d MiB together) with cache_size %d; want 256 MiB shared out among them, and -2000",
				mmap, readers, mmap*int64(readers)>>20, cache)
		}
	}
}
