package devicedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ServerRules is the visit rules document the server sent with a pull
// (schema.PullResponse.Rules), as stored.
type ServerRules struct {
	Doc     []byte // the document, as sent
	Tag     string // the server's tag for it
	Version string // the document's "version"
}

// SetRules stores the server's rules document in place of the one held.
// The caller has checked it with policy.Parse: the store keeps what it is
// given.
func (tx *Tx) SetRules(ctx context.Context, r ServerRules) error {
	if _, err := tx.exec(ctx, `INSERT INTO rules (id, tag, version, document, received_at) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET tag = excluded.tag, version = excluded.version,
			document = excluded.document, received_at = excluded.received_at`,
		r.Tag, r.Version, string(r.Doc), formatTime(tx.now)); err != nil {
		return fmt.Errorf("store the visit rules: %w", err)
	}
	return nil
}

// Rules returns the server's rules document held, and false when the
// tablet holds none (it never synced, or its server is too old to send
// them).
// qRules is Rules' statement, which every pull runs (db.go, everySync).
const qRules = "SELECT tag, version, document FROM rules WHERE id = 1"

func (tx *Tx) Rules(ctx context.Context) (ServerRules, bool, error) {
	var r ServerRules
	var doc string
	err := tx.queryRow(ctx, qRules).Scan(&r.Tag, &r.Version, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return ServerRules{}, false, nil
	}
	if err != nil {
		return ServerRules{}, false, fmt.Errorf("read the visit rules: %w", err)
	}
	r.Doc = []byte(doc)
	return r, true, nil
}
