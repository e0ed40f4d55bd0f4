package policy_test

import (
	"cmp"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
)

// synthFacts decodes a synthetic dataset into one CaseFacts per case, in
// the dataset's order, as a store would load them.
func synthFacts(tb testing.TB, opts synth.Options) []policy.CaseFacts {
	tb.Helper()
	ds := synth.Generate(opts)
	var out []policy.CaseFacts
	byCase := map[string]int{}
	for _, rec := range ds.Records {
		var err error
		if rec.Entity == "case" {
			var c schema.Case
			err = rec.Decode(&c)
			byCase[rec.ID] = len(out)
			out = append(out, policy.CaseFacts{Case: c})
		} else {
			i, ok := byCase[rec.CaseID]
			if !ok {
				tb.Fatalf("%s %s: expected its case before it, got none", rec.Entity, rec.ID)
			}
			f := &out[i]
			switch rec.Entity {
			case "flag":
				var v schema.Flag
				err = rec.Decode(&v)
				f.Flags = append(f.Flags, v)
			case "household_member":
				var v schema.HouseholdMember
				err = rec.Decode(&v)
				f.Household = append(f.Household, v)
			case "visit":
				var v schema.Visit
				err = rec.Decode(&v)
				f.Visits = append(f.Visits, v)
			case "enquiry":
				var v schema.Enquiry
				err = rec.Decode(&v)
				f.Enquiries = append(f.Enquiries, v)
			case "safety_assessment":
				// A manager's exemption or refusal is passed in as an
				// exemption of every rule, as the tablet and server do.
				var v schema.SafetyAssessment
				err = rec.Decode(&v)
				if ex, ok := policy.SafetyExemption(f.Case, v); ok {
					f.Exemptions = append(f.Exemptions, ex)
				}
			}
		}
		if err != nil {
			tb.Fatalf("decode %s %s: %v", rec.Entity, rec.ID, err)
		}
	}
	return out
}

var (
	synthOnce sync.Once
	synthData []policy.CaseFacts
)

// twoYears is 500 cases (10 officers of 50) with two years of history.
func twoYears(tb testing.TB) []policy.CaseFacts {
	synthOnce.Do(func() {
		synthData = synthFacts(tb, synth.Options{Seed: 7, Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730})
	})
	return synthData
}

// TestSynthInvariants runs the defaults over the synthetic caseload and
// checks, requirement by requirement, the invariants the docs promise.
func TestSynthInvariants(t *testing.T) {
	t.Parallel()
	facts := twoYears(t)
	asOf := schema.DateOf(synth.DefaultNow)
	p := policy.Default()
	counts := map[policy.Status]int{}
	lateMet := 0
	for _, f := range facts {
		visits := map[string]schema.Visit{}
		for _, v := range f.Visits {
			visits[v.ID] = v
		}
		reqs := p.Requirements(f, asOf)
		if !slices.IsSortedFunc(reqs, func(a, b policy.Requirement) int {
			return cmp.Or(cmp.Compare(a.DueOn, b.DueOn), cmp.Compare(a.RuleID, b.RuleID))
		}) {
			t.Errorf("case %s: expected requirements sorted by due date and rule id", f.Case.ID)
		}
		first := 0
		for _, r := range reqs {
			counts[r.Status]++
			if r.Trigger == policy.TriggerSupervisionStart && r.Recurrence == 0 {
				first++
			}
			if r.RuleVersion != p.Version || r.CaseID != f.Case.ID || r.DueOn < r.TriggeredOn || r.DueOn > schema.Date("2099") {
				t.Errorf("case %s: bad identity or dates: %s", f.Case.ID, show([]policy.Requirement{r}))
			}
			switch r.Status {
			case policy.StatusMet:
				v, ok := visits[r.MetBy]
				if !ok {
					t.Fatalf("case %s: met by %q, which is not a visit of the case", f.Case.ID, r.MetBy)
				}
				if !schema.IsHomeVisit(v.Type) || v.Location != "home" || v.Outcome != "completed" || !v.FaceToFace || v.Status != "signed" || v.SignedAt == "" {
					t.Errorf("case %s: %s met by a visit that must not meet it: type %s location %s outcome %s face to face %v status %s",
						f.Case.ID, r.RuleID, v.Type, v.Location, v.Outcome, v.FaceToFace, v.Status)
				}
				if r.MetOn < r.TriggeredOn || r.MetOn > asOf || r.DaysOverdue != 0 {
					t.Errorf("case %s: met outside the trigger..asOf window: %s", f.Case.ID, show([]policy.Requirement{r}))
				}
				if !r.OnTime() {
					lateMet++
				}
			case policy.StatusMissed:
				due := r.DueOn.Time()
				if want := int(asOf.Time().Sub(due).Hours() / 24); r.DaysOverdue != want || want <= 0 {
					t.Errorf("case %s: missed: expected %d days overdue, got %s", f.Case.ID, want, show([]policy.Requirement{r}))
				}
			case policy.StatusOpen:
				if r.DueOn < asOf {
					t.Errorf("case %s: open but past due: %s", f.Case.ID, show([]policy.Requirement{r}))
				}
			case policy.StatusExempted:
				if r.Reason == "" || r.MetBy != "" {
					t.Errorf("case %s: exempted without a reason, or with a visit: %s", f.Case.ID, show([]policy.Requirement{r}))
				}
			default:
				t.Errorf("case %s: unexpected status (no case is closed): %s", f.Case.ID, show([]policy.Requirement{r}))
			}
		}
		if first != 1 {
			t.Errorf("case %s (RoSH %s): expected one first-visit requirement, got %d", f.Case.ID, f.Case.RoSH, first)
		}
		unmetRepeats := 0
		for _, r := range reqs {
			if r.Recurrence > 0 && (r.Status == policy.StatusOpen || r.Status == policy.StatusMissed) {
				unmetRepeats++
			}
		}
		if unmetRepeats > 1 {
			t.Errorf("case %s: expected at most one unmet repeat (the chain waits on it), got %d", f.Case.ID, unmetRepeats)
		}
	}
	// The synthetic history is shaped like the inspection findings: some of
	// everything.
	for _, s := range []policy.Status{policy.StatusMet, policy.StatusMissed, policy.StatusOpen, policy.StatusExempted} {
		if counts[s] == 0 {
			t.Errorf("expected some %s requirements over 500 synthetic cases, got none (%v)", s, counts)
		}
	}
	if lateMet == 0 {
		t.Errorf("expected some requirements met late over 500 synthetic cases, got none")
	}
	t.Logf("500 cases, two years: %v, %d met late", counts, lateMet)
}

// BenchmarkRequirements computes the requirements of 500 cases with two
// years of history (synth, seed 7) and reports the time per case.
func BenchmarkRequirements(b *testing.B) {
	facts := twoYears(b)
	p := policy.Default()
	asOf := schema.DateOf(synth.DefaultNow)
	visits, reqs := 0, 0
	for _, f := range facts {
		visits += len(f.Visits)
		reqs += len(p.Requirements(f, asOf))
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, n := time.Now(), 0
	for b.Loop() {
		for _, f := range facts {
			p.Requirements(f, asOf)
		}
		n++
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(n*len(facts)), "ns/case")
	b.ReportMetric(float64(visits)/float64(len(facts)), "visits/case")
	b.ReportMetric(float64(reqs)/float64(len(facts)), "reqs/case")
}

// TestSynthPlausible checks that the demo team (synth's defaults: 200
// cases, a year of history) looks like a real team under the default rules:
// most visits due in the year made on time, the rest late by days to weeks,
// none hundreds of days overdue.
func TestSynthPlausible(t *testing.T) {
	t.Parallel()
	p := policy.Default()
	// The demo seeds with today's date: another "now" than the default too.
	for _, o := range []synth.Options{{Seed: 1}, {Seed: 2}, {Seed: 3}, {Seed: 1, Now: synth.DefaultNow.AddDate(0, 0, 11)}} {
		seed, now := o.Seed, cmp.Or(o.Now, synth.DefaultNow)
		asOf, yearAgo := schema.DateOf(now), schema.DateOf(now.AddDate(-1, 0, 0))
		facts := synthFacts(t, o)
		due, onTime, overdue, worst := 0, 0, 0, 0
		for _, f := range facts {
			for _, r := range p.Requirements(f, asOf) {
				if r.Status == policy.StatusMissed {
					overdue++
					worst = max(worst, r.DaysOverdue)
				}
				if r.DueOn < yearAgo || r.DueOn > asOf || r.Status == policy.StatusExempted {
					continue
				}
				due++
				if r.Status == policy.StatusMet && r.OnTime() {
					onTime++
				}
			}
		}
		if share := float64(onTime) / float64(due); share < 0.75 || share > 0.97 {
			t.Errorf("seed %d: expected 75%%–97%% of the %d visits due in the year made on time, got %d (%.1f%%)", seed, due, onTime, 100*share)
		}
		if worst > 60 || overdue == 0 || overdue > len(facts)/5 {
			t.Errorf("seed %d: expected some visits overdue (at most one case in five) by at most 60 days, got %d, the most %d days", seed, overdue, worst)
		}
		t.Logf("seed %d: %d of %d due in the year on time; %d overdue, the most by %d days", seed, onTime, due, overdue, worst)
	}
}

// TestVisitIndexGivesTheSameRequirements: with the visits read once
// (IndexVisits), Requirements answers exactly as without, on every day
// asked; an index made from other visits is not used.
func TestVisitIndexGivesTheSameRequirements(t *testing.T) {
	t.Parallel()
	facts := twoYears(t)
	p := policy.Default()
	for i, f := range facts[:120] {
		indexed := f
		indexed.Index = policy.IndexVisits(f)
		stale := f
		stale.Index = policy.IndexVisits(facts[(i+1)%len(facts)])
		for _, days := range []int{0, 7, 30, 200, 500} {
			asOf := schema.DateOf(synth.DefaultNow.AddDate(0, 0, -days))
			want := p.Requirements(f, asOf)
			if got := p.Requirements(indexed, asOf); !reflect.DeepEqual(got, want) {
				t.Fatalf("case %s on %s: with the index\n%s\nwithout\n%s", f.Case.ID, asOf, show(got), show(want))
			}
			if got := p.Requirements(stale, asOf); !reflect.DeepEqual(got, want) {
				t.Fatalf("case %s on %s: another case's index was used:\n%s", f.Case.ID, asOf, show(got))
			}
		}
	}
}
