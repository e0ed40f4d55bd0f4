package serverdb

import (
	"context"
	"testing"

	"doorstep/schema"
)

// ListRawCases reads each record's entity, id, case id and fields packed
// into one text (rawCasesCols, decision 0135): its answer is the records
// as the five columns hold them (the oracle: the columns read apart, as
// before it), in change order, and it makes fewer objects a record (not
// parallel: AllocsPerRun counts every goroutine's).
func TestListRawCasesReadsTheRecordsAsStored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	recs := make([]schema.Record, 300)
	for i := range recs {
		recs[i] = schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: f.ashaCase, Fields: benchVisit(i), DeviceTime: f.clock.Now()}
	}
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	entities := []string{"case", "flag", "visit", "amendment"}
	got, err := f.db.ListRawCases(ctx, f.admin, entities, []string{f.ashaCase})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.r.QueryContext(ctx, `SELECT entity, id, case_id, fields FROM records
		WHERE entity IN ('case', 'flag', 'visit', 'amendment') AND case_id = ? ORDER BY seq`, f.ashaCase)
	if err != nil {
		t.Fatal(err)
	}
	var want []schema.RawRecord
	for rows.Next() {
		var r schema.RawRecord
		var fields string
		if err := rows.Scan(&r.Entity, &r.ID, &r.CaseID, &fields); err != nil {
			t.Fatal(err)
		}
		r.Fields = []byte(fields)
		want = append(want, r)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 301 {
		t.Fatalf("ListRawCases: %d records, want %d (over 300)", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Entity != w.Entity || g.ID != w.ID || g.CaseID != w.CaseID || string(g.Fields) != string(w.Fields) {
			t.Fatalf("record %d: %s %s %s %.60s, want %s %s %s %.60s", i, g.Entity, g.ID, g.CaseID, g.Fields, w.Entity, w.ID, w.CaseID, w.Fields)
		}
	}
	// Five columns read apart made about nine objects a record (each
	// column's string, database/sql's and the driver's); packed, four.
	n := len(got)
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := f.db.ListRawCases(ctx, f.admin, entities, []string{f.ashaCase}); err != nil {
			t.Fatal(err)
		}
	})
	if per := allocs / float64(n); per > 6 {
		t.Errorf("ListRawCases made %.1f objects a record (%d records), want at most 6", per, n)
	}
}

// A packed row that does not read as rawCasesCols writes it is an error,
// never a panic or a record cut wrong.
func TestUnpackRawRecord(t *testing.T) {
	ents := []string{"visit"}
	r, ok := unpackRawRecord("visit,3:abc5:case1{\"a\":1}", ents)
	if !ok || r.Entity != "visit" || r.ID != "abc" || r.CaseID != "case1" || string(r.Fields) != `{"a":1}` {
		t.Errorf("unpack = %+v %v", r, ok)
	}
	if r, ok := unpackRawRecord("visit,0:0:", ents); !ok || r.ID != "" || r.CaseID != "" || len(r.Fields) != 0 {
		t.Errorf("empty ids and fields: %+v %v", r, ok)
	}
	for _, bad := range []string{"", "visit", "visit,", "visit,3:ab", "visit,x:abc5:case1{}", "visit,3:abc9:case1", "visit,-1:abc", "visit,3:abc5"} {
		if r, ok := unpackRawRecord(bad, ents); ok {
			t.Errorf("unpack(%q) = %+v, want not ok", bad, r)
		}
	}
}
