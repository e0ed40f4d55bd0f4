package serverdb

import (
	"context"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// TestPullSendsTheRules: the visit rules go with the last page of a pull
// when the device asks with another tag, exactly as configured, and not
// when its tag is the server's, nor to a device that does not ask.
func TestPullSendsTheRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	doc := policy.Compact(policy.DefaultRules())
	f.db.rules = Rules{Doc: doc, Tag: policy.Tag(doc)} // as Options.Rules sets it
	a := f.actor(f.asha, f.ashaDev)
	for i := 0; i < 2; i++ {
		f.push(t, a, mutation("visit", schema.NewID(), f.ashaCase, stamp(int64(1000+i), f.ashaDev), visitFields("planned")))
	}

	// An older device does not ask, and gets none.
	resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rules != nil || resp.RulesTag != "" {
		t.Fatalf("a pull that did not ask got rules %s, tag %q", resp.Rules, resp.RulesTag)
	}

	// A device holding none ("") or others gets them on the last page only.
	for _, held := range []string{"", "r:000000000000000000000000"} {
		cursor, pages, sent := "", 0, 0
		for {
			resp, err := f.db.PullResponse(ctx, a, schema.PullRequest{Cursor: cursor, Limit: 1, RulesTag: tagOf(held)})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if resp.RulesTag != "" {
				sent++
				if resp.HasMore {
					t.Errorf("held %q: page %d carried the rules but more pages wait", held, pages)
				}
				if resp.RulesTag != f.db.rules.Tag || string(resp.Rules) != string(doc) {
					t.Errorf("held %q: expected the configured document under %q, got %q:\n%s", held, f.db.rules.Tag, resp.RulesTag, resp.Rules)
				}
				if p, err := policy.Parse(resp.Rules); err != nil || p.Version != policy.Default().Version {
					t.Errorf("held %q: the rules sent do not parse to the defaults: %v", held, err)
				}
			}
			if !resp.HasMore {
				break
			}
			cursor = resp.Cursor
		}
		if pages < 2 || sent != 1 {
			t.Errorf("held %q: expected the rules once over several pages, got them %d times over %d pages", held, sent, pages)
		}
	}

	// The server's own tag: nothing more, and a no-op pull stays small.
	resp, err = f.db.PullResponse(ctx, a, schema.PullRequest{RulesTag: tagOf(f.db.rules.Tag)})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rules != nil || resp.RulesTag != "" {
		t.Errorf("a device holding the server's rules got them again under %q", resp.RulesTag)
	}

	// A store opened with no rules (zero Options.Rules) sends none.
	f.db.rules = Rules{}
	resp, err = f.db.PullResponse(ctx, a, schema.PullRequest{RulesTag: tagOf("")})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Rules != nil || resp.RulesTag != "" {
		t.Errorf("a store with no rules sent %q", resp.RulesTag)
	}
}
