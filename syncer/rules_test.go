package syncer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer/devicedb"
)

// rulesDoc is the default rules with a first visit for high RoSH due
// within days, under a version of its own.
func rulesDoc(version string, days int) json.RawMessage {
	s := strings.Replace(string(policy.DefaultRules()), `"due_within_days": 15`, `"due_within_days": `+itoa(days), 1)
	return json.RawMessage(policy.Compact([]byte(strings.Replace(s, `"version": "2026-11-23.1"`, `"version": "`+version+`"`, 1))))
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func wantRules(t *testing.T, a *Agent, version, tag string) {
	t.Helper()
	p, got := a.Rules()
	switch {
	case version == "" && p != nil:
		t.Errorf("expected no server rules, got %s under %q", p.Version, got)
	case version == "":
	case p == nil:
		t.Errorf("expected the server's rules %s under %q, got none", version, tag)
	case p.Version != version || got != tag:
		t.Errorf("expected the server's rules %s under %q, got %s under %q", version, tag, p.Version, got)
	}
}

// TestPullStoresTheServersRules: the rules come with a pull and are used at
// once; an unchanged tag brings nothing; a document that does not parse
// here is refused and the rules held stay, whole; and the rules held
// survive a restart of the agent.
func TestPullStoresTheServersRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	dir := t.TempDir()
	a := newAgent(t, p, func(c *Config) { c.DataDir = dir })
	wantRules(t, a, "", "")

	var tags []*string
	doc, tag := rulesDoc("local-5d", 5), "r:1"
	p.mu.Lock()
	p.onPull = func(n int, req schema.PullRequest) (int, any) {
		tags = append(tags, req.RulesTag)
		resp := schema.PullResponse{Records: []schema.Record{}, Cursor: "c", ServerTime: p.now()}
		if req.RulesTag != nil && *req.RulesTag != tag {
			resp.Rules, resp.RulesTag = doc, tag
		}
		return 200, resp
	}
	p.mu.Unlock()
	sync := func() {
		t.Helper()
		if _, err := a.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}

	sync()
	wantRules(t, a, "local-5d", "r:1")
	if pol, _ := a.Rules(); pol.Rules[0].DueWithinDays != 5 {
		t.Errorf("expected the server's 5 days, got %d", pol.Rules[0].DueWithinDays)
	}
	sync() // unchanged: nothing comes, the rules stay
	wantRules(t, a, "local-5d", "r:1")

	// A document this version cannot parse (a trigger it does not know):
	// refused, the rules held stay, and the tablet asks again next time.
	p.mu.Lock()
	doc, tag = json.RawMessage(strings.Replace(string(rulesDoc("future-1", 5)), `"supervision_start"`, `"moon_phase"`, 1)), "r:2"
	p.mu.Unlock()
	sync()
	wantRules(t, a, "local-5d", "r:1")
	err := a.DB().View(ctx, func(tx *devicedb.Tx) error {
		r, ok, err := tx.Rules(ctx)
		if err == nil && (!ok || r.Tag != "r:1" || r.Version != "local-5d" || string(r.Doc) != string(rulesDoc("local-5d", 5))) {
			t.Errorf("the store holds %q %q after a bad document, want r:1 local-5d as received", r.Tag, r.Version)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Good rules again: they replace the old.
	p.mu.Lock()
	doc, tag = rulesDoc("local-3d", 3), "r:3"
	p.mu.Unlock()
	sync()
	wantRules(t, a, "local-3d", "r:3")

	p.mu.Lock()
	want := []string{"", "r:1", "r:1", "r:1"}
	if len(tags) != len(want) {
		t.Fatalf("expected %d pulls, got %d", len(want), len(tags))
	}
	for i, w := range want {
		if tags[i] == nil || *tags[i] != w {
			t.Errorf("pull %d: expected rules_tag %q, got %v", i+1, w, tags[i])
		}
	}
	p.mu.Unlock()

	// The agent starts again with the rules it held.
	a.Close()
	b, err := Open(ctx, Config{DataDir: dir, ServerURL: p.URL(), AppVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	wantRules(t, b, "local-3d", "r:3")
}

// TestPullFromServerWithoutRules: an older server sends no rules; the
// tablet keeps none (the app uses its defaults) and still syncs.
func TestPullFromServerWithoutRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPeer(t)
	a := newAgent(t, p, nil)
	seed(t, a, p, caseRecord(schema.NewID()))
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	wantRules(t, a, "", "")
	if recs, _ := a.List(ctx, "case", ""); len(recs) != 1 {
		t.Fatalf("expected the seeded case, got %d records", len(recs))
	}
}
