package compliance_test

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
)

// benchInput decodes a synthetic dataset straight into the measures'
// input, without a store: the computation alone, for profiling
// (go test ./server/compliance -run XXX -bench Compute -cpuprofile cpu.out).
func benchInput(b testing.TB, opts synth.Options) compliance.Input {
	b.Helper()
	ds, raws := synthRaws(b, opts)
	cases, err := compliance.Group(raws)
	if err != nil {
		b.Fatal(err)
	}
	in := compliance.Input{Cases: cases, Officers: map[string]string{}, Teams: map[string]string{}}
	for _, u := range ds.Users {
		in.Officers[u.ID] = u.Name
	}
	for _, t := range ds.Teams {
		in.Teams[t.ID] = t.Name
	}
	return in
}

// synthRaws generates the synthetic dataset for opts and its records as
// the store gives them.
func synthRaws(b testing.TB, opts synth.Options) (*synth.Dataset, []schema.RawRecord) {
	b.Helper()
	ds := synth.Generate(opts)
	raws := make([]schema.RawRecord, 0, len(ds.Records))
	for _, r := range ds.Records {
		raw, err := r.Raw()
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	return ds, raws
}

// computeAll computes the nine reports as the server's benchmarks ask
// for them.
func computeAll(in compliance.Input) []any {
	p := compliance.Period{From: "2026-08-25", To: "2026-11-23"}
	year := compliance.Period{From: "2026-01-01", To: "2026-11-23"}
	const asOf = "2026-11-23"
	return []any{
		compliance.FirstHomeVisits(in, year, asOf),
		compliance.Overdue(in, asOf),
		compliance.Contacts(in, p, asOf),
		compliance.Enquiries(in, year, asOf),
		compliance.Households(in, p, asOf),
		compliance.Interventions(in, year, asOf),
		compliance.Reviews(in, p, asOf),
		compliance.Workload(in, asOf),
		compliance.Exemptions(in, p, asOf),
	}
}

func benchCompute(b *testing.B, opts synth.Options) {
	in := benchInput(b, opts)
	b.Run("compute-all", func(b *testing.B) {
		for b.Loop() {
			computeAll(in)
		}
	})
	b.Run("compute-encode-all", func(b *testing.B) {
		for b.Loop() {
			for _, rep := range computeAll(in) {
				if err := json.NewEncoder(io.Discard).Encode(rep); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkComputeTeam: the nine reports of a 10-officer team with 500
// cases and two years of history, from decoded records.
func BenchmarkComputeTeam(b *testing.B) {
	benchCompute(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
}

// BenchmarkComputeService: the same for 50 such teams (25,000 cases).
func BenchmarkComputeService(b *testing.B) {
	if testing.Short() {
		b.Skip("25,000 cases")
	}
	benchCompute(b, synth.Options{Teams: 50, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
}

// TestParallelSameAnswer: the nine reports computed on every core (the
// requirements, measure 3's contacts and the figures' finish in parallel)
// are byte for byte those computed on one core, for a dataset large
// enough to be split; run with -race, it checks the parallel parts share
// nothing they write.
func TestParallelSameAnswer(t *testing.T) {
	opts := synth.Options{Teams: 2, OfficersPerTeam: 3, CasesPerOfficer: 40, HistoryDays: 730, Seed: 3}
	encode := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		in := benchInput(t, opts)
		b, err := json.Marshal(computeAll(in))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one, all := encode(1), encode(4)
	if !bytes.Equal(one, all) {
		t.Errorf("the reports differ on 1 and 4 cores (%d and %d bytes)", len(one), len(all))
	}
	if len(one) < 100_000 {
		t.Errorf("only %d bytes", len(one))
	}
}

// BenchmarkGroup decodes the records of a 500-case team (two years of
// history) into the measures' input: what every dashboard page pays per
// request since the compliance cache went (decision 0051).
func BenchmarkGroup(b *testing.B) {
	_, raws := synthRaws(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := compliance.Group(raws); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time rather than wall time: on a shared machine the wall time
	// follows the load.
	cpu := float64((cpuTime() - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(cpu/1e6, "cpu-ms/op")
	b.ReportMetric(cpu/1e3/float64(len(raws)), "cpu-µs/record")
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCaseRequirements: every case's requirements on one as-of day,
// each case with a fresh memo, for a 500-case team of two years'
// history: what the dashboard's overview works out once a page (the
// policy's visits of each case, then the policy; decision 0095).
func BenchmarkCaseRequirements(b *testing.B) {
	_, raws := synthRaws(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	cases, err := compliance.Group(raws)
	if err != nil {
		b.Fatal(err)
	}
	p := policy.Default()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, cr := range cases {
			cr.WithNewMemo().MemoRequirements(p, "2026-11-23")
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
}
