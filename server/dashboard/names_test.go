package dashboard

import (
	"html"
	"strings"
	"testing"

	"doorstep/schema/synth"
)

// TestPagesListTheUsersOnce: the overview, the print page and a measure's
// page list the users once, for the filters' choice of officers; the
// measures' names of officers and teams come from that list (decision
// 0126). On main the measures' input listed them a second time. The
// supervisor's team is named on the page from those names.
func TestPagesListTheUsersOnce(t *testing.T) {
	t.Parallel()
	srv, sup := synthServer(t, synth.Options{Teams: 2, OfficersPerTeam: 2, CasesPerOfficer: 4, HistoryDays: 120, Seed: 3})
	teams, err := srv.DB().ListTeams(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	team := ""
	for _, tm := range teams {
		if tm.ID == sup.TeamID {
			team = tm.Name
		}
	}
	if team == "" {
		t.Fatalf("no team %s", sup.TeamID)
	}
	tok, err := newSite(srv).dashSessionToken(sup)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dashboard/", "/dashboard/print", "/dashboard/measures/contacts"} {
		before := srv.DB().UsersListed()
		body := dashGet(t, srv, tok, path)
		if n := srv.DB().UsersListed() - before; n != 1 {
			t.Errorf("GET %s listed the users %d times", path, n)
		}
		if !strings.Contains(html.UnescapeString(string(body)), team) {
			t.Errorf("GET %s does not name the team %q", path, team)
		}
	}
}
