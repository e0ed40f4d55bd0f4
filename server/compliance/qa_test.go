package compliance_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
)

// Measure 10's hand-built set. Period 2026-09-01..2026-10-31 (seed
// 2026-Q4), as_of its last day, 3 cases drawn per officer:
//
//	o1 (team t1): five DA cases a1..a5 (three drawn; the fourth in the draw, u, rated outside the sample),
//	              a non-DA case d1 rated, a closed DA case c9, a case whose DA flag ended before the period (e1)
//	o2 (team t1): two DA cases b1, b2 (both drawn)
//	o3 (team t2): one DA case c1 (drawn)
func qaID(s string) string { return "0190f0a2-0000-7000-8000-0000000000" + s }

func qaDataset(t *testing.T) []compliance.CaseRecords {
	t.Helper()
	var recs []schema.Record
	n := 0
	add := func(id, officer, team string, flag, ended schema.Date, closed bool) {
		n++
		recs = append(recs, rec("case", qaID(id), qaID(id), schema.Case{CRN: fmt.Sprintf("Q%06d", n), GivenName: "A", FamilyName: id,
			DateOfBirth: "1990-01-01", Address: "1 High St", OfficerID: officer, TeamID: team, SentenceType: "licence",
			SupervisionStart: "2026-03-01", RoSH: "high", Closed: closed}))
		if flag != "" {
			recs = append(recs, rec("flag", "flag-"+id, qaID(id), schema.Flag{Type: "da_perpetrator", StartDate: flag, EndedOn: ended}))
		}
	}
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		add(id, "o1", "t1", "2026-03-01", "", false)
	}
	add("d1", "o1", "t1", "", "", false)                     // no DA flag
	add("c9", "o1", "t1", "2026-03-01", "", true)            // closed
	add("e1", "o1", "t1", "2026-03-01", "2026-08-01", false) // ended before the period
	add("b1", "o2", "t1", "2026-03-01", "", false)
	add("b2", "o2", "t1", "2026-10-31", "", false) // flagged on the period's last day
	add("c1", "o3", "t2", "2026-03-01", "", false)
	cases, err := compliance.Group(raw(t, recs))
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

func qaInput(cases []compliance.CaseRecords) compliance.Input {
	return compliance.Input{Cases: cases, Officers: map[string]string{"o1": "Officer One", "o2": "Officer Two", "o3": "Officer Three"},
		Teams: map[string]string{"t1": "Team One", "t2": "Team Two"}}
}

// expectedDraw orders ids as docs/compliance.md says: SHA-256 of
// "<seed>|<case id>", the first 8 bytes big-endian, lowest first.
func expectedDraw(seed string, ids []string) []string {
	out := slices.Clone(ids)
	rank := func(id string) uint64 {
		h := sha256.Sum256([]byte(seed + "|" + id))
		return binary.BigEndian.Uint64(h[:8])
	}
	slices.SortFunc(out, func(a, b string) int {
		ra, rb := rank(a), rank(b)
		switch {
		case ra < rb:
			return -1
		case ra > rb:
			return 1
		}
		return 0
	})
	return out
}

func rating(id, caseID, decision, at, reason string) schema.Oversight {
	return schema.Oversight{ID: qaID(id), CaseID: caseID, SubjectEntity: "case", SubjectID: caseID, Aspect: schema.AspectDARiskAssessment,
		Decision: decision, Reason: reason, By: "sup", At: schema.Timestamp(at + "T12:00:00Z")}
}

func sorted(ids ...string) []string { s := slices.Clone(ids); slices.Sort(s); return s }

func TestRiskAssessmentQA(t *testing.T) {
	cases := qaDataset(t)
	in := qaInput(cases)
	asOf := to
	if got := compliance.QASeed(period); got != "2026-Q4" {
		t.Fatalf("seed %q", got)
	}
	if got := compliance.QASeed(compliance.Period{From: "2026-01-01", To: "2026-03-31"}); got != "2026-Q1" {
		t.Fatalf("seed %q", got)
	}
	draw := expectedDraw("2026-Q4", []string{qaID("a1"), qaID("a2"), qaID("a3"), qaID("a4"), qaID("a5")})
	s0, s1, s2, u := draw[0], draw[1], draw[2], draw[3]
	b1, b2, c1, d1 := qaID("b1"), qaID("b2"), qaID("c1"), qaID("d1")

	ratings := []schema.Oversight{
		rating("r1", s0, "sufficient", "2026-09-10", ""),
		rating("r2", s1, "sufficient", "2026-09-05", ""),
		rating("r3", s1, "insufficient", "2026-10-20", "no police check"), // re-rated: the latest counts
		rating("r4", s2, "sufficient", "2026-11-02", ""),                  // after the period: not counted
		rating("r5", u, "insufficient", "2026-10-01", "partner not seen"), // not sampled: apart
		rating("r6", d1, "sufficient", "2026-10-02", ""),                  // not a DA case: apart
		rating("r7", b1, "insufficient", "2026-10-05", "x"),
		rating("r8", b1, "sufficient", "2026-10-06", ""),
		rating("r9", b2, "insufficient", "2026-08-30", "before the period"),
		rating("ra", c1, "sufficient", "2026-09-20", ""),
		// Not ratings: a general review of a visit, and a case oversight
		// with no aspect.
		{ID: qaID("rb"), CaseID: b2, SubjectEntity: "visit", SubjectID: qaID("ff"), Decision: "approved", At: "2026-10-01T10:00:00Z"},
		{ID: qaID("rc"), CaseID: b2, SubjectEntity: "case", SubjectID: b2, Decision: "noted", At: "2026-10-01T10:00:00Z"},
	}
	rep := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: 3}, period, asOf)
	tot := rep.Totals
	check := func(name string, got compliance.IDs, want ...string) {
		t.Helper()
		w := sorted(want...)
		if got.N != len(w) || !slices.Equal(got.CaseIDs, w) {
			t.Errorf("%s = %d %v, want %v", name, got.N, got.CaseIDs, w)
		}
	}
	check("eligible", tot.Eligible, draw[0], draw[1], draw[2], draw[3], draw[4], b1, b2, c1)
	check("sampled", tot.Sampled, s0, s1, s2, b1, b2, c1)
	check("numerator", tot.Sufficient.Numerator, s0, b1, c1)
	check("denominator", tot.Sufficient.Denominator, s0, s1, b1, c1)
	check("insufficient", tot.Insufficient, s1)
	check("not rated", tot.NotRated, s2, b2)
	check("rated not sampled", tot.RatedNotSampled, u, d1)
	if tot.Sufficient.Percent == nil || *tot.Sufficient.Percent != 75 {
		t.Errorf("percent %v, want 75", tot.Sufficient.Percent)
	}
	if len(rep.Teams) != 2 || rep.Teams[0].ID != "t1" || rep.Teams[1].ID != "t2" {
		t.Fatalf("teams %+v", rep.Teams)
	}
	t1, t2 := rep.Teams[0].F, rep.Teams[1].F
	check("t1 numerator", t1.Sufficient.Numerator, s0, b1)
	check("t1 denominator", t1.Sufficient.Denominator, s0, s1, b1)
	if p := t1.Sufficient.Percent; p == nil || *p != 66.7 {
		t.Errorf("t1 percent %v", p)
	}
	check("t2 sampled", t2.Sampled, c1)
	check("t2 numerator", t2.Sufficient.Numerator, c1)
	officers := map[string]compliance.QAFigures{}
	for _, o := range rep.Officers {
		officers[o.ID] = o.F
	}
	check("o1 sampled", officers["o1"].Sampled, s0, s1, s2)
	check("o1 rated not sampled", officers["o1"].RatedNotSampled, u, d1)
	check("o2 numerator", officers["o2"].Sufficient.Numerator, b1)
	check("o2 not rated", officers["o2"].NotRated, b2)

	// The rows: sampled first, by officer and draw, then those rated
	// outside the sample.
	byID := map[string]compliance.QACase{}
	var order []string
	for _, r := range rep.Cases {
		byID[r.CaseID] = r
		order = append(order, r.CaseID)
	}
	o2draw := expectedDraw("2026-Q4", []string{b1, b2})
	if want := []string{s0, s1, s2, c1, o2draw[0], o2draw[1]}; !slices.Equal(order[:6], want) {
		t.Errorf("order %v, want %v first", order, want)
	}
	if len(order) != 8 {
		t.Errorf("%d rows, want 8", len(order))
	}
	if r := byID[s1]; r.Rating != "insufficient" || r.Reason != "no police check" || r.Ratings != 2 || r.Draw != 2 || r.OversightID != qaID("r3") {
		t.Errorf("s1 row %+v", r)
	}
	if r := byID[s2]; r.Rating != "" || !r.Sampled || r.Draw != 3 {
		t.Errorf("s2 row %+v", r)
	}
	if r := byID[u]; r.Sampled || r.Draw != 4 || r.Rating != "insufficient" || !r.Eligible {
		t.Errorf("u row %+v", r)
	}
	if r := byID[d1]; r.Eligible || r.Sampled || r.Rating != "sufficient" {
		t.Errorf("d1 row %+v", r)
	}
	if got := rep.CaseIDs(); !slices.Equal(got, sorted(draw[0], draw[1], draw[2], draw[3], draw[4], b1, b2, c1, d1)) {
		t.Errorf("case ids %v", got)
	}

	// Deterministic: the same request, the same sample; a rolling period
	// ending in the same quarter too (without b2, flagged on 10-31 only).
	again := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: 3}, period, asOf)
	check("same request", again.Totals.Sampled, s0, s1, s2, b1, b2, c1)
	rolling := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: 3}, compliance.Period{From: "2026-08-15", To: "2026-10-30"}, "2026-10-30")
	check("rolling sample", rolling.Totals.Sampled, s0, s1, s2, b1, c1)

	// The officer filter keeps that officer's sample as it was.
	in2 := in
	in2.OfficerID = "o2"
	rep2 := compliance.RiskAssessmentQA(in2, compliance.QAInput{Ratings: ratings, PerOfficer: 3}, period, asOf)
	check("o2 only sampled", rep2.Totals.Sampled, b1, b2)
	check("o2 only numerator", rep2.Totals.Sufficient.Numerator, b1)
	check("o2 only rated not sampled", rep2.Totals.RatedNotSampled)

	// A narrower report over the same pool (a dashboard filter) keeps the
	// draw: a1..a5 without s0 still samples s1, s2 and not u.
	var narrow []compliance.CaseRecords
	for _, cr := range cases {
		if cr.Case.ID != s0 {
			narrow = append(narrow, cr)
		}
	}
	rep3 := compliance.RiskAssessmentQA(qaInput(narrow), compliance.QAInput{Ratings: ratings, PerOfficer: 3, Pool: cases}, period, asOf)
	check("narrow sampled", rep3.Totals.Sampled, s1, s2, b1, b2, c1)
	// Without the pool, the draw is over the narrower set: u comes in.
	rep4 := compliance.RiskAssessmentQA(qaInput(narrow), compliance.QAInput{Ratings: ratings, PerOfficer: 3}, period, asOf)
	check("redrawn sampled", rep4.Totals.Sampled, s1, s2, u, b1, b2, c1)

	// The default size (10 per officer) takes every eligible case here;
	// nothing rated: percent null.
	rep5 := compliance.RiskAssessmentQA(in, compliance.QAInput{}, period, asOf)
	if rep5.PerOfficer != compliance.QASamplePerOfficer || rep5.Totals.Sampled.N != 8 || rep5.Totals.Sufficient.Percent != nil {
		t.Errorf("default: per %d sampled %d percent %v", rep5.PerOfficer, rep5.Totals.Sampled.N, rep5.Totals.Sufficient.Percent)
	}
}

// RiskAssessmentQAShare is the report's Totals.Sufficient, for any period,
// as_of, sample size and pool (the dashboard's previous headline and
// weekly trend of measure 10 read it; decision 0103), with well under half
// the report's allocations.
func TestQAShareIsTheReports(t *testing.T) {
	cases := qaDataset(t)
	draw := expectedDraw("2026-Q4", []string{qaID("a1"), qaID("a2"), qaID("a3"), qaID("a4"), qaID("a5")})
	b1, b2, c1, d1 := qaID("b1"), qaID("b2"), qaID("c1"), qaID("d1")
	ratings := []schema.Oversight{
		rating("r1", draw[0], "sufficient", "2026-09-10", ""),
		rating("r2", draw[1], "sufficient", "2026-09-05", ""),
		rating("r3", draw[1], "insufficient", "2026-10-20", "no police check"),
		rating("r4", draw[2], "sufficient", "2026-11-02", ""),
		rating("r5", draw[3], "insufficient", "2026-10-01", "partner not seen"),
		rating("r6", d1, "sufficient", "2026-10-02", ""),
		rating("r7", b1, "insufficient", "2026-10-05", "x"),
		rating("r8", b1, "sufficient", "2026-10-06", ""),
		rating("r9", b2, "insufficient", "2026-08-30", "before the period"),
		rating("ra", c1, "sufficient", "2026-09-20", ""),
		{ID: qaID("rb"), CaseID: b2, SubjectEntity: "visit", SubjectID: qaID("ff"), Decision: "approved", At: "2026-10-01T10:00:00Z"},
	}
	narrow := slices.DeleteFunc(slices.Clone(cases), func(cr compliance.CaseRecords) bool { return cr.Case.ID == draw[0] })
	n := 0
	for _, in := range []struct {
		in   compliance.Input
		pool []compliance.CaseRecords
	}{{qaInput(cases), nil}, {qaInput(narrow), cases}, {qaInput(narrow), nil}} {
		for _, period := range []compliance.Period{{From: "2026-09-01", To: "2026-10-31"}, {From: "2026-08-15", To: "2026-10-30"},
			{From: "2026-09-01", To: "2026-09-30"}, {From: "2026-10-01", To: "2026-10-07"}} {
			for _, asOf := range []schema.Date{period.To, "2026-09-15", "2026-10-05", "2026-10-20", "2026-11-30"} {
				for _, per := range []int{0, 1, 2, 3} {
					qa := compliance.QAInput{Ratings: ratings, PerOfficer: per, Pool: in.pool}
					got, want := compliance.RiskAssessmentQAShare(in.in, qa, period, asOf), compliance.RiskAssessmentQA(in.in, qa, period, asOf).Totals.Sufficient
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%v as of %s, %d per officer, pool %v: share %+v, the report's %+v", period, asOf, per, in.pool != nil, got, want)
					}
					if want.Denominator.N > 0 {
						n++
					}
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d of the checks had a rated sampled case", n)
	}
	in, qa, period := qaInput(cases), compliance.QAInput{Ratings: ratings, PerOfficer: 3}, compliance.Period{From: "2026-09-01", To: "2026-10-31"}
	share := testing.AllocsPerRun(5, func() { compliance.RiskAssessmentQAShare(in, qa, period, period.To) })
	report := testing.AllocsPerRun(5, func() { compliance.RiskAssessmentQA(in, qa, period, period.To) })
	if share >= report/2 {
		t.Errorf("the share takes %.0f allocations, the report %.0f", share, report)
	}
}
