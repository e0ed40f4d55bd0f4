package syncer

import (
	"context"
	"encoding/json"

	"doorstep/schema/policy"
	"doorstep/syncer/devicedb"
)

// serverRules is the server's visit rules as the tablet holds them: the
// parsed policy and the server's tag for its document.
type serverRules struct {
	policy *policy.Policy
	tag    string
}

// Rules returns the visit rules the server last sent with a pull, and
// their tag; nil when the tablet holds none (it never synced, or its
// server is too old to send them), and the app then uses its defaults. A
// new document replaces the value as soon as the page carrying it is
// stored, so the next page the app renders uses it.
func (a *Agent) Rules() (*policy.Policy, string) {
	if r := a.rules.Load(); r != nil {
		return r.policy, r.tag
	}
	return nil, ""
}

// loadRules reads the server's rules held in the store, when the agent
// opens. A stored document always parsed when it came, but a downgraded
// app may not know every value in it: it then keeps its defaults.
func (a *Agent) loadRules(ctx context.Context, tx *devicedb.Tx) error {
	r, ok, err := tx.Rules(ctx)
	if err != nil || !ok {
		return err
	}
	p, err := policy.Parse(r.Doc)
	if err != nil {
		a.log.Warn("the visit rules held from the server do not parse in this version of the app; using the defaults until the next sync",
			"rule_version", r.Version, "err", err)
		return nil
	}
	a.rules.Store(&serverRules{policy: p, tag: r.Tag})
	return nil
}

// checkRules parses the rules document a page brought. A document that
// does not parse (this app is older than the server, and the rules use a
// value it does not know) is refused and logged: the rules held stay, in
// whole, and the next pull asks again.
func (a *Agent) checkRules(doc json.RawMessage, tag string) *serverRules {
	p, err := policy.Parse(doc)
	if err != nil {
		a.log.Warn("pull: the server's visit rules do not parse here; keeping the rules held (update the app?)", "tag", tag, "err", err)
		return nil
	}
	return &serverRules{policy: p, tag: tag}
}
