package serverdb

import (
	"context"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// storedDevice returns the stored row of the device id, read straight from the
// file (not through ListDevices, which flushes first).
func storedDevice(t *testing.T, db *DB, id string) (d schema.Device, outbox int, outboxAt string) {
	t.Helper()
	var seen, synced string
	err := db.r.QueryRow(`SELECT app_version, protocol, schema, last_seen_at, last_sync_at, clock_skew_ms, outbox_pending, outbox_reported_at
		FROM devices WHERE id = ?`, id).Scan(&d.AppVersion, &d.Protocol, &d.Schema, &seen, &synced, &d.ClockSkewMs, &outbox, &outboxAt)
	if err != nil {
		t.Fatalf("read device %s: %v", id, err)
	}
	d.LastSeenAt, d.LastSyncAt = schema.Timestamp(seen), schema.Timestamp(synced)
	return d, outbox, outboxAt
}

// TestDeviceReportsAreBatched: a device's reports on sync requests make no
// write transaction; one flush writes the latest of them (a field a later
// request did not carry keeps the earlier one's) in one transaction.
func TestDeviceReportsAreBatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	before, _, _ := storedDevice(t, f.db, f.ashaDev)
	writes := f.db.WriteTransactions()
	for i := range 50 {
		f.clock.Advance(time.Second)
		info := DeviceInfo{AppVersion: "2.1.0", Protocol: 3, Schema: 2}
		if i == 10 {
			info.OutboxPending, info.HasOutbox, info.ClockSkewMs, info.HasSkew = 7, true, -1500, true
		}
		if err := f.db.TouchDevice(ctx, f.ashaDev, info, true); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.db.WriteTransactions() - writes; n != 0 {
		t.Fatalf("50 device reports made %d write transactions, want 0", n)
	}
	if got, _, _ := storedDevice(t, f.db, f.ashaDev); got != before {
		t.Fatalf("the device row changed before a flush: %+v, was %+v", got, before)
	}
	if err := f.db.FlushDevices(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.db.WriteTransactions() - writes; n != 1 {
		t.Fatalf("a flush made %d write transactions, want 1", n)
	}
	now := schema.Timestamp(fmtTime(f.clock.Now()))
	got, outbox, outboxAt := storedDevice(t, f.db, f.ashaDev)
	want := schema.Device{AppVersion: "2.1.0", Protocol: 3, Schema: 2, LastSeenAt: now, LastSyncAt: now, ClockSkewMs: -1500}
	if got != want || outbox != 7 || outboxAt != fmtTime(synthStart.Add(11*time.Second)) {
		t.Fatalf("after the flush: %+v, outbox %d at %s; want %+v, outbox 7 at the 11th report", got, outbox, outboxAt, want)
	}
	// Nothing pending: a flush writes nothing.
	if err := f.db.FlushDevices(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.db.WriteTransactions() - writes; n != 1 {
		t.Fatalf("an empty flush made a write transaction (%d in all)", n)
	}
}

// synthStart is newFixture's clock at the start.
var synthStart = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// TestDeviceReportsWrittenAtClose: a clean stop loses no report, and the
// reads that show them (the device list) see this process's reports at
// once.
func TestDeviceReportsWrittenAtClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(synthStart)
	path := testTarget(t)
	db, err := Open(ctx, path, Options{Now: clock.Now, DeviceFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	admin := Actor{UserID: "setup", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "Team A"}
	if err := db.CreateTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	u := schema.User{ID: schema.NewID(), Username: "asha", Name: "Asha", Role: schema.RoleOfficer, TeamID: team.ID}
	if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Login(ctx, u, "dev-1", DeviceInfo{AppVersion: "1.0.0"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := db.TouchDevice(ctx, "dev-1", DeviceInfo{AppVersion: "1.1.0", Protocol: 3, OutboxPending: 4, HasOutbox: true}, true); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListDevices(ctx)
	if err != nil || len(list) != 1 || list[0].AppVersion != "1.1.0" || list[0].LastSyncAt != schema.Timestamp(fmtTime(clock.Now())) {
		t.Fatalf("the device list before a flush: %+v, %v; want this process's report", list, err)
	}
	clock.Advance(time.Minute)
	if err := db.TouchDevice(ctx, "dev-1", DeviceInfo{AppVersion: "1.2.0", Protocol: 3, OutboxPending: 0, HasOutbox: true}, true); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, outbox, _ := storedDevice(t, db, "dev-1")
	now := schema.Timestamp(fmtTime(clock.Now()))
	if got.AppVersion != "1.2.0" || got.LastSeenAt != now || got.LastSyncAt != now || outbox != 0 {
		t.Fatalf("after a clean stop: %+v, outbox %d; want the last report (1.2.0, seen and synced %s, outbox 0)", got, outbox, now)
	}
}

// TestDeviceReportsNewestWins: two stores on one file (two server
// instances) flushing a device's reports in either order leave the
// newest; a report older than what is stored moves nothing back.
func TestDeviceReportsNewestWins(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other, err := Open(ctx, f.db.Path(), Options{Now: f.clock.Now, DeviceFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	f.clock.Advance(time.Minute)
	old := f.clock.Now()
	if err := other.TouchDevice(ctx, f.ashaDev, DeviceInfo{AppVersion: "1.0.0", OutboxPending: 9, HasOutbox: true, ClockSkewMs: 100, HasSkew: true}, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	if err := f.db.TouchDevice(ctx, f.ashaDev, DeviceInfo{AppVersion: "2.0.0", OutboxPending: 1, HasOutbox: true, ClockSkewMs: 5, HasSkew: true}, true); err != nil {
		t.Fatal(err)
	}
	// The newer first, then the older.
	if err := f.db.FlushDevices(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.FlushDevices(ctx); err != nil {
		t.Fatal(err)
	}
	got, outbox, _ := storedDevice(t, f.db, f.ashaDev)
	now := schema.Timestamp(fmtTime(f.clock.Now()))
	if got.AppVersion != "2.0.0" || got.LastSeenAt != now || got.LastSyncAt != now || got.ClockSkewMs != 5 || outbox != 1 {
		t.Fatalf("after an older report flushed last: %+v, outbox %d; want 2.0.0 seen %s, skew 5, outbox 1 (the report of %s is older)", got, outbox, now, old)
	}
}

// TestDeviceListWaitsForAFlushWriting: a read that flushes first (the
// device list) while another flush (the flusher's) has taken the reports
// and waits for the writer shows those reports, not what was stored
// before: it waits for that flush to commit.
func TestDeviceListWaitsForAFlushWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(synthStart)
	db, err := Open(ctx, testTarget(t), Options{Now: clock.Now, DeviceFlush: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin := Actor{UserID: "setup", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "Team A"}
	if err := db.CreateTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	u := schema.User{ID: schema.NewID(), Username: "asha", Name: "Asha", Role: schema.RoleOfficer, TeamID: team.ID}
	if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Login(ctx, u, "dev-1", DeviceInfo{AppVersion: "1.0.0"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.FlushDevices(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	if err := db.TouchDevice(ctx, "dev-1", DeviceInfo{AppVersion: "1.1.0"}, true); err != nil {
		t.Fatal(err)
	}
	// Another writer holds the writer; the flush takes the report and
	// waits behind it.
	held, release, heldDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		heldDone <- db.update(ctx, func(*wtx) error { close(held); <-release; return nil })
	}()
	<-held
	flushed := make(chan error, 1)
	go func() { flushed <- db.FlushDevices(ctx) }()
	testkit.WaitFor(t, 30*time.Second, "the flush to take the report", func() bool { return db.pendingDevices() == 0 })
	waiting := make(chan struct{})
	db.devices.onWait = func() { close(waiting) }
	listed := make(chan []schema.Device, 1)
	go func() {
		list, err := db.ListDevices(ctx)
		if err != nil {
			t.Error(err)
		}
		listed <- list
	}()
	// The list waits for the flush; before, it was read at once, before
	// the flush's transaction, without the report.
	select {
	case <-waiting:
	case list := <-listed:
		close(release)
		t.Fatalf("the device list was read while the flusher had the report and waited for the writer: %+v", list)
	}
	close(release)
	if err := <-heldDone; err != nil {
		t.Fatal(err)
	}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	list := <-listed
	if len(list) != 1 || list[0].AppVersion != "1.1.0" || list[0].LastSyncAt != schema.Timestamp(fmtTime(clock.Now())) {
		t.Fatalf("the device list while the flusher writes: %+v; want this process's report (1.1.0, synced %s)", list, fmtTime(clock.Now()))
	}
}
