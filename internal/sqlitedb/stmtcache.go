package sqlitedb

import (
	"container/list"
	"context"
	"database/sql"
	sqldriver "database/sql/driver"
	"errors"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// The writer's statement cache (decision 0073).
//
// SQLite compiles every statement it runs: a statement run by its text
// (tx.ExecContext(ctx, q)) is parsed, planned and compiled at every run, and
// one prepared in a transaction (tx.PrepareContext) at every transaction,
// since database/sql closes it, and the driver finalizes it, when the
// transaction ends. A push ran the same few dozen statements in every
// transaction and parsed them all again each time: about 2.5 ms of the 17
// the server spent on a push of 100 changed records (decision 0066).
//
// The writer's connections keep what they compiled instead: each wraps the
// driver's connection in a cachedConn, whose statements, prepared or run by
// their text, come from a cache keyed by the statement's text and go back
// to it (reset, not finalized) when database/sql closes them. A statement
// lives as long as its connection (the writer's one connection lives as
// long as the store), within the limits below. What SQLite guarantees of
// a statement kept prepared makes this safe:
//
//   - a statement is reset after each run (the driver does it), so it holds
//     no lock and no read snapshot between runs, and nothing of a
//     transaction, committed or rolled back, stays with it;
//   - a statement compiled before the schema changed (a migration, an index
//     made or dropped) is compiled again by SQLite at its next run
//     (sqlite3_prepare_v2), so it never runs a stale plan;
//   - a statement still in use (its rows not closed, or a database/sql
//     statement not yet closed) is never handed out twice: a second use of
//     the same text while the first is out gets a statement of its own,
//     finalized when closed.
//
// The read pools' connections keep theirs the same way, in a smaller
// cache (readerLimits; decision 0081): a read run by its text (the
// tablet's outbox and state reads before every push, the server's pull)
// was compiled at every run too. A reset statement holds no read
// snapshot, so a kept one neither sees old data nor holds back a
// checkpoint.

// What a writer connection keeps: at most cacheEntries statements, whose
// texts add up to at most cacheBytes, none longer than cacheText (longer
// ones, migration scripts, are compiled each time as before); the least
// recently used go first. A compiled statement takes about 50 times its
// text's length in memory (a 32-row INSERT of 24 columns, 1.8 KB of text,
// about 95 KB), so the cache holds about 6 MB at most. A push's
// statements (the multi-row INSERTs of full chunks, the one-row UPDATE,
// the reads, the read model's statements) are a few dozen.
const (
	cacheEntries = 256
	cacheBytes   = 128 << 10
	cacheText    = 8 << 10
)

// cacheLimits bound one connection's cache: statements and their texts'
// bytes.
type cacheLimits struct{ entries, bytes int }

// writerLimits are the writer's; readerLimits each read connection's, a
// quarter (about 1.5 MB at most), since a store has several (the server
// max(4, cores)) and their reads are fewer statements than a push's.
var (
	writerLimits = cacheLimits{cacheEntries, cacheBytes}
	readerLimits = cacheLimits{cacheEntries / 4, cacheBytes / 4}
)

// cacheStats counts, for the tests and benchmarks, the statements a pool's
// connections compiled (misses) and took from their cache (hits).
type cacheStats struct {
	compiled atomic.Int64
	reused   atomic.Int64
}

// statsOf maps a writer pool (weakly: a pool closed and dropped goes) to
// its cacheStats.
var statsOf sync.Map // weak.Pointer[sql.DB] -> *cacheStats

func keepStats(db *sql.DB, st *cacheStats) {
	k := weak.Make(db)
	statsOf.Store(k, st)
	runtime.AddCleanup(db, func(k weak.Pointer[sql.DB]) { statsOf.Delete(k) }, k)
}

// StatementsCompiled returns how many statements the pool w (OpenWriter's
// or OpenReaders') has compiled, and how many runs took a statement
// already compiled from its cache; 0, 0 for any other pool.
func StatementsCompiled(w *sql.DB) (compiled, reused int64) {
	s, ok := statsOf.Load(weak.Make(w))
	if !ok {
		return 0, 0
	}
	st := s.(*cacheStats)
	return st.compiled.Load(), st.reused.Load()
}

// cachingConnector opens the driver's connections and wraps each in a
// cachedConn.
type cachingConnector struct {
	drv    sqldriver.Driver
	dsn    string
	stats  *cacheStats
	limits cacheLimits
}

func (c *cachingConnector) Connect(ctx context.Context) (sqldriver.Conn, error) {
	var (
		dc  sqldriver.Conn
		err error
	)
	if dctx, ok := c.drv.(sqldriver.DriverContext); ok {
		var cn sqldriver.Connector
		if cn, err = dctx.OpenConnector(c.dsn); err != nil {
			return nil, err
		}
		dc, err = cn.Connect(ctx)
	} else {
		dc, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return newCachedConn(dc, c.stats, c.limits)
}

func (c *cachingConnector) Driver() sqldriver.Driver { return c.drv }

// innerConn is what the wrapped connection must do: the driver's
// (modernc.org/sqlite's) connection does all of it.
type innerConn interface {
	sqldriver.Conn
	sqldriver.ConnPrepareContext
	sqldriver.ConnBeginTx
}

// cachedConn is a driver connection with a cache of its compiled
// statements. database/sql calls a connection from one goroutine at a time
// (it holds the connection's lock around every call); mu guards the cache
// all the same, since a statement's Close may come from another goroutine.
type cachedConn struct {
	c      innerConn
	stats  *cacheStats
	limits cacheLimits

	mu    sync.Mutex
	bySQL map[string]*list.Element // of *cachedStmt, the idle and the busy
	lru   *list.List               // front: most recently used
	bytes int                      // the kept statements' texts
}

var errNotCacheable = errors.New("sqlitedb: the driver's connection does not prepare with a context")

func newCachedConn(dc sqldriver.Conn, stats *cacheStats, limits cacheLimits) (sqldriver.Conn, error) {
	ic, ok := dc.(innerConn)
	if !ok {
		dc.Close()
		return nil, errNotCacheable
	}
	return &cachedConn{c: ic, stats: stats, limits: limits, bySQL: map[string]*list.Element{}, lru: list.New()}, nil
}

// cachedStmt is a statement of the cache: the driver's, and whether it is
// out (busy) with a caller. Close puts it back.
type cachedStmt struct {
	conn *cachedConn
	text string
	ds   sqldriver.Stmt
	busy bool
	// kept: the statement is in the cache (false for one compiled because
	// the cached one was busy, or evicted while busy): Close finalizes it.
	kept bool
}

// take returns the statement for query: the cached one if idle, else a
// new one (cached unless the text is too long or the cached one is busy).
func (c *cachedConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	c.mu.Lock()
	if e, ok := c.bySQL[query]; ok {
		s := e.Value.(*cachedStmt)
		if !s.busy {
			s.busy = true
			c.lru.MoveToFront(e)
			c.mu.Unlock()
			c.stats.reused.Add(1)
			return s, nil
		}
	}
	c.mu.Unlock()
	ds, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stats.compiled.Add(1)
	s := &cachedStmt{conn: c, text: query, ds: ds, busy: true}
	if len(query) > cacheText {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.bySQL[query]; ok {
		return s, nil // the busy one stays cached; this one is finalized when closed
	}
	s.kept = true
	c.bySQL[query] = c.lru.PushFront(s)
	c.bytes += len(query)
	// Evict the least recently used beyond the limits: an idle one is
	// finalized now, a busy one when it is given back.
	for e := c.lru.Back(); e != nil && e != c.lru.Front() && (c.lru.Len() > c.limits.entries || c.bytes > c.limits.bytes); {
		prev := e.Prev()
		old := e.Value.(*cachedStmt)
		c.lru.Remove(e)
		delete(c.bySQL, old.text)
		c.bytes -= len(old.text)
		old.kept = false
		if !old.busy {
			old.ds.Close()
		}
		e = prev
	}
	return s, nil
}

// give puts s back: idle in the cache, or finalized if not kept.
func (s *cachedStmt) give() error {
	c := s.conn
	c.mu.Lock()
	s.busy = false
	kept := s.kept
	c.mu.Unlock()
	if !kept {
		return s.ds.Close()
	}
	return nil
}

// Prepare, PrepareContext: a statement from the cache, which database/sql
// holds until it closes it (at the latest when its transaction ends).
func (c *cachedConn) Prepare(query string) (sqldriver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachedConn) PrepareContext(ctx context.Context, query string) (sqldriver.Stmt, error) {
	s, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	return &heldStmt{s: s}, nil
}

// ExecContext runs a statement given by its text with the cached statement.
func (c *cachedConn) ExecContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	s, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	defer s.give()
	return s.exec(ctx, args)
}

// QueryContext runs a query given by its text with the cached statement,
// which goes back to the cache when its rows are closed.
func (c *cachedConn) QueryContext(ctx context.Context, query string, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	s, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := s.query(ctx, args)
	if err != nil {
		s.give()
		return nil, err
	}
	return wrapRows(r, s), nil
}

func (s *cachedStmt) exec(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	if x, ok := s.ds.(sqldriver.StmtExecContext); ok {
		return x.ExecContext(ctx, args)
	}
	return nil, sqldriver.ErrSkip
}

func (s *cachedStmt) query(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	if x, ok := s.ds.(sqldriver.StmtQueryContext); ok {
		return x.QueryContext(ctx, args)
	}
	return nil, sqldriver.ErrSkip
}

// Close finalizes every statement the connection kept, then closes it.
func (c *cachedConn) Close() error {
	c.mu.Lock()
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*cachedStmt)
		s.kept = false
		if !s.busy {
			s.ds.Close()
		}
	}
	c.bySQL = map[string]*list.Element{}
	c.lru.Init()
	c.bytes = 0
	c.mu.Unlock()
	return c.c.Close()
}

func (c *cachedConn) Begin() (sqldriver.Tx, error) {
	return c.BeginTx(context.Background(), sqldriver.TxOptions{})
}

func (c *cachedConn) BeginTx(ctx context.Context, opts sqldriver.TxOptions) (sqldriver.Tx, error) {
	return c.c.BeginTx(ctx, opts)
}

func (c *cachedConn) Ping(ctx context.Context) error {
	if p, ok := c.c.(sqldriver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.c.(sqldriver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachedConn) IsValid() bool {
	if v, ok := c.c.(sqldriver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// heldStmt is a cached statement database/sql holds (prepared): Close puts
// it back in the cache.
type heldStmt struct {
	s      *cachedStmt
	closed bool
}

func (h *heldStmt) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	return h.s.give()
}

func (h *heldStmt) NumInput() int { return h.s.ds.NumInput() }

func (h *heldStmt) Exec(args []sqldriver.Value) (sqldriver.Result, error) {
	return h.s.ds.Exec(args) //nolint:staticcheck // the driver's, for completeness
}

func (h *heldStmt) Query(args []sqldriver.Value) (sqldriver.Rows, error) {
	return h.s.ds.Query(args) //nolint:staticcheck // the driver's, for completeness
}

func (h *heldStmt) ExecContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Result, error) {
	return h.s.exec(ctx, args)
}

func (h *heldStmt) QueryContext(ctx context.Context, args []sqldriver.NamedValue) (sqldriver.Rows, error) {
	return h.s.query(ctx, args)
}

// cachedRows are the rows of a query run by its text: closing them puts
// the statement back. The column-type methods are the driver's.
type cachedRows struct {
	sqldriver.Rows
	s      *cachedStmt
	closed bool
}

func wrapRows(r sqldriver.Rows, s *cachedStmt) sqldriver.Rows {
	return &cachedRows{Rows: r, s: s}
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	if e := r.s.give(); err == nil {
		err = e
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if x, ok := r.Rows.(sqldriver.RowsColumnTypeDatabaseTypeName); ok {
		return x.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if x, ok := r.Rows.(sqldriver.RowsColumnTypeScanType); ok {
		return x.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if x, ok := r.Rows.(sqldriver.RowsColumnTypeNullable); ok {
		return x.ColumnTypeNullable(i)
	}
	return false, false
}
