package server

import (
	"os"
	"strings"
	"testing"
)

// TestEveryRouteIsInTheAPIDocs: docs/api.md is the contract clients read,
// so every route the API serves is written there as "METHOD /path" (with
// its :params as the router spells them). The REST view's four generic
// routes are documented once as the collection /v1/<path> (its section
// "Records (REST)") rather than route by route.
func TestEveryRouteIsInTheAPIDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	generic := map[string]string{
		"GET /v1/:path": "GET /v1/<path>", "GET /v1/:path/:id": "GET /v1/<path>/:id",
		"POST /v1/:path": "POST /v1/<path>", "PATCH /v1/:path/:id": "PATCH /v1/<path>/:id",
	}
	e := newEnv(t)
	for _, rt := range e.srv.app.GetRoutes(true) {
		if rt.Method == "HEAD" {
			continue
		}
		route := rt.Method + " " + rt.Path
		want := route
		if g, ok := generic[route]; ok {
			want = g
		}
		if !strings.Contains(string(doc), want) {
			t.Errorf("the API serves %s, but docs/api.md does not say %q", route, want)
		}
	}
}
