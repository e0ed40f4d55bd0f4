package policy

import (
	"fmt"
	"slices"
	"sort"

	"doorstep/schema"
)

// Targets are the supervisors' targets and red/amber/green thresholds for
// the compliance measures (docs/compliance.md, "Targets and RAG"). The
// document's "targets" key is optional, like "review" (a tablet that does
// not know it refuses a document that has it, decision 0014, so the
// embedded defaults leave it out): without it DefaultTargets apply.
type Targets struct {
	// MinDenominator: a headline over fewer cases (or visits, or
	// records) than this is too few to judge: it gets no RAG status and
	// the dashboard says so instead of showing a percentage. 0 means
	// DefaultMinDenominator; 1 judges every figure that has one.
	MinDenominator int `json:"min_denominator,omitempty"`
	// Measures: per measure slug (TargetMeasures), its target. A measure
	// without one shows its figure without a status.
	Measures map[string]Target `json:"measures"`
}

// Target is one measure's target and thresholds, in percent (0 to 100).
// Where higher is better, a headline below Red is red, below Amber amber,
// otherwise green. Where LowerIsBetter, a headline above Red is red, above
// Amber amber, otherwise green.
type Target struct {
	Target        float64 `json:"target"`
	Red           float64 `json:"red"`
	Amber         float64 `json:"amber"`
	LowerIsBetter bool    `json:"lower_is_better,omitempty"`
}

// DefaultMinDenominator is MinDenominator when the document does not set
// it.
const DefaultMinDenominator = 5

// TargetMeasures are the measures a target may name: the compliance
// measures over a period, by their slug (the path of their JSON endpoint,
// /v1/compliance/<slug>, and of their dashboard page).
var TargetMeasures = []string{"first-home-visits", "overdue", "contacts", "enquiries", "households", "interventions", "reviews",
	"workload", "freshness", "exemptions", "risk-assessment-qa"}

// RAG statuses of a headline (Target.Status).
const (
	StatusRed    = "red"
	StatusAmber  = "amber"
	StatusGreen  = "green"
	StatusTooFew = "too_few" // fewer than MinDenominator: not judged
	StatusNone   = "none"    // no target, or no figure (nothing to count)
)

// DefaultTargets are the targets when the document has no "targets" key:
// Doorstep's own starting points for a team to configure, not published
// figures (docs/compliance.md).
func DefaultTargets() Targets {
	return Targets{MinDenominator: DefaultMinDenominator, Measures: map[string]Target{
		"first-home-visits": {Target: 90, Red: 75, Amber: 90},
		"enquiries":         {Target: 95, Red: 80, Amber: 95},
		"households":        {Target: 90, Red: 75, Amber: 90},
		"reviews":           {Target: 95, Red: 80, Amber: 95},
		"exemptions":        {Target: 5, Red: 20, Amber: 10, LowerIsBetter: true},
		"overdue":           {Target: 5, Red: 15, Amber: 5, LowerIsBetter: true},
		"freshness":         {Target: 95, Red: 80, Amber: 95},
	}}
}

// TargetRules returns the document's targets, or the defaults.
func (p *Policy) TargetRules() Targets {
	if p.Targets == nil {
		return DefaultTargets()
	}
	t := *p.Targets
	if t.MinDenominator == 0 {
		t.MinDenominator = DefaultMinDenominator
	}
	return t
}

// Status is the RAG status of num of den (percent its percentage, nil
// when den is 0) against the measure's target: StatusNone without a
// target or a figure, StatusTooFew when den is below the minimum.
func (t Targets) Status(slug string, den int, percent *float64) string {
	if percent == nil || den == 0 {
		return StatusNone
	}
	if den < max(t.MinDenominator, 1) {
		return StatusTooFew
	}
	m, ok := t.Measures[slug]
	if !ok {
		return StatusNone
	}
	p := *percent
	if m.LowerIsBetter {
		switch {
		case p > m.Red:
			return StatusRed
		case p > m.Amber:
			return StatusAmber
		}
		return StatusGreen
	}
	switch {
	case p < m.Red:
		return StatusRed
	case p < m.Amber:
		return StatusAmber
	}
	return StatusGreen
}

func (t Targets) validate() error {
	if t.MinDenominator < 0 || t.MinDenominator > 1000 {
		return schema.Errorf(schema.ECodeInvalid, "targets.min_denominator", "targets.min_denominator must be from 1 to 1000, not %d", t.MinDenominator)
	}
	slugs := make([]string, 0, len(t.Measures))
	for s := range t.Measures {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	for _, s := range slugs {
		m := t.Measures[s]
		path := "targets.measures." + s
		if !slices.Contains(TargetMeasures, s) {
			return schema.Errorf(schema.ECodeInvalid, path, "targets.measures: %q is not a measure with a target; one of %v", s, TargetMeasures)
		}
		for _, v := range []struct {
			key string
			x   float64
		}{{"target", m.Target}, {"red", m.Red}, {"amber", m.Amber}} {
			if v.x < 0 || v.x > 100 {
				return schema.Errorf(schema.ECodeInvalid, path+"."+v.key, "%s: %s must be a percentage from 0 to 100, not %s", path, v.key, fmt.Sprint(v.x))
			}
		}
		if !m.LowerIsBetter && m.Red > m.Amber {
			return schema.Errorf(schema.ECodeInvalid, path+".red", "%s: red (%v) is above amber (%v): below red is red, below amber amber", path, m.Red, m.Amber)
		}
		if m.LowerIsBetter && m.Red < m.Amber {
			return schema.Errorf(schema.ECodeInvalid, path+".red", "%s: red (%v) is below amber (%v): where lower is better, above red is red, above amber amber", path, m.Red, m.Amber)
		}
	}
	return nil
}
