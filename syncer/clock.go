package syncer

import (
	"context"
	"fmt"
	"time"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

// stamp issues the clock stamp of one local change and stores it in the
// change's transaction, so that after a restart (or a wall clock set back
// further than the clock will follow) the next stamp still orders after it.
func (a *Agent) stamp(ctx context.Context, tx *devicedb.Tx) (schema.HLC, error) {
	stored, err := tx.State(ctx, devicedb.KeyHLC)
	if err != nil {
		return schema.HLC{}, err
	}
	last, err := schema.ParseHLC(stored)
	if err != nil {
		return schema.HLC{}, fmt.Errorf("stored clock: %w", err)
	}
	h := a.clock.Now()
	if h.Compare(last) <= 0 {
		h = schema.HLC{Wall: last.Wall, Logical: last.Logical + 1, Node: a.deviceID}
		if last.Logical == 0xffff {
			h = schema.HLC{Wall: last.Wall + 1, Node: a.deviceID}
		}
		a.clock.Observe(h)
	}
	if err := tx.SetState(ctx, devicedb.KeyHLC, h.String()); err != nil {
		return schema.HLC{}, err
	}
	return h, nil
}

// serverNow is the device's clock corrected by the last measured skew: the
// server's time as best the tablet knows it, which its stamps carry
// (docs/sync-protocol.md §3), so that a tablet whose clock runs fast does
// not stamp its changes ahead of everyone else's.
func (a *Agent) serverNow() time.Time {
	return a.cfg.Now().Add(time.Duration(a.skewMs.Load()) * time.Millisecond)
}

// observeServer measures the clock skew of one exchange (server time minus
// the device time halfway through the request) and lets the clock follow
// the server's time, so that a tablet whose clock runs slow does not lose
// every last-writer-wins comparison.
func (a *Agent) observeServer(sent, received, serverTime time.Time) {
	if serverTime.IsZero() {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	a.skewMs.Store(serverTime.Sub(mid).Milliseconds())
	a.hasSkew.Store(true)
	a.clock.Observe(schema.HLC{Wall: serverTime.UnixMilli(), Node: "server"})
}
