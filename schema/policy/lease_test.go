package policy

import (
	"bytes"
	"strings"
	"testing"

	"doorstep/schema"
)

// TestLeaseSettings: the two lease keys default to 7 days each, take the
// document's values from 1 to MaxLeaseDays, and refuse anything else,
// naming the key.
func TestLeaseSettings(t *testing.T) {
	t.Parallel()
	p := Default()
	if p.LeaseDays() != 7 || p.GraceDays() != 7 {
		t.Fatalf("defaults: %d and %d days, want 7 and 7", p.LeaseDays(), p.GraceDays())
	}
	with := func(kv string) []byte {
		return []byte(strings.Replace(string(DefaultRules()), `"rules": [`, kv+`, "rules": [`, 1))
	}
	p, err := Parse(with(`"offline_lease_days": 3, "offline_grace_days": 30`))
	if err != nil || p.LeaseDays() != 3 || p.GraceDays() != 30 {
		t.Fatalf("3 and 30 days: %v, got %d and %d", err, p.LeaseDays(), p.GraceDays())
	}
	for kv, field := range map[string]string{
		`"offline_lease_days": 0`:    "offline_lease_days",
		`"offline_lease_days": 366`:  "offline_lease_days",
		`"offline_grace_days": 0`:    "offline_grace_days",
		`"offline_grace_days": -1`:   "offline_grace_days",
		`"offline_grace_days": "7"`:  "offline_grace_days",
		`"offline_lease_days": 1.5`:  "offline_lease_days",
		`"offline_lease_days": null`: "",
	} {
		_, err := Parse(with(kv))
		if field == "" {
			if err != nil {
				t.Errorf("%s: want it taken as unset, got %v", kv, err)
			}
			continue
		}
		if e := schema.AsError(err); e == nil || !strings.Contains(e.Field+e.Message, field) {
			t.Errorf("%s: want an error naming %s, got %v", kv, field, err)
		}
	}
}

// TestForTablets: the keys only the server reads are left out of what
// tablets receive, the rest kept in order and byte for byte; a document
// without them is sent as it is, so its tag does not change.
func TestForTablets(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"version": "v1", "offline_lease_days": 3, "rules": [{"id":"a"}], "offline_grace_days": 4, "targets": {"x": 1}}`)
	got := ForTablets(doc)
	if want := `{"version":"v1","rules":[{"id":"a"}],"targets":{"x": 1}}`; string(got) != want {
		t.Fatalf("ForTablets:\n got %s\nwant %s", got, want)
	}
	plain := DefaultRules()
	if out := ForTablets(plain); !bytes.Equal(out, plain) {
		t.Fatal("a document without the lease keys changed")
	}
	for _, odd := range []string{`[1, 2]`, `not json`, `{"offline_lease_days": }`} {
		if out := ForTablets([]byte(odd)); string(out) != odd {
			t.Errorf("%q: want it returned as it is, got %q", odd, out)
		}
	}
	// What a tablet receives parses with the keys gone, as an app that
	// never knew them would read it.
	full := []byte(strings.Replace(string(DefaultRules()), `"rules": [`, `"offline_lease_days": 2, "offline_grace_days": 3, "rules": [`, 1))
	p, err := Parse(ForTablets(full))
	if err != nil || p.OfflineLeaseDays != nil || p.OfflineGraceDays != nil {
		t.Fatalf("the tablets' document: %v, %+v", err, p)
	}
}
