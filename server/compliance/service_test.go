package compliance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// An answer computed in Go covers at most MaxCases cases: at the limit it
// is answered, one case over it is a too_many_cases error (422) naming
// both numbers before a record is read, and a narrower scope under the
// limit is answered again.
func TestServiceCaseLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	ids, err := db.ScopeCases(ctx, admin, serverdb.ScopeNarrow{})
	if err != nil {
		t.Fatal(err)
	}
	n := len(ids)
	svc := compliance.NewService(db, nil)
	svc.MaxCases = n
	in, err := svc.Input(ctx, admin, "")
	if err != nil || len(in.Cases) != n {
		t.Fatalf("at the limit (%d cases): %d cases, %v; want them all", n, len(in.Cases), err)
	}
	svc.MaxCases = n - 1
	_, err = svc.Input(ctx, admin, "")
	e := schema.AsError(err)
	if e == nil || e.Code != schema.ECodeTooManyCases || schema.HTTPStatus(e.Code) != 422 ||
		!strings.Contains(e.Message, fmt.Sprintf("%d cases, more than the %d", n, n-1)) || !strings.Contains(e.Message, "detail=counts") {
		t.Fatalf("one case over the limit: %v; want a 422 too_many_cases naming %d and %d and pointing to detail=counts", err, n, n-1)
	}
	team := ds.Teams[0].ID
	in, err = svc.InputOf(ctx, admin, compliance.Narrow{TeamID: team})
	if err != nil || len(in.Cases) == 0 || len(in.Cases) >= n {
		t.Fatalf("one team under the limit: %d cases, %v; want the team's", len(in.Cases), err)
	}
	for _, cr := range in.Cases {
		if cr.Case.TeamID != team {
			t.Fatalf("narrowed to team %s, got a case of team %s", team, cr.Case.TeamID)
		}
	}
	if _, _, err := svc.ScopeFigures(ctx, admin, "", compliance.Period{From: "2026-10-01", To: "2026-10-31"}, "2026-10-31"); schema.AsError(err) == nil ||
		schema.AsError(err).Code != schema.ECodeTooManyCases {
		t.Errorf("a publication's figures over the limit: %v; want too_many_cases", err)
	}
	if _, _, err := svc.ScopeFigures(ctx, admin, team, compliance.Period{From: "2026-10-01", To: "2026-10-31"}, "2026-10-31"); err != nil {
		t.Errorf("a team's publication figures under the limit: %v", err)
	}
	svc.MaxCases = 0
	if _, err := svc.Input(ctx, admin, ""); n <= compliance.DefaultMaxCases && err != nil {
		t.Errorf("MaxCases 0 (the default, %d) over %d cases: %v", compliance.DefaultMaxCases, n, err)
	}
}
