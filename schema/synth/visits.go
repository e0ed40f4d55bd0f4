package synth

import (
	"time"

	"doorstep/schema"
)

// firstHomeDays is the default deadline of the first home visit after
// supervision starts, by RoSH (docs: the HMPPS framework's defaults).
var firstHomeDays = map[string]int{"very_high": 15, "high": 15, "medium": 42, "low": 84}

// contactEvery is the spread of days between office, phone and other
// contacts, by RoSH.
var contactEvery = map[string][2]int{"very_high": {7, 14}, "high": {10, 21}, "medium": {14, 35}, "low": {21, 56}}

// visits writes the case's contact history over the history window, then
// its current state: a planned visit, a draft, a cancellation.
func (g *gen) visits(ctx *caseCtx) {
	historyStart := g.now.AddDate(0, 0, -g.opts.HistoryDays)
	from := maxTime(ctx.start, historyStart)
	last := g.now.Add(-3 * time.Hour) // nothing signed later than this

	// Office, phone, video and other-place contacts.
	ce := contactEvery[ctx.rosh]
	for t := from.Add(g.days(0, ce[0])); ; t = t.Add(g.days(ce[0], ce[1])) {
		at := g.workTime(t)
		if at.After(last) {
			break
		}
		kind := g.weighted([]string{"office", "phone", "video", "other_place"}, []float64{62, 26, 5, 7})
		outcome := "completed"
		switch {
		case kind == "office" && g.chance(0.12):
			outcome = "not_present"
		case kind == "phone" && g.chance(0.1):
			outcome = "no_answer"
		}
		g.addVisit(ctx, g.signedVisit(ctx, at, kind, kind, outcome, 0), at)
	}

	// Home visits, where the safety assessment allows them: the first
	// within the rule's days of the start (one in eight late), then one
	// every recurrence (one in five days to weeks late), and in
	// domestic-abuse cases one within days of each change that calls for
	// it (a move, a new partner or child, a police call-out).
	if ctx.homeOK && !ctx.nfa {
		rec := float64(recurrence[ctx.rosh])
		gap := func() time.Duration {
			if g.chance(0.2) {
				return time.Duration(rec)*24*time.Hour + g.days(1, 45)
			}
			return time.Duration(rec*(0.55+0.42*g.rng.Float64())*24) * time.Hour
		}
		var next time.Time
		initial := false
		if ctx.start.After(historyStart) {
			initial = true
			due := float64(firstHomeDays[ctx.rosh])
			factor := 0.2 + 0.75*g.rng.Float64()
			if g.chance(0.12) {
				factor = 1.05 + 0.6*g.rng.Float64() // late
			}
			next = maxTime(ctx.start.Add(time.Duration(due*factor*24)*time.Hour), ctx.firstHome)
		} else {
			next = historyStart.Add(g.days(0, int(rec*0.9)))
		}
		triggers := ctx.triggers
		for {
			planned := g.weighted([]string{"home_announced", "home_unannounced"}, []float64{60, 40})
			if initial {
				planned = "initial_home"
			}
			// A change before the next visit brings that visit forward.
			for len(triggers) > 0 && triggers[0].Before(historyStart) {
				triggers = triggers[1:]
			}
			if len(triggers) > 0 {
				soon := maxTime(triggers[0].Add(g.days(1, 8)), ctx.firstHome)
				if g.chance(0.1) {
					soon = triggers[0].Add(g.days(11, 25))
				}
				if soon.Before(next) && !initial {
					next, planned = soon, "home_unannounced"
				} else if soon.Before(next) {
					next = soon // the first visit, brought forward
				}
			}
			at := g.workTime(next)
			if at.After(last) {
				break
			}
			gap := gap()
			actual := g.weighted([]string{planned, "doorstep", "phone", "other_place"}, []float64{90, 3, 4, 3})
			// A visit that did not get in (no answer, refused, done by
			// phone instead) is tried again at home within days.
			for try := 0; try < 3 && !at.After(last); try++ {
				outcome := "completed"
				if schema.IsHomeVisit(actual) || actual == "doorstep" {
					outcome = g.weighted([]string{"completed", "no_answer", "refused_entry", "not_present", "abandoned_safety", "not_undertaken"},
						[]float64{84, 7, 2, 3, 1, 3})
				}
				if try == 2 {
					actual, outcome = planned, "completed"
				}
				g.addVisit(ctx, g.signedVisit(ctx, at, planned, actual, outcome, gap), at)
				if outcome == "completed" && schema.IsHomeVisit(actual) {
					break
				}
				at = g.workTime(at.Add(g.days(1, 6)))
				actual = planned
			}
			for len(triggers) > 0 && !triggers[0].After(at) {
				triggers = triggers[1:]
			}
			initial = false
			next = at.Add(gap)
		}
	}

	// The current state.
	if g.chance(0.55) {
		planned := "office"
		if ctx.homeOK && !ctx.nfa {
			planned = g.weighted([]string{"home_announced", "home_unannounced", "office"}, []float64{40, 20, 40})
		}
		at := g.workTime(g.now.Add(g.days(1, 21)))
		g.addVisit(ctx, schema.Visit{OfficerID: ctx.officer.ID, PlannedType: planned, PlannedAt: ts(at), Status: "planned"}, g.now)
	}
	if ctx.homeOK && !ctx.nfa && g.chance(0.08) {
		at := g.now.Add(-time.Duration(2+g.rng.IntN(26)) * time.Hour).Truncate(time.Minute)
		v := schema.Visit{OfficerID: ctx.officer.ID, PlannedType: "home_unannounced", Type: "home_unannounced",
			Status: "draft", Outcome: "completed", Location: "home", FaceToFace: true, StartedAt: ts(at), PersonSeen: "yes"}
		if g.chance(0.5) && ctx.partner != nil {
			v.PartnerPresent = "yes"
		}
		g.addVisit(ctx, v, at)
	}
	if g.chance(0.05) {
		at := g.workTime(g.now.Add(-g.days(3, 30)))
		g.addVisit(ctx, schema.Visit{OfficerID: ctx.officer.ID, PlannedType: "office", PlannedAt: ts(at), Status: "cancelled",
			OutcomeReason: "Cancelled: the person was in hospital."}, at)
	}
}

func (g *gen) addVisit(ctx *caseCtx, v schema.Visit, at time.Time) {
	r := g.record("visit", ctx.id, at, v.OfficerID, v)
	if signed, err := v.SignedAt.Time(); err == nil && v.SignedAt != "" {
		r.ReceivedAt = g.arrival(signed) // it left the tablet once signed
	}
	g.ds.Records = append(g.ds.Records, r)
}

// signedVisit records one contact as the officer signed it. gap is the time
// to the next planned home visit (0 for none).
func (g *gen) signedVisit(ctx *caseCtx, at time.Time, planned, actual, outcome string, gap time.Duration) schema.Visit {
	v := schema.Visit{
		OfficerID:   ctx.officer.ID,
		PlannedType: planned,
		PlannedAt:   ts(at),
		Type:        actual,
		Status:      "signed",
		Outcome:     outcome,
	}
	if planned == "home_announced" || planned == "office" || planned == "initial_home" {
		v.PlannedAt = ts(g.workTime(at.Add(-g.days(2, 14))).Truncate(time.Minute))
	}
	end := at.Add(time.Duration(15+g.rng.IntN(60)) * time.Minute)
	v.StartedAt, v.EndedAt = ts(at), ts(end)
	if outcome != "completed" {
		reasons := outcomeReasons[outcome]
		if ctx.partner == nil { // the first reason of each names no partner
			reasons = reasons[:1]
		}
		v.OutcomeReason = pick(g, reasons)
		v.PersonSeen = "no"
		end = at.Add(time.Duration(5+g.rng.IntN(10)) * time.Minute)
		v.EndedAt = ts(end)
	}

	switch {
	case schema.IsHomeVisit(actual) || actual == "doorstep":
		v.Location = "home"
		if actual == "doorstep" {
			v.Location = "doorstep"
		}
		switch outcome {
		case "completed":
			v.FaceToFace, v.PersonSeen = true, "yes"
			g.householdSections(ctx, &v, at)
			if gap > 0 {
				v.NextVisitOn = schema.DateOf(at.Add(gap))
			}
		case "refused_entry":
			v.Location, v.FaceToFace, v.PersonSeen = "doorstep", true, "yes"
			if ctx.da {
				v.PartnerPresent = "not_known"
				v.ChildrenPresent = "not_known"
			}
		}
	case actual == "office":
		if outcome == "completed" {
			v.FaceToFace, v.PersonSeen = true, "yes"
		} else {
			v.OutcomeReason = "Failed to attend; enforcement considered."
		}
	case actual == "video":
		v.PersonSeen = "yes"
	case actual == "other_place":
		v.Location = "elsewhere"
		v.PlaceType = g.weighted([]string{"cafe", "library", "community_venue", "other"}, []float64{45, 30, 20, 5})
		reasons := elsewhereReasons[1:]
		if ctx.partner != nil {
			reasons = elsewhereReasons
		}
		v.ElsewhereReason = pick(g, reasons)
		v.FaceToFace, v.PersonSeen = true, "yes"
	}

	signed := end.Add(time.Duration(g.rng.IntN(180)) * time.Minute)
	switch g.weighted([]string{"same_day", "days", "weeks"}, []float64{86, 12, 2}) {
	case "days":
		signed = signed.Add(g.days(1, 3))
	case "weeks":
		signed = signed.Add(g.days(7, 14))
	}
	signed = minTime(signed, g.now.Add(-time.Minute))
	if signed.Before(end) {
		signed = end
	}
	v.SignedAt, v.SignedBy = ts(signed), ctx.officer.ID
	return v
}

// householdSections fills what was seen of the partner and children at a
// completed home visit, the observations, and any concern with its actions.
func (g *gen) householdSections(ctx *caseCtx, v *schema.Visit, at time.Time) {
	day := schema.DateOf(at)
	if p := ctx.partner; p != nil && p.m.AddedOn <= day {
		v.PartnerPresent = g.weighted([]string{"yes", "no", "not_known"}, []float64{45, 40, 15})
		if v.PartnerPresent == "yes" {
			v.PartnerSeenAlone = g.weighted([]string{"yes", "no"}, []float64{35, 65})
			if ctx.da && g.chance(0.4) {
				notes := partnerConcernNotes[1:] // none says she was seen alone
				if v.PartnerSeenAlone == "yes" {
					notes = partnerConcernNotes[:2]
				}
				v.PartnerConcerns = pick(g, notes)
			}
		}
	} else {
		v.PartnerPresent = g.weighted([]string{"no_partner", "not_known"}, []float64{90, 10})
	}

	anyPresent, anyUnknown, some := false, false, false
	for _, k := range ctx.children {
		if k.m.AddedOn > day || k.m.DateOfBirth > day || k.m.Residence == "visits" {
			continue
		}
		some = true
		c := schema.VisitChild{MemberID: k.id}
		c.Present = g.weighted([]string{"yes", "no", "not_known"}, []float64{55, 35, 10})
		switch c.Present {
		case "yes":
			anyPresent = true
			c.Seen = g.weighted([]string{"yes", "no"}, []float64{88, 12})
			if c.Seen == "yes" && k.m.Age >= 5 {
				c.SpokenTo = g.weighted([]string{"yes", "no"}, []float64{40, 60})
			}
		default:
			if c.Present == "not_known" {
				anyUnknown = true
			}
			c.Seen = "no"
		}
		if c.Seen == "no" {
			c.ReasonNotSeen = pick(g, reasonsChildNotSeen)
		}
		if ctx.da && c.Seen == "yes" && g.chance(0.05) {
			c.Concerns = "Child seemed withdrawn and watched the parent before answering."
		}
		v.Children = append(v.Children, c)
	}
	switch {
	case !some:
		v.ChildrenPresent = "no_children"
	case anyPresent:
		v.ChildrenPresent = "yes"
	case anyUnknown:
		v.ChildrenPresent = "not_known"
	default:
		v.ChildrenPresent = "no"
	}

	if g.chance(0.05) {
		v.OthersPresent = "A man not on the household list was there and left on arrival."
		v.Observations = append(v.Observations, "new_adult_present")
	}
	if g.chance(0.25) {
		// The note says what the observation is, and about whom was there.
		kinds := []string{"poor_living_conditions", "substance_misuse", "other"}
		if v.PartnerPresent == "yes" {
			kinds = append(kinds, "controlling_behaviour", "fear", "signs_of_injury")
		}
		kind := pick(g, kinds)
		note := observationNotes[kind]
		if kind == "poor_living_conditions" && some && g.chance(0.5) {
			note = "Damp and mould in the children's bedroom."
		}
		v.Observations = append(v.Observations, kind)
		v.ObservationNotes = note
	}

	concernP := 0.05
	if ctx.da {
		concernP = 0.14
	}
	if g.chance(concernP) {
		v.Concern = true
		if ctx.knownCS == "yes" && g.chance(0.5) {
			v.NoActionReason = "Already known to children's services; the social worker visits this week."
			return
		}
		v.Actions = append(v.Actions, "manager_informed")
		if ctx.da {
			v.Actions = append(v.Actions, pick(g, []string{"police_informed", "marac_referral", "safety_plan_updated"}))
		}
		if anyPresent {
			v.Actions = append(v.Actions, "childrens_services_referral")
		}
		v.ActionNotes = "Discussed with the senior probation officer the same day."
	}
}
