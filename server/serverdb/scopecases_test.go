package serverdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"testing"

	"doorstep/schema"
)

// ScopeCases answers the cases of the actor's scope, narrowed to a team
// or an officer, never one outside the scope; ListRawCases gives only the
// cases asked for, in scope.
func TestScopeCases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	carlCase := schema.NewID()
	flag := schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: f.ashaCase, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})}
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000003", f.carl), flag}); err != nil {
		t.Fatal(err)
	}
	sup := ActorOf(f.sue, "")
	teamA := []string{f.ashaCase, f.benCase}
	slices.Sort(teamA)
	for _, tc := range []struct {
		name   string
		actor  Actor
		narrow ScopeNarrow
		want   []string
	}{
		{"supervisor", sup, ScopeNarrow{}, teamA},
		{"supervisor, one officer", sup, ScopeNarrow{OfficerID: f.ben.ID}, []string{f.benCase}},
		{"supervisor, another team's officer", sup, ScopeNarrow{OfficerID: f.carl.ID}, nil},
		{"supervisor, another team", sup, ScopeNarrow{TeamID: f.teamB.ID}, nil},
		{"officer", ActorOf(f.asha, ""), ScopeNarrow{}, []string{f.ashaCase}},
		{"officer, another officer", ActorOf(f.asha, ""), ScopeNarrow{OfficerID: f.ben.ID}, nil},
		{"admin, team B", f.admin, ScopeNarrow{TeamID: f.teamB.ID}, []string{carlCase}},
		{"admin, team A and its officer", f.admin, ScopeNarrow{TeamID: f.teamA.ID, OfficerID: f.asha.ID}, []string{f.ashaCase}},
	} {
		got, err := f.db.ScopeCases(ctx, tc.actor, tc.narrow)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: ScopeCases = %v, want %v", tc.name, got, tc.want)
		}
	}
	all, err := f.db.ScopeCases(ctx, f.admin, ScopeNarrow{})
	if err != nil || len(all) != 3 || !slices.IsSorted(all) {
		t.Errorf("admin: ScopeCases = %v, %v; want the three cases in id order", all, err)
	}
	carl := ActorOf(f.carl, "")
	recs, err := f.db.ListRawCases(ctx, sup, []string{"case", "flag"}, []string{f.ashaCase})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Entity)
	}
	if !slices.Equal(got, []string{"case", "flag"}) {
		t.Errorf("ListRawCases = %v, want the case then its flag", got)
	}
	if recs, _ := f.db.ListRawCases(ctx, carl, []string{"case", "flag"}, []string{f.ashaCase}); len(recs) != 0 {
		t.Errorf("ListRawCases out of scope gave %d records", len(recs))
	}
	if _, err := f.db.ListRawCases(ctx, sup, []string{"nope"}, []string{f.ashaCase}); err == nil {
		t.Error("an unknown entity was accepted")
	}
}

// A supervisor's scoped reads of a report (ScopeCases, then ListRawCases)
// find their team's cases and records through indexes (case_scope_team,
// records_case_entity), never by scanning every case or record of the
// service: on SQLite the plan of each names no SCAN of records or
// case_scope; on PostgreSQL, with sequential scans priced out (the
// fixture's tables are too small for the planner to prefer an index of
// its own accord), no Seq Scan of either.
func TestScopedReadsUseIndexes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var recs []schema.Record
	for i := range 4 {
		tm := schema.Team{ID: schema.NewID(), Name: fmt.Sprintf("Team %d", i)}
		if err := f.db.CreateTeam(ctx, f.admin, tm); err != nil {
			t.Fatal(err)
		}
		u := schema.User{ID: schema.NewID(), Username: fmt.Sprintf("plan%d", i), Name: "Officer", Role: schema.RoleOfficer, TeamID: tm.ID}
		if err := f.db.CreateUser(ctx, f.admin, u, testPassword); err != nil {
			t.Fatal(err)
		}
		for j := range 50 {
			id := schema.NewID()
			recs = append(recs, caseRecord(id, fmt.Sprintf("P%d%05d", i, j), u),
				schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})})
		}
	}
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	sup := ActorOf(f.sue, "")
	cond, scopeArgs, err := scopeFilter(sup, "case_id")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := f.db.r.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	postgres := f.db.Engine() == "postgres"
	explain := "EXPLAIN QUERY PLAN "
	if postgres {
		explain = "EXPLAIN "
		if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(ctx, "RESET enable_seqscan")
	}
	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, explain+q, args...)
		if err != nil {
			t.Fatalf("explain %s: %v", q, err)
		}
		return planText(t, rows, postgres)
	}
	q, args := scopeCasesQuery(cond, slices.Clone(scopeArgs), ScopeNarrow{})
	ids, err := f.db.ScopeCases(ctx, sup, ScopeNarrow{})
	if err != nil || len(ids) != 2 {
		t.Fatalf("ScopeCases: %v, %v; want team A's two cases", ids, err)
	}
	rargs := []any{"case", "flag"}
	for _, id := range ids {
		rargs = append(rargs, id)
	}
	for what, p := range map[string]string{
		"ScopeCases":   plan(q, args...),
		"ListRawCases": plan(rawCasesQuery(!postgres, 2, len(ids), cond, true), append(rargs, scopeArgs...)...),
	} {
		for _, table := range []string{"records", "case_scope"} {
			if scan := regexp.MustCompile(`(?m)(^|\W)(SCAN ` + table + `\b|Seq Scan on ` + table + `\b)`); scan.MatchString(p) {
				t.Errorf("%s (%s) scans every row of %s:\n%s", what, f.db.Engine(), table, p)
			}
		}
		t.Logf("%s plan (%s):\n%s", what, f.db.Engine(), p)
	}
}

// ListRawCases gives a chunk's records in change order without the store
// sorting them (decision 0086): its statement's plan has no sort (SQLite's
// temporary B-tree, PostgreSQL's Sort node), and a flag written after
// another comes after it, though the index by case gives first the one
// of the case whose id sorts first.
func TestListRawCasesInChangeOrderUnsorted(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	low, high := min(f.ashaCase, f.benCase), max(f.ashaCase, f.benCase)
	onHigh, onLow := schema.NewID(), schema.NewID()
	for _, r := range [][2]string{{onHigh, high}, {onLow, low}} { // one after the other: two changes
		rec := schema.Record{Entity: "flag", ID: r[0], CaseID: r[1], Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})}
		if err := f.db.Seed(ctx, f.admin, []schema.Record{rec}); err != nil {
			t.Fatal(err)
		}
	}
	sup := ActorOf(f.sue, "")
	got, err := f.db.ListRawCases(ctx, sup, []string{"case", "flag"}, []string{f.ashaCase, f.benCase})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	// The cases were seeded before the flags.
	if len(ids) != 4 || !slices.Contains(ids[:2], f.ashaCase) || !slices.Contains(ids[:2], f.benCase) || ids[2] != onHigh || ids[3] != onLow {
		t.Errorf("ListRawCases = %v, want the two cases, then the flag of %s (%s), then the one of %s (%s)", ids, high, onHigh, low, onLow)
	}

	cond, scopeArgs, err := scopeFilter(sup, "case_id")
	if err != nil {
		t.Fatal(err)
	}
	postgres := f.db.Engine() == "postgres"
	explain := "EXPLAIN QUERY PLAN "
	if postgres {
		explain = "EXPLAIN "
	}
	rows, err := f.db.r.QueryContext(ctx, explain+rawCasesQuery(!postgres, 2, 2, cond, true), append([]any{"case", "flag", f.ashaCase, f.benCase}, scopeArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	plan := planText(t, rows, postgres)
	if regexp.MustCompile(`TEMP B-TREE|(^|\W)Sort\b`).MatchString(plan) {
		t.Errorf("ListRawCases' statement sorts its rows (%s):\n%s", f.db.Engine(), plan)
	}
}

// inChangeOrder puts a chunk's records in the order of their seqs, as the
// sort of records with their seqs did (decision 0095): every permutation
// of up to 7 records, and random chunks of up to 3,000, against
// slices.SortFunc over the pairs.
func TestInChangeOrderSortsBySeq(t *testing.T) {
	check := func(seqs []int64) {
		t.Helper()
		recs := make([]schema.RawRecord, len(seqs))
		type pair struct {
			seq int64
			r   schema.RawRecord
		}
		want := make([]pair, len(seqs))
		for i, s := range seqs {
			recs[i] = schema.RawRecord{Entity: "visit", ID: fmt.Sprintf("r%d", s), CaseID: fmt.Sprintf("c%d", i%3)}
			want[i] = pair{s, recs[i]}
		}
		slices.SortFunc(want, func(a, b pair) int { return int(a.seq - b.seq) })
		inChangeOrder(recs, slices.Clone(seqs))
		for i := range want {
			if recs[i].ID != want[i].r.ID || recs[i].CaseID != want[i].r.CaseID {
				t.Fatalf("seqs %v: place %d holds %s of %s, want %s of %s", seqs, i, recs[i].ID, recs[i].CaseID, want[i].r.ID, want[i].r.CaseID)
			}
		}
	}
	var perms func(prefix, rest []int64)
	perms = func(prefix, rest []int64) {
		if len(rest) == 0 {
			check(prefix)
			return
		}
		for i := range rest {
			next := append(slices.Clone(rest[:i]), rest[i+1:]...)
			perms(append(slices.Clone(prefix), rest[i]), next)
		}
	}
	for n := range 8 {
		var all []int64
		for i := range n {
			all = append(all, int64(10*i+1))
		}
		perms(nil, all)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		n := rng.IntN(3000)
		seqs := make([]int64, n)
		for i, p := range rng.Perm(n) {
			seqs[i] = int64(p)*7 + 3
		}
		check(seqs)
	}
}

// ListRawCases gives each record the driver's own bytes of its fields
// rather than a copy of them (fieldsOf, decision 0103): reading 200 more
// visits of about 1 KB allocates well under twice their fields' bytes a
// visit (the driver's string and, before, its copy), and every visit's
// fields are still its own when the last is read.
func TestListRawCasesFieldsNotCopied(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	seed := func(caseID string, n int) {
		recs := make([]schema.Record, n)
		for i := range recs {
			recs[i] = schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: benchVisit(i), DeviceTime: f.clock.Now()}
		}
		if err := f.db.Seed(ctx, f.admin, recs); err != nil {
			t.Fatal(err)
		}
	}
	seed(f.benCase, 50)
	seed(f.ashaCase, 250)
	read := func(caseID string) (recs []schema.RawRecord, bytes uint64) {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		recs, err := f.db.ListRawCases(ctx, f.admin, []string{"visit"}, []string{caseID})
		runtime.ReadMemStats(&m1)
		if err != nil {
			t.Fatal(err)
		}
		return recs, m1.TotalAlloc - m0.TotalAlloc
	}
	read(f.ashaCase) // the statements prepared
	few, fewBytes := read(f.benCase)
	many, manyBytes := read(f.ashaCase)
	if len(few) != 50 || len(many) != 250 {
		t.Fatalf("read %d and %d visits, want 50 and 250", len(few), len(many))
	}
	fields := 0
	for i, r := range many {
		want, err := schema.Record{Entity: "visit", Fields: benchVisit(i)}.Raw()
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Fields) != string(want.Fields) {
			t.Fatalf("visit %d's fields %s, want %s", i, r.Fields, want.Fields)
		}
		fields += len(r.Fields)
	}
	perVisit, fieldsPer := float64(manyBytes-fewBytes)/200, float64(fields)/250
	if perVisit >= 1.5*fieldsPer {
		t.Errorf("ListRawCases allocated %.0f bytes a visit more for visits of %.0f bytes of fields (%s): their fields are copied", perVisit, fieldsPer, f.db.Engine())
	}
	t.Logf("%s: %.0f bytes a visit for %.0f bytes of fields", f.db.Engine(), perVisit, fieldsPer)
}

// ListRawCases gives what its statement gave before decision 0108 (the
// entities in the index's search, the scope checked on each record): the
// same records, in change order, for a supervisor, officers of either
// team and an admin, asked for cases in and out of their scope, one that
// does not exist, and fewer entities than the cases hold.
func TestListRawCasesAsTheStatementBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	carlCase := schema.NewID()
	recs := []schema.Record{caseRecord(carlCase, "C000003", f.carl)}
	for i, c := range []string{f.ashaCase, f.benCase, carlCase, f.ashaCase} {
		recs = append(recs,
			schema.Record{Entity: "flag", ID: schema.NewID(), CaseID: c, Fields: schema.FieldsOf(schema.Flag{Type: "da_victim", StartDate: "2026-01-01"})},
			schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: c, Fields: visitFields("draft")},
			schema.Record{Entity: "household_member", ID: schema.NewID(), CaseID: c, Fields: raw("name", fmt.Sprintf("Member %d", i), "relation", "partner", "residence", "lives_here")})
	}
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	entities := []string{"case", "flag", "visit"}
	before := func(actor Actor, ids []string) []schema.RawRecord {
		t.Helper()
		cond, scopeArgs, err := scopeFilter(actor, "case_id")
		if err != nil {
			t.Fatal(err)
		}
		var args []any
		for _, e := range entities {
			args = append(args, e)
		}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := f.db.r.QueryContext(ctx, `SELECT entity, id, case_id, fields FROM records WHERE entity IN (`+listMarks(len(entities))+
			`) AND case_id IN (`+listMarks(len(ids))+`) AND `+cond+` ORDER BY seq`, append(args, scopeArgs...)...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := scanRawRecords(rows)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := []string{f.ashaCase, f.benCase, carlCase, schema.NewID()}
	for _, tc := range []struct {
		name  string
		actor Actor
		ids   []string
	}{
		{"supervisor, every case", ActorOf(f.sue, ""), all},
		{"supervisor, team B's case", ActorOf(f.sue, ""), []string{carlCase}},
		{"officer of team A", ActorOf(f.asha, ""), all},
		{"officer of team B", ActorOf(f.carl, ""), all},
		{"admin", f.admin, all},
		{"admin, one case", f.admin, []string{f.benCase}},
	} {
		got, err := f.db.ListRawCases(ctx, tc.actor, entities, tc.ids)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := before(tc.actor, tc.ids)
		if len(want) == 0 && tc.actor.Role != schema.RoleSupervisor {
			t.Fatalf("%s: the statement before gives nothing: the test proves nothing", tc.name)
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d records, want %d", tc.name, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Entity != w.Entity || g.ID != w.ID || g.CaseID != w.CaseID || string(g.Fields) != string(w.Fields) {
				t.Errorf("%s: record %d is %s %s of %s, want %s %s of %s", tc.name, i, g.Entity, g.ID, g.CaseID, w.Entity, w.ID, w.CaseID)
			}
		}
	}
}

// On SQLite, ListRawCases' statement searches the records by case alone
// (the entities filter what it finds) and checks the scope on the cases'
// subquery, not on each record (decision 0108): its plan's search of
// records is on case_id alone, and its scope's list is made inside the
// cases' subquery.
func TestListRawCasesSeeksEachCaseOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.Engine() != "sqlite" {
		t.Skip("SQLite's plan: PostgreSQL already searches by case alone")
	}
	ctx := context.Background()
	sup := ActorOf(f.sue, "")
	cond, scopeArgs, err := scopeFilter(sup, "case_id")
	if err != nil {
		t.Fatal(err)
	}
	args := []any{"case", "flag", "visit", f.ashaCase, f.benCase}
	rows, err := f.db.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+rawCasesQuery(true, 3, 2, cond, len(scopeArgs) > 0), append(args, scopeArgs...)...)
	if err != nil {
		t.Fatal(err)
	}
	plan := planText(t, rows, false)
	t.Logf("plan:\n%s", plan)
	if !regexp.MustCompile(`SEARCH records USING (COVERING )?INDEX \w+ \(case_id=\?\)`).MatchString(plan) {
		t.Errorf("ListRawCases does not search records by case alone:\n%s", plan)
	}
}
