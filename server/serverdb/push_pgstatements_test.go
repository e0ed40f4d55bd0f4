package serverdb

import (
	"fmt"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestPostgresPushOf100Statements: on PostgreSQL the transaction of a
// push of 100 changed drafts sends BEGIN and the writer lock as one
// message, and the sequence's number with the NOTIFY as one statement
// (decision 0100): 15 statements where there were 17. The prefetch, the
// audit chain's tail and the sequence are read in one statement (decision
// 0104): 8 where there were 12. The statements are
// counted on the writer pool's connections, BEGIN, COMMIT and each COPY
// included.
func TestPostgresPushOf100Statements(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.eng.name() != "postgres" {
		t.Skip("SQLite runs in the process: no round trips to count")
	}
	pg := f.db.eng.(*pgEngine)
	a := f.actor(f.asha, f.ashaDev)
	const n = 100
	ids := f.newDrafts(t, a, n)
	for round := range 2 { // the second on connections that know every statement
		var muts []schema.Mutation
		for i, id := range ids {
			muts = append(muts, mutation("visit", id, f.ashaCase, stamp(int64(5000+1000*round+i), f.ashaDev),
				raw("next_visit_on", fmt.Sprintf("2026-12-%02d", 1+round))))
		}
		var sent []string
		trace := func(q string) { sent = append(sent, strings.Join(strings.Fields(q), " ")) }
		pg.writer.trace.Store(&trace)
		before := pg.writer.sent.Load()
		for i, r := range f.push(t, a, muts...) {
			if r.Status != schema.StatusApplied {
				t.Fatalf("round %d: result %d = %+v", round, i, r)
			}
		}
		count := pg.writer.sent.Load() - before
		pg.writer.trace.Store(nil)
		list := func() string {
			var b strings.Builder
			for i, q := range sent {
				fmt.Fprintf(&b, "\n%2d %.110s", i+1, q)
			}
			return b.String()
		}
		t.Logf("round %d: %d statements:%s", round, count, list())
		if !strings.HasPrefix(sent[0], "BEGIN; SELECT pg_advisory_xact_lock(") || sent[len(sent)-1] != "COMMIT" {
			t.Errorf("round %d: the transaction begins %q and ends %q; want BEGIN with the writer lock, COMMIT", round, sent[0], sent[len(sent)-1])
		}
		for _, q := range sent[1:] {
			if strings.Contains(q, "pg_advisory_xact_lock") || q == "SELECT pg_notify(?, ?)" || strings.HasPrefix(q, "UPDATE sequence") {
				t.Errorf("round %d: %q sent on its own", round, q)
			}
		}
		if count != int64(len(sent)) || count > 8 {
			t.Errorf("round %d: a push of %d changed drafts sent %d statements (%d traced); want at most 8:%s", round, n, count, len(sent), list())
		}
	}
}

// newDrafts pushes n new visit drafts of asha's case as a and returns
// their ids.
func (f *fixture) newDrafts(t *testing.T, a Actor, n int) []string {
	t.Helper()
	ids := make([]string, n)
	muts := make([]schema.Mutation, n)
	for i := range ids {
		ids[i] = schema.NewID()
		muts[i] = mutation("visit", ids[i], f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("draft"))
	}
	f.push(t, a, muts...)
	return ids
}
