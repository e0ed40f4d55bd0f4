package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
)

// Agencies of measure 4.
const (
	AgencyPolice            = "police"
	AgencyChildrensServices = "childrens_services"
)

// Statuses of a case's start-of-supervision enquiry to one agency, as of
// the report's as_of.
const (
	EnquiryAnswered     = "answered"      // answered_on set, on or before as_of
	EnquiryNotRequested = "not_requested" // not answered; a reason for not requesting it is recorded
	EnquiryOverdue      = "overdue"       // requested, not answered, due_on before as_of
	EnquiryAwaiting     = "awaiting"      // requested, not answered, not yet due (or no due date)
	EnquiryNotRecorded  = "not_recorded"  // no enquiry recorded at all
)

// enquiryStages are the stages of the enquiries made for the start of
// supervision; review and change-of-circumstances enquiries are not in
// measure 4.
var enquiryStages = []string{"pre_sentence", "initial_assessment"}

// childRelations are the household relations that are children.
var childRelations = []string{"own_child", "step_child", "other_child"}

// childFlags are the flags that call for a children's-services enquiry.
var childFlags = []string{"child_concerns", "child_protection", "risk_to_children"}

// EnquiryDays is how many days after the supervision start one case's
// enquiry was answered (negative when answered before it, pre-sentence).
type EnquiryDays struct {
	CaseID string `json:"case_id"`
	Days   int    `json:"days"`
}

// EnquiryReason is why one case's enquiry was not requested, as recorded.
type EnquiryReason struct {
	CaseID    string `json:"case_id"`
	EnquiryID string `json:"enquiry_id"`
	Reason    string `json:"reason"`
}

// AgencyFigures are measure 4's figures for one agency. Every case that
// needed an enquiry (Needed, the denominator) is in exactly one of
// Answered (the numerator), NotRequested, Overdue, Awaiting and
// NotRecorded.
type AgencyFigures struct {
	Needed       IDs      `json:"needed"`
	Answered     IDs      `json:"answered"`
	Percent      *float64 `json:"percent"`
	NotRequested IDs      `json:"not_requested"`
	Overdue      IDs      `json:"overdue"`
	Awaiting     IDs      `json:"awaiting"`
	NotRecorded  IDs      `json:"not_recorded"`
	// AnsweredNotNeeded: answered for a case the rule does not say needed
	// one; in neither the numerator nor the denominator.
	AnsweredNotNeeded   IDs             `json:"answered_not_needed"`
	NotRequestedReasons []EnquiryReason `json:"not_requested_reasons"`
	// Days: for each case in Answered, days from supervision start to the
	// answer; MedianDays their median (null when none).
	Days       []EnquiryDays `json:"days"`
	MedianDays *float64      `json:"median_days"`
}

func (f *AgencyFigures) count(caseID string, a AgencyEnquiry) {
	if !a.Needed {
		if a.Status == EnquiryAnswered {
			f.AnsweredNotNeeded.add(caseID)
		}
		return
	}
	f.Needed.add(caseID)
	switch a.Status {
	case EnquiryAnswered:
		f.Answered.add(caseID)
		f.Days = append(f.Days, EnquiryDays{CaseID: caseID, Days: *a.Days})
	case EnquiryNotRequested:
		f.NotRequested.add(caseID)
		f.NotRequestedReasons = append(f.NotRequestedReasons, EnquiryReason{CaseID: caseID, EnquiryID: a.EnquiryID, Reason: a.Reason})
	case EnquiryOverdue:
		f.Overdue.add(caseID)
	case EnquiryAwaiting:
		f.Awaiting.add(caseID)
	default:
		f.NotRecorded.add(caseID)
	}
}

func (f *AgencyFigures) finish() {
	for _, x := range []*IDs{&f.Needed, &f.Answered, &f.NotRequested, &f.Overdue, &f.Awaiting, &f.NotRecorded, &f.AnsweredNotNeeded} {
		x.finish()
	}
	f.Percent = percent(f.Answered.N, f.Needed.N)
	if f.NotRequestedReasons == nil {
		f.NotRequestedReasons = []EnquiryReason{}
	}
	slices.SortFunc(f.NotRequestedReasons, func(a, b EnquiryReason) int {
		return cmp.Or(cmp.Compare(a.CaseID, b.CaseID), cmp.Compare(a.EnquiryID, b.EnquiryID))
	})
	f.finishDays()
}

// finishDays sorts Days (by days, then case id) and sets MedianDays:
// the middle one's, or the mean of the middle two (null when none).
func (f *AgencyFigures) finishDays() {
	if f.Days == nil {
		f.Days = []EnquiryDays{}
	}
	slices.SortFunc(f.Days, func(a, b EnquiryDays) int {
		return cmp.Or(cmp.Compare(a.Days, b.Days), cmp.Compare(a.CaseID, b.CaseID))
	})
	f.MedianDays = nil
	if n := len(f.Days); n > 0 {
		m := float64(f.Days[n/2].Days)
		if n%2 == 0 {
			m = float64(f.Days[n/2-1].Days+f.Days[n/2].Days) / 2
		}
		f.MedianDays = &m
	}
}

// EnquiryFigures are measure 4's figures for one set of cases.
type EnquiryFigures struct {
	// Cases: every case whose supervision started in the period.
	Cases             IDs           `json:"cases"`
	Police            AgencyFigures `json:"police"`
	ChildrensServices AgencyFigures `json:"childrens_services"`
	// Inspection is the inspection's view beside Doorstep's.
	Inspection InspectionEnquiries `json:"inspection"`
}

func (f *EnquiryFigures) count(r EnquiryCase) {
	f.Cases.add(r.CaseID)
	f.Police.count(r.CaseID, r.Police)
	f.ChildrensServices.count(r.CaseID, r.ChildrensServices)
	if r.Police.Needed {
		f.Inspection.Police.count(r.CaseID, r.Police)
	}
	if r.ChildrensServices.Needed || r.ChildVisitsHousehold {
		f.Inspection.ChildrensServices.count(r.CaseID, r.ChildrensServices)
	}
}

func (f *EnquiryFigures) finish() {
	f.Cases.finish()
	f.Police.finish()
	f.ChildrensServices.finish()
	f.Inspection.Police.finish()
	f.Inspection.ChildrensServices.finish()
}

// InspectionEnquiries are measure 4 as the inspection asks it: was the
// check made before sentence or at the start of supervision? Per agency,
// of the cases that needed the enquiry (for children's services, also
// those with a child who only visits the household), those answered
// within the report's WithinDays of the start, or before it.
type InspectionEnquiries struct {
	Police            InTimeFigures `json:"police"`
	ChildrensServices InTimeFigures `json:"childrens_services"`
}

// InTimeFigures are one agency's figures of the inspection's view.
// Denominator is Numerator + AnsweredLate + the cases not answered.
type InTimeFigures struct {
	Numerator   IDs      `json:"numerator"`   // answered within within_days of the start, or before it
	Denominator IDs      `json:"denominator"` // the cases that needed the enquiry
	Percent     *float64 `json:"percent"`     // null when the denominator is 0
	// AnsweredLate: answered, but more than within_days after the start
	// (in Doorstep's numerator, not in this one).
	AnsweredLate IDs `json:"answered_late"`
}

func (f *InTimeFigures) count(caseID string, a AgencyEnquiry) {
	f.Denominator.add(caseID)
	switch {
	case a.AnsweredInTime:
		f.Numerator.add(caseID)
	case a.Status == EnquiryAnswered:
		f.AnsweredLate.add(caseID)
	}
}

func (f *InTimeFigures) finish() {
	f.Numerator.finish()
	f.Denominator.finish()
	f.AnsweredLate.finish()
	f.Percent = percent(f.Numerator.N, f.Denominator.N)
}

// AgencyEnquiry is one case's start-of-supervision enquiry to one agency.
type AgencyEnquiry struct {
	Needed bool `json:"needed"`
	// NeededBecause: what calls for it (flag types; "child_in_household").
	NeededBecause []string    `json:"needed_because"`
	Status        string      `json:"status"`
	EnquiryID     string      `json:"enquiry_id,omitempty"`
	Stage         string      `json:"stage,omitempty"`
	RequestedOn   schema.Date `json:"requested_on,omitempty"`
	DueOn         schema.Date `json:"due_on,omitempty"`
	AnsweredOn    schema.Date `json:"answered_on,omitempty"`
	Result        string      `json:"result,omitempty"`
	Days          *int        `json:"days,omitempty"`
	// AnsweredInTime: answered no more than the report's within_days after
	// the supervision start (an answer before it included).
	AnsweredInTime bool   `json:"answered_in_time"`
	Reason         string `json:"reason,omitempty"` // not_requested_reason
}

// EnquiryCase is one case of measure 4, by its current allocation.
type EnquiryCase struct {
	CaseID            string        `json:"case_id"`
	CRN               string        `json:"crn"`
	OfficerID         string        `json:"officer_id"`
	OfficerName       string        `json:"officer_name"`
	TeamID            string        `json:"team_id"`
	TeamName          string        `json:"team_name"`
	SupervisionStart  schema.Date   `json:"supervision_start"`
	Police            AgencyEnquiry `json:"police"`
	ChildrensServices AgencyEnquiry `json:"childrens_services"`
	// ChildVisitsHousehold: a child who only visits the household (not in
	// Doorstep's children's-services need; in the inspection's).
	ChildVisitsHousehold bool `json:"child_visits_household"`
}

// EnquiriesReport is measure 4 over a period: totals, per team, per
// officer (by the case's current allocation) and per case.
type EnquiriesReport struct {
	Measure string      `json:"measure"`
	Period  Period      `json:"period"`
	AsOf    schema.Date `json:"as_of"`
	// WithinDays is the inspection view's limit, from the rules document
	// (policy.Policy.EnquiryDays); RuleVersion names that document.
	WithinDays  int                         `json:"within_days"`
	RuleVersion string                      `json:"rule_version"`
	OfficerID   string                      `json:"officer_id,omitempty"`
	Totals      EnquiryFigures              `json:"totals"`
	Teams       []Breakdown[EnquiryFigures] `json:"teams"`
	Officers    []Breakdown[EnquiryFigures] `json:"officers"`
	Cases       []EnquiryCase               `json:"cases"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers.
func (r *EnquiriesReport) CaseIDs() []string { return r.Totals.Cases.CaseIDs }

// Enquiries computes measure 4, police and children's-services enquiries
// answered and how many days after the start, for the cases whose
// supervision started in the period and on or before asOf. See
// docs/compliance.md for the rules.
func Enquiries(in Input, period Period, asOf schema.Date) *EnquiriesReport {
	p := in.policy()
	within := p.EnquiryDays()
	rep := &EnquiriesReport{Measure: "enquiries", Period: period, AsOf: asOf, WithinDays: within, RuleVersion: p.Version,
		OfficerID: in.OfficerID, Cases: []EnquiryCase{}}
	g := newGroups[EnquiryFigures]()
	for _, cr := range in.cases() {
		c := cr.Case
		start := c.SupervisionStart
		if !period.Contains(start) || start > asOf {
			continue
		}
		row := EnquiryCase{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
			TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], SupervisionStart: start}
		row.Police = agencyEnquiry(cr.Enquiries, AgencyPolice, start, asOf)
		row.Police.NeededBecause = daFlags(cr.Flags, start, asOf)
		row.ChildrensServices = agencyEnquiry(cr.Enquiries, AgencyChildrensServices, start, asOf)
		row.ChildrensServices.NeededBecause = childNeed(cr, start, asOf)
		row.ChildVisitsHousehold = childIn(cr.Household, start, asOf, onlyVisits)
		for _, a := range []*AgencyEnquiry{&row.Police, &row.ChildrensServices} {
			a.AnsweredInTime = a.Status == EnquiryAnswered && *a.Days <= within
			a.Needed = len(a.NeededBecause) > 0
			if a.NeededBecause == nil {
				a.NeededBecause = []string{}
			}
		}
		rep.Cases = append(rep.Cases, row)
		rep.Totals.count(row)
		team, officer := g.of(in, c)
		team.count(row)
		officer.count(row)
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *EnquiryFigures) { f.finish() })
	slices.SortFunc(rep.Cases, func(a, b EnquiryCase) int {
		return cmp.Or(cmp.Compare(a.SupervisionStart, b.SupervisionStart), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.CaseID, b.CaseID))
	})
	return rep
}

// Residences of a child that childNeed counts: Doorstep's rule, and the
// children who only visit, whom the inspection's view adds.
var (
	livesOrStays = []string{"lives_here", "stays_sometimes"}
	onlyVisits   = []string{"visits"}
)

// childNeed says what calls for a children's-services enquiry: a child
// flag (child_concerns, child_protection, risk_to_children) live on some
// day from start to asOf, or a child who lives or sometimes stays in the
// household (childIn).
func childNeed(cr CaseRecords, start, asOf schema.Date) []string {
	var out []string
	for _, f := range cr.Flags {
		if slices.Contains(childFlags, f.Type) && (f.StartDate == "" || f.StartDate <= asOf) && (f.EndedOn == "" || f.EndedOn > start) &&
			!slices.Contains(out, f.Type) {
			out = append(out, f.Type)
		}
	}
	slices.Sort(out)
	if childIn(cr.Household, start, asOf, livesOrStays) {
		out = append(out, "child_in_household")
	}
	return out
}

// childIn reports whether a child (own_child, step_child, other_child)
// with one of the residences was in the household on some day from start
// to asOf (added_on, when set, on or before asOf; left_on, when set, after
// start).
func childIn(household []schema.HouseholdMember, start, asOf schema.Date, residences []string) bool {
	for _, m := range household {
		if slices.Contains(childRelations, m.Relation) && slices.Contains(residences, m.Residence) &&
			(m.AddedOn == "" || m.AddedOn <= asOf) && (m.LeftOn == "" || m.LeftOn > start) {
			return true
		}
	}
	return false
}

// agencyEnquiry picks the case's start-of-supervision enquiry to agency as
// it stood on asOf: the earliest answered on or before asOf; else one with
// a not_requested_reason; else the earliest requested on or before asOf
// (overdue when its due_on is before asOf, else awaiting); else none.
// Enquiries requested after asOf are ignored.
func agencyEnquiry(enqs []schema.Enquiry, agency string, start, asOf schema.Date) AgencyEnquiry {
	var answered, notRequested, requested *schema.Enquiry
	for i, e := range enqs {
		if e.Agency != agency || !slices.Contains(enquiryStages, e.Stage) || (e.RequestedOn != "" && e.RequestedOn > asOf) {
			continue
		}
		ep := &enqs[i]
		switch {
		case e.AnsweredOn != "" && e.AnsweredOn <= asOf:
			if answered == nil || cmp.Or(cmp.Compare(e.AnsweredOn, answered.AnsweredOn), cmp.Compare(e.ID, answered.ID)) < 0 {
				answered = ep
			}
		case e.NotRequestedReason != "" && e.RequestedOn == "":
			if notRequested == nil || e.ID < notRequested.ID {
				notRequested = ep
			}
		default:
			if requested == nil || cmp.Or(cmp.Compare(e.RequestedOn, requested.RequestedOn), cmp.Compare(e.ID, requested.ID)) < 0 {
				requested = ep
			}
		}
	}
	pick := func(e *schema.Enquiry, status string) AgencyEnquiry {
		a := AgencyEnquiry{Status: status, EnquiryID: e.ID, Stage: e.Stage, RequestedOn: e.RequestedOn, DueOn: e.DueOn}
		if status == EnquiryAnswered {
			days := int(e.AnsweredOn.Time().Sub(start.Time()).Hours() / 24)
			a.AnsweredOn, a.Result, a.Days = e.AnsweredOn, e.Result, &days
		}
		if status == EnquiryNotRequested {
			a.Reason = e.NotRequestedReason
		}
		return a
	}
	switch {
	case answered != nil:
		return pick(answered, EnquiryAnswered)
	case notRequested != nil:
		return pick(notRequested, EnquiryNotRequested)
	case requested != nil && requested.DueOn != "" && requested.DueOn < asOf:
		return pick(requested, EnquiryOverdue)
	case requested != nil:
		return pick(requested, EnquiryAwaiting)
	}
	return AgencyEnquiry{Status: EnquiryNotRecorded}
}
