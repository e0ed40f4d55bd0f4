package syncer

import (
	"context"
	"errors"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/devicedb"
)

var (
	jo  = schema.Person{ID: "u-jo", Name: "Jo Bloggs", Role: schema.RoleSupervisor}
	ben = schema.Person{ID: "u-ben", Name: "Ben Ade", Role: schema.RoleOfficer}
	dee = schema.Person{ID: "u-dee", Name: "Dee Jones", Role: schema.RoleOfficer}
)

func wantPerson(t *testing.T, a *Agent, id string, want schema.Person, known bool) {
	t.Helper()
	got, ok, err := a.Person(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ok != known || got != want {
		t.Errorf("person %s: expected %+v (known %v), got %+v (known %v)", id, want, known, got, ok)
	}
}

func TestPullStoresAndReplacesPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	var tags []*string
	list, tag := []schema.Person{jo, ben}, "p:1"
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		tags = append(tags, req.PeopleTag)
		resp := schema.PullResponse{Records: []schema.Record{}, Cursor: "c", ServerTime: p.now()}
		if req.PeopleTag != nil && *req.PeopleTag != tag {
			resp.People, resp.PeopleTag = list, tag
		}
		return 200, resp
	}
	p.mu.Unlock()

	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantPerson(t, a, jo.ID, jo, true)
	wantPerson(t, a, ben.ID, ben, true)
	wantPerson(t, a, dee.ID, schema.Person{}, false)

	// The list unchanged: the tablet says which it holds, gets nothing, and
	// keeps it.
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantPerson(t, a, jo.ID, jo, true)

	// Ben left the team and Dee joined: the new list replaces the old.
	p.mu.Lock()
	list, tag = []schema.Person{jo, dee}, "p:2"
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantPerson(t, a, ben.ID, schema.Person{}, false)
	wantPerson(t, a, dee.ID, dee, true)
	if people, _ := a.People(ctx); len(people) != 2 {
		t.Errorf("expected 2 people after the replacement, got %v", people)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	want := []string{"", "p:1", "p:1"}
	if len(tags) != len(want) {
		t.Fatalf("expected %d pulls, got %d", len(want), len(tags))
	}
	for i, w := range want {
		if tags[i] == nil || *tags[i] != w {
			t.Errorf("pull %d: expected people_tag %q, got %v", i+1, w, tags[i])
		}
	}
}

func TestPullFromServerWithoutPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	caseID := schema.NewID()
	// The peer's default answer is an older server's: no people members.
	seed(t, a, p, caseRecord(caseID))
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if recs, _ := a.List(ctx, "case", ""); len(recs) != 1 {
		t.Fatalf("expected the seeded case, got %d records", len(recs))
	}
	wantPerson(t, a, jo.ID, schema.Person{}, false)
	if people, err := a.People(ctx); err != nil || len(people) != 0 {
		t.Errorf("expected no people, got %v (%v)", people, err)
	}
}

func TestWipeForgetsPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 200, schema.PullResponse{Records: []schema.Record{}, Cursor: "c", ServerTime: p.now(),
			People: []schema.Person{jo}, PeopleTag: "p:1"}
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantPerson(t, a, jo.ID, jo, true)
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		return 403, schema.ErrorResponse{Error: schema.Error{Code: schema.ECodeDeviceRevoked, Message: "revoked"}, Wipe: true}
	}
	p.mu.Unlock()
	if _, err := a.SyncOnce(ctx); !errors.Is(err, ErrDeviceRevoked) {
		t.Fatalf("expected ErrDeviceRevoked, got %v", err)
	}
	wantPerson(t, a, jo.ID, schema.Person{}, false)
	err := a.DB().View(ctx, func(tx *devicedb.Tx) error {
		tag, err := tx.State(ctx, devicedb.KeyPeopleTag)
		if err == nil && tag != "" {
			t.Errorf("the people tag %q survived the wipe: the next sign-in would not get the list", tag)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
