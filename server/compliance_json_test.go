package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"doorstep/schema"
	"doorstep/schema/synth"
	"doorstep/server/compliance"
)

// TestMarshalReport: the reports encoded on every core, in small chunks,
// are byte for byte what json.Marshal makes of them, in full, as a summary
// and as counts.
func TestMarshalReport(t *testing.T) {
	defer func(n int) { marshalChunk = n }(marshalChunk)
	marshalChunk = 3
	ds := synth.Generate(synth.Options{Teams: 2, OfficersPerTeam: 3, CasesPerOfficer: 8, HistoryDays: 730, Seed: 7})
	var raws []schema.RawRecord
	for _, r := range ds.Records {
		raw, err := r.Raw()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	cases, err := compliance.Group(raws)
	if err != nil {
		t.Fatal(err)
	}
	in := compliance.Input{Cases: cases, Officers: map[string]string{}, Teams: map[string]string{}}
	for _, u := range ds.Users {
		in.Officers[u.ID] = u.Name + ` <&> "q"`
	}
	for _, tm := range ds.Teams {
		in.Teams[tm.ID] = tm.Name
	}
	p := compliance.Period{From: "2026-08-25", To: "2026-11-23"}
	year := compliance.Period{From: "2026-01-01", To: "2026-11-23"}
	const asOf = "2026-11-23"
	for _, detail := range []string{"full", "summary", "counts"} {
		reps := []report{compliance.FirstHomeVisits(in, year, asOf), compliance.Overdue(in, asOf), compliance.Contacts(in, p, asOf),
			compliance.Enquiries(in, year, asOf), compliance.Households(in, p, asOf), compliance.Interventions(in, year, asOf),
			compliance.Reviews(in, p, asOf), compliance.Workload(in, asOf), compliance.Exemptions(in, p, asOf)}
		for _, rep := range reps {
			if detail != "full" {
				rep.Summarize()
			}
			if detail == "counts" {
				compliance.DropIDs(rep)
			}
			want, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			got, err := marshalReport(rep)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %T: marshalReport differs from json.Marshal (%d bytes, want %d)", detail, rep, len(got), len(want))
			}
			if detail == "full" && len(want) < 2000 {
				t.Errorf("%T: only %d bytes", rep, len(want))
			}
		}
	}
	// Values it does not take apart.
	for _, v := range []any{nil, 3, "x", []int{1, 2, 3, 4, 5, 6, 7}, []int{}, []int(nil), map[string]int{"a": 1},
		struct {
			A int `json:"a,omitempty"`
			B []string
			C *int   `json:",omitempty"`
			D string `json:"-"`
		}{B: []string{"1", "2", "3", "4"}},
		struct {
			A int `json:"a,string"`
		}{A: 1},
	} {
		want, _ := json.Marshal(v)
		got, err := marshalReport(v)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("marshalReport(%s) = %s, %v; want %s", fmt.Sprint(v), got, err, want)
		}
	}
}
