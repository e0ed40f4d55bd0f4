package serverdb

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"doorstep/internal/testkit"
	"doorstep/schema"
)

// rmRow reads the rows of q, each as its columns' text joined by "|"
// (a one-column query's values as they are).
func rmRow(t *testing.T, db *DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.r.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s []any
		cols, _ := rows.Columns()
		vals := make([]string, len(cols))
		for i := range vals {
			s = append(s, &vals[i])
		}
		if err := rows.Scan(s...); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.Join(vals, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadModelContactsAndHouseholds: the columns migration 0011 added
// (measures 3 and 5) are written with every write, from the visit as
// amended, and a store whose rows predate them (as one migrated to 0011
// is) derives them all again when it opens.
func TestReadModelContactsAndHouseholds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	path := filepath.Join(t.TempDir(), "server.db")
	var logs bytes.Buffer
	open := func() *DB {
		t.Helper()
		logs.Reset()
		db, err := Open(ctx, path, Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	admin, asha := teamAndOfficer(t, db)
	caseID, child, partner, vid := schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID()
	if err := db.Seed(ctx, admin, []schema.Record{caseRecord(caseID, "A000001", asha)}); err != nil {
		t.Fatal(err)
	}
	write := func(entity, id string, fields any) {
		t.Helper()
		if _, err := db.Write(ctx, admin, entity, id, caseID, schema.FieldsOf(fields)); err != nil {
			t.Fatalf("write %s: %v", entity, err)
		}
	}
	write("household_member", child, schema.HouseholdMember{Name: "Kit", Relation: "own_child", Residence: "lives_here",
		AddedOn: "2026-09-01", ConfirmedOn: "2026-11-30", ChildVictimInOwnRight: "not_known"})
	write("household_member", partner, schema.HouseholdMember{Name: "Lee", Relation: "partner", Residence: "lives_here"})
	// Signed late in the evening an hour behind UTC: the local day is the
	// 2nd, the UTC day the 3rd.
	write("visit", vid, schema.Visit{OfficerID: asha.ID, Type: "other_place", Status: "signed", Outcome: "completed",
		Location: "elsewhere", PlaceType: "cafe", ElsewhereReason: "partner at home", FaceToFace: true,
		StartedAt: "2026-11-02T23:30:00-01:00", PartnerPresent: "yes", PartnerSeenAlone: "yes", ChildrenPresent: "yes",
		Children:     []schema.VisitChild{{MemberID: child, Present: "yes", Seen: "yes"}, {MemberID: child, Present: "no"}},
		Observations: []string{"fear", "child_not_on_record"}, SignedAt: "2026-11-03T01:00:00Z", SignedBy: admin.UserID})

	visitCols := `SELECT started_day, channel, place, elsewhere_reason, partner_present, partner_seen_alone, child_not_on_record
		FROM rm_visits WHERE visit_id = ?`
	childCols := `SELECT member_id, answer FROM rm_visit_children WHERE visit_id = ?`
	memberCols := `SELECT member_id, is_child, is_partner, confirmed_on, confirmed_until, victim FROM rm_household WHERE case_id = ? ORDER BY is_child`
	check := func(what, q string, arg string, want ...string) {
		t.Helper()
		if got := rmRow(t, db, q, arg); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", what, got, want)
		}
	}
	check("the visit as written", visitCols, vid, "2026-11-02|face_to_face_elsewhere|cafe|partner at home|yes|yes|1")
	check("the children it names (the first entry)", childCols, vid, child+"|seen")
	check("the household", memberCols, caseID, partner+"|0|1|||", child+"|1|0|2026-11-30|2027-02-28|not_known")
	check("the case", `SELECT household_due_after FROM rm_cases WHERE case_id = ?`, caseID, "2027-01-01")

	write("amendment", "", schema.Amendment{VisitID: vid, Reason: "it was at home", AmendedBy: admin.UserID,
		AmendedAt: "2026-11-20T09:00:00Z", Changes: raw("type", "home_announced", "location", "home",
			"place_type", nil, "elsewhere_reason", nil, "observations", []string{"fear"},
			"children", []schema.VisitChild{{MemberID: child, Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}})})
	check("the visit amended", visitCols, vid, "2026-11-02|face_to_face_home|||yes|yes|0")
	check("the children amended", childCols, vid, child+"|reason")
	before := rmDump(t, db, caseID)

	// As a store migrated to 0011 holds them: the new columns at their
	// defaults, no children rows, the policy tag cleared.
	for _, q := range []string{
		`UPDATE rm_visits SET started_day = '', channel = '', place = '', elsewhere_reason = '', partner_present = '',
			partner_seen_alone = '', child_not_on_record = 0`,
		`UPDATE rm_household SET is_child = 0, is_partner = 0, confirmed_on = '', confirmed_until = '', victim = ''`,
		`UPDATE rm_cases SET household_due_after = ''`,
		`DELETE FROM rm_visit_children`,
		`UPDATE read_model_state SET policy_tag = '' WHERE id = 1`,
	} {
		if _, err := db.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = open()
	defer db.Close()
	if !strings.Contains(logs.String(), "building the compliance read model: 1 cases") {
		t.Errorf("reopened after 0011, the log says %q; want it to build the read model", logs.String())
	}
	if after := rmDump(t, db, caseID); !slices.Equal(after, before) {
		t.Errorf("rebuilt on open:\n%q\nwant the rows the writes made:\n%q", after, before)
	}
}

// TestReadModelVisitDAFollowsFlags: a visit's da (migration 0014) is
// written with the visit and worked out again when a flag of its case is
// written, so measure 3's domestic_abuse figures follow a DA flag added
// after the visit, dated before it, and one that ends before it; and its
// children counts (expected, accounted, reasons) follow the household.
func TestReadModelVisitDAFollowsFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	db, err := Open(ctx, filepath.Join(t.TempDir(), "server.db"), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, asha := teamAndOfficer(t, db)
	caseID, early, late, flag := schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID()
	if err := db.Seed(ctx, admin, []schema.Record{caseRecord(caseID, "A000001", asha)}); err != nil {
		t.Fatal(err)
	}
	write := func(entity, id string, fields any) {
		t.Helper()
		if _, err := db.Write(ctx, admin, entity, id, caseID, schema.FieldsOf(fields)); err != nil {
			t.Fatalf("write %s: %v", entity, err)
		}
	}
	for _, v := range []struct{ id, started string }{{early, "2026-11-02T10:00:00Z"}, {late, "2026-11-10T10:00:00Z"}} {
		write("visit", v.id, schema.Visit{OfficerID: asha.ID, Type: "home_announced", Status: "signed", Outcome: "completed",
			Location: "home", FaceToFace: true, StartedAt: schema.Timestamp(v.started), SignedAt: "2026-11-20T10:00:00Z",
			SignedBy: admin.UserID})
	}
	q := FigureQuery{Measure: MeasureContacts, AsOf: "2026-11-23", From: "2026-11-01", To: "2026-11-30"}
	names := []string{"contacts", "domestic_abuse.contacts", "domestic_abuse.home_share.numerator"}
	check := func(what string, da string, want ...int) {
		t.Helper()
		if got := rmRow(t, db, `SELECT visit_id, da FROM rm_visits WHERE case_id = ? ORDER BY started_day`, caseID); !slices.Equal(got,
			[]string{early + "|" + da[:1], late + "|" + da[1:]}) {
			t.Errorf("%s: rm_visits da %q, want %s", what, got, da)
		}
		got, err := Figures{q: db.r}.Counts(ctx, admin, q, names)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !slices.Equal(got[0].N, want) {
			t.Errorf("%s: counts %+v, want one group of %v", what, got, want)
		}
	}
	check("no flag", "00", 2, 0, 0)
	write("flag", flag, schema.Flag{Type: "da_victim", StartDate: "2026-11-05"})
	check("a DA flag from between the visits", "01", 2, 1, 1)
	write("flag", flag, schema.Flag{Type: "da_victim", StartDate: "2026-11-01"})
	check("the flag dated before both", "11", 2, 2, 2)
	write("flag", flag, schema.Flag{Type: "da_victim", StartDate: "2026-11-01", EndedOn: "2026-11-10"})
	check("the flag ended on the later visit's day", "10", 2, 1, 1)
	write("flag", flag, schema.Flag{Type: "marac", StartDate: "2026-11-01"})
	check("no longer a DA flag", "00", 2, 0, 0)
	// A visit written after the flag is worked out with it.
	write("flag", flag, schema.Flag{Type: "da_perpetrator", StartDate: "2026-11-01"})
	third := schema.NewID()
	write("visit", third, schema.Visit{OfficerID: asha.ID, Type: "home_announced", Status: "signed", Outcome: "completed",
		Location: "home", FaceToFace: true, PartnerPresent: "no", ChildrenPresent: "no", StartedAt: "2026-11-15T10:00:00Z", SignedAt: "2026-11-20T10:00:00Z",
		SignedBy: admin.UserID})
	if got := rmRow(t, db, `SELECT da FROM rm_visits WHERE visit_id = ?`, third); !slices.Equal(got, []string{"1"}) {
		t.Errorf("a visit written after the flag: da %q, want 1", got)
	}
	// Measure 5's children of a visit follow the household: a child added
	// between the early and the later visits is expected at the later
	// ones only, and counted for a visit that names it.
	kid := schema.NewID()
	write("household_member", kid, schema.HouseholdMember{Name: "Kit", Relation: "own_child", Residence: "lives_here",
		AddedOn: "2026-11-05"})
	children := `SELECT visit_id, expected, accounted, reasons FROM rm_visits WHERE case_id = ? ORDER BY started_day`
	if got, want := rmRow(t, db, children, caseID), []string{early + "|0|0|0", late + "|1|0|0", third + "|1|0|0"}; !slices.Equal(got, want) {
		t.Errorf("a child added: %q, want %q", got, want)
	}
	write("amendment", "", schema.Amendment{VisitID: late, Reason: "the child was asleep", AmendedBy: admin.UserID,
		AmendedAt: "2026-11-21T09:00:00Z", Changes: raw("children",
			[]schema.VisitChild{{MemberID: kid, Present: "yes", Seen: "no", ReasonNotSeen: "asleep"}})})
	if got, want := rmRow(t, db, children, caseID), []string{early + "|0|0|0", late + "|1|1|1", third + "|1|0|0"}; !slices.Equal(got, want) {
		t.Errorf("a visit amended to name the child: %q, want %q", got, want)
	}
}

// TestFigureSetReads: measures 3 and 5's counts group the rows by the
// columns the figures asked for read, and no other (decision 0064): the
// previous period's headlines read the household's status, or the
// outcome and channel, alone.
func TestFigureSetReads(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s       figureSet
		figures []string
		want    []string
	}{
		{householdCaseSet, []string{"confirmed.numerator", "confirmed.denominator"}, []string{"household"}},
		{householdCaseSet, []string{"cases"}, nil},
		{householdCaseSet, householdCaseFigures, householdCaseSet.cols},
		{householdVisitSet, []string{"children_seen.numerator"}, []string{"expected", "accounted"}},
		{contactSet, []string{"home_share.numerator", "home_share.denominator"}, []string{"outcome", "channel"}},
		{contactSet, []string{"channels.elsewhere_by_place.cafe"}, []string{"outcome", "channel", "place"}},
		{contactSet, []string{"domestic_abuse.contacts"}, []string{"da"}},
		{contactSet, figureNames[MeasureContacts], contactSet.cols},
	} {
		if got := c.s.reads(c.figures); !slices.Equal(got, c.want) {
			t.Errorf("%s reads %v for %v; want %v", c.s.name, got, c.figures, c.want)
		}
	}
}

// TestContactsElsewhereReadWhole: measure 3's contacts elsewhere come
// back whole whatever their reasons hold (colons, digits, commas, line
// breaks, other scripts, a long text), on both stores:
// on PostgreSQL a snapshot reads them from one aggregated text
// (elsewhereText, decision 0102), and its answer is the rows read one by
// one; a contact of another team's officer carries his team.
func TestContactsElsewhereReadWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	reasons := []string{"12:34,5", "0:", "partner at home:\nchildren asleep", "Straße 5, 3:0 — ✓", strings.Repeat("long 9: ", 240), "9"}
	want := map[string]ElsewhereContact{}
	for i, reason := range reasons {
		officer, caseID := f.asha, f.ashaCase
		if i%2 == 1 {
			officer, caseID = f.carl, schema.NewID()
			if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(caseID, fmt.Sprintf("C%06d", i), f.carl)}); err != nil {
				t.Fatal(err)
			}
		}
		id := schema.NewID()
		place := []string{"cafe", "library", "other"}[i%3]
		if _, err := f.db.Write(ctx, f.admin, "visit", id, caseID, schema.FieldsOf(schema.Visit{OfficerID: officer.ID,
			Type: "other_place", Status: "signed", Outcome: []string{"completed", "no_answer"}[i%2], Location: "elsewhere",
			PlaceType: place, ElsewhereReason: reason, FaceToFace: true, StartedAt: schema.Timestamp(fmt.Sprintf("2026-11-%02dT10:00:00Z", i+1)),
			SignedAt: "2026-11-10T10:00:00Z", SignedBy: f.admin.UserID})); err != nil {
			t.Fatal(err)
		}
		want[id] = ElsewhereContact{VisitID: id, CaseID: caseID, TeamID: officer.TeamID, OfficerID: officer.ID, Place: place, Reason: reason}
	}
	fq := FigureQuery{Measure: MeasureContacts, AsOf: "2026-11-23", From: "2026-10-01", To: "2026-11-23"}
	err := f.db.ReadFigures(ctx, func(fs Figures) error {
		got, err := fs.ContactsElsewhere(ctx, f.admin, fq)
		if err != nil {
			return err
		}
		sorted := slices.IsSortedFunc(got, func(a, b ElsewhereContact) int { return strings.Compare(a.VisitID, b.VisitID) })
		if len(got) != len(want) || !sorted {
			t.Errorf("%d contacts elsewhere (sorted: %v); want %d in visit id order", len(got), sorted, len(want))
		}
		for _, e := range got {
			if e != want[e.VisitID] {
				t.Errorf("read %+v; want %+v", e, want[e.VisitID])
			}
		}
		rows := fs
		rows.pg = false // one row at a time, as SQLite reads them
		byRow, err := rows.ContactsElsewhere(ctx, f.admin, fq)
		if err != nil {
			return err
		}
		if !slices.Equal(got, byRow) {
			t.Errorf("read on a snapshot (pg %v):\n%+v\nrow by row:\n%+v", fs.pg, got, byRow)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestContactsElsewhereCasesAreListed: on PostgreSQL, for the whole
// service, measure 3's contacts elsewhere take their team's and officer's
// numbers from the case list CountsListing kept (decision 0111), and the
// answer is the one joined to rm_cases; for every scope and filter, on
// both stores, each contact elsewhere is of a case of the report's case
// list (Cases of "contacts" after CountsListing, as measure 3's report
// reads them), and of a team and officer of one of CountsListing's groups.
func TestContactsElsewhereCasesAreListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	carlCase := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000900", f.carl)}); err != nil {
		t.Fatal(err)
	}
	for i, v := range []struct {
		officer  schema.User
		caseID   string
		location string
	}{{f.asha, f.ashaCase, "elsewhere"}, {f.ben, f.benCase, "elsewhere"}, {f.carl, carlCase, "elsewhere"},
		{f.ben, f.benCase, "home"}, {f.asha, f.ashaCase, "elsewhere"}} {
		typ, place := "other_place", "cafe"
		if v.location == "home" {
			typ, place = "home_announced", ""
		}
		if _, err := f.db.Write(ctx, f.admin, "visit", schema.NewID(), v.caseID, schema.FieldsOf(schema.Visit{OfficerID: v.officer.ID,
			Type: typ, Status: "signed", Outcome: []string{"completed", "no_answer"}[i%2], Location: v.location,
			PlaceType: place, ElsewhereReason: "met at " + place, FaceToFace: true,
			StartedAt: schema.Timestamp(fmt.Sprintf("2026-11-%02dT10:00:00Z", i+1)),
			SignedAt:  "2026-11-10T10:00:00Z", SignedBy: f.admin.UserID})); err != nil {
			t.Fatal(err)
		}
	}
	names := FigureNames(MeasureContacts)
	for _, c := range []struct {
		name  string
		actor Actor
		team  string
		off   string
		want  int
	}{
		{"admin", f.admin, "", "", 4},
		{"admin team A", f.admin, f.teamA.ID, "", 3},
		{"admin carl", f.admin, "", f.carl.ID, 1},
		{"supervisor", Actor{UserID: f.sue.ID, Role: f.sue.Role, TeamID: f.sue.TeamID}, "", "", 3},
		{"officer", Actor{UserID: f.asha.ID, Role: f.asha.Role, TeamID: f.asha.TeamID}, "", "", 2},
	} {
		fq := FigureQuery{Measure: MeasureContacts, AsOf: "2026-11-23", From: "2026-10-01", To: "2026-11-23",
			TeamID: c.team, OfficerID: c.off}
		err := f.db.ReadFigures(ctx, func(fs Figures) error {
			groups, err := fs.CountsListing(ctx, c.actor, fq, names)
			if err != nil {
				return err
			}
			q := fq
			q.Figure = "contacts"
			cases, err := fs.Cases(ctx, c.actor, q, "", 1<<30)
			if err != nil {
				return err
			}
			elsewhere, err := fs.ContactsElsewhere(ctx, c.actor, fq)
			if err != nil {
				return err
			}
			if len(elsewhere) != c.want {
				t.Errorf("%s: %d contacts elsewhere; want %d", c.name, len(elsewhere), c.want)
			}
			// On PostgreSQL, for the whole service, the list's numbers
			// are shared (casesNumbered): the answer is the joined one.
			shared := fs.casesNumbered(c.actor, fq) != nil
			if want := fs.pg && c.name == "admin"; shared != want {
				t.Errorf("%s: shared %v; want %v", c.name, shared, want)
			}
			joined := fs
			joined.setCases = nil
			byJoin, err := joined.ContactsElsewhere(ctx, c.actor, fq)
			if err != nil {
				return err
			}
			if !slices.Equal(elsewhere, byJoin) {
				t.Errorf("%s: read (shared %v):\n%+v\njoined:\n%+v", c.name, shared, elsewhere, byJoin)
			}
			for _, e := range elsewhere {
				if !slices.Contains(cases, e.CaseID) {
					t.Errorf("%s: contact %s's case %s is not in the case list %v", c.name, e.VisitID, e.CaseID, cases)
				}
				if !slices.ContainsFunc(groups, func(g FigureCounts) bool { return g.TeamID == e.TeamID && g.OfficerID == e.OfficerID }) {
					t.Errorf("%s: contact %s's team %s and officer %s are no group of the counts", c.name, e.VisitID, e.TeamID, e.OfficerID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}

// TestAggTextRefusesMalformed: the aggregated rows' reader reads fields
// back and refuses a malformed text with an error, never a panic.
func TestAggTextRefusesMalformed(t *testing.T) {
	r := aggText{s: "3:a:b12,0,0:"}
	if a, n, m, e := r.text(), r.number(), r.number(), r.text(); a != "a:b" || n != 12 || m != 0 || e != "" || r.err != nil || r.s != "" {
		t.Errorf("read %q %d %d %q (%v), rest %q", a, n, m, e, r.err, r.s)
	}
	for _, s := range []string{"4:abc", "x:abc", "-1:", "3", "3:abc", ":", "99999999999999999999:a"} {
		r := aggText{s: s}
		r.text()
		r.number()
		if r.err == nil {
			t.Errorf("%q: read without an error", s)
		}
	}
	r = aggText{s: "abcdecafe,12,3:x,y"}
	if a, b, p, n, e := r.fixed(3), r.fixed(2), r.until(','), r.number(), r.text(); a != "abc" || b != "de" || p != "cafe" || n != 12 ||
		e != "x,y" || r.err != nil || r.s != "" {
		t.Errorf("read %q %q %q %d %q (%v), rest %q", a, b, p, n, e, r.err, r.s)
	}
	for _, s := range []string{"abcde", "abcdecafe"} {
		r := aggText{s: s}
		r.fixed(3)
		r.fixed(3)
		r.until(',')
		if r.err == nil {
			t.Errorf("%q: read fixed without an error", s)
		}
	}
}

// TestIDOrderIsByteOrder: the keyed sorts of ids (sortIDs, byVisitID,
// decision 0105) put ids in the order slices.Sort puts them, byte order,
// whether they are UUIDs as NewID writes them (compared by their keys),
// other UUIDs, or any id at all among them (compared by their bytes),
// with ids repeated, and already sorted.
func TestIDOrderIsByteOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	v7 := func() string { return schema.NewID() }
	v4 := func() string { return uuid.NewString() }
	// UUIDs that differ in one digit, '9' against 'a', and 'f' against
	// '0' a digit earlier: the digits' byte order is their values'.
	near := func() string {
		b := []byte(schema.NewID())
		i := rnd.IntN(36)
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		b[i] = "09af"[rnd.IntN(4)]
		return string(b)
	}
	// UUIDs sharing their first 16 digits (a key's hi), a few of them
	// sharing all but the last.
	oneHi := func() string {
		tail := fmt.Sprintf("%04x-%012x", rnd.IntN(1<<16), rnd.Uint64N(4)<<44|rnd.Uint64N(1<<40))
		return "0193965d-a5e0-78ee-" + tail
	}
	odd := []string{"", "x", strings.ToUpper(schema.NewID()), strings.Replace(schema.NewID(), "-", "_", 1),
		"0193965d-a5e0-78ee-9f36-69d4d3dfc0dg", schema.NewID() + "0", "0193965d-a5e0-78ee-9f36-69d4d3dfc0d"}
	for _, tc := range []struct {
		name string
		ids  func(n int) []string
	}{
		{"v7", func(n int) []string { return gen(n, v7) }},
		{"v4", func(n int) []string { return gen(n, v4) }},
		{"one digit apart", func(n int) []string { return gen(n, near) }},
		{"one hi", func(n int) []string { return gen(n, oneHi) }},
		{"repeated", func(n int) []string {
			ids := gen(n/2+1, v4)
			return append(ids, ids[:n/2]...)
		}},
		{"sorted", func(n int) []string { return slices.Sorted(slices.Values(gen(n, v7))) }},
		{"any id among them", func(n int) []string { return append(gen(n, v4), odd...) }},
	} {
		for _, n := range []int{0, 1, 2, 17, 1000, 5000} {
			ids := tc.ids(n)
			rnd.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			want := slices.Sorted(slices.Values(ids))
			if got := sortIDs(slices.Clone(ids)); !slices.Equal(got, want) {
				t.Errorf("%s, %d: sortIDs gave %q; want %q", tc.name, n, got, want)
			}
			var rows []ElsewhereContact
			for i, id := range ids {
				rows = append(rows, ElsewhereContact{VisitID: id, CaseID: fmt.Sprint(i), Reason: id + "?"})
			}
			wantRows := slices.Clone(rows)
			slices.SortStableFunc(wantRows, func(a, b ElsewhereContact) int { return strings.Compare(a.VisitID, b.VisitID) })
			if got := byVisitID(rows); !slices.Equal(got, wantRows) {
				t.Errorf("%s, %d: byVisitID gave %+v; want %+v", tc.name, n, got, wantRows)
			}
		}
	}
	for _, id := range odd {
		if _, _, ok := uuidKey(id); ok {
			t.Errorf("uuidKey(%q) keyed; want it compared by its bytes", id)
		}
	}
}

// gen is n ids of id.
func gen(n int, id func() string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = id()
	}
	return out
}

// TestListedNumbersByKey: the numbered case list (contactCases' entries,
// case_id:team_no:officer_no) gives each listed case its numbers and no
// other id any, whether the ids are as NewID writes them (kept by their
// keys, decision 0113) or any one of them is not (kept by the id); an
// entry not of that form gives no list at all.
func TestListedNumbersByKey(t *testing.T) {
	uuids := []string{schema.NewID(), schema.NewID(), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}
	for _, c := range []struct {
		name  string
		ids   []string
		keyed bool
	}{
		{"uuids", uuids, true},
		{"one other", append(slices.Clone(uuids), "case-7"), false},
		{"upper case", append(slices.Clone(uuids), strings.ToUpper(uuids[0])), false},
	} {
		var list []string
		for i, id := range c.ids {
			list = append(list, fmt.Sprintf("%s:%d:%d", id, 10+i, 100+i))
		}
		nos := numberCases(list)
		if nos == nil || (nos.byKey != nil) != c.keyed {
			t.Fatalf("%s: %+v; want keyed %v", c.name, nos, c.keyed)
		}
		for i, id := range c.ids {
			if got, ok := nos.of(id); !ok || got != [2]int64{int64(10 + i), int64(100 + i)} {
				t.Errorf("%s: %s's numbers %v %v; want %d %d", c.name, id, got, ok, 10+i, 100+i)
			}
		}
		for _, id := range []string{schema.NewID(), "case-8", strings.ToUpper(uuids[1]), uuids[2][:35], ""} {
			if got, ok := nos.of(id); ok && !slices.Contains(c.ids, id) {
				t.Errorf("%s: %q, not listed, has the numbers %v", c.name, id, got)
			}
		}
	}
	for _, bad := range []string{"a", "a:1", "a:x:2", "a:1:"} {
		if nos := numberCases([]string{uuids[0] + ":1:2", bad}); nos != nil {
			t.Errorf("%q: read as %+v; want nil", bad, nos)
		}
	}
}

// TestContactsElsewhereFixedWidth: on PostgreSQL measure 3's contacts
// elsewhere are read from the text with the ids at their width and no
// lengths but the reason's (decision 0118), and that reading is the one
// with every field's length, for the whole service with the case list's
// numbers and without; an id of another width, or a place with a comma,
// makes the statement say so, and ContactsElsewhere then reads the rows
// with their lengths: its answer is still the rows read one by one.
func TestContactsElsewhereFixedWidth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if f.db.Engine() != "postgres" {
		t.Skip("the aggregated text is PostgreSQL's")
	}
	reasons := []string{"12:34,5", "0:", "partner at home:\nchildren asleep", "Straße 5, 3:0 — ✓", "9"}
	var first string
	for i, reason := range reasons {
		officer, caseID := f.asha, f.ashaCase
		if i%2 == 1 {
			officer, caseID = f.ben, f.benCase
		}
		id := schema.NewID()
		if i == 0 {
			first = id
		}
		if _, err := f.db.Write(ctx, f.admin, "visit", id, caseID, schema.FieldsOf(schema.Visit{OfficerID: officer.ID,
			Type: "other_place", Status: "signed", Outcome: []string{"completed", "no_answer"}[i%2], Location: "elsewhere",
			PlaceType: []string{"cafe", "library", "other"}[i%3], ElsewhereReason: reason, FaceToFace: true,
			StartedAt: schema.Timestamp(fmt.Sprintf("2026-11-%02dT10:00:00Z", i+1)),
			SignedAt:  "2026-11-10T10:00:00Z", SignedBy: f.admin.UserID})); err != nil {
			t.Fatal(err)
		}
	}
	fq := FigureQuery{Measure: MeasureContacts, AsOf: "2026-11-23", From: "2026-10-01", To: "2026-11-23"}
	// read is ContactsElsewhere on a snapshot: with the case list's
	// numbers (after CountsListing, as the report reads it) or joined,
	// and the rows as read fixed and with their lengths (readsFixed:
	// whether the fixed reading answered).
	read := func(listed bool) (got, fixed, lengths, byRow []ElsewhereContact, readsFixed bool) {
		t.Helper()
		err := f.db.ReadFigures(ctx, func(fs Figures) error {
			if listed {
				if _, err := fs.CountsListing(ctx, f.admin, fq, FigureNames(MeasureContacts)); err != nil {
					return err
				}
			}
			var err error
			if got, err = fs.ContactsElsewhere(ctx, f.admin, fq); err != nil {
				return err
			}
			ids, err := fs.idsByNo(ctx)
			if err != nil {
				return err
			}
			byCase := fs.casesNumbered(f.admin, fq)
			if listed != (byCase != nil) {
				t.Errorf("listed %v: the case list's numbers kept: %v", listed, byCase != nil)
			}
			for _, w := range []bool{true, false} {
				q, err := contactsElsewhere(f.admin, fq, true, byCase != nil, w)
				if err != nil {
					return err
				}
				out, ok, err := elsewhereRead(ctx, fs.q, q, w, ids, byCase)
				if err != nil {
					return err
				}
				if w {
					fixed, readsFixed = byVisitID(out), ok
				} else if !ok {
					t.Errorf("listed %v: the lengths' statement says it cannot be read", listed)
				} else {
					lengths = byVisitID(out)
				}
			}
			rows := fs
			rows.pg = false // one row at a time, as SQLite reads them
			byRow, err = rows.ContactsElsewhere(ctx, f.admin, fq)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, fixed, lengths, byRow, readsFixed
	}
	for _, listed := range []bool{false, true} {
		got, fixed, lengths, byRow, readsFixed := read(listed)
		if !readsFixed || len(got) != len(reasons) || !slices.Equal(fixed, lengths) || !slices.Equal(got, byRow) {
			t.Errorf("listed %v: fixed (answered %v):\n%+v\nwith lengths:\n%+v\nanswer:\n%+v\nrow by row:\n%+v",
				listed, readsFixed, fixed, lengths, got, byRow)
		}
	}
	for _, c := range []struct{ name, set string }{
		{"an id of another width", `UPDATE rm_visits SET visit_id = 'visit-' || visit_id WHERE visit_id = $1`},
		{"a place with a comma", `UPDATE rm_visits SET visit_id = $1, place = 'cafe, upstairs' WHERE visit_id = 'visit-' || $1`},
	} {
		if _, err := f.db.w.Exec(c.set, first); err != nil {
			t.Fatal(err)
		}
		for _, listed := range []bool{false, true} {
			got, _, lengths, byRow, readsFixed := read(listed)
			if readsFixed || len(got) != len(reasons) || !slices.Equal(got, lengths) || !slices.Equal(got, byRow) {
				t.Errorf("%s, listed %v: fixed answered %v; answer:\n%+v\nwith lengths:\n%+v\nrow by row:\n%+v",
					c.name, listed, readsFixed, got, lengths, byRow)
			}
		}
	}
}
