package localapi

import (
	"context"
	"testing"

	"doorstep/schema"
	"doorstep/syncer/localapi/localapitest"
)

// TestSignAccountsForEveryChild is issue 9's defect 1 through the tablet's
// JSON API: in a domestic-abuse case a completed home visit is signed only
// when every child on the household list is accounted for, and the refusal
// names each missing answer; a refused sign changes nothing.
func TestSignAccountsForEveryChild(t *testing.T) {
	t.Parallel()
	kids := []string{schema.NewID(), schema.NewID(), schema.NewID()}
	c, a, caseID := startAPIWith(t, func(caseID string) []schema.Record {
		recs := []schema.Record{{Entity: "flag", ID: schema.NewID(), CaseID: caseID, Version: 1,
			Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: "2026-11-01"})}}
		for i, name := range []string{"Ava Testchild", "Ben Testchild", "Cleo Testchild"} {
			recs = append(recs, schema.Record{Entity: "household_member", ID: kids[i], CaseID: caseID, Version: 1,
				Fields: schema.FieldsOf(schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: name})})
		}
		return recs
	})
	ctx := context.Background()
	if status, out, _ := c.Do("POST", "/v1/login", map[string]string{"username": "asha.officer", "password": "correct horse battery"}, nil); status != 200 {
		t.Fatalf("login: %d %v", status, out)
	}
	if status, out, _ := c.Do("POST", "/v1/sync", "{}", nil); status != 200 {
		t.Fatalf("sync: %d %v", status, out)
	}
	// The draft keeps half-answered children: child 2 not present (no
	// "seen"), child 3 present and not seen, with no reason yet.
	children := []map[string]any{
		{"member_id": kids[0], "present": "yes", "seen": "yes"},
		{"member_id": kids[1], "present": "no"},
		{"member_id": kids[2], "present": "yes", "seen": "no"},
	}
	status, out, _ := c.Do("POST", "/v1/records/visit", map[string]any{"case_id": caseID, "fields": map[string]any{
		"status": "draft", "type": "home_unannounced", "outcome": "completed", "location": "home", "face_to_face": true,
		"started_at": "2026-11-20T10:00:00Z", "person_seen": "yes", "partner_present": "no_partner",
		"children_present": "yes", "children": children[:1]}}, nil)
	if status != 201 {
		t.Fatalf("create visit: %d %v", status, out)
	}
	visitID := out["id"].(string)

	before, _ := a.Outbox(ctx)
	wantFields := func(out map[string]any, fields ...string) {
		t.Helper()
		code, field := localapitest.ErrCode(out)
		e, _ := out["error"].(map[string]any)
		var got []string
		if list, ok := e["errors"].([]any); ok {
			for _, x := range list {
				got = append(got, x.(map[string]any)["field"].(string))
			}
		} else if field != "" {
			got = []string{field}
		}
		if code != schema.ECodeRequired || field != fields[0] || len(got) != len(fields) {
			t.Fatalf("want required naming %v, got %s on %q naming %v (%v)", fields, code, field, got, out)
		}
		for i := range fields {
			if got[i] != fields[i] {
				t.Fatalf("want required naming %v, got %v (%v)", fields, got, out)
			}
		}
		if after, _ := a.Outbox(ctx); len(after) != len(before) {
			t.Fatalf("a refused sign changed the outbox: %d -> %d", len(before), len(after))
		}
		if v, _ := a.Get(ctx, "visit", visitID); v.Signed {
			t.Fatal("a refused sign signed the visit")
		}
	}
	// Only child 1 in the visit: the two others are named.
	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/sign", map[string]any{"fields": map[string]any{}}, nil)
	if status != 400 {
		t.Fatalf("sign with 1 of 3 children: want 400, got %d %v", status, out)
	}
	wantFields(out, "fields.children", "fields.children")
	// All three, child 3's reason missing.
	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/sign", map[string]any{"fields": map[string]any{"children": children}}, nil)
	if status != 400 {
		t.Fatalf("sign without child 3's reason: want 400, got %d %v", status, out)
	}
	wantFields(out, "fields.children[2].reason_not_seen")
	// Every answer missing is named at once.
	blank := []map[string]any{{"member_id": kids[0], "present": "yes"}, {"member_id": kids[1]}, children[2]}
	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/sign", map[string]any{"fields": map[string]any{"children": blank}}, nil)
	if status != 400 {
		t.Fatalf("sign with three answers missing: want 400, got %d %v", status, out)
	}
	wantFields(out, "fields.children[0].seen", "fields.children[1].present", "fields.children[2].reason_not_seen")

	children[2]["reason_not_seen"] = "asleep upstairs, mother would not wake her"
	status, out, _ = c.Do("POST", "/v1/visits/"+visitID+"/sign", map[string]any{"fields": map[string]any{"children": children}}, nil)
	if status != 200 || out["signed"] != true {
		t.Fatalf("sign with every child accounted for: %d %v", status, out)
	}
	got, _ := out["fields"].(map[string]any)["children"].([]any)
	if len(got) != 3 {
		t.Fatalf("signed record: want 3 children, got %v", out["fields"])
	}
}
