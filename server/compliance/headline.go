package compliance

import (
	"math"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// Figure is a measure's headline figure: Num of Den, Percent (nil when
// Den is 0).
type Figure struct {
	Numerator   int      `json:"numerator"`
	Denominator int      `json:"denominator"`
	Percent     *float64 `json:"percent"`
}

// Headline is a measure's headline figure judged against its target
// (docs/compliance.md, "Targets and RAG"), with the same figure over the
// previous period: the period of the same length just before, as the
// records stood on its last day.
type Headline struct {
	Figure
	// Measure is the slug the target is read under (policy.TargetMeasures).
	Measure string `json:"measure"`
	// Target is the measure's target and thresholds; null when it has
	// none.
	Target *policy.Target `json:"target"`
	// MinDenominator: below it the figure is too few to judge.
	MinDenominator int `json:"min_denominator"`
	// Status: red, amber, green, too_few or none (policy.Targets.Status).
	Status   string          `json:"status"`
	Previous *PreviousFigure `json:"previous"`
	// Change is Percent minus the previous Percent, in percentage points
	// rounded to 0.1; null when either is null.
	Change *float64 `json:"change"`
}

// PreviousFigure is the headline over the previous period.
type PreviousFigure struct {
	Figure
	Period Period `json:"period"`
	Status string `json:"status"`
}

// PreviousPeriod is the period of the same length as p that ends the day
// before p starts.
func PreviousPeriod(p Period) Period {
	days := int(p.To.Time().Sub(p.From.Time()).Hours()/24+0.5) + 1
	to := p.From.Time().AddDate(0, 0, -1)
	return Period{From: schema.DateOf(to.AddDate(0, 0, 1-days)), To: schema.DateOf(to)}
}

// Headlined is a report with a headline figure.
type Headlined interface {
	HeadlineFigure() Figure
	SetHeadline(*Headline)
}

// The headline figure of each measure over a period: the first figure its
// dashboard card shows.
func (r *FirstVisitReport) HeadlineFigure() Figure {
	return Figure{r.Totals.Numerator.N, r.Totals.Denominator.N, r.Totals.Percent}
}
func (r *ContactsReport) HeadlineFigure() Figure {
	s := r.Totals.HomeShare
	return Figure{s.Numerator.N, s.Denominator.N, s.Percent}
}
func (r *EnquiriesReport) HeadlineFigure() Figure {
	p := r.Totals.Police
	return Figure{p.Answered.N, p.Needed.N, p.Percent}
}
func (r *HouseholdsReport) HeadlineFigure() Figure {
	s := r.Totals.Confirmed
	return Figure{s.Numerator.N, s.Denominator.N, s.Percent}
}
func (r *InterventionsReport) HeadlineFigure() Figure {
	s := r.Totals.ReferredShare
	return Figure{s.Numerator.N, s.Denominator.N, s.Percent}
}
func (r *ReviewsReport) HeadlineFigure() Figure {
	s := r.Totals.Flags.OnTime
	return Figure{s.Numerator.N, s.Denominator.N, s.Percent}
}
func (r *ExemptionsReport) HeadlineFigure() Figure {
	return Figure{r.Totals.Exempted.Requirements, r.Totals.Due.Requirements, r.Totals.Percent}
}

// PeriodMeasure computes one measure over a period, as the records stood
// on asOf.
type PeriodMeasure func(in Input, period Period, asOf schema.Date) Headlined

// periodMeasures are the measures with a target, by slug.
var periodMeasures = map[string]PeriodMeasure{
	"first-home-visits": func(in Input, p Period, a schema.Date) Headlined { return FirstHomeVisits(in, p, a) },
	"contacts":          func(in Input, p Period, a schema.Date) Headlined { return Contacts(in, p, a) },
	"enquiries":         func(in Input, p Period, a schema.Date) Headlined { return Enquiries(in, p, a) },
	"households":        func(in Input, p Period, a schema.Date) Headlined { return Households(in, p, a) },
	"interventions":     func(in Input, p Period, a schema.Date) Headlined { return Interventions(in, p, a) },
	"reviews":           func(in Input, p Period, a schema.Date) Headlined { return Reviews(in, p, a) },
	"exemptions":        func(in Input, p Period, a schema.Date) Headlined { return Exemptions(in, p, a) },
}

// DayFigure computes the headline of a measure counted on a day (measures
// 2 and 8) as the records stood on asOf.
type DayFigure func(in Input, asOf schema.Date) Figure

// dayMeasures are the measures counted on a day that have a headline, by
// slug: over a period, the figure on its last day (the as-of day).
var dayMeasures = map[string]DayFigure{"overdue": OverdueShare, "workload": WorkloadPlanned}

// OverdueShare is measure 2's headline on asOf: of the caseload (open
// cases whose supervision started by asOf), the cases with a visit
// overdue. Lower is better.
func OverdueShare(in Input, asOf schema.Date) Figure {
	t := Workload(in, asOf).Totals
	return FigureOf(t.OverdueCases.N, t.Caseload.N)
}

// WorkloadPlanned is measure 8's headline on asOf: of the visits due in
// the next 4 weeks, those with a visit already planned by their due date.
func WorkloadPlanned(in Input, asOf schema.Date) Figure {
	rep := Workload(in, asOf)
	planned := 0
	for _, it := range rep.Items {
		if it.PlannedOn != "" {
			planned++
		}
	}
	return FigureOf(planned, rep.Totals.Due)
}

// FigureOf is num of den with its percentage to one decimal (nil when den
// is 0).
func FigureOf(num, den int) Figure { return Figure{num, den, percent(num, den)} }

// PreviousFigureOf computes measure slug's headline over the period before
// period, as the records stood on that period's last day; false when the
// measure has no headline computed from the records (measures 9 and 10,
// which read the store, judge theirs with JudgeIn).
func PreviousFigureOf(slug string, in Input, period Period) (PreviousFigure, bool) {
	prev := PreviousPeriod(period)
	if m, ok := dayMeasures[slug]; ok {
		return PreviousFigure{Figure: m(in, prev.To), Period: prev}, true
	}
	if f, ok := previousFigures[slug]; ok {
		return PreviousFigure{Figure: f(in, prev), Period: prev}, true
	}
	m, ok := periodMeasures[slug]
	if !ok {
		return PreviousFigure{}, false
	}
	return PreviousFigure{Figure: m(in, prev, prev.To).HeadlineFigure(), Period: prev}, true
}

// previousFigures give, by slug, the headline over a period as the
// records stood on its last day, for the measures whose trend's figure
// (trend.go) is that headline: the same figure as the report's
// (TestTrendFiguresAreTheReports), without the report's rows, lists and
// ids, which the previous period's headline does not show. On the
// dashboard's overview the two reports built whole were about 10 ms of a
// page's CPU (decision 0098).
var previousFigures = map[string]func(in Input, p Period) Figure{
	"contacts": func(in Input, p Period) Figure {
		return figureOf(ContactsHomeShares(in, []Period{p}, []schema.Date{p.To})[0])
	},
	"reviews": func(in Input, p Period) Figure { return figureOf(ReviewsFlagsOnTime(in, []schema.Date{p.To})[0]) },
}

func figureOf(f Fraction) Figure { return Figure{f.Num, f.Den, f.Percent} }

// JudgeIn is Judge with in's policy.
func JudgeIn(in Input, slug string, cur Figure, prev PreviousFigure) *Headline {
	return Judge(in.policy(), slug, cur, prev)
}

// AddHeadline sets rep's headline: its figure (the report of measure slug
// over period) judged against the policy's target, beside the previous
// period's. It does nothing for a measure without a headline.
func AddHeadline(slug string, in Input, rep Headlined, period Period) {
	if h := HeadlineOf(slug, in, rep.HeadlineFigure(), period); h != nil {
		rep.SetHeadline(h)
	}
}

// HeadlineOf judges cur, measure slug's headline over period, against the
// policy's target, beside the previous period's (computed here); nil for a
// measure without a headline.
func HeadlineOf(slug string, in Input, cur Figure, period Period) *Headline {
	prev, ok := PreviousFigureOf(slug, in, period)
	if !ok {
		return nil
	}
	return Judge(in.policy(), slug, cur, prev)
}

// Judge makes the headline of measure slug: cur judged against the
// policy's target, beside prev (judged too).
func Judge(p *policy.Policy, slug string, cur Figure, prev PreviousFigure) *Headline {
	t := p.TargetRules()
	prev.Status = t.Status(slug, prev.Denominator, prev.Percent)
	h := &Headline{Figure: cur, Measure: slug, MinDenominator: t.MinDenominator,
		Status: t.Status(slug, cur.Denominator, cur.Percent), Previous: &prev}
	if m, ok := t.Measures[slug]; ok {
		h.Target = &m
	}
	if cur.Percent != nil && prev.Percent != nil {
		c := math.Round((*cur.Percent-*prev.Percent)*10) / 10
		h.Change = &c
	}
	return h
}
func (r *FirstVisitReport) SetHeadline(h *Headline)    { r.Headline = h }
func (r *ContactsReport) SetHeadline(h *Headline)      { r.Headline = h }
func (r *EnquiriesReport) SetHeadline(h *Headline)     { r.Headline = h }
func (r *HouseholdsReport) SetHeadline(h *Headline)    { r.Headline = h }
func (r *InterventionsReport) SetHeadline(h *Headline) { r.Headline = h }
func (r *ReviewsReport) SetHeadline(h *Headline)       { r.Headline = h }
func (r *ExemptionsReport) SetHeadline(h *Headline)    { r.Headline = h }

// Targets are the policy's targets (policy.Policy.TargetRules).
func (in Input) Targets() policy.Targets { return in.policy().TargetRules() }
