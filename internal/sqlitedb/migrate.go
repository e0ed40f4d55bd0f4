package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"doorstep/schema"
)

// TooNewError is returned by Migrate for a file that a newer build has
// migrated further than this build knows.
type TooNewError struct {
	Version int // the highest migration recorded in the file
	Known   int // the highest migration this build has
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database is at migration %d but this build knows only %d", e.Version, e.Known)
}

// Migrate applies each migration not yet recorded in the schema_migrations
// table, in order, one transaction each on db (the writer), recording it
// with appliedAt() as the time. A file that records a migration this build
// does not know is refused with a *TooNewError before anything is applied.
// logger, when not nil, hears of each migration applied.
func Migrate(ctx context.Context, db *sql.DB, migs []schema.Migration, appliedAt func() string, logger *slog.Logger) error {
	// The bookkeeping table is the one piece of schema not in a numbered
	// file: it must exist before the first file can be recorded.
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return err
	}
	highest := 0
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
		highest = max(highest, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if highest > len(migs) {
		return &TooNewError{Version: highest, Known: len(migs)}
	}
	for _, m := range migs {
		if applied[m.Version] {
			continue
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, appliedAt()); err != nil {
			tx.Rollback()
			return fmt.Errorf("record %s: %w", m.Name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if logger != nil {
			logger.Info("applied migration", "migration", m.Name)
		}
	}
	return nil
}

// ForeignKeyError is the first row that PRAGMA foreign_key_check found
// referring to a missing row.
type ForeignKeyError struct {
	Table  string // the table of the row at fault
	RowID  int64  // its rowid (0 for a WITHOUT ROWID table)
	Parent string // the table it refers to
}

func (e *ForeignKeyError) Error() string {
	return fmt.Sprintf("foreign key check: table %s row %d refers to a missing %s row", e.Table, e.RowID, e.Parent)
}

// CheckForeignKeys runs PRAGMA foreign_key_check across the whole file and
// returns a *ForeignKeyError for the first violation found.
func CheckForeignKeys(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		_ = rows.Scan(&table, &rowid, &parent, &fkid)
		return &ForeignKeyError{Table: table, RowID: rowid.Int64, Parent: parent}
	}
	return rows.Err()
}
