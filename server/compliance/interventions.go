package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
)

// RecordIDs is a count of records (referrals, flags), with the records and
// the (distinct) cases behind it, both sorted.
type RecordIDs struct {
	N       int      `json:"n"` // records
	IDs     []string `json:"ids"`
	CaseIDs []string `json:"case_ids"`
}

func (x *RecordIDs) add(id, caseID string) {
	x.N++
	x.IDs = append(x.IDs, id)
	x.CaseIDs = append(x.CaseIDs, caseID)
}

func (x *RecordIDs) finish() {
	if x.IDs == nil {
		x.IDs = []string{}
	}
	slices.Sort(x.IDs)
	x.CaseIDs = uniqueSorted(x.CaseIDs)
	x.N = len(x.IDs)
}

// RecordShare is a proportion of records.
type RecordShare struct {
	Numerator   RecordIDs `json:"numerator"`
	Denominator RecordIDs `json:"denominator"`
	Percent     *float64  `json:"percent"` // null when the denominator is 0
}

func (s *RecordShare) count(id, caseID string, inNumerator bool) {
	s.Denominator.add(id, caseID)
	if inNumerator {
		s.Numerator.add(id, caseID)
	}
}

func (s *RecordShare) finish() {
	s.Numerator.finish()
	s.Denominator.finish()
	s.Percent = percent(s.Numerator.N, s.Denominator.N)
}

// Stages of an intervention need in measure 6's funnel, as of as_of.
const (
	StageAwaitingDecision = "awaiting_decision" // decision pending or not recorded: not yet a failure
	StageNotReferred      = "not_referred"      // decided not_suitable or not_available, with the reason
	StageWaiting          = "waiting"           // referred, not started (awaiting allocation, scheduled, deferred, suitable but not ready)
	StageWithdrawn        = "withdrawn"         // referred, withdrawn before completing
	StageStarted          = "started"           // on programme, or in breach after starting
	StageCompleted        = "completed"         // programme complete
)

// NotReferredReason is why one need was not referred, as recorded.
type NotReferredReason struct {
	ReferralID string `json:"referral_id"`
	CaseID     string `json:"case_id"`
	Need       string `json:"need"`
	Decision   string `json:"decision"`
	Reason     string `json:"reason"`
}

// InterventionFigures are measure 6's figures for one set of needs. Every
// need identified in the period is in exactly one of AwaitingDecision,
// NotReferred, Waiting, Withdrawn, Started (not completed) and Completed.
type InterventionFigures struct {
	Needed           RecordIDs `json:"needed"`
	AwaitingDecision RecordIDs `json:"awaiting_decision"`
	NotReferred      RecordIDs `json:"not_referred"`
	Referred         RecordIDs `json:"referred"`
	Waiting          RecordIDs `json:"waiting"`
	Withdrawn        RecordIDs `json:"withdrawn"`
	Started          RecordIDs `json:"started"` // started, completed included
	Completed        RecordIDs `json:"completed"`
	// ReferredShare: referred over needs decided (referred + not
	// referred); StartedShare: started over referred; CompletedShare:
	// completed over started; DeliveredShare: started over needs decided,
	// the inspectorate's "should have had an intervention and had one".
	ReferredShare      RecordShare         `json:"referred_share"`
	StartedShare       RecordShare         `json:"started_share"`
	CompletedShare     RecordShare         `json:"completed_share"`
	DeliveredShare     RecordShare         `json:"delivered_share"`
	NotReferredReasons []NotReferredReason `json:"not_referred_reasons"`
	// Statuses: the referred needs by their status on as_of ("unknown"
	// when none is recorded, or it was set after as_of).
	Statuses map[string]*RecordIDs `json:"statuses"`
}

func (f *InterventionFigures) count(r InterventionItem) {
	id, cid := r.ReferralID, r.CaseID
	f.Needed.add(id, cid)
	decided := r.Stage != StageAwaitingDecision
	referred := decided && r.Stage != StageNotReferred
	started := r.Stage == StageStarted || r.Stage == StageCompleted
	switch r.Stage {
	case StageAwaitingDecision:
		f.AwaitingDecision.add(id, cid)
	case StageNotReferred:
		f.NotReferred.add(id, cid)
		f.NotReferredReasons = append(f.NotReferredReasons, NotReferredReason{ReferralID: id, CaseID: cid, Need: r.Need,
			Decision: r.Decision, Reason: r.DecisionReason})
	case StageWaiting:
		f.Waiting.add(id, cid)
	case StageWithdrawn:
		f.Withdrawn.add(id, cid)
	case StageCompleted:
		f.Completed.add(id, cid)
	}
	if decided {
		f.ReferredShare.count(id, cid, referred)
		f.DeliveredShare.count(id, cid, started)
	}
	if referred {
		f.Referred.add(id, cid)
		f.StartedShare.count(id, cid, started)
		if f.Statuses == nil {
			f.Statuses = map[string]*RecordIDs{}
		}
		st := cmp.Or(r.Status, "unknown")
		if f.Statuses[st] == nil {
			f.Statuses[st] = &RecordIDs{}
		}
		f.Statuses[st].add(id, cid)
	}
	if started {
		f.Started.add(id, cid)
		f.CompletedShare.count(id, cid, r.Stage == StageCompleted)
	}
}

func (f *InterventionFigures) finish() {
	for _, x := range []*RecordIDs{&f.Needed, &f.AwaitingDecision, &f.NotReferred, &f.Referred, &f.Waiting, &f.Withdrawn, &f.Started, &f.Completed} {
		x.finish()
	}
	for _, s := range []*RecordShare{&f.ReferredShare, &f.StartedShare, &f.CompletedShare, &f.DeliveredShare} {
		s.finish()
	}
	if f.NotReferredReasons == nil {
		f.NotReferredReasons = []NotReferredReason{}
	}
	slices.SortFunc(f.NotReferredReasons, func(a, b NotReferredReason) int { return cmp.Compare(a.ReferralID, b.ReferralID) })
	if f.Statuses == nil {
		f.Statuses = map[string]*RecordIDs{}
	}
	for _, x := range f.Statuses {
		x.finish()
	}
}

// InterventionItem is one intervention need of measure 6.
type InterventionItem struct {
	ReferralID     string      `json:"referral_id"`
	CaseID         string      `json:"case_id"`
	CRN            string      `json:"crn"`
	OfficerID      string      `json:"officer_id"`
	OfficerName    string      `json:"officer_name"`
	TeamID         string      `json:"team_id"`
	TeamName       string      `json:"team_name"`
	Need           string      `json:"need"`
	IdentifiedOn   schema.Date `json:"identified_on"`
	Decision       string      `json:"decision"` // as recorded ("" when none)
	DecisionReason string      `json:"decision_reason,omitempty"`
	Status         string      `json:"status,omitempty"` // as of as_of
	StatusOn       schema.Date `json:"status_on,omitempty"`
	Stage          string      `json:"stage"`
	// DaysInStage: days from status_on (or identified_on, awaiting a
	// decision) to as_of.
	DaysInStage int `json:"days_in_stage"`
}

// InterventionsReport is measure 6 over a period: totals, per team, per
// officer (by the case's current allocation) and per need.
type InterventionsReport struct {
	Measure   string                           `json:"measure"`
	Period    Period                           `json:"period"`
	AsOf      schema.Date                      `json:"as_of"`
	OfficerID string                           `json:"officer_id,omitempty"`
	Totals    InterventionFigures              `json:"totals"`
	Teams     []Breakdown[InterventionFigures] `json:"teams"`
	Officers  []Breakdown[InterventionFigures] `json:"officers"`
	// Needs: the figures per kind of need (e.g. "Building Better
	// Relationships"), sorted by need.
	Needs []NeedFigures      `json:"needs"`
	Items []InterventionItem `json:"items"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// NeedFigures are measure 6's figures for one kind of need.
type NeedFigures struct {
	Need string              `json:"need"`
	F    InterventionFigures `json:"figures"`
}

// CaseIDs returns the cases the report covers.
func (r *InterventionsReport) CaseIDs() []string { return r.Totals.Needed.CaseIDs }

// Interventions computes measure 6, the intervention funnel (need →
// referred → started → completed), for the needs identified in the period
// and on or before asOf. The records keep only a referral's current
// decision and status: a status dated after asOf is read as "unknown"
// (referred, not started as far as asOf knew).
func Interventions(in Input, period Period, asOf schema.Date) *InterventionsReport {
	rep := &InterventionsReport{Measure: "interventions", Period: period, AsOf: asOf, OfficerID: in.OfficerID,
		Needs: []NeedFigures{}, Items: []InterventionItem{}}
	g := newGroups[InterventionFigures]()
	byNeed := map[string]*NeedFigures{}
	for _, cr := range in.cases() {
		c := cr.Case
		for _, r := range cr.Referrals {
			if !period.Contains(r.IdentifiedOn) || r.IdentifiedOn > asOf {
				continue
			}
			it := InterventionItem{ReferralID: r.ID, CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
				TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], Need: r.Need, IdentifiedOn: r.IdentifiedOn, Decision: r.Decision,
				DecisionReason: r.DecisionReason}
			since := r.IdentifiedOn
			switch r.Decision {
			case "refer":
				if r.StatusOn == "" || r.StatusOn <= asOf {
					it.Status, it.StatusOn = r.Status, r.StatusOn
				}
				switch it.Status {
				case "completed":
					it.Stage = StageCompleted
				case "on_programme", "breach":
					it.Stage = StageStarted
				case "withdrawn":
					it.Stage = StageWithdrawn
				default:
					it.Stage = StageWaiting
				}
				if it.StatusOn != "" {
					since = it.StatusOn
				}
			case "not_suitable", "not_available":
				it.Stage = StageNotReferred
			default:
				it.Stage = StageAwaitingDecision
			}
			it.DaysInStage = max(0, days(since, asOf))
			rep.Items = append(rep.Items, it)
			rep.Totals.count(it)
			team, officer := g.of(in, c)
			team.count(it)
			officer.count(it)
			n := byNeed[r.Need]
			if n == nil {
				n = &NeedFigures{Need: r.Need}
				byNeed[r.Need] = n
			}
			n.F.count(it)
		}
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *InterventionFigures) { f.finish() })
	for _, n := range byNeed {
		n.F.finish()
		rep.Needs = append(rep.Needs, *n)
	}
	slices.SortFunc(rep.Needs, func(a, b NeedFigures) int { return cmp.Compare(a.Need, b.Need) })
	slices.SortFunc(rep.Items, func(a, b InterventionItem) int {
		return cmp.Or(cmp.Compare(a.IdentifiedOn, b.IdentifiedOn), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.ReferralID, b.ReferralID))
	})
	return rep
}
