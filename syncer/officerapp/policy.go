package officerapp

// The visit policy on the tablet: each case's facts gathered from the local
// records (no network, localapi.PolicyFacts), then schema/policy's
// requirements, in words.

import (
	"cmp"
	"fmt"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer/localapi"
)

// today is the policy's "as of": the officer's local day by the app's clock.
func (w *webApp) asOf() schema.Date { return localapi.LocalDate(w.api.Now()) }

// daysFrom counts the days from a to b (negative when b is before a).
func daysFrom(a, b schema.Date) int {
	ta, tb := a.Time(), b.Time()
	if ta.IsZero() || tb.IsZero() {
		return 0
	}
	return int(tb.Sub(ta).Hours() / 24)
}

// dayText is "Thursday 26 November", with the year when it is not asOf's.
func dayText(d, asOf schema.Date) string {
	t := d.Time()
	if t.IsZero() {
		return string(d)
	}
	if t.Year() == asOf.Time().Year() {
		return t.Format("Monday 2 January")
	}
	return t.Format("Monday 2 January 2006")
}

func daysText(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// dueWeek is how far ahead "due this week" looks: today and the six days
// after it.
const dueWeek = 6

// dueState classifies a case by its requirements for Today.
const (
	dueOverdue  = "overdue"  // a home visit is overdue
	dueThisWeek = "week"     // the next one is due in the next 7 days
	dueLater    = "later"    // the next one is due after that
	dueExempted = "exempted" // nothing due: home visits exempted
	dueNone     = "none"     // nothing due under the policy
)

// nearestDue fills row's due fields from the case's requirements: the most
// overdue one, else the open one due soonest, else an exemption.
func (w *webApp) nearestDue(row *caseRow, p *policy.Policy, reqs []policy.Requirement, asOf schema.Date) {
	if over := policy.Overdue(reqs); len(over) > 0 {
		r := over[0]
		row.DueState, row.daysOverdue, row.dueOn = dueOverdue, r.DaysOverdue, r.DueOn
		row.DueWhen = daysText(r.DaysOverdue) + " overdue"
		row.DueDate = "was due " + dayText(r.DueOn, asOf)
		row.DueRule, row.DueWhy = ruleName(p, r.RuleID), triggerText(r)
		row.MoreOverdue = len(over) - 1
		return
	}
	if r, ok := policy.Next(reqs); ok {
		row.dueOn, row.DueRule, row.DueWhy = r.DueOn, ruleName(p, r.RuleID), triggerText(r)
		switch n := daysFrom(asOf, r.DueOn); {
		case n == 0:
			row.DueState, row.DueWhen = dueThisWeek, "Due today"
		case n == 1:
			row.DueState, row.DueWhen = dueThisWeek, "Due tomorrow, "+dayText(r.DueOn, asOf)
		case n <= dueWeek:
			row.DueState, row.DueWhen = dueThisWeek, "Due "+dayText(r.DueOn, asOf)
		default:
			row.DueState, row.DueWhen, row.DueDate = dueLater, "Due in "+daysText(n), dayText(r.DueOn, asOf)
		}
		return
	}
	for _, r := range slices.Backward(reqs) {
		if r.Status == policy.StatusExempted {
			row.DueState, row.DueWhen, row.DueRule = dueExempted, "Home visits exempted", capitalize(r.Reason)
			return
		}
	}
	row.DueState, row.DueWhen = dueNone, "No home visit due under the visit policy"
}

func ruleName(p *policy.Policy, id string) string {
	if r, ok := p.Rule(id); ok {
		return r.Name
	}
	return id
}

// triggerWords says what starts each trigger's clock.
var triggerWords = map[policy.Trigger]string{
	policy.TriggerSupervisionStart: "Supervision started",
	policy.TriggerNewAddress:       "Moved to a new address",
	policy.TriggerNewPartner:       "New partner",
	policy.TriggerNewChild:         "New child in the household",
	policy.TriggerPoliceCallout:    "Police call-out reported",
	policy.TriggerRiskEscalation:   "Risk escalated",
	policy.TriggerRelease:          "Released from custody",
}

// triggerText says what started a requirement, and when: "Supervision
// started 3 Nov 2026", or for a repeat "Repeat 2, after the visit of
// 29 Oct 2026".
func triggerText(r policy.Requirement) string {
	if r.Recurrence > 0 {
		return fmt.Sprintf("Repeat %d, after the visit of %s", r.Recurrence, dateText(r.TriggeredOn))
	}
	return cmp.Or(triggerWords[r.Trigger], capitalize(spaced(string(r.Trigger)))) + " " + dateText(r.TriggeredOn)
}

// reqView is one requirement on the case page.
type reqView struct {
	Rule, Trigger, Due string
	// State is open, overdue, on_time, late, missed, exempted or cancelled
	// (for the style; Status says it in words).
	State, Status string
	Note          string // an exemption that a visit overrode
	MetBy, MetOn  string // the visit that met it, and its date
	Attempts      int
}

type policyView struct {
	Version string
	Source  string // where the rules came from (localapi.API.Policy)
	AsOf    string
	Now     []reqView // open and overdue, and exempted: what needs doing
	Before  []reqView // met, missed in a closed case, cancelled: history
}

// requirementsView puts the case's requirements in words: what needs doing
// first (most overdue, then due soonest), then the rest, latest first.
func (w *webApp) requirementsView(p *policy.Policy, reqs []policy.Requirement, asOf schema.Date) policyView {
	pv := policyView{Version: p.Version, AsOf: asOf.Time().Format("Monday 2 January 2006")}
	now := policy.Overdue(reqs)
	var open, before []policy.Requirement
	for _, r := range reqs {
		switch {
		case r.Status == policy.StatusOpen, r.Status == policy.StatusExempted:
			open = append(open, r)
		case r.Status == policy.StatusMissed && !r.CaseClosed:
		default:
			before = append(before, r)
		}
	}
	now = append(now, open...) // reqs are by due date already
	slices.Reverse(before)
	view := func(r policy.Requirement) reqView {
		v := reqView{Rule: ruleName(p, r.RuleID), Trigger: triggerText(r), Due: dateText(r.DueOn), Attempts: len(r.Attempts)}
		switch r.Status {
		case policy.StatusOpen:
			v.State = "open"
			switch n := daysFrom(asOf, r.DueOn); n {
			case 0:
				v.Status = "Open: due today"
			case 1:
				v.Status = "Open: due tomorrow"
			default:
				v.Status = "Open: due in " + daysText(n)
			}
		case policy.StatusMissed:
			if r.CaseClosed {
				v.State, v.Status = "missed", "Missed: "+r.Reason+" ("+daysText(r.DaysOverdue)+" after it was due)"
			} else {
				v.State, v.Status = "overdue", "Missed: "+daysText(r.DaysOverdue)+" overdue"
			}
		case policy.StatusMet:
			v.MetBy, v.MetOn, v.Note = r.MetBy, dateText(r.MetOn), capitalize(r.Reason)
			if r.OnTime() {
				v.State, v.Status = "on_time", "Met on time by the visit of "+dateText(r.MetOn)
			} else {
				v.State, v.Status = "late", "Met late by the visit of "+dateText(r.MetOn)+", "+daysText(daysFrom(r.DueOn, r.MetOn))+" after it was due"
			}
		case policy.StatusExempted:
			v.State, v.Status = "exempted", "Exempted: "+r.Reason
		case policy.StatusCancelled:
			v.State, v.Status = "cancelled", "Cancelled: "+r.Reason
		default:
			v.State, v.Status = string(r.Status), capitalize(string(r.Status))
		}
		return v
	}
	for _, r := range now {
		pv.Now = append(pv.Now, view(r))
	}
	for _, r := range before {
		pv.Before = append(pv.Before, view(r))
	}
	return pv
}
