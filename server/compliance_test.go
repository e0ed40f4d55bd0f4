package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
	"doorstep/server/serverdb/serverdbtest"
)

// complianceNow is "today" in the compliance tests.
var complianceNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// daSet is the hand-built dataset of the compliance tests: its case ids by
// name. The env's own cases (ashaCase, benCase: high RoSH, started
// 2026-10-01, no flag, no visit) are in it too.
type daSet struct {
	onTime, onDueDay, late, missed, notYetDue, exempted, phoneOnly string // DA, started in the period, team A
	nonDA, beforePeriod, reassigned                                string
	sue, bea                                                       schema.User
	exemptReason                                                   string
}

// seedCompliance builds the dataset with known answers. The period is
// 2026-09-01..2026-10-31; today is 2026-11-23.
func seedCompliance(t *testing.T, e *env) *daSet {
	t.Helper()
	ctx := context.Background()
	e.clock.Set(complianceNow)
	d := &daSet{sue: e.users["sue"]}
	d.bea = schema.User{ID: schema.NewID(), Username: "bea", Name: "Bea B", Role: schema.RoleSupervisor, TeamID: e.teamB.ID}
	if err := e.srv.DB().CreateUser(ctx, e.admin, d.bea, pw); err != nil {
		t.Fatal(err)
	}
	e.users["bea"] = d.bea
	var recs []schema.Record
	n := 0
	addCase := func(id *string, officer, rosh, start string, da bool) string {
		n++
		*id = schema.NewID()
		u := e.users[officer]
		c := schema.Case{CRN: fmt.Sprintf("D%06d", n), GivenName: "Case", FamilyName: fmt.Sprint(n), DateOfBirth: "1985-05-05",
			Address: "1 High St", OfficerID: u.ID, TeamID: u.TeamID, SentenceType: "community_order",
			SupervisionStart: schema.Date(start), RoSH: rosh}
		recs = append(recs, schema.Record{Entity: "case", ID: *id, CaseID: *id, Fields: schema.FieldsOf(c)})
		if da {
			f := schema.Flag{Type: "da_perpetrator", StartDate: schema.Date(start)}
			recs = append(recs, schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: *id, Fields: schema.FieldsOf(f)})
		}
		return *id
	}
	visit := func(caseID, officer, day, typ, outcome string, f2f bool) {
		u := e.users[officer]
		at := schema.Timestamp(day + "T10:00:00+01:00")
		v := schema.Visit{OfficerID: u.ID, PlannedType: typ, Type: typ, Status: "signed", Outcome: outcome, Location: "home",
			FaceToFace: f2f, StartedAt: at, EndedAt: schema.Timestamp(day + "T10:45:00+01:00"), PersonSeen: "yes",
			PartnerPresent: "no_partner", ChildrenPresent: "no_children", SignedAt: schema.Timestamp(day + "T11:00:00+01:00"), SignedBy: u.ID}
		if typ == "phone" {
			v.Location = ""
		}
		if outcome != "completed" {
			v.OutcomeReason = "nobody came to the door"
			v.PersonSeen = "no"
		}
		recs = append(recs, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)})
	}
	// Six domestic-abuse cases starting in the period, plus a phone-only one.
	visit(addCase(&d.onTime, "asha", "high", "2026-09-01", true), "asha", "2026-09-10", "home_announced", "completed", true)
	visit(addCase(&d.onDueDay, "asha", "high", "2026-09-05", true), "asha", "2026-09-20", "home_unannounced", "completed", true) // due 09-20
	visit(addCase(&d.late, "ben", "medium", "2026-09-10", true), "ben", "2026-10-25", "home_announced", "completed", true)       // due 10-22
	visit(addCase(&d.missed, "ben", "high", "2026-09-15", true), "ben", "2026-09-25", "home_unannounced", "no_answer", true)     // due 09-30; an attempt
	addCase(&d.notYetDue, "asha", "high", "2026-10-20", true)                                                                    // due 11-04
	addCase(&d.exempted, "ben", "high", "2026-09-20", true)
	d.exemptReason = "partner hostile to staff; meet at the office"
	sa := schema.SafetyAssessment{Address: "1 High St", AssessedOn: "2026-09-21", AssessedBy: e.users["ben"].ID,
		Decision: "not_approved", DecisionReason: d.exemptReason, DecidedBy: d.sue.ID, DecidedOn: "2026-09-22"}
	recs = append(recs, schema.Record{Entity: "safety_assessment", ID: schema.NewID(), CaseID: d.exempted, Fields: schema.FieldsOf(sa)})
	visit(addCase(&d.phoneOnly, "asha", "high", "2026-09-25", true), "asha", "2026-10-01", "phone", "completed", false) // due 10-10
	// Not in the measure: no DA flag; started before the period; moved to team B.
	addCase(&d.nonDA, "asha", "high", "2026-09-03", false)
	visit(addCase(&d.beforePeriod, "ben", "high", "2026-08-01", true), "ben", "2026-08-10", "home_announced", "completed", true)
	visit(addCase(&d.reassigned, "asha", "high", "2026-09-12", true), "asha", "2026-09-20", "home_announced", "completed", true)
	if err := e.srv.DB().Seed(ctx, e.admin, recs); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.DB().ReassignCase(ctx, e.admin, d.reassigned, "carl"); err != nil {
		t.Fatal(err)
	}
	return d
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// pct shows a percentage that may be null.
func pct(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func checkIDs(t *testing.T, what string, got compliance.IDs, want ...string) {
	t.Helper()
	w := sorted(want...)
	if got.N != len(w) || !slices.Equal(got.CaseIDs, w) {
		t.Errorf("%s = %d %v, want %d %v", what, got.N, got.CaseIDs, len(w), w)
	}
}

func (e *env) getJSON(t *testing.T, path, token string, v any) resp {
	t.Helper()
	r := e.do("GET", path, nil, bearer(token))
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	r.decode(t, v)
	return r
}

func TestComplianceFirstHomeVisits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31", sue, &rep)

	if rep.AsOf != "2026-10-31" || rep.Period != (compliance.Period{From: "2026-09-01", To: "2026-10-31"}) || rep.RuleVersion == "" {
		t.Errorf("as_of %s period %+v version %q", rep.AsOf, rep.Period, rep.RuleVersion)
	}
	f := rep.Totals
	checkIDs(t, "cases", f.Cases, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly)
	checkIDs(t, "numerator", f.Numerator, d.onTime, d.onDueDay)
	checkIDs(t, "denominator", f.Denominator, d.onTime, d.onDueDay, d.late, d.missed, d.phoneOnly)
	if f.Percent == nil || *f.Percent != 40 {
		t.Errorf("percent = %v, want 40", pct(f.Percent))
	}
	checkIDs(t, "met late", f.MetLate, d.late)
	checkIDs(t, "missed", f.Missed, d.missed, d.phoneOnly)
	// The inspection's figure: visited at all, 3 of the same 5.
	checkIDs(t, "visited at all", f.VisitedAtAll.Numerator, d.onTime, d.onDueDay, d.late)
	checkIDs(t, "visited at all, of", f.VisitedAtAll.Denominator, d.onTime, d.onDueDay, d.late, d.missed, d.phoneOnly)
	if pct(f.VisitedAtAll.Percent) != "60" {
		t.Errorf("visited at all percent = %s, want 60", pct(f.VisitedAtAll.Percent))
	}
	checkIDs(t, "not yet due", f.NotYetDue, d.notYetDue)
	checkIDs(t, "not yet due, visited", f.NotYetDueVisited)
	checkIDs(t, "exempted", f.Exempted, d.exempted)
	checkIDs(t, "cancelled", f.Cancelled)
	checkIDs(t, "safety not approved", f.SafetyNotApproved, d.exempted)
	checkIDs(t, "safety exempted", f.SafetyExempted)
	wantReason := "home visits not approved by the safety assessment of 2026-09-22: " + d.exemptReason
	if len(f.ExemptedReasons) != 1 || f.ExemptedReasons[0] != (compliance.Excuse{CaseID: d.exempted, Reason: wantReason, ApprovedBy: d.sue.ID}) {
		t.Errorf("exempted reasons = %+v", f.ExemptedReasons)
	}

	// Per team: team A only. Per officer: asha 2 of 3, ben 0 of 2.
	if len(rep.Teams) != 1 || rep.Teams[0].ID != e.teamA.ID || rep.Teams[0].Name != "Team A" || rep.Teams[0].F.Numerator.N != 2 || rep.Teams[0].F.Denominator.N != 5 {
		t.Errorf("teams = %+v", rep.Teams)
	}
	if len(rep.Officers) != 2 {
		t.Fatalf("officers = %+v", rep.Officers)
	}
	asha, ben := rep.Officers[0], rep.Officers[1]
	if asha.ID != e.users["asha"].ID || asha.Name != "asha" || ben.ID != e.users["ben"].ID || asha.TeamID != e.teamA.ID {
		t.Fatalf("officers = %+v", rep.Officers)
	}
	checkIDs(t, "asha numerator", asha.F.Numerator, d.onTime, d.onDueDay)
	checkIDs(t, "asha denominator", asha.F.Denominator, d.onTime, d.onDueDay, d.phoneOnly)
	checkIDs(t, "asha not yet due", asha.F.NotYetDue, d.notYetDue)
	if asha.F.Percent == nil || *asha.F.Percent != 66.7 {
		t.Errorf("asha percent = %v, want 66.7", pct(asha.F.Percent))
	}
	checkIDs(t, "ben numerator", ben.F.Numerator)
	checkIDs(t, "ben denominator", ben.F.Denominator, d.late, d.missed)
	checkIDs(t, "ben visited at all", ben.F.VisitedAtAll.Numerator, d.late)
	checkIDs(t, "ben exempted", ben.F.Exempted, d.exempted)
	if ben.F.Percent == nil || *ben.F.Percent != 0 {
		t.Errorf("ben percent = %v, want 0", pct(ben.F.Percent))
	}

	// Per case: outcome, due date, met date, days late, in start order.
	type row struct {
		id, outcome, due, met string
		daysLate, attempts    int
	}
	want := []row{
		{d.onTime, "on_time", "2026-09-16", "2026-09-10", 0, 0},
		{d.onDueDay, "on_time", "2026-09-20", "2026-09-20", 0, 0},
		{d.late, "late", "2026-10-22", "2026-10-25", 3, 0},
		{d.missed, "missed", "2026-09-30", "", 31, 1},
		{d.exempted, "exempted", "2026-10-05", "", 0, 0},
		{d.phoneOnly, "missed", "2026-10-10", "", 21, 0},
		{d.notYetDue, "not_yet_due", "2026-11-04", "", 0, 0},
	}
	var got []row
	for _, c := range rep.Cases {
		got = append(got, row{c.CaseID, c.Outcome, string(c.DueOn), string(c.MetOn), c.DaysLate, len(c.Attempts)})
		if c.OfficerName == "" || c.TeamName != "Team A" || !slices.Equal(c.DAFlags, []string{"da_perpetrator"}) {
			t.Errorf("case %s: officer %q team %q flags %v", c.CRN, c.OfficerName, c.TeamName, c.DAFlags)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("cases:\n got %+v\nwant %+v", got, want)
	}
	if c := rep.Cases[4]; c.Safety == nil || c.Safety.Decision != "not_approved" || c.ApprovedBy != d.sue.ID {
		t.Errorf("exempted case: %+v", c)
	}

	// The request is audited: one event recording the query (who, which
	// view, the scope and the period) and how many cases it covered.
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].UserID != d.sue.ID || evs[0].Entity != "case" || evs[0].DeviceID != "dev-sue" {
		t.Fatalf("audit = %+v", evs)
	}
	var detail struct {
		Params map[string]string `json:"params"`
		Scope  map[string]string `json:"scope"`
	}
	if err := json.Unmarshal(evs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if view, n := viewDetail(t, evs[0].Detail); view != "compliance/first-home-visits" || n != len(f.Cases.CaseIDs) ||
		detail.Scope["role"] != "supervisor" || detail.Scope["team_id"] != d.sue.TeamID ||
		detail.Params["from"] != "2026-09-01" || detail.Params["to"] != "2026-10-31" || detail.Params["as_of"] != "2026-10-31" {
		t.Errorf("audit detail = %s", evs[0].Detail)
	}

	// One officer only.
	var one compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31&officer_id="+e.users["ben"].ID, sue, &one)
	checkIDs(t, "ben only: cases", one.Totals.Cases, d.late, d.missed, d.exempted)
	if len(one.Officers) != 1 || one.OfficerID != e.users["ben"].ID {
		t.Errorf("ben only: officers %+v", one.Officers)
	}

	// An admin sees every team: the reassigned case is carl's, team B's,
	// and on time (due 09-27, visited 09-20).
	root := e.login("root", "dev-root").AccessToken
	var all compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31", root, &all)
	checkIDs(t, "admin numerator", all.Totals.Numerator, d.onTime, d.onDueDay, d.reassigned)
	if all.Totals.Denominator.N != 6 || pct(all.Totals.Percent) != "50" || len(all.Teams) != 2 || all.Teams[1].Name != "Team B" ||
		all.Teams[1].F.Numerator.N != 1 || all.Teams[1].F.Denominator.N != 1 {
		t.Errorf("admin: denominator %d percent %v teams %+v", all.Totals.Denominator.N, pct(all.Totals.Percent), all.Teams)
	}
}

// contactSet are the visits seedContacts adds to the dataset, by name.
type contactSet struct {
	cafeLastDay, homeDayAfter, draft, phone, library, doorstep, video string
	cafeReason                                                        string
}

// seedContacts adds contacts for measure 3 to seedCompliance's dataset
// (which measures 1 and 2 are tested without). With the dataset's own
// visits, team A has in 2026-09-01..2026-10-31: home visits on 09-10,
// 09-20 (asha) and 10-25 (ben), a no-answer home attempt on 09-25 (ben)
// and a phone contact on 10-01 (asha); plus these.
func seedContacts(t *testing.T, e *env, d *daSet) *contactSet {
	t.Helper()
	cs := &contactSet{cafeReason: "asked to meet away from home: partner there"}
	var recs []schema.Record
	add := func(id *string, caseID, officer, day, typ, location, place, reason string, f2f bool, status string) {
		*id = schema.NewID()
		u := e.users[officer]
		v := schema.Visit{OfficerID: u.ID, PlannedType: typ, Type: typ, Status: status, Outcome: "completed", Location: location,
			PlaceType: place, ElsewhereReason: reason, FaceToFace: f2f, StartedAt: schema.Timestamp(day + "T10:00:00+01:00"),
			EndedAt: schema.Timestamp(day + "T10:45:00+01:00"), PersonSeen: "yes", PartnerPresent: "no_partner", ChildrenPresent: "no_children"}
		if status == "signed" {
			v.SignedAt, v.SignedBy = schema.Timestamp(day+"T11:00:00+01:00"), u.ID
		}
		recs = append(recs, schema.Record{Entity: "visit", ID: *id, CaseID: caseID, Fields: schema.FieldsOf(v)})
	}
	add(&cs.cafeLastDay, d.nonDA, "asha", "2026-10-31", "other_place", "elsewhere", "cafe", cs.cafeReason, true, "signed")
	add(&cs.homeDayAfter, d.nonDA, "asha", "2026-11-01", "home_announced", "home", "", "", true, "signed")
	add(&cs.draft, d.onTime, "asha", "2026-10-05", "home_announced", "home", "", "", true, "draft")
	add(&cs.phone, d.nonDA, "asha", "2026-09-15", "phone", "", "", "", false, "signed")
	add(&cs.library, d.notYetDue, "asha", "2026-10-25", "other_place", "elsewhere", "library", "library near the hostel", true, "signed")
	add(&cs.doorstep, d.exempted, "ben", "2026-10-02", "home_announced", "doorstep", "", "", true, "signed")
	add(&cs.video, d.beforePeriod, "ben", "2026-10-15", "video", "", "", "", false, "signed")
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func checkVisits(t *testing.T, what string, got compliance.VisitIDs, visits []string, cases ...string) {
	t.Helper()
	w := sorted(visits...)
	if got.N != len(w) || !slices.Equal(got.VisitIDs, w) || !slices.Equal(got.CaseIDs, slices.Compact(sorted(cases...))) {
		t.Errorf("%s = %d %v cases %v, want %d %v cases %v", what, got.N, got.VisitIDs, got.CaseIDs, len(w), w, slices.Compact(sorted(cases...)))
	}
}

func TestComplianceContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	cs := seedContacts(t, e, d)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31", sue, &rep)
	if rep.Measure != "contacts" || rep.AsOf != "2026-10-31" || rep.Period != (compliance.Period{From: "2026-09-01", To: "2026-10-31"}) {
		t.Errorf("measure %q as_of %s period %+v", rep.Measure, rep.AsOf, rep.Period)
	}
	// The dataset's own visits, by case.
	own := map[string]string{}
	for _, v := range rep.Visits {
		if v.CaseID == d.onTime || v.CaseID == d.onDueDay || v.CaseID == d.late || v.CaseID == d.missed || v.CaseID == d.phoneOnly {
			own[v.CaseID] = v.VisitID
		}
	}
	vOnTime, vOnDueDay, vLate, vMissed, vPhoneOnly := own[d.onTime], own[d.onDueDay], own[d.late], own[d.missed], own[d.phoneOnly]
	if len(own) != 5 {
		t.Fatalf("the dataset's own visits: %v", own)
	}
	f := rep.Totals
	// Counted: 10 signed contacts; not the day after, not the draft.
	checkVisits(t, "contacts", f.Contacts, []string{vOnTime, vOnDueDay, vLate, vMissed, vPhoneOnly, cs.cafeLastDay, cs.phone, cs.library, cs.doorstep, cs.video},
		d.onTime, d.onDueDay, d.late, d.missed, d.phoneOnly, d.nonDA, d.notYetDue, d.exempted, d.beforePeriod)
	for _, v := range rep.Visits {
		if v.VisitID == cs.homeDayAfter || v.VisitID == cs.draft {
			t.Errorf("visit %s counted: %+v", v.VisitID, v)
		}
	}
	checkVisits(t, "completed", f.Completed, []string{vOnTime, vOnDueDay, vLate, vPhoneOnly, cs.cafeLastDay, cs.phone, cs.library, cs.doorstep, cs.video},
		d.onTime, d.onDueDay, d.late, d.phoneOnly, d.nonDA, d.notYetDue, d.exempted, d.beforePeriod)
	ch := f.Channels
	checkVisits(t, "face to face", ch.FaceToFace, []string{vOnTime, vOnDueDay, vLate, cs.cafeLastDay, cs.library, cs.doorstep},
		d.onTime, d.onDueDay, d.late, d.nonDA, d.notYetDue, d.exempted)
	checkVisits(t, "home", ch.Home, []string{vOnTime, vOnDueDay, vLate}, d.onTime, d.onDueDay, d.late)
	checkVisits(t, "doorstep", ch.Doorstep, []string{cs.doorstep}, d.exempted)
	checkVisits(t, "elsewhere", ch.Elsewhere, []string{cs.cafeLastDay, cs.library}, d.nonDA, d.notYetDue)
	checkVisits(t, "cafe", ch.ElsewhereByPlace.Cafe, []string{cs.cafeLastDay}, d.nonDA)
	checkVisits(t, "library", ch.ElsewhereByPlace.Library, []string{cs.library}, d.notYetDue)
	checkVisits(t, "office", ch.ElsewhereByPlace.Office, nil)
	checkVisits(t, "community venue", ch.ElsewhereByPlace.CommunityVenue, nil)
	checkVisits(t, "other place", ch.ElsewhereByPlace.Other, nil)
	checkVisits(t, "phone", ch.Phone, []string{vPhoneOnly, cs.phone}, d.phoneOnly, d.nonDA)
	checkVisits(t, "video", ch.Video, []string{cs.video}, d.beforePeriod)
	checkVisits(t, "other not face to face", ch.OtherNotFaceToFace, nil)
	// The no-answer home attempt is kept apart, by outcome and channel.
	checkVisits(t, "attempts", f.Attempts, []string{vMissed}, d.missed)
	checkVisits(t, "no answer", f.AttemptOutcomes.NoAnswer, []string{vMissed}, d.missed)
	checkVisits(t, "refused entry", f.AttemptOutcomes.RefusedEntry, nil)
	checkVisits(t, "attempt at home", f.AttemptChannels.Home, []string{vMissed}, d.missed)
	checkVisits(t, "attempt f2f", f.AttemptChannels.FaceToFace, []string{vMissed}, d.missed)
	// Shares: 3 home of 9 completed; 6 face to face of 9.
	checkVisits(t, "home share numerator", f.HomeShare.Numerator, []string{vOnTime, vOnDueDay, vLate}, d.onTime, d.onDueDay, d.late)
	if f.HomeShare.Denominator.N != 9 || pct(f.HomeShare.Percent) != "33.3" {
		t.Errorf("home share = %d/%d %s, want 3/9 33.3", f.HomeShare.Numerator.N, f.HomeShare.Denominator.N, pct(f.HomeShare.Percent))
	}
	if f.FaceToFaceShare.Numerator.N != 6 || f.FaceToFaceShare.Denominator.N != 9 || pct(f.FaceToFaceShare.Percent) != "66.7" {
		t.Errorf("face-to-face share = %d/%d %s, want 6/9 66.7", f.FaceToFaceShare.Numerator.N, f.FaceToFaceShare.Denominator.N, pct(f.FaceToFaceShare.Percent))
	}
	// The domestic-abuse view: the contacts of cases with a DA flag live on
	// the day (not the non-DA case's café and phone contacts; the library
	// contact of 10-25 is, its flag live from 10-20): 3 home and 5 face to
	// face of 7 completed, and the attempt.
	da := f.DomesticAbuse
	checkVisits(t, "DA contacts", da.Contacts, []string{vOnTime, vOnDueDay, vLate, vMissed, vPhoneOnly, cs.library, cs.doorstep, cs.video},
		d.onTime, d.onDueDay, d.late, d.missed, d.phoneOnly, d.notYetDue, d.exempted, d.beforePeriod)
	checkVisits(t, "DA attempts", da.Attempts, []string{vMissed}, d.missed)
	checkVisits(t, "DA home share numerator", da.HomeShare.Numerator, []string{vOnTime, vOnDueDay, vLate}, d.onTime, d.onDueDay, d.late)
	if da.Completed.N != 7 || da.HomeShare.Denominator.N != 7 || pct(da.HomeShare.Percent) != "42.9" ||
		da.FaceToFaceShare.Numerator.N != 5 || pct(da.FaceToFaceShare.Percent) != "71.4" {
		t.Errorf("DA view: %d completed, home %d/%d %s, face to face %d/%d %s; want 7, 3/7 42.9, 5/7 71.4", da.Completed.N,
			da.HomeShare.Numerator.N, da.HomeShare.Denominator.N, pct(da.HomeShare.Percent),
			da.FaceToFaceShare.Numerator.N, da.FaceToFaceShare.Denominator.N, pct(da.FaceToFaceShare.Percent))
	}
	for _, v := range rep.Visits {
		if want := v.CaseID != d.nonDA; v.DomesticAbuse != want {
			t.Errorf("visit %s of %s: domestic_abuse %v, want %v", v.VisitID, v.CaseID, v.DomesticAbuse, want)
		}
	}
	wantReasons := []compliance.ElsewhereReason{
		{VisitID: cs.cafeLastDay, CaseID: d.nonDA, PlaceType: "cafe", Reason: cs.cafeReason},
		{VisitID: cs.library, CaseID: d.notYetDue, PlaceType: "library", Reason: "library near the hostel"},
	}
	slices.SortFunc(wantReasons, func(a, b compliance.ElsewhereReason) int { return strings.Compare(a.VisitID, b.VisitID) })
	if !slices.Equal(f.ElsewhereReasons, wantReasons) {
		t.Errorf("elsewhere reasons = %+v, want %+v", f.ElsewhereReasons, wantReasons)
	}

	// Per team and officer (by the case's allocation): asha 2 home of 6
	// completed, 4 face to face; ben 1 home of 3 completed, 1 attempt.
	if len(rep.Teams) != 1 || rep.Teams[0].ID != e.teamA.ID || rep.Teams[0].F.Contacts.N != 10 {
		t.Errorf("teams = %+v", rep.Teams)
	}
	if len(rep.Officers) != 2 || rep.Officers[0].ID != e.users["asha"].ID || rep.Officers[1].ID != e.users["ben"].ID {
		t.Fatalf("officers = %+v", rep.Officers)
	}
	asha, ben := rep.Officers[0].F, rep.Officers[1].F
	if asha.Contacts.N != 6 || asha.Completed.N != 6 || asha.Attempts.N != 0 || asha.HomeShare.Numerator.N != 2 ||
		pct(asha.HomeShare.Percent) != "33.3" || asha.FaceToFaceShare.Numerator.N != 4 || pct(asha.FaceToFaceShare.Percent) != "66.7" {
		t.Errorf("asha = %+v", asha)
	}
	if ben.Contacts.N != 4 || ben.Completed.N != 3 || ben.Attempts.N != 1 || ben.HomeShare.Numerator.N != 1 ||
		pct(ben.HomeShare.Percent) != "33.3" || ben.Channels.Doorstep.N != 1 || ben.Channels.Video.N != 1 {
		t.Errorf("ben = %+v", ben)
	}

	// Per case: the non-DA case has the cafe and the phone contact, no home
	// visit.
	var nonDA *compliance.ContactCase
	for i, c := range rep.Cases {
		if c.CaseID == d.nonDA {
			nonDA = &rep.Cases[i]
		}
	}
	if len(rep.Cases) != 9 || nonDA == nil {
		t.Fatalf("cases = %+v", rep.Cases)
	}
	if w := sorted(cs.cafeLastDay, cs.phone); nonDA.F.Contacts != 2 || !slices.Equal(nonDA.VisitIDs, w) {
		t.Errorf("non-DA contacts = %d %v, want 2 %v", nonDA.F.Contacts, nonDA.VisitIDs, w)
	}
	if nonDA.F.HomeShare.Denominator != 2 || pct(nonDA.F.HomeShare.Percent) != "0" || nonDA.F.Completed != 2 ||
		nonDA.F.Channels.Elsewhere != 1 || nonDA.F.Channels.ElsewhereByPlace.Cafe != 1 || nonDA.F.Channels.Phone != 1 ||
		nonDA.OfficerName != "asha" || nonDA.TeamName != "Team A" {
		t.Errorf("non-DA case = %+v", nonDA)
	}
	// Per visit, in day order: the cafe contact on the last day comes last.
	last := rep.Visits[len(rep.Visits)-1]
	if len(rep.Visits) != 10 || last.VisitID != cs.cafeLastDay || last.Day != "2026-10-31" || last.Channel != "face_to_face_elsewhere" ||
		last.PlaceType != "cafe" || last.ElsewhereReason != cs.cafeReason || last.Outcome != "completed" || last.OfficerName != "asha" {
		t.Errorf("visits = %+v", rep.Visits)
	}
	if first := rep.Visits[0]; first.VisitID != vOnTime || first.Channel != "face_to_face_home" || first.Day != "2026-09-10" {
		t.Errorf("first visit = %+v", first)
	}

	// Audited: one event recording the query and how many cases it covered.
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil {
		t.Fatal(err)
	}
	var detail struct {
		Params map[string]string `json:"params"`
	}
	if len(evs) != 1 || evs[0].UserID != d.sue.ID {
		t.Fatalf("audit = %+v", evs)
	}
	if err := json.Unmarshal(evs[0].Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if view, n := viewDetail(t, evs[0].Detail); view != "compliance/contacts" || n != len(f.Contacts.CaseIDs) || detail.Params["from"] != "2026-09-01" ||
		detail.Params["to"] != "2026-10-31" || detail.Params["as_of"] != "2026-10-31" {
		t.Errorf("audit detail = %s", evs[0].Detail)
	}

	// One officer; the period's last day moved on by one day takes in the
	// home visit of 11-01; an admin sees team B's reassigned case too.
	var one compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31&officer_id="+e.users["ben"].ID, sue, &one)
	if one.Totals.Contacts.N != 4 || len(one.Officers) != 1 || one.OfficerID != e.users["ben"].ID {
		t.Errorf("ben only: %+v", one.Totals.Contacts)
	}
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-11-01", sue, &one)
	if one.Totals.Contacts.N != 11 || one.Totals.HomeShare.Numerator.N != 4 || one.AsOf != "2026-11-01" {
		t.Errorf("to 11-01: %d contacts, %d home", one.Totals.Contacts.N, one.Totals.HomeShare.Numerator.N)
	}
	root := e.login("root", "dev-root").AccessToken
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31", root, &one)
	if one.Totals.Contacts.N != 11 || len(one.Teams) != 2 || one.Teams[1].F.Channels.Home.N != 1 {
		t.Errorf("admin: %d contacts, teams %+v", one.Totals.Contacts.N, one.Teams)
	}
}

func TestComplianceDefaultPeriod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.FirstVisitReport
	e.getJSON(t, "/v1/compliance/first-home-visits", sue, &rep)
	// 90 days, today included: 2026-08-26..2026-11-23, as of today.
	if rep.Period != (compliance.Period{From: "2026-08-26", To: "2026-11-23"}) || rep.AsOf != "2026-11-23" {
		t.Fatalf("period %+v as of %s", rep.Period, rep.AsOf)
	}
	// As of today the case not due by 10-31 is due (11-04) and missed.
	checkIDs(t, "missed", rep.Totals.Missed, d.missed, d.phoneOnly, d.notYetDue)
	checkIDs(t, "numerator", rep.Totals.Numerator, d.onTime, d.onDueDay)
	// A period running past today is computed as of today.
	e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-12-31", sue, &rep)
	if rep.AsOf != "2026-11-23" || rep.Totals.Denominator.N != 6 {
		t.Errorf("as of %s, denominator %d", rep.AsOf, rep.Totals.Denominator.N)
	}
}

func TestComplianceOverdue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.OverdueReport
	e.getJSON(t, "/v1/compliance/overdue", sue, &rep)
	if rep.AsOf != "2026-11-23" {
		t.Errorf("as_of = %s", rep.AsOf)
	}
	type row struct {
		id      string
		rule    string
		rec     int
		due     string
		days    int
		officer string
		da      bool
	}
	want := []row{
		{d.nonDA, "first_visit_high", 0, "2026-09-18", 66, "asha", false},
		{d.beforePeriod, "first_visit_high", 1, "2026-09-21", 63, "ben", true}, // the 6-weekly repeat after 08-10
		{d.missed, "first_visit_high", 0, "2026-09-30", 54, "ben", true},
		{d.phoneOnly, "first_visit_high", 0, "2026-10-10", 44, "asha", true},
		{e.ashaCase, "first_visit_high", 0, "2026-10-16", 38, "asha", false}, // CRN A000001 before B000002
		{e.benCase, "first_visit_high", 0, "2026-10-16", 38, "ben", false},
		{d.onTime, "first_visit_high", 1, "2026-10-22", 32, "asha", true},
		{d.onDueDay, "first_visit_high", 1, "2026-11-01", 22, "asha", true},
		{d.notYetDue, "first_visit_high", 0, "2026-11-04", 19, "asha", true},
	}
	var got []row
	for _, it := range rep.Items {
		got = append(got, row{it.CaseID, it.RuleID, it.Recurrence, string(it.DueOn), it.DaysOverdue, it.OfficerName, it.DomesticAbuse})
		if it.Trigger != "supervision_start" || it.CRN == "" || it.TeamName != "Team A" || it.RuleName == "" {
			t.Errorf("item %+v", it)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("items:\n got %+v\nwant %+v", got, want)
	}
	if rep.Totals.Requirements != 9 || rep.Totals.Cases.N != 9 || rep.Totals.MaxDaysOverdue != 66 {
		t.Errorf("totals %+v", rep.Totals)
	}
	if len(rep.Officers) != 2 || rep.Officers[0].F.Requirements != 6 || rep.Officers[1].F.Requirements != 3 {
		t.Errorf("officers %+v", rep.Officers)
	}
	// A past day: as of 2026-10-31, the case started 10-20 is not overdue
	// yet and the first visits due 09-16/09-20 were met.
	e.getJSON(t, "/v1/compliance/overdue?as_of=2026-10-31&officer_id="+e.users["asha"].ID, sue, &rep)
	var ids []string
	for _, it := range rep.Items {
		ids = append(ids, fmt.Sprintf("%s:%d", it.CaseID, it.DaysOverdue))
	}
	wantIDs := []string{d.nonDA + ":43", d.phoneOnly + ":21", e.ashaCase + ":15", d.onTime + ":9"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("as of 10-31, asha: %v, want %v", ids, wantIDs)
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(evs) != 2 || !strings.Contains(string(evs[1].Detail), `"view":"compliance/overdue"`) || strings.Contains(string(evs[1].Detail), d.nonDA) {
		t.Errorf("audit = %+v", evs)
	}
}

func TestComplianceScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	teamA := map[string]bool{e.ashaCase: true, e.benCase: true, d.onTime: true, d.onDueDay: true, d.late: true, d.missed: true,
		d.notYetDue: true, d.exempted: true, d.phoneOnly: true, d.nonDA: true, d.beforePeriod: true}
	bea := e.login("bea", "dev-bea").AccessToken
	var fv compliance.FirstVisitReport
	r := e.getJSON(t, "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31", bea, &fv)
	checkIDs(t, "team B cases", fv.Totals.Cases, d.reassigned)
	var od compliance.OverdueReport
	r2 := e.getJSON(t, "/v1/compliance/overdue", bea, &od)
	for id := range teamA {
		if strings.Contains(string(r.body), id) || strings.Contains(string(r2.body), id) {
			t.Errorf("team B's supervisor sees team A's case %s", id)
		}
	}
	checkIDs(t, "team B overdue", od.Totals.Cases, d.reassigned)
	// An auditor sees everything.
	audrey := e.login("audrey", "dev-audrey").AccessToken
	e.getJSON(t, "/v1/compliance/overdue", audrey, &od)
	if od.Totals.Cases.N != 10 {
		t.Errorf("auditor sees %d overdue cases, want 10", od.Totals.Cases.N)
	}
}

func TestComplianceRefusals(t *testing.T) {
	t.Parallel()
	sup := func(e *env) map[string]string {
		e.clock.Set(complianceNow)
		return bearer(e.login("sue", "dev-sue").AccessToken)
	}
	fv := "/v1/compliance/first-home-visits"
	scenarios := []scenario{
		{name: "officer first visits", method: "GET", path: fv, headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "officer overdue", method: "GET", path: "/v1/compliance/overdue", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "officer contacts", method: "GET", path: "/v1/compliance/contacts", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "contacts bad from", method: "GET", path: "/v1/compliance/contacts?from=2026-02-30&to=2026-03-31", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "contacts from after to", method: "GET", path: "/v1/compliance/contacts?from=2026-10-01&to=2026-09-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "officer enquiries", method: "GET", path: "/v1/compliance/enquiries", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "enquiries bad to", method: "GET", path: "/v1/compliance/enquiries?from=2026-09-01&to=2026-9-30", headers: sup, status: 400, code: schema.ECodeInvalid, field: "to"},
		{name: "enquiries bad officer", method: "GET", path: "/v1/compliance/enquiries?officer_id=a%20b", headers: sup, status: 400, code: schema.ECodeInvalid, field: "officer_id"},
		{name: "no token", method: "GET", path: fv, status: 401, code: schema.ECodeUnauthorized, field: "Authorization"},
		{name: "bad from", method: "GET", path: fv + "?from=2026-13-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "bad to", method: "GET", path: fv + "?to=yesterday", headers: sup, status: 400, code: schema.ECodeInvalid, field: "to"},
		{name: "short date", method: "GET", path: fv + "?from=2026-9-1", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "from after to", method: "GET", path: fv + "?from=2026-10-01&to=2026-09-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "bad officer", method: "GET", path: fv + "?officer_id=a%20b", headers: sup, status: 400, code: schema.ECodeInvalid, field: "officer_id"},
		{name: "bad as_of", method: "GET", path: "/v1/compliance/overdue?as_of=2026-02-30", headers: sup, status: 400, code: schema.ECodeInvalid, field: "as_of"},
		{name: "future as_of", method: "GET", path: "/v1/compliance/overdue?as_of=2027-01-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "as_of"},
		{name: "officer households", method: "GET", path: "/v1/compliance/households", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "households bad from", method: "GET", path: "/v1/compliance/households?from=2026-02-30", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "officer interventions", method: "GET", path: "/v1/compliance/interventions", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "interventions bad to", method: "GET", path: "/v1/compliance/interventions?to=soon", headers: sup, status: 400, code: schema.ECodeInvalid, field: "to"},
		{name: "officer reviews", method: "GET", path: "/v1/compliance/reviews", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "reviews from after to", method: "GET", path: "/v1/compliance/reviews?from=2026-10-01&to=2026-09-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "from"},
		{name: "officer workload", method: "GET", path: "/v1/compliance/workload", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "workload bad as_of", method: "GET", path: "/v1/compliance/workload?as_of=31-10-2026", headers: sup, status: 400, code: schema.ECodeInvalid, field: "as_of"},
		{name: "workload future as_of", method: "GET", path: "/v1/compliance/workload?as_of=2027-01-01", headers: sup, status: 400, code: schema.ECodeInvalid, field: "as_of"},
		{name: "workload bad officer", method: "GET", path: "/v1/compliance/workload?officer_id=%00", headers: sup, status: 400, code: schema.ECodeInvalid, field: "officer_id"},
		{name: "bad detail", method: "GET", path: "/v1/compliance/households?detail=everything", headers: sup, status: 400, code: schema.ECodeInvalid, field: "detail"},
		{name: "workload bad detail", method: "GET", path: "/v1/compliance/workload?detail=1", headers: sup, status: 400, code: schema.ECodeInvalid, field: "detail"},
		{name: "officer exemptions", method: "GET", path: "/v1/compliance/exemptions", headers: asOfficer, status: 403, code: schema.ECodeForbidden},
		{name: "exemptions bad officer", method: "GET", path: "/v1/compliance/exemptions?officer_id=a%20b", headers: sup, status: 400, code: schema.ECodeInvalid, field: "officer_id"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel() // each scenario builds its own server
			sc.run(t)
		})
	}
}

// complianceEndpoints are every compliance measure's endpoint, as the
// dashboard asks for them.
var complianceEndpoints = []string{
	"/v1/compliance/first-home-visits?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/overdue",
	"/v1/compliance/contacts?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/enquiries?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/households?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/interventions?from=2026-01-01&to=2026-11-23",
	"/v1/compliance/reviews?from=2026-08-25&to=2026-11-23",
	"/v1/compliance/workload",
	"/v1/compliance/exemptions?from=2026-08-25&to=2026-11-23",
}

// withDetail asks for an endpoint at a detail: summary (no rows) or
// counts (no rows, no ids).
func withDetail(path, detail string) string {
	if strings.Contains(path, "?") {
		return path + "&detail=" + detail
	}
	return path + "?detail=" + detail
}

// computeAll computes every measure from one input, as the endpoints do.
func computeAll(in compliance.Input) {
	p := compliance.Period{From: "2026-08-25", To: "2026-11-23"}
	year := compliance.Period{From: "2026-01-01", To: "2026-11-23"}
	const asOf = "2026-11-23"
	compliance.FirstHomeVisits(in, year, asOf)
	compliance.Overdue(in, asOf)
	compliance.Contacts(in, p, asOf)
	compliance.Enquiries(in, year, asOf)
	compliance.Households(in, p, asOf)
	compliance.Interventions(in, year, asOf)
	compliance.Reviews(in, p, asOf)
	compliance.Workload(in, asOf)
	compliance.Exemptions(in, p, asOf)
}

// benchServer is a server seeded with synthetic teams (schema/synth), with
// a supervisor's and an admin's access tokens.
type benchServer struct {
	srv          *Server
	sup, admin   serverdb.Actor
	supT, adminT string
	records      int
}

func newBenchServer(b *testing.B, opts synth.Options) *benchServer {
	b.Helper()
	ctx := context.Background()
	clock := testkit.NewClock(synth.DefaultNow.Add(4 * time.Hour))
	srv, err := Open(ctx, Config{DataDir: filepath.Join(b.TempDir(), "data"), DB: serverdbtest.ConfigDB(b), Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	ds := synth.Generate(opts)
	setup := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	db := srv.DB()
	for _, tm := range ds.Teams {
		if err := db.CreateTeam(ctx, setup, tm); err != nil {
			b.Fatal(err)
		}
	}
	bs := &benchServer{srv: srv, records: len(ds.Records)}
	var sup schema.User
	for _, u := range ds.Users {
		if err := db.CreateUser(ctx, setup, u, pw); err != nil {
			b.Fatal(err)
		}
		if u.Role == schema.RoleSupervisor && sup.ID == "" {
			sup = u
		}
	}
	admin := schema.User{ID: schema.NewID(), Username: "bench-admin", Name: "Admin", Role: schema.RoleAdmin}
	if err := db.CreateUser(ctx, setup, admin, pw); err != nil {
		b.Fatal(err)
	}
	for recs := range slices.Chunk(ds.Records, 50_000) {
		if err := db.Seed(ctx, setup, recs); err != nil {
			b.Fatal(err)
		}
	}
	// An access token names a device registered to its user.
	for _, u := range []schema.User{sup, admin} {
		if _, err := db.Login(ctx, u, "bench-"+u.ID, serverdb.DeviceInfo{}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	if bs.supT, err = srv.accessToken(sup, "bench-"+sup.ID, 0); err != nil {
		b.Fatal(err)
	}
	if bs.adminT, err = srv.accessToken(admin, "bench-"+admin.ID, 0); err != nil {
		b.Fatal(err)
	}
	bs.sup, bs.admin = serverdb.ActorOf(sup, "bench-"+sup.ID), serverdb.ActorOf(admin, "bench-"+admin.ID)
	return bs
}

// fetch answers one request through the handlers, body read, and says
// how many bytes came.
func (bs *benchServer) fetch(path, tok string) (int, error) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := bs.srv.App().Test(req, -1)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("GET %s: %s", path, res.Status)
	}
	n, err := io.Copy(io.Discard, res.Body)
	return int(n), err
}

func (bs *benchServer) get(b *testing.B, path, tok string) int {
	n, err := bs.fetch(path, tok)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// getAll asks for every endpoint at once, as the dashboard page's browser
// does (several connections), and waits for all the answers.
func (bs *benchServer) getAll(b *testing.B, tok string) {
	var wg sync.WaitGroup
	errs := make([]error, len(complianceEndpoints))
	for i, p := range complianceEndpoints {
		wg.Go(func() { _, errs[i] = bs.fetch(p, tok) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkComplianceDashboard: every measure for a 10-officer team with
// 500 cases and two years of history, as its supervisor, through the
// store and the HTTP handlers (records listed, decoded, computed, audited,
// encoded). Nothing is kept between requests: each reads and decodes the
// team's records.
func BenchmarkComplianceDashboard(b *testing.B) {
	ctx := context.Background()
	bs := newBenchServer(b, synth.Options{Teams: 1, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	total := 0
	for _, p := range complianceEndpoints {
		t0 := time.Now()
		n := bs.get(b, p, bs.supT)
		total += n
		b.Logf("%s: %d bytes, %s", p, n, time.Since(t0).Round(time.Millisecond))
	}
	b.Logf("%d records; the %d answers come to %d bytes", bs.records, len(complianceEndpoints), total)
	b.Run("all-endpoints", func(b *testing.B) {
		for b.Loop() {
			for _, p := range complianceEndpoints {
				bs.get(b, p, bs.supT)
			}
		}
	})
	b.Run("all-endpoints-parallel", func(b *testing.B) {
		for b.Loop() {
			bs.getAll(b, bs.supT)
		}
	})
	b.Run("one-endpoint", func(b *testing.B) {
		for b.Loop() {
			bs.get(b, complianceEndpoints[0], bs.supT)
		}
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := bs.srv.Compliance().Input(ctx, bs.sup, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scope-cases-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := bs.srv.DB().ScopeCases(ctx, bs.sup, serverdb.ScopeNarrow{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("compute-all", func(b *testing.B) {
		in, err := bs.srv.Compliance().Input(ctx, bs.sup, "")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			computeAll(in)
		}
	})
}

// BenchmarkComplianceService: every measure for the whole service, 50
// teams of 10 officers with 50 cases each (25,000 cases, two years of
// history), as an admin, with the case limit raised past the service's
// size so that the one-shot answers are measured (the server's default
// refuses them: 0051-no-compliance-cache.md). Seeding takes minutes: run
// it on its own, go test ./server -run XXX -bench ComplianceService
// -benchtime 3x.
func BenchmarkComplianceService(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	bs := newBenchServer(b, synth.Options{Teams: 50, OfficersPerTeam: 10, CasesPerOfficer: 50, HistoryDays: 730, Seed: 1})
	bs.srv.comp.MaxCases = 1 << 30
	b.Logf("%d records seeded in %s", bs.records, time.Since(start).Round(time.Second))
	t0 := time.Now()
	total := 0
	for _, p := range complianceEndpoints {
		total += bs.get(b, p, bs.adminT)
	}
	b.Logf("first report: %s, %d bytes", time.Since(t0).Round(time.Millisecond), total)
	for _, d := range []string{"summary", "counts"} {
		total = 0
		for _, p := range complianceEndpoints {
			total += bs.get(b, withDetail(p, d), bs.adminT)
		}
		b.Logf("detail=%s: the nine come to %d bytes", d, total)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.Logf("heap after the reports: %d MiB", ms.HeapAlloc>>20)
	b.Run("all-endpoints", func(b *testing.B) {
		for b.Loop() {
			for _, p := range complianceEndpoints {
				bs.get(b, p, bs.adminT)
			}
		}
	})
	for _, d := range []string{"summary", "counts"} {
		b.Run("all-endpoints-"+d, func(b *testing.B) {
			for b.Loop() {
				for _, p := range complianceEndpoints {
					bs.get(b, withDetail(p, d), bs.adminT)
				}
			}
		})
	}
	b.Run("compute-all", func(b *testing.B) {
		in, err := bs.srv.Compliance().Input(ctx, bs.admin, "")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			computeAll(in)
		}
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := bs.srv.Compliance().Input(ctx, bs.admin, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// seedEnquiries adds measure 4's records to seedCompliance's dataset
// (which the other measures are tested without). As of 2026-10-31, team A's
// cases started in 2026-09-01..2026-10-31 are onTime, onDueDay, late,
// missed, notYetDue, exempted, phoneOnly (DA: police needed), nonDA,
// ashaCase and benCase. It returns the reason recorded for not asking
// children's services about ashaCase.
func seedEnquiries(t *testing.T, e *env, d *daSet) string {
	t.Helper()
	reason := "child lives with grandmother; no contact with the person on probation"
	var recs []schema.Record
	add := func(caseID, entity string, v any) {
		recs = append(recs, schema.Record{Entity: entity, ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)})
	}
	enq := func(caseID, agency, stage, requested, due, answered, notReq string) {
		add(caseID, "enquiry", schema.Enquiry{Agency: agency, Stage: stage, RequestedOn: schema.Date(requested), DueOn: schema.Date(due),
			AnsweredOn: schema.Date(answered), NotRequestedReason: notReq})
	}
	child := func(caseID, rel, res, added, left string) {
		add(caseID, "household_member", schema.HouseholdMember{Relation: rel, Residence: res, Name: "Child", AddedOn: schema.Date(added),
			LeftOn: schema.Date(left)})
	}
	// Police (the seven DA cases).
	enq(d.onTime, "police", "initial_assessment", "2026-09-02", "2026-09-16", "2026-09-08", "")   // 7 days
	enq(d.onDueDay, "police", "initial_assessment", "2026-09-06", "2026-09-20", "2026-09-25", "") // 20 days, late but answered
	enq(d.late, "police", "initial_assessment", "2026-09-11", "2026-09-25", "", "")               // overdue
	enq(d.missed, "police", "initial_assessment", "", "", "", "DA information already in the pre-sentence report")
	enq(d.notYetDue, "police", "initial_assessment", "2026-10-21", "2026-11-04", "", "")           // awaiting
	enq(d.exempted, "police", "review", "2026-10-01", "2026-10-10", "2026-10-15", "")              // a review: not measure 4
	enq(d.phoneOnly, "police", "initial_assessment", "2026-09-26", "2026-10-10", "2026-11-02", "") // answered after as_of: overdue
	enq(d.nonDA, "police", "initial_assessment", "2026-09-04", "2026-09-18", "2026-09-10", "")     // answered, not needed
	// Children's services.
	child(d.onTime, "own_child", "lives_here", "2026-08-01", "")
	enq(d.onTime, "childrens_services", "initial_assessment", "2026-09-01", "2026-09-15", "2026-09-04", "") // 3 days
	enq(d.onTime, "marac", "initial_assessment", "2026-09-01", "", "", "")                                  // not an agency of the measure
	add(d.nonDA, "flag", schema.Flag{Type: "child_protection", StartDate: "2026-09-03"})
	enq(d.nonDA, "childrens_services", "pre_sentence", "2026-08-20", "", "2026-09-13", "") // 10 days
	child(e.ashaCase, "other_child", "stays_sometimes", "", "")
	enq(e.ashaCase, "childrens_services", "initial_assessment", "", "", "", reason)
	add(d.missed, "flag", schema.Flag{Type: "risk_to_children", StartDate: "2026-09-15"})
	enq(d.missed, "childrens_services", "initial_assessment", "2026-09-16", "2026-10-01", "", "") // overdue
	child(e.benCase, "own_child", "lives_here", "2026-01-01", "2026-09-15")                       // left before the start
	child(d.late, "step_child", "lives_here", "2026-11-10", "")                                   // added after as_of
	child(d.exempted, "own_child", "visits", "", "")                                              // does not live there
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
	return reason
}

func TestComplianceEnquiries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	reason := seedEnquiries(t, e, d)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.EnquiriesReport
	e.getJSON(t, "/v1/compliance/enquiries?from=2026-09-01&to=2026-10-31", sue, &rep)
	if rep.Measure != "enquiries" || rep.AsOf != "2026-10-31" || rep.Period != (compliance.Period{From: "2026-09-01", To: "2026-10-31"}) {
		t.Errorf("measure %q as_of %s period %+v", rep.Measure, rep.AsOf, rep.Period)
	}
	f := rep.Totals
	checkIDs(t, "cases", f.Cases, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly, d.nonDA, e.ashaCase, e.benCase)
	p := f.Police
	checkIDs(t, "police needed", p.Needed, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly)
	checkIDs(t, "police answered", p.Answered, d.onTime, d.onDueDay)
	checkIDs(t, "police overdue", p.Overdue, d.late, d.phoneOnly)
	checkIDs(t, "police awaiting", p.Awaiting, d.notYetDue)
	checkIDs(t, "police not requested", p.NotRequested, d.missed)
	checkIDs(t, "police not recorded", p.NotRecorded, d.exempted)
	checkIDs(t, "police answered not needed", p.AnsweredNotNeeded, d.nonDA)
	if pct(p.Percent) != "28.6" || pct(p.MedianDays) != "13.5" ||
		!slices.Equal(p.Days, []compliance.EnquiryDays{{CaseID: d.onTime, Days: 7}, {CaseID: d.onDueDay, Days: 20}}) {
		t.Errorf("police percent %s median %s days %+v", pct(p.Percent), pct(p.MedianDays), p.Days)
	}
	if len(p.NotRequestedReasons) != 1 || p.NotRequestedReasons[0].CaseID != d.missed ||
		p.NotRequestedReasons[0].Reason != "DA information already in the pre-sentence report" {
		t.Errorf("police reasons %+v", p.NotRequestedReasons)
	}
	cs := f.ChildrensServices
	checkIDs(t, "cs needed", cs.Needed, d.onTime, d.nonDA, e.ashaCase, d.missed)
	checkIDs(t, "cs answered", cs.Answered, d.onTime, d.nonDA)
	checkIDs(t, "cs not requested", cs.NotRequested, e.ashaCase)
	checkIDs(t, "cs overdue", cs.Overdue, d.missed)
	checkIDs(t, "cs awaiting", cs.Awaiting)
	checkIDs(t, "cs not recorded", cs.NotRecorded)
	if pct(cs.Percent) != "50" || pct(cs.MedianDays) != "6.5" ||
		!slices.Equal(cs.Days, []compliance.EnquiryDays{{CaseID: d.onTime, Days: 3}, {CaseID: d.nonDA, Days: 10}}) {
		t.Errorf("cs percent %s median %s days %+v", pct(cs.Percent), pct(cs.MedianDays), cs.Days)
	}
	if len(cs.NotRequestedReasons) != 1 || cs.NotRequestedReasons[0].CaseID != e.ashaCase || cs.NotRequestedReasons[0].Reason != reason {
		t.Errorf("cs reasons %+v", cs.NotRequestedReasons)
	}
	// The inspection's view, within the default 15 days: police 1 of 7
	// (onDueDay's answer came on day 20); children's services 2 of 5, the
	// case whose child only visits added to the denominator.
	if rep.WithinDays != 15 || rep.RuleVersion == "" {
		t.Errorf("within_days %d, rule_version %q; want 15 and the rules' version", rep.WithinDays, rep.RuleVersion)
	}
	ip, ic := f.Inspection.Police, f.Inspection.ChildrensServices
	checkIDs(t, "inspection police", ip.Numerator, d.onTime)
	checkIDs(t, "inspection police, of", ip.Denominator, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly)
	checkIDs(t, "inspection police, answered late", ip.AnsweredLate, d.onDueDay)
	checkIDs(t, "inspection cs", ic.Numerator, d.onTime, d.nonDA)
	checkIDs(t, "inspection cs, of", ic.Denominator, d.onTime, d.nonDA, e.ashaCase, d.missed, d.exempted)
	checkIDs(t, "inspection cs, answered late", ic.AnsweredLate)
	if pct(ip.Percent) != "14.3" || pct(ic.Percent) != "40" {
		t.Errorf("inspection: police %s, children's services %s; want 14.3, 40", pct(ip.Percent), pct(ic.Percent))
	}
	for _, c := range rep.Cases {
		if c.ChildVisitsHousehold != (c.CaseID == d.exempted) || c.Police.AnsweredInTime != (c.CaseID == d.onTime || c.CaseID == d.nonDA) {
			t.Errorf("case %s: child visits %v, police answered in time %v", c.CaseID, c.ChildVisitsHousehold, c.Police.AnsweredInTime)
		}
	}
	// Per officer: asha (Asha ...) then ben.
	if len(rep.Officers) != 2 || rep.Officers[0].ID != e.users["asha"].ID ||
		rep.Officers[0].F.Police.Needed.N != 4 || pct(rep.Officers[0].F.Police.Percent) != "50" ||
		rep.Officers[1].F.Police.Needed.N != 3 || pct(rep.Officers[1].F.Police.Percent) != "0" ||
		rep.Officers[0].F.ChildrensServices.Needed.N != 3 || rep.Officers[1].F.ChildrensServices.Needed.N != 1 {
		t.Errorf("officers %+v", rep.Officers)
	}
	if len(rep.Teams) != 1 || rep.Teams[0].F.Police.Answered.N != 2 {
		t.Errorf("teams %+v", rep.Teams)
	}
	// Per case, sorted by supervision start: onTime first.
	if len(rep.Cases) != 10 {
		t.Fatalf("cases %d", len(rep.Cases))
	}
	c0 := rep.Cases[0]
	if c0.CaseID != d.onTime || c0.Police.Status != compliance.EnquiryAnswered || c0.Police.Days == nil || *c0.Police.Days != 7 ||
		!slices.Equal(c0.Police.NeededBecause, []string{"da_perpetrator"}) ||
		!slices.Equal(c0.ChildrensServices.NeededBecause, []string{"child_in_household"}) {
		t.Errorf("case 0 %+v", c0)
	}
	// One officer; a later as_of takes in phoneOnly's answer of 11-02
	// (38 days) and makes notYetDue's enquiry overdue.
	var one compliance.EnquiriesReport
	e.getJSON(t, "/v1/compliance/enquiries?from=2026-09-01&to=2026-10-31&officer_id="+e.users["ben"].ID, sue, &one)
	if one.Totals.Cases.N != 4 || one.Totals.Police.Needed.N != 3 || one.Totals.Police.Answered.N != 0 || len(one.Officers) != 1 {
		t.Errorf("ben only: %+v", one.Totals.Police)
	}
	e.getJSON(t, "/v1/compliance/enquiries?from=2026-09-01&to=2026-11-05", sue, &one)
	checkIDs(t, "to 11-05 answered", one.Totals.Police.Answered, d.onTime, d.onDueDay, d.phoneOnly)
	checkIDs(t, "to 11-05 overdue", one.Totals.Police.Overdue, d.late, d.notYetDue)
	if pct(one.Totals.Police.MedianDays) != "20" || one.AsOf != "2026-11-05" {
		t.Errorf("to 11-05: median %s as of %s", pct(one.Totals.Police.MedianDays), one.AsOf)
	}
	// An admin sees team B's reassigned DA case, with nothing recorded.
	root := e.login("root", "dev-root").AccessToken
	e.getJSON(t, "/v1/compliance/enquiries?from=2026-09-01&to=2026-10-31", root, &one)
	if len(one.Teams) != 2 || one.Totals.Police.Needed.N != 8 || one.Teams[1].F.Police.NotRecorded.N != 1 {
		t.Errorf("admin: police %+v teams %d", one.Totals.Police.Needed, len(one.Teams))
	}
	evs, _ := e.srv.DB().AuditByAction(context.Background(), "view")
	if len(evs) == 0 || !strings.Contains(string(evs[0].Detail), `"view":"compliance/enquiries"`) || strings.Contains(string(evs[0].Detail), e.ashaCase) {
		t.Errorf("audit = %+v", evs)
	}
}

// seedMore adds records to seedCompliance's dataset with one call per
// record; fields are the entity's struct.
func seedMore(t *testing.T, e *env, add func(put func(entity, caseID string, v any) string)) {
	t.Helper()
	var recs []schema.Record
	add(func(entity, caseID string, v any) string {
		id := schema.NewID()
		recs = append(recs, schema.Record{Entity: entity, ID: id, CaseID: caseID, Fields: schema.FieldsOf(v)})
		return id
	})
	if err := e.srv.DB().Seed(context.Background(), e.admin, recs); err != nil {
		t.Fatal(err)
	}
}

// auditedView returns the view and the number of cases of the first
// view event, and fails the test if the event lists the cases rather than
// recording the query (issue 11: a national view wrote megabytes per
// event) or does not say the scope.
func auditedView(t *testing.T, e *env) (string, int) {
	t.Helper()
	evs, err := e.srv.DB().AuditByAction(context.Background(), "view")
	if err != nil || len(evs) == 0 {
		t.Fatalf("audit: %v %d", err, len(evs))
	}
	return viewDetail(t, evs[0].Detail)
}

// viewDetail reads a view event's detail: its view and case count; the
// cases themselves must not be listed, and the scope must be said.
func viewDetail(t *testing.T, raw []byte) (string, int) {
	t.Helper()
	var detail struct {
		View   string            `json:"view"`
		Count  *int              `json:"case_count"`
		Cases  any               `json:"cases"`
		Scope  map[string]string `json:"scope"`
		Params map[string]string `json:"params"`
	}
	if err := json.Unmarshal(raw, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Cases != nil || detail.Count == nil || detail.Scope["role"] == "" || detail.Params == nil {
		t.Fatalf("view event %s: want the view, params, scope and case_count, no list of cases", raw)
	}
	return detail.View, *detail.Count
}

func TestComplianceHouseholds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	var child, lastDay string
	seedMore(t, e, func(put func(string, string, any) string) {
		put("household_member", d.onTime, schema.HouseholdMember{Relation: "partner", Residence: "lives_here", Name: "P",
			AddedOn: "2026-09-01", ConfirmedOn: "2026-09-10"})
		child = put("household_member", d.onTime, schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Name: "K",
			AddedOn: "2026-09-15", ConfirmedOn: "2026-09-15", ChildVictimInOwnRight: "yes"})
		u := e.users["asha"]
		lastDay = put("visit", d.onTime, schema.Visit{OfficerID: u.ID, Type: "home_unannounced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: "2026-10-31T18:00:00+00:00", PersonSeen: "yes", PartnerPresent: "yes",
			PartnerSeenAlone: "yes", ChildrenPresent: "yes", Children: []schema.VisitChild{{MemberID: child, Present: "yes", Seen: "yes"}},
			SignedAt: "2026-10-31T19:00:00+00:00", SignedBy: u.ID})
	})
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.HouseholdsReport
	e.getJSON(t, "/v1/compliance/households?from=2026-09-01&to=2026-10-31", sue, &rep)
	f := rep.Totals
	checkIDs(t, "cases", f.Cases, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly, d.beforePeriod)
	checkIDs(t, "confirmed", f.Confirmed.Numerator, d.onTime)
	checkIDs(t, "confirmed denominator", f.Confirmed.Denominator, d.onTime)
	checkIDs(t, "not yet due", f.NotYetDue, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly, d.beforePeriod)
	checkIDs(t, "victim in own right", f.VictimInOwnRight.Numerator, d.onTime)
	checkIDs(t, "partner seen alone", f.PartnerSeenAlone.Numerator, d.onTime)
	if !slices.Equal(f.ChildrenSeen.Numerator.VisitIDs, []string{lastDay}) || f.ChildrenSeen.Denominator.N != 1 || f.VisitsNoChildren.N != 3 ||
		pct(f.ChildrenSeen.Percent) != "100" || pct(f.Confirmed.Percent) != "100" {
		t.Errorf("children seen %+v, no children %d, confirmed %s", f.ChildrenSeen, f.VisitsNoChildren.N, pct(f.Confirmed.Percent))
	}
	if view, n := auditedView(t, e); view != "compliance/households" || n != len(f.Cases.CaseIDs) {
		t.Errorf("audit %s %d", view, n)
	}
	// Team B's supervisor sees only the case reassigned to carl.
	bea := e.login("bea", "dev-bea").AccessToken
	e.getJSON(t, "/v1/compliance/households?from=2026-09-01&to=2026-10-31", bea, &rep)
	checkIDs(t, "team B", rep.Totals.Cases, d.reassigned)
	if len(rep.Officers) != 1 || rep.Officers[0].ID != e.users["carl"].ID {
		t.Errorf("team B officers %+v", rep.Officers)
	}
}

func TestComplianceInterventions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	var done, notSuitable, pending, waiting string
	seedMore(t, e, func(put func(string, string, any) string) {
		done = put("referral", d.onTime, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-05", Decision: "refer",
			Status: "completed", StatusOn: "2026-10-20"})
		notSuitable = put("referral", d.late, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-12",
			Decision: "not_suitable", DecisionReason: "denies the offence"})
		pending = put("referral", d.nonDA, schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-10-31", Decision: "pending"})
		waiting = put("referral", d.reassigned, schema.Referral{Need: "Building Better Relationships", IdentifiedOn: "2026-09-20",
			Decision: "refer", Status: "awaiting_allocation", StatusOn: "2026-09-25"})
		put("referral", d.onDueDay, schema.Referral{Need: "Accommodation", IdentifiedOn: "2026-11-02", Decision: "refer"}) // after as_of
	})
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.InterventionsReport
	e.getJSON(t, "/v1/compliance/interventions?from=2026-09-01&to=2026-10-31", sue, &rep)
	f := rep.Totals
	if !slices.Equal(f.Needed.IDs, sorted(done, notSuitable, pending)) || !slices.Equal(f.Completed.IDs, []string{done}) ||
		!slices.Equal(f.AwaitingDecision.IDs, []string{pending}) || pct(f.ReferredShare.Percent) != "50" || pct(f.DeliveredShare.Percent) != "50" ||
		pct(f.CompletedShare.Percent) != "100" {
		t.Errorf("totals %+v", f)
	}
	if len(f.NotReferredReasons) != 1 || f.NotReferredReasons[0].ReferralID != notSuitable || f.NotReferredReasons[0].Reason != "denies the offence" {
		t.Errorf("reasons %+v", f.NotReferredReasons)
	}
	if view, n := auditedView(t, e); view != "compliance/interventions" || n != 3 {
		t.Errorf("audit %s %d", view, n)
	}
	root := e.login("root", "dev-root").AccessToken
	e.getJSON(t, "/v1/compliance/interventions?from=2026-09-01&to=2026-10-31", root, &rep)
	if rep.Totals.Needed.N != 4 || !slices.Equal(rep.Totals.Waiting.IDs, []string{waiting}) || len(rep.Teams) != 2 {
		t.Errorf("admin %+v", rep.Totals.Needed)
	}
}

func TestComplianceReviews(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	var overdue, inDate string
	seedMore(t, e, func(put func(string, string, any) string) {
		overdue = put("flag", d.onTime, schema.Flag{Type: "child_concerns", StartDate: "2026-09-01", NextReviewDate: "2026-10-01"})
		inDate = put("flag", d.late, schema.Flag{Type: "marac", StartDate: "2026-09-10", LastReviewed: "2026-10-01", NextReviewDate: "2026-12-01"})
	})
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.ReviewsReport
	e.getJSON(t, "/v1/compliance/reviews?from=2026-09-01&to=2026-10-31", sue, &rep)
	f := rep.Totals
	if f.Cases.N != 11 || f.Flags.Items.N != 10 || f.DAFlags.NoDate.N != 8 || !slices.Equal(f.Flags.Overdue.IDs, []string{overdue}) ||
		!slices.Equal(f.Flags.InDate.IDs, []string{inDate}) || !slices.Equal(f.Flags.ReviewedInPeriod.IDs, []string{inDate}) ||
		pct(f.Flags.OnTime.Percent) != "50" || f.Flags.MaxDaysOverdue != 30 || f.RoSH.NoDate.N != 11 || pct(f.RoSH.OnTime.Percent) != "null" {
		t.Errorf("totals: cases %d flags %+v rosh %+v", f.Cases.N, f.Flags, f.RoSH)
	}
	if view, _ := auditedView(t, e); view != "compliance/reviews" {
		t.Errorf("audit %s", view)
	}
}

func TestComplianceWorkload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.WorkloadReport
	e.getJSON(t, "/v1/compliance/workload?as_of=2026-10-31", sue, &rep)
	f := rep.Totals
	checkIDs(t, "caseload", f.Caseload, d.onTime, d.onDueDay, d.late, d.missed, d.notYetDue, d.exempted, d.phoneOnly, d.nonDA, d.beforePeriod,
		e.ashaCase, e.benCase)
	checkIDs(t, "due", f.DueCases, d.notYetDue, d.onDueDay)
	checkIDs(t, "overdue", f.OverdueCases, d.onTime, d.missed, d.phoneOnly, d.nonDA, d.beforePeriod, e.ashaCase, e.benCase)
	if f.Due != 2 || f.ByWeek != [4]int{2, 0, 0, 0} || f.Overdue != 7 || rep.Until != "2026-11-27" {
		t.Errorf("due %d by week %v overdue %d until %s", f.Due, f.ByWeek, f.Overdue, rep.Until)
	}
	var per []string
	for _, o := range rep.Officers {
		per = append(per, fmt.Sprintf("%s %d/%d", o.Name, o.F.Caseload.N, o.F.Due))
	}
	if !slices.Equal(per, []string{"asha 6/2", "ben 5/0"}) {
		t.Errorf("officers %v", per)
	}
	if view, n := auditedView(t, e); view != "compliance/workload" || n != 11 {
		t.Errorf("audit %s %d", view, n)
	}
}

func TestComplianceExemptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var rep compliance.ExemptionsReport
	e.getJSON(t, "/v1/compliance/exemptions?from=2026-09-01&to=2026-10-31", sue, &rep)
	f := rep.Totals
	if f.Due.Requirements != 11 || f.Exempted.Requirements != 1 || f.Met.Requirements != 3 || f.Missed.Requirements != 7 || pct(f.Percent) != "9.1" {
		t.Errorf("due %d exempted %d met %d missed %d percent %s", f.Due.Requirements, f.Exempted.Requirements, f.Met.Requirements,
			f.Missed.Requirements, pct(f.Percent))
	}
	checkIDs(t, "exempted", f.Exempted.Cases, d.exempted)
	checkIDs(t, "safety not approved", f.SafetyNotApproved, d.exempted)
	if len(f.Reasons) != 1 || f.Reasons[0].ApprovedBy != d.sue.ID || !strings.Contains(f.Reasons[0].Reason, d.exemptReason) {
		t.Errorf("reasons %+v", f.Reasons)
	}
	if view, _ := auditedView(t, e); view != "compliance/exemptions" {
		t.Errorf("audit %s", view)
	}
}

// What the service loads is what decoding the scope's records afresh
// gives, narrowed to a team or an officer as asked, and every report
// follows every change: a new visit, a reassignment. Nothing is kept
// between requests (0051-no-compliance-cache.md).
func TestComplianceLoadsAfresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := seedCompliance(t, e)
	ctx := context.Background()
	root := serverdb.Actor{UserID: e.users["root"].ID, Role: schema.RoleAdmin}
	check := func(when string) {
		t.Helper()
		recs, err := e.srv.DB().ListRaw(ctx, root, compliance.Entities)
		if err != nil {
			t.Fatal(err)
		}
		all, err := compliance.Group(recs)
		if err != nil {
			t.Fatal(err)
		}
		teamA, ben := e.users["sue"].TeamID, e.users["ben"].ID
		for _, n := range []compliance.Narrow{{}, {TeamID: teamA}, {OfficerID: ben}} {
			got, err := e.srv.Compliance().Cases(ctx, root, n)
			if err != nil {
				t.Fatal(err)
			}
			var want []compliance.CaseRecords
			for _, cr := range all {
				if (n.TeamID == "" || cr.Case.TeamID == n.TeamID) && (n.OfficerID == "" || cr.Case.OfficerID == n.OfficerID) {
					want = append(want, cr)
				}
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if len(got) == 0 || len(got) != len(want) || !bytes.Equal(gj, wj) {
				t.Errorf("%s, narrowed to %+v: %d cases loaded, want the %d of a fresh decode, the same", when, n, len(got), len(want))
			}
		}
	}
	check("before changes")
	sue := e.login("sue", "dev-sue").AccessToken
	path := "/v1/compliance/first-home-visits?from=2026-09-01&to=2026-10-31"
	var rep compliance.FirstVisitReport
	e.getJSON(t, path, sue, &rep)
	checkIDs(t, "numerator before", rep.Totals.Numerator, d.onTime, d.onDueDay)
	// A home visit to the missed case before its due date (09-30).
	u := e.users["ben"]
	seedMore(t, e, func(put func(string, string, any) string) {
		put("visit", d.missed, schema.Visit{OfficerID: u.ID, Type: "home_announced", Status: "signed", Outcome: "completed", Location: "home",
			FaceToFace: true, StartedAt: "2026-09-28T10:00:00+01:00", PersonSeen: "yes", PartnerPresent: "no_partner",
			ChildrenPresent: "no_children", SignedAt: "2026-09-28T11:00:00+01:00", SignedBy: u.ID})
	})
	e.getJSON(t, path, sue, &rep)
	checkIDs(t, "numerator after a visit", rep.Totals.Numerator, d.onTime, d.onDueDay, d.missed)
	// The on-time case moves to team B: it leaves sue's figures.
	if err := e.srv.DB().ReassignCase(ctx, e.admin, d.onTime, "carl"); err != nil {
		t.Fatal(err)
	}
	e.getJSON(t, path, sue, &rep)
	checkIDs(t, "numerator after reassignment", rep.Totals.Numerator, d.onDueDay, d.missed)
	check("after changes")
}

// The admin's rules (Config.Policy) are the ones the measures use, and
// their version is in every answer.
func TestCompliancePolicyFromConfig(t *testing.T) {
	t.Parallel()
	rules := strings.Replace(string(policy.DefaultRules()), `"version": "`, `"version": "local-`, 1)
	p, err := policy.Parse([]byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Open(context.Background(), Config{DataDir: filepath.Join(t.TempDir(), "data"), DB: serverdbtest.ConfigDB(t), Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	in, err := srv.Compliance().Input(context.Background(), serverdb.Actor{UserID: "x", Role: schema.RoleAdmin}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep := compliance.Overdue(in, "2026-11-23"); !strings.HasPrefix(rep.RuleVersion, "local-") {
		t.Errorf("rule_version %q, want the configured rules' version", rep.RuleVersion)
	}
}

// detail=summary keeps the figures and drops the rows; the audit still
// lists every case covered.
func TestComplianceSummary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedCompliance(t, e)
	sue := e.login("sue", "dev-sue").AccessToken
	var full, sum compliance.ContactsReport
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31", sue, &full)
	e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31&detail=summary", sue, &sum)
	if len(full.Cases) == 0 || len(sum.Cases) != 0 || len(sum.Visits) != 0 || sum.Cases == nil ||
		!reflect.DeepEqual(full.Totals, sum.Totals) || !reflect.DeepEqual(full.Officers, sum.Officers) {
		t.Errorf("summary: %d cases %d visits; totals equal %v", len(sum.Cases), len(sum.Visits), reflect.DeepEqual(full.Totals, sum.Totals))
	}
	if _, n := auditedView(t, e); n != len(full.Totals.Contacts.CaseIDs) {
		t.Errorf("audit of the summary: %d cases", n)
	}
	// detail=counts: the same counts, no ids behind them; the audit still
	// counts the cases.
	var counts compliance.ContactsReport
	r := e.getJSON(t, "/v1/compliance/contacts?from=2026-09-01&to=2026-10-31&detail=counts", sue, &counts)
	if counts.Totals.Contacts.N != full.Totals.Contacts.N || counts.Totals.HomeShare.Numerator.N != full.Totals.HomeShare.Numerator.N ||
		pct(counts.Totals.HomeShare.Percent) != pct(full.Totals.HomeShare.Percent) || counts.Totals.Contacts.VisitIDs != nil ||
		counts.Officers[0].F.Completed.CaseIDs != nil || strings.Contains(string(r.body), full.Totals.Contacts.VisitIDs[0]) {
		t.Errorf("counts: %+v", counts.Totals.Contacts)
	}
	if _, n := auditedView(t, e); n != len(full.Totals.Contacts.CaseIDs) {
		t.Errorf("audit of the counts: %d cases", n)
	}
	var iv compliance.InterventionsReport
	r = e.getJSON(t, "/v1/compliance/interventions?detail=counts", sue, &iv)
	if strings.Contains(string(r.body), `"case_ids":[`) || strings.Contains(string(r.body), `"ids":[`) {
		t.Errorf("interventions counts still list ids: %s", r.body)
	}
	var wl compliance.WorkloadReport
	e.getJSON(t, "/v1/compliance/workload?as_of=2026-10-31&detail=summary", sue, &wl)
	if len(wl.Items) != 0 || wl.Totals.Due != 2 {
		t.Errorf("workload summary: %d items, due %d", len(wl.Items), wl.Totals.Due)
	}
}
