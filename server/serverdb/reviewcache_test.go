package serverdb

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/synth"
)

// The review queue keeps what its rules read of each signed visit between
// reads (reviewcache.go). After each kind of write (an oversight, a new
// signed visit, a case reassigned to another team, which moves its records'
// change numbers) the queue a store keeps warm lists exactly what a store
// opened afresh on the same file reads. So does a store whose cache is
// bounded below the service's signed visits (decision 0074): it keeps at
// most its bound, then none, and reads its scope's visits each time.
func TestReviewQueueFollowsWrites(t *testing.T) {
	t.Parallel()
	for _, bound := range []int{0, 1, 40} {
		t.Run(fmt.Sprint("bound ", bound), func(t *testing.T) {
			t.Parallel()
			reviewQueueFollowsWrites(t, bound)
		})
	}
}

func reviewQueueFollowsWrites(t *testing.T, bound int) {
	ctx := context.Background()
	path := testTarget(t)
	clock := testkit.NewClock(synth.DefaultNow)
	db, err := Open(ctx, path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.visits.max = bound
	admin := Actor{UserID: "admin-test", Role: schema.RoleAdmin}
	ds := synth.Generate(synth.Options{Seed: 3, OfficersPerTeam: 2, CasesPerOfficer: 10})
	other := schema.Team{ID: schema.NewID(), Name: "Other Team"}
	for _, tm := range append(ds.Teams, other) {
		if err := db.CreateTeam(ctx, admin, tm); err != nil {
			t.Fatal(err)
		}
	}
	var sup schema.User
	for _, u := range append(ds.Users, schema.User{ID: schema.NewID(), Username: "olu.officer", Name: "Olu Brackfield", Role: schema.RoleOfficer, TeamID: other.ID}) {
		if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
			t.Fatal(err)
		}
		if u.Role == schema.RoleSupervisor {
			sup = u
		}
	}
	if err := db.Seed(ctx, admin, ds.Records); err != nil {
		t.Fatal(err)
	}
	actor := ActorOf(sup, "")
	visits := func(d *DB) []string {
		t.Helper()
		q, err := d.ReviewQueue(ctx, actor, ReviewFilter{Kind: KindVisit, All: true})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range q.Visits {
			ids = append(ids, it.ID+" "+it.Rule)
		}
		slices.Sort(ids)
		return ids
	}
	check := func(step string, want int) []string {
		t.Helper()
		warm := visits(db)
		fresh, err := Open(ctx, path, Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		if cold := visits(fresh); !slices.Equal(warm, cold) {
			t.Errorf("%s: the warm store queues %d visits, a fresh one %d:\n%v\n%v", step, len(warm), len(cold), warm, cold)
		}
		if n, err := db.ReviewCountRecords(ctx, actor); err != nil || want >= 0 && len(warm) != want {
			t.Errorf("%s: %d visits queued (count of records %d, %v), want %d", step, len(warm), n, err, want)
		}
		db.visits.mu.Lock()
		held, off := len(db.visits.rows), db.visits.off
		db.visits.mu.Unlock()
		if all := fresh.visits.rows; bound == 0 && (held != len(all) || off) || bound > 0 && (held > bound || !off) {
			t.Errorf("%s: the cache holds %d of the %d signed visits (off %v), bound %d", step, held, len(all), off, bound)
		}
		return warm
	}
	first := check("seeded", -1)
	if len(first) < 3 {
		t.Fatalf("expected several visits to review in the synthetic team, got %d", len(first))
	}

	q, _ := db.ReviewQueue(ctx, actor, ReviewFilter{Kind: KindVisit, All: true})
	if _, err := db.Oversee(ctx, actor, OversightInput{SubjectEntity: "visit", SubjectID: q.Visits[0].ID, Decision: "noted"}); err != nil {
		t.Fatal(err)
	}
	check("after an oversight", len(first)-1)

	// A new signed home visit with a safeguarding concern, in the case of
	// the second queued visit: every concern is queued.
	caseID := q.Visits[1].CaseID
	at := synth.DefaultNow.Add(-2 * time.Hour).Format(time.RFC3339)
	v := schema.Visit{OfficerID: q.Visits[1].OfficerID, PlannedType: "office", Type: "office", Status: "signed", Outcome: "completed",
		FaceToFace: true, PersonSeen: "yes", StartedAt: schema.Timestamp(at), EndedAt: schema.Timestamp(at), SignedAt: schema.Timestamp(at),
		SignedBy: q.Visits[1].OfficerID, Concern: true, Actions: []string{"manager_informed"}, ActionNotes: "Told the manager at once."}
	if err := db.Seed(ctx, admin, []schema.Record{{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)}}); err != nil {
		t.Fatal(err)
	}
	second := check("after a new signed visit", len(first))

	// The case leaves the team: its visits leave the supervisor's queue.
	inCase := 0
	for _, it := range q.Visits[1:] {
		if it.CaseID == caseID {
			inCase++
		}
	}
	if err := db.ReassignCase(ctx, admin, caseID, "olu.officer"); err != nil {
		t.Fatal(err)
	}
	check("after the case moved to another team", len(second)-inCase-1)
}

// The count of a supervisor's queue on a store with more signed visits
// than the review cache keeps (a 25,000-case service) reads the team's
// visits only (decision 0084): the cache is turned off by counting the
// signed visits' index entries, without reading a visit, where before the
// first count after start read every team's visits up to the bound (2.5 s
// on SQLite, 27 s on PostgreSQL at 25,000 cases), to drop them. The count
// is still what the queue lists.
func TestReviewCountReadsTheTeamsVisitsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := Open(ctx, testTarget(t), Options{Now: testkit.NewClock(synth.DefaultNow).Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin := Actor{UserID: "admin-test", Role: schema.RoleAdmin}
	ds := synth.Generate(synth.Options{Seed: 5, Teams: 3, OfficersPerTeam: 1, CasesPerOfficer: 6})
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, admin, tm); err != nil {
			t.Fatal(err)
		}
	}
	var sup schema.User
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, admin, u, testPassword); err != nil {
			t.Fatal(err)
		}
		if u.Role == schema.RoleSupervisor && sup.ID == "" {
			sup = u
		}
	}
	if err := db.Seed(ctx, admin, ds.Records); err != nil {
		t.Fatal(err)
	}
	signed := 0
	for _, r := range ds.Records {
		if r.Entity == "visit" && r.Fields["signed_at"] != nil && string(r.Fields["signed_at"]) != `""` && string(r.Fields["signed_at"]) != "null" {
			signed++
		}
	}
	if signed < 20 {
		t.Fatalf("expected the synthetic service to hold many signed visits, got %d", signed)
	}
	db.visits.max = 10 // the service's signed visits are past the bound
	actor := ActorOf(sup, "")
	n, err := db.ReviewCountRecords(ctx, actor)
	if err != nil {
		t.Fatal(err)
	}
	db.visits.mu.Lock()
	read, off := db.visits.read, db.visits.off
	db.visits.mu.Unlock()
	if read != 0 || !off {
		t.Errorf("the supervisor's count read %d visits of the whole service into the cache (off %v), want none", read, off)
	}
	q, err := db.ReviewQueue(ctx, actor, ReviewFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := q.Counts.Total() - q.Counts.SetAside; n != want || n == 0 {
		t.Errorf("the count of records is %d, the queue lists %d (%+v)", n, want, q.Counts)
	}
}
