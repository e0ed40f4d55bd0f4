package compliance

import (
	"cmp"
	"sync"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// RoSHReviewMonths is how often a case's RoSH assessment is due for review
// (policy.RoSHReviewMonths, which the read model's rows use too).
const RoSHReviewMonths = policy.RoSHReviewMonths

// Review statuses of a flag or a RoSH assessment on as_of (measure 7).
const (
	ReviewInDate    = "in_date"     // reviewed, and the next review is due on or after as_of
	ReviewOverdue   = "overdue"     // the review was due before as_of and has not been done
	ReviewNotYetDue = "not_yet_due" // never reviewed; the first review is due on or after as_of
	ReviewNoDate    = "no_date"     // no next review date (flag) or no RoSH date recorded
	ReviewAfterAsOf = "after_as_of" // the dates were updated after as_of: what was due on as_of is not known
)

// ReviewFigures are one kind of review's figures (flags, DA flags, RoSH).
// Every item is in exactly one of InDate, Overdue, NotYetDue, NoDate and
// AfterAsOf; OnTime is InDate over InDate + Overdue.
type ReviewFigures struct {
	Items     RecordIDs   `json:"items"`
	OnTime    RecordShare `json:"on_time"`
	InDate    RecordIDs   `json:"in_date"`
	Overdue   RecordIDs   `json:"overdue"`
	NotYetDue RecordIDs   `json:"not_yet_due"`
	NoDate    RecordIDs   `json:"no_date"`
	AfterAsOf RecordIDs   `json:"after_as_of"`
	// ReviewedInPeriod: reviews recorded in the period (last_reviewed, or
	// the RoSH date, in the period and on or before as_of): activity, not
	// part of the percentage.
	ReviewedInPeriod RecordIDs `json:"reviewed_in_period"`
	MaxDaysOverdue   int       `json:"max_days_overdue"`
}

func (f *ReviewFigures) count(r ReviewItem, inPeriod bool) {
	id, cid := r.ID, r.CaseID
	f.Items.add(id, cid)
	switch r.Status {
	case ReviewInDate:
		f.InDate.add(id, cid)
		f.OnTime.count(id, cid, true)
	case ReviewOverdue:
		f.Overdue.add(id, cid)
		f.OnTime.count(id, cid, false)
		f.MaxDaysOverdue = max(f.MaxDaysOverdue, r.DaysOverdue)
	case ReviewNotYetDue:
		f.NotYetDue.add(id, cid)
	case ReviewNoDate:
		f.NoDate.add(id, cid)
	default:
		f.AfterAsOf.add(id, cid)
	}
	if inPeriod {
		f.ReviewedInPeriod.add(id, cid)
	}
}

func (f *ReviewFigures) finish() {
	for _, x := range []*RecordIDs{&f.Items, &f.InDate, &f.Overdue, &f.NotYetDue, &f.NoDate, &f.AfterAsOf, &f.ReviewedInPeriod} {
		x.finish()
	}
	f.OnTime.finish()
}

// ReviewsFigures are measure 7's figures for one set of cases.
type ReviewsFigures struct {
	// Cases: the open cases whose supervision started on or before as_of.
	Cases IDs `json:"cases"`
	// Flags: every flag live on as_of; DAFlags: of those, da_perpetrator
	// and da_victim; RoSH: one item per case (its id is the case id).
	Flags   ReviewFigures `json:"flags"`
	DAFlags ReviewFigures `json:"da_flags"`
	RoSH    ReviewFigures `json:"rosh"`
}

func (f *ReviewsFigures) count(caseID string, items []ReviewItem, period Period, asOf schema.Date) {
	f.Cases.add(caseID)
	for _, it := range items {
		in := period.Contains(it.LastReviewed) && it.LastReviewed <= asOf
		switch it.Kind {
		case "rosh":
			f.RoSH.count(it, in)
		default:
			f.Flags.count(it, in)
			if it.Kind == "da_perpetrator" || it.Kind == "da_victim" {
				f.DAFlags.count(it, in)
			}
		}
	}
}

func (f *ReviewsFigures) finish() {
	f.Cases.finish()
	f.Flags.finish()
	f.DAFlags.finish()
	f.RoSH.finish()
}

// ReviewItem is one flag's, or one case's RoSH, review on as_of.
type ReviewItem struct {
	ID           string      `json:"id"` // the flag's id; the case's id for RoSH
	CaseID       string      `json:"case_id"`
	CRN          string      `json:"crn"`
	OfficerID    string      `json:"officer_id"`
	OfficerName  string      `json:"officer_name"`
	TeamID       string      `json:"team_id"`
	TeamName     string      `json:"team_name"`
	Kind         string      `json:"kind"` // the flag type, or "rosh"
	Level        string      `json:"level,omitempty"`
	StartDate    schema.Date `json:"start_date,omitempty"`
	LastReviewed schema.Date `json:"last_reviewed,omitempty"` // for RoSH: rosh_date
	DueOn        schema.Date `json:"due_on,omitempty"`
	Status       string      `json:"status"`
	DaysOverdue  int         `json:"days_overdue,omitempty"`
}

// ReviewsReport is measure 7 over a period: the state of every review on
// as_of, and the reviews recorded in the period.
type ReviewsReport struct {
	Measure          string                      `json:"measure"`
	Period           Period                      `json:"period"`
	AsOf             schema.Date                 `json:"as_of"`
	RoSHReviewMonths int                         `json:"rosh_review_months"`
	OfficerID        string                      `json:"officer_id,omitempty"`
	Totals           ReviewsFigures              `json:"totals"`
	Teams            []Breakdown[ReviewsFigures] `json:"teams"`
	Officers         []Breakdown[ReviewsFigures] `json:"officers"`
	Items            []ReviewItem                `json:"items"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers.
func (r *ReviewsReport) CaseIDs() []string { return r.Totals.Cases.CaseIDs }

// Reviews computes measure 7, "review activity": for every open case in
// scope started on or before asOf, each flag live on asOf (its
// next_review_date the due date) and its RoSH assessment (due
// RoSHReviewMonths after rosh_date), in date or overdue on asOf; and the
// reviews recorded in the period. The records keep only the latest review
// of each, so a date after asOf makes the item "after_as_of".
func Reviews(in Input, period Period, asOf schema.Date) *ReviewsReport {
	rep := &ReviewsReport{Measure: "reviews", Period: period, AsOf: asOf, RoSHReviewMonths: RoSHReviewMonths, OfficerID: in.OfficerID,
		Items: []ReviewItem{}}
	g := newGroups[ReviewsFigures]()
	for _, cr := range in.cases() {
		c := cr.Case
		if c.Closed || c.SupervisionStart == "" || c.SupervisionStart > asOf {
			continue
		}
		base := ReviewItem{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
			TeamID: c.TeamID, TeamName: in.Teams[c.TeamID]}
		var items []ReviewItem
		for _, f := range cr.Flags {
			if (f.StartDate != "" && f.StartDate > asOf) || (f.EndedOn != "" && f.EndedOn <= asOf) {
				continue // not live on as_of
			}
			it := base
			it.ID, it.Kind, it.StartDate, it.LastReviewed, it.DueOn = f.ID, f.Type, f.StartDate, f.LastReviewed, f.NextReviewDate
			it.Status, it.DaysOverdue = reviewStatus(f.LastReviewed, f.NextReviewDate, asOf)
			items = append(items, it)
		}
		it := base
		it.ID, it.Kind, it.Level, it.StartDate, it.LastReviewed = c.ID, "rosh", c.RoSH, c.SupervisionStart, c.RoSHDate
		it.DueOn = policy.RoSHReviewDue(c.RoSHDate)
		it.Status, it.DaysOverdue = reviewStatus(c.RoSHDate, it.DueOn, asOf)
		items = append(items, it)
		rep.Items = append(rep.Items, items...)
		rep.Totals.count(c.ID, items, period, asOf)
		team, officer := g.of(in, c)
		team.count(c.ID, items, period, asOf)
		officer.count(c.ID, items, period, asOf)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		rep.Items = sortedByIndex(rep.Items, func(a, b *ReviewItem) int {
			return cmp.Or(cmp.Compare(b.DaysOverdue, a.DaysOverdue), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.ID, b.ID))
		})
	})
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *ReviewsFigures) { f.finish() })
	wg.Wait()
	return rep
}

// reviewStatus is a review's status on asOf from its last review and its
// next due date.
func reviewStatus(last, due, asOf schema.Date) (string, int) {
	switch {
	case last > asOf:
		return ReviewAfterAsOf, 0
	case due == "":
		return ReviewNoDate, 0
	case due < asOf:
		return ReviewOverdue, days(due, asOf)
	case last == "":
		return ReviewNotYetDue, 0
	}
	return ReviewInDate, 0
}
