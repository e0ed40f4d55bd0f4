package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"doorstep/schema/synth"
	"doorstep/syncer"
)

// BenchmarkSyncPush times the push scenario of `doorstep bench sync` alone:
// a tablet with 10,000 new visit drafts (written untimed) syncs them to a
// real server over HTTP. DOORSTEP_PUSH_CPUPROFILE=file profiles the
// pushes only (not the local writes before them; not with -cpuprofile),
// one file per iteration (file.1, file.2, …).
func BenchmarkSyncPush(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	profile := os.Getenv("DOORSTEP_PUSH_CPUPROFILE")
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		env, err := newBenchEnv(ctx, dir, "tablet", true)
		if err != nil {
			b.Fatal(err)
		}
		writes := make([]syncer.Write, 0, n)
		for _, v := range synth.BenchVisits(12, env.caseID, env.officer.ID, n) {
			delete(v.Fields, "signed_at")
			delete(v.Fields, "signed_by")
			v.Fields["status"] = json.RawMessage(`"draft"`)
			writes = append(writes, syncer.Write{Entity: v.Entity, ID: v.ID, CaseID: v.CaseID, Fields: v.Fields})
		}
		if err := env.agent.PutMany(ctx, writes); err != nil {
			b.Fatal(err)
		}
		var f *os.File
		if profile != "" {
			if f, err = os.Create(fmt.Sprintf("%s.%d", profile, i+1)); err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		c0 := processCPU()
		rep, err := env.agent.SyncOnce(ctx)
		cpu += processCPU() - c0
		b.StopTimer()
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		if rep.Applied != n {
			b.Fatalf("server applied %d of %d", rep.Applied, n)
		}
		env.close()
		os.RemoveAll(filepath.Join(dir))
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkSyncPush100 times the incremental push of `doorstep bench
// sync`: a tablet whose case already holds 2,000 synced drafts changes 100
// of them (written untimed) and syncs them to a real server over HTTP.
// DOORSTEP_PUSH_CPUPROFILE=file profiles the iterations (the local writes
// included: focus on SyncOnce and the server's push).
func BenchmarkSyncPush100(b *testing.B) { benchSyncPush100(b, false) }

// BenchmarkSyncPush100AfterServerWrites is BenchmarkSyncPush100 as `doorstep
// bench sync` runs it: before each push (untimed) the officer's supervisor
// changes 100 other drafts through the server's API and the tablet pulls
// them. DOORSTEP_PUSH_GC_FIRST=1 collects the garbage before each timed
// sync, to tell what the writes before leave to the push (decision 0081).
func BenchmarkSyncPush100AfterServerWrites(b *testing.B) { benchSyncPush100(b, true) }

func benchSyncPush100(b *testing.B, serverWrites bool) {
	const n, changed = 2000, 100
	ctx := context.Background()
	env, err := newBenchEnv(ctx, b.TempDir(), "tablet", true)
	if err != nil {
		b.Fatal(err)
	}
	defer env.close()
	writes := benchDrafts(synth.BenchVisits(12, env.caseID, env.officer.ID, n))
	if err := env.agent.PutMany(ctx, writes); err != nil {
		b.Fatal(err)
	}
	if _, err := env.agent.SyncOnce(ctx); err != nil {
		b.Fatal(err)
	}
	sup := newReportClient(env.url)
	if serverWrites {
		if err := sup.login(ctx, env.supervisor.Username); err != nil {
			b.Fatal(err)
		}
	}
	gcFirst := os.Getenv("DOORSTEP_PUSH_GC_FIRST") == "1"
	if profile := os.Getenv("DOORSTEP_PUSH_CPUPROFILE"); profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if serverWrites {
			for j := 0; j < changed; j++ {
				fields := map[string]json.RawMessage{"observation_notes": json.RawMessage(fmt.Sprintf(`"supervisor note %d-%d"`, i, j))}
				if err := sup.patch(ctx, "/v1/visits/"+writes[changed+j].ID, fields); err != nil {
					b.Fatal(err)
				}
			}
			if rep, err := env.agent.SyncOnce(ctx); err != nil || rep.Pulled < changed {
				b.Fatalf("the tablet pulled %d of the supervisor's %d (%v)", rep.Pulled, changed, err)
			}
		}
		changes := make([]syncer.Write, changed)
		for j := range changes {
			changes[j] = syncer.Write{Entity: "visit", ID: writes[j].ID, CaseID: env.caseID,
				Fields: map[string]json.RawMessage{"next_visit_on": json.RawMessage(fmt.Sprintf(`"2026-12-%02d"`, 1+i%28))}}
		}
		if err := env.agent.PutMany(ctx, changes); err != nil {
			b.Fatal(err)
		}
		if gcFirst {
			runtime.GC()
		}
		b.StartTimer()
		c0 := processCPU()
		rep, err := env.agent.SyncOnce(ctx)
		cpu += processCPU() - c0
		if err != nil {
			b.Fatal(err)
		}
		if rep.Applied+rep.Conflicts != changed {
			b.Fatalf("server answered %d of %d", rep.Applied+rep.Conflicts, changed)
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}
