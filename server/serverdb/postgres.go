package serverdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"doorstep/schema"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL engine (docs/decisions/0042-the-postgresql-store.md). The
// store's SQL is written once, with SQLite's `?` placeholders, and runs
// here through database/sql over pgx's stdlib driver, wrapped so that each
// query's `?` become `$1, $2, ...` (pgConn). What cannot be written once
// is the engine's: the JSON fragments, the writer lock, the bulk insert.

// IsPostgresURL reports whether target names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Advisory lock keys. Each store takes them as (class, schema): the class
// says which lock, the second key is the hash of the store's schema, so
// stores in different schemas of one database (the tests) do not wait
// for each other.
const (
	// lockWriter is taken, transaction-scoped, by every write transaction
	// before its first statement: one writer at a time across every
	// server instance, as SQLite's one writer connection gives.
	lockWriter = 0x44535357 // "DSSW"
	// lockMigrate is held, session-scoped, while one instance checks the
	// schema, migrates it and reads the epoch at Open.
	lockMigrate = 0x4453534d // "DSSM"
)

// pgEngine is a PostgreSQL database, one schema of it.
type pgEngine struct {
	// schemaKey is hashtext(current_schema()): the second key of every
	// advisory lock.
	schemaKey int32
	// copied counts the rows bulkInsert wrote (tests read it).
	copied atomic.Int64
	// w is the writer pool: checkpoint vacuums through it.
	w *sql.DB
	// writer is what the writer pool's connections share: the BEGIN that
	// takes the writer lock, and the statements they send (tests).
	writer pgWriter
}

// pgWriter is shared by the writer pool's connections.
type pgWriter struct {
	// begin is the BEGIN of a read-write transaction on the writer pool
	// once the schema's key is known: BEGIN and the writer lock in one
	// message (one round trip, where a BEGIN and then the lock's SELECT
	// were two). lockWriter then has nothing left to do.
	begin atomic.Pointer[string]
	// sent counts the statements the writer's connections send (BEGIN,
	// COMMIT and a COPY each one; a statement's first prepare on a
	// connection not counted): each is at least one round trip.
	sent atomic.Int64
	// trace, when a test sets it, is told each statement's text.
	trace atomic.Pointer[func(string)]
}

// sending counts the statement q about to go to PostgreSQL.
func (w *pgWriter) sending(q string) {
	if w == nil {
		return
	}
	w.sent.Add(1)
	if f := w.trace.Load(); f != nil {
		(*f)(q)
	}
}

func (e *pgEngine) name() string { return "postgres" }

// readerWorkMem is the reader connections' work_mem: a sort or hash of
// a report query may use this much memory before it spills to disk, and
// the readers are at most 2 × CPUs connections.
const readerWorkMem = "64MB"

// readerPlanCache is the reader connections' plan_cache_mode: a plan a
// run, for the run's parameters (decision 0078).
const readerPlanCache = "force_custom_plan"

// open connects the writer and reader pools, then checks, migrates and
// stamps the schema under the migration lock, so that instances starting
// together migrate it once.
func (e *pgEngine) open(ctx context.Context, db *DB) error {
	cfg, poolMax, err := pgConfig(db.path)
	if err != nil {
		return fmt.Errorf("open %s: %w", db.Name(), err)
	}
	connector := pgConnector{inner: stdlib.GetConnector(*cfg), prepares: &db.writerPrepares, w: &e.writer}
	// Writers queue on the writer lock inside PostgreSQL, each on its
	// connection; a few connections let the next writer be ready.
	db.w = sql.OpenDB(connector)
	db.w.SetMaxOpenConns(min(4, poolMax))
	db.w.SetMaxIdleConns(min(4, poolMax))
	// The readers run without JIT compilation, unless the URL asks for it
	// (jit=on): the report queries' correlated subqueries give plans
	// costed far above jit_above_cost, and PostgreSQL then spent longer
	// compiling each one than running it (decision 0057).
	// They also sort and hash in memory up to readerWorkMem a node,
	// unless the URL sets work_mem: at the server's default (4 MB) the
	// report set's grouped counts of a quarter's contacts spilled their
	// sorts to disk, a third of each statement's time (decision 0064).
	// And they plan each execution with its parameters (plan_cache_mode
	// force_custom_plan), unless the URL sets it: pgx prepares every
	// statement once a connection, and after five runs PostgreSQL may
	// settle on a generic plan, blind to the dates and days of a report's
	// period; the exemptions report then went from 1-2 s to 18 s by a
	// connection's fifth report set at 25,000 cases (decision 0078).
	rcfg := cfg.Copy()
	for name, value := range map[string]string{"jit": "off", "work_mem": readerWorkMem, "plan_cache_mode": readerPlanCache} {
		if _, set := rcfg.RuntimeParams[name]; !set {
			rcfg.RuntimeParams[name] = value
		}
	}
	db.r = sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*rcfg), prepares: new(atomic.Int64)})
	db.r.SetMaxOpenConns(min(max(4, 2*runtime.NumCPU()), poolMax))
	db.r.SetMaxIdleConns(min(max(4, 2*runtime.NumCPU()), poolMax))
	e.w = db.w

	c, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w (is PostgreSQL running, and the URL right?)", db.Name(), err)
	}
	defer c.Close()
	var schemaName sql.NullString
	if err := c.QueryRowContext(ctx, `SELECT current_schema(), hashtext(coalesce(current_schema(), ''))`).Scan(&schemaName, &e.schemaKey); err != nil {
		return fmt.Errorf("open %s: %w", db.Name(), err)
	}
	if !schemaName.Valid {
		return fmt.Errorf("open %s: no schema of the search_path exists; create it, or fix search_path in the URL", db.Name())
	}
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock(?, ?)`, lockMigrate, e.schemaKey); err != nil {
		return fmt.Errorf("open %s: take the migration lock: %w", db.Name(), err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?, ?)`, lockMigrate, e.schemaKey)
	if err := e.checkOwner(ctx, c, db.Name()); err != nil {
		return err
	}
	if err := e.migrate(ctx, c, db); err != nil {
		return err
	}
	// From here on, a write transaction's BEGIN takes the writer lock.
	begin := fmt.Sprintf("BEGIN; SELECT pg_advisory_xact_lock(%d, %d)", lockWriter, e.schemaKey)
	e.writer.begin.Store(&begin)
	return db.loadEpoch(ctx)
}

// pgConfig parses the store's URL. pool_max_conns=N (pgx's name for a
// pool's size), which is not a PostgreSQL setting and is taken out,
// caps each of the store's two pools (the writers', at most 4, and the
// readers', at most 2 × CPUs) at N connections, at least 2; without it
// poolMax is unbounded. The tests ask for 2, so that several suites at once stay
// under the server's max_connections.
func pgConfig(path string) (cfg *pgx.ConnConfig, poolMax int, err error) {
	if cfg, err = pgx.ParseConfig(path); err != nil {
		return nil, 0, err
	}
	poolMax = math.MaxInt
	if v, ok := cfg.RuntimeParams["pool_max_conns"]; ok {
		delete(cfg.RuntimeParams, "pool_max_conns")
		if poolMax, err = strconv.Atoi(v); err != nil || poolMax < 2 {
			return nil, 0, fmt.Errorf("pool_max_conns=%q in the URL: want a number of connections, at least 2 (the store's opening holds one while it migrates through another)", v)
		}
	}
	return cfg, poolMax, nil
}

// checkOwner refuses a schema whose tables are someone else's: one that
// holds tables but no doorstep_store row of a server store. name is the
// database's for messages (DB.Name).
func (e *pgEngine) checkOwner(ctx context.Context, c *sql.Conn, name string) error {
	var tables int
	var marked bool
	err := c.QueryRowContext(ctx, `SELECT count(*), coalesce(bool_or(table_name = 'doorstep_store'), false)
		FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'schema_migrations'`).Scan(&tables, &marked)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	if tables > 0 && !marked {
		return fmt.Errorf("%s is not a Doorstep server database (its schema holds other tables and no doorstep_store); give Doorstep a schema or database of its own", name)
	}
	if !marked {
		return nil
	}
	var app int64
	if err := c.QueryRowContext(ctx, `SELECT application FROM doorstep_store WHERE id = 1`).Scan(&app); err != nil {
		return fmt.Errorf("open %s: read doorstep_store: %w", name, err)
	}
	if app != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (doorstep_store application %#x, want %#x)", name, app, schema.ServerApplicationID)
	}
	return nil
}

// migrate applies each migration of schema.ServerPostgresMigrations not yet
// recorded, one transaction each, on c (which holds the migration lock).
func (e *pgEngine) migrate(ctx context.Context, c *sql.Conn, db *DB) error {
	migs := schema.ServerPostgresMigrations()
	if _, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at TEXT   NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Name(), err)
	}
	applied := map[int]bool{}
	rows, err := c.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.Name(), err)
	}
	highest := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("migrate %s: %w", db.Name(), err)
		}
		applied[v] = true
		highest = max(highest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate %s: %w", db.Name(), err)
	}
	if highest > len(migs) {
		return fmt.Errorf("%s was migrated to version %d by a newer Doorstep; this build knows %d: run the newer build", db.Name(), highest, len(migs))
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		tx, err := c.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate %s: %s: %w", db.Name(), m.Name, err)
		}
		// No arguments: pgx sends the file with the simple protocol, all
		// its statements at once.
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: %s: %w", db.Name(), m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, fmtTime(db.now())); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate %s: record %s: %w", db.Name(), m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", db.Name(), m.Name, err)
		}
		db.log.Info("applied migration", "migration", m.Name, "db", db.Name())
	}
	return nil
}

// lockWriter takes the writer lock for tx: it waits for the write
// transactions of every instance before it to end. Once open has
// migrated the schema, a read-write transaction on the writer pool took
// it with its BEGIN (pgConn.BeginTx), in the same round trip; before
// that it is taken here.
func (e *pgEngine) lockWriter(ctx context.Context, tx *sql.Tx) error {
	if e.writer.begin.Load() != nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, ?)`, lockWriter, e.schemaKey)
	return err
}

// A read that needs one snapshot over several statements (a pull page)
// runs REPEATABLE READ: the snapshot is taken at its first statement.
func (e *pgEngine) readOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

func (e *pgEngine) close() error { return nil }

// vacuumTables are the tables a bulk load (Seed, ImportCases) fills: the
// records, their scope and read model, the audit trail and the counter.
var vacuumTables = []string{"records", "case_scope", "audit", "sequence",
	"rm_cases", "rm_visits", "rm_household", "rm_flags", "rm_enquiries", "rm_referrals", "rm_safety", "requirements",
	"rm_visit_children", "rm_contact_totals", "rm_exempt"}

// checkpoint runs VACUUM (ANALYZE) on the tables a bulk load fills, named
// unqualified so that only the store's schema is touched. Until then the
// planner has no statistics for the new rows (it plans from the table's
// size and default selectivities) and no page is marked all-visible, so
// the index-only scans the report and pull queries are written for
// (records_case: case_id, seq) read every row's heap page as well;
// autovacuum would get there, but only after a nap and a threshold, and
// not at all where it is off. A table the store's user may not vacuum is
// skipped with PostgreSQL's warning, not an error.
// analyze runs ANALYZE on the tables a bulk load fills (vacuumTables):
// autovacuum would, but only after its nap and threshold, and not at all
// where it is off.
func (e *pgEngine) analyze(ctx context.Context) error {
	if _, err := e.w.ExecContext(ctx, `ANALYZE `+strings.Join(vacuumTables, ", ")); err != nil {
		return fmt.Errorf("analyze after a bulk load: %w", err)
	}
	return nil
}

func (e *pgEngine) checkpoint() error {
	if e.w == nil {
		return nil
	}
	if _, err := e.w.Exec(`VACUUM (ANALYZE) ` + strings.Join(vacuumTables, ", ")); err != nil {
		return fmt.Errorf("checkpoint: vacuum after a bulk load: %w", err)
	}
	return nil
}

func (e *pgEngine) backup(ctx context.Context, out string) error {
	return errors.New("backup: the store is a PostgreSQL database; back it up with pg_dump (docs/operations.md), not doorstep admin backup")
}

// bulkInsert writes rows into table with COPY, in the write transaction
// on c: the push apply's new records, mutation log and audit events.
func (e *pgEngine) bulkInsert(ctx context.Context, c *sql.Conn, table string, cols []string, rows [][]any) error {
	return c.Raw(func(dc any) error {
		pc, ok := dc.(*pgConn)
		if !ok {
			return fmt.Errorf("bulk insert into %s: connection is a %T, not pgx's", table, dc)
		}
		pc.w.sending("COPY " + table)
		n, err := pc.Conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		if err == nil && int(n) != len(rows) {
			err = fmt.Errorf("copied %d rows of %d", n, len(rows))
		}
		e.copied.Add(n)
		return err
	})
}

// The JSON fragments. Fields and clocks are JSON text; PostgreSQL reads
// into them through a jsonb cast.

func (e *pgEngine) idsIn() string {
	return `SELECT value FROM json_array_elements_text(?::json) AS ids (value)`
}

func (e *pgEngine) jsonText(col, key string) string {
	return `(` + col + `::jsonb ->> '` + key + `')`
}

func (e *pgEngine) jsonTrue(col, key string) string {
	return `coalesce((` + col + `::jsonb -> '` + key + `') = 'true'::jsonb, false)`
}

func (e *pgEngine) jsonValid(col string) string { return `true` }

func (e *pgEngine) anyChildUnseen(col string) string {
	return `CASE WHEN jsonb_typeof(` + col + `::jsonb -> 'children') = 'array' THEN EXISTS (SELECT 1 FROM jsonb_array_elements(` + col + `::jsonb -> 'children') AS c (value) WHERE c.value ->> 'seen' = 'no') ELSE false END`
}

func (e *pgEngine) clockValues(col string) string {
	return `jsonb_each_text(` + col + `::jsonb)`
}

// redactURL is target with any password replaced, for messages and logs.
func redactURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "the PostgreSQL URL"
	}
	return u.Redacted()
}

// pgConnector makes pgConns.
type pgConnector struct {
	inner    driver.Connector
	prepares *atomic.Int64 // the statements its connections prepared (tests read the writer's)
	w        *pgWriter     // the writer pool's; nil for the readers'
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: dc.(*stdlib.Conn), prepares: c.prepares, w: c.w}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is pgx's database/sql connection with the store's `?`
// placeholders rewritten to PostgreSQL's `$n` on the way in, and, on the
// writer pool, the writer lock taken by BEGIN and the statements counted.
// Everything else is stdlib's.
type pgConn struct {
	*stdlib.Conn
	prepares *atomic.Int64
	w        *pgWriter
}

func (c *pgConn) counted() {
	if c.prepares != nil {
		c.prepares.Add(1)
	}
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.counted()
	c.w.sending("PREPARE " + query)
	st, err := c.Conn.PrepareContext(ctx, numberPlaceholders(query))
	if err != nil || c.w == nil {
		return st, err
	}
	return &pgStmt{Stmt: st.(*stdlib.Stmt), query: query, w: c.w}, nil
}

// A statement run without arguments (a migration file) is sent as it is:
// it has no placeholders, and a `?` in it is text (a comment, a function
// body).
func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.w.sending(query)
	if len(args) > 0 {
		query = numberPlaceholders(query)
	}
	return c.Conn.ExecContext(ctx, query, args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.w.sending(query)
	if len(args) > 0 {
		query = numberPlaceholders(query)
	}
	return c.Conn.QueryContext(ctx, query, args)
}

func (c *pgConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction. On the writer pool, a read-write one of
// the default isolation (DB.update's) takes the writer lock in the same
// message as its BEGIN once open has migrated the schema (the migrations'
// transactions, under the migration lock, never took it): PostgreSQL runs the two statements of one simple
// query in order, so the lock is held before the transaction's first
// statement of its own, as when lockWriter sent it on its own.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.w == nil {
		return c.Conn.BeginTx(ctx, opts)
	}
	begin := c.w.begin.Load()
	if begin == nil || opts.ReadOnly || sql.IsolationLevel(opts.Isolation) != sql.LevelDefault {
		c.w.sending("BEGIN")
		tx, err := c.Conn.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &pgTx{Tx: tx, w: c.w}, nil
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.w.sending(*begin)
	tx, err := c.Conn.Conn().BeginTx(ctx, pgx.TxOptions{BeginQuery: *begin})
	if err != nil {
		return nil, err
	}
	return &pgTx{Tx: pgxTx{ctx: ctx, tx: tx}, w: c.w}, nil
}

// pgxTx is a pgx transaction as database/sql's driver.Tx (stdlib's own
// wrapper, which pgConn.BeginTx cannot reach when it begins one itself).
type pgxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t pgxTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t pgxTx) Rollback() error { return t.tx.Rollback(t.ctx) }

// pgTx counts a writer transaction's COMMIT or ROLLBACK.
type pgTx struct {
	driver.Tx
	w *pgWriter
}

func (t *pgTx) Commit() error {
	t.w.sending("COMMIT")
	return t.Tx.Commit()
}

func (t *pgTx) Rollback() error {
	t.w.sending("ROLLBACK")
	return t.Tx.Rollback()
}

// pgStmt counts the runs (and the deallocation) of a statement prepared
// on the writer pool. database/sql runs a statement by ExecContext or
// QueryContext when the driver has them, never by Exec or Query.
type pgStmt struct {
	*stdlib.Stmt
	query string
	w     *pgWriter
}

func (s *pgStmt) Close() error {
	s.w.sending("DEALLOCATE " + s.query)
	return s.Stmt.Close()
}

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.w.sending(s.query)
	return s.Stmt.ExecContext(ctx, args)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.w.sending(s.query)
	return s.Stmt.QueryContext(ctx, args)
}

// numbered caches numberPlaceholders: the store's queries are a few
// hundred texts, each rewritten once. It stops growing at numberedMax (a
// query that writes a number into its text, a LIMIT, makes new texts).
var numbered struct {
	sync.RWMutex
	m map[string]string
}

const numberedMax = 4096

// numberPlaceholders rewrites each `?` of query outside quotes and
// comments to `$1`, `$2`, ... in order.
func numberPlaceholders(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	numbered.RLock()
	q, ok := numbered.m[query]
	numbered.RUnlock()
	if ok {
		return q
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'' || ch == '"':
			// A quoted literal or identifier, to its closing quote (a
			// doubled quote inside is two quotes in a row: the loop
			// leaves and comes back).
			j := strings.IndexByte(query[i+1:], ch)
			if j < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i - 1
			}
			b.WriteString(query[i : i+j+1])
			i += j
		case ch == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+j+4])
			i += j + 3
		case ch == '?':
			// ?NNN (SQLite's numbered form) is $NNN; a bare ? the next.
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(query[i+1 : j])
				i = j - 1
				continue
			}
			n++
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(ch)
		}
	}
	q = b.String()
	numbered.Lock()
	if numbered.m == nil {
		numbered.m = map[string]string{}
	}
	if len(numbered.m) < numberedMax {
		numbered.m[query] = q
	}
	numbered.Unlock()
	return q
}
