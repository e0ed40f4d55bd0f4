package policy_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// TestTargetsDefault: a document without "targets" gets the documented
// defaults and marshals without the key (decision 0014).
func TestTargetsDefault(t *testing.T) {
	t.Parallel()
	p := policy.Default()
	if p.Targets != nil || strings.Contains(string(policy.DefaultRules()), `"targets"`) {
		t.Fatalf("the embedded defaults set targets: %+v", p.Targets)
	}
	if b, _ := json.Marshal(p); strings.Contains(string(b), `"targets"`) {
		t.Errorf("the marshalled defaults carry targets: %s", b)
	}
	got := p.TargetRules()
	if got.MinDenominator != 5 || len(got.Measures) != 7 || got.Measures["first-home-visits"] != (policy.Target{Target: 90, Red: 75, Amber: 90}) ||
		got.Measures["exemptions"] != (policy.Target{Target: 5, Red: 20, Amber: 10, LowerIsBetter: true}) ||
		got.Measures["overdue"] != (policy.Target{Target: 5, Red: 15, Amber: 5, LowerIsBetter: true}) ||
		got.Measures["freshness"] != (policy.Target{Target: 95, Red: 80, Amber: 95}) {
		t.Errorf("default targets %+v", got)
	}
}

func pct(f float64) *float64 { return &f }

// TestTargetsStatus: the thresholds' boundaries both ways, and the tiny
// denominator.
func TestTargetsStatus(t *testing.T) {
	t.Parallel()
	tg := policy.DefaultTargets()
	for _, c := range []struct {
		slug string
		den  int
		p    *float64
		want string
	}{
		{"first-home-visits", 20, pct(74.9), "red"},
		{"first-home-visits", 20, pct(75), "amber"},
		{"first-home-visits", 20, pct(89.9), "amber"},
		{"first-home-visits", 20, pct(90), "green"},
		{"first-home-visits", 20, pct(100), "green"},
		{"first-home-visits", 5, pct(0), "red"},
		{"first-home-visits", 4, pct(0), "too_few"},
		{"first-home-visits", 2, pct(100), "too_few"},
		{"first-home-visits", 0, nil, "none"},
		{"contacts", 50, pct(10), "none"}, // no target
		{"exemptions", 50, pct(20.1), "red"},
		{"exemptions", 50, pct(20), "amber"},
		{"exemptions", 50, pct(10.1), "amber"},
		{"exemptions", 50, pct(10), "green"},
		{"exemptions", 50, pct(0), "green"},
	} {
		if got := tg.Status(c.slug, c.den, c.p); got != c.want {
			t.Errorf("%s %v of %d: %s, want %s", c.slug, *ptrOr(c.p), c.den, got, c.want)
		}
	}
	one := policy.Targets{MinDenominator: 1, Measures: map[string]policy.Target{"contacts": {Target: 50, Red: 40, Amber: 50}}}
	if got := one.Status("contacts", 1, pct(40)); got != "amber" {
		t.Errorf("min_denominator 1: %s, want amber", got)
	}
}

func ptrOr(p *float64) *float64 {
	if p == nil {
		return pct(-1)
	}
	return p
}

// TestTargetsParse: a document's own targets round trip; bad ones are
// refused naming the key.
func TestTargetsParse(t *testing.T) {
	t.Parallel()
	src := `{"version":"v1","rules":[` + goodRule + `],"targets":{"min_denominator":3,"measures":{"contacts":{"target":60,"red":40,"amber":55}}}}`
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := p.TargetRules()
	if got.MinDenominator != 3 || len(got.Measures) != 1 || got.Measures["contacts"] != (policy.Target{Target: 60, Red: 40, Amber: 55}) {
		t.Errorf("parsed targets %+v", got)
	}
	p2, err := policy.Parse([]byte(`{"version":"v1","rules":[` + goodRule + `],"targets":{"measures":{}}}`))
	if err != nil || p2.TargetRules().MinDenominator != 5 || len(p2.TargetRules().Measures) != 0 {
		t.Errorf("empty measures: %+v %v", p2, err)
	}
	for _, c := range []struct{ targets, field, msg string }{
		{`{"measures":{"search":{"target":1,"red":0,"amber":1}}}`, "targets.measures.search", `"search" is not a measure with a target`},
		{`{"measures":{"contacts":{"target":101,"red":0,"amber":1}}}`, "targets.measures.contacts.target", "from 0 to 100"},
		{`{"measures":{"contacts":{"target":90,"red":90,"amber":80}}}`, "targets.measures.contacts.red", "red (90) is above amber (80)"},
		{`{"measures":{"exemptions":{"target":5,"red":5,"amber":10,"lower_is_better":true}}}`, "targets.measures.exemptions.red", "red (5) is below amber (10)"},
		{`{"min_denominator":-1,"measures":{}}`, "targets.min_denominator", "from 1 to 1000"},
		{`{"measures":{},"colour":"red"}`, "targets", "colour"},
	} {
		_, err := policy.Parse([]byte(`{"version":"v1","rules":[` + goodRule + `],"targets":` + c.targets + `}`))
		var se *schema.Error
		if !errors.As(err, &se) || !strings.HasPrefix(se.Field, c.field) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want field %s and %q", c.targets, err, c.field, c.msg)
		}
	}
}
