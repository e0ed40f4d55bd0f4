package doorstep_test

// This test holds the direction of dependencies (docs: DESIGN.md, "The
// pieces"; CONVENTIONS.md, "The shape of the house"). It lists every package
// of the module with `go list` and fails, with the rule's reason, when a
// package imports what it must not. Rules about packages that do not exist
// yet simply match nothing.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "doorstep"

type listedPackage struct {
	ImportPath string
	Name       string   // the package clause's name
	Doc        string   // the package comment's first sentence
	GoFiles    []string // non-test Go files
	Imports    []string // direct imports
	Deps       []string // all imports, recursively
	Error      *struct{ Err string }
}

// listPackages runs `go list -e -json ./...`: -e so that a package another
// engineer is halfway through writing is still listed with the imports it
// has.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but the go tool is not on PATH: the import rules must be checked in CI")
		}
		t.Skip("go tool not on PATH; cannot list packages")
	}
	cmd := exec.Command(goTool, "list", "-e", "-json=ImportPath,Name,Doc,GoFiles,Imports,Deps,Error", "./...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list listed no packages")
	}
	return pkgs
}

// under reports whether pkg is dir or below it (dir "doorstep/server"
// matches "doorstep/server/serverdb", not "doorstep/serverless").
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}

func ours(pkg string) bool { return under(pkg, module) }

// isTestSupport reports whether pkg is one of our test-support packages,
// named as the standard library names httptest: its last element ends in
// "test" (internal/testkit has a rule of its own).
func isTestSupport(pkg string) bool {
	return ours(pkg) && strings.HasSuffix(pkg[strings.LastIndex(pkg, "/")+1:], "test")
}

// A rule forbids some imports to some packages.
type rule struct {
	name string
	// applies selects the importing packages.
	applies func(pkg string) bool
	// transitive: check every dependency, not just direct imports.
	transitive bool
	// forbidden reports whether importing dep breaks the rule.
	forbidden func(pkg, dep string) bool
	why       string
}

var rules = []rule{
	{
		name:       "schema imports nothing of ours",
		applies:    func(p string) bool { return under(p, module+"/schema") },
		transitive: true,
		forbidden:  func(_, dep string) bool { return ours(dep) && !under(dep, module+"/schema") },
		why:        "schema is the contract both sides share; it must not depend on either side or on cmd",
	},
	{
		name:       "server never imports syncer",
		applies:    func(p string) bool { return under(p, module+"/server") },
		transitive: true,
		forbidden:  func(_, dep string) bool { return under(dep, module+"/syncer") },
		why:        "the server and the tablet agree only through schema and the wire protocol; only cmd/doorstep imports both",
	},
	{
		name:       "syncer never imports server",
		applies:    func(p string) bool { return under(p, module+"/syncer") },
		transitive: true,
		forbidden:  func(_, dep string) bool { return under(dep, module+"/server") },
		why:        "the tablet and the server agree only through schema and the wire protocol; only cmd/doorstep imports both",
	},
	{
		name:       "internal imports neither server nor syncer",
		applies:    func(p string) bool { return under(p, module+"/internal") },
		transitive: true,
		forbidden:  func(_, dep string) bool { return under(dep, module+"/server") || under(dep, module+"/syncer") },
		why:        "internal holds the plumbing both sides share (doorstep/internal/sqlitedb: SQLite opening, migrations; doorstep/internal/webui: the browser apps' scaffolding); importing either side would tie the other to it",
	},
	{
		name: "fiber only in the HTTP packages",
		applies: func(p string) bool {
			return p != module+"/server" && p != module+"/server/dashboard" && p != module+"/syncer/localapi" && p != module+"/syncer/officerapp" &&
				p != module+"/internal/webui" && p != module+"/cmd/doorstep"
		},
		forbidden: func(_, dep string) bool { return under(dep, "github.com/gofiber") },
		why:       "fiber belongs to the HTTP layers (doorstep/server, its HTML dashboard doorstep/server/dashboard, doorstep/syncer/localapi, doorstep/syncer/officerapp), the browser-app scaffolding the two web apps share (doorstep/internal/webui) and the binary that wires them; the domain and the stores stay testable without it",
	},
	{
		name: "html/template only in the two apps and internal/webui",
		applies: func(p string) bool {
			return p != module+"/server/dashboard" && p != module+"/syncer/officerapp" && p != module+"/internal/webui"
		},
		forbidden: func(_, dep string) bool { return dep == "html/template" },
		why:       "HTML pages belong to the two browser apps (doorstep/server/dashboard, doorstep/syncer/officerapp) and the scaffolding they share (doorstep/internal/webui); the JSON APIs, the stores and the domain answer in JSON and stay free of presentation",
	},
	{
		name: "SQL drivers only in the stores",
		applies: func(p string) bool {
			return p != module+"/server/serverdb" && p != module+"/syncer/devicedb" && p != module+"/server/serverdb/serverdbtest"
		},
		forbidden: func(_, dep string) bool {
			return under(dep, "modernc.org/sqlite") || under(dep, "github.com/jackc/pgx")
		},
		why: "only the stores (doorstep/server/serverdb, doorstep/syncer/devicedb) talk to a database; everything else goes through them (doorstep/internal/sqlitedb uses database/sql and is handed the driver's name; its tests, not checked here, load the driver; doorstep/server/serverdb/serverdbtest, tests only, makes the PostgreSQL schemas tests open)",
	},
	{
		// go list's Imports leaves out the imports of _test.go files, so
		// this rule over every package's Imports lets tests alone use it.
		name:      "nothing but tests imports internal/testkit",
		applies:   func(p string) bool { return !under(p, module+"/internal/testkit") },
		forbidden: func(_, dep string) bool { return under(dep, module+"/internal/testkit") },
		why:       "testkit is test scaffolding (a clock that stands still, polling with deadlines, headless Chromium); a binary that links it ships test machinery and a chromedp dependency",
	},
	{
		// The same rule for each side's own test support (named ...test,
		// as net/http/httptest is): only tests may import it.
		name:      "nothing but tests imports a test-support package",
		applies:   func(p string) bool { return !isTestSupport(p) },
		forbidden: func(_, dep string) bool { return ours(dep) && isTestSupport(dep) },
		why:       "a package named ...test (syncer/localapi/localapitest and the like) is scaffolding for tests; code that ships must not depend on it",
	},
}

func TestDependencyDirection(t *testing.T) {
	pkgs := listPackages(t)
	seenSchema, checked := false, 0
	for _, p := range pkgs {
		if !ours(p.ImportPath) {
			continue
		}
		checked++
		if p.ImportPath == module+"/schema" {
			seenSchema = true
		}
		if p.Error != nil {
			// A package being written may not build yet; its imports are
			// still listed and still checked.
			t.Logf("%s: go list: %s", p.ImportPath, p.Error.Err)
		}
		for _, r := range rules {
			if !r.applies(p.ImportPath) {
				continue
			}
			deps := p.Imports
			if r.transitive {
				deps = p.Deps
			}
			for _, dep := range deps {
				if r.forbidden(p.ImportPath, dep) {
					t.Errorf("%s imports %s: breaks %q: %s", p.ImportPath, dep, r.name, r.why)
				}
			}
		}
	}
	t.Logf("checked %d packages of %s", checked, module)
	if !seenSchema {
		t.Errorf("go list did not list %s/schema; expected the module's packages (run from the module root)", module)
	}
}

// TestRulesCatchViolations checks the rules themselves on made-up imports, so
// a rule that silently matches nothing is caught.
func TestRulesCatchViolations(t *testing.T) {
	tests := []struct {
		pkg, dep string
		want     string // rule expected to fire; "" for none
	}{
		{"doorstep/schema", "doorstep/server", "schema imports nothing of ours"},
		{"doorstep/schema/synth", "doorstep/syncer/devicedb", "schema imports nothing of ours"},
		{"doorstep/schema/synth", "doorstep/schema", ""},
		{"doorstep/schema", "github.com/google/uuid", ""},
		{"doorstep/server/serverdb", "doorstep/syncer", "server never imports syncer"},
		{"doorstep/syncer/localapi", "doorstep/server", "syncer never imports server"},
		{"doorstep/serverless", "doorstep/syncer", ""},
		{"doorstep/cmd/doorstep", "doorstep/syncer", ""},
		{"doorstep/server/serverdb", "github.com/gofiber/fiber/v2", "fiber only in the HTTP packages"},
		{"doorstep/schema", "github.com/gofiber/fiber/v2", "fiber only in the HTTP packages"},
		{"doorstep/server", "github.com/gofiber/fiber/v2", ""},
		{"doorstep/server/dashboard", "github.com/gofiber/fiber/v2", ""},
		{"doorstep/server/compliance", "github.com/gofiber/fiber/v2", "fiber only in the HTTP packages"},
		{"doorstep/syncer/localapi", "github.com/gofiber/fiber/v2", ""},
		{"doorstep/syncer/officerapp", "github.com/gofiber/fiber/v2", ""},
		{"doorstep/syncer/localapi/localapitest", "github.com/gofiber/fiber/v2", "fiber only in the HTTP packages"},
		{"doorstep/syncer", "modernc.org/sqlite", "SQL drivers only in the stores"},
		{"doorstep/server", "github.com/jackc/pgx/v5/stdlib", "SQL drivers only in the stores"},
		{"doorstep/server/serverdb", "github.com/jackc/pgx/v5", ""},
		{"doorstep/syncer/devicedb", "modernc.org/sqlite", ""},
		{"doorstep/internal/sqlitedb", "doorstep/server/serverdb", "internal imports neither server nor syncer"},
		{"doorstep/internal/sqlitedb", "doorstep/syncer", "internal imports neither server nor syncer"},
		{"doorstep/internal/sqlitedb", "doorstep/schema", ""},
		{"doorstep/internal/sqlitedb", "modernc.org/sqlite", "SQL drivers only in the stores"},
		{"doorstep/internal/webui", "github.com/gofiber/fiber/v2", ""},
		{"doorstep/internal/webui", "doorstep/server/dashboard", "internal imports neither server nor syncer"},
		{"doorstep/internal/webui", "html/template", ""},
		{"doorstep/server/dashboard", "html/template", ""},
		{"doorstep/syncer/officerapp", "html/template", ""},
		{"doorstep/server", "html/template", "html/template only in the two apps and internal/webui"},
		{"doorstep/syncer/localapi", "html/template", "html/template only in the two apps and internal/webui"},
		{"doorstep/syncer", "doorstep/internal/testkit", "nothing but tests imports internal/testkit"},
		{"doorstep/syncer/officerapp", "doorstep/syncer/localapi/localapitest", "nothing but tests imports a test-support package"},
		{"doorstep/syncer/localapi/localapitest", "doorstep/syncer/localapi", ""},
		{"doorstep/server", "net/http/httptest", ""},
		{"doorstep/cmd/doorstep", "doorstep/internal/testkit", "nothing but tests imports internal/testkit"},
		{"doorstep/internal/testkit", "github.com/chromedp/chromedp", ""},
	}
	for _, tt := range tests {
		var fired []string
		for _, r := range rules {
			if r.applies(tt.pkg) && r.forbidden(tt.pkg, tt.dep) {
				fired = append(fired, r.name)
			}
		}
		got := strings.Join(fired, "; ")
		if got != tt.want {
			t.Errorf("%s importing %s: expected rule %q to fire, got %q", tt.pkg, tt.dep, tt.want, got)
		}
	}
}
