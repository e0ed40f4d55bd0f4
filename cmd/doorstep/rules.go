package main

import (
	"fmt"
	"log/slog"
	"os"

	"doorstep/schema/policy"
)

// loadRules reads the admin's visit rules (--rules FILE, a JSON document;
// docs/visit-policy.md) and checks them, so a bad edit stops the start
// with the rule at fault named rather than skewing figures later. An empty
// path means the embedded defaults. The log says which rules are in use.
// doc is the document as read, which the server sends to the tablets.
func loadRules(path string, log *slog.Logger) (p *policy.Policy, doc []byte, err error) {
	if path == "" {
		p := policy.Default()
		log.Info("visit rules", "source", "built-in defaults", "rule_version", p.Version, "rules", len(p.Rules))
		return p, policy.DefaultRules(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--rules: %w", err)
	}
	p, err = policy.Parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("--rules %s: %w (fix the file, or leave --rules empty for the built-in defaults)", path, err)
	}
	log.Info("visit rules", "source", path, "rule_version", p.Version, "rules", len(p.Rules), "tag", policy.Tag(b))
	return p, b, nil
}
