package main

import (
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAdminAuditVerify drives "doorstep admin audit verify": an intact
// trail prints its head; an event edited behind the store's back fails
// the command naming it; a head recorded earlier finds events deleted
// from the end, which leave no gap.
func TestAdminAuditVerify(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) (string, error) {
		t.Helper()
		return doorstep(t, append(args, "--data", data)...)
	}
	for _, args := range [][]string{
		{"admin", "add-team", "--name", "Quillbury North"},
		{"admin", "add-team", "--name", "Quillbury South"},
		{"admin", "add-team", "--name", "Quillbury East"},
	} {
		if out, err := run(args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	out, err := run("admin", "audit", "verify")
	m := regexp.MustCompile(`audit trail intact: 3 events \(0 from before the chain\); head (3:[0-9a-f]{64})`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("verify of an intact trail: %v\n%s", err, out)
	}
	head := m[1]
	if _, err := run("admin", "audit", "verify", "--head", "3:zz"); err == nil || !strings.Contains(err.Error(), "--head must be ID:HASH") {
		t.Errorf("a bad --head: %v; want it named", err)
	}
	if _, err := run("admin", "audit"); err == nil || !strings.Contains(err.Error(), "doorstep admin audit verify") {
		t.Errorf("admin audit without verify: %v; want told what to say", err)
	}

	raw, err := sql.Open("sqlite", "file:"+filepath.Join(data, serverDBFile)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE id = 3`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if out, err := run("admin", "audit", "verify"); err != nil {
		t.Fatalf("a trail cut at its end verifies without a head (nothing shows it): %v\n%s", err, out)
	}
	if _, err := run("admin", "audit", "verify", "--head", head); err == nil || !strings.Contains(err.Error(), "broken at event #3") || !strings.Contains(err.Error(), "deleted from its end") {
		t.Errorf("verify --head after the last event was deleted: %v; want event #3 named", err)
	}
	for _, q := range []string{`DROP TRIGGER audit_no_update`, `UPDATE audit SET user_id = 'someone' WHERE id = 1`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := run("admin", "audit", "verify"); err == nil || !strings.Contains(err.Error(), "broken at event #1") || !strings.Contains(err.Error(), "changed after it was written") {
		t.Errorf("verify after an edit: %v; want event #1 named as changed", err)
	}
}
