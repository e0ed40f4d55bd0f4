package compliance

import (
	"cmp"
	"slices"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// HouseholdConfirmMonths is how recent a household's confirmation must be
// for measure 5: as_of no later than this many months after every current
// member's confirmation (policy.MonthsAfter; docs/compliance.md, measure 5).
const HouseholdConfirmMonths = schema.HouseholdConfirmMonths

// Household statuses of a case on as_of (measure 5).
const (
	HouseholdConfirmed    = "confirmed"     // every current member confirmed in the last 3 months
	HouseholdNotConfirmed = "not_confirmed" // some current member confirmed longer ago, or never
	HouseholdNotRecorded  = "not_recorded"  // no current member recorded
	HouseholdNotYetDue    = "not_yet_due"   // not confirmed, but supervision started less than 3 months ago
)

// Children statuses of a home visit (measure 5).
const (
	ChildrenAllSeen      = "all_seen"       // every child on the household list seen
	ChildrenSeenOrReason = "seen_or_reason" // every child seen or a reason given, some not seen
	ChildrenUnaccounted  = "unaccounted"    // some child neither seen nor given a reason
	ChildrenNone         = "no_children"    // no child on the household list that day
)

// Partner statuses of a case over the period (measure 5).
const (
	PartnerSeenAlone    = "seen_alone"     // seen alone at a completed visit in the period
	PartnerSeenNotAlone = "seen_not_alone" // seen, never alone
	PartnerNotSeen      = "not_seen"       // no completed visit in the period recorded the partner present
	PartnerNone         = "no_partner"     // no current partner in the household
)

// CaseShare is a proportion of cases, each part with its case ids.
type CaseShare struct {
	Numerator   IDs      `json:"numerator"`
	Denominator IDs      `json:"denominator"`
	Percent     *float64 `json:"percent"` // null when the denominator is 0
}

func (s *CaseShare) count(id string, inNumerator bool) {
	s.Denominator.add(id)
	if inNumerator {
		s.Numerator.add(id)
	}
}

func (s *CaseShare) finish() {
	s.Numerator.finish()
	s.Denominator.finish()
	s.Percent = percent(s.Numerator.N, s.Denominator.N)
}

// HouseholdFigures are measure 5's figures for one set of cases.
type HouseholdFigures struct {
	// Cases: the open domestic-abuse cases (a DA flag live on some day of
	// the period up to as_of) whose supervision started on or before as_of.
	Cases IDs `json:"cases"`
	// Confirmed: cases with every current member confirmed in the last 3
	// months, over the cases due to be (NotYetDue left out).
	Confirmed    CaseShare `json:"confirmed"`
	NotConfirmed IDs       `json:"not_confirmed"`
	NotRecorded  IDs       `json:"not_recorded"`
	NotYetDue    IDs       `json:"not_yet_due"`
	// VictimInOwnRight: cases with a current child, where every current
	// child's "victim in their own right" is answered yes or no.
	VictimInOwnRight    CaseShare `json:"victim_in_own_right"`
	VictimNotKnown      IDs       `json:"victim_not_known"`  // none blank, some "not_known"
	VictimUnanswered    IDs       `json:"victim_unanswered"` // some blank
	ChildrenSeen        Share     `json:"children_seen"`     // home visits: every child seen or a reason given
	ChildrenAllSeen     VisitIDs  `json:"children_all_seen"`
	ChildrenUnaccounted VisitIDs  `json:"children_unaccounted"`
	// VisitsNoChildren: completed home visits with no child on the list that
	// day; in neither part of ChildrenSeen.
	VisitsNoChildren VisitIDs `json:"visits_no_children"`
	// ChildNotOnRecord: home visits where the officer saw a child who is
	// not on the household list (observation child_not_on_record).
	ChildNotOnRecord VisitIDs `json:"child_not_on_record"`
	// PartnerSeenAlone: cases with a partner in the household during the
	// period, where the partner was seen alone at a completed visit in it.
	PartnerSeenAlone    CaseShare `json:"partner_seen_alone"`
	PartnerSeenNotAlone IDs       `json:"partner_seen_not_alone"`
	PartnerNotSeen      IDs       `json:"partner_not_seen"`
	NoPartner           IDs       `json:"no_partner"`
}

func (f *HouseholdFigures) count(r HouseholdCase, visits []HouseholdVisit) {
	id := r.CaseID
	f.Cases.add(id)
	switch r.Household {
	case HouseholdConfirmed:
		f.Confirmed.count(id, true)
	case HouseholdNotConfirmed:
		f.Confirmed.count(id, false)
		f.NotConfirmed.add(id)
	case HouseholdNotRecorded:
		f.Confirmed.count(id, false)
		f.NotRecorded.add(id)
	case HouseholdNotYetDue:
		f.NotYetDue.add(id)
	}
	if r.Children > 0 {
		f.VictimInOwnRight.count(id, r.VictimInOwnRight == "answered")
		switch r.VictimInOwnRight {
		case "not_known":
			f.VictimNotKnown.add(id)
		case "unanswered":
			f.VictimUnanswered.add(id)
		}
	}
	switch r.Partner {
	case PartnerSeenAlone:
		f.PartnerSeenAlone.count(id, true)
	case PartnerSeenNotAlone:
		f.PartnerSeenAlone.count(id, false)
		f.PartnerSeenNotAlone.add(id)
	case PartnerNotSeen:
		f.PartnerSeenAlone.count(id, false)
		f.PartnerNotSeen.add(id)
	default:
		f.NoPartner.add(id)
	}
	for _, hv := range visits {
		v := schema.Visit{ID: hv.VisitID, CaseID: id}
		switch hv.Children {
		case ChildrenNone:
			f.VisitsNoChildren.add(v)
		case ChildrenAllSeen:
			f.ChildrenSeen.count(v, true)
			f.ChildrenAllSeen.add(v)
		case ChildrenSeenOrReason:
			f.ChildrenSeen.count(v, true)
		default:
			f.ChildrenSeen.count(v, false)
			f.ChildrenUnaccounted.add(v)
		}
		if hv.ChildNotOnRecord {
			f.ChildNotOnRecord.add(v)
		}
	}
}

func (f *HouseholdFigures) finish() {
	for _, x := range []*IDs{&f.Cases, &f.NotConfirmed, &f.NotRecorded, &f.NotYetDue, &f.VictimNotKnown, &f.VictimUnanswered,
		&f.PartnerSeenNotAlone, &f.PartnerNotSeen, &f.NoPartner} {
		x.finish()
	}
	for _, s := range []*CaseShare{&f.Confirmed, &f.VictimInOwnRight, &f.PartnerSeenAlone} {
		s.finish()
	}
	f.ChildrenSeen.finish()
	for _, x := range []*VisitIDs{&f.ChildrenAllSeen, &f.ChildrenUnaccounted, &f.VisitsNoChildren, &f.ChildNotOnRecord} {
		x.finish()
	}
}

// HouseholdVisit is one completed home visit of measure 5 and what was
// seen of the children on the household list that day.
type HouseholdVisit struct {
	VisitID string      `json:"visit_id"`
	Day     schema.Date `json:"day"`
	// Children: all_seen, seen_or_reason, unaccounted or no_children.
	Children string `json:"children"`
	// Expected: the children on the household list that day; Seen, Reason
	// and Unaccounted split them.
	Expected         []string `json:"expected"`
	Seen             []string `json:"seen"`
	Reason           []string `json:"reason_given"`
	Unaccounted      []string `json:"unaccounted"`
	ChildNotOnRecord bool     `json:"child_not_on_record,omitempty"`
	PartnerPresent   string   `json:"partner_present,omitempty"`
	PartnerAlone     string   `json:"partner_seen_alone,omitempty"`
}

// HouseholdCase is one case of measure 5, by its current allocation.
type HouseholdCase struct {
	CaseID           string      `json:"case_id"`
	CRN              string      `json:"crn"`
	OfficerID        string      `json:"officer_id"`
	OfficerName      string      `json:"officer_name"`
	TeamID           string      `json:"team_id"`
	TeamName         string      `json:"team_name"`
	SupervisionStart schema.Date `json:"supervision_start"`
	DAFlags          []string    `json:"da_flags"`
	// Household: confirmed, not_confirmed, not_recorded or not_yet_due;
	// Members the current members; ConfirmedOn the oldest of their latest
	// confirmations (empty when one was never confirmed).
	Household   string      `json:"household"`
	Members     int         `json:"members"`
	ConfirmedOn schema.Date `json:"confirmed_on,omitempty"`
	// Children: current children; VictimInOwnRight: answered, not_known,
	// unanswered (or "" with no child).
	Children         int              `json:"children"`
	VictimInOwnRight string           `json:"victim_in_own_right,omitempty"`
	Partner          string           `json:"partner"`
	PartnerSeenOn    schema.Date      `json:"partner_seen_alone_on,omitempty"` // the latest such visit in the period
	Visits           []HouseholdVisit `json:"home_visits"`
}

// HouseholdsReport is measure 5 over a period: totals, per team, per
// officer (by the case's current allocation) and per case.
type HouseholdsReport struct {
	Measure   string                        `json:"measure"`
	Period    Period                        `json:"period"`
	AsOf      schema.Date                   `json:"as_of"`
	OfficerID string                        `json:"officer_id,omitempty"`
	Totals    HouseholdFigures              `json:"totals"`
	Teams     []Breakdown[HouseholdFigures] `json:"teams"`
	Officers  []Breakdown[HouseholdFigures] `json:"officers"`
	Cases     []HouseholdCase               `json:"cases"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers.
func (r *HouseholdsReport) CaseIDs() []string { return r.Totals.Cases.CaseIDs }

// memberOn reports whether m was in the household on day d: added on or
// before d (or with no added_on), not left by d.
func memberOn(m schema.HouseholdMember, d schema.Date) bool {
	return (m.AddedOn == "" || m.AddedOn <= d) && (m.LeftOn == "" || m.LeftOn > d)
}

// inDate reports whether a confirmation made on the given day is still in
// date on asOf: asOf is no later than HouseholdConfirmMonths months after
// it (policy.MonthsAfter). A day that is not a date ("" included) is not.
func inDate(on, asOf schema.Date) bool {
	until := policy.MonthsAfter(on, HouseholdConfirmMonths)
	return until != "" && asOf <= until
}

// signedDay returns a signed visit's local day, and whether it is signed
// with a readable started_at.
func signedDay(v schema.Visit) (schema.Date, bool) {
	if v.Status != "signed" || v.SignedAt == "" {
		return "", false
	}
	return visitDay(v.StartedAt)
}

// Households computes measure 5, "household recorded, children seen,
// partner seen alone", for the open domestic-abuse cases in scope over
// period, as the records stood on asOf. See docs/compliance.md.
func Households(in Input, period Period, asOf schema.Date) *HouseholdsReport {
	rep := &HouseholdsReport{Measure: "households", Period: period, AsOf: asOf, OfficerID: in.OfficerID, Cases: []HouseholdCase{}}
	g := newGroups[HouseholdFigures]()
	for _, cr := range in.cases() {
		c := cr.Case
		start := c.SupervisionStart
		if c.Closed || start == "" || start > asOf {
			continue
		}
		da := daFlags(cr.Flags, max(start, period.From), asOf)
		if len(da) == 0 {
			continue
		}
		row := HouseholdCase{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID, OfficerName: in.Officers[c.OfficerID],
			TeamID: c.TeamID, TeamName: in.Teams[c.TeamID], SupervisionStart: start, DAFlags: da, Visits: []HouseholdVisit{}}
		// The household as it stood on as_of.
		allConfirmed, victim := true, "answered"
		var oldest schema.Date
		never := false
		var partners []schema.HouseholdMember
		for _, m := range cr.Household {
			if m.IsPartner() && (m.AddedOn == "" || m.AddedOn <= asOf) && (m.LeftOn == "" || m.LeftOn > max(start, period.From)) {
				partners = append(partners, m)
			}
			if !memberOn(m, asOf) {
				continue
			}
			row.Members++
			on := m.ConfirmedOn
			if on > asOf {
				on = "" // confirmed after the day asked about
			}
			if !inDate(on, asOf) {
				allConfirmed = false
			}
			if on == "" {
				never = true
			} else if oldest == "" || on < oldest {
				oldest = on
			}
			if m.IsChild() {
				row.Children++
				switch m.ChildVictimInOwnRight {
				case "yes", "no":
				case "not_known":
					if victim == "answered" {
						victim = "not_known"
					}
				default:
					victim = "unanswered"
				}
			}
		}
		if !never {
			row.ConfirmedOn = oldest
		}
		switch {
		case row.Members > 0 && allConfirmed:
			row.Household = HouseholdConfirmed
		case inDate(start, asOf): // started less than HouseholdConfirmMonths before as_of
			row.Household = HouseholdNotYetDue
		case row.Members == 0:
			row.Household = HouseholdNotRecorded
		default:
			row.Household = HouseholdNotConfirmed
		}
		if row.Children > 0 {
			row.VictimInOwnRight = victim
		}
		// Visits in the period: children seen at completed home visits;
		// the partner seen alone at any completed face-to-face visit.
		row.Partner = PartnerNone
		if len(partners) > 0 {
			row.Partner = PartnerNotSeen
		}
		for _, v := range cr.Visits {
			day, ok := signedDay(v)
			if !ok || !period.Contains(day) || day > asOf || v.Outcome != "completed" {
				continue
			}
			if len(partners) > 0 && v.FaceToFace && v.PartnerPresent == "yes" {
				if v.PartnerSeenAlone == "yes" {
					row.Partner = PartnerSeenAlone
					row.PartnerSeenOn = max(row.PartnerSeenOn, day)
				} else if row.Partner == PartnerNotSeen {
					row.Partner = PartnerSeenNotAlone
				}
			}
			if ch, _ := ContactChannel(v); ch != ChannelHome {
				continue
			}
			row.Visits = append(row.Visits, childrenSeen(cr.Household, v, day))
		}
		slices.SortFunc(row.Visits, func(a, b HouseholdVisit) int {
			return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.VisitID, b.VisitID))
		})
		rep.Cases = append(rep.Cases, row)
		rep.Totals.count(row, row.Visits)
		team, officer := g.of(in, c)
		team.count(row, row.Visits)
		officer.count(row, row.Visits)
	}
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *HouseholdFigures) { f.finish() })
	slices.SortFunc(rep.Cases, func(a, b HouseholdCase) int {
		return cmp.Or(cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.CaseID, b.CaseID))
	})
	return rep
}

// childrenSeen says what a completed home visit on day recorded of each
// child on the household list that day: a child (own, step or other) who
// lives or sometimes stays there (not one who only visits), added on or
// before the day and not gone, born by then.
func childrenSeen(household []schema.HouseholdMember, v schema.Visit, day schema.Date) HouseholdVisit {
	hv := HouseholdVisit{VisitID: v.ID, Day: day, Expected: []string{}, Seen: []string{}, Reason: []string{}, Unaccounted: []string{},
		ChildNotOnRecord: slices.Contains(v.Observations, "child_not_on_record"), PartnerPresent: v.PartnerPresent,
		PartnerAlone: v.PartnerSeenAlone}
	for _, m := range household {
		if !m.IsChild() || m.Residence == "visits" || !memberOn(m, day) || (m.DateOfBirth != "" && m.DateOfBirth > day) {
			continue
		}
		hv.Expected = append(hv.Expected, m.ID)
		i := slices.IndexFunc(v.Children, func(c schema.VisitChild) bool { return c.MemberID == m.ID })
		switch {
		case i >= 0 && v.Children[i].Seen == "yes":
			hv.Seen = append(hv.Seen, m.ID)
		case i >= 0 && v.Children[i].ReasonNotSeen != "":
			hv.Reason = append(hv.Reason, m.ID)
		default:
			hv.Unaccounted = append(hv.Unaccounted, m.ID)
		}
	}
	for _, s := range [][]string{hv.Expected, hv.Seen, hv.Reason, hv.Unaccounted} {
		slices.Sort(s)
	}
	switch {
	case len(hv.Expected) == 0:
		hv.Children = ChildrenNone
	case len(hv.Unaccounted) > 0:
		hv.Children = ChildrenUnaccounted
	case len(hv.Reason) > 0:
		hv.Children = ChildrenSeenOrReason
	default:
		hv.Children = ChildrenAllSeen
	}
	return hv
}
