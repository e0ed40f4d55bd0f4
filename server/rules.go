package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"doorstep/schema/policy"
	"doorstep/server/serverdb"
)

// rulesOf settles cfg.Policy and the document pulls send to tablets
// (docs/sync-protocol.md §7.2), so the tablets compute due dates with the
// very rules the compliance measures use: cfg.Rules, parsed, when given
// (the admin's --rules file, byte for byte); else the embedded defaults;
// else, for a Policy built in Go, its own JSON.
func rulesOf(cfg *Config) (serverdb.Rules, error) {
	switch {
	case len(cfg.Rules) > 0:
		p, err := policy.Parse(cfg.Rules)
		if err != nil {
			return serverdb.Rules{}, fmt.Errorf("server: the visit rules: %w", err)
		}
		if cfg.Policy == nil {
			cfg.Policy = p
		} else if !reflect.DeepEqual(p, cfg.Policy) {
			return serverdb.Rules{}, errors.New("server: Config.Policy is not the policy Config.Rules holds; set Rules alone")
		}
	case cfg.Policy == nil:
		cfg.Policy, cfg.Rules = policy.Default(), policy.DefaultRules()
	default:
		b, err := json.Marshal(cfg.Policy)
		if err != nil {
			return serverdb.Rules{}, fmt.Errorf("server: the visit rules: %w", err)
		}
		cfg.Rules = b
	}
	// The lease's settings are the server's alone (policy.ForTablets): an
	// older tablet would refuse the whole document for their keys.
	doc := policy.Compact(policy.ForTablets(cfg.Rules))
	return serverdb.Rules{Doc: doc, Tag: policy.Tag(doc)}, nil
}

// RulesTag returns the tag of the visit rules the server sends tablets.
func (s *Server) RulesTag() string { return policy.Tag(policy.ForTablets(s.cfg.Rules)) }
