package synth

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"

	"doorstep/schema"
)

// benchNotesLen pads a benchmark visit's notes so its fields come to about
// 1 KB of JSON, the size of a fully recorded home visit.
const benchNotesLen = 300

// VisitFields returns the fields of one signed, completed home visit in a
// domestic-abuse case with a partner and two children, about 1 KB of JSON,
// valid for schema.Visit.ValidateForSigning(true). It draws from r, so the
// same source gives the same fields.
func VisitFields(r *rand.Rand, officerID string, at time.Time) map[string]json.RawMessage {
	g := &gen{rng: r, ids: idSource{rng: r}, now: at.Add(30 * 24 * time.Hour)}
	ctx := &caseCtx{officer: schema.User{ID: officerID}, rosh: "high", da: true, homeOK: true}
	ctx.partner = &member{id: g.ids.at(at), m: schema.HouseholdMember{Relation: "partner", Residence: "lives_here", AddedOn: "2000-01-01"}}
	for _, age := range []int{4, 11} {
		ctx.children = append(ctx.children, member{id: g.ids.at(at),
			m: schema.HouseholdMember{Relation: "own_child", Residence: "lives_here", Age: age, AddedOn: "2000-01-01", DateOfBirth: "2000-01-01"}})
	}
	at = at.UTC().Truncate(time.Minute)
	v := g.signedVisit(ctx, at, "home_unannounced", "home_unannounced", "completed", 60*24*time.Hour)
	notes := observationNotes[pick(g, observationKinds)] + " " + strings.Repeat("Noted. ", benchNotesLen/7)
	v.ObservationNotes = notes[:min(len(notes), benchNotesLen)]
	return fields(v)
}

// BenchVisits returns n signed home visits of one case (a domestic-abuse
// case, as VisitFields makes them), a day apart and ending before now, for
// benchmarks of push, pull and the stores. The same seed gives the same
// records, ids included.
func BenchVisits(seed int64, caseID, officerID string, n int) []schema.Record {
	r := rand.New(rand.NewPCG(uint64(seed), 0x62656e6368)) // "bench"
	ids := idSource{rng: r}
	start := dayOf(DefaultNow).AddDate(0, 0, -n-1)
	out := make([]schema.Record, n)
	for i := range out {
		at := start.AddDate(0, 0, i).Add(10 * time.Hour)
		out[i] = schema.Record{Entity: "visit", ID: ids.at(at), CaseID: caseID,
			Fields: VisitFields(r, officerID, at), CreatedBy: officerID, UpdatedBy: officerID}
	}
	return out
}
