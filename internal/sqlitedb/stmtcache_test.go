package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// cacheDelta runs fn and returns how many statements the writer compiled
// and reused meanwhile.
func cacheDelta(t *testing.T, w *sql.DB, fn func()) (compiled, reused int64) {
	t.Helper()
	c0, r0 := StatementsCompiled(w)
	fn()
	c1, r1 := StatementsCompiled(w)
	return c1 - c0, r1 - r0
}

func writeTx(t *testing.T, w *sql.DB, fn func(tx *sql.Tx) error) error {
	t.Helper()
	tx, err := w.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func countRows(t *testing.T, w *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestWriterKeepsItsStatements: the writer compiles a statement once,
// whether run by its text or prepared in a transaction, and each later
// transaction runs it without compiling it again (decision 0073); a
// transaction rolled back, a statement that failed, and a schema change
// between runs leave the kept statements correct.
func TestWriterKeepsItsStatements(t *testing.T) {
	w := openWriter(t, tempPath(t))
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	const ins, sel = `INSERT INTO t (id, v) VALUES (?, ?)`, `SELECT count(*) FROM t WHERE v >= ?`
	push := func(id int, v string) error {
		return writeTx(t, w, func(tx *sql.Tx) error {
			s, err := tx.Prepare(ins)
			if err != nil {
				return err
			}
			if _, err := s.Exec(id, v); err != nil {
				return err
			}
			var n int
			return tx.QueryRow(sel, "").Scan(&n)
		})
	}
	compiled, _ := cacheDelta(t, w, func() {
		if err := push(1, "a"); err != nil {
			t.Fatal(err)
		}
	})
	if compiled != 2 {
		t.Fatalf("first transaction compiled %d statements; want 2 (the INSERT and the SELECT)", compiled)
	}
	compiled, reused := cacheDelta(t, w, func() {
		for i := 2; i <= 10; i++ {
			if err := push(i, string(rune('a'+i))); err != nil {
				t.Fatal(err)
			}
		}
	})
	if compiled != 0 || reused != 18 {
		t.Fatalf("nine more transactions compiled %d and reused %d statements; want 0 and 18", compiled, reused)
	}

	// Rolled back: the row is not there, and the statements still run.
	err := writeTx(t, w, func(tx *sql.Tx) error {
		if _, err := tx.Exec(ins, 11, "rolled back"); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the transaction was not rolled back")
	}
	if n := countRows(t, w, sel, "rolled back"); n != 0 {
		t.Fatalf("the rolled-back row is there (%d)", n)
	}
	// A statement that fails (the UNIQUE constraint) is reusable after.
	if err := push(12, "a"); err == nil {
		t.Fatal("a duplicate value was inserted")
	}
	compiled, _ = cacheDelta(t, w, func() {
		if err := push(12, "l"); err != nil {
			t.Fatalf("after a failed run: %v", err)
		}
	})
	if compiled != 0 {
		t.Fatalf("after a failed run the statements were compiled again (%d)", compiled)
	}
	if n := countRows(t, w, `SELECT count(*) FROM t`); n != 11 {
		t.Fatalf("%d rows; want 11", n)
	}

	// A schema change between runs: the kept SELECT * sees the new column.
	const all = `SELECT * FROM t WHERE id = ?`
	cols := func() int {
		rows, err := w.Query(all, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	if n := cols(); n != 2 {
		t.Fatalf("%d columns; want 2", n)
	}
	if _, err := w.Exec(`ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'new'`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 3 {
		t.Fatalf("after ALTER TABLE the kept statement gives %d columns; want 3", n)
	}
	var got string
	if err := w.QueryRow(`SELECT w FROM t WHERE id = ?`, 1).Scan(&got); err != nil || got != "new" {
		t.Fatalf("new column: %q, %v", got, err)
	}
	if _, err := w.Exec(`DROP TABLE t`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Query(all, 1); err == nil {
		t.Fatal("a kept statement ran against a dropped table")
	}
}

// TestWriterStatementInUseIsNotSharedByItsText: a query's rows still open
// while the same text runs again: the second run gets a statement of its
// own, and the first's rows are not disturbed.
func TestWriterStatementInUseIsNotSharedByItsText(t *testing.T) {
	w := openWriter(t, tempPath(t))
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := w.Exec(`INSERT INTO t (id) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outer []int
	for rows.Next() {
		var id, inner int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, id)
		// The same text, while the outer rows are open.
		if err := tx.QueryRow(q, 4).Scan(&inner); err != nil || inner != 4 {
			t.Fatalf("inner query: %d, %v", inner, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(outer) != 5 || outer[4] != 5 {
		t.Fatalf("outer rows %v; want 1..5", outer)
	}
}

// TestWriterClosesItsStatements: closing the writer finalizes what it
// kept, so the connection really closes: as the last connection to the
// file it checkpoints and removes the WAL.
func TestWriterClosesItsStatements(t *testing.T) {
	path := tempPath(t)
	w, err := OpenWriter(driver, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if _, err := w.Exec(`INSERT INTO t (id) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	if c, r := StatementsCompiled(w); c == 0 || r == 0 {
		t.Fatalf("compiled %d, reused %d: the writer keeps no statement", c, r)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL while open: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the WAL is still there after the writer closed (%v): a kept statement held the connection open", err)
	}
	w = openWriter(t, path)
	if n := countRows(t, w, `SELECT count(*) FROM t`); n != 3 {
		t.Fatalf("reopened: %d rows; want 3", n)
	}
}

// TestWriterKeepsBoundedStatements: past its limits the writer drops the
// least recently used statement (compiled again at its next run), keeps
// the recent ones, and a statement longer than it keeps is compiled at
// every run.
func TestWriterKeepsBoundedStatements(t *testing.T) {
	w := openWriter(t, tempPath(t))
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	q := func(i int) string { return fmt.Sprintf(`SELECT count(*) + %d FROM t`, i) }
	run := func(s string) {
		var n int
		if err := w.QueryRow(s).Scan(&n); err != nil {
			t.Fatalf("%.40s: %v", s, err)
		}
	}
	for i := range cacheEntries + 10 {
		run(q(i))
	}
	if c, _ := cacheDelta(t, w, func() { run(q(cacheEntries + 9)) }); c != 0 {
		t.Errorf("the most recent statement was compiled again")
	}
	if c, _ := cacheDelta(t, w, func() { run(q(0)) }); c != 1 {
		t.Errorf("the least recent of %d statements was not dropped (compiled %d)", cacheEntries+10, c)
	}
	long := `SELECT count(*) FROM t WHERE id IN (` + strings.Repeat("1,", cacheText/2) + `1)`
	run(long)
	if c, _ := cacheDelta(t, w, func() { run(long) }); c != 1 {
		t.Errorf("a statement of %d bytes was kept (compiled %d at its second run)", len(long), c)
	}
}

// TestReadersKeepTheirStatements: a read pool's connection compiles a
// query once and runs it again from its cache (decision 0081), in a read
// transaction or by its text; a kept statement holds no snapshot, so the
// next run sees what the writer committed meanwhile and a TRUNCATE
// checkpoint is not held back; the cache is bounded (readerLimits).
func TestReadersKeepTheirStatements(t *testing.T) {
	path := tempPath(t)
	w := openWriter(t, path)
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReaders(driver, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const q = `SELECT count(*) FROM t WHERE id > ?`
	c, reused := cacheDelta(t, r, func() {
		for i := 1; i <= 10; i++ {
			if _, err := w.Exec(`INSERT INTO t (id) VALUES (?)`, i); err != nil {
				t.Fatal(err)
			}
			if n := countRows(t, r, q, 0); n != i {
				t.Fatalf("read %d rows after %d inserts: a kept statement read an old snapshot", n, i)
			}
			tx, err := r.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := tx.QueryRow(q, 0).Scan(&n); err != nil || n != i {
				t.Fatalf("in a read transaction: %d rows (%v); want %d", n, err, i)
			}
			tx.Rollback()
		}
	})
	if c != 1 || reused != 19 {
		t.Fatalf("20 runs of one query compiled %d statements and reused %d; want 1 and 19", c, reused)
	}
	var busy, frames, done int
	if err := w.QueryRow(`PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &done); err != nil || busy != 0 {
		t.Fatalf("checkpoint beside the reader's kept statement: busy %d (%v); want 0", busy, err)
	}
	c, _ = cacheDelta(t, r, func() {
		for i := range readerLimits.entries + 1 {
			countRows(t, r, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i))
		}
		countRows(t, r, `SELECT count(*) + 0 FROM t`)
	})
	if c != int64(readerLimits.entries)+2 {
		t.Fatalf("compiled %d past the reader's %d statements; want %d (the least recent dropped)", c, readerLimits.entries, readerLimits.entries+2)
	}
}
