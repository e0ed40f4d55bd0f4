package dashboard

import (
	"os"
	"strings"
	"testing"
)

// TestEveryDashboardRouteIsInTheAPIDocs: docs/api.md lists the dashboard's
// routes with their rules, so every route under /dashboard the server
// answers is written there as "METHOD /dashboard/...".
func TestEveryDashboardRouteIsInTheAPIDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	w := newSweepWorld(t)
	for _, rt := range w.srv.App().GetRoutes(true) {
		if rt.Method == "HEAD" || !strings.HasPrefix(rt.Path, "/dashboard") {
			continue
		}
		if route := rt.Method + " " + rt.Path; !strings.Contains(string(doc), route) {
			t.Errorf("the dashboard serves %s, but docs/api.md does not say it", route)
		}
	}
}
