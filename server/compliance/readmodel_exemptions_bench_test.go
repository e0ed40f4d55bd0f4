package compliance_test

import (
	"context"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// BenchmarkReadModelExemptionsAndQA: the exemptions report at
// detail=counts and measure 10 over the synthetic service of the oracle
// tests (3 teams, 360 cases, ratings of every third case), for an admin:
// from the read model, against the Go measure over records decoded afresh
// (a NewService each time: no cache).
func BenchmarkReadModelExemptionsAndQA(b *testing.B) {
	ctx := context.Background()
	db, ds := readModelService(b)
	var caseIDs []string
	for _, r := range ds.Records {
		if r.Entity == "case" {
			caseIDs = append(caseIDs, r.ID)
		}
	}
	rateCases(b, db, caseIDs, "bench")
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	period := compliance.Period{From: "2026-05-23", To: "2026-11-23"}
	const asOf = "2026-11-23"
	b.Run("exemptions/read-model", func(b *testing.B) {
		svc := compliance.NewService(db, nil)
		for b.Loop() {
			if _, _, err := svc.ExemptionsCounts(ctx, admin, "", period, asOf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("exemptions/records", func(b *testing.B) {
		for b.Loop() {
			svc := compliance.NewService(db, nil)
			in, err := svc.Input(ctx, admin, "")
			if err != nil {
				b.Fatal(err)
			}
			rep := compliance.Exemptions(in, period, asOf)
			compliance.AddHeadline("exemptions", in, rep, period)
		}
	})
	b.Run("qa/read-model", func(b *testing.B) {
		svc := compliance.NewService(db, nil)
		for b.Loop() {
			if _, err := svc.QAFromReadModel(ctx, admin, "", period, asOf, 10); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("qa/records", func(b *testing.B) {
		for b.Loop() {
			svc := compliance.NewService(db, nil)
			in, err := svc.Input(ctx, admin, "")
			if err != nil {
				b.Fatal(err)
			}
			ratings, err := svc.QARatings(ctx, admin)
			if err != nil {
				b.Fatal(err)
			}
			compliance.RiskAssessmentQA(in, compliance.QAInput{Ratings: ratings, PerOfficer: 10}, period, asOf)
		}
	})
}
