package policy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
)

func TestDefaultParses(t *testing.T) {
	t.Parallel()
	p, err := policy.Parse(policy.DefaultRules())
	if err != nil {
		t.Fatalf("the embedded default-rules.json: expected it to parse, got %v", err)
	}
	if p.Version != "2026-11-23.1" {
		t.Errorf("default version: expected 2026-11-23.1, got %q", p.Version)
	}
	want := []string{"first_visit_high", "first_visit_medium", "first_visit_low",
		"da_new_address", "da_new_partner", "da_new_child", "da_police_callout", "da_risk_escalation"}
	var got []string
	for _, r := range p.Rules {
		got = append(got, r.ID)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default rule ids: expected %v, got %v", want, got)
	}
	if d := policy.Default(); !reflect.DeepEqual(d, p) {
		t.Errorf("Default(): expected the parsed embedded document, got %+v", d)
	}
	// Default returns a fresh value: changing one does not change the next.
	d := policy.Default()
	d.Rules[0].DueWithinDays = 99
	if policy.Default().Rules[0].DueWithinDays != 15 {
		t.Errorf("Default(): a caller's change leaked into the next call")
	}
}

// TestDefaultRuleValues pins each default rule, so that a change to the
// defaults is a deliberate change to this table and to docs/visit-policy.md.
func TestDefaultRuleValues(t *testing.T) {
	t.Parallel()
	da := []string{"da_perpetrator", "da_victim"}
	tests := []struct {
		id       string
		rosh     []string
		flags    []string
		trigger  policy.Trigger
		due, rec int
	}{
		{"first_visit_high", []string{"high", "very_high"}, nil, policy.TriggerSupervisionStart, 15, 42},
		{"first_visit_medium", []string{"medium"}, nil, policy.TriggerSupervisionStart, 42, 84},
		{"first_visit_low", []string{"low"}, nil, policy.TriggerSupervisionStart, 84, 182},
		{"da_new_address", nil, da, policy.TriggerNewAddress, 10, 0},
		{"da_new_partner", nil, da, policy.TriggerNewPartner, 10, 0},
		{"da_new_child", nil, da, policy.TriggerNewChild, 10, 0},
		{"da_police_callout", nil, da, policy.TriggerPoliceCallout, 10, 0},
		{"da_risk_escalation", nil, da, policy.TriggerRiskEscalation, 10, 0},
	}
	p := policy.Default()
	for _, tt := range tests {
		r, ok := p.Rule(tt.id)
		if !ok {
			t.Errorf("rule %s: expected it in the defaults, not found", tt.id)
			continue
		}
		if !reflect.DeepEqual(r.AppliesTo.RoSH, tt.rosh) || !reflect.DeepEqual(r.AppliesTo.Flags, tt.flags) ||
			r.Trigger != tt.trigger || r.DueWithinDays != tt.due || r.RecurrenceDays != tt.rec || r.DoorstepCounts {
			t.Errorf("rule %s: expected rosh %v flags %v trigger %s due %d recurrence %d doorstep false, got %+v",
				tt.id, tt.rosh, tt.flags, tt.trigger, tt.due, tt.rec, r)
		}
		if got := r.Counts(); !reflect.DeepEqual(got, []string{"home_announced", "home_unannounced", "initial_home"}) {
			t.Errorf("rule %s: expected the three home visit types to count, got %v", tt.id, got)
		}
	}
}

func TestCountsDefaults(t *testing.T) {
	t.Parallel()
	r := policy.Rule{DoorstepCounts: true}
	if got, want := r.Counts(), []string{"home_announced", "home_unannounced", "initial_home", "doorstep"}; !reflect.DeepEqual(got, want) {
		t.Errorf("doorstep_counts without counts_types: expected %v, got %v", want, got)
	}
	r = policy.Rule{CountsTypes: []string{"initial_home"}}
	if got := r.Counts(); !reflect.DeepEqual(got, []string{"initial_home"}) {
		t.Errorf("explicit counts_types: expected [initial_home], got %v", got)
	}
}

// doc builds a one-rule document with the rule's JSON text edited by fn.
func doc(rule string) string {
	return `{"version":"v1","rules":[` + rule + `]}`
}

const goodRule = `{"id":"first_visit_high","name":"First visit","trigger":"supervision_start","due_within_days":15}`

func withField(field, value string) string {
	return strings.Replace(goodRule, `"due_within_days":15`, `"due_within_days":15,`+`"`+field+`":`+value, 1)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		doc   string
		code  string
		field string
		msg   string // a part of the message
	}{
		{"negative due", doc(strings.Replace(goodRule, "15", "-3", 1)), schema.ECodeInvalid, "rules[0].due_within_days",
			`rule "first_visit_high": due_within_days must be 0 or more, not -3`},
		{"huge due", doc(strings.Replace(goodRule, "15", "99999", 1)), schema.ECodeInvalid, "rules[0].due_within_days",
			`rule "first_visit_high": due_within_days must be at most 3660`},
		{"fractional due", doc(strings.Replace(goodRule, "15", "1.5", 1)), schema.ECodeWrongType, "rules[0].due_within_days",
			`rule "first_visit_high": due_within_days must be a whole number`},
		{"due as text", doc(strings.Replace(goodRule, "15", `"15"`, 1)), schema.ECodeWrongType, "rules[0].due_within_days",
			`rule "first_visit_high": due_within_days must be a whole number, not string`},
		{"negative recurrence", doc(withField("recurrence_days", "-1")), schema.ECodeInvalid, "rules[0].recurrence_days",
			`rule "first_visit_high": recurrence_days must be 0 (no recurrence) or more, not -1`},
		{"unknown trigger", doc(strings.Replace(goodRule, "supervision_start", "birthday", 1)), schema.ECodeInvalid, "rules[0].trigger",
			`rule "first_visit_high": trigger must be one of supervision_start, new_address, new_partner, new_child, police_callout, risk_escalation, release, not "birthday"`},
		{"missing trigger", doc(`{"id":"a_rule","name":"A","due_within_days":1}`), schema.ECodeRequired, "rules[0].trigger",
			`rule "a_rule": trigger is required`},
		{"missing id", doc(`{"name":"A","trigger":"release"}`), schema.ECodeRequired, "rules[0].id", `rule 0: id is required`},
		{"id not snake case", doc(strings.Replace(goodRule, "first_visit_high", "First-Visit", 1)), schema.ECodeInvalid, "rules[0].id",
			`rule "First-Visit": id must be snake_case`},
		{"missing name", doc(`{"id":"a_rule","trigger":"release"}`), schema.ECodeRequired, "rules[0].name", `rule "a_rule": name is required`},
		{"unknown rule key", doc(withField("due_in", "3")), schema.ECodeUnknownField, "rules[0].due_in",
			`rule "first_visit_high": unknown key "due_in"`},
		{"unknown applies_to key", doc(withField("applies_to", `{"risk":["high"]}`)), schema.ECodeUnknownField, "rules[0].applies_to.risk",
			`rule "first_visit_high": unknown key "applies_to.risk"`},
		{"applies_to rosh not a list", doc(withField("applies_to", `{"rosh":"high"}`)), schema.ECodeWrongType, "rules[0].applies_to.rosh",
			`rule "first_visit_high": applies_to.rosh must be a list, not string`},
		{"applies_to not an object", doc(withField("applies_to", `["high"]`)), schema.ECodeWrongType, "rules[0].applies_to",
			`rule "first_visit_high": applies_to must be an object, not array`},
		{"unknown top key", `{"version":"v1","rulez":[]}`, schema.ECodeUnknownField, "rulez", `unknown key "rulez"`},
		{"unknown rosh", doc(withField("applies_to", `{"rosh":["high","extreme"]}`)), schema.ECodeInvalid, "rules[0].applies_to.rosh[1]",
			`rule "first_visit_high": applies_to.rosh must each be one of low, medium, high, very_high, not "extreme"`},
		{"unknown flag", doc(withField("applies_to", `{"flags":["da"]}`)), schema.ECodeInvalid, "rules[0].applies_to.flags[0]",
			`rule "first_visit_high": applies_to.flags must each be one of da_perpetrator`},
		{"unknown sentence", doc(withField("applies_to", `{"sentence_types":["prison"]}`)), schema.ECodeInvalid, "rules[0].applies_to.sentence_types[0]",
			`not "prison"`},
		{"repeated rosh", doc(withField("applies_to", `{"rosh":["high","high"]}`)), schema.ECodeInvalid, "rules[0].applies_to.rosh[1]",
			`applies_to.rosh lists "high" twice`},
		{"unknown visit type", doc(withField("counts_types", `["home_visit"]`)), schema.ECodeInvalid, "rules[0].counts_types[0]",
			`counts_types must each be one of home_announced`},
		{"phone counts", doc(withField("counts_types", `["home_announced","phone"]`)), schema.ECodeInvalid, "rules[0].counts_types[1]",
			`counts_types cannot hold "phone": a phone, video, office or other-place contact never meets a home-visit requirement`},
		{"other place counts", doc(withField("counts_types", `["other_place"]`)), schema.ECodeInvalid, "rules[0].counts_types[0]", `cannot hold "other_place"`},
		{"doorstep without the flag", doc(withField("counts_types", `["home_announced","doorstep"]`)), schema.ECodeInvalid, "rules[0].counts_types",
			`counts_types holds "doorstep" but doorstep_counts is false`},
		{"flag without doorstep", doc(withField("counts_types", `["home_announced"],"doorstep_counts":true`)), schema.ECodeInvalid, "rules[0].counts_types",
			`doorstep_counts is true but counts_types leaves out "doorstep"`},
		{"doorstep_counts as text", doc(withField("doorstep_counts", `"yes"`)), schema.ECodeWrongType, "rules[0].doorstep_counts",
			`doorstep_counts must be true or false`},
		{"duplicate id", `{"version":"v1","rules":[` + goodRule + `,` + goodRule + `]}`, schema.ECodeInvalid, "rules[1].id",
			`rule "first_visit_high": id is used twice (rules 0 and 1)`},
		{"second rule named", `{"version":"v1","rules":[` + goodRule + `,{"id":"second","name":"S","trigger":"release","due_within_days":-1}]}`,
			schema.ECodeInvalid, "rules[1].due_within_days", `rule "second": due_within_days must be 0 or more, not -1`},
		{"no version", `{"rules":[` + goodRule + `]}`, schema.ECodeRequired, "version", `version is required`},
		{"blank version", `{"version":"  ","rules":[` + goodRule + `]}`, schema.ECodeRequired, "version", `version is required`},
		{"version with newline", `{"version":"v1\n","rules":[` + goodRule + `]}`, schema.ECodeInvalid, "version", `printable`},
		{"no rules", `{"version":"v1","rules":[]}`, schema.ECodeRequired, "rules", `at least one rule`},
		{"rules not a list", `{"version":"v1","rules":{}}`, schema.ECodeWrongType, "rules", `rules must be a list`},
		{"not JSON", `version: v1`, schema.ECodeMalformed, "", `is not valid JSON`},
		{"empty", ``, schema.ECodeMalformed, "", `empty document`},
		{"trailing data", doc(goodRule) + `{}`, schema.ECodeMalformed, "", `trailing data`},
		{"rule not an object", doc(`"first_visit_high"`), schema.ECodeWrongType, "rules[0]", `rule 0: the value must be an object`},
		{"negative enquiry days", `{"version":"v1","enquiry_within_days":-1,"rules":[` + goodRule + `]}`, schema.ECodeInvalid,
			"enquiry_within_days", `enquiry_within_days must be from 0 to 3660 days, not -1`},
		{"huge enquiry days", `{"version":"v1","enquiry_within_days":4000,"rules":[` + goodRule + `]}`, schema.ECodeInvalid,
			"enquiry_within_days", `not 4000`},
		{"enquiry days as text", `{"version":"v1","enquiry_within_days":"10","rules":[` + goodRule + `]}`, schema.ECodeWrongType,
			"enquiry_within_days", `enquiry_within_days must be a whole number, not string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("expected an error, got a policy %+v", p)
			}
			e := schema.AsError(err)
			if e == nil {
				t.Fatalf("expected a *schema.Error, got %T %v", err, err)
			}
			if e.Code != tt.code || e.Field != tt.field {
				t.Errorf("expected code %q field %q, got code %q field %q (%v)", tt.code, tt.field, e.Code, e.Field, err)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("expected the message to contain %q, got %q", tt.msg, e.Message)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	src := `{"version":"2027-01-01.2","rules":[
	  {"id":"licence_release","name":"After release","applies_to":{"sentence_types":["licence"],"rosh":["medium","high"],"flags":["marac"]},
	   "trigger":"release","due_within_days":0,"recurrence_days":28,"doorstep_counts":true,"counts_types":["initial_home","doorstep"]}]}`
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatalf("expected a valid document to parse, got %v", err)
	}
	want := &policy.Policy{Version: "2027-01-01.2", Rules: []policy.Rule{{
		ID: "licence_release", Name: "After release",
		AppliesTo: policy.Conditions{RoSH: []string{"medium", "high"}, Flags: []string{"marac"}, SentenceTypes: []string{"licence"}},
		Trigger:   policy.TriggerRelease, DueWithinDays: 0, RecurrenceDays: 28, DoorstepCounts: true,
		CountsTypes: []string{"initial_home", "doorstep"},
	}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("expected %+v, got %+v", want, p)
	}
}

// TestEnquiryWithinDays: the optional number of measure 4's inspection
// view, its default when the document leaves it out, and a round trip.
func TestEnquiryWithinDays(t *testing.T) {
	t.Parallel()
	if d := policy.Default(); d.EnquiryWithinDays != nil || d.EnquiryDays() != policy.DefaultEnquiryWithinDays || policy.DefaultEnquiryWithinDays != 15 {
		t.Errorf("default: %v, %d days; want none set, 15 days", d.EnquiryWithinDays, d.EnquiryDays())
	}
	p, err := policy.Parse([]byte(`{"version":"v1","enquiry_within_days":0,"rules":[` + goodRule + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.EnquiryDays() != 0 {
		t.Errorf("enquiry_within_days 0 read as %d", p.EnquiryDays())
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := policy.Parse(b); err != nil || q.EnquiryDays() != 0 || !strings.Contains(string(b), `"enquiry_within_days":0`) {
		t.Errorf("round trip of %s: %v, %v", b, q, err)
	}
}

// TestRoundTrip: a parsed policy marshals back to a document that parses to
// the same policy, so the admin screen can save what it shows.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	p := policy.Default()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := policy.Parse(b)
	if err != nil {
		t.Fatalf("expected the marshalled default to parse, got %v\n%s", err, b)
	}
	if !reflect.DeepEqual(p, q) {
		t.Errorf("round trip: expected %+v, got %+v", p, q)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(policy.DefaultRules())
	f.Add([]byte(doc(goodRule)))
	f.Add([]byte(doc(withField("counts_types", `["doorstep"],"doorstep_counts":true`))))
	f.Add([]byte(`{"version":"v","rules":[{"id":"x","applies_to":{"rosh":[null]}}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := policy.Parse(b)
		if err != nil {
			if schema.AsError(err) == nil {
				t.Fatalf("expected a *schema.Error, got %T %v", err, err)
			}
			return
		}
		// A document that parsed marshals back and parses to the same policy.
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a parsed policy: %v", err)
		}
		q, err := policy.Parse(out)
		if err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy: %+v then %+v", p, q)
		}
		// And computing with it never panics.
		p.Requirements(policy.CaseFacts{Case: schema.Case{SupervisionStart: "2026-01-01", RoSH: "high"}}, "2026-06-01")
	})
}

// TestDocExampleParses keeps the rule document in docs/visit-policy.md
// valid.
func TestDocExampleParses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/visit-policy.md")
	if err != nil {
		t.Fatalf("read the docs: %v", err)
	}
	_, rest, ok := strings.Cut(string(b), "## The rule document\n\n```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("expected a ```json block under \"## The rule document\", got none")
	}
	p, err := policy.Parse([]byte(example))
	if err != nil {
		t.Fatalf("the example in docs/visit-policy.md: expected it to parse, got %v", err)
	}
	if len(p.Rules) != 2 || p.Rules[1].Trigger != policy.TriggerRelease {
		t.Errorf("the docs example: expected two rules, the second on release, got %+v", p.Rules)
	}
}

// TestTag: the tag names the document, not its layout: the same rules
// however indented give one tag, another rule another, and Compact keeps
// everything but the whitespace.
func TestTag(t *testing.T) {
	t.Parallel()
	d := policy.DefaultRules()
	c := policy.Compact(d)
	if bytes.ContainsAny(c, "\n\t") || len(c) >= len(d) {
		t.Errorf("Compact left whitespace: %.80s", c)
	}
	if p, err := policy.Parse(c); err != nil || !reflect.DeepEqual(p, policy.Default()) {
		t.Errorf("the compacted defaults do not parse to the defaults: %v", err)
	}
	if policy.Tag(d) != policy.Tag(c) || !strings.HasPrefix(policy.Tag(d), "r:") || len(policy.Tag(d)) != 26 {
		t.Errorf("tag of the defaults: %q, compacted %q", policy.Tag(d), policy.Tag(c))
	}
	other := bytes.Replace(d, []byte(`"due_within_days": 15`), []byte(`"due_within_days": 5`), 1)
	if policy.Tag(other) == policy.Tag(d) {
		t.Error("another rule, the same tag")
	}
}
