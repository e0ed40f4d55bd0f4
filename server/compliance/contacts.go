package compliance

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"doorstep/schema"
)

// Channels of a contact, as measure 3 sorts them (schema.ContactChannel).
const (
	ChannelHome         = schema.ChannelHome
	ChannelDoorstep     = schema.ChannelDoorstep
	ChannelElsewhere    = schema.ChannelElsewhere
	ChannelPhone        = schema.ChannelPhone
	ChannelVideo        = schema.ChannelVideo
	ChannelOtherNotFace = schema.ChannelOtherNotFace
)

// Place types of a face-to-face contact away from the home.
const (
	placeCafe           = schema.PlaceCafe
	placeLibrary        = schema.PlaceLibrary
	placeOffice         = schema.PlaceOffice
	placeCommunityVenue = schema.PlaceCommunityVenue
)

// VisitIDs is a count of visits, with the visits and the (distinct) cases
// behind it, both sorted.
type VisitIDs struct {
	N        int      `json:"n"` // visits
	VisitIDs []string `json:"visit_ids"`
	CaseIDs  []string `json:"case_ids"`

	ranks []int32 // the cases, while counting (addRanked)
}

func (x *VisitIDs) add(v schema.Visit) {
	x.N++
	x.VisitIDs = append(x.VisitIDs, v.ID)
	x.CaseIDs = append(x.CaseIDs, v.CaseID)
}

// addRanked is add for a visit of the case ranked rank (see Contacts);
// finishRanked names the ranks.
func (x *VisitIDs) addRanked(id string, rank int32) {
	x.N++
	x.VisitIDs = append(x.VisitIDs, id)
	x.ranks = append(x.ranks, rank)
}

func (x *VisitIDs) finishRanked(byRank []string) {
	slices.Sort(x.ranks)
	x.ranks = slices.Compact(x.ranks)
	x.CaseIDs = make([]string, len(x.ranks))
	for i, r := range x.ranks {
		x.CaseIDs[i] = byRank[r]
	}
	x.ranks = nil
	x.finish()
}

func (x *VisitIDs) finish() {
	if x.VisitIDs == nil {
		x.VisitIDs = []string{}
	}
	// Contacts counts visits in id order, so the visit ids come sorted
	// (checking is cheaper than sorting hundreds of thousands again).
	if !slices.IsSorted(x.VisitIDs) {
		slices.Sort(x.VisitIDs)
	}
	x.CaseIDs = uniqueSorted(x.CaseIDs)
	x.N = len(x.VisitIDs)
}

// uniqueSorted returns the distinct ids, sorted, never nil. A long list
// of few distinct ids (a case per visit) is deduplicated before sorting.
func uniqueSorted(ids []string) []string {
	switch {
	case ids == nil:
		return []string{}
	case slices.IsSorted(ids):
		return slices.Compact(ids)
	case len(ids) < 64:
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	seen := make(map[string]struct{}, len(ids)/4)
	out := ids[:0]
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Share is a proportion of visits: its numerator, its denominator and the
// percentage (null when the denominator is 0).
type Share struct {
	Numerator   VisitIDs `json:"numerator"`
	Denominator VisitIDs `json:"denominator"`
	Percent     *float64 `json:"percent"`
}

func (s *Share) count(v schema.Visit, inNumerator bool) {
	s.Denominator.add(v)
	if inNumerator {
		s.Numerator.add(v)
	}
}

func (s *Share) countRanked(v *schema.Visit, rank int32, inNumerator bool) {
	s.Denominator.addRanked(v.ID, rank)
	if inNumerator {
		s.Numerator.addRanked(v.ID, rank)
	}
}

func (s *Share) finishRanked(byRank []string) {
	s.Numerator.finishRanked(byRank)
	s.Denominator.finishRanked(byRank)
	s.Percent = percent(s.Numerator.N, s.Denominator.N)
}

func (s *Share) finish() {
	s.Numerator.finish()
	s.Denominator.finish()
	s.Percent = percent(s.Numerator.N, s.Denominator.N)
}

// Places split the face-to-face contacts away from the home by place_type.
type Places struct {
	Cafe           VisitIDs `json:"cafe"`
	Library        VisitIDs `json:"library"`
	Office         VisitIDs `json:"office"`
	CommunityVenue VisitIDs `json:"community_venue"`
	Other          VisitIDs `json:"other"`
}

// ChannelFigures count contacts by how they happened. FaceToFace is Home +
// Doorstep + Elsewhere; Elsewhere is the sum of ElsewhereByPlace.
type ChannelFigures struct {
	FaceToFace         VisitIDs `json:"face_to_face"`
	Home               VisitIDs `json:"face_to_face_home"`
	Doorstep           VisitIDs `json:"face_to_face_doorstep"`
	Elsewhere          VisitIDs `json:"face_to_face_elsewhere"`
	ElsewhereByPlace   Places   `json:"elsewhere_by_place"`
	Phone              VisitIDs `json:"phone"`
	Video              VisitIDs `json:"video"`
	OtherNotFaceToFace VisitIDs `json:"other_not_face_to_face"`
}

func (f *ChannelFigures) count(v *schema.Visit, r int32, channel, place string) {
	switch channel {
	case ChannelHome:
		f.FaceToFace.addRanked(v.ID, r)
		f.Home.addRanked(v.ID, r)
	case ChannelDoorstep:
		f.FaceToFace.addRanked(v.ID, r)
		f.Doorstep.addRanked(v.ID, r)
	case ChannelElsewhere:
		f.FaceToFace.addRanked(v.ID, r)
		f.Elsewhere.addRanked(v.ID, r)
		switch place {
		case placeCafe:
			f.ElsewhereByPlace.Cafe.addRanked(v.ID, r)
		case placeLibrary:
			f.ElsewhereByPlace.Library.addRanked(v.ID, r)
		case placeOffice:
			f.ElsewhereByPlace.Office.addRanked(v.ID, r)
		case placeCommunityVenue:
			f.ElsewhereByPlace.CommunityVenue.addRanked(v.ID, r)
		default:
			f.ElsewhereByPlace.Other.addRanked(v.ID, r)
		}
	case ChannelPhone:
		f.Phone.addRanked(v.ID, r)
	case ChannelVideo:
		f.Video.addRanked(v.ID, r)
	default:
		f.OtherNotFaceToFace.addRanked(v.ID, r)
	}
}

func (f *ChannelFigures) finish(byRank []string) {
	p := &f.ElsewhereByPlace
	for _, x := range []*VisitIDs{&f.FaceToFace, &f.Home, &f.Doorstep, &f.Elsewhere, &p.Cafe, &p.Library, &p.Office,
		&p.CommunityVenue, &p.Other, &f.Phone, &f.Video, &f.OtherNotFaceToFace} {
		x.finishRanked(byRank)
	}
}

// AttemptOutcomes split the contacts that were not completed by outcome.
type AttemptOutcomes struct {
	NoAnswer        VisitIDs `json:"no_answer"`
	RefusedEntry    VisitIDs `json:"refused_entry"`
	NotPresent      VisitIDs `json:"not_present"`
	AbandonedSafety VisitIDs `json:"abandoned_safety"`
	NotUndertaken   VisitIDs `json:"not_undertaken"`
	Other           VisitIDs `json:"other"` // no outcome recorded, or one this code does not know
}

func (a *AttemptOutcomes) count(v *schema.Visit, r int32) {
	switch v.Outcome {
	case "no_answer":
		a.NoAnswer.addRanked(v.ID, r)
	case "refused_entry":
		a.RefusedEntry.addRanked(v.ID, r)
	case "not_present":
		a.NotPresent.addRanked(v.ID, r)
	case "abandoned_safety":
		a.AbandonedSafety.addRanked(v.ID, r)
	case "not_undertaken":
		a.NotUndertaken.addRanked(v.ID, r)
	default:
		a.Other.addRanked(v.ID, r)
	}
}

func (a *AttemptOutcomes) finish(byRank []string) {
	for _, x := range []*VisitIDs{&a.NoAnswer, &a.RefusedEntry, &a.NotPresent, &a.AbandonedSafety, &a.NotUndertaken, &a.Other} {
		x.finishRanked(byRank)
	}
}

// ElsewhereReason is why one face-to-face contact happened away from the
// home, as the officer recorded it.
type ElsewhereReason struct {
	VisitID   string `json:"visit_id"`
	CaseID    string `json:"case_id"`
	PlaceType string `json:"place_type"`
	Reason    string `json:"reason"`
}

// ContactFigures are measure 3's figures for one set of contacts. Every
// count comes with its visit ids and case ids.
type ContactFigures struct {
	// Contacts: every signed contact started in the period, completed or not.
	Contacts VisitIDs `json:"contacts"`
	// Completed: of those, the ones with outcome "completed"; Channels
	// splits them by how they happened.
	Completed VisitIDs       `json:"completed"`
	Channels  ChannelFigures `json:"channels"`
	// Attempts: the contacts not completed, by outcome and by channel.
	// They are in neither share.
	Attempts         VisitIDs          `json:"attempts"`
	AttemptOutcomes  AttemptOutcomes   `json:"attempt_outcomes"`
	AttemptChannels  ChannelFigures    `json:"attempt_channels"`
	ElsewhereReasons []ElsewhereReason `json:"elsewhere_reasons"`
	// HomeShare: completed face-to-face home contacts over completed
	// contacts (doorstep contacts are not in the numerator).
	HomeShare Share `json:"home_share"`
	// FaceToFaceShare: completed face-to-face contacts (home, doorstep,
	// elsewhere) over completed contacts.
	FaceToFaceShare Share `json:"face_to_face_share"`
	// DomesticAbuse is the inspection's view: the same figures for the
	// contacts of domestic-abuse cases only.
	DomesticAbuse DAContactFigures `json:"domestic_abuse"`
}

// DAContactFigures are measure 3's figures for the contacts whose case had
// a da_perpetrator or da_victim flag live on the contact's day (live as in
// measure 1), the cases the inspection's question is about.
type DAContactFigures struct {
	Contacts        VisitIDs `json:"contacts"`
	Completed       VisitIDs `json:"completed"`
	Attempts        VisitIDs `json:"attempts"`
	HomeShare       Share    `json:"home_share"`
	FaceToFaceShare Share    `json:"face_to_face_share"`
}

func (f *DAContactFigures) count(v *schema.Visit, r int32, channel string) {
	f.Contacts.addRanked(v.ID, r)
	if v.Outcome != "completed" {
		f.Attempts.addRanked(v.ID, r)
		return
	}
	f.Completed.addRanked(v.ID, r)
	f.HomeShare.countRanked(v, r, channel == ChannelHome)
	f.FaceToFaceShare.countRanked(v, r, faceToFace(channel))
}

func (f *DAContactFigures) finish(byRank []string) {
	for _, x := range []*VisitIDs{&f.Contacts, &f.Completed, &f.Attempts} {
		x.finishRanked(byRank)
	}
	for _, x := range []*Share{&f.HomeShare, &f.FaceToFaceShare} {
		x.finishRanked(byRank)
	}
}

// faceToFace reports whether a contact of the channel was face to face.
func faceToFace(channel string) bool {
	return channel == ChannelHome || channel == ChannelDoorstep || channel == ChannelElsewhere
}

func (f *ContactFigures) count(v *schema.Visit, r int32, channel, place string, da bool) {
	if da {
		f.DomesticAbuse.count(v, r, channel)
	}
	f.Contacts.addRanked(v.ID, r)
	if v.Outcome == "completed" {
		f.Completed.addRanked(v.ID, r)
		f.Channels.count(v, r, channel, place)
		f.HomeShare.countRanked(v, r, channel == ChannelHome)
		f.FaceToFaceShare.countRanked(v, r, faceToFace(channel))
	} else {
		f.Attempts.addRanked(v.ID, r)
		f.AttemptOutcomes.count(v, r)
		f.AttemptChannels.count(v, r, channel, place)
	}
	if channel == ChannelElsewhere {
		f.ElsewhereReasons = append(f.ElsewhereReasons, ElsewhereReason{VisitID: v.ID, CaseID: v.CaseID, PlaceType: place, Reason: v.ElsewhereReason})
	}
}

// finish sorts and names the ids behind every count; byRank names the
// cases' ranks.
func (f *ContactFigures) finish(byRank []string) {
	f.Contacts.finishRanked(byRank)
	f.Completed.finishRanked(byRank)
	f.Channels.finish(byRank)
	f.Attempts.finishRanked(byRank)
	f.AttemptOutcomes.finish(byRank)
	f.AttemptChannels.finish(byRank)
	f.HomeShare.finishRanked(byRank)
	f.FaceToFaceShare.finishRanked(byRank)
	f.DomesticAbuse.finish(byRank)
	if f.ElsewhereReasons == nil {
		f.ElsewhereReasons = []ElsewhereReason{}
	}
	slices.SortFunc(f.ElsewhereReasons, func(a, b ElsewhereReason) int { return cmp.Compare(a.VisitID, b.VisitID) })
}

// ContactVisit is one contact of measure 3.
type ContactVisit struct {
	VisitID         string      `json:"visit_id"`
	CaseID          string      `json:"case_id"`
	CRN             string      `json:"crn"`
	OfficerID       string      `json:"officer_id"` // who made the contact (the visit's officer)
	OfficerName     string      `json:"officer_name"`
	Day             schema.Date `json:"day"` // started_at's local day
	Type            string      `json:"type"`
	Location        string      `json:"location,omitempty"`
	FaceToFace      bool        `json:"face_to_face"`
	Channel         string      `json:"channel"`
	PlaceType       string      `json:"place_type,omitempty"` // for face_to_face_elsewhere
	ElsewhereReason string      `json:"elsewhere_reason,omitempty"`
	Outcome         string      `json:"outcome"`
	OutcomeReason   string      `json:"outcome_reason,omitempty"`
	// DomesticAbuse: the case had a da_perpetrator or da_victim flag live
	// on the contact's day.
	DomesticAbuse bool `json:"domestic_abuse"`
}

// ContactCase is one case's contacts, by its current allocation: the
// visits (every one is in the report's visits, with its channel and
// outcome), listed once, and their counts.
type ContactCase struct {
	CaseID      string        `json:"case_id"`
	CRN         string        `json:"crn"`
	OfficerID   string        `json:"officer_id"`
	OfficerName string        `json:"officer_name"`
	TeamID      string        `json:"team_id"`
	TeamName    string        `json:"team_name"`
	VisitIDs    []string      `json:"visit_ids"` // sorted
	F           ContactCounts `json:"figures"`
}

// ContactCounts are ContactFigures' counts for one case, without the ids
// behind each (ContactCase.VisitIDs lists the case's visits once, and the
// report's visits say which is which).
type ContactCounts struct {
	Contacts        int           `json:"contacts"`
	Completed       int           `json:"completed"`
	Channels        ChannelCounts `json:"channels"`
	Attempts        int           `json:"attempts"`
	AttemptOutcomes OutcomeCounts `json:"attempt_outcomes"`
	AttemptChannels ChannelCounts `json:"attempt_channels"`
	HomeShare       ShareCounts   `json:"home_share"`
	FaceToFaceShare ShareCounts   `json:"face_to_face_share"`
}

// ShareCounts is a Share's numerator and denominator, as counts.
type ShareCounts struct {
	Numerator   int      `json:"numerator"`
	Denominator int      `json:"denominator"`
	Percent     *float64 `json:"percent"`
}

// ChannelCounts are ChannelFigures' counts.
type ChannelCounts struct {
	FaceToFace         int         `json:"face_to_face"`
	Home               int         `json:"face_to_face_home"`
	Doorstep           int         `json:"face_to_face_doorstep"`
	Elsewhere          int         `json:"face_to_face_elsewhere"`
	ElsewhereByPlace   PlaceCounts `json:"elsewhere_by_place"`
	Phone              int         `json:"phone"`
	Video              int         `json:"video"`
	OtherNotFaceToFace int         `json:"other_not_face_to_face"`
}

// PlaceCounts are Places' counts.
type PlaceCounts struct {
	Cafe           int `json:"cafe"`
	Library        int `json:"library"`
	Office         int `json:"office"`
	CommunityVenue int `json:"community_venue"`
	Other          int `json:"other"`
}

// OutcomeCounts are AttemptOutcomes' counts.
type OutcomeCounts struct {
	NoAnswer        int `json:"no_answer"`
	RefusedEntry    int `json:"refused_entry"`
	NotPresent      int `json:"not_present"`
	AbandonedSafety int `json:"abandoned_safety"`
	NotUndertaken   int `json:"not_undertaken"`
	Other           int `json:"other"`
}

func (f *ChannelCounts) count(channel, place string) {
	switch channel {
	case ChannelHome:
		f.FaceToFace++
		f.Home++
	case ChannelDoorstep:
		f.FaceToFace++
		f.Doorstep++
	case ChannelElsewhere:
		f.FaceToFace++
		f.Elsewhere++
		switch place {
		case placeCafe:
			f.ElsewhereByPlace.Cafe++
		case placeLibrary:
			f.ElsewhereByPlace.Library++
		case placeOffice:
			f.ElsewhereByPlace.Office++
		case placeCommunityVenue:
			f.ElsewhereByPlace.CommunityVenue++
		default:
			f.ElsewhereByPlace.Other++
		}
	case ChannelPhone:
		f.Phone++
	case ChannelVideo:
		f.Video++
	default:
		f.OtherNotFaceToFace++
	}
}

func (a *OutcomeCounts) count(outcome string) {
	switch outcome {
	case "no_answer":
		a.NoAnswer++
	case "refused_entry":
		a.RefusedEntry++
	case "not_present":
		a.NotPresent++
	case "abandoned_safety":
		a.AbandonedSafety++
	case "not_undertaken":
		a.NotUndertaken++
	default:
		a.Other++
	}
}

func (s *ShareCounts) count(inNumerator bool) {
	s.Denominator++
	if inNumerator {
		s.Numerator++
	}
}

func (f *ContactCounts) count(v *schema.Visit, channel, place string) {
	f.Contacts++
	if v.Outcome == "completed" {
		f.Completed++
		f.Channels.count(channel, place)
		f.HomeShare.count(channel == ChannelHome)
		f.FaceToFaceShare.count(faceToFace(channel))
	} else {
		f.Attempts++
		f.AttemptOutcomes.count(v.Outcome)
		f.AttemptChannels.count(channel, place)
	}
}

func (f *ContactCounts) finish() {
	f.HomeShare.Percent = percent(f.HomeShare.Numerator, f.HomeShare.Denominator)
	f.FaceToFaceShare.Percent = percent(f.FaceToFaceShare.Numerator, f.FaceToFaceShare.Denominator)
}

// ContactsReport is measure 3 over a period: totals, per team, per officer
// (by the case's current allocation), per case and per visit.
type ContactsReport struct {
	Measure   string                      `json:"measure"`
	Period    Period                      `json:"period"`
	AsOf      schema.Date                 `json:"as_of"`
	OfficerID string                      `json:"officer_id,omitempty"`
	Totals    ContactFigures              `json:"totals"`
	Teams     []Breakdown[ContactFigures] `json:"teams"`
	Officers  []Breakdown[ContactFigures] `json:"officers"`
	Cases     []ContactCase               `json:"cases"`
	Visits    []ContactVisit              `json:"visits"`
	// Headline: set by the JSON API (Judge), not by the measure.
	Headline *Headline `json:"headline,omitempty"`
}

// CaseIDs returns the cases the report covers.
func (r *ContactsReport) CaseIDs() []string { return r.Totals.Contacts.CaseIDs }

// Contacts computes measure 3, "how contact happened", over period as the
// records stood on asOf (the earlier of the period's end and today): the
// signed visits (status signed, signed_at set) whose started_at falls, on
// the device's local day, in the period and on or before asOf, completed or
// not. A visit with no readable started_at is left out.
func Contacts(in Input, period Period, asOf schema.Date) *ContactsReport {
	rep := &ContactsReport{Measure: "contacts", Period: period, AsOf: asOf, OfficerID: in.OfficerID,
		Cases: []ContactCase{}, Visits: []ContactVisit{}}
	g := newGroups[ContactFigures]()
	cases := in.cases()
	// Each case's rank in case id order: the cases behind a count are
	// collected as ranks, sorted as numbers and named at the end.
	order := make([]int32, len(cases))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(cases[a].Case.ID, cases[b].Case.ID) })
	rank := make([]int32, len(cases))
	byRank := make([]string, 0, len(cases))
	for _, i := range order {
		if id := cases[i].Case.ID; len(byRank) == 0 || byRank[len(byRank)-1] != id {
			byRank = append(byRank, id)
		}
		rank[i] = int32(len(byRank) - 1)
	}
	// The contacts, found on every core (chunks of cases, kept in order),
	// then counted in visit id order so that every list of visit ids is
	// built sorted.
	type contact struct {
		ci  int32 // the case's index in cases
		v   *schema.Visit
		day schema.Date
	}
	chunks := make([][]contact, (len(cases)+prepareChunk-1)/prepareChunk)
	parallel(len(chunks), func(k int) {
		var out []contact
		for i := k * prepareChunk; i < min((k+1)*prepareChunk, len(cases)); i++ {
			cr := &cases[i]
			for j := range cr.Visits {
				v := &cr.Visits[j]
				if v.Status != "signed" || v.SignedAt == "" {
					continue
				}
				day, ok := visitDay(v.StartedAt)
				if !ok || !period.Contains(day) || day > asOf {
					continue
				}
				out = append(out, contact{ci: int32(i), v: v, day: day})
			}
		}
		chunks[k] = out
	})
	contacts := slices.Concat(chunks...)
	slices.SortFunc(contacts, func(a, b contact) int { return cmp.Compare(a.v.ID, b.v.ID) })
	type caseOf struct {
		row           int // in rep.Cases, -1 before the first contact
		team, officer *ContactFigures
	}
	of := make([]caseOf, len(cases))
	for i := range of {
		of[i].row = -1
	}
	rep.Visits = make([]ContactVisit, 0, len(contacts))
	for _, ct := range contacts {
		c, v, day := &cases[ct.ci].Case, ct.v, ct.day
		channel, place := ContactChannel(*v)
		co := &of[ct.ci]
		if co.row < 0 {
			co.row = len(rep.Cases)
			rep.Cases = append(rep.Cases, ContactCase{CaseID: c.ID, CRN: c.CRN, OfficerID: c.OfficerID,
				OfficerName: in.Officers[c.OfficerID], TeamID: c.TeamID, TeamName: in.Teams[c.TeamID]})
			co.team, co.officer = g.of(in, *c)
		}
		row := &rep.Cases[co.row]
		row.VisitIDs = append(row.VisitIDs, v.ID)
		cv := ContactVisit{VisitID: v.ID, CaseID: c.ID, CRN: c.CRN, OfficerID: v.OfficerID, OfficerName: in.Officers[v.OfficerID],
			Day: day, Type: v.Type, Location: v.Location, FaceToFace: v.FaceToFace, Channel: channel, Outcome: v.Outcome,
			OutcomeReason: v.OutcomeReason, DomesticAbuse: len(daFlags(cases[ct.ci].Flags, day, day)) > 0}
		if channel == ChannelElsewhere {
			cv.PlaceType, cv.ElsewhereReason = place, v.ElsewhereReason
		}
		rep.Visits = append(rep.Visits, cv)
		r := rank[ct.ci]
		rep.Totals.count(v, r, channel, place, cv.DomesticAbuse)
		row.F.count(v, channel, place)
		co.team.count(v, r, channel, place, cv.DomesticAbuse)
		co.officer.count(v, r, channel, place, cv.DomesticAbuse)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range rep.Cases {
			rep.Cases[i].F.finish()
		}
		slices.SortFunc(rep.Cases, func(a, b ContactCase) int {
			return cmp.Or(cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.CaseID, b.CaseID))
		})
		rep.Visits = sortedByIndex(rep.Visits, func(a, b *ContactVisit) int {
			return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.CRN, b.CRN), cmp.Compare(a.VisitID, b.VisitID))
		})
	})
	rep.Teams, rep.Officers = finishGroups(&rep.Totals, g, func(f *ContactFigures) { f.finish(byRank) })
	wg.Wait()
	return rep
}

// ContactChannel says how a contact happened (schema.ContactChannel, which
// the store's read model also writes each visit's channel with).
func ContactChannel(v schema.Visit) (channel, place string) { return schema.ContactChannel(v) }

// visitDay is the calendar day of a started_at in the offset the device
// recorded it with (the officer's local day), as the policy dates visits.
// A timestamp time.Parse reads as RFC 3339 begins with that day, written
// as time.DateOnly writes it (four digits of year, two of month and day),
// so the day is its first ten bytes, shared rather than formatted anew:
// the measures ask it of every visit (TestVisitDayAsFormatted).
func visitDay(ts schema.Timestamp) (schema.Date, bool) {
	if _, err := time.Parse(time.RFC3339Nano, string(ts)); err != nil {
		return "", false
	}
	return schema.Date(ts[:len(time.DateOnly)]), true
}
