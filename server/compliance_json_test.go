package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/klauspost/compress/gzip"

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
	in := synthInput(t, ds)
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
			for _, gz := range []bool{false, true} {
				if got := streamedReport(t, rep, gz, nil); !bytes.Equal(got, want) {
					t.Errorf("%s %T (gzip %v): writeReport differs from json.Marshal (%d bytes, want %d)", detail, rep, gz, len(got), len(want))
				}
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
		if got := streamedReport(t, v, false, nil); !bytes.Equal(got, want) {
			t.Errorf("writeReport(%s) = %s; want %s", fmt.Sprint(v), got, want)
		}
	}
}

// streamedReport is what writeReport writes of v through a 4 KiB
// buffered writer, gunzipped when gz; each write that reaches the
// writer underneath is recorded in writes.
func streamedReport(t *testing.T, v any, gz bool, writes *[]int) []byte {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriterSize(writesTo{&out, writes}, 4096)
	if err := writeReport(w, w, v, gz); err != nil {
		t.Fatal(err)
	}
	if !gz {
		return out.Bytes()
	}
	zr, err := gzip.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type writesTo struct {
	w      io.Writer
	writes *[]int
}

func (w writesTo) Write(p []byte) (int, error) {
	if w.writes != nil {
		*w.writes = append(*w.writes, len(p))
	}
	return w.w.Write(p)
}

// TestReportNotHeldWhole: a large report reaches the connection in many
// small writes as it is encoded, none of them more than a small part of
// the answer: the whole JSON is never held (decision 0074). Before, the
// answer was one []byte of it all.
func TestReportNotHeldWhole(t *testing.T) {
	ds := synth.Generate(synth.Options{Teams: 2, OfficersPerTeam: 5, CasesPerOfficer: 20, HistoryDays: 730, Seed: 11})
	in := synthInput(t, ds)
	rep := compliance.Contacts(in, compliance.Period{From: "2026-01-01", To: "2026-11-23"}, "2026-11-23")
	want, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 1<<20 {
		t.Fatalf("the report is %d bytes; the test needs one over 1 MiB", len(want))
	}
	for _, gz := range []bool{false, true} {
		var writes []int
		if got := streamedReport(t, rep, gz, &writes); !bytes.Equal(got, want) {
			t.Fatalf("gzip %v: writeReport differs from json.Marshal (%d bytes, want %d)", gz, len(got), len(want))
		}
		most := slices.Max(writes)
		if len(writes) < 8 || most > 256<<10 {
			t.Errorf("gzip %v: %d writes of at most %d bytes for a %d-byte answer; want it written as it is encoded, in pieces of at most 256 KiB",
				gz, len(writes), most, len(want))
		}
	}
}

// synthInput is the measures' input over ds's records, without names.
func synthInput(t *testing.T, ds *synth.Dataset) compliance.Input {
	t.Helper()
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
	return compliance.Input{Cases: cases, Officers: map[string]string{}, Teams: map[string]string{}}
}
