package serverdb

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultDeviceFlush is how often what devices report on their sync
// requests (last seen, last sync, app version, protocol, schema, clock
// skew, outbox pending) is written to the store when Options.DeviceFlush
// is zero.
const DefaultDeviceFlush = 5 * time.Second

// deviceBook keeps what devices reported on sync requests since the last
// flush, in memory, so that a sync request (a no-op pull above all) makes
// no write transaction: 5,000 tablets syncing every 30 s would otherwise
// commit about 170 bookkeeping transactions a second. A flush writes
// every device's latest report in one transaction (issue 13;
// docs/decisions/0037-several-instances.md).
type deviceBook struct {
	mu      sync.Mutex
	pending map[string]deviceReport // device id → its latest report

	// flushing is held by a flush from taking the batch until its
	// transaction ends: a read that flushes first waits for a flush
	// already writing (the flusher's), rather than find nothing pending
	// and read before that flush's transaction commits.
	flushing sync.Mutex
	// onWait, when set (tests), runs when a flush finds another writing
	// and is about to wait for it.
	onWait func()

	stop chan struct{}
	done sync.WaitGroup
}

// deviceReport is one device's latest report: DeviceInfo's fields merged
// over the requests since the last flush (a field a request did not carry
// keeps the earlier request's), and when.
type deviceReport struct {
	info     DeviceInfo
	seen     string // the last request's time (timeLayout)
	synced   string // the last sync request's time; "" when none
	outboxAt string // when info's outbox figure was reported; "" when none
}

func (r deviceReport) merge(next deviceReport) deviceReport {
	if next.info.AppVersion == "" {
		next.info.AppVersion = r.info.AppVersion
	}
	if next.info.Protocol == 0 {
		next.info.Protocol = r.info.Protocol
	}
	if next.info.Schema == 0 {
		next.info.Schema = r.info.Schema
	}
	if !next.info.HasSkew {
		next.info.ClockSkewMs, next.info.HasSkew = r.info.ClockSkewMs, r.info.HasSkew
	}
	if !next.info.HasOutbox {
		next.info.OutboxPending, next.info.HasOutbox, next.outboxAt = r.info.OutboxPending, r.info.HasOutbox, r.outboxAt
	}
	if next.synced == "" {
		next.synced = r.synced
	}
	return next
}

// TouchDevice records what a device reported on a request: seen now, and
// synced now when sync is true. It is kept in memory and written with
// every other device's report at the next flush (DefaultDeviceFlush,
// FlushDevices, Close): it makes no write transaction of its own.
func (db *DB) TouchDevice(ctx context.Context, deviceID string, info DeviceInfo, sync bool) error {
	now := fmtTime(db.now().UTC())
	r := deviceReport{info: info, seen: now}
	if sync {
		r.synced = now
	}
	if info.HasOutbox {
		r.outboxAt = now
	}
	b := &db.devices
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.pending[deviceID]; ok {
		r = old.merge(r)
	}
	if b.pending == nil {
		b.pending = map[string]deviceReport{}
	}
	b.pending[deviceID] = r
	return nil
}

// FlushDevices writes the device reports kept since the last flush, in
// one write transaction; it makes none when there are none. The reads
// that show them (ListDevices, Freshness, ActiveDevices) flush first, so
// this process's own reports are never behind (a flush waits for one
// already writing, the flusher's, to commit); another process's are
// behind by its flush interval at most.
//
// Each report only moves a device forward: last seen and last sync take
// the later of the stored time and the report's, and the other fields are
// written only when the report is at least as recent as what is stored,
// so two server instances flushing in either order, or a sign-in written
// meanwhile, leave the newest figures.
func (db *DB) FlushDevices(ctx context.Context) error {
	b := &db.devices
	if !b.flushing.TryLock() {
		if b.onWait != nil {
			b.onWait()
		}
		b.flushing.Lock()
	}
	defer b.flushing.Unlock()
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	err := db.update(ctx, func(tx *wtx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE devices SET
			last_seen_at = CASE WHEN ?1 > last_seen_at THEN ?1 ELSE last_seen_at END,
			last_sync_at = CASE WHEN ?2 > last_sync_at THEN ?2 ELSE last_sync_at END,
			app_version = CASE WHEN ?3 <> '' AND ?1 >= last_seen_at THEN ?3 ELSE app_version END,
			protocol = CASE WHEN ?4 <> 0 AND ?1 >= last_seen_at THEN ?4 ELSE protocol END,
			schema = CASE WHEN ?5 <> 0 AND ?1 >= last_seen_at THEN ?5 ELSE schema END,
			clock_skew_ms = CASE WHEN ?6 AND ?1 >= last_seen_at THEN ?7 ELSE clock_skew_ms END,
			outbox_pending = CASE WHEN ?8 AND ?9 >= outbox_reported_at THEN ?10 ELSE outbox_pending END,
			outbox_reported_at = CASE WHEN ?8 AND ?9 >= outbox_reported_at THEN ?9 ELSE outbox_reported_at END
			WHERE id = ?11`)
		if err != nil {
			return fmt.Errorf("flush device reports: %w", err)
		}
		defer stmt.Close()
		for id, r := range batch {
			if _, err := stmt.ExecContext(ctx, r.seen, r.synced, r.info.AppVersion, r.info.Protocol, r.info.Schema,
				r.info.HasSkew, r.info.ClockSkewMs, r.info.HasOutbox, r.outboxAt, r.info.OutboxPending, id); err != nil {
				return fmt.Errorf("flush device reports: device %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		// Keep them for the next flush, under any report that came since.
		b.mu.Lock()
		for id, r := range b.pending {
			if old, ok := batch[id]; ok {
				r = old.merge(r)
			}
			batch[id] = r
		}
		b.pending = batch
		b.mu.Unlock()
		return err
	}
	return nil
}

// pendingDevices reports how many devices' reports wait for a flush.
func (db *DB) pendingDevices() int {
	db.devices.mu.Lock()
	defer db.devices.mu.Unlock()
	return len(db.devices.pending)
}

// startDeviceFlusher flushes the device reports every interval until
// stopDeviceFlusher.
func (db *DB) startDeviceFlusher(interval time.Duration) {
	b := &db.devices
	b.stop = make(chan struct{})
	b.done.Add(1)
	go func() {
		defer b.done.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
			}
			if err := db.FlushDevices(context.Background()); err != nil {
				db.log.Warn("flush device reports; kept for the next try", "devices", db.pendingDevices(), "err", err)
			}
		}
	}()
}

// stopDeviceFlusher stops the flusher and writes what it had not yet.
func (db *DB) stopDeviceFlusher() error {
	b := &db.devices
	if b.stop == nil {
		return nil
	}
	close(b.stop)
	b.done.Wait()
	if err := db.FlushDevices(context.Background()); err != nil {
		return fmt.Errorf("flush device reports at close (the last reports of %d devices are not written): %w", db.pendingDevices(), err)
	}
	return nil
}
