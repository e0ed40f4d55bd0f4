package doorstep_test

import (
	"strings"
	"testing"
)

// TestEveryPackageSaysWhatItIs fails when a package of the module has no
// package comment, or one that does not start the Go way ("Package name is
// ...", "Command name is ..."): docs/architecture.md's package table and the
// comments are how a newcomer finds their way, so neither may be missing.
// A folder of tests only (this one) has nothing to describe.
func TestEveryPackageSaysWhatItIs(t *testing.T) {
	for _, p := range listPackages(t) {
		if !ours(p.ImportPath) || len(p.GoFiles) == 0 {
			continue
		}
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package comment: add one (in doc.go or the main file) saying what the package is for", p.ImportPath)
			continue
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(p.Doc, want) {
			t.Errorf("%s: package comment %q should start %q", p.ImportPath, p.Doc, want)
		}
	}
}
