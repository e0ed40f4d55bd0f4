package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"doorstep/internal/sqlitedb"
	"doorstep/schema"

	"github.com/jackc/pgx/v5/stdlib"
)

// ErrReadOnly is what a write on a store opened with OpenReadOnly returns.
var ErrReadOnly = errors.New("the store was opened read-only")

// OpenReadOnly opens the server database target for reading only, as the
// operator's read-only commands do (doorstep admin list-users, list-teams,
// list-devices, audit verify, verify-visit): it takes no lock a writer
// holds, so it answers at once beside a busy server, and it changes
// nothing. SQLite: the file's query-only read connections, no writer
// connection, no migration, no statistics; PostgreSQL: connections whose
// every transaction is read-only (default_transaction_read_only), no
// migration lock, no writer lock. It refuses a target that is missing,
// that is not a Doorstep server database, or whose migrations are not
// exactly this build's (an older store: start the server, or run a
// writing admin command, to migrate it first). The read model is read as
// it is (it is rebuilt only by a writing open). Every write returns
// ErrReadOnly. Of opts, DeviceFlush and WriterWait have nothing to act
// on here (no device flusher, no writer).
func OpenReadOnly(ctx context.Context, target string, opts Options) (*DB, error) {
	db := newDB(target, opts)
	var err error
	if IsPostgresURL(target) {
		db.eng = &pgEngine{}
		err = openPostgresReadOnly(ctx, db)
	} else {
		db.eng = &sqliteEngine{db: db, path: target, log: db.log}
		err = openSQLiteReadOnly(ctx, db)
	}
	if err != nil {
		db.closePools()
		return nil, err
	}
	return db, nil
}

// openSQLiteReadOnly opens two query-only readers on an existing file and
// checks its stamp and migrations through them. A WAL reader takes no
// lock a writer holds.
func openSQLiteReadOnly(ctx context.Context, db *DB) error {
	if _, err := os.Stat(db.path); err != nil {
		return fmt.Errorf("no server database at %s (run the server once, or check --data): %w", db.path, err)
	}
	r, err := sqlitedb.OpenReaders(sqliteDriver, db.path, 2, readerPragmas(2)...)
	if err != nil {
		return fmt.Errorf("open %s for reading: %w", db.path, err)
	}
	db.r = r
	id, err := sqlitedb.ApplicationID(ctx, r)
	if err != nil {
		return fmt.Errorf("open %s: %w (is it a SQLite database?)", db.path, err)
	}
	if id != schema.ServerApplicationID {
		return fmt.Errorf("%s is not a Doorstep server database (application_id %#x, want %#x); check the --data folder", db.path, id, schema.ServerApplicationID)
	}
	if err := checkMigrated(ctx, db, len(schema.ServerMigrations())); err != nil {
		return err
	}
	return readEpoch(ctx, db)
}

// openPostgresReadOnly opens a small pool whose every transaction is
// read-only, and checks the schema's owner and migrations through it,
// without the migration lock.
func openPostgresReadOnly(ctx context.Context, db *DB) error {
	cfg, poolMax, err := pgConfig(db.path)
	if err != nil {
		return fmt.Errorf("open %s: %w", db.Name(), err)
	}
	for name, value := range map[string]string{"jit": "off", "default_transaction_read_only": "on"} {
		cfg.RuntimeParams[name] = value
	}
	db.r = sql.OpenDB(pgConnector{inner: stdlib.GetConnector(*cfg), prepares: new(atomic.Int64)})
	db.r.SetMaxOpenConns(min(2, poolMax))
	db.r.SetMaxIdleConns(min(2, poolMax))
	c, err := db.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w (is PostgreSQL running, and the URL right?)", db.Name(), err)
	}
	defer c.Close()
	var schemaName sql.NullString
	var marked bool
	if err := c.QueryRowContext(ctx, `SELECT current_schema(), EXISTS (SELECT 1 FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = 'doorstep_store')`).Scan(&schemaName, &marked); err != nil {
		return fmt.Errorf("open %s: %w", db.Name(), err)
	}
	if !schemaName.Valid || !marked {
		return fmt.Errorf("%s holds no Doorstep server database (no doorstep_store table in the schema of its search_path); start the server on it once, or check --db", db.Name())
	}
	if err := (&pgEngine{}).checkOwner(ctx, c, db.Name()); err != nil {
		return err
	}
	if err := checkMigrated(ctx, db, len(schema.ServerPostgresMigrations())); err != nil {
		return err
	}
	return readEpoch(ctx, db)
}

// checkMigrated refuses a store whose highest migration is not known, the
// highest this build has: a read-only open migrates nothing.
func checkMigrated(ctx context.Context, db *DB, known int) error {
	var highest sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&highest); err != nil {
		return fmt.Errorf("%s holds no Doorstep server database (no migrations recorded: %v); start the server on it once, or check --data or --db", db.Name(), err)
	}
	switch v := int(highest.Int64); {
	case v > known:
		return fmt.Errorf("%s was migrated to version %d by a newer Doorstep; this build knows %d: run the newer build", db.Name(), v, known)
	case v < known:
		return fmt.Errorf("%s is at migration %d, older than this build's %d: a read-only command migrates nothing; start the server (or run a writing admin command) once to migrate it", db.Name(), v, known)
	}
	return nil
}

// readEpoch reads the epoch a writing open made, if any.
func readEpoch(ctx context.Context, db *DB) error {
	err := db.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, settingEpoch).Scan(&db.epoch)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("epoch: %w", err)
	}
	return nil
}
