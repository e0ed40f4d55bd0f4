package compliance_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// The hand-built dataset of measures 5 to 8 and the exemptions. The period
// is 2026-09-01..2026-10-31 and as_of its last day. Officers o1 and o2 are
// in team t1, o3 in team t2. With the default rules:
//
//	c1 o1 high   DA   start 06-01: partner and two children confirmed 09-15; home visits 09-10 (a child not seen,
//	                  with a reason; partner not alone) and 10-31, the window's last day (all seen, partner alone);
//	                  one on 11-01 (after), a no-answer and a cancelled one (not counted). First visit met late
//	                  09-10, repeat due 10-22 met late 10-31, next due 12-12.
//	c2 o1 medium DA   start 03-01: partner confirmed 04-01 (stale), child "not known" victim; office contact with the
//	                  partner (not alone); home visit 10-10 that does not account for the child and saw a child not on
//	                  record. DA flag overdue for review since 09-01, RoSH too.
//	c3 o2 high   DA   start 10-20 (mid-period): nothing recorded yet; first visit due 11-04.
//	c4 o2 high   DA   start 01-10: no household (an ex-partner who left in June); home visit 09-05 (no children); repeat due 10-17
//	                  exempted by a safety assessment decided "exempted" on 10-01; flag reviewed 11-05 (after as_of).
//	c5 o2 medium      start 08-01, not DA: first visit due 09-12, missed.
//	c6 o3 high   DA   start 10-01, team t2, DA flag ended 10-25: partner seen alone at home 10-15 (first visit, on
//	                  time), repeat due 11-26 with a visit planned for 11-20.
//	c7 o1 low         start 01-01, DA flag ended 08-01 (not DA in the period): first visit due 03-26, missed.
//	c8 o1 high   DA   closed: left out of measures 5, 7 and 8; its first visit (due 09-16) counts as missed.
//	c9 o2 high        start 11-10, after as_of: not started.
const (
	from = schema.Date("2026-09-01")
	to   = schema.Date("2026-10-31")
)

var period = compliance.Period{From: from, To: to}

type builder struct{ recs []schema.Record }

func (b *builder) add(entity, id, caseID string, v any) {
	b.recs = append(b.recs, rec(entity, id, caseID, v))
}

func (b *builder) caseRec(id, officer, team, rosh string, start, roshDate schema.Date, closed bool) {
	b.add("case", id, id, schema.Case{CRN: "X00000" + id[1:], GivenName: "A", FamilyName: id, DateOfBirth: "1990-01-01", Address: "1 High St",
		OfficerID: officer, TeamID: team, SentenceType: "community_order", SupervisionStart: start, RoSH: rosh, RoSHDate: roshDate, Closed: closed})
}

func (b *builder) flag(id, caseID, typ string, start, last, next, ended schema.Date) {
	b.add("flag", id, caseID, schema.Flag{Type: typ, StartDate: start, LastReviewed: last, NextReviewDate: next, EndedOn: ended})
}

func (b *builder) member(id, caseID, rel, res string, added, confirmed schema.Date, victim string) {
	b.add("household_member", id, caseID, schema.HouseholdMember{Relation: rel, Residence: res, Name: id, AddedOn: added,
		ConfirmedOn: confirmed, ChildVictimInOwnRight: victim})
}

func (b *builder) visit(id, caseID, typ, day, status, outcome, partner, alone string, children ...schema.VisitChild) {
	v := schema.Visit{Type: typ, Status: status, Outcome: outcome, Location: "home", FaceToFace: true,
		StartedAt: schema.Timestamp(day + "T10:00:00+01:00"), PartnerPresent: partner, PartnerSeenAlone: alone, Children: children}
	if typ == "office" {
		v.Location, v.PlaceType = "elsewhere", "office"
	}
	if status == "signed" {
		v.SignedAt = schema.Timestamp(day + "T11:00:00+01:00")
	}
	if status == "planned" {
		v.StartedAt, v.PlannedAt = "", schema.Timestamp(day+"T10:00:00+01:00")
	}
	b.add("visit", id, caseID, v)
}

func (b *builder) referral(id, caseID, need string, identified schema.Date, decision, reason, status string, statusOn schema.Date) {
	b.add("referral", id, caseID, schema.Referral{Need: need, IdentifiedOn: identified, Decision: decision, DecisionReason: reason,
		Status: status, StatusOn: statusOn})
}

func seen(id string) schema.VisitChild {
	return schema.VisitChild{MemberID: id, Present: "yes", Seen: "yes"}
}

func measuresInput(t *testing.T) compliance.Input {
	t.Helper()
	b := &builder{}
	b.caseRec("c1", "o1", "t1", "high", "2026-06-01", "2026-06-01", false)
	b.flag("f1", "c1", "da_perpetrator", "2026-06-01", "2026-09-01", "2026-12-01", "")
	b.member("p1", "c1", "partner", "lives_here", "2026-06-01", "2026-09-15", "")
	b.member("k1", "c1", "own_child", "lives_here", "2026-06-01", "2026-09-15", "yes")
	b.member("k2", "c1", "step_child", "stays_sometimes", "2026-06-01", "2026-09-15", "no")
	b.member("k4", "c1", "own_child", "lives_here", "2026-11-10", "", "") // added after as_of
	b.visit("v1", "c1", "home_announced", "2026-09-10", "signed", "completed", "yes", "no",
		seen("k1"), schema.VisitChild{MemberID: "k2", Present: "no", Seen: "no", ReasonNotSeen: "at school"})
	b.visit("v2", "c1", "home_unannounced", "2026-10-31", "signed", "completed", "yes", "yes", seen("k1"), seen("k2"))
	b.visit("v3", "c1", "home_announced", "2026-11-01", "signed", "completed", "yes", "yes", seen("k1"), seen("k2"))
	b.visit("v4", "c1", "home_announced", "2026-10-05", "signed", "no_answer", "", "")
	b.visit("v5", "c1", "home_announced", "2026-10-06", "cancelled", "completed", "yes", "yes")
	b.referral("r1", "c1", "Building Better Relationships", "2026-09-05", "refer", "", "completed", "2026-10-20")
	b.referral("r2", "c1", "Substance misuse", "2026-09-06", "refer", "", "on_programme", "2026-11-05")

	b.caseRec("c2", "o1", "t1", "medium", "2026-03-01", "2026-03-01", false)
	b.flag("f2", "c2", "da_victim", "2026-03-01", "2026-06-01", "2026-09-01", "")
	b.flag("f2b", "c2", "child_concerns", "2026-03-01", "", "", "")
	b.member("p2", "c2", "partner", "lives_here", "2026-03-01", "2026-04-01", "")
	b.member("k3", "c2", "own_child", "lives_here", "2026-03-01", "2026-10-01", "not_known")
	b.visit("v6", "c2", "office", "2026-09-20", "signed", "completed", "yes", "no")
	b.visit("v7", "c2", "home_announced", "2026-10-10", "signed", "completed", "no", "")
	b.recs[len(b.recs)-1].Fields["observations"] = json.RawMessage(`["child_not_on_record"]`)
	b.referral("r3", "c2", "Building Better Relationships", "2026-09-10", "not_available", "No programme running", "", "")
	b.referral("r4", "c2", "Building Better Relationships", "2026-08-01", "refer", "", "scheduled", "2026-08-10") // before the period

	b.caseRec("c3", "o2", "t1", "high", "2026-10-20", "2026-10-20", false)
	b.flag("f3", "c3", "da_perpetrator", "2026-10-20", "", "2027-01-20", "")
	b.referral("r5", "c3", "Building Better Relationships", "2026-10-20", "pending", "", "", "")

	b.caseRec("c4", "o2", "t1", "high", "2026-01-10", "", false)
	b.flag("f4", "c4", "da_perpetrator", "2026-01-10", "2026-11-05", "2027-02-05", "")
	b.member("x4", "c4", "ex_partner", "visits", "2025-01-10", "", "")
	b.recs[len(b.recs)-1].Fields["left_on"] = json.RawMessage(`"2026-06-01"`) // gone before as_of
	b.visit("v8", "c4", "home_announced", "2026-09-05", "signed", "completed", "no_partner", "")
	b.add("safety_assessment", "s4", "c4", schema.SafetyAssessment{Address: "1 High St", AssessedOn: "2026-09-30", Decision: "exempted",
		DecisionReason: "dog", DecidedBy: "sup", DecidedOn: "2026-10-01"})
	b.referral("r6", "c4", "Building Better Relationships", "2026-09-12", "refer", "", "awaiting_allocation", "2026-09-20")
	b.referral("r7", "c4", "Accommodation", "2026-09-15", "refer", "", "withdrawn", "2026-10-01")
	b.referral("r8", "c4", "Building Better Relationships", "2026-09-01", "refer", "", "breach", "2026-10-15")

	b.caseRec("c5", "o2", "t1", "medium", "2026-08-01", "2026-05-01", false)
	b.flag("f5", "c5", "risk_to_staff", "2026-08-01", "2026-08-15", "2026-10-31", "")
	b.referral("r9", "c5", "Education, training and employment", "2026-10-31", "not_suitable", "denies the offence", "", "")

	b.caseRec("c6", "o3", "t2", "high", "2026-10-01", "2026-10-30", false)
	b.flag("f6", "c6", "da_victim", "2026-01-01", "", "2026-07-01", "2026-10-25")
	b.member("p6", "c6", "partner", "lives_here", "2026-10-01", "2026-10-20", "")
	b.visit("v9", "c6", "home_announced", "2026-10-15", "signed", "completed", "yes", "yes")
	b.visit("v10", "c6", "home_announced", "2026-11-20", "planned", "", "", "")

	b.caseRec("c7", "o1", "t1", "low", "2026-01-01", "2026-09-20", false)
	b.flag("f7", "c7", "da_perpetrator", "2026-01-01", "", "2026-04-01", "2026-08-01")

	b.caseRec("c8", "o1", "t1", "high", "2026-09-01", "2026-09-01", true)
	b.flag("f8", "c8", "da_perpetrator", "2026-09-01", "", "2026-12-01", "")
	b.member("p8", "c8", "partner", "lives_here", "2026-09-01", "", "")

	b.caseRec("c9", "o2", "t1", "high", "2026-11-10", "2026-11-10", false)
	b.flag("f9", "c9", "da_perpetrator", "2026-11-10", "", "2027-02-10", "")

	cases, err := compliance.Group(raw(t, b.recs))
	if err != nil {
		t.Fatal(err)
	}
	return compliance.Input{Cases: cases, Officers: map[string]string{"o1": "Officer 1", "o2": "Officer 2", "o3": "Officer 3"},
		Teams: map[string]string{"t1": "Team 1", "t2": "Team 2"}}
}

func ids(t *testing.T, what string, got compliance.IDs, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	slices.Sort(w)
	if w == nil {
		w = []string{}
	}
	if got.N != len(w) || !slices.Equal(got.CaseIDs, w) {
		t.Errorf("%s = %d %v, want %d %v", what, got.N, got.CaseIDs, len(w), w)
	}
}

func visits(t *testing.T, what string, got compliance.VisitIDs, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	slices.Sort(w)
	if w == nil {
		w = []string{}
	}
	if got.N != len(w) || !slices.Equal(got.VisitIDs, w) {
		t.Errorf("%s = %d %v, want %d %v", what, got.N, got.VisitIDs, len(w), w)
	}
}

func records(t *testing.T, what string, got compliance.RecordIDs, want ...string) {
	t.Helper()
	w := slices.Clone(want)
	slices.Sort(w)
	if w == nil {
		w = []string{}
	}
	if got.N != len(w) || !slices.Equal(got.IDs, w) {
		t.Errorf("%s = %d %v, want %d %v", what, got.N, got.IDs, len(w), w)
	}
}

func pct(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func TestHouseholds(t *testing.T) {
	in := measuresInput(t)
	rep := compliance.Households(in, period, to)
	f := rep.Totals
	ids(t, "cases", f.Cases, "c1", "c2", "c3", "c4", "c6")
	ids(t, "confirmed numerator", f.Confirmed.Numerator, "c1", "c6")
	ids(t, "confirmed denominator", f.Confirmed.Denominator, "c1", "c2", "c4", "c6")
	ids(t, "not confirmed", f.NotConfirmed, "c2")
	ids(t, "not recorded", f.NotRecorded, "c4")
	ids(t, "not yet due", f.NotYetDue, "c3")
	ids(t, "victim numerator", f.VictimInOwnRight.Numerator, "c1")
	ids(t, "victim denominator", f.VictimInOwnRight.Denominator, "c1", "c2")
	ids(t, "victim not known", f.VictimNotKnown, "c2")
	ids(t, "victim unanswered", f.VictimUnanswered)
	visits(t, "children seen numerator", f.ChildrenSeen.Numerator, "v1", "v2")
	visits(t, "children seen denominator", f.ChildrenSeen.Denominator, "v1", "v2", "v7")
	visits(t, "all seen", f.ChildrenAllSeen, "v2")
	visits(t, "unaccounted", f.ChildrenUnaccounted, "v7")
	visits(t, "no children", f.VisitsNoChildren, "v8", "v9")
	ids(t, "partner numerator", f.PartnerSeenAlone.Numerator, "c1", "c6")
	ids(t, "partner denominator", f.PartnerSeenAlone.Denominator, "c1", "c2", "c6")
	ids(t, "partner seen not alone", f.PartnerSeenNotAlone, "c2")
	ids(t, "partner not seen", f.PartnerNotSeen)
	ids(t, "no partner", f.NoPartner, "c3", "c4")
	if pct(f.Confirmed.Percent) != "50" || pct(f.VictimInOwnRight.Percent) != "50" || pct(f.ChildrenSeen.Percent) != "66.7" ||
		pct(f.PartnerSeenAlone.Percent) != "66.7" {
		t.Errorf("percents: confirmed %s victim %s children %s partner %s", pct(f.Confirmed.Percent), pct(f.VictimInOwnRight.Percent),
			pct(f.ChildrenSeen.Percent), pct(f.PartnerSeenAlone.Percent))
	}
	visits(t, "child not on record", f.ChildNotOnRecord, "v7")
	if len(rep.Teams) != 2 || rep.Teams[0].ID != "t1" || rep.Teams[0].F.Cases.N != 4 || rep.Teams[1].F.Cases.N != 1 ||
		pct(rep.Teams[1].F.PartnerSeenAlone.Percent) != "100" || pct(rep.Teams[1].F.ChildrenSeen.Percent) != "null" {
		t.Errorf("teams %+v", rep.Teams)
	}
	if len(rep.Officers) != 3 || rep.Officers[0].ID != "o1" || pct(rep.Officers[0].F.Confirmed.Percent) != "50" ||
		pct(rep.Officers[1].F.Confirmed.Percent) != "0" {
		t.Errorf("officers %+v", rep.Officers)
	}
	c1 := rep.Cases[0]
	if c1.CaseID != "c1" || c1.Members != 3 || c1.Children != 2 || c1.ConfirmedOn != "2026-09-15" || c1.PartnerSeenOn != "2026-10-31" ||
		len(c1.Visits) != 2 || c1.Visits[1].Day != "2026-10-31" || !slices.Equal(c1.Visits[0].Reason, []string{"k2"}) {
		t.Errorf("c1 %+v", c1)
	}
	// Officer filter, and an earlier as_of: c1's household is still
	// confirmed on 10-15, but v2 (10-31) is not there yet.
	in.OfficerID = "o1"
	rep = compliance.Households(in, compliance.Period{From: from, To: "2026-10-15"}, "2026-10-15")
	ids(t, "o1 cases", rep.Totals.Cases, "c1", "c2")
	ids(t, "o1 partner alone", rep.Totals.PartnerSeenAlone.Numerator)
	visits(t, "o1 children seen", rep.Totals.ChildrenSeen.Denominator, "v1", "v7")
}

func TestInterventions(t *testing.T) {
	rep := compliance.Interventions(measuresInput(t), period, to)
	f := rep.Totals
	records(t, "needed", f.Needed, "r1", "r2", "r3", "r5", "r6", "r7", "r8", "r9")
	records(t, "awaiting decision", f.AwaitingDecision, "r5")
	records(t, "not referred", f.NotReferred, "r3", "r9")
	records(t, "referred", f.Referred, "r1", "r2", "r6", "r7", "r8")
	records(t, "waiting", f.Waiting, "r2", "r6")
	records(t, "withdrawn", f.Withdrawn, "r7")
	records(t, "started", f.Started, "r1", "r8")
	records(t, "completed", f.Completed, "r1")
	records(t, "referred share denominator", f.ReferredShare.Denominator, "r1", "r2", "r3", "r6", "r7", "r8", "r9")
	if pct(f.ReferredShare.Percent) != "71.4" || pct(f.StartedShare.Percent) != "40" || pct(f.CompletedShare.Percent) != "50" ||
		pct(f.DeliveredShare.Percent) != "28.6" {
		t.Errorf("shares: referred %s started %s completed %s delivered %s", pct(f.ReferredShare.Percent), pct(f.StartedShare.Percent),
			pct(f.CompletedShare.Percent), pct(f.DeliveredShare.Percent))
	}
	want := []compliance.NotReferredReason{
		{ReferralID: "r3", CaseID: "c2", Need: "Building Better Relationships", Decision: "not_available", Reason: "No programme running"},
		{ReferralID: "r9", CaseID: "c5", Need: "Education, training and employment", Decision: "not_suitable", Reason: "denies the offence"},
	}
	if !slices.Equal(f.NotReferredReasons, want) {
		t.Errorf("reasons %+v", f.NotReferredReasons)
	}
	for st, w := range map[string][]string{"completed": {"r1"}, "unknown": {"r2"}, "awaiting_allocation": {"r6"}, "withdrawn": {"r7"}, "breach": {"r8"}} {
		if f.Statuses[st] == nil {
			t.Errorf("status %s missing", st)
			continue
		}
		records(t, "status "+st, *f.Statuses[st], w...)
	}
	if len(f.Statuses) != 5 {
		t.Errorf("statuses %v", f.Statuses)
	}
	var needs []string
	for _, n := range rep.Needs {
		needs = append(needs, fmt.Sprintf("%s %d", n.Need, n.F.Needed.N))
	}
	if !slices.Equal(needs, []string{"Accommodation 1", "Building Better Relationships 5", "Education, training and employment 1", "Substance misuse 1"}) {
		t.Errorf("needs %v", needs)
	}
	days := map[string]int{}
	for _, it := range rep.Items {
		days[it.ReferralID] = it.DaysInStage
	}
	if days["r5"] != 11 || days["r6"] != 41 || days["r2"] != 55 || days["r1"] != 11 {
		t.Errorf("days in stage %v", days)
	}
	if len(rep.Officers) != 2 || rep.Officers[0].F.Needed.N != 3 || rep.Officers[1].F.Needed.N != 5 || pct(rep.Officers[1].F.DeliveredShare.Percent) != "25" {
		t.Errorf("officers %+v", rep.Officers)
	}
	// Later, r2's status (11-05) is known: started.
	rep = compliance.Interventions(measuresInput(t), compliance.Period{From: from, To: "2026-11-10"}, "2026-11-10")
	records(t, "started on 11-10", rep.Totals.Started, "r1", "r2", "r8")
}

func TestReviews(t *testing.T) {
	rep := compliance.Reviews(measuresInput(t), period, to)
	f := rep.Totals
	ids(t, "cases", f.Cases, "c1", "c2", "c3", "c4", "c5", "c6", "c7")
	records(t, "flags", f.Flags.Items, "f1", "f2", "f2b", "f3", "f4", "f5")
	records(t, "flags in date", f.Flags.InDate, "f1", "f5")
	records(t, "flags overdue", f.Flags.Overdue, "f2")
	records(t, "flags not yet due", f.Flags.NotYetDue, "f3")
	records(t, "flags no date", f.Flags.NoDate, "f2b")
	records(t, "flags after as_of", f.Flags.AfterAsOf, "f4")
	records(t, "flags reviewed in period", f.Flags.ReviewedInPeriod, "f1")
	records(t, "DA flags", f.DAFlags.Items, "f1", "f2", "f3", "f4")
	records(t, "RoSH in date", f.RoSH.InDate, "c1", "c3", "c5", "c6", "c7")
	records(t, "RoSH overdue", f.RoSH.Overdue, "c2")
	records(t, "RoSH no date", f.RoSH.NoDate, "c4")
	records(t, "RoSH in period", f.RoSH.ReviewedInPeriod, "c3", "c6", "c7")
	if pct(f.Flags.OnTime.Percent) != "66.7" || pct(f.DAFlags.OnTime.Percent) != "50" || pct(f.RoSH.OnTime.Percent) != "83.3" ||
		f.Flags.MaxDaysOverdue != 60 || f.RoSH.MaxDaysOverdue != 60 {
		t.Errorf("flags %s (max %d), DA %s, RoSH %s (max %d)", pct(f.Flags.OnTime.Percent), f.Flags.MaxDaysOverdue,
			pct(f.DAFlags.OnTime.Percent), pct(f.RoSH.OnTime.Percent), f.RoSH.MaxDaysOverdue)
	}
	if it := rep.Items[0]; it.DaysOverdue != 60 || it.CaseID != "c2" || it.DueOn != "2026-09-01" {
		t.Errorf("first item %+v", it)
	}
	if len(rep.Teams) != 2 || pct(rep.Teams[1].F.RoSH.OnTime.Percent) != "100" || rep.Teams[1].F.Flags.Items.N != 0 ||
		pct(rep.Teams[1].F.Flags.OnTime.Percent) != "null" {
		t.Errorf("teams %+v", rep.Teams)
	}
}

func TestWorkload(t *testing.T) {
	rep := compliance.Workload(measuresInput(t), to)
	f := rep.Totals
	if rep.Until != "2026-11-27" || rep.RuleVersion == "" {
		t.Errorf("until %s version %q", rep.Until, rep.RuleVersion)
	}
	ids(t, "caseload", f.Caseload, "c1", "c2", "c3", "c4", "c5", "c6", "c7")
	ids(t, "DA", f.DACases, "c1", "c2", "c3", "c4")
	ids(t, "high RoSH", f.HighRoSH, "c1", "c3", "c4", "c6")
	ids(t, "not started", f.NotStarted, "c9")
	ids(t, "due cases", f.DueCases, "c3", "c6")
	ids(t, "overdue cases", f.OverdueCases, "c5", "c7")
	visits(t, "planned", f.Planned, "v10")
	if f.Due != 2 || f.ByWeek != [4]int{1, 0, 0, 1} || f.Overdue != 2 {
		t.Errorf("due %d by week %v overdue %d", f.Due, f.ByWeek, f.Overdue)
	}
	type item struct{ caseID, rule, due, planned string }
	var got []item
	for _, it := range rep.Items {
		got = append(got, item{it.CaseID, it.RuleID, string(it.DueOn), string(it.PlannedOn)})
	}
	want := []item{{"c3", "first_visit_high", "2026-11-04", ""}, {"c6", "first_visit_high", "2026-11-26", "2026-11-20"}}
	if !slices.Equal(got, want) {
		t.Errorf("items %+v", got)
	}
	var per []string
	for _, o := range rep.Officers {
		per = append(per, fmt.Sprintf("%s %d/%d/%d/%d", o.ID, o.F.Caseload.N, o.F.Due, o.F.Overdue, o.F.NotStarted.N))
	}
	if !slices.Equal(per, []string{"o1 3/0/1/0", "o2 3/1/1/1", "o3 1/1/0/0"}) {
		t.Errorf("officers %v", per)
	}
}

func TestExemptions(t *testing.T) {
	rep := compliance.Exemptions(measuresInput(t), period, to)
	f := rep.Totals
	if f.Due.Requirements != 5 || f.Exempted.Requirements != 1 || f.Met.Requirements != 2 || f.Missed.Requirements != 2 || pct(f.Percent) != "20" {
		t.Errorf("due %d exempted %d met %d missed %d percent %s", f.Due.Requirements, f.Exempted.Requirements, f.Met.Requirements,
			f.Missed.Requirements, pct(f.Percent))
	}
	ids(t, "due", f.Due.Cases, "c1", "c4", "c5", "c6", "c8")
	ids(t, "missed", f.Missed.Cases, "c5", "c8")
	ids(t, "safety exempted", f.SafetyExempted, "c4")
	ids(t, "met despite exemption", f.MetDespiteExemption.Cases)
	if len(f.Reasons) != 1 || f.Reasons[0].CaseID != "c4" || f.Reasons[0].DueOn != "2026-10-17" || f.Reasons[0].ApprovedBy != "sup" ||
		f.Reasons[0].Recurrence != 1 {
		t.Errorf("reasons %+v", f.Reasons)
	}
}

func TestDropIDs(t *testing.T) {
	rep := compliance.Interventions(measuresInput(t), period, to)
	rep.Summarize()
	compliance.DropIDs(rep)
	b, _ := json.Marshal(rep)
	if strings.Contains(string(b), `"r1"`) || strings.Contains(string(b), `"c1"`) {
		t.Errorf("ids left: %s", b)
	}
	if rep.Totals.Needed.N != 8 || rep.Totals.Statuses["completed"].N != 1 || rep.Totals.Statuses["completed"].IDs != nil ||
		pct(rep.Totals.DeliveredShare.Percent) != "28.6" || rep.Needs[1].F.Needed.N != 5 || rep.Officers[1].F.Needed.CaseIDs != nil {
		t.Errorf("counts changed: %+v", rep.Totals)
	}
}

// TestMonthEnds checks the measures that count in months at the end of a
// month, where "N months after" is the last day of a shorter month
// (policy.MonthsAfter), never a day of the month after it.
func TestMonthEnds(t *testing.T) {
	t.Parallel()
	b := &builder{}
	da := func(id string, start schema.Date) {
		b.caseRec(id, "o1", "t1", "high", start, "2025-08-31", false)
		b.flag("f"+id, id, "da_victim", start, "", "", "")
	}
	// As of 31 May: confirmed 1 March is within 3 months (in date until
	// 1 June); 27 February is not (until 27 May). A case started 1 March
	// is not yet due; one started 28 February is (28 May).
	da("m1", "2026-01-01")
	b.member("p1", "m1", "partner", "lives_here", "2026-01-01", "2026-03-01", "")
	da("m2", "2026-01-01")
	b.member("p2", "m2", "partner", "lives_here", "2026-01-01", "2026-02-27", "")
	da("m3", "2026-03-01")
	b.member("p3", "m3", "partner", "lives_here", "2026-03-01", "", "")
	da("m4", "2026-02-28")
	b.member("p4", "m4", "partner", "lives_here", "2026-02-28", "", "")
	cases, err := compliance.Group(raw(t, b.recs))
	if err != nil {
		t.Fatal(err)
	}
	in := compliance.Input{Cases: cases}
	hh := compliance.Households(in, compliance.Period{From: "2026-03-01", To: "2026-05-31"}, "2026-05-31")
	var got []string
	for _, c := range hh.Cases {
		got = append(got, c.CaseID+" "+c.Household)
	}
	if want := []string{"m1 confirmed", "m2 not_confirmed", "m3 not_yet_due", "m4 not_confirmed"}; !slices.Equal(got, want) {
		t.Errorf("households as of 31 May = %q, want %q", got, want)
	}
	// RoSH assessed 31 August 2025: due 28 February 2026, so 2 days
	// overdue on 2 March (not in date until 3 March).
	rv := compliance.Reviews(in, compliance.Period{From: "2026-03-01", To: "2026-03-02"}, "2026-03-02")
	for _, it := range rv.Items {
		if it.Kind == "rosh" && (it.DueOn != "2026-02-28" || it.Status != "overdue" || it.DaysOverdue != 2) {
			t.Errorf("RoSH review of %s: due %s, %s, %d days overdue; want due 2026-02-28, overdue, 2 days", it.CaseID, it.DueOn, it.Status, it.DaysOverdue)
		}
	}
}
