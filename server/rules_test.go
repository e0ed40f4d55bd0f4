package server

import (
	"strings"
	"testing"

	"doorstep/schema/policy"
)

// TestRulesOf: the server sends tablets the rules document it computes
// with: the given one, compacted and otherwise byte for byte; the embedded
// defaults without one; and it refuses a document that does not parse or
// that is not its Policy.
func TestRulesOf(t *testing.T) {
	t.Parallel()
	custom := strings.Replace(string(policy.DefaultRules()), `"due_within_days": 15`, `"due_within_days": 5`, 1)
	custom = strings.Replace(custom, `"version": "`, `"version": "local-5d+`, 1)

	cfg := Config{Rules: []byte(custom)}
	r, err := rulesOf(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Policy == nil || !strings.HasPrefix(cfg.Policy.Version, "local-5d+") || cfg.Policy.Rules[0].DueWithinDays != 5 {
		t.Fatalf("expected Policy parsed from Rules, got %+v", cfg.Policy)
	}
	if string(r.Doc) != string(policy.Compact([]byte(custom))) || r.Tag != policy.Tag([]byte(custom)) || !strings.HasPrefix(r.Tag, "r:") {
		t.Errorf("expected the document compacted under its tag, got %q:\n%s", r.Tag, r.Doc)
	}

	cfg = Config{}
	if r, err = rulesOf(&cfg); err != nil || cfg.Policy.Version != policy.Default().Version || r.Tag != policy.Tag(policy.DefaultRules()) {
		t.Errorf("no rules: expected the defaults, got %v, %q", err, r.Tag)
	}

	// A Policy built in Go is sent as its own JSON, which parses back to it.
	cfg = Config{Policy: policy.Default()}
	if r, err = rulesOf(&cfg); err != nil {
		t.Fatal(err)
	}
	if p, err := policy.Parse(r.Doc); err != nil || p.Version != cfg.Policy.Version || len(p.Rules) != len(cfg.Policy.Rules) {
		t.Errorf("a Go-built policy: the document sent does not parse back to it: %v", err)
	}

	for name, cfg := range map[string]Config{
		"a document that does not parse": {Rules: []byte(`{"version": "x", "rules": []}`)},
		"Policy and Rules disagree":      {Rules: []byte(custom), Policy: policy.Default()},
	} {
		if _, err := rulesOf(&cfg); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}
