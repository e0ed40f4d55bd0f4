package server

import (
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// forbiddenSays is what a 403 for a role names, per route: the thing the
// route is for. A route that answers 403 to a role must be listed.
var forbiddenSays = map[string][]string{
	"GET /v1/audit":                                 {"read the audit trail"},
	"GET /v1/review":                                {"see the review queue"},
	"POST /v1/review/conflicts/:id":                 {"resolve a conflict"},
	"POST /v1/review/set-aside/:mutation_id":        {"decide a set-aside change"},
	"POST /v1/review/approve":                       {"approve visits or safety assessments"},
	"POST /v1/oversight":                            {"record an oversight"},
	"POST /v1/periods":                              {"publish a period"},
	"GET /v1/periods":                               {"see published periods"},
	"GET /v1/periods/:id":                           {"see published periods"},
	"GET /v1/compliance/freshness":                  {"see the compliance measures"},
	"GET /v1/compliance/risk-assessment-qa":         {"see the compliance measures"},
	"GET /v1/compliance/first-home-visits":          {"see the compliance measures"},
	"GET /v1/compliance/overdue":                    {"see the compliance measures"},
	"GET /v1/compliance/contacts":                   {"see the compliance measures"},
	"GET /v1/compliance/enquiries":                  {"see the compliance measures"},
	"GET /v1/compliance/households":                 {"see the compliance measures"},
	"GET /v1/compliance/interventions":              {"see the compliance measures"},
	"GET /v1/compliance/reviews":                    {"see the compliance measures"},
	"GET /v1/compliance/workload":                   {"see the compliance measures"},
	"GET /v1/compliance/first-home-visits/cases":    {"see the compliance measures"},
	"GET /v1/compliance/overdue/cases":              {"see the compliance measures"},
	"GET /v1/compliance/workload/cases":             {"see the compliance measures"},
	"GET /v1/compliance/contacts/cases":             {"see the compliance measures"},
	"GET /v1/compliance/households/cases":           {"see the compliance measures"},
	"GET /v1/compliance/reviews/cases":              {"see the compliance measures"},
	"GET /v1/compliance/interventions/cases":        {"see the compliance measures"},
	"GET /v1/compliance/enquiries/cases":            {"see the compliance measures"},
	"GET /v1/compliance/exemptions/cases":           {"see the compliance measures"},
	"GET /v1/compliance/risk-assessment-qa/cases":   {"see the compliance measures"},
	"GET /v1/compliance/exemptions":                 {"see the compliance measures"},
	"POST /v1/admin/teams":                          {"the admin routes"},
	"POST /v1/admin/users":                          {"the admin routes"},
	"POST /v1/admin/users/:username/reset-password": {"the admin routes"},
	"POST /v1/admin/cases/:id/reassign":             {"the admin routes"},
	"GET /v1/admin/devices":                         {"the admin routes"},
	"POST /v1/admin/devices/:id/revoke":             {"the admin routes"},
	// The REST view's writes: an auditor reads only; an officer or a
	// supervisor is refused the record they tried to write.
	"POST /v1/:path":      {"read-only", "create case records", "create cases"},
	"PATCH /v1/:path/:id": {"read-only", "change"},
}

// Every route of the API, walked as each role that is not an admin: a 403
// names what the route is for, never another route's purpose (an
// officer's GET /v1/review once said "the compliance measures").
func TestForbiddenNamesWhatWasRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := schema.NewID()
	seen := map[string]bool{}
	for _, user := range []string{"asha", "audrey", "sue"} {
		h := bearer(e.login(user, "dev-"+user).AccessToken)
		for _, rt := range e.srv.app.GetRoutes(true) {
			if !strings.HasPrefix(rt.Path, "/v1/") || strings.HasPrefix(rt.Path, "/v1/auth/") || rt.Method == "HEAD" {
				continue
			}
			path := rt.Path
			for _, p := range rt.Params {
				v := id
				switch p {
				case "path":
					v = "cases"
				case "username":
					v = "ben"
				}
				if p == "id" && strings.HasPrefix(rt.Path, "/v1/:path") {
					v = e.ashaCase // a record every role walked may read
				}
				path = strings.Replace(path, ":"+p, v, 1)
			}
			var body any
			if rt.Method != "GET" {
				body = map[string]any{"fields": map[string]string{"address": "2 Low Rd"}}
			}
			r := e.do(rt.Method, path, body, h)
			if r.status != 403 {
				continue
			}
			key := rt.Method + " " + rt.Path
			seen[key] = true
			msg := r.errorResponse().Error.Message
			want, ok := forbiddenSays[key]
			switch {
			case !ok:
				t.Errorf("%s as %s: 403 %q, and the route is not in forbiddenSays: add what its 403 must name", key, user, msg)
			case !slices.ContainsFunc(want, func(w string) bool { return strings.Contains(msg, w) }):
				t.Errorf("%s as %s: 403 %q, want it to name %q", key, user, msg, want)
			}
		}
	}
	for key := range forbiddenSays {
		if !seen[key] {
			t.Errorf("%s answered no role 403: is it still a route, refused to someone?", key)
		}
	}
}
