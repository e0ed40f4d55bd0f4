package officerapp

import (
	"os"
	"strings"
	"testing"
)

// TestEveryPageIsInTheDocs: docs/officer-app.md's "Routes" table lists
// every page and form the app serves, as "METHOD /path" with the
// router's parameter names, so a new page without its line fails here.
func TestEveryPageIsInTheDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/officer-app.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range startApp(t).api.Routes() {
		if strings.HasPrefix(r, "HEAD ") || strings.HasPrefix(r, "GET /v1") || strings.HasPrefix(r, "POST /v1") ||
			strings.HasPrefix(r, "PATCH /v1") || strings.HasPrefix(r, "DELETE /v1") || strings.HasPrefix(r, "PUT /v1") || r == "GET /healthz" {
			continue
		}
		n++
		if !strings.Contains(string(doc), "`"+r+"`") {
			t.Errorf("the officer's app serves %s, but docs/officer-app.md's Routes table does not list it", r)
		}
	}
	if n < 40 {
		t.Fatalf("only %d app routes from the router: the list looks wrong", n)
	}
}
