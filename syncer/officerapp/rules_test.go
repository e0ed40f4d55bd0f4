package officerapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"doorstep/schema/policy"
	"doorstep/syncer/localapi"
)

// fiveDays is the default rules with the first visit for high RoSH due
// within 5 days, not 15, under version "local-5d".
func fiveDays() json.RawMessage {
	s := strings.Replace(string(policy.DefaultRules()), `"due_within_days": 15`, `"due_within_days": 5`, 1)
	return policy.Compact([]byte(strings.Replace(s, `"version": "2026-11-23.1"`, `"version": "local-5d"`, 1)))
}

// firstVisitHigh asks GET /v1/requirements for the rules in use and the
// due date of the DA case's first home visit (high RoSH, supervision
// started 2026-01-10).
func (e *appEnv) firstVisitHigh() (version, source, due string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.api.URL()+"/v1/requirements?as_of=2026-02-01", nil)
	req.Header.Set("Authorization", "Bearer "+e.jsonClient().Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var got struct { // the wire answer, as a tool reads it
		RuleVersion  string               `json:"rule_version"`
		RulesSource  string               `json:"rules_source"`
		Requirements []policy.Requirement `json:"requirements"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(raw, &got) != nil {
		e.t.Fatalf("GET /v1/requirements: %d %s", resp.StatusCode, raw)
	}
	for _, r := range got.Requirements {
		if r.CaseID == e.caseID && r.RuleID == "first_visit_high" && r.Recurrence == 0 {
			if r.RuleVersion != got.RuleVersion {
				e.t.Errorf("a requirement of rules %s in an answer of rules %s", r.RuleVersion, got.RuleVersion)
			}
			return got.RuleVersion, got.RulesSource, string(r.DueOn)
		}
	}
	return got.RuleVersion, got.RulesSource, ""
}

func (e *appEnv) syncNow() {
	e.t.Helper()
	if _, err := e.agent.SyncOnce(context.Background()); err != nil {
		e.t.Fatalf("sync: %v", err)
	}
}

// TestAppUsesTheServersRules: the web app computes with the defaults until
// the server's rules arrive, then with them at once (no restart); a
// document that does not parse leaves the rules held in use; the case page
// says which rules it used; --rules (localapi.Config.Policy) overrides the server's.
func TestAppUsesTheServersRules(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	ctx := context.Background()
	if _, err := e.agent.Login(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	def := policy.Default().Version
	want := func(version, source, due string) {
		t.Helper()
		v, s, d := e.firstVisitHigh()
		if v != version || !strings.Contains(s, source) || d != due {
			t.Errorf("expected rules %s (%s), first visit due %s; got rules %s (%s), due %s", version, source, due, v, s, d)
		}
	}

	// An older server sends no rules: the defaults (15 days).
	e.syncNow()
	want(def, "built-in", "2026-01-25")

	// The server's rules arrive: the next answer and page use them.
	e.peer.mu.Lock()
	e.peer.rules, e.peer.rulesTag = fiveDays(), "r:5d"
	e.peer.mu.Unlock()
	e.syncNow()
	want("local-5d", "from the server", "2026-01-15")
	b := e.browser()
	b.mustSignIn()
	mustContain(t, b.get("/app/cases/"+e.caseID), "rules version local-5d, from the server", "15 Jan 2026")

	// A document this version cannot parse: refused, the rules held stay.
	e.peer.mu.Lock()
	e.peer.rules = json.RawMessage(strings.Replace(string(fiveDays()), `"version":"local-5d"`, `"version":"local-bad","extra":1`, 1))
	e.peer.rulesTag = "r:bad"
	e.peer.mu.Unlock()
	e.syncNow()
	want("local-5d", "from the server", "2026-01-15")

	// --rules on the tablet overrides the server's.
	o := startApp(t)
	o.peer.rules, o.peer.rulesTag = fiveDays(), "r:5d"
	o.open(localapi.Config{Policy: policy.Default()})
	if _, err := o.agent.Login(ctx, officer.Username, testPassword); err != nil {
		t.Fatal(err)
	}
	o.syncNow()
	if p, _ := o.agent.Rules(); p == nil || p.Version != "local-5d" {
		t.Errorf("the overridden tablet did not keep the server's rules for later")
	}
	v, s, d := o.firstVisitHigh()
	if v != def || !strings.Contains(s, "own rules file") || d != "2026-01-25" {
		t.Errorf("--rules: expected the given rules %s, due 2026-01-25; got %s (%s), due %s", def, v, s, d)
	}
}
