package serverdb

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"doorstep/schema"
)

func (f *fixture) publish(t *testing.T, actor Actor, team, reason string) (Publication, error) {
	t.Helper()
	seq, err := f.db.MaxSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f.db.PublishPeriod(context.Background(), actor, PublicationInput{TeamID: team, From: "2026-10-01", To: "2026-10-31",
		AsOf: "2026-10-31", RuleVersion: "v1", RulesTag: "r:1", Reason: reason, Seq: seq, Figures: json.RawMessage(`{"measures":{}}`)})
}

// A publication is kept as published: the store refuses to change or
// delete one, a second publication of the same scope and period needs a
// reason and supersedes the first, and each is audited.
func TestPublicationsAreImmutableAndSuperseded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	first, err := f.publish(t, sue, f.teamA.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if first.PublishedByName != "sue" || first.Supersedes != "" || first.Scope != "team" || first.FiguresHash == "" {
		t.Errorf("first publication = %+v", first)
	}
	for _, q := range []string{`UPDATE publications SET figures = '{}' WHERE id = ?`, `DELETE FROM publications WHERE id = ?`} {
		if _, err := f.db.w.Exec(q, first.ID); err == nil || !strings.Contains(err.Error(), "never") {
			t.Errorf("%s: %v, want refused by the trigger", q, err)
		}
	}
	if _, err := f.publish(t, sue, f.teamA.ID, "  "); schema.ErrorCode(err) != schema.ECodeRequired || schema.AsError(err).Field != "reason" {
		t.Errorf("again without a reason: %v, want required on reason", err)
	}
	// Another period, or another scope, is a publication of its own.
	if _, err := f.publish(t, f.admin, "", ""); err != nil {
		t.Errorf("the service's publication of the same period: %v", err)
	}
	second, err := f.publish(t, sue, f.teamA.ID, "an amendment came in late")
	if err != nil {
		t.Fatal(err)
	}
	if second.Supersedes != first.ID || second.Reason != "an amendment came in late" {
		t.Errorf("second = %+v, want it to supersede %s", second, first.ID)
	}
	got, err := f.db.GetPublication(ctx, sue, first.ID)
	if err != nil || got.SupersededBy != second.ID || got.Current() || string(got.Figures) != `{"measures":{}}` {
		t.Errorf("first after the second = %+v, %v", got, err)
	}
	list, err := f.db.ListPublications(ctx, sue, PublicationFilter{})
	if err != nil || len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Errorf("sue's list = %+v, %v; want the second then the first", list, err)
	}
	evs, err := f.db.AuditByAction(ctx, "publish_period")
	if err != nil || len(evs) != 3 || evs[2].RecordID != second.ID || !strings.Contains(string(evs[2].Detail), `"supersedes":"`+first.ID) {
		t.Errorf("publish events = %+v, %v", evs, err)
	}
}

// Figures computed before a record was written are not published; scope
// and team are checked; a publication out of scope is not found.
func TestPublishPeriodRefusals(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	sue := f.actor(f.sue, "")
	seq, _ := f.db.MaxSeq(ctx)
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(schema.NewID(), "A000003", f.asha)}); err != nil {
		t.Fatal(err)
	}
	_, err := f.db.PublishPeriod(ctx, sue, PublicationInput{TeamID: f.teamA.ID, From: "2026-10-01", To: "2026-10-31", Seq: seq, Figures: json.RawMessage(`{}`)})
	if !errors.Is(err, ErrStaleFigures) {
		t.Errorf("figures older than the records: %v, want ErrStaleFigures", err)
	}
	if _, err := f.publish(t, sue, f.teamB.ID, ""); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("sue publishes team B: %v, want forbidden", err)
	}
	if _, err := f.publish(t, sue, "", ""); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("sue publishes the service: %v, want forbidden", err)
	}
	if _, err := f.publish(t, f.actor(f.asha, ""), f.teamA.ID, ""); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("an officer publishes: %v, want forbidden", err)
	}
	if _, err := f.publish(t, f.admin, "no-such-team", ""); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("an unknown team: %v, want invalid", err)
	}
	b, err := f.publish(t, f.admin, f.teamB.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.GetPublication(ctx, sue, b.ID); schema.ErrorCode(err) != schema.ECodeNotFound {
		t.Errorf("sue reads team B's publication: %v, want not_found", err)
	}
	if list, err := f.db.ListPublications(ctx, sue, PublicationFilter{}); err != nil || len(list) != 0 {
		t.Errorf("sue's list = %+v, %v; want none", list, err)
	}
	var n int
	if err := f.db.r.QueryRow(`SELECT count(*) FROM publications`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d publications stored (%v), want only the admin's", n, err)
	}
}
