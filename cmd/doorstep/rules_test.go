package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema/policy"
)

// A bad rules file stops "doorstep server" and "doorstep device" at start,
// naming the rule at fault, whether given as --rules or DOORSTEP_RULES; a
// good one is used, and the log says which version.
func TestRulesFlag(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(bad, []byte(`{"version": "local-0", "rules": [{"id": "first_visit_high", "name": "First visit",
		"trigger": "supervision_start", "due_within_days": -3}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rules := strings.Replace(string(policy.DefaultRules()), `"version": "`, `"version": "local-1+`, 1)
	if err := os.WriteFile(good, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	wantBad := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "rules[0].due_within_days") || !strings.Contains(err.Error(), `"first_visit_high"`) ||
			!strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err = %v, want one naming the file, the field and the rule", what, err)
		}
	}
	_, err := doorstep(t, "server", "--rules", bad, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0")
	wantBad("server --rules", err)
	_, err = doorstep(t, "device", "--rules", bad, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0")
	wantBad("device --rules", err)
	t.Setenv("DOORSTEP_RULES", bad)
	_, err = doorstep(t, "server", "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0")
	wantBad("server DOORSTEP_RULES", err)
	os.Unsetenv("DOORSTEP_RULES")
	if _, err := doorstep(t, "server", "--rules", filepath.Join(dir, "missing.json"), "--data", filepath.Join(t.TempDir(), "data")); err == nil ||
		!strings.Contains(err.Error(), "--rules") || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing rules file: err = %v", err)
	}
	// A good file: both start, and say which rules they use.
	for _, tc := range []struct {
		args    []string
		started string
	}{
		{[]string{"server", "--rules", good, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0"}, "server listening"},
		{[]string{"device", "--rules", good, "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0", "--interval", "1h"}, "tablet agent running"},
		{[]string{"server", "--data", filepath.Join(t.TempDir(), "data"), "--addr", "127.0.0.1:0"}, "server listening"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		out := &testkit.Buffer{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, tc.args, out, out) }()
		testkit.WaitFor(t, 30*time.Second, fmt.Sprintf("%v to log %q", tc.args, tc.started), func() bool {
			select {
			case err := <-done:
				t.Fatalf("%v stopped early: %v\n%s", tc.args, err, out)
			default:
			}
			return strings.Contains(out.String(), tc.started)
		})
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		want := "rule_version=local-1+" + policy.Default().Version
		if !strings.Contains(tc.args[2], "good") {
			want = "source=\"built-in defaults\" rule_version=" + policy.Default().Version
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("%v: the log does not say %q:\n%s", tc.args, want, out)
		}
	}
}
