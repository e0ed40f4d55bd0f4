package syncer

import (
	"context"

	"doorstep/syncer/devicedb"
)

// OutboxEntry is one local change waiting for the server (status pending)
// or set aside by it (status rejected, with the server's error).
type OutboxEntry = devicedb.OutboxEntry

// Outbox returns every pending and rejected change, oldest first.
func (a *Agent) Outbox(ctx context.Context) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := a.db.View(ctx, func(tx *devicedb.Tx) error {
		var err error
		out, err = tx.Outbox(ctx)
		return err
	})
	return out, err
}

// Conflicts returns the conflict records pulled from the server: changes
// that lost, with both values and both authors.
func (a *Agent) Conflicts(ctx context.Context) ([]LocalRecord, error) {
	return a.List(ctx, "conflict", "")
}
