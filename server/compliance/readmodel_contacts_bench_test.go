package compliance_test

import (
	"context"
	"testing"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// BenchmarkContactsHouseholdsCounts: measures 3 and 5 at detail=counts
// for an admin over a 90-day period, on the oracle's synthetic service
// (3 teams, 360 cases): from the read model (every figure a GROUP BY
// over one snapshot, and the previous period's headline), and as the Go
// measure answers it (the records read and decoded for the request, the
// measure, its headline over the previous period, Summarize, DropIDs).
func BenchmarkContactsHouseholdsCounts(b *testing.B) {
	ctx := context.Background()
	db, _ := readModelService(b)
	svc := compliance.NewService(db, nil)
	admin := serverdb.Actor{UserID: "admin", Role: schema.RoleAdmin}
	p := compliance.Period{From: "2026-08-26", To: "2026-11-23"}
	goCounts := func(b *testing.B, slug string, m func(compliance.Input) compliance.Headlined) {
		for b.Loop() {
			in, err := svc.Input(ctx, admin, "")
			if err != nil {
				b.Fatal(err)
			}
			rep := m(in)
			compliance.AddHeadline(slug, in, rep, p)
			rep.(interface{ Summarize() }).Summarize()
			compliance.DropIDs(rep)
		}
	}
	b.Run("read-model/contacts", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := svc.ContactsCounts(ctx, admin, "", p, p.To); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go/contacts", func(b *testing.B) {
		goCounts(b, "contacts", func(in compliance.Input) compliance.Headlined { return compliance.Contacts(in, p, p.To) })
	})
	b.Run("read-model/households", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := svc.HouseholdsCounts(ctx, admin, "", p, p.To); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go/households", func(b *testing.B) {
		goCounts(b, "households", func(in compliance.Input) compliance.Headlined { return compliance.Households(in, p, p.To) })
	})
}
