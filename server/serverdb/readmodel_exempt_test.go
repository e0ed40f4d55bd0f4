package serverdb

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// The days a case is exempted (rm_exempt, decision 0112) follow every
// write that changes what exempts it, in the transaction that makes it:
// a new assessment, a later one that does not exempt, one of the same
// day, a decision made (by an admin's write and by a supervisor's
// oversight), an assessment's date corrected, the case's address changed
// away from its assessments and back. After each, on every day from
// before the first assessment to after the last decision, the cases
// exempted and the decision that exempts them are the Go measures' (the
// oracle: policy.AssessmentAsOf and policy.SafetyExemption over the
// case's records), and the rows are those a rebuild writes. A span table
// left as it was by any of those writes fails it.
func TestExemptSpansFollowTheAssessments(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	caseID := f.ashaCase
	write := func(what, entity, id string, kv ...any) string {
		t.Helper()
		r, err := f.db.Write(ctx, f.admin, entity, id, caseID, raw(kv...))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return r.ID
	}
	spans := 0
	check := func(what string) {
		t.Helper()
		rows, err := f.db.r.Query(readRecordsSQL(`case_id = ? AND entity IN ('case', 'safety_assessment')`), caseID)
		recs, err := scanReadRecords(rows, err)
		if err != nil {
			t.Fatal(err)
		}
		var c schema.Case
		var all []schema.SafetyAssessment
		for _, r := range recs {
			if r.Entity == "case" {
				err = r.Decode(&c)
			} else {
				var a schema.SafetyAssessment
				err = r.Decode(&a)
				all = append(all, a)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		for d := time.Date(2026, 9, 28, 0, 0, 0, 0, time.UTC); d.Before(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
			day := schema.DateOf(d)
			want := ""
			if a, ok := policy.AssessmentAsOf(c, all, day); ok {
				if _, ex := policy.SafetyExemption(c, a); ex {
					want = a.Decision
				}
			}
			q := &sqlb{}
			q.add(`SELECT s.decision FROM rm_exempt s WHERE `)
			q.exemptingAssessment("s", "?", day, "")
			q.args = slices.Insert(q.args, 0, any(caseID))
			got, err := decisionsOf(f.db, q)
			if err != nil {
				t.Fatal(err)
			}
			in := &sqlb{}
			in.add(`SELECT count(*) FROM rm_cases c WHERE c.case_id = ? AND `, caseID)
			in.exemptOn("c.case_id", day, "")
			n := rowCount(t, f.db, in.b.String(), in.args...)
			if (want == "" && (len(got) != 0 || n != 0)) || (want != "" && (!slices.Equal(got, []string{want}) || n != 1)) {
				t.Errorf("%s: on %s the spans say %q (exemptOn %d); the Go measures %q", what, day, got, n, want)
			}
			if want != "" {
				spans++
			}
		}
		got := rmDump(t, f.db, caseID)
		if err := f.db.update(ctx, func(tx *wtx) error { return f.db.writeCases(tx, []string{caseID}) }); err != nil {
			t.Fatal(err)
		}
		if want := rmDump(t, f.db, caseID); !slices.Equal(got, want) {
			t.Errorf("%s: the read model as written:\n%q\na rebuild:\n%q", what, got, want)
		}
	}
	check("no assessment")
	first := write("an exempting assessment", "safety_assessment", "", "address", "1 High St", "assessed_on", "2026-10-01",
		"decision", "exempted", "decision_reason", "dogs", "decided_on", "2026-10-05", "decided_by", f.admin.UserID)
	check("an exempting assessment decided later")
	second := write("a later assessment", "safety_assessment", "", "address", "1 High St", "assessed_on", "2026-10-20")
	check("a later assessment, undecided")
	write("a decision", "safety_assessment", second, "decision", "not_approved", "decision_reason", "weapons",
		"decided_on", "2026-11-01", "decided_by", f.admin.UserID)
	check("the later assessment not approved")
	write("one of the same day", "safety_assessment", "", "address", "1 High St", "assessed_on", "2026-10-20",
		"decision", "approved", "decided_on", "2026-11-02", "decided_by", f.admin.UserID)
	check("an approved assessment of the same day, decided after")
	third := write("a newer assessment", "safety_assessment", "", "address", "1 High St", "assessed_on", "2026-11-10")
	if _, err := f.db.Oversee(ctx, f.actor(f.sue, ""), OversightInput{SubjectEntity: "safety_assessment", SubjectID: third,
		Decision: "exempted", Reason: "a dangerous dog"}); err != nil {
		t.Fatal(err)
	}
	check("a newer assessment exempted by a supervisor's oversight")
	write("a date corrected", "safety_assessment", first, "assessed_on", "2026-11-15")
	check("the first assessment's date corrected to after the others")
	write("a move", "case", caseID, "address", "2 Low Road")
	check("the case moved from the assessments' address")
	write("a move back", "case", caseID, "address", "1 High St")
	check("the case moved back")
	if spans == 0 {
		t.Error("no day exempted: the comparison tested nothing")
	}
}

// decisionsOf runs q, whose rows are one decision each.
func decisionsOf(db *DB, q *sqlb) ([]string, error) {
	rows, err := db.r.Query(q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, q.b.String())
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
