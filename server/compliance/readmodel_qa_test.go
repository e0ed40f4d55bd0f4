package compliance_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// rateCases writes DA risk assessment ratings into the synthetic service:
// of every third case, sufficient or insufficient on a day of 2026, some
// rated again later (the latest counts), some rated twice at the same
// instant (the id decides), and general reviews of cases, which are not
// ratings. It returns how many ratings it wrote.
func rateCases(t testing.TB, db *serverdb.DB, caseIDs []string, by string) int {
	t.Helper()
	setup := serverdb.Actor{UserID: "setup", Role: schema.RoleAdmin}
	var recs []schema.Record
	at := func(day int, hour int) schema.Timestamp {
		return schema.Timestamp(time.Date(2026, 1, 1, hour, 0, 0, 0, time.UTC).AddDate(0, 0, day).Format(time.RFC3339))
	}
	rate := func(caseID, decision string, when schema.Timestamp, aspect string) {
		o := schema.Oversight{SubjectEntity: "case", SubjectID: caseID, Aspect: aspect, Decision: decision, By: by, At: when}
		if decision == compliance.QAInsufficient {
			o.Reason = "no police check made"
		}
		recs = append(recs, schema.Record{Entity: "oversight", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(o)})
	}
	ratings := 0
	for i, id := range caseIDs {
		if i%3 != 0 {
			continue
		}
		day := (i * 7) % 330
		decision := []string{compliance.QASufficient, compliance.QAInsufficient}[i/3%2]
		rate(id, decision, at(day, 9), schema.AspectDARiskAssessment)
		ratings++
		switch i % 4 {
		case 0: // rated again, three weeks later, the other way
			rate(id, []string{compliance.QAInsufficient, compliance.QASufficient}[i/3%2], at(day+21, 11), schema.AspectDARiskAssessment)
			ratings++
		case 1: // rated again at the same instant
			rate(id, compliance.QASufficient, at(day, 9), schema.AspectDARiskAssessment)
			ratings++
		case 2: // a general review of the case: not a rating
			rate(id, "noted", at(day+1, 9), "")
		}
	}
	if err := db.Seed(context.Background(), setup, recs); err != nil {
		t.Fatal(err)
	}
	return ratings
}

// TestReadModelQAAgrees computes measure 10 both ways on the synthetic
// service with ratings: the Go measure over the decoded records and
// ratings, and the read model's eligible cases and latest ratings drawn
// and counted by the same code. The whole report (every figure with its
// cases, every team and officer, every case row) must be the same, for an
// admin, a supervisor, an officer filter and an officer, over several
// periods and sample sizes; and the ratings the read model keeps are the
// ones decoding every oversight record finds.
func TestReadModelQAAgrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, ds := readModelService(t)
	svc := compliance.NewService(db, nil)
	var caseIDs []string
	for _, r := range ds.Records {
		if r.Entity == "case" {
			caseIDs = append(caseIDs, r.ID)
		}
	}
	scopes := oracleScopes(ds, 2, 0)
	if n := rateCases(t, db, caseIDs, scopes[1].actor.UserID); n < 100 {
		t.Fatalf("wrote %d ratings; want a good number", n)
	}
	var sampled, rated, insufficient, outside, notRated int
	for _, sc := range scopes {
		decoded, err := svc.QARatings(ctx, sc.actor)
		if err != nil {
			t.Fatal(err)
		}
		typed, err := svc.QARatingsFromReadModel(ctx, sc.actor)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(decoded, func(a, b schema.Oversight) int { return strings.Compare(a.ID, b.ID) })
		if a, b := mustJSON(t, decoded), mustJSON(t, typed); string(a) != string(b) {
			t.Errorf("%s: the read model's ratings differ from those decoded from the records: %s", sc.name, firstDiff(b, a))
		}
		in, err := svc.Input(ctx, sc.actor, sc.officerID)
		if err != nil {
			t.Fatal(err)
		}
		for _, asOf := range []schema.Date{"2026-11-23", "2026-09-30", "2026-03-15"} {
			for _, per := range []int{3, 10} {
				period := compliance.Period{From: schema.DateOf(asOf.Time().AddDate(0, -4, 0)), To: asOf}
				if per == 3 { // a period ending after as_of: ratings after as_of do not count
					period.To = schema.DateOf(asOf.Time().AddDate(0, 0, 10))
				}
				label := fmt.Sprintf("%s over %s..%s as of %s, %d per officer", sc.name, period.From, period.To, asOf, per)
				want := compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: decoded, PerOfficer: per}, period, asOf)
				got, err := svc.QAFromReadModel(ctx, sc.actor, sc.officerID, period, asOf, per)
				if err != nil {
					t.Fatalf("%s: %v", label, err)
				}
				if a, b := mustJSON(t, want), mustJSON(t, got); string(a) != string(b) {
					t.Errorf("%s: the read model's report differs from the Go measure's: %s", label, firstDiff(b, a))
				}
				tot := want.Totals
				sampled += tot.Sampled.N
				rated += tot.Sufficient.Numerator.N
				insufficient += tot.Insufficient.N
				outside += tot.RatedNotSampled.N
				notRated += tot.NotRated.N
			}
		}
	}
	for name, n := range map[string]int{"sampled": sampled, "sufficient": rated, "insufficient": insufficient,
		"rated_not_sampled": outside, "not_rated": notRated} {
		if n == 0 {
			t.Errorf("no scope or period had a case in figure %s: the synthetic service does not test it", name)
		}
	}
}

// firstDiff shows where got and want first differ.
func firstDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-150)
	return fmt.Sprintf("at byte %d, got ...%s... want ...%s...", i, got[from:min(len(got), i+100)], want[from:min(len(want), i+100)])
}
