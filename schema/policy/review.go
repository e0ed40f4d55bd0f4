package policy

import (
	"fmt"
	"slices"

	"doorstep/schema"
)

// ReviewRules say what needs a manager's review (docs/review.md, "What is
// queued"). Sync conflicts, set-aside changes and safety assessments with
// no decision are always queued: each needs a decision by its nature. A
// signed visit is queued when one of Visits matches it. Nothing dated
// before From is queued: the history a team brought with it when it
// moved to Doorstep was overseen where it was made.
//
// The document's "review" key is optional (a tablet that does not know it
// refuses a document that has it, decision 0014, so the embedded defaults
// leave it out): without it DefaultReviewRules apply.
type ReviewRules struct {
	// From is the first day whose records are queued ("" queues all): a
	// visit by the day it was signed, a conflict by the day it was
	// recorded, a set-aside change by the day it was received, a safety
	// assessment by the day it was made.
	From schema.Date `json:"from,omitempty"`
	// Visits are the rules for signed visits; one match queues a visit.
	// An empty list queues none.
	Visits []VisitReviewRule `json:"visits"`
}

// VisitReviewRule is one rule for signed visits. Every condition given
// must hold; a rule with none queues every signed visit.
type VisitReviewRule struct {
	ID   string `json:"id"` // stable snake_case
	Name string `json:"name"`
	// Types are the visit types it applies to (empty: any type).
	Types []string `json:"types,omitempty"`
	// AppliesTo: the case's RoSH level, its sentence type, and a flag live
	// on the day of the visit, as a visit rule's applies_to.
	AppliesTo Conditions `json:"applies_to"`
	// SafeguardingConcern: only a visit that records a safeguarding
	// concern.
	SafeguardingConcern bool `json:"safeguarding_concern,omitempty"`
	// ChildNotSeen: only a visit that records a child of the household
	// not seen.
	ChildNotSeen bool `json:"child_not_seen,omitempty"`
}

// DefaultReviewRules are the rules when the document has no "review" key:
// signed home visits in domestic-abuse cases and in high or very high
// RoSH cases, and any signed visit with a safeguarding concern or a child
// not seen.
func DefaultReviewRules() ReviewRules {
	return ReviewRules{Visits: []VisitReviewRule{
		{ID: "home_visit_domestic_abuse", Name: "Home visits in domestic-abuse cases",
			Types: slices.Clone(HomeVisitTypes), AppliesTo: Conditions{Flags: []string{"da_perpetrator", "da_victim"}}},
		{ID: "home_visit_high_rosh", Name: "Home visits in high or very high RoSH cases",
			Types: slices.Clone(HomeVisitTypes), AppliesTo: Conditions{RoSH: []string{"high", "very_high"}}},
		{ID: "safeguarding_concern", Name: "Any visit with a safeguarding concern", SafeguardingConcern: true},
		{ID: "child_not_seen", Name: "Any visit where a child was not seen", ChildNotSeen: true},
	}}
}

// ReviewRules returns the document's review rules, or the defaults.
func (p *Policy) ReviewRules() ReviewRules {
	if p.Review == nil {
		return DefaultReviewRules()
	}
	return *p.Review
}

// VisitFacts is what the review rules read of a signed visit and its case.
type VisitFacts struct {
	Type                string
	Day                 schema.Date // the day it was signed
	SafeguardingConcern bool
	ChildNotSeen        bool
	RoSH, SentenceType  string
	Flags               []string // the case's flags live on the day of the visit
}

// Queues returns the id of the first rule that queues the visit, and
// whether one does.
func (r ReviewRules) Queues(v VisitFacts) (string, bool) {
	if r.From != "" && v.Day < r.From {
		return "", false
	}
	for _, rule := range r.Visits {
		c := rule.AppliesTo
		switch {
		case len(rule.Types) > 0 && !slices.Contains(rule.Types, v.Type),
			len(c.RoSH) > 0 && !slices.Contains(c.RoSH, v.RoSH),
			len(c.SentenceTypes) > 0 && !slices.Contains(c.SentenceTypes, v.SentenceType),
			len(c.Flags) > 0 && !slices.ContainsFunc(v.Flags, func(f string) bool { return slices.Contains(c.Flags, f) }),
			rule.SafeguardingConcern && !v.SafeguardingConcern,
			rule.ChildNotSeen && !v.ChildNotSeen:
			continue
		}
		return rule.ID, true
	}
	return "", false
}

// Dated reports whether a record of day (a date or a timestamp) is queued
// by From.
func (r ReviewRules) Dated(day string) bool {
	return r.From == "" || len(day) >= 10 && schema.Date(day[:10]) >= r.From
}

// FlagLiveOn reports whether f is live on day: started (or with no start
// date) and not yet ended.
func FlagLiveOn(f schema.Flag, day schema.Date) bool {
	return (f.StartDate == "" || f.StartDate <= day) && (f.EndedOn == "" || day < f.EndedOn)
}

func (r ReviewRules) validate() error {
	if r.From != "" {
		if err := r.From.Validate(); err != nil {
			return schema.Errorf(schema.ECodeInvalid, "review.from", "review.from must be a date like \"2026-01-01\", not %q", string(r.From))
		}
	}
	if len(r.Visits) > MaxRules {
		return schema.Errorf(schema.ECodeInvalid, "review.visits", "review.visits holds at most %d rules, not %d", MaxRules, len(r.Visits))
	}
	seen := map[string]int{}
	for i, v := range r.Visits {
		label := ruleLabel(i, v.ID)
		fail := func(code, field, format string, args ...any) error {
			return schema.Errorf(code, fmt.Sprintf("review.visits[%d].%s", i, field), "review %s: %s", label, fmt.Sprintf(format, args...))
		}
		if err := checkIDAndName(v.ID, v.Name, "home_visit_high_rosh", fail); err != nil {
			return err
		}
		if j, dup := seen[v.ID]; dup {
			return fail(schema.ECodeInvalid, "id", "id is used twice (review rules %d and %d); each rule needs its own id", j, i)
		}
		seen[v.ID] = i
		if err := checkValues(fail, []valueList{
			{"types", v.Types, visitTypes},
			{"applies_to.rosh", v.AppliesTo.RoSH, roshValues},
			{"applies_to.flags", v.AppliesTo.Flags, flagValues},
			{"applies_to.sentence_types", v.AppliesTo.SentenceTypes, sentenceValues},
		}); err != nil {
			return err
		}
	}
	return nil
}
