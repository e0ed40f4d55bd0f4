package synth_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/synth"
)

var demoOpts = synth.Options{Teams: 1, OfficersPerTeam: 4, CasesPerOfficer: 50, HistoryDays: 365}

func withSeed(o synth.Options, seed int64) synth.Options { o.Seed = seed; return o }

var zzPostcode = regexp.MustCompile(`, ZZ[1-9] [0-9][A-Z]{2}$`)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func str(t *testing.T, r schema.Record, name string) string {
	t.Helper()
	raw, ok := r.Fields[name]
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s %s: field %s: expected a string, got %s", r.Entity, r.ID, name, raw)
	}
	return s
}

// checkValid runs every record through the schema, as a push would, and
// checks the references between records and users.
func checkValid(t *testing.T, ds *synth.Dataset, now time.Time) {
	t.Helper()
	ids := map[string]bool{}
	seen := func(id, what string) {
		if !uuidV7.MatchString(id) {
			t.Errorf("%s: expected a UUIDv7-shaped id, got %q", what, id)
		}
		if ids[id] {
			t.Errorf("%s: id %s used twice", what, id)
		}
		ids[id] = true
	}
	teams := map[string]bool{}
	for _, tm := range ds.Teams {
		seen(tm.ID, "team "+tm.Name)
		teams[tm.ID] = true
	}
	users := map[string]schema.User{}
	usernames := map[string]bool{}
	admins := 0
	for _, u := range ds.Users {
		seen(u.ID, "user "+u.Username)
		if err := u.Validate(); err != nil {
			t.Errorf("user %+v: expected valid, got %v", u, err)
		}
		if usernames[u.Username] {
			t.Errorf("username %s used twice", u.Username)
		}
		usernames[u.Username] = true
		if u.TeamID != "" && !teams[u.TeamID] {
			t.Errorf("user %s: team %s does not exist", u.Username, u.TeamID)
		}
		if u.Role == schema.RoleAdmin {
			admins++
		}
		users[u.ID] = u
	}
	if admins != 1 {
		t.Errorf("expected 1 admin, got %d", admins)
	}

	cases := map[string]schema.Case{}
	da := map[string]bool{}
	// Flags come after their case, and visits after the flags, so a single
	// pass knows each case's domestic-abuse state before its visits.
	for _, r := range ds.Records {
		what := r.Entity + " " + r.ID
		seen(r.ID, what)
		spec, ok := schema.Entity(r.Entity)
		if !ok {
			t.Fatalf("%s: unknown entity", what)
		}
		if r.Version != 0 || !r.UpdatedAt.IsZero() || !r.DeviceTime.IsZero() {
			t.Errorf("%s: expected version 0 and zero update and device times, got %d %v %v", what, r.Version, r.UpdatedAt, r.DeviceTime)
		}
		if r.ReceivedAt.IsZero() || r.ReceivedAt.After(now) {
			t.Errorf("%s: expected a received_at no later than now %s, got %v", what, now, r.ReceivedAt)
		}
		if err := spec.ValidateFields(r.Fields); err != nil {
			t.Errorf("%s: ValidateFields: %v\n%s", what, err, mustJSON(r.Fields))
		}
		if err := spec.CheckCreate(r.Fields); err != nil {
			t.Errorf("%s: CheckCreate: %v\n%s", what, err, mustJSON(r.Fields))
		}
		if err := spec.Validate(r.ID, r.CaseID, r.Fields); err != nil {
			t.Errorf("%s: Validate: %v\n%s", what, err, mustJSON(r.Fields))
		}
		if r.Entity == "case" {
			var c schema.Case
			if err := r.Decode(&c); err != nil {
				t.Fatal(err)
			}
			if r.CaseID != r.ID {
				t.Errorf("%s: expected case_id = id, got %s", what, r.CaseID)
			}
			if off := users[c.OfficerID]; off.Role != schema.RoleOfficer || off.TeamID != c.TeamID {
				t.Errorf("%s: officer_id %s is not an officer of team %s: %+v", what, c.OfficerID, c.TeamID, off)
			}
			if !c.NoFixedAbode && !zzPostcode.MatchString(c.Address) {
				t.Errorf("%s: expected an invented ZZ postcode, got address %q", what, c.Address)
			}
			if c.SupervisionStart.Time().After(now) {
				t.Errorf("%s: supervision starts in the future: %s", what, c.SupervisionStart)
			}
			cases[r.ID] = c
			continue
		}
		if _, ok := cases[r.CaseID]; !ok {
			t.Errorf("%s: case_id %s is not a case listed before it", what, r.CaseID)
		}
		switch r.Entity {
		case "flag":
			var f schema.Flag
			if err := r.Decode(&f); err != nil {
				t.Fatal(err)
			}
			if f.IsDomesticAbuse() {
				da[r.CaseID] = true
			}
			if f.StartDate.Time().After(now) {
				t.Errorf("%s: flag starts in the future: %s", what, f.StartDate)
			}
		case "visit":
			var v schema.Visit
			if err := r.Decode(&v); err != nil {
				t.Fatal(err)
			}
			if users[v.OfficerID].Role != schema.RoleOfficer {
				t.Errorf("%s: officer_id %s is not an officer", what, v.OfficerID)
			}
			if !r.Signed() {
				continue
			}
			if err := v.ValidateForSigning(da[r.CaseID]); err != nil {
				t.Errorf("%s: ValidateForSigning(da=%v): %v\n%s", what, da[r.CaseID], err, mustJSON(r.Fields))
			}
			started, _ := v.StartedAt.Time()
			signed, err := v.SignedAt.Time()
			if err != nil || signed.Before(started) || signed.After(now) {
				t.Errorf("%s: expected started <= signed <= now, got %s, %s, now %s", what, v.StartedAt, v.SignedAt, now)
			}
			if r.ReceivedAt.Before(signed) {
				t.Errorf("%s: expected received_at %v no earlier than signed_at %s", what, r.ReceivedAt, v.SignedAt)
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGenerateValid(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3, 42, -7} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			checkValid(t, synth.Generate(withSeed(demoOpts, seed)), synth.DefaultNow)
		})
	}
	// Other shapes: several teams, a short history, an explicit now.
	t.Run("3 teams, 30 days", func(t *testing.T) {
		t.Parallel()
		now := time.Date(2027, 3, 9, 16, 30, 0, 0, time.UTC)
		ds := synth.Generate(synth.Options{Seed: 9, Teams: 3, OfficersPerTeam: 2, CasesPerOfficer: 10, HistoryDays: 30, Now: now})
		checkValid(t, ds, now)
		if len(ds.Teams) != 3 || len(ds.Users) != 3*3+1 {
			t.Errorf("expected 3 teams and 10 users, got %d and %d", len(ds.Teams), len(ds.Users))
		}
	})
}

func TestGenerateDefaults(t *testing.T) {
	t.Parallel()
	ds := synth.Generate(synth.Options{Seed: 1})
	if len(ds.Teams) != 1 || len(ds.Users) != 6 {
		t.Errorf("expected 1 team and 6 users (supervisor, 4 officers, admin), got %d and %d", len(ds.Teams), len(ds.Users))
	}
	if got := count(ds, "case"); got != 200 {
		t.Errorf("expected 200 cases, got %d", got)
	}
	wantRoles := []schema.Role{schema.RoleSupervisor, schema.RoleOfficer, schema.RoleOfficer, schema.RoleOfficer, schema.RoleOfficer, schema.RoleAdmin}
	for i, u := range ds.Users {
		if u.Role != wantRoles[i] {
			t.Errorf("user %d: expected role %s, got %s", i, wantRoles[i], u.Role)
		}
		if !strings.HasSuffix(u.Username, "."+string(u.Role)) {
			t.Errorf("user %d: expected a username like asha.%s, got %s", i, u.Role, u.Username)
		}
	}
}

func count(ds *synth.Dataset, entity string) int {
	n := 0
	for _, r := range ds.Records {
		if r.Entity == entity {
			n++
		}
	}
	return n
}

func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	a := synth.Generate(withSeed(demoOpts, 5))
	b := synth.Generate(withSeed(demoOpts, 5))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("expected the same seed to give the same dataset, got different ones")
	}
	c := synth.Generate(withSeed(demoOpts, 6))
	if reflect.DeepEqual(a.Records[0], c.Records[0]) || a.Users[0].ID == c.Users[0].ID {
		t.Error("expected another seed to give another dataset, got the same first records")
	}
}

// TestGenerateShape checks the demo data shows what the dashboards must
// show: the inspection findings are in it.
func TestGenerateShape(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { checkShape(t, synth.Generate(withSeed(demoOpts, seed))) })
	}
}

func checkShape(t *testing.T, ds *synth.Dataset) {
	now := synth.DefaultNow
	historyStart := now.AddDate(0, 0, -365)
	var (
		nCases, daCases, cpCases, nfa, midStart  int
		rosh                                     = map[string]int{}
		starts                                   = map[string]schema.Date{}
		homeVisited                              = map[string]bool{}
		partners, children, newPartners          int
		types, outcomes, statuses, refStatus     = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
		plannedHomeDoneElsewhere, childNotSeen   int
		concernWithAction, concernNoActionReason int
		enqLate, enqNever, enqNotRequested       int
		decisions                                = map[string]int{}
		reviewOverdue                            int
	)
	for _, r := range ds.Records {
		switch r.Entity {
		case "case":
			var c schema.Case
			_ = r.Decode(&c)
			nCases++
			starts[r.ID] = c.SupervisionStart
			rosh[c.RoSH]++
			if c.NoFixedAbode {
				nfa++
			}
			if c.SupervisionStart.Time().After(historyStart) {
				midStart++
			}
		case "flag":
			var f schema.Flag
			_ = r.Decode(&f)
			if f.IsDomesticAbuse() {
				daCases++
			}
			if f.Type == "child_protection" {
				cpCases++
			}
			if f.EndedOn == "" && f.NextReviewDate.Time().Before(now) {
				reviewOverdue++
			}
		case "household_member":
			var m schema.HouseholdMember
			_ = r.Decode(&m)
			if m.IsPartner() {
				partners++
				if m.AddedOn.Time().After(starts[r.CaseID].Time().AddDate(0, 0, 20)) {
					newPartners++
				}
			}
			if m.IsChild() {
				children++
			}
		case "visit":
			var v schema.Visit
			_ = r.Decode(&v)
			statuses[v.Status]++
			if v.Status != "signed" {
				continue
			}
			types[v.Type]++
			outcomes[v.Outcome]++
			if schema.IsHomeVisit(v.Type) && v.Outcome == "completed" {
				homeVisited[r.CaseID] = true
			}
			if schema.IsHomeVisit(v.PlannedType) && (v.Type == "phone" || v.Type == "other_place") {
				plannedHomeDoneElsewhere++
			}
			for _, c := range v.Children {
				if c.Seen == "no" && c.ReasonNotSeen != "" {
					childNotSeen++
				}
			}
			if v.Concern && len(v.Actions) > 0 {
				concernWithAction++
			}
			if v.Concern && v.NoActionReason != "" {
				concernNoActionReason++
			}
		case "enquiry":
			var e schema.Enquiry
			_ = r.Decode(&e)
			switch {
			case e.NotRequestedReason != "":
				enqNotRequested++
			case e.AnsweredOn == "":
				enqNever++
			case e.AnsweredOn > e.DueOn:
				enqLate++
			}
		case "referral":
			var f schema.Referral
			_ = r.Decode(&f)
			decisions[f.Decision]++
			if f.Status != "" {
				refStatus[f.Status]++
			}
		case "safety_assessment":
			var a schema.SafetyAssessment
			_ = r.Decode(&a)
			decisions["assessment_"+a.Decision]++
		}
	}
	between := func(name string, got, lo, hi int) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s: expected between %d and %d, got %d", name, lo, hi, got)
		}
	}
	between("domestic-abuse cases", daCases, 60, 100) // ~40% of 200
	between("child protection cases", cpCases, 2, 40)
	between("no fixed abode", nfa, 1, 20)
	between("supervision started within the history", midStart, 60, 140)
	between("cases never home-visited", nCases-len(homeVisited), 15, 90)
	between("partners", partners, 60, 160)
	between("children", children, 60, 400)
	between("new partners during supervision", newPartners, 3, 60)
	between("planned home visits done by phone or elsewhere", plannedHomeDoneElsewhere, 10, 400)
	between("children not seen, with a reason", childNotSeen, 10, 2000)
	between("concerns with actions", concernWithAction, 5, 400)
	between("concerns with a reason for no action", concernNoActionReason, 1, 100)
	between("enquiries answered late", enqLate, 5, 200)
	between("enquiries never answered", enqNever, 3, 200)
	between("enquiries never requested", enqNotRequested, 1, 100)
	between("flags overdue for review", reviewOverdue, 5, 200)
	for _, k := range []string{"low", "medium", "high", "very_high"} {
		between("RoSH "+k, rosh[k], 1, 150)
	}
	for _, k := range []string{"home_announced", "home_unannounced", "initial_home", "doorstep", "office", "phone", "video", "other_place"} {
		between("signed visits of type "+k, types[k], 1, 5000)
	}
	for _, k := range []string{"completed", "no_answer", "refused_entry", "not_present", "not_undertaken"} {
		between("signed visits with outcome "+k, outcomes[k], 1, 5000)
	}
	for _, k := range []string{"signed", "planned", "draft", "cancelled"} {
		between("visits with status "+k, statuses[k], 1, 10000)
	}
	between("referral statuses", len(refStatus), 5, 8)
	for _, k := range []string{"refer", "pending", "not_suitable", "assessment_approved", "assessment_not_approved", "assessment_pending"} {
		between("decision "+k, decisions[k], 1, 300)
	}
	t.Logf("%d records; %d signed visits; outcomes %v; types %v", len(ds.Records), statuses["signed"], outcomes, types)
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		synth.Generate(withSeed(demoOpts, 1))
	}
}

func TestBenchVisits(t *testing.T) {
	t.Parallel()
	caseID := "019a4f2e-69f0-7b2e-8d3c-0a9b8c7d6e5f"
	officer := "019a4f2d-0000-7000-8000-00000000000a"
	recs := synth.BenchVisits(3, caseID, officer, 50)
	if len(recs) != 50 {
		t.Fatalf("expected 50 visits, got %d", len(recs))
	}
	spec, _ := schema.Entity("visit")
	ids := map[string]bool{}
	for i, r := range recs {
		if r.Entity != "visit" || r.CaseID != caseID || !uuidV7.MatchString(r.ID) || ids[r.ID] {
			t.Fatalf("visit %d: expected a visit of %s with a fresh UUIDv7 id, got %s %s %s", i, caseID, r.Entity, r.CaseID, r.ID)
		}
		ids[r.ID] = true
		if err := spec.ValidateFields(r.Fields); err != nil {
			t.Errorf("visit %d: ValidateFields: %v", i, err)
		}
		if err := spec.CheckCreate(r.Fields); err != nil {
			t.Errorf("visit %d: CheckCreate: %v", i, err)
		}
		if !r.Signed() {
			t.Errorf("visit %d: expected signed", i)
		}
		var v schema.Visit
		if err := r.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if err := v.ValidateForSigning(true); err != nil {
			t.Errorf("visit %d: ValidateForSigning(true): %v", i, err)
		}
		if v.PartnerPresent == "" || v.ChildrenPresent == "" || len(v.Children) != 2 || v.SignedBy != officer {
			t.Errorf("visit %d: expected partner and two children answered, signed by %s; got %+v", i, officer, v)
		}
		n := len(mustJSON(r.Fields))
		if n < 800 || n > 1400 {
			t.Errorf("visit %d: expected about 1 KB of fields, got %d bytes", i, n)
		}
	}
	if again := synth.BenchVisits(3, caseID, officer, 50); !reflect.DeepEqual(recs, again) {
		t.Error("expected the same seed to give the same visits")
	}
	f1 := synth.VisitFields(rand.New(rand.NewPCG(1, 2)), officer, synth.DefaultNow)
	f2 := synth.VisitFields(rand.New(rand.NewPCG(1, 2)), officer, synth.DefaultNow)
	if !reflect.DeepEqual(f1, f2) {
		t.Error("VisitFields: expected the same source to give the same fields")
	}
}

// TestGenerateConsistent checks that the records of one case agree with one
// another as a real officer's would, and that the history is plausible:
// households confirmed, visits reaching the server within hours.
func TestGenerateConsistent(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3, 4} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			checkConsistent(t, synth.Generate(withSeed(demoOpts, seed)))
		})
	}
}

func checkConsistent(t *testing.T, ds *synth.Dataset) {
	now := synth.DefaultNow
	threeMonthsAgo := schema.DateOf(now.AddDate(0, -3, 0))
	type household struct {
		names                 map[string]bool
		partner, da, knownCS  bool
		children, childrenNo  int
		members, confirmedAll int
		homeOK                bool
	}
	cases := map[string]*household{}
	var delays []time.Duration
	for _, r := range ds.Records {
		what := r.Entity + " " + r.ID
		h := cases[r.CaseID]
		switch r.Entity {
		case "case":
			var c schema.Case
			_ = r.Decode(&c)
			cases[r.ID] = &household{names: map[string]bool{c.GivenName: true}}
		case "flag":
			var f schema.Flag
			_ = r.Decode(&f)
			h.da = h.da || f.IsDomesticAbuse()
		case "household_member":
			var m schema.HouseholdMember
			_ = r.Decode(&m)
			if m.Name != "" {
				given := strings.Fields(m.Name)[0]
				if h.names[given] {
					t.Errorf("%s: a second %q in one household", what, given)
				}
				h.names[given] = true
			}
			if m.Relation == "partner" {
				h.partner = true
			}
			if m.IsChild() {
				h.children++
				h.knownCS = h.knownCS || m.KnownToChildrensServices == "yes"
				if m.KnownToChildrensServices == "no" {
					h.childrenNo++
				}
				if m.DateOfBirth != "" && m.AddedOn < m.DateOfBirth {
					t.Errorf("%s: on the household list (%s) before birth (%s)", what, m.AddedOn, m.DateOfBirth)
				}
			}
			h.members++
			if m.ConfirmedOn >= threeMonthsAgo {
				h.confirmedAll++
			}
		case "safety_assessment":
			var a schema.SafetyAssessment
			_ = r.Decode(&a)
			if strings.Contains(strings.ToLower(a.DecisionReason), "weapon") && a.Weapons != "yes" {
				t.Errorf("%s: weapons %q, yet decided %s: %q", what, a.Weapons, a.Decision, a.DecisionReason)
			}
			if strings.Contains(a.DecisionReason, "dangerous") && a.Dogs != "yes" {
				t.Errorf("%s: dogs %q, yet decided %s: %q", what, a.Dogs, a.Decision, a.DecisionReason)
			}
			h.homeOK = a.Decision == "approved" || a.Decision == "referred"
		case "enquiry":
			var e schema.Enquiry
			_ = r.Decode(&e)
			switch {
			case e.Result == "not_known_to_childrens_services" && h.knownCS:
				t.Errorf("%s: children's services said not known, but the household has a child known to them", what)
			case e.Result == "known_to_childrens_services" && h.children > 0 && h.childrenNo == h.children:
				t.Errorf("%s: children's services said known, but every child is recorded as not known", what)
			}
		case "visit":
			var v schema.Visit
			_ = r.Decode(&v)
			if v.Status == "draft" && schema.IsHomeVisit(v.PlannedType) && !h.homeOK {
				t.Errorf("%s: a home visit drafted in a case whose safety assessment allows none", what)
			}
			if v.Status != "signed" {
				continue
			}
			if signed, err := v.SignedAt.Time(); err == nil {
				delays = append(delays, r.ReceivedAt.Sub(signed))
			}
			mentions := strings.Contains(strings.ToLower(v.ObservationNotes+v.OutcomeReason+v.ElsewhereReason), "partner")
			if mentions && !h.partner {
				t.Errorf("%s: notes name a partner in a household with none: %q %q %q", what, v.ObservationNotes, v.OutcomeReason, v.ElsewhereReason)
			}
			if strings.Contains(v.ObservationNotes, "partner") && v.PartnerPresent != "yes" {
				t.Errorf("%s: an observation of the partner, who was not present (%q): %q", what, v.PartnerPresent, v.ObservationNotes)
			}
			if strings.Contains(v.NoActionReason, "known to children's services") && !h.knownCS {
				t.Errorf("%s: no action because known to children's services, but no child is: %q", what, v.NoActionReason)
			}
		}
	}
	daWithMembers, daConfirmed := 0, 0
	for _, h := range cases {
		if h.da && h.members > 0 {
			daWithMembers++
			if h.confirmedAll == h.members {
				daConfirmed++
			}
		}
	}
	if daConfirmed*10 < daWithMembers*8 {
		t.Errorf("expected at least 80%% of domestic-abuse households confirmed in the last 3 months, got %d of %d", daConfirmed, daWithMembers)
	}
	slices.Sort(delays)
	median, p90 := delays[len(delays)/2], delays[len(delays)*9/10]
	if delays[0] < 0 || median > time.Hour || p90 > 12*time.Hour {
		t.Errorf("expected signed visits to reach the server within hours (median under 1 h, 90%% under 12 h), got fastest %v, median %v, 90th percentile %v",
			delays[0], median, p90)
	}
	t.Logf("%d of %d DA households confirmed; signing to server: median %v, 90th percentile %v", daConfirmed, daWithMembers, median, p90)
}
