package server

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/serverdb"
)

func TestFreshnessHTTP(t *testing.T) {
	t.Parallel()
	e := newReviewEnv(t)
	ben := e.login("ben", "dev-ben").AccessToken
	signedAt := e.clock.Now().Add(-20 * time.Minute)
	vid := schema.NewID()
	m := schema.Mutation{ID: schema.NewID(), Entity: "visit", RecordID: vid, CaseID: e.ashaCase, Clock: schema.HLC{Wall: 5000, Node: "dev-asha"},
		Fields: rawFields("status", "signed", "type", "home_unannounced", "outcome", "completed", "location", "home",
			"started_at", signedAt.Add(-time.Hour).Format(time.RFC3339), "partner_present", "no_partner", "children_present", "no_children",
			"signed_at", signedAt.Format(time.RFC3339), "signed_by", e.users["asha"].ID)}
	// asha's tablet says 4 changes wait; ben's is an old app that says
	// nothing, and still syncs.
	r := e.do("POST", "/v1/sync/push", schema.PushRequest{Mutations: []schema.Mutation{m}}, with(bearer(e.tokens["asha"]), schema.HeaderOutboxPending, "4"))
	if r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/v1/sync/pull", map[string]string{"cursor": ""}, bearer(ben)); r.status != 200 {
		t.Fatalf("old tablet's pull: %d %s", r.status, r.body)
	}
	// A later request without the header leaves the figure alone.
	if r := e.do("POST", "/v1/sync/pull", map[string]string{"cursor": ""}, bearer(e.tokens["asha"])); r.status != 200 {
		t.Fatal(r.status)
	}

	r = e.do("GET", "/v1/compliance/freshness", nil, bearer(e.tokens["sue"]))
	if r.status != 200 {
		t.Fatalf("freshness: %d %s", r.status, r.body)
	}
	var f serverdb.Freshness
	r.decode(t, &f)
	devs := map[string]serverdb.DeviceFreshness{}
	for _, d := range f.Devices {
		devs[d.DeviceID] = d
	}
	if d := devs["dev-asha"]; d.OutboxPending == nil || *d.OutboxPending != 4 || d.Stale || d.DaysSinceSync == nil || *d.DaysSinceSync != 0 {
		t.Errorf("dev-asha = %+v", d)
	}
	if d := devs["dev-ben"]; d.OutboxPending != nil || d.Stale {
		t.Errorf("dev-ben (old app) = %+v", d)
	}
	if _, ok := devs["dev-carl"]; ok {
		t.Errorf("carl's device in sue's answer")
	}
	// sue's browser sign-in is not a tablet.
	if d, ok := devs["dev-sue"]; ok {
		t.Errorf("dev-sue listed: %+v", d)
	}
	if f.StaleDays != 7 || f.Total.OutboxPending != 4 || f.Total.Latency.N != 1 || *f.Total.Latency.MedianSeconds != 1200 || f.Total.Latency.MaxVisit != vid {
		t.Errorf("total = %+v, stale_days %d", f.Total, f.StaleDays)
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	last := evs[len(evs)-1]
	var d struct {
		Params map[string]string `json:"params"`
	}
	_ = json.Unmarshal(last.Detail, &d)
	// One case: the event names it, so the case's trail finds the view.
	if view, n := viewDetail(t, last.Detail); view != "compliance/freshness" || n != 1 || last.CaseID != e.ashaCase || d.Params["stale_days"] != "7" {
		t.Errorf("audit = %s", last.Detail)
	}

	for _, tc := range []struct {
		query, user string
		status      int
		field       string
	}{
		{"?stale_days=0", "sue", 400, "stale_days"},
		{"?stale_days=x", "sue", 400, "stale_days"},
		{"?from=2026-13-01", "sue", 400, "from"},
		{"?officer_id=a%20b", "sue", 400, "officer_id"},
		{"", "asha", 403, ""},
	} {
		before := e.counts()
		r := e.do("GET", "/v1/compliance/freshness"+tc.query, nil, bearer(e.tokens[tc.user]))
		if r.status != tc.status || r.errorResponse().Error.Field != tc.field {
			t.Errorf("%s as %s = %d %s, want %d on %q", tc.query, tc.user, r.status, r.body, tc.status, tc.field)
		}
		if after := e.counts(); after != before {
			t.Errorf("%s changed the store", tc.query)
		}
	}
	r = e.do("GET", "/v1/compliance/freshness?stale_days=1", nil, bearer(e.tokens["root"]))
	r.decode(t, &f)
	if r.status != 200 || f.StaleDays != 1 || len(f.Teams) != 2 {
		t.Errorf("admin: %d stale_days %d teams %d", r.status, f.StaleDays, len(f.Teams))
	}
}
