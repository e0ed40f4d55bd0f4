package synth

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"doorstep/schema"
)

// caseCtx is what the visit history of one case needs to know.
type caseCtx struct {
	id        string
	officer   schema.User
	sup       schema.User
	rosh      string
	start     time.Time // supervision start
	nfa       bool
	da        bool
	partner   *member
	children  []member
	homeOK    bool      // safety assessment allows home visits
	firstHome time.Time // when the first home visit may start (after the assessment)
	others    int       // other adults in the household
	knownCS   string    // children's services know a child: "yes", "no" or "" (no child, or not known)
	triggers  []time.Time
}

// recurrence is the default rules' days between home visits, by RoSH
// (schema/policy/default-rules.json): the history keeps to it, mostly.
var recurrence = map[string]int{"very_high": 42, "high": 42, "medium": 84, "low": 182}

// given picks a given name not yet used in the household (nor by the
// person), so two members of one household never share a name.
func (g *gen) given(used map[string]bool) string {
	for {
		n := pick(g, givenNames)
		if !used[n] {
			used[n] = true
			return n
		}
	}
}

type member struct {
	id string
	m  schema.HouseholdMember
}

func (g *gen) caseload(team schema.Team, sup, off schema.User, town string) {
	now := g.now
	// Half the caseload started before the history window, half within it.
	var start time.Time
	if g.chance(0.5) {
		start = now.Add(-g.days(g.opts.HistoryDays, g.opts.HistoryDays+540))
	} else {
		start = now.Add(-g.days(2, g.opts.HistoryDays))
	}
	start = dayOf(start)
	age := int(g.weightedInt([]int{18, 26, 41}, []int{25, 40, 65}, []float64{25, 50, 25}))
	dob := start.AddDate(-age, 0, -g.rng.IntN(365))

	c := schema.Case{
		CRN:              g.crn(),
		GivenName:        pick(g, givenNames),
		FamilyName:       g.family(),
		DateOfBirth:      schema.DateOf(dob),
		OfficerID:        off.ID,
		TeamID:           team.ID,
		SentenceType:     g.weighted([]string{"community_order", "suspended_sentence_order", "licence", "post_sentence_supervision"}, []float64{45, 20, 30, 5}),
		SupervisionStart: schema.DateOf(start),
		RoSH:             g.weighted([]string{"low", "medium", "high", "very_high"}, []float64{25, 45, 25, 5}),
	}
	if g.chance(0.04) { // no fixed abode: home visits exempted until housed
		c.NoFixedAbode = true
	} else {
		c.Address = g.address(town)
		since := start.Add(-g.days(0, 900))
		if g.chance(0.1) { // moved during supervision: a new address triggers a visit
			since = minTime(start.Add(g.days(20, 300)), now.Add(-g.days(1, 30)))
		}
		c.AddressSince = schema.DateOf(since)
	}
	// RoSH is assessed at the start and reviewed every six months; a few
	// reviews are weeks late.
	roshDate := start.Add(-g.days(0, 14))
	if now.Sub(start) > 170*24*time.Hour {
		roshDate = now.Add(-g.days(5, 170))
		if g.chance(0.1) {
			roshDate = now.Add(-g.days(185, 215))
		}
		roshDate = maxTime(roshDate, start)
	}
	c.RoSHDate = schema.DateOf(roshDate)
	if c.RoSH != "low" && g.chance(0.12) {
		c.MAPPACategory = g.weighted([]string{"1", "2", "3"}, []float64{60, 35, 5})
		c.MAPPALevel = g.weighted([]string{"1", "2", "3"}, []float64{75, 22, 3})
	}

	rec := g.record("case", "", start, sup.ID, c)
	rec.CaseID = rec.ID // a case is its own scope
	caseID := rec.ID
	g.ds.Records = append(g.ds.Records, rec)

	ctx := &caseCtx{id: caseID, officer: off, sup: sup, rosh: c.RoSH, start: start, nfa: c.NoFixedAbode}
	flags := g.flags(ctx)
	g.household(ctx, c, flags)
	g.safetyAssessment(ctx, c)
	g.enquiries(ctx, flags)
	g.referrals(ctx)
	g.triggersOf(ctx, c)
	g.visits(ctx)
}

func (g *gen) weightedInt(lo, hi []int, w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	x := g.rng.Float64() * total
	for i := range w {
		if x < w[i] || i == len(w)-1 {
			return lo[i] + g.rng.IntN(hi[i]-lo[i]+1)
		}
		x -= w[i]
	}
	return lo[0]
}

func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// flags registers the case's flags: about 40% domestic abuse, some child
// concerns and protection, a few others. Reviews fall due every six months;
// a quarter of flags have missed theirs.
func (g *gen) flags(ctx *caseCtx) map[string]bool {
	set := map[string]bool{}
	if g.chance(0.4) {
		ctx.da = true
		if g.chance(0.92) {
			set["da_perpetrator"] = true
		} else {
			set["da_victim"] = true
		}
		if g.chance(0.3) {
			set["marac"] = true
		}
		if g.chance(0.15) {
			set["restraining_order"] = true
		}
	}
	childP := 0.12
	if ctx.da {
		childP = 0.3
	}
	if g.chance(childP) {
		set["child_concerns"] = true
	}
	if g.chance(childP / 3) {
		set["child_protection"] = true
	}
	if g.chance(0.05) {
		set["risk_to_children"] = true
	}
	if g.chance(0.04) {
		set["risk_to_staff"] = true
	}
	for _, t := range []string{"da_perpetrator", "da_victim", "marac", "restraining_order", "child_concerns", "child_protection", "risk_to_children", "risk_to_staff"} {
		if !set[t] {
			continue
		}
		startAt := ctx.start
		if g.chance(0.15) { // registered later in the order
			startAt = minTime(ctx.start.Add(g.days(10, 200)), g.now.Add(-24*time.Hour))
		}
		f := schema.Flag{Type: t, StartDate: schema.DateOf(startAt)}
		next := startAt.AddDate(0, 6, 0)
		for !next.After(g.now) {
			f.LastReviewed = schema.DateOf(next.Add(-g.days(0, 10)))
			next = next.AddDate(0, 6, 0)
		}
		// One flag in eight has a review that came due days or weeks ago
		// and is not done yet.
		if late := g.now.Add(-g.days(1, 40)); g.chance(0.12) && late.After(startAt) &&
			(f.LastReviewed == "" || late.After(f.LastReviewed.Time())) {
			next = late
		}
		f.NextReviewDate = schema.DateOf(next)
		if (t == "risk_to_staff" || t == "child_concerns") && g.chance(0.1) {
			f.EndedOn = schema.DateOf(minTime(startAt.Add(g.days(60, 300)), g.now))
		}
		if t == "marac" {
			f.Notes = "Discussed at MARAC; actions shared with the officer."
		}
		g.ds.Records = append(g.ds.Records, g.record("flag", ctx.id, startAt, ctx.sup.ID, f))
	}
	return set
}

// household adds partners, children and other adults at the address.
func (g *gen) household(ctx *caseCtx, c schema.Case, flags map[string]bool) {
	add := func(m schema.HouseholdMember, at time.Time) member {
		r := g.record("household_member", ctx.id, at, ctx.officer.ID, m)
		if m.Age == 0 && !m.IsChild() {
			delete(r.Fields, "age") // not known, rather than a newborn adult
		}
		g.ds.Records = append(g.ds.Records, r)
		return member{id: r.ID, m: m}
	}
	historyStart := g.now.AddDate(0, 0, -g.opts.HistoryDays)
	used := map[string]bool{c.GivenName: true}
	// The household is confirmed at a visit, every member at once: in
	// most cases within the last three months, in some longer ago or never.
	confirmed := g.now.Add(-g.days(1, 80))
	switch g.weighted([]string{"recent", "old", "never"}, []float64{88, 8, 4}) {
	case "old":
		confirmed = g.now.Add(-g.days(100, 200))
	case "never":
		confirmed = time.Time{}
	}
	confirm := func(m *schema.HouseholdMember) {
		if confirmed.IsZero() {
			return
		}
		on := maxTime(confirmed, m.AddedOn.Time())
		if !on.After(g.now) {
			m.ConfirmedOn = schema.DateOf(on)
		}
	}
	partnerP := 0.45
	if ctx.da {
		partnerP = 0.8
	}
	if g.chance(partnerP) {
		// Recorded in the first fortnight, but there since supervision
		// began: not a "new partner" (which triggers a visit) unless the
		// relationship is new.
		added := ctx.start.Add(g.days(0, 14))
		joined := ctx.start
		if g.chance(0.12) { // a new relationship during supervision
			added = maxTime(historyStart, ctx.start).Add(g.days(30, 200))
			joined = added
			if ctx.da {
				ex := schema.HouseholdMember{Relation: "ex_partner", Residence: "visits", Name: g.given(used) + " " + g.family(),
					Age: 20 + g.rng.IntN(30), VictimOrPotentialVictim: "yes", AddedOn: schema.DateOf(ctx.start)}
				confirm(&ex)
				add(ex, ctx.start)
			}
		}
		added = minTime(added, g.now.Add(-24*time.Hour))
		p := schema.HouseholdMember{
			Relation:  "partner",
			Residence: g.weighted([]string{"lives_here", "stays_sometimes", "visits"}, []float64{70, 20, 10}),
			Age:       20 + g.rng.IntN(35),
			AddedOn:   schema.DateOf(minTime(joined, added)),
		}
		if g.chance(0.1) {
			p.Description = "woman seen at the address, name not given"
			p.Age = 0
		} else {
			p.Name = g.given(used) + " " + g.family()
		}
		if ctx.da {
			p.VictimOrPotentialVictim = g.weighted([]string{"yes", "not_known"}, []float64{60, 40})
		} else {
			p.VictimOrPotentialVictim = g.weighted([]string{"no", "not_known", ""}, []float64{50, 20, 30})
		}
		confirm(&p)
		m := add(p, added)
		ctx.partner = &m
	}

	nKids := 0
	if ctx.partner != nil {
		nKids = g.weightedInt([]int{0, 1, 2, 3}, []int{0, 1, 2, 3}, []float64{40, 25, 20, 15})
	} else {
		nKids = g.weightedInt([]int{0, 1, 2}, []int{0, 1, 2}, []float64{65, 25, 10})
	}
	if flags["child_protection"] && nKids == 0 {
		nKids = 1
	}
	for i := 0; i < nKids; i++ {
		age := g.rng.IntN(18)
		dob := g.now.AddDate(-age, 0, -g.rng.IntN(365))
		added := ctx.start.Add(g.days(0, 14))
		joined := ctx.start            // there from the start, recorded in the first fortnight
		if age == 0 && g.chance(0.5) { // a new baby: a change that triggers a visit
			dob = maxTime(dob, ctx.start.Add(24*time.Hour))
			added = minTime(dob.Add(g.days(1, 20)), g.now.Add(-24*time.Hour))
			joined = added
		}
		if dob.After(joined) { // born during supervision: on the list from birth
			added = minTime(maxTime(added, dob.Add(g.days(1, 10))), g.now.Add(-24*time.Hour))
			joined = added
		}
		added = minTime(added, g.now.Add(-24*time.Hour))
		k := schema.HouseholdMember{
			Relation:    g.weighted([]string{"own_child", "step_child", "other_child"}, []float64{65, 25, 10}),
			Residence:   g.weighted([]string{"lives_here", "stays_sometimes", "visits"}, []float64{75, 20, 5}),
			DateOfBirth: schema.DateOf(dob),
			Age:         ageAt(dob, g.now),
			AddedOn:     schema.DateOf(minTime(joined, added)),
		}
		if g.chance(0.1) {
			k.Description = childDescription(k.Age)
		} else {
			k.Name = g.given(used) + " " + c.FamilyName
		}
		if ctx.da {
			k.ChildVictimInOwnRight = g.weighted([]string{"yes", "no", "not_known"}, []float64{30, 20, 50})
		}
		switch {
		case flags["child_protection"] && i == 0:
			k.KnownToChildrensServices, k.ChildProtectionPlan = "yes", "yes"
		case flags["child_concerns"]:
			k.KnownToChildrensServices = g.weighted([]string{"yes", "not_known"}, []float64{70, 30})
			k.ChildProtectionPlan = g.weighted([]string{"no", "not_known"}, []float64{70, 30})
		default:
			k.KnownToChildrensServices = g.weighted([]string{"no", "not_known", ""}, []float64{50, 20, 30})
		}
		switch {
		case k.KnownToChildrensServices == "yes":
			ctx.knownCS = "yes"
		case k.KnownToChildrensServices == "no" && ctx.knownCS == "" && i == 0:
			ctx.knownCS = "no"
		case k.KnownToChildrensServices != "no" && ctx.knownCS == "no":
			ctx.knownCS = ""
		}
		confirm(&k)
		ctx.children = append(ctx.children, add(k, added))
	}

	if g.chance(0.1) {
		o := schema.HouseholdMember{
			Relation:    g.weighted([]string{"other_adult", "lodger", "regular_visitor"}, []float64{40, 30, 30}),
			Residence:   g.weighted([]string{"lives_here", "stays_sometimes", "visits"}, []float64{40, 30, 30}),
			Description: pick(g, adultDescriptions),
			AddedOn:     schema.DateOf(minTime(ctx.start.Add(g.days(0, 120)), g.now)),
		}
		confirm(&o)
		ctx.others++
		add(o, o.AddedOn.Time())
	}
}

// occupants describes the household as the officer found it for the
// safety assessment.
func (g *gen) occupants(ctx *caseCtx) string {
	var parts []string
	if ctx.partner != nil && ctx.partner.m.Residence != "visits" {
		parts = append(parts, "partner")
	}
	kids := 0
	for _, k := range ctx.children {
		if k.m.Residence != "visits" {
			kids++
		}
	}
	switch {
	case kids == 1:
		parts = append(parts, "one child")
	case kids > 1:
		parts = append(parts, fmt.Sprintf("%d children", kids))
	}
	if ctx.others > 0 {
		parts = append(parts, "another adult")
	}
	if len(parts) == 0 {
		return "Lives alone."
	}
	s := strings.Join(parts, ", ")
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

func childDescription(age int) string {
	if age == 0 {
		return "baby, name not yet given"
	}
	return fmt.Sprintf("child of about %d, name not given", age)
}

func ageAt(dob, now time.Time) int {
	age := now.Year() - dob.Year()
	if now.YearDay() < dob.YearDay() {
		age--
	}
	if age < 0 {
		return 0
	}
	return age
}

// safetyAssessment assesses the address before the first home visit. Most
// are approved; some wait, some are refused or exempted, and then the case
// has no home visits (which the compliance view must show, not hide).
func (g *gen) safetyAssessment(ctx *caseCtx, c schema.Case) {
	historyStart := g.now.AddDate(0, 0, -g.opts.HistoryDays)
	at := maxTime(ctx.start, historyStart).Add(g.days(0, 6))
	if at.After(g.now) {
		at = g.now
	}
	if ctx.nfa {
		// No address to visit: the manager exempts home visits until the
		// person is housed, and the officer meets them in the office.
		a := schema.SafetyAssessment{Address: "No fixed abode", AssessedOn: schema.DateOf(at), AssessedBy: ctx.officer.ID,
			Decision: "exempted", DecisionReason: "No fixed abode; seen in the office until housed.",
			DecidedBy: ctx.sup.ID, DecidedOn: schema.DateOf(at)}
		g.ds.Records = append(g.ds.Records, g.record("safety_assessment", ctx.id, at, ctx.officer.ID, a))
		return
	}
	a := schema.SafetyAssessment{
		Address:         c.Address,
		Dogs:            g.weighted([]string{"yes", "no", "not_known"}, []float64{20, 70, 10}),
		Weapons:         g.weighted([]string{"yes", "no", "not_known"}, []float64{5, 85, 10}),
		OtherOccupants:  g.occupants(ctx),
		LoneWorkingPlan: pick(g, loneWorkingPlans[:2]),
		AssessedOn:      schema.DateOf(at),
		AssessedBy:      ctx.officer.ID,
	}
	if a.Dogs == "yes" && g.chance(0.5) {
		a.LoneWorkingPlan = loneWorkingPlans[2]
	}
	// What was found decides what is likely: weapons or a dangerous dog
	// are referred to the senior probation officer or refused; an
	// assessment waits for a decision only in the first weeks.
	weights := []float64{86, 0, 4, 4, 6}
	switch {
	case a.Weapons == "yes":
		weights = []float64{15, 0, 35, 0, 50}
	case a.Dogs == "yes":
		weights = []float64{75, 0, 5, 4, 16}
	case a.Weapons == "no" && a.Dogs == "no":
		weights = []float64{90, 0, 3, 5, 2}
	}
	if g.now.Sub(at) < 28*24*time.Hour {
		weights[1] = 150
	}
	a.Decision = g.weighted([]string{"approved", "pending", "not_approved", "exempted", "referred"}, weights)
	if a.Decision != "pending" {
		a.DecidedBy = ctx.sup.ID
		a.DecidedOn = schema.DateOf(minTime(at.Add(g.days(0, 5)), g.now))
	}
	switch a.Decision {
	case "not_approved":
		a.DecisionReason = "Known violent associate at the address; meet in the office until reviewed."
		if a.Weapons == "yes" {
			a.DecisionReason = "Weapons kept at the address; meet in the office until they are removed."
		}
	case "exempted":
		a.DecisionReason = "Person lives in supported accommodation that does not allow visitors."
	case "referred":
		switch {
		case a.Weapons == "yes":
			a.DecisionReason = "Weapons concern; referred to the senior probation officer. Visit in pairs."
		case a.Dogs == "yes":
			a.DecisionReason = "Dog reported as dangerous; referred to the senior probation officer. Visit in pairs."
		default:
			a.DecisionReason = "Other occupants not yet known; referred to the senior probation officer. Visit in pairs."
		}
	case "approved":
		if g.chance(0.3) {
			a.DecisionReason = "Approved with the lone-working plan."
		}
	}
	ctx.homeOK = a.Decision == "approved" || a.Decision == "referred"
	ctx.firstHome = at
	g.ds.Records = append(g.ds.Records, g.record("safety_assessment", ctx.id, at, ctx.officer.ID, a))
}

// enquiries are the safeguarding checks of domestic-abuse and child cases:
// most answered, some late, some never, a few never even asked.
func (g *gen) enquiries(ctx *caseCtx, flags map[string]bool) {
	child := flags["child_concerns"] || flags["child_protection"] || flags["risk_to_children"]
	var agencies []string
	if ctx.da {
		agencies = append(agencies, "police", "childrens_services")
	} else if child {
		agencies = append(agencies, "childrens_services")
	}
	if flags["marac"] {
		agencies = append(agencies, "marac")
	}
	for _, agency := range agencies {
		stage := "pre_sentence"
		requested := ctx.start.Add(-g.days(10, 40))
		if agency == "marac" {
			stage = "review"
			requested = minTime(ctx.start.Add(g.days(20, 120)), g.now.Add(-24*time.Hour))
		}
		g.enquiry(ctx, agency, stage, requested)
	}
	if ctx.da && ctx.partner != nil && ctx.partner.m.AddedOn.Time().After(ctx.start.Add(20*24*time.Hour)) {
		g.enquiry(ctx, "police", "change_of_circumstances", ctx.partner.m.AddedOn.Time())
	}
}

func (g *gen) enquiry(ctx *caseCtx, agency, stage string, requested time.Time) {
	e := schema.Enquiry{Agency: agency, Stage: stage}
	switch g.weighted([]string{"on_time", "late", "never", "not_requested"}, []float64{76, 14, 5, 5}) {
	case "not_requested":
		e.NotRequestedReason = "Sentenced on the day; no time to request before sentence."
		g.ds.Records = append(g.ds.Records, g.record("enquiry", ctx.id, requested, ctx.officer.ID, e))
		return
	case "on_time":
		e.AnsweredOn = schema.DateOf(requested.Add(g.days(1, 10)))
	case "late":
		e.AnsweredOn = schema.DateOf(requested.Add(g.days(15, 60)))
	}
	e.RequestedOn = schema.DateOf(requested)
	e.DueOn = schema.DateOf(requested.Add(10 * 24 * time.Hour))
	if e.AnsweredOn != "" && e.AnsweredOn.Time().After(g.now) {
		e.AnsweredOn = "" // not yet answered
	}
	if e.AnsweredOn != "" {
		switch agency {
		case "police", "marac":
			e.Result = g.weighted([]string{"da_information_found", "no_information"}, []float64{60, 40})
		default:
			// The answer agrees with what the household list says.
			switch ctx.knownCS {
			case "yes":
				e.Result = "known_to_childrens_services"
			case "no":
				e.Result = "not_known_to_childrens_services"
			default:
				e.Result = g.weighted([]string{"known_to_childrens_services", "not_known_to_childrens_services"}, []float64{45, 55})
			}
		}
		if e.Result == "da_information_found" {
			e.Notes = "Call-outs to the address recorded; details on file."
		}
		if agency == "police" && e.Result == "da_information_found" && e.AnsweredOn.Time().After(ctx.start) {
			ctx.triggers = append(ctx.triggers, e.AnsweredOn.Time()) // read as a call-out: a visit is due
		}
	}
	g.ds.Records = append(g.ds.Records, g.record("enquiry", ctx.id, requested, ctx.officer.ID, e))
}

// referrals are intervention needs and where their referrals got to.
func (g *gen) referrals(ctx *caseCtx) {
	var list []string
	if ctx.da && g.chance(0.7) {
		list = append(list, needs[0])
	}
	if g.chance(0.3) {
		list = append(list, pick(g, needs[1:]))
	}
	for _, need := range list {
		at := minTime(ctx.start.Add(g.days(0, 30)), g.now)
		r := schema.Referral{Need: need, IdentifiedOn: schema.DateOf(at), IdentifiedBy: ctx.officer.ID}
		r.Decision = g.weighted([]string{"refer", "pending", "not_suitable", "not_available"}, []float64{70, 10, 10, 10})
		switch r.Decision {
		case "refer":
			r.Status = g.weighted(
				[]string{"awaiting_allocation", "scheduled", "on_programme", "deferred", "suitable_not_ready", "withdrawn", "breach", "completed"},
				[]float64{25, 15, 20, 8, 7, 5, 5, 15})
			r.StatusOn = schema.DateOf(minTime(at.Add(g.days(5, 200)), g.now))
		case "not_suitable":
			r.DecisionReason = "Assessed as not suitable at this time: denies the offence."
		case "not_available":
			r.DecisionReason = "No programme running in the area this year."
		}
		g.ds.Records = append(g.ds.Records, g.record("referral", ctx.id, at, ctx.officer.ID, r))
	}
}

// triggersOf adds the changes after the start that call for a home visit
// in a domestic-abuse case (a new address, partner or child; police
// call-outs are added as the enquiries are made), so the history visits
// after most of them, as an officer would.
func (g *gen) triggersOf(ctx *caseCtx, c schema.Case) {
	if !ctx.da {
		ctx.triggers = nil
		return
	}
	after := func(d schema.Date) {
		if t := d.Time(); d != "" && t.After(ctx.start) {
			ctx.triggers = append(ctx.triggers, t)
		}
	}
	if !c.NoFixedAbode {
		after(c.AddressSince)
	}
	if ctx.partner != nil {
		after(ctx.partner.m.AddedOn)
	}
	for _, k := range ctx.children {
		after(k.m.AddedOn)
	}
	slices.SortFunc(ctx.triggers, time.Time.Compare)
}
