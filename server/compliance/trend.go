package compliance

import (
	"doorstep/schema"
	"doorstep/schema/policy"
)

// Figures for the dashboard's weekly trends. A trend point is a report's
// figure for one week (decision 0011), but it shows only the figure: not
// the ids behind it, nor the report's rows. The functions here give that
// figure for many weeks at once, each exactly what the report gives (the
// tests compare them with the reports, week by week), in one pass over
// the records: what does not depend on the week (a visit's day, read from
// its started_at) is worked out once rather than once per week.

// Fraction is a share's figure alone: Num of Den, and the percentage
// (nil when Den is 0), as the report's share has them.
type Fraction struct {
	Num, Den int
	Percent  *float64
}

// ContactsHomeShares returns, for each i, the figure of
// Contacts(in, periods[i], asOfs[i]).Totals.HomeShare: completed contacts
// in the home over completed contacts, of the signed visits started in the
// period on or before its as-of day. periods and asOfs have the same
// length.
func ContactsHomeShares(in Input, periods []Period, asOfs []schema.Date) []Fraction {
	if len(periods) != len(asOfs) {
		panic("compliance: ContactsHomeShares: a period without its as-of day")
	}
	cases := in.cases()
	// Counted per chunk of cases on every core, then added up.
	chunks := make([][]Fraction, (len(cases)+prepareChunk-1)/prepareChunk)
	parallel(len(chunks), func(k int) {
		out := make([]Fraction, len(periods))
		for i := k * prepareChunk; i < min((k+1)*prepareChunk, len(cases)); i++ {
			cr := &cases[i]
			for j := range cr.Visits {
				v := &cr.Visits[j]
				if v.Status != "signed" || v.SignedAt == "" || v.Outcome != "completed" {
					continue
				}
				day, ok := visitDay(v.StartedAt)
				if !ok {
					continue
				}
				home := -1 // not worked out yet
				for w, p := range periods {
					if !p.Contains(day) || day > asOfs[w] {
						continue
					}
					if home < 0 {
						home = 0
						if ch, _ := ContactChannel(*v); ch == ChannelHome {
							home = 1
						}
					}
					out[w].Den++
					out[w].Num += home
				}
			}
		}
		chunks[k] = out
	})
	return sumFractions(len(periods), chunks)
}

// ReviewsFlagsOnTime returns, for each i, the figure of
// Reviews(in, period, asOfs[i]).Totals.Flags.OnTime (any period: the share
// does not depend on it): the flags live on the as-of day, of open cases
// started by then, in date over in date and overdue.
func ReviewsFlagsOnTime(in Input, asOfs []schema.Date) []Fraction {
	out := make([]Fraction, len(asOfs))
	for _, cr := range in.cases() {
		c := &cr.Case
		if c.Closed || c.SupervisionStart == "" {
			continue
		}
		for w, asOf := range asOfs {
			if c.SupervisionStart > asOf {
				continue
			}
			for _, f := range cr.Flags {
				if (f.StartDate != "" && f.StartDate > asOf) || (f.EndedOn != "" && f.EndedOn <= asOf) || f.Type == "rosh" {
					continue // not live on as_of; a flag typed "rosh" counts as the RoSH review in Reviews
				}
				switch st, _ := reviewStatus(f.LastReviewed, f.NextReviewDate, asOf); st {
				case ReviewInDate:
					out[w].Num++
					out[w].Den++
				case ReviewOverdue:
					out[w].Den++
				}
			}
		}
	}
	for w := range out {
		out[w].Percent = percent(out[w].Num, out[w].Den)
	}
	return out
}

// sumFractions adds up the chunks' counts (n each), and gives each its
// percentage.
func sumFractions(n int, chunks [][]Fraction) []Fraction {
	out := make([]Fraction, n)
	for _, ch := range chunks {
		for w, f := range ch {
			out[w].Num += f.Num
			out[w].Den += f.Den
		}
	}
	for w := range out {
		out[w].Percent = percent(out[w].Num, out[w].Den)
	}
	return out
}

// OverdueCount is Overdue(in, asOf).Totals.Requirements: the number of
// requirements overdue on asOf, without the items behind it.
func OverdueCount(in Input, asOf schema.Date) int {
	p := in.policy()
	cases := in.cases()
	prepare(cases, p, asOf, nil)
	n := 0
	for _, cr := range cases {
		reqs, _ := cr.requirements(p, asOf)
		for _, r := range reqs {
			if r.Status == policy.StatusMissed && !r.CaseClosed {
				n++ // as policy.Overdue keeps them
			}
		}
	}
	return n
}

// WorkloadDue is Workload(in, asOf).Totals.Due: the number of visits due
// in the WorkloadWeeks from asOf, without the items behind it.
func WorkloadDue(in Input, asOf schema.Date) int {
	p := in.policy()
	until := schema.DateOf(asOf.Time().AddDate(0, 0, 7*WorkloadWeeks-1))
	cases := in.cases()
	started := func(c *schema.Case) bool { return !c.Closed && c.SupervisionStart != "" && c.SupervisionStart <= asOf }
	prepare(cases, p, asOf, started)
	n := 0
	for _, cr := range cases {
		if !started(&cr.Case) {
			continue
		}
		reqs, _ := cr.requirements(p, asOf)
		for _, r := range reqs {
			if r.Status == policy.StatusOpen && r.DueOn >= asOf && r.DueOn <= until {
				n++
			}
		}
	}
	return n
}

// HouseholdsChildrenSeen returns, for each i, the figure of
// Households(in, periods[i], asOf).Totals.ChildrenSeen: completed home
// visits in the period, in open domestic-abuse cases, where every child
// was seen or a reason given, over those that expected a child. What a
// visit recorded of the children is worked out once, for every period.
func HouseholdsChildrenSeen(in Input, periods []Period, asOf schema.Date) []Fraction {
	cases := in.cases()
	chunks := make([][]Fraction, (len(cases)+prepareChunk-1)/prepareChunk)
	parallel(len(chunks), func(k int) {
		out := make([]Fraction, len(periods))
		da := make([]int8, len(periods)) // per period: 0 not known yet, 1 a DA case then, -1 not
		for i := k * prepareChunk; i < min((k+1)*prepareChunk, len(cases)); i++ {
			cr := &cases[i]
			c := &cr.Case
			start := c.SupervisionStart
			if c.Closed || start == "" || start > asOf {
				continue
			}
			clear(da)
			for _, v := range cr.Visits {
				day, ok := signedDay(v)
				if !ok || day > asOf || v.Outcome != "completed" {
					continue
				}
				children := "" // not worked out yet
				for w, p := range periods {
					if !p.Contains(day) {
						continue
					}
					if da[w] == 0 {
						da[w] = -1
						if len(daFlags(cr.Flags, max(start, p.From), asOf)) > 0 {
							da[w] = 1
						}
					}
					if da[w] < 0 {
						continue
					}
					if children == "" {
						children = ChildrenNone
						if ch, _ := ContactChannel(v); ch == ChannelHome {
							children = childrenSeen(cr.Household, v, day).Children
						}
					}
					switch children {
					case ChildrenAllSeen, ChildrenSeenOrReason:
						out[w].Num++
						out[w].Den++
					case ChildrenUnaccounted:
						out[w].Den++
					}
				}
			}
		}
		chunks[k] = out
	})
	return sumFractions(len(periods), chunks)
}
