package serverdb

import (
	"context"
	"doorstep/server/serverdb/serverdbtest"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"

	"golang.org/x/crypto/bcrypt"
)

func TestMain(m *testing.M) {
	SetPasswordCost(bcrypt.MinCost)
	if onPostgres() {
		fmt.Fprintln(os.Stderr, "serverdb: the store's tests on PostgreSQL (DOORSTEP_TEST_ENGINE=postgres)")
	}
	code := m.Run()
	serverdbtest.RemoveTemplates()
	os.Exit(code)
}

// fixture is a store with two teams, officers, a supervisor and an admin,
// and one case per officer.
type fixture struct {
	db                   *DB
	clock                *testkit.Clock
	admin                Actor
	asha, ben, sue, carl schema.User // asha, ben: team A officers; sue: team A supervisor; carl: team B officer
	teamA, teamB         schema.Team
	ashaCase, benCase    string
	ashaDev, benDev      string
	tampered             bool // the test edits the file behind the store's back
}

const testPassword = "correct horse battery"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	db, err := Open(ctx, testTarget(t), Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, clock: clock, admin: Actor{UserID: "admin-test", Role: schema.RoleAdmin}}
	// Whatever a test did through the store, the audit chain holds after it
	// (a test that tampers with the file says so).
	t.Cleanup(func() {
		if f.tampered {
			return
		}
		rep, err := db.VerifyAudit(context.Background())
		if err != nil || rep.Broken != nil {
			t.Errorf("the audit chain after the test: %+v, %v; want intact", rep.Broken, err)
		}
	})
	f.teamA = schema.Team{ID: schema.NewID(), Name: "Team A"}
	f.teamB = schema.Team{ID: schema.NewID(), Name: "Team B"}
	for _, tm := range []schema.Team{f.teamA, f.teamB} {
		if err := db.CreateTeam(ctx, f.admin, tm); err != nil {
			t.Fatalf("create team: %v", err)
		}
	}
	mk := func(username string, role schema.Role, team string) schema.User {
		u := schema.User{ID: schema.NewID(), Username: username, Name: username, Role: role, TeamID: team}
		if err := db.CreateUser(ctx, f.admin, u, testPassword); err != nil {
			t.Fatalf("create user %s: %v", username, err)
		}
		return u
	}
	f.asha = mk("asha", schema.RoleOfficer, f.teamA.ID)
	f.ben = mk("ben", schema.RoleOfficer, f.teamA.ID)
	f.sue = mk("sue", schema.RoleSupervisor, f.teamA.ID)
	f.carl = mk("carl", schema.RoleOfficer, f.teamB.ID)
	f.ashaCase = schema.NewID()
	f.benCase = schema.NewID()
	if err := db.Seed(ctx, f.admin, []schema.Record{
		caseRecord(f.ashaCase, "A000001", f.asha),
		caseRecord(f.benCase, "B000002", f.ben),
	}); err != nil {
		t.Fatalf("seed: %v", err)
	}
	f.ashaDev, f.benDev = "dev-asha", "dev-ben"
	for _, d := range []struct {
		u  schema.User
		id string
	}{{f.asha, f.ashaDev}, {f.ben, f.benDev}} {
		if _, err := db.Login(ctx, d.u, d.id, DeviceInfo{Name: "tablet"}, time.Hour); err != nil {
			t.Fatalf("login: %v", err)
		}
	}
	return f
}

// teamAndOfficer creates Team A and its officer Asha in db, and returns
// the admin that did and Asha.
func teamAndOfficer(t *testing.T, db *DB) (Actor, schema.User) {
	t.Helper()
	ctx := context.Background()
	admin := Actor{UserID: "admin-test", Role: schema.RoleAdmin}
	team := schema.Team{ID: schema.NewID(), Name: "Team A"}
	if err := db.CreateTeam(ctx, admin, team); err != nil {
		t.Fatal(err)
	}
	asha := schema.User{ID: schema.NewID(), Username: "asha", Name: "Asha", Role: schema.RoleOfficer, TeamID: team.ID}
	if err := db.CreateUser(ctx, admin, asha, testPassword); err != nil {
		t.Fatal(err)
	}
	return admin, asha
}

func caseRecord(id, crn string, officer schema.User) schema.Record {
	c := schema.Case{CRN: crn, GivenName: "Sam", FamilyName: "Doe", DateOfBirth: "1990-01-02", Address: "1 High St",
		OfficerID: officer.ID, TeamID: officer.TeamID, SentenceType: "community_order", SupervisionStart: "2026-10-01", RoSH: "high"}
	return schema.Record{Entity: "case", ID: id, CaseID: id, Fields: schema.FieldsOf(c)}
}

func (f *fixture) actor(u schema.User, dev string) Actor { return ActorOf(u, dev) }

// raw makes a field map from Go values.
func raw(kv ...any) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		b, err := json.Marshal(kv[i+1])
		if err != nil {
			panic(err)
		}
		m[kv[i].(string)] = b
	}
	return m
}

// stamp makes an HLC stamp at wall ms for node.
func stamp(ms int64, node string) schema.HLC { return schema.HLC{Wall: ms, Node: node} }

func mutation(entity, recordID, caseID string, clock schema.HLC, fields map[string]json.RawMessage) schema.Mutation {
	return schema.Mutation{ID: schema.NewID(), Entity: entity, RecordID: recordID, CaseID: caseID, Fields: fields,
		Clock: clock, DeviceTime: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
}

func visitFields(status string) map[string]json.RawMessage {
	return raw("status", status, "type", "home_unannounced", "planned_type", "home_unannounced")
}

func (f *fixture) push(t testing.TB, a Actor, muts ...schema.Mutation) []schema.MutationResult {
	t.Helper()
	res, err := f.db.Push(context.Background(), a, muts)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(res) != len(muts) {
		t.Fatalf("push: %d results for %d mutations", len(res), len(muts))
	}
	return res
}

func (f *fixture) get(t testing.TB, id string) schema.Record {
	t.Helper()
	var rec schema.Record
	recs, err := f.db.List(context.Background(), f.admin, "visit", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ID == id {
			return r
		}
	}
	for _, e := range schema.Entities() {
		if r, err := f.db.Get(context.Background(), f.admin, e.Name, id); err == nil {
			return r
		}
	}
	t.Fatalf("no record %s", id)
	return rec
}

func field(r schema.Record, name string) string {
	var s string
	if err := json.Unmarshal(r.Fields[name], &s); err != nil {
		return fmt.Sprintf("<%s>", r.Fields[name])
	}
	return s
}

func (f *fixture) conflicts(t testing.TB, recordID string) []schema.Record {
	t.Helper()
	all, err := f.db.List(context.Background(), f.admin, "conflict", "")
	if err != nil {
		t.Fatal(err)
	}
	var out []schema.Record
	for _, r := range all {
		if field(r, "record_id") == recordID {
			out = append(out, r)
		}
	}
	return out
}
