package serverdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
)

// TestLatencyOrderAsSorted checks Freshness's one sort (slowest first, then
// by id) and ascending's reversal give the lists and figures the former
// stable sorts gave: Visits sorted stably slowest first, and every group's
// statistics from its own stable sort, fastest first. Many visits share
// their seconds (the ties are where a reversal could go wrong).
func TestLatencyOrderAsSorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		n := r.IntN(40)
		vs := make([]VisitLatency, n)
		for i := range vs {
			vs[i] = VisitLatency{VisitID: fmt.Sprintf("v%03d", r.IntN(1000)*1000+i), TeamID: fmt.Sprint("t", r.IntN(3)),
				Seconds: float64(r.IntN(5) * 60)}
		}
		want := slices.Clone(vs)
		slices.SortStableFunc(want, func(a, b VisitLatency) int {
			if a.Seconds != b.Seconds {
				if a.Seconds > b.Seconds {
					return -1
				}
				return 1
			}
			return stringOrder(a.VisitID, b.VisitID)
		})
		got := slices.Clone(vs)
		sortSlowestFirst(got)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: visits in order\n%v\nwant\n%v", round, got, want)
		}
		for _, team := range []string{"", "t0", "t1", "t2"} {
			var group []VisitLatency
			for _, v := range got {
				if team == "" || v.TeamID == team {
					group = append(group, v)
				}
			}
			if g, w := latencyStats(ascending(slices.Clone(group))), sortedLatencyStats(group); !reflect.DeepEqual(g, w) {
				t.Fatalf("round %d, team %q: %+v, want %+v", round, team, g, w)
			}
		}
	}
}

// sortedLatencyStats is latencyStats as it was: vs in any order, sorted
// stably fastest first then by id.
func sortedLatencyStats(vs []VisitLatency) LatencyStats {
	sorted := slices.Clone(vs)
	slices.SortStableFunc(sorted, func(a, b VisitLatency) int {
		if a.Seconds != b.Seconds {
			if a.Seconds < b.Seconds {
				return -1
			}
			return 1
		}
		return stringOrder(a.VisitID, b.VisitID)
	})
	return latencyStats(sorted)
}

func stringOrder(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// BenchmarkFreshness computes measure 9 of a 90-day period for the
// supervisor of a 10-officer team of 500 cases with two years of history
// (the dashboard's overview reads it on every page), on the test engine.
func BenchmarkFreshness(b *testing.B) {
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour))
	db, err := Open(ctx, testTarget(b), Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ds := synth.Generate(synth.Options{Seed: 1, Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730})
	admin := Actor{UserID: "setup", Role: schema.RoleAdmin}
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, admin, tm); err != nil {
			b.Fatal(err)
		}
	}
	var sup Actor
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
			b.Fatal(err)
		}
		if u.Role == schema.RoleSupervisor && sup.UserID == "" {
			sup = Actor{UserID: u.ID, Role: u.Role, TeamID: u.TeamID}
		}
	}
	if err := db.Seed(ctx, admin, ds.Records); err != nil {
		b.Fatal(err)
	}
	to := schema.DateOf(synth.DefaultNow)
	opts := FreshnessOptions{StaleDays: 7, From: schema.DateOf(synth.DefaultNow.AddDate(0, 0, -89)), To: to}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		f, err := db.Freshness(ctx, sup, opts)
		if err != nil || len(f.Visits) == 0 {
			b.Fatalf("Freshness: %d visits, %v", len(f.Visits), err)
		}
	}
	// The process's CPU time (user and system) a call: on a shared
	// machine the wall time follows the load, this less.
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// processCPU is the process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLatencyGroupsAsAppended holds latencyGroups (decision 0103) to the
// lists Freshness made before it: the total's, each team's and each
// officer's visits appended in Visits' order (slowest first, then by id),
// each turned by ascending. Each group's list is made to its count.
func TestLatencyGroupsAsAppended(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 50 {
		vs := make([]VisitLatency, r.IntN(60))
		for i := range vs {
			vs[i] = VisitLatency{VisitID: fmt.Sprintf("v%03d", r.IntN(1000)*1000+i), TeamID: fmt.Sprint("t", r.IntN(3)),
				OfficerID: fmt.Sprint("u", r.IntN(5)), Seconds: float64(r.IntN(5) * 60)}
		}
		sortSlowestFirst(vs)
		before := slices.Clone(vs)
		wantTeam, wantUser := map[string][]VisitLatency{}, map[string][]VisitLatency{}
		for _, v := range vs {
			wantTeam[v.TeamID] = append(wantTeam[v.TeamID], v)
			wantUser[v.OfficerID] = append(wantUser[v.OfficerID], v)
		}
		for _, m := range []map[string][]VisitLatency{wantTeam, wantUser} {
			for k, l := range m {
				m[k] = ascending(l)
			}
		}
		all, byTeam, byUser := latencyGroups(vs)
		if want := ascending(slices.Clone(vs)); !slices.Equal(all, want) {
			t.Fatalf("round %d: all %v, want %v", round, all, want)
		}
		if !slices.Equal(vs, before) {
			t.Fatalf("round %d: latencyGroups changed the visits it was given", round)
		}
		for name, got := range map[string][2]map[string][]VisitLatency{"team": {byTeam, wantTeam}, "officer": {byUser, wantUser}} {
			if !reflect.DeepEqual(got[0], got[1]) {
				t.Fatalf("round %d: by %s %v, want %v", round, name, got[0], got[1])
			}
			for k, l := range got[0] {
				if cap(l) != len(l) {
					t.Errorf("round %d: %s %s's %d visits in a slice of capacity %d", round, name, k, len(l), cap(l))
				}
			}
		}
	}
}
