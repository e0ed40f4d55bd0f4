package localapi

import (
	"os"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
)

// TestEveryLocalRouteIsInTheAPIDocs: the tablet's local JSON API is part
// of the contract in docs/api.md, so every route it serves (from the
// router; the officer's app is not mounted here) is written there as
// "METHOD /path". The generic record routes are documented once with
// :entity as the router spells them.
func TestEveryLocalRouteIsInTheAPIDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, a := startGatedAPI(t, testkit.NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)))
	for _, route := range New(a, Config{}).Routes() {
		if strings.HasPrefix(route, "HEAD ") {
			continue
		}
		if !strings.Contains(string(doc), route) {
			t.Errorf("the tablet's local API serves %s, but docs/api.md does not say it", route)
		}
	}
}
