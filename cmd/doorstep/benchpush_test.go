package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"doorstep/schema/synth"
	"doorstep/server"
	"doorstep/server/serverdb"
	"doorstep/syncer"
)

// BenchmarkSyncPush times the push scenario of `doorstep bench sync` alone:
// a tablet with 10,000 new visit drafts (written untimed) syncs them to a
// real server over HTTP. DOORSTEP_PUSH_CPUPROFILE=file profiles the
// pushes only (not the local writes before them; not with -cpuprofile),
// one file per iteration (file.1, file.2, …). DOORSTEP_PUSH_STORE pushes
// into a store already loaded (see pushStore) rather than a new one.
func BenchmarkSyncPush(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	profile := os.Getenv("DOORSTEP_PUSH_CPUPROFILE")
	store := openPushStore(b, ctx)
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		env, err := store.env(ctx, dir, i)
		if err != nil {
			b.Fatal(err)
		}
		writes := make([]syncer.Write, 0, n)
		for _, v := range synth.BenchVisits(12+100*env.seed, env.caseID, env.officer.ID, n) {
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
	env, err := openPushStore(b, ctx).env(ctx, b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer env.close()
	writes := benchDrafts(synth.BenchVisits(12+100*env.seed, env.caseID, env.officer.ID, n))
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

// pushStore is where the push benchmarks push: a new server store of
// their own for each tablet, or, with DOORSTEP_PUSH_STORE, one server on a
// store already loaded (`bench service --data`'s store1/server folder, a
// copy: the benchmark writes to it, or a postgres:// URL of a copy), into
// which each tablet comes as a new officer of a team of its own, as in
// bench service's sync scenarios. The store's pages then are a large
// service's, not a fresh file's (decision 0089).
type pushStore struct {
	srv *server.Server // nil: a new store for each tablet
	run int64          // tells this run's officers from earlier runs' in the store
}

func openPushStore(b *testing.B, ctx context.Context) *pushStore {
	b.Helper()
	store := os.Getenv("DOORSTEP_PUSH_STORE")
	if store == "" {
		return &pushStore{}
	}
	cfg := server.Config{Addr: "127.0.0.1:0", DataDir: store, Logger: newQuietLogger()}
	if strings.HasPrefix(store, "postgres") {
		cfg.DataDir, cfg.DB = b.TempDir(), store
	}
	serverdb.SetPasswordCost(4)
	srv, err := openServer(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	return &pushStore{srv: srv, run: time.Now().Unix()}
}

// env is tablet i's bench environment, its data under dir.
func (s *pushStore) env(ctx context.Context, dir string, i int) (*benchEnv, error) {
	if s.srv == nil {
		return newBenchEnv(ctx, dir, "tablet", true)
	}
	db := s.srv.DB()
	return attachBenchEnv(ctx, db, s.srv.URL(), filepath.Join(dir, "tablet"), fmt.Sprintf("push%d-%d.", s.run, i),
		s.run*100+int64(i), true, func() (int64, error) { return db.WriteTransactions(), nil })
}
