package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"doorstep/schema"
)

// EndDashboardSession records that the dashboard session id was signed out;
// DashboardSessionEnded answers true for it until expires (the session's
// own expiry, after which its cookie is refused anyway). It also deletes
// the sign-outs of sessions already expired. Every server instance on the
// database sees it (migration 0009).
func (db *DB) EndDashboardSession(ctx context.Context, id string, expires time.Time) error {
	if id == "" {
		return schema.Errorf(schema.ECodeInvalid, "session", "a dashboard session id is required")
	}
	return db.update(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dashboard_signouts WHERE expires_at < ?`, tx.nowText); err != nil {
			return fmt.Errorf("forget expired dashboard sign-outs: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO dashboard_signouts (session_id, expires_at, signed_out_at) VALUES (?, ?, ?)
			ON CONFLICT (session_id) DO NOTHING`, id, fmtTime(expires), tx.nowText); err != nil {
			return fmt.Errorf("record dashboard sign-out: %w", err)
		}
		return nil
	})
}

// DashboardSessionEnded reports whether the dashboard session id was
// signed out (EndDashboardSession).
func (db *DB) DashboardSessionEnded(ctx context.Context, id string) (bool, error) {
	var one int
	err := db.r.QueryRowContext(ctx, `SELECT 1 FROM dashboard_signouts WHERE session_id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read dashboard sign-outs: %w", err)
	}
	return true, nil
}
