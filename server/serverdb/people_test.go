package serverdb

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"doorstep/schema"
)

func tagOf(s string) *string { return &s }

func TestPullSendsTheTeamsPeople(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)

	// A device that does not ask (an older app) gets no list.
	resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.People != nil || resp.PeopleTag != "" {
		t.Fatalf("a pull that did not ask got people %v, tag %q", resp.People, resp.PeopleTag)
	}

	// A device with no list asks with "" and gets its team, supervisor
	// included, and no one of another team.
	resp, err = f.db.PullResponse(ctx, a, schema.PullRequest{PeopleTag: tagOf("")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.PeopleTag == "" {
		t.Fatal("a pull that asked got no people tag")
	}
	got := map[string]schema.Person{}
	for _, p := range resp.People {
		got[p.ID] = p
	}
	want := map[string]schema.Person{
		f.asha.ID: {ID: f.asha.ID, Name: "asha", Role: schema.RoleOfficer},
		f.ben.ID:  {ID: f.ben.ID, Name: "ben", Role: schema.RoleOfficer},
		f.sue.ID:  {ID: f.sue.ID, Name: "sue", Role: schema.RoleSupervisor},
	}
	if len(got) != len(want) {
		t.Errorf("expected Team A's 3 people, got %v", resp.People)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("expected %+v, got %+v", w, got[id])
		}
	}
	if _, ok := got[f.carl.ID]; ok {
		t.Errorf("Team B's officer carl arrived on Team A's tablet: %v", resp.People)
	}

	// Only id, name and role travel: nothing of the username or password.
	var b bytes.Buffer
	if err := f.db.Pull(ctx, a, schema.PullRequest{PeopleTag: tagOf("")}, &b); err != nil {
		t.Fatal(err)
	}
	_, list, _ := strings.Cut(b.String(), `"people":`)
	for _, leak := range []string{"username", "password", "team_id", "$2a$"} {
		if strings.Contains(list, leak) {
			t.Errorf("the people list holds %q: %s", leak, list)
		}
	}

	// The same tag: nothing to send.
	tag := resp.PeopleTag
	resp, err = f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: resp.Cursor, PeopleTag: &tag})
	if err != nil {
		t.Fatal(err)
	}
	if resp.People != nil || resp.PeopleTag != "" {
		t.Errorf("a device holding the current list got it again: %v", resp.People)
	}

	// Someone joins the team: the tag changes and the list comes again.
	dee := schema.User{ID: schema.NewID(), Username: "dee", Name: "Dee Jones", Role: schema.RoleSupervisor, TeamID: f.teamA.ID}
	if err := f.db.CreateUser(ctx, f.admin, dee, testPassword); err != nil {
		t.Fatal(err)
	}
	resp, err = f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: resp.Cursor, PeopleTag: &tag})
	if err != nil {
		t.Fatal(err)
	}
	if resp.PeopleTag == "" || resp.PeopleTag == tag || len(resp.People) != 4 {
		t.Errorf("after Dee joined: expected 4 people under a new tag, got %v under %q", resp.People, resp.PeopleTag)
	}

	// Team B's officer gets Team B only.
	people, _, err := f.db.People(ctx, f.actor(f.carl, ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != 1 || people[0].ID != f.carl.ID {
		t.Errorf("expected Team B's list to be carl alone, got %v", people)
	}
}

func TestPullSendsPeopleOnTheLastPageOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	a := f.actor(f.asha, f.ashaDev)
	for i := 0; i < 3; i++ {
		f.push(t, a, mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("planned")))
	}
	cursor, pages, lists := "", 0, 0
	for {
		resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: cursor, Limit: 1, PeopleTag: tagOf("")})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if resp.PeopleTag != "" {
			lists++
			if resp.HasMore {
				t.Errorf("page %d carried the people list but more pages wait", pages)
			}
		}
		if !resp.HasMore {
			break
		}
		cursor = resp.Cursor
	}
	if pages < 2 || lists != 1 {
		t.Errorf("expected the list once over several pages, got it %d times over %d pages", lists, pages)
	}
}
