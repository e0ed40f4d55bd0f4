package devicedb

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"doorstep/schema"
)

// BenchmarkOutboxAcknowledge10000 times what a push of 10,000 new drafts
// does to the outbox once the server has answered: 20 transactions, each
// deleting a batch of 500 acknowledged rows by seq (DeleteOutboxSeqs). The
// rows (about 1 KB of fields each, sealed to the server too) are written
// untimed. cpu-ms/op is the process's CPU for the 10,000.
func BenchmarkOutboxAcknowledge10000(b *testing.B) {
	ctx := context.Background()
	notes := json.RawMessage(`"` + strings.Repeat("n", 900) + `"`)
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := openTest(b)
		var seqs []int64
		err := db.Update(ctx, func(tx *Tx) error {
			for j := range 10000 {
				m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: schema.NewID(), CaseID: "c1",
					Fields: map[string]json.RawMessage{"observation_notes": notes}, Clock: schema.HLC{Wall: int64(j + 1), Node: "d"}}
				if err := tx.AppendOutbox(ctx, m); err != nil {
					return err
				}
			}
			es, err := tx.PendingOutboxAfter(ctx, 0, 10000)
			for _, e := range es {
				seqs = append(seqs, e.Seq)
			}
			return err
		})
		if err != nil || len(seqs) != 10000 {
			b.Fatalf("%d rows, %v", len(seqs), err)
		}
		b.StartTimer()
		c0 := processCPU()
		for batch := range 20 {
			if err := db.Update(ctx, func(tx *Tx) error { return tx.DeleteOutboxSeqs(ctx, seqs[batch*500:(batch+1)*500]) }); err != nil {
				b.Fatal(err)
			}
		}
		cpu += processCPU() - c0
		b.StopTimer()
		db.Close()
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// processCPU is the process's CPU time so far (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
