package serverdb

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Rows that the apply path inserts (new records, the mutation log, the
// audit trail) are not written one statement each: an applier collects
// them and writes them with multi-row INSERTs of up to insertChunk rows.
// One statement per row cost a bind, a step and a reset through
// database/sql and the driver for every row, three times per mutation;
// that was about a third of push time.
//
// Collected rows are written, in the order they were collected, before
// the transaction commits (wtx.beforeCommit) and before anything that
// needs them in the table: a query that could match them (the flags of a
// case, for signing), or a row that refers to one by foreign key
// (case_scope). Everything else the rest of the batch needs is served from
// the applier's memory: a record created earlier in the batch is in
// a.records, a mutation id decided earlier is in a.seen.

// insertChunk is the most rows one INSERT carries. 13 columns × 64 rows
// is 832 parameters, well inside SQLite's limit of 32,766.
//
// On PostgreSQL the rows are not written with INSERTs but with COPY (the
// engine's bulkInsert), up to bulkChunk rows at a time: one round trip
// for a chunk whatever its size.
const (
	insertChunk = 64
	bulkChunk   = 1024
)

// chunk is the most rows one write of t's carries.
func (t *wtx) chunk() int {
	if t.bulk {
		return bulkChunk
	}
	return insertChunk
}

// rowBuffer collects the rows of one table as flat statement arguments.
type rowBuffer struct {
	table string
	names []string // the columns, in order
	cols  int
	head  string // INSERT INTO table (cols) VALUES
	stmts map[int]*sql.Stmt
	args  []any
}

func newRowBuffer(table, cols string) *rowBuffer {
	names := strings.Split(cols, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return &rowBuffer{table: table, names: names, cols: len(names),
		head: "INSERT INTO " + table + " (" + cols + ") VALUES ", stmts: map[int]*sql.Stmt{}}
}

func (b *rowBuffer) add(args ...any) { b.args = append(b.args, args...) }

func (b *rowBuffer) rows() int { return len(b.args) / b.cols }

// flush inserts the collected rows in chunks of t.chunk(), in order,
// through x (at once, or on its goroutine).
func (b *rowBuffer) flush(x *inserter) error {
	n := b.rows()
	if n == 0 {
		return nil
	}
	args := b.args
	// The arguments belong to x now (its goroutine may still be reading
	// them); collect the next rows into a new slice.
	b.args = make([]any, 0, cap(args))
	chunk := x.t.chunk()
	for i := 0; i < n; i += chunk {
		k := min(chunk, n-i)
		if err := x.insert(b, k, args[i*b.cols:(i+k)*b.cols]); err != nil {
			return err
		}
	}
	return nil
}

// exec runs one multi-row INSERT of k rows, or the engine's bulk insert
// of them. Statements are prepared once per chunk size per transaction,
// and closed with it.
func (b *rowBuffer) exec(t *wtx, k int, args []any) error {
	if t.bulk {
		rows := make([][]any, k)
		for i := range rows {
			rows[i] = args[i*b.cols : (i+1)*b.cols]
		}
		if err := t.eng.bulkInsert(t.ctx, t.conn, b.table, b.names, rows); err != nil {
			return fmt.Errorf("insert into %s: %w", b.table, err)
		}
		return nil
	}
	s, err := b.stmt(t, k)
	if err != nil {
		return err
	}
	if _, err := s.ExecContext(t.ctx, args...); err != nil {
		return fmt.Errorf("insert into %s: %w", b.table, err)
	}
	return nil
}

func (b *rowBuffer) stmt(t *wtx, k int) (*sql.Stmt, error) {
	if s := b.stmts[k]; s != nil {
		return s, nil
	}
	var q strings.Builder
	q.Grow(len(b.head) + k*(2*b.cols+2))
	q.WriteString(b.head)
	for i := range k {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for j := range b.cols {
			if j > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
	}
	s, err := t.PrepareContext(t.ctx, q.String())
	if err != nil {
		return nil, fmt.Errorf("prepare insert into %s: %w", b.table, err)
	}
	b.stmts[k] = s
	return s, nil
}

const (
	scopeCols    = `case_id, officer_id, team_id`
	mutationCols = `mutation_id, device_id, user_id, entity, record_id, case_id, status, error, lost, received_at, device_time`
	auditCols    = `id, at, user_id, device_id, action, entity, record_id, case_id, detail, prev_hash, hash`
)

// flush writes every collected row: records first (case_scope refers to
// them), then the mutation log and the audit trail, each in the order
// collected (audit events carry the ids and hashes chain gave them as
// they were collected).
func (a *applier) flush() error {
	if err := a.flushRecords(); err != nil {
		return err
	}
	if err := a.mutBuf.flush(a.ins); err != nil {
		return err
	}
	if err := a.auditBuf.flush(a.ins); err != nil {
		return err
	}
	// Written, not only queued: the commit follows.
	return a.ins.wait()
}

func (a *applier) flushRecords() error {
	if err := a.flushChanged(); err != nil {
		return err
	}
	if len(a.newRecords) == 0 {
		return nil
	}
	for _, r := range a.newRecords {
		// The row's state now, not when it was collected: a later mutation
		// of the batch may have changed it in memory (see change and
		// touch), and then wrote no UPDATE.
		a.recBuf.add(r.entity, r.id, r.caseID, r.fieldsText, r.clocksText, r.version, r.seq,
			r.receivedAt, r.updatedAt, r.deviceTime, r.createdBy, r.updatedBy, boolInt(r.signed), r.echo)
		r.pending = false
	}
	clear(a.newRecords)
	a.newRecords = a.newRecords[:0]
	if err := a.recBuf.flush(a.ins); err != nil {
		return err
	}
	// The scopes of new cases refer to their case records, all written
	// or queued now.
	return a.scopeBuf.flush(a.ins)
}

// flushChanged writes the stored records the transaction changed
// (applier.change), each once, as it is now. On PostgreSQL a chunk of them
// is one statement, an UPDATE from a list of values, rather than one
// UPDATE a record (a push of 100 changed records was 100 statements, each
// a round trip). It runs after the queued inserts, as any statement of
// the applier's does (inserter.wait).
func (a *applier) flushChanged() error {
	if len(a.changedRecords) == 0 {
		return nil
	}
	if err := a.ins.wait(); err != nil {
		return err
	}
	if a.t.eng.name() == "postgres" {
		for chunk := range slices.Chunk(a.changedRecords, a.t.chunk()) {
			args := make([]any, 0, len(chunk)*9)
			for _, r := range chunk {
				args = append(args, r.id, r.fieldsText, r.clocksText, r.version, r.seq, r.updatedAt, r.updatedBy, boolInt(r.signed), r.echo)
			}
			if _, err := a.t.ExecContext(a.t.ctx, updateRecordsSQL(len(chunk)), args...); err != nil {
				return fmt.Errorf("update %d records: %w", len(chunk), err)
			}
			a.db.recordUpdates.Add(1)
		}
	} else {
		// SQLite, in the process: no round trip to save, and one prepared
		// one-row UPDATE a record costs less than parsing a multi-row
		// statement at every flush (BenchmarkPushChanged100: 13.6–16.5
		// ms against 16.5–17.4 for the multi-row one, alternated).
		upd, err := a.stmt(&a.updRecord, updRecordSQL)
		if err != nil {
			return err
		}
		for _, r := range a.changedRecords {
			if _, err := upd.ExecContext(a.t.ctx, r.fieldsText, r.clocksText, r.version, r.seq, r.updatedAt, r.updatedBy, boolInt(r.signed), r.echo, r.id); err != nil {
				return fmt.Errorf("update %s %s: %w", r.entity, r.id, err)
			}
			a.db.recordUpdates.Add(1)
		}
	}
	for _, r := range a.changedRecords {
		r.dirty = false
	}
	clear(a.changedRecords)
	a.changedRecords = a.changedRecords[:0]
	return nil
}

// updateRecordsSQL is PostgreSQL's UPDATE of n records from a list of
// values. The integers are cast: PostgreSQL types a VALUES list's
// parameters as text.
func updateRecordsSQL(n int) string {
	var q strings.Builder
	q.WriteString(`WITH v (id, fields, clocks, version, seq, updated_at, updated_by, signed, echo_device) AS (VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?, CAST(? AS BIGINT), ?)`)
	}
	q.WriteString(`) UPDATE records SET fields = v.fields, clocks = v.clocks, version = v.version, seq = v.seq,
	updated_at = v.updated_at, updated_by = v.updated_by, signed = v.signed, echo_device = v.echo_device
	FROM v WHERE records.id = v.id`)
	return q.String()
}

// newScope collects the scope of a case created in this transaction
// (Seed): a new case has no scope to replace and no one to revoke it
// from, so it is a row to insert with the case record (flushRecords).
func (a *applier) newScope(caseID string, s caseScope) {
	a.scopeBuf.add(caseID, s.officerID, s.teamID)
	a.scopes[caseID] = &s
}

// flushFull writes the rows of each table that has a full chunk, so a
// batch holds at most a chunk of each in memory and every chunk but the
// last uses the one full-size statement. The tables do not refer to each
// other, so each may be written on its own.
func (a *applier) flushFull() error {
	if len(a.newRecords) >= a.t.chunk() || len(a.changedRecords) >= a.t.chunk() {
		if err := a.flushRecords(); err != nil {
			return err
		}
	}
	if a.mutBuf.rows() >= a.t.chunk() {
		if err := a.mutBuf.flush(a.ins); err != nil {
			return err
		}
	}
	if a.auditBuf.rows() >= a.t.chunk() {
		return a.auditBuf.flush(a.ins)
	}
	return nil
}

// inserter runs an applier's multi-row INSERTs: at once, or, for a large
// push, on a goroutine of its own, so that SQLite inserts one chunk while
// the applier decides the next mutations (each was about half of the time
// a large push held the writer). The chunks run one at a time, in the
// order queued, so the result is the same as at once.
//
// While chunks are queued the applier does not otherwise use the
// transaction: every query or statement of its own waits for the queue
// to drain first (wait), so it sees every row queued before it, and a
// statement never runs between the chunks. The first failure is kept and
// answered by every later insert and wait; the transaction then rolls
// back.
type inserter struct {
	t     *wtx
	jobs  chan insertJob // nil: insert at once
	wg    sync.WaitGroup // queued chunks not yet run
	stop  sync.WaitGroup // the goroutine
	mu    sync.Mutex
	err   error
	async bool
}

type insertJob struct {
	b    *rowBuffer
	k    int
	args []any
}

// start runs the chunks on a goroutine from now until close.
func (x *inserter) start() {
	x.jobs = make(chan insertJob, 4)
	x.async = true
	x.stop.Go(func() {
		for j := range x.jobs {
			if x.failed() == nil {
				if err := j.b.exec(x.t, j.k, j.args); err != nil {
					x.mu.Lock()
					x.err = err
					x.mu.Unlock()
				}
			}
			x.wg.Done()
		}
	})
}

func (x *inserter) failed() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

func (x *inserter) insert(b *rowBuffer, k int, args []any) error {
	if err := x.failed(); err != nil {
		return err
	}
	if !x.async {
		if err := b.exec(x.t, k, args); err != nil {
			x.mu.Lock()
			x.err = err
			x.mu.Unlock()
			return err
		}
		return nil
	}
	x.wg.Add(1)
	x.jobs <- insertJob{b: b, k: k, args: args}
	return nil
}

// wait returns once every queued chunk has run, with the first failure.
func (x *inserter) wait() error {
	if x.async {
		x.wg.Wait()
	}
	return x.failed()
}

// close waits for the queued chunks and ends the goroutine; inserts after
// it run at once.
func (x *inserter) close() {
	if !x.async {
		return
	}
	close(x.jobs)
	x.stop.Wait()
	x.async = false
}
