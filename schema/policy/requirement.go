package policy

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"doorstep/schema"
)

// Status is where a requirement stands on the day it is computed for.
type Status string

const (
	// StatusOpen: not met yet, and the due date is today or later.
	StatusOpen Status = "open"
	// StatusMet: a visit that counts took place on or after the trigger date
	// (late or not: compare MetOn with DueOn).
	StatusMet Status = "met"
	// StatusMissed: past its due date with no visit that counts. In an open
	// case this is "overdue now", and it turns to met if a late visit comes.
	StatusMissed Status = "missed"
	// StatusExempted: a manager exempted it (or did not approve home visits),
	// with a reason and an approver; never counted as met.
	StatusExempted Status = "exempted"
	// StatusCancelled: the case closed before it fell due.
	StatusCancelled Status = "cancelled"
)

// Event is a trigger the records do not show (a police call-out reported by
// phone, a risk escalation, a release from custody), told by the caller.
type Event struct {
	Kind Trigger     `json:"kind"`
	On   schema.Date `json:"on"`
	// Source optionally names the record behind the event ("oversight:<id>");
	// it is copied to the requirement. Empty means "event".
	Source string `json:"source,omitempty"`
}

// Exemption excuses a requirement: a manager's exemption, or a safety
// assessment that did not approve home visits, with its reason. It matches
// the requirements of RuleID triggered on TriggerOn; an empty RuleID matches
// every rule and an empty TriggerOn every trigger date, so one exemption can
// cover a whole case.
type Exemption struct {
	RuleID     string      `json:"rule_id,omitempty"`
	TriggerOn  schema.Date `json:"trigger_on,omitempty"`
	Reason     string      `json:"reason"`
	ApprovedBy string      `json:"approved_by"`
}

// CaseFacts are one case's records, as the tablet's or the server's store
// holds them. Records of another case (a non-empty CaseID that differs from
// Case.ID) are ignored. Visits must have their amendments applied. Both
// sides build them with FactsOf, so that both compute from the same facts.
type CaseFacts struct {
	Case schema.Case
	// ClosedOn is the day the case closed, when Case.Closed and it is known.
	// Empty means the case counts as closed on whatever day is asked about.
	ClosedOn   schema.Date
	Flags      []schema.Flag
	Household  []schema.HouseholdMember
	Visits     []schema.Visit
	Enquiries  []schema.Enquiry
	Events     []Event
	Exemptions []Exemption
	// Index, when not nil, is IndexVisits of these facts' Case and Visits:
	// Requirements reads the visits from it rather than parsing and sorting
	// them again. For a caller that asks about one case on many days.
	Index *VisitIndex `json:"-"`
}

// VisitIndex is a case's signed visits as Requirements reads them (each
// day and instant parsed, in order), made once by IndexVisits for the
// requirements of many as-of days: a trend asks on every week's end.
type VisitIndex struct {
	caseID string
	visits []schema.Visit // the slice it was made from
	all    []visit        // every signed visit, in order
}

// IndexVisits reads in's signed visits for Requirements; set the result as
// in.Index while in.Case.ID and in.Visits stay the same.
func IndexVisits(in CaseFacts) *VisitIndex {
	return &VisitIndex{caseID: in.Case.ID, visits: in.Visits, all: signedVisits(in, maxDay)}
}

// upTo returns the visits of days up to end (shared: read only), or false
// when x was not made from in.
func (x *VisitIndex) upTo(in CaseFacts, end int) ([]visit, bool) {
	if x == nil || x.caseID != in.Case.ID || len(x.visits) != len(in.Visits) || (len(x.visits) > 0 && &x.visits[0] != &in.Visits[0]) {
		return nil, false
	}
	n, _ := slices.BinarySearchFunc(x.all, end+1, func(v visit, day int) int { return cmp.Compare(v.day, day) })
	return x.all[:n:n], true
}

// Requirement is one visit the case is owed under one rule.
type Requirement struct {
	CaseID      string  `json:"case_id"`
	RuleID      string  `json:"rule_id"`
	RuleVersion string  `json:"rule_version"`
	Trigger     Trigger `json:"trigger"`
	// TriggeredOn starts the clock: the trigger's date, or for a repeat the
	// date of the visit that met the one before.
	TriggeredOn schema.Date `json:"triggered_on"`
	// Source names what set TriggeredOn: "case", "household_member:<id>",
	// "enquiry:<id>", "event" (or the event's own source), "visit:<id>".
	Source string `json:"source"`
	// Recurrence is 0 for the trigger's own requirement and n for its n-th
	// repeat under the rule's recurrence_days.
	Recurrence int         `json:"recurrence"`
	DueOn      schema.Date `json:"due_on"`
	Status     Status      `json:"status"`
	MetBy      string      `json:"met_by,omitempty"` // the visit's id
	MetOn      schema.Date `json:"met_on,omitempty"`
	// DaysOverdue is, for a missed requirement, the days from DueOn to the
	// day asked about (or to the closure, for a closed case); else 0.
	DaysOverdue int    `json:"days_overdue"`
	Reason      string `json:"reason,omitempty"`
	ApprovedBy  string `json:"approved_by,omitempty"`
	// Attempts lists the signed no-access attempts at a home or doorstep
	// visit (no answer, refused entry, not present, abandoned for safety)
	// made towards it.
	Attempts   []string `json:"attempts,omitempty"`
	CaseClosed bool     `json:"case_closed,omitempty"`
}

// OnTime reports whether r was met on or before its due date.
func (r Requirement) OnTime() bool { return r.Status == StatusMet && r.MetOn <= r.DueOn }

// visit is a signed visit reduced to what the rules look at.
type visit struct {
	id      string
	day     int   // the visit's date, as days since 1970-01-01
	at      int64 // its start instant, to order visits on one day
	typ     string
	counts  bool // completed, face to face, not elsewhere
	attempt bool
	// src is the visit itself, for the check a new child's visit needs
	// (childrenKnown), made only for the rules that ask.
	src *schema.Visit
}

type trigger struct {
	kind   Trigger
	day    int
	source string
}

type flagSpan struct {
	typ        string
	from, till int // live on from <= day < till
}

// Requirements computes the visit requirements of one case as they stand on
// asOf, ordered by due date, then rule id, then trigger date. Only records
// dated on or before asOf are looked at, so the same records give the same
// answer for a past date whenever it is asked. It returns nil when asOf is
// not a date.
func (p *Policy) Requirements(in CaseFacts, asOf schema.Date) []Requirement {
	asOfDay, ok := dayOf(asOf)
	if !ok {
		return nil
	}
	// A case closed on asOf (or on a day before it) is looked at up to its
	// closure; one closed later was open on asOf.
	end, closed := asOfDay, false
	if in.Case.Closed {
		if c, ok := dayOf(in.ClosedOn); !ok || c <= asOfDay {
			closed = true
			if ok {
				end = c
			}
		}
	}
	visits, ok := in.Index.upTo(in, end)
	if !ok {
		visits = signedVisits(in, end)
	}
	triggers := gatherTriggers(in, end)
	flags := liveFlags(in)
	known := childrenKnown(in, visits)

	// The requirements are gathered in a scratch slice kept between calls
	// and given back as an exact copy: appended to a slice of their own,
	// grown by doubling, they cost about twice their size in allocations
	// (a 500-case team's dashboard page computes about 960 cases'
	// requirements, about 10 MB a page so; decision 0126).
	sp := scratchRequirements.Get().(*[]Requirement)
	out := (*sp)[:0]
	defer func() {
		clear(out) // keep no strings alive from the pool
		*sp = out[:0]
		scratchRequirements.Put(sp)
	}()
	var qual []int
	for _, r := range p.Rules {
		if !caseMatches(r.AppliesTo, in.Case) {
			continue
		}
		counts := r.Counts()
		qual = qual[:0]
		for i, v := range visits {
			if v.counts && slices.Contains(counts, v.typ) {
				qual = append(qual, i)
			}
		}
		// repeated[i]: the repeat after visit i is made. Two triggers met by
		// one visit would make the same repeat twice; their chains merge.
		repeated := map[int]bool{}
		for _, t := range triggers {
			if t.kind != r.Trigger || !flagsMatch(r.AppliesTo.Flags, flags, t.day) {
				continue
			}
			day, source, after, pos := t.day, t.source, -1, 0
			for n := 0; ; n++ {
				// The next visit that counts: on or after the trigger date,
				// and for a repeat, after the visit that met the one before;
				// for a new child, one that accounts for every child.
				for pos < len(qual) && (qual[pos] <= after || visits[qual[pos]].day < day ||
					(r.Trigger == TriggerNewChild && !known(qual[pos]))) {
					pos++
				}
				met := -1
				if pos < len(qual) {
					met = qual[pos]
				}
				due := day + r.DueWithinDays
				if n > 0 {
					due = day + r.RecurrenceDays
				}
				req := Requirement{
					CaseID: in.Case.ID, RuleID: r.ID, RuleVersion: p.Version, Trigger: r.Trigger,
					TriggeredOn: dateOf(day), Source: source, Recurrence: n,
					DueOn: dateOf(due), CaseClosed: closed,
				}
				req.Attempts = attempts(visits, after, day, met)
				settle(&req, in.Exemptions, visits, met, due, asOfDay, end, closed)
				out = append(out, req)

				if met < 0 || r.RecurrenceDays == 0 {
					break
				}
				day, source, after = visits[met].day, "visit:"+visits[met].id, met
				if repeated[met] || !flagsMatch(r.AppliesTo.Flags, flags, day) {
					break
				}
				repeated[met] = true
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, compareRequirements)
	res := make([]Requirement, len(out))
	copy(res, out)
	return res
}

// scratchRequirements holds the slices Requirements gathers requirements
// in (a *[]Requirement each, emptied).
var scratchRequirements = sync.Pool{New: func() any { return new([]Requirement) }}

// settle sets the status of req, whose deadline is the day due and which
// the visit at index met (or none, -1) meets.
func settle(req *Requirement, exemptions []Exemption, visits []visit, met, due, asOf, end int, closed bool) {
	ex := exemptionFor(exemptions, req.RuleID, req.TriggeredOn)
	switch {
	case met >= 0:
		// A visit took place: that is the truth, whatever was excused.
		req.Status, req.MetBy, req.MetOn = StatusMet, visits[met].id, dateOf(visits[met].day)
		if ex != nil {
			req.Reason = "exempted (" + ex.Reason + "), but a visit met it"
		}
	case ex != nil:
		req.Status, req.Reason, req.ApprovedBy = StatusExempted, ex.Reason, ex.ApprovedBy
	case closed && end > due:
		req.Status, req.DaysOverdue = StatusMissed, end-due
		req.Reason = "the case closed with this visit not made"
	case closed:
		req.Status, req.Reason = StatusCancelled, "the case closed before this visit fell due"
	case asOf > due:
		req.Status, req.DaysOverdue = StatusMissed, asOf-due
	default:
		req.Status = StatusOpen
	}
}

func exemptionFor(exemptions []Exemption, ruleID string, on schema.Date) *Exemption {
	for i, e := range exemptions {
		if (e.RuleID == "" || e.RuleID == ruleID) && (e.TriggerOn == "" || e.TriggerOn == on) {
			return &exemptions[i]
		}
	}
	return nil
}

// attempts lists the no-access attempts towards a requirement triggered on
// day: visits after index after, on or after day, and before the visit met
// (or up to the last visit when none met it).
func attempts(visits []visit, after, day, met int) []string {
	stop := len(visits)
	if met >= 0 {
		stop = met
	}
	var ids []string
	for i := after + 1; i < stop; i++ {
		if visits[i].attempt && visits[i].day >= day {
			ids = append(ids, visits[i].id)
		}
	}
	return ids
}

func compareRequirements(a, b Requirement) int {
	return cmp.Or(
		cmp.Compare(a.DueOn, b.DueOn),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.TriggeredOn, b.TriggeredOn),
		cmp.Compare(a.Recurrence, b.Recurrence),
		cmp.Compare(a.CaseID, b.CaseID),
		cmp.Compare(a.Source, b.Source),
	)
}

// childrenKnown reports whether visits[i] accounts for every child on the
// case's household list (schema.ChildrenAccountedFor, whatever the case's
// flags), which a visit must do to meet a new child's requirement. It is
// worked out once per visit, and only for the rules that ask.
func childrenKnown(in CaseFacts, visits []visit) func(i int) bool {
	var household []schema.HouseholdMember
	var memo map[int]bool // made on the first question: most cases never ask
	return func(i int) bool {
		if ok, done := memo[i]; done {
			return ok
		}
		if memo == nil {
			memo = map[int]bool{}
			household = []schema.HouseholdMember{}
			for _, m := range in.Household {
				if sameCase(in.Case.ID, m.CaseID) {
					household = append(household, m)
				}
			}
		}
		ok := len(schema.ChildrenAccountedFor(*visits[i].src, household, true)) == 0
		memo[i] = ok
		return ok
	}
}

// signedVisits returns the case's signed visits dated on or before end,
// ordered by date, start time and id. A visit is dated by the calendar date
// of its started_at in the offset the device recorded it with (the officer's
// local day); a signed visit with no readable started_at is left out.
func signedVisits(in CaseFacts, end int) []visit {
	out := make([]visit, 0, len(in.Visits))
	for i := range in.Visits {
		v := &in.Visits[i] // not a copy: a visit is large, and this runs per case per day of a trend
		if !sameCase(in.Case.ID, v.CaseID) || v.Status != "signed" || v.SignedAt == "" {
			continue
		}
		day, at, ok := parseStamp(string(v.StartedAt))
		if !ok {
			continue
		}
		if day > end {
			continue
		}
		typ, home := v.Type, false
		switch typ {
		case "home_announced", "home_unannounced", "initial_home":
			home = true
			if v.Location == "doorstep" {
				typ = "doorstep" // a home visit that got no further than the door
			}
		case "doorstep":
			home = true
		}
		noAccess := false
		switch v.Outcome {
		case "no_answer", "refused_entry", "not_present", "abandoned_safety":
			noAccess = true
		}
		out = append(out, visit{
			id: v.ID, day: day, at: at, typ: typ,
			counts:  v.Outcome == "completed" && v.FaceToFace && v.Location != "elsewhere",
			attempt: home && noAccess && v.Location != "elsewhere",
			src:     &in.Visits[i],
		})
	}
	// Compared field by field, not with cmp.Or, which would compare the
	// ids of every pair: the sort ran a third of the overview's time.
	slices.SortFunc(out, func(a, b visit) int {
		if c := cmp.Compare(a.day, b.day); c != 0 {
			return c
		}
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// gatherTriggers derives the case's triggers from its records and adds the
// caller's events; one per kind and day, none after end. Changes (address,
// partner, child, police call-out) count only after supervision started:
// before it, the start's own visit covers them.
func gatherTriggers(in CaseFacts, end int) []trigger {
	var out []trigger
	add := func(kind Trigger, day int, source string) {
		if day <= end {
			out = append(out, trigger{kind, day, source})
		}
	}
	start, hasStart := dayOf(in.Case.SupervisionStart)
	after := func(d schema.Date) (int, bool) {
		day, ok := dayOf(d)
		return day, ok && hasStart && day > start
	}
	if hasStart {
		add(TriggerSupervisionStart, start, "case")
	}
	if day, ok := after(in.Case.AddressSince); ok && !in.Case.NoFixedAbode {
		add(TriggerNewAddress, day, "case")
	}
	for _, m := range in.Household {
		if !sameCase(in.Case.ID, m.CaseID) {
			continue
		}
		day, ok := after(m.AddedOn)
		switch {
		case !ok:
		case m.IsPartner():
			add(TriggerNewPartner, day, "household_member:"+m.ID)
		case m.IsChild():
			add(TriggerNewChild, day, "household_member:"+m.ID)
		}
	}
	for _, e := range in.Enquiries {
		if !sameCase(in.Case.ID, e.CaseID) || e.Agency != "police" || e.Result != "da_information_found" {
			continue
		}
		if day, ok := after(e.AnsweredOn); ok {
			add(TriggerPoliceCallout, day, "enquiry:"+e.ID)
		}
	}
	for _, e := range in.Events {
		day, ok := dayOf(e.On)
		if !ok || !e.Kind.Valid() || (hasStart && day < start) {
			continue
		}
		source := e.Source
		if source == "" {
			source = "event"
		}
		add(e.Kind, day, source)
	}
	slices.SortFunc(out, func(a, b trigger) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.day, b.day), cmp.Compare(a.source, b.source))
	})
	return slices.CompactFunc(out, func(a, b trigger) bool { return a.kind == b.kind && a.day == b.day })
}

// liveFlags returns the span of days each of the case's flags is live: from
// its start date (or always, when it has none) to its end.
func liveFlags(in CaseFacts) []flagSpan {
	out := make([]flagSpan, 0, len(in.Flags))
	for _, f := range in.Flags {
		if !sameCase(in.Case.ID, f.CaseID) {
			continue
		}
		s := flagSpan{typ: f.Type, from: minDay, till: maxDay}
		if d, ok := dayOf(f.StartDate); ok {
			s.from = d
		}
		if d, ok := dayOf(f.EndedOn); ok {
			s.till = d
		}
		out = append(out, s)
	}
	return out
}

func flagsMatch(want []string, flags []flagSpan, day int) bool {
	if len(want) == 0 {
		return true
	}
	for _, f := range flags {
		if f.from <= day && day < f.till && slices.Contains(want, f.typ) {
			return true
		}
	}
	return false
}

func caseMatches(c Conditions, k schema.Case) bool {
	return (len(c.RoSH) == 0 || slices.Contains(c.RoSH, k.RoSH)) &&
		(len(c.SentenceTypes) == 0 || slices.Contains(c.SentenceTypes, k.SentenceType))
}

func sameCase(caseID, recordCaseID string) bool {
	return caseID == "" || recordCaseID == "" || caseID == recordCaseID
}

// Overdue returns the missed requirements of open cases, most overdue
// first: the tablet's and the supervisor's "overdue now" list.
func Overdue(reqs []Requirement) []Requirement {
	var out []Requirement
	for _, r := range reqs {
		if r.Status == StatusMissed && !r.CaseClosed {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Requirement) int {
		return cmp.Or(cmp.Compare(b.DaysOverdue, a.DaysOverdue), compareRequirements(a, b))
	})
	return out
}

// Next returns the open requirement due soonest (ties: by rule id), and
// false when none is open.
func Next(reqs []Requirement) (Requirement, bool) {
	var best Requirement
	found := false
	for _, r := range reqs {
		if r.Status == StatusOpen && (!found || compareRequirements(r, best) < 0) {
			best, found = r, true
		}
	}
	return best, found
}

// Days are counted as whole days since 1970-01-01, so that due dates are
// plain additions.
const (
	minDay = -1 << 31
	maxDay = 1<<31 - 1
)

// The dates and times below are read and written by hand rather than with
// time.Parse and Format: the requirements of a 500-case team are computed
// for every week of a trend, and parsing took a third of it. Each agrees
// with the time package (TestStampsAgreeWithTime) and falls back to it
// for any text it does not read itself.

func dayOf(d schema.Date) (int, bool) {
	if len(d) != len(time.DateOnly) {
		return 0, false
	}
	if day, ok := quickDay(string(d)); ok {
		return day, true
	}
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return 0, false
	}
	return int(t.Unix() / 86400), true
}

// quickDay reads "YYYY-MM-DD" (a valid date of years 1000 to 9999) as days
// since 1970-01-01; false for anything else.
func quickDay(s string) (int, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1000 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return civilDay(y, time.Month(m), d), true
}

// parseStamp reads an RFC 3339 timestamp: its day as written (in its own
// offset) and its instant in Unix nanoseconds.
func parseStamp(s string) (day int, at int64, ok bool) {
	if day, at, ok := quickStamp(s); ok {
		return day, at, true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, 0, false
	}
	y, m, d := t.Date()
	return civilDay(y, m, d), t.UnixNano(), true
}

// quickStamp reads "YYYY-MM-DDTHH:MM:SS", then up to nine digits of a
// fraction, then "Z" or an offset "+HH:MM"; false for anything else.
func quickStamp(s string) (day int, at int64, ok bool) {
	if len(s) < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	if day, ok = quickDay(s[:10]); !ok {
		return 0, 0, false
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return 0, 0, false
	}
	rest, frac := s[19:], 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return 0, 0, false
		}
		frac, _ = digits(rest[1:n])
		for i := n; i < 10; i++ {
			frac *= 10
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, 0, false
	}
	sec := int64(day)*86400 + int64(hh*3600+mm*60+ss) - int64(offset)
	return day, sec*1e9 + int64(frac), true
}

// digits reads a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// civilDay is the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian; H. Hinnant's days_from_civil).
func civilDay(y int, m time.Month, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (int(m) + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOf writes days since 1970-01-01 as "YYYY-MM-DD" (years 0 to 9999;
// others through the time package).
func dateOf(day int) schema.Date {
	z := day + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	if y < 0 || y > 9999 {
		return schema.Date(time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly))
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d/10), byte('0' + d%10)}
	return schema.Date(b[:])
}

// SafetyExemption turns a pre-visit safety assessment into the exemption
// the tablet and the server both pass in, so that both get the same answer:
// a manager's "exempted" or "not_approved" decision on the case's current
// address exempts every rule of the case, with the decision's reason and
// the manager as approver. Other decisions (approved, pending, referred), or
// an assessment of an address the case has left, exempt nothing. Pass the
// latest assessment of the address.
func SafetyExemption(c schema.Case, a schema.SafetyAssessment) (Exemption, bool) {
	if !sameCase(c.ID, a.CaseID) || (a.Address != "" && c.Address != "" && a.Address != c.Address) {
		return Exemption{}, false
	}
	var what string
	switch a.Decision {
	case "exempted":
		what = "home visits exempted by the safety assessment"
	case "not_approved":
		what = "home visits not approved by the safety assessment"
	default:
		return Exemption{}, false
	}
	if a.DecidedOn != "" {
		what += " of " + string(a.DecidedOn)
	}
	if a.DecisionReason != "" {
		what += ": " + a.DecisionReason
	}
	return Exemption{Reason: what, ApprovedBy: a.DecidedBy}, true
}
