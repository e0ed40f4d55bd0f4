package policy_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// TestReviewRulesDefault: a document without "review" gets the documented
// defaults, and marshals without the key, so an older tablet still reads
// the document the server sends (decision 0014).
func TestReviewRulesDefault(t *testing.T) {
	t.Parallel()
	p := policy.Default()
	if p.Review != nil {
		t.Fatalf("the embedded defaults set review: %+v", p.Review)
	}
	if strings.Contains(string(policy.DefaultRules()), `"review"`) {
		t.Error("the embedded document has a review key")
	}
	b, err := json.Marshal(p)
	if err != nil || strings.Contains(string(b), `"review"`) {
		t.Errorf("the marshalled defaults carry review: %s %v", b, err)
	}
	got := p.ReviewRules()
	var ids []string
	for _, r := range got.Visits {
		ids = append(ids, r.ID)
	}
	if want := "home_visit_domestic_abuse home_visit_high_rosh safeguarding_concern child_not_seen"; strings.Join(ids, " ") != want || got.From != "" {
		t.Errorf("default review rules %v from %q, want %s from none", ids, got.From, want)
	}
}

// TestReviewRulesQueues: which signed visits each default rule queues, and
// what From leaves out.
func TestReviewRulesQueues(t *testing.T) {
	t.Parallel()
	r := policy.DefaultReviewRules()
	home := policy.VisitFacts{Type: "home_announced", Day: "2026-12-01", RoSH: "medium", SentenceType: "community_order"}
	tests := []struct {
		name string
		edit func(*policy.VisitFacts)
		rule string // "" when not queued
	}{
		{"medium RoSH home visit, no flag", func(*policy.VisitFacts) {}, ""},
		{"high RoSH home visit", func(v *policy.VisitFacts) { v.RoSH = "high" }, "home_visit_high_rosh"},
		{"very high RoSH unannounced", func(v *policy.VisitFacts) { v.RoSH, v.Type = "very_high", "home_unannounced" }, "home_visit_high_rosh"},
		{"high RoSH office visit", func(v *policy.VisitFacts) { v.RoSH, v.Type = "high", "office" }, ""},
		{"high RoSH doorstep", func(v *policy.VisitFacts) { v.RoSH, v.Type = "high", "doorstep" }, ""},
		{"DA perpetrator home visit", func(v *policy.VisitFacts) { v.Flags = []string{"marac", "da_perpetrator"} }, "home_visit_domestic_abuse"},
		{"DA victim phone call", func(v *policy.VisitFacts) { v.Flags, v.Type = []string{"da_victim"}, "phone" }, ""},
		{"other flag only", func(v *policy.VisitFacts) { v.Flags = []string{"marac"} }, ""},
		{"office visit with a concern", func(v *policy.VisitFacts) { v.Type, v.SafeguardingConcern = "office", true }, "safeguarding_concern"},
		{"phone call, child not seen", func(v *policy.VisitFacts) { v.Type, v.ChildNotSeen = "phone", true }, "child_not_seen"},
	}
	for _, tt := range tests {
		v := home
		tt.edit(&v)
		id, ok := r.Queues(v)
		if id != tt.rule || ok != (tt.rule != "") {
			t.Errorf("%s: queued by %q (%v), want %q", tt.name, id, ok, tt.rule)
		}
	}
	r.From = "2026-12-01"
	concern := home
	concern.SafeguardingConcern = true
	if _, ok := r.Queues(concern); !ok {
		t.Error("a visit signed on the From day is not queued")
	}
	concern.Day = "2026-11-30"
	if id, ok := r.Queues(concern); ok {
		t.Errorf("a visit signed the day before From is queued (%s)", id)
	}
	if r.Dated("2026-11-30T23:59:59Z") || !r.Dated("2026-12-01T00:00:00Z") || !r.Dated("2026-12-02") {
		t.Error("Dated disagrees with From 2026-12-01")
	}
}

// TestReviewRulesParse: a document's own review rules, round trip, and
// each mistake refused with the path at fault.
func TestReviewRulesParse(t *testing.T) {
	t.Parallel()
	src := `{"version":"v1","rules":[` + goodRule + `],"review":{"from":"2026-01-01","visits":[
	  {"id":"all_home_visits","name":"Every home visit","types":["home_announced","home_unannounced"],"applies_to":{"sentence_types":["licence"]}}]}}`
	p, err := policy.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := policy.ReviewRules{From: "2026-01-01", Visits: []policy.VisitReviewRule{{ID: "all_home_visits", Name: "Every home visit",
		Types: []string{"home_announced", "home_unannounced"}, AppliesTo: policy.Conditions{SentenceTypes: []string{"licence"}}}}}
	if !reflect.DeepEqual(p.ReviewRules(), want) {
		t.Errorf("parsed %+v, want %+v", p.ReviewRules(), want)
	}
	b, _ := json.Marshal(p)
	if q, err := policy.Parse(b); err != nil || !reflect.DeepEqual(q, p) {
		t.Errorf("round trip of %s: %v", b, err)
	}
	if p, err := policy.Parse([]byte(`{"version":"v1","rules":[` + goodRule + `],"review":{"visits":[]}}`)); err != nil || len(p.ReviewRules().Visits) != 0 || p.Review == nil {
		t.Errorf("an empty list of visit rules (queue no visit): %+v %v", p, err)
	}
	bad := []struct{ name, review, code, field, msg string }{
		{"bad from", `{"from":"1 Jan 2026","visits":[]}`, schema.ECodeInvalid, "review.from", `review.from must be a date`},
		{"unknown key", `{"visits":[],"after":"2026-01-01"}`, schema.ECodeUnknownField, "review.after", `unknown key "after"`},
		{"no id", `{"visits":[{"name":"x"}]}`, schema.ECodeRequired, "review.visits[0].id", `id is required`},
		{"no name", `{"visits":[{"id":"x"}]}`, schema.ECodeRequired, "review.visits[0].name", `name is required`},
		{"unknown type", `{"visits":[{"id":"x","name":"X","types":["home"]}]}`, schema.ECodeInvalid, "review.visits[0].types[0]", `types must each be one of`},
		{"unknown rosh", `{"visits":[{"id":"x","name":"X","applies_to":{"rosh":["severe"]}}]}`, schema.ECodeInvalid, "review.visits[0].applies_to.rosh[0]", `not "severe"`},
		{"duplicate id", `{"visits":[{"id":"x","name":"X"},{"id":"x","name":"Y"}]}`, schema.ECodeInvalid, "review.visits[1].id", `id is used twice`},
		{"not an object", `[]`, schema.ECodeWrongType, "review", `must be an object`},
	}
	for _, tt := range bad {
		_, err := policy.Parse([]byte(`{"version":"v1","rules":[` + goodRule + `],"review":` + tt.review + `}`))
		e := schema.AsError(err)
		if e == nil || e.Code != tt.code || e.Field != tt.field || !strings.Contains(e.Message, tt.msg) {
			t.Errorf("%s: %v, want %s at %s saying %q", tt.name, err, tt.code, tt.field, tt.msg)
		}
	}
}
