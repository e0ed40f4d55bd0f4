package compliance_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// The whole service's report set (the nine reports an admin asks for at
// detail=counts, as bench service's "nine" does) on a store built
// elsewhere: DOORSTEP_REPORTSET_DB names it (a SQLite file or a
// postgres:// URL, such as bench service --data leaves behind). Without
// it the benchmark and the snapshot skip.

// reportSet is one report of the set: its name and how the read model
// answers it for an admin over synth's periods (its "today" is
// 2026-11-23).
type reportSet struct {
	name string
	run  func(ctx context.Context, svc *compliance.Service, admin serverdb.Actor) (any, []string, error)
}

// counted is a report's *Counts method over a period.
type counted[R any] func(ctx context.Context, actor serverdb.Actor, officerID string, p compliance.Period, asOf schema.Date) (R, []string, error)

// ofPeriod is the report name of method m over period p, as of its last
// day.
func ofPeriod[R any](name string, p compliance.Period, m func(*compliance.Service) counted[R]) reportSet {
	return reportSet{name, func(ctx context.Context, s *compliance.Service, a serverdb.Actor) (any, []string, error) {
		return m(s)(ctx, a, "", p, p.To)
	}}
}

func theReportSet() []reportSet {
	year := compliance.Period{From: "2026-01-01", To: "2026-11-23"}
	quarter := compliance.Period{From: "2026-08-25", To: "2026-11-23"}
	const today = schema.Date("2026-11-23")
	return []reportSet{
		ofPeriod("first-home-visits", year, func(s *compliance.Service) counted[*compliance.FirstVisitReport] { return s.FirstVisitCounts }),
		{"overdue", func(ctx context.Context, s *compliance.Service, a serverdb.Actor) (any, []string, error) {
			return s.OverdueCounts(ctx, a, "", today)
		}},
		ofPeriod("contacts", quarter, func(s *compliance.Service) counted[*compliance.ContactsReport] { return s.ContactsCounts }),
		ofPeriod("enquiries", year, func(s *compliance.Service) counted[*compliance.EnquiriesReport] { return s.EnquiriesCounts }),
		ofPeriod("households", quarter, func(s *compliance.Service) counted[*compliance.HouseholdsReport] { return s.HouseholdsCounts }),
		ofPeriod("interventions", year, func(s *compliance.Service) counted[*compliance.InterventionsReport] {
			return s.InterventionsCounts
		}),
		ofPeriod("reviews", quarter, func(s *compliance.Service) counted[*compliance.ReviewsReport] { return s.ReviewsCounts }),
		{"workload", func(ctx context.Context, s *compliance.Service, a serverdb.Actor) (any, []string, error) {
			return s.WorkloadCounts(ctx, a, "", today)
		}},
		ofPeriod("exemptions", quarter, func(s *compliance.Service) counted[*compliance.ExemptionsReport] { return s.ExemptionsCounts }),
	}
}

// reportSetService opens the store DOORSTEP_REPORTSET_DB names, or skips.
func reportSetService(tb testing.TB) *compliance.Service {
	target := os.Getenv("DOORSTEP_REPORTSET_DB")
	if target == "" {
		tb.Skip("DOORSTEP_REPORTSET_DB names no store")
	}
	db, err := serverdb.Open(context.Background(), target, serverdb.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return compliance.NewService(db, nil)
}

// loopCPU runs fn b.N times and reports the process's CPU milliseconds
// an op beside the wall time (cpuTime: on SQLite the store's work is the
// process's, so the figure holds on a shared machine, where the wall
// time follows the load).
func loopCPU(b *testing.B, fn func()) {
	start := cpuTime()
	for b.Loop() {
		fn()
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkReportSet: each of the nine reports at detail=counts for an
// admin, and the whole set one after another, on the store
// DOORSTEP_REPORTSET_DB names (docs/performance.md, "The report set's
// SQL"), with the process's CPU time an op (cpu-ms/op: on PostgreSQL the
// queries' work is the database server's, not counted there).
func BenchmarkReportSet(b *testing.B) {
	ctx := context.Background()
	svc := reportSetService(b)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	set := theReportSet()
	for _, r := range set {
		b.Run(r.name, func(b *testing.B) {
			loopCPU(b, func() {
				if _, _, err := r.run(ctx, svc, admin); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("all", func(b *testing.B) {
		loopCPU(b, func() {
			for _, r := range set {
				if _, _, err := r.run(ctx, svc, admin); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// TestReportSetSnapshot writes the nine reports and their cases as JSON
// into DOORSTEP_REPORTSET_OUT, one file each, so that two versions of
// the SQL can be compared on a large store (skipped without both
// variables).
func TestReportSetSnapshot(t *testing.T) {
	out := os.Getenv("DOORSTEP_REPORTSET_OUT")
	if out == "" {
		t.Skip("DOORSTEP_REPORTSET_OUT names no folder")
	}
	ctx := context.Background()
	svc := reportSetService(t)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, r := range theReportSet() {
		rep, cases, err := r.run(ctx, svc, admin)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		b, err := json.MarshalIndent(map[string]any{"report": rep, "cases": cases}, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, r.name+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
