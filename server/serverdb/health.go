package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"doorstep/schema"
)

// What the operator's probes read (docs/operations.md, "Health, metrics
// and logs"): readiness for /readyz, pool figures and active devices for
// /metrics. Each is one cheap query on the read pool, never the writer, so
// a long push does not make a probe fail.

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping %s: %w", db.Name(), err)
	}
	return nil
}

// Migrations returns how many of the migrations this build knows are
// recorded in the database, and how many it knows. Open applies them all,
// so they differ only when the file was changed under a running server
// (a restore over it, a newer build's migration).
func (db *DB) Migrations(ctx context.Context) (applied, known int, err error) {
	known = len(schema.ServerMigrations())
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version <= ?`, known).Scan(&applied); err != nil {
		return 0, known, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, known, nil
}

// PoolStats is one connection pool's figures, named.
type PoolStats struct {
	Name string // "write" (SQLite: the one writer connection) or "read"
	sql.DBStats
}

// PoolStats returns the figures of the store's connection pools. On
// SQLite the writer's WaitCount and WaitDuration are the writer wait: the
// time write transactions spent queueing for the one writer connection.
// On PostgreSQL the writers queue on the writer lock inside the database,
// each on one of a few connections: Options.WriterWait hears that wait on
// either engine.
func (db *DB) PoolStats() []PoolStats {
	return []PoolStats{{Name: "write", DBStats: db.w.Stats()}, {Name: "read", DBStats: db.r.Stats()}}
}

// ActiveDevices counts the devices not revoked that were seen (made an
// authenticated request that recorded them) at or after since.
func (db *DB) ActiveDevices(ctx context.Context, since time.Time) (int, error) {
	if err := db.FlushDevices(ctx); err != nil {
		return 0, err
	}
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE revoked_at = '' AND last_seen_at >= ?`,
		fmtTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count active devices: %w", err)
	}
	return n, nil
}
