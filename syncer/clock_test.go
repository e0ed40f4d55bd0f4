package syncer

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"doorstep/schema"
)

func TestClockSurvivesRestartAndClockSetBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	wall := atomic.Int64{}
	wall.Store(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, wall.Load()).UTC() }
	dir := t.TempDir()
	a := newAgent(t, p, func(c *Config) { c.DataDir, c.Now = dir, now })
	caseID := schema.NewID()
	seed(t, a, p, caseRecord(caseID))
	v, err := a.Put(ctx, "visit", "", caseID, map[string]json.RawMessage{"status": raw("draft")})
	if err != nil {
		t.Fatal(err)
	}
	first := mustOutbox(t, a)[0].Clock
	id := a.DeviceID()
	a.Close()

	// The tablet restarts with its clock set back three days (further than
	// the clock follows a remote stamp).
	wall.Store(time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC).UnixNano())
	b, err := Open(ctx, Config{DataDir: dir, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, _, err := b.Unlock(ctx, "asha.officer", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if b.DeviceID() != id {
		t.Fatalf("device id changed across restart: %s -> %s", id, b.DeviceID())
	}
	if _, err := b.Put(ctx, "visit", v.ID, "", map[string]json.RawMessage{"status": raw("planned")}); err != nil {
		t.Fatal(err)
	}
	out := mustOutbox(t, b)
	second := out[len(out)-1].Clock
	if second <= first {
		t.Fatalf("stamp after restart %s does not order after %s", second, first)
	}
	h, err := schema.ParseHLC(second)
	if err != nil || h.Node != id {
		t.Fatalf("stamp %s: node %q, want device id %s (%v)", second, h.Node, id, err)
	}
}
