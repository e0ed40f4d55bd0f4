package serverdb

import (
	"regexp"
	"strings"
	"testing"

	"doorstep/schema/policy"
)

// The review count's statements that are not by case read the scope's
// rows by index (decision 0084, migration 0018): the visits whose device
// signature is invalid by visit_signatures_invalid, not every signature of
// the service (one a signed visit); a supervisor's set-aside mutations by
// their team's users (mutations_rejected_user), not among every team's
// rejected mutations. On SQLite, their plans; on PostgreSQL, whose plans of
// the fixture's near-empty tables say little of a 25,000-case store's
// (those are in docs/performance.md), the signatures' plan with sequential
// scans turned off names the index.
func TestReviewCountStatementsUseTheirIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pg := f.db.Engine() == "postgres"
	scan := regexp.MustCompile(`(?m)^SCAN (visit_signatures|m)$`)
	sa, args := setAsideCount(ActorOf(f.sue, ""), policy.DefaultReviewRules())
	for _, c := range []struct {
		what, q, want string
		args          []any
	}{
		{"invalid signatures", invalidSignatures, "INDEX visit_signatures_invalid", nil},
		{"a supervisor's set-aside count", sa, "INDEX mutations_rejected_user", args},
	} {
		q := &sqlb{args: c.args}
		q.b.WriteString(c.q)
		if pg {
			if c.q != invalidSignatures {
				continue
			}
			c.want = "visit_signatures_invalid"
		}
		plan := explainWithout(t, f.db, q, "SET LOCAL enable_seqscan = off")
		if !strings.Contains(plan, c.want) || scan.MatchString(plan) {
			t.Errorf("%s: the plan does not read by its index (%s):\n%s", c.what, c.want, plan)
		}
	}
}
