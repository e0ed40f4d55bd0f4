package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// contactTotalsOracle is rm_contact_totals by its definition (migration
// 0023): the signed contacts of rm_visits grouped by their day, their
// case's team and officer numbers now, outcome, channel, place and da;
// and the same by month.
const contactTotalsOracle = `SELECT d, team_no, officer_no, outcome, channel, place, da, count(*) FROM (
	SELECT v.started_day AS d, c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da
	FROM rm_visits v, rm_cases c WHERE c.case_id = v.case_id AND v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> ''
	UNION ALL SELECT substr(v.started_day, 1, 7), c.team_no, c.officer_no, v.outcome, v.channel, v.place, v.da
	FROM rm_visits v, rm_cases c WHERE c.case_id = v.case_id AND v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> '')
	x GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7`

// contactTotalsKept is rm_contact_totals as written, in the oracle's
// order.
const contactTotalsKept = `SELECT started_day, team_no, officer_no, outcome, channel, place, da, n FROM rm_contact_totals
	ORDER BY 1, 2, 3, 4, 5, 6, 7`

// contactDaysOracle is each case's first and last contact days by their
// definition (migration 0028): the least and the greatest started_day of
// its signed contacts in rm_visits, the empty text when it has none.
const contactDaysOracle = `SELECT c.case_id, COALESCE(min(v.started_day), ''), COALESCE(max(v.started_day), '')
	FROM rm_cases c LEFT JOIN rm_visits v ON v.case_id = c.case_id AND v.status = 'signed' AND v.signed_at <> '' AND v.started_day <> ''
	GROUP BY c.case_id ORDER BY 1`

// contactDaysKept is each case's first and last contact days as written,
// in the oracle's order.
const contactDaysKept = `SELECT case_id, first_contact_day, last_contact_day FROM rm_cases ORDER BY 1`

// checkContactTotals wants rm_contact_totals to be the oracle's count of
// the read model's rows, and each case's first and last contact days to
// be its contacts' (decision 0129).
func checkContactTotals(t *testing.T, db *DB, what string) {
	t.Helper()
	want, got := rmRow(t, db, contactTotalsOracle), rmRow(t, db, contactTotalsKept)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: rm_contact_totals\n%q\nwant (counted from rm_visits)\n%q", what, got, want)
	}
	want, got = rmRow(t, db, contactDaysOracle), rmRow(t, db, contactDaysKept)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: rm_cases' first and last contact days\n%q\nwant (from rm_visits)\n%q", what, got, want)
	}
}

// writeAsAdmin writes a record of caseID as f's admin: fields are a
// field map or a value schema.FieldsOf makes one of.
func writeAsAdmin(t *testing.T, f *fixture, entity, id, caseID string, fields any) {
	t.Helper()
	m, ok := fields.(map[string]json.RawMessage)
	if !ok {
		m = schema.FieldsOf(fields)
	}
	if _, err := f.db.Write(context.Background(), f.admin, entity, id, caseID, m); err != nil {
		t.Fatalf("write %s: %v", entity, err)
	}
}

// TestContactTotalsMoveWithTheRows: measure 3's totals kept on write
// (decision 0097) move as the rows they count move: a draft counts
// nowhere, a signed contact counts on its day, an amendment moves it
// between channels, a reallocation moves the case's contacts to the new
// team's and officer's numbers, a DA flag moves them into and out of the
// DA view, and a rebuild of the read model counts them again whole.
func TestContactTotalsMoveWithTheRows(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	db, ctx := f.db, context.Background()
	write := func(entity, id, caseID string, fields any) {
		t.Helper()
		writeAsAdmin(t, f, entity, id, caseID, fields)
	}
	// totals is the kept totals of a case's officer and team as of now,
	// as "day channel da n" rows.
	totals := func(officer schema.User) []string {
		return rmRow(t, db, `SELECT t.started_day, t.channel, t.da, t.n FROM rm_contact_totals t
			WHERE length(t.started_day) = 10 AND t.officer_no = (SELECT no FROM rm_ids WHERE id = ?) AND t.team_no = (SELECT no FROM rm_ids WHERE id = ?)
			ORDER BY 1, 2, 3`, officer.ID, officer.TeamID)
	}
	want := func(what string, officer schema.User, rows ...string) {
		t.Helper()
		checkContactTotals(t, db, what)
		if got := totals(officer); !slices.Equal(got, rows) {
			t.Errorf("%s: %s's totals %q, want %q", what, officer.Username, got, rows)
		}
	}
	visit := func(day, typ, status string) schema.Visit {
		v := schema.Visit{OfficerID: f.asha.ID, Type: typ, Status: status, Outcome: "completed", FaceToFace: typ != "phone",
			StartedAt: schema.Timestamp(day + "T10:00:00Z")}
		if typ == "home_announced" {
			v.Location = "home"
		}
		if status == "signed" {
			v.SignedAt, v.SignedBy = schema.Timestamp(day+"T12:00:00Z"), f.admin.UserID
		}
		return v
	}
	phone, home, other := schema.NewID(), schema.NewID(), schema.NewID()
	write("visit", phone, f.ashaCase, visit("2026-11-02", "phone", "draft"))
	want("a draft", f.asha)
	write("visit", phone, f.ashaCase, visit("2026-11-02", "phone", "signed"))
	write("visit", home, f.ashaCase, visit("2026-11-12", "home_announced", "signed"))
	write("visit", other, f.benCase, visit("2026-11-12", "home_announced", "signed"))
	want("signed", f.asha, "2026-11-02|phone|0|1", "2026-11-12|face_to_face_home|0|1")
	want("signed", f.ben, "2026-11-12|face_to_face_home|0|1")

	write("amendment", "", f.ashaCase, schema.Amendment{VisitID: phone, Reason: "it was at home", AmendedBy: f.admin.UserID,
		AmendedAt: "2026-11-20T09:00:00Z", Changes: raw("type", "home_announced", "location", "home", "face_to_face", true)})
	want("amended from phone to home", f.asha, "2026-11-02|face_to_face_home|0|1", "2026-11-12|face_to_face_home|0|1")

	flag := schema.NewID()
	write("flag", flag, f.ashaCase, schema.Flag{Type: "da_victim", StartDate: "2026-11-10"})
	want("a DA flag from the 10th", f.asha, "2026-11-02|face_to_face_home|0|1", "2026-11-12|face_to_face_home|1|1")
	write("flag", flag, f.ashaCase, schema.Flag{Type: "da_victim", StartDate: "2026-11-01", EndedOn: "2026-11-05"})
	want("the DA flag moved to the 1st and ended on the 5th", f.asha,
		"2026-11-02|face_to_face_home|1|1", "2026-11-12|face_to_face_home|0|1")

	// Reallocated to Carl of team B: both contacts leave Asha's (and team
	// A's) totals and join Carl's.
	moved := caseRecord(f.ashaCase, "A000001", f.carl)
	write("case", f.ashaCase, f.ashaCase, moved.Fields)
	want("reallocated to team B", f.asha)
	want("reallocated to team B", f.carl, "2026-11-02|face_to_face_home|1|1", "2026-11-12|face_to_face_home|0|1")
	want("reallocated to team B", f.ben, "2026-11-12|face_to_face_home|0|1")

	// A rebuild (other rules) counts the table again whole: a wrong row
	// left in it goes.
	if _, err := db.w.Exec(`UPDATE rm_contact_totals SET n = n + 5`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`UPDATE rm_cases SET first_contact_day = '2020-01-01', last_contact_day = ''`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.Exec(`UPDATE read_model_state SET policy_tag = 'other' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if built, err := db.buildReadModel(ctx); err != nil || !built {
		t.Fatalf("rebuild: %v, %v", built, err)
	}
	want("rebuilt", f.carl, "2026-11-02|face_to_face_home|1|1", "2026-11-12|face_to_face_home|0|1")
}

// TestContactTotalsAfterRandomWrites: after every write of a random
// sequence (new cases seeded, drafts, signed contacts of every channel and
// outcome, drafts signed, amendments of a signed contact's type, place,
// outcome and day, reallocations, DA flags started, moved and ended, and
// records that count nothing), rm_contact_totals is the count of the read
// model's rows, on either store.
func TestContactTotalsAfterRandomWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	db, ctx := f.db, context.Background()
	rnd := rand.New(rand.NewPCG(97, 23))
	officers := []schema.User{f.asha, f.ben, f.carl}
	cases := []string{f.ashaCase, f.benCase}
	crns := map[string]string{f.ashaCase: "A000001", f.benCase: "B000002"}
	type draft struct{ id, caseID, day string }
	var drafts []draft
	var signed []draft
	flags := map[string]string{}
	day := func() string { return fmt.Sprintf("2026-%02d-%02d", 9+rnd.IntN(3), 1+rnd.IntN(28)) }
	types := []string{"home_announced", "home_unannounced", "doorstep", "phone", "video", "office", "other_place"}
	places := []string{"", "cafe", "library", "community_venue", "other"}
	outcomes := []string{"completed", "completed", "no_answer", "refused_entry", "not_present", "abandoned_safety"}
	visitOf := func(d, status string) schema.Visit {
		typ := types[rnd.IntN(len(types))]
		v := schema.Visit{OfficerID: f.asha.ID, Type: typ, Status: status, Outcome: outcomes[rnd.IntN(len(outcomes))],
			FaceToFace: typ != "phone" && typ != "video", StartedAt: schema.Timestamp(d + "T10:00:00+01:00")}
		switch typ {
		case "home_announced", "home_unannounced":
			v.Location = []string{"home", "doorstep"}[rnd.IntN(2)]
		case "other_place":
			v.Location, v.PlaceType, v.ElsewhereReason = "elsewhere", places[1+rnd.IntN(len(places)-1)], "asked to"
		}
		if status == "signed" {
			v.SignedAt, v.SignedBy = schema.Timestamp(d+"T18:00:00Z"), f.admin.UserID
		}
		return v
	}
	write := func(entity, id, caseID string, fields any) {
		t.Helper()
		writeAsAdmin(t, f, entity, id, caseID, fields)
	}
	amended := 0
	for step := range 150 {
		c := cases[rnd.IntN(len(cases))]
		var what string
		switch k := rnd.IntN(9); {
		case k == 0:
			id := schema.NewID()
			crns[id] = fmt.Sprintf("R%06d", step)
			recs := []schema.Record{caseRecord(id, crns[id], officers[rnd.IntN(len(officers))])}
			for range rnd.IntN(4) {
				v := visitOf(day(), "signed")
				recs = append(recs, schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(v)})
			}
			if err := db.Seed(ctx, f.admin, recs); err != nil {
				t.Fatal(err)
			}
			cases = append(cases, id)
			what = "a case seeded with signed visits"
		case k == 1 || k == 3: // a new draft, or a new signed contact
			d, status, into := draft{schema.NewID(), c, day()}, "draft", &drafts
			if k == 3 {
				status, into = "signed", &signed
			}
			write("visit", d.id, c, visitOf(d.day, status))
			*into = append(*into, d)
			what = "a new visit, " + status
		case k == 2 && len(drafts) > 0:
			i := rnd.IntN(len(drafts))
			d := drafts[i]
			drafts = slices.Delete(drafts, i, i+1)
			write("visit", d.id, d.caseID, visitOf(d.day, "signed"))
			signed = append(signed, d)
			what = "a draft signed"
		case k == 4 && len(signed) > 0:
			d := signed[rnd.IntN(len(signed))]
			v := visitOf(day(), "signed")
			amended++
			write("amendment", "", d.caseID, schema.Amendment{VisitID: d.id, Reason: "corrected", AmendedBy: f.admin.UserID,
				AmendedAt: schema.Timestamp(fmt.Sprintf("2026-11-20T09:%02d:%02dZ", amended/60, amended%60)),
				Changes: raw("type", v.Type, "location", v.Location, "place_type", v.PlaceType, "outcome", v.Outcome,
					"face_to_face", v.FaceToFace, "started_at", v.StartedAt)})
			what = "an amendment"
		case k == 5:
			o := officers[rnd.IntN(len(officers))]
			rec := caseRecord(c, crns[c], o)
			write("case", c, c, rec.Fields)
			what = "reallocated to " + o.Username
		case k == 6:
			id, ok := flags[c]
			if !ok {
				id = schema.NewID()
				flags[c] = id
			}
			fl := schema.Flag{Type: []string{"da_victim", "da_perpetrator"}[rnd.IntN(2)], StartDate: schema.Date(day())}
			if rnd.IntN(2) == 0 {
				fl.EndedOn = schema.Date(day())
			}
			write("flag", id, c, fl)
			what = "a DA flag"
		case k == 7:
			write("household_member", schema.NewID(), c, schema.HouseholdMember{Name: "Lee", Relation: "partner",
				Residence: "lives_here"})
			what = "a household member"
		default:
			write("flag", schema.NewID(), c, schema.Flag{Type: "marac", StartDate: schema.Date(day())})
			what = "a flag of another type"
		}
		checkContactTotals(t, db, fmt.Sprintf("step %d, %s", step, what))
	}
	if n := rmRow(t, db, `SELECT CASE WHEN count(*) >= 20 AND min(n) > 0 THEN 'many' ELSE 'few' END FROM rm_contact_totals`); !slices.Equal(n, []string{"many"}) || len(signed) < 10 {
		t.Errorf("after the sequence rm_contact_totals holds %q rows, %d contacts signed: tested little", n, len(signed))
	}
	if zero := rmRow(t, db, `SELECT count(*) FROM rm_contact_totals WHERE n <= 0`); !slices.Equal(zero, []string{"0"}) {
		t.Errorf("rows of no contact left in rm_contact_totals: %q", zero)
	}
}

// TestContactCountsSummedAsTheRows: for a whole-service scope measure
// 3's counts (Counts, CountsListing) and totals (Totals) read
// rm_contact_totals (decision 0097), and give every figure's groups as
// its rows counted alone (figureGroups) and its total as their sum, over
// periods of whole months, of parts of months, within one month, of one
// day, across a year's end, as of a day within and before the period,
// for an admin and an auditor, with an officer or a team filter, a
// month read as its row less its days outside the period; no group
// counted with no contacts; a supervisor's and an officer's scope read
// the rows.
func TestContactCountsSummedAsTheRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, users := readModelStore(t)
	var officer, team string
	for _, u := range users {
		if u.Role == schema.RoleOfficer {
			officer, team = u.ID, u.TeamID
			break
		}
	}
	names := FigureNames(MeasureContacts)
	periods := [][3]schema.Date{ // from, to, as_of
		{"2026-08-25", "2026-11-23", "2026-11-23"},
		{"2026-05-26", "2026-08-24", "2026-08-24"},
		{"2026-09-01", "2026-10-31", "2026-11-23"},
		{"2026-09-01", "2026-10-31", "2026-10-15"},
		{"2026-10-03", "2026-10-17", "2026-11-23"},
		{"2026-10-31", "2026-10-31", "2026-10-31"},
		{"2025-12-15", "2026-11-23", "2026-11-23"},
		{"2026-01-01", "2026-12-31", "2026-06-30"},
		{"2026-10-01", "2026-10-31", "2026-09-30"},
		{"2026-11-24", "2026-11-23", "2026-11-23"},
		// A month's row less its days outside the period (decision
		// 0105): the days after the end, before the start, both.
		{"2026-10-01", "2026-10-20", "2026-10-20"},
		{"2026-10-12", "2026-11-23", "2026-11-23"},
		{"2026-09-02", "2026-09-30", "2026-11-23"},
		{"2026-10-04", "2026-10-29", "2026-11-23"},
	}
	summed, nonzero := 0, 0
	for _, p := range periods {
		for _, a := range []Actor{{UserID: "admin", Role: schema.RoleAdmin}, {UserID: "auditor", Role: schema.RoleAuditor},
			readModelActors(users)[1]} {
			for _, filter := range [][2]string{{"", ""}, {officer, ""}, {"", team}} {
				q := FigureQuery{Measure: MeasureContacts, From: p[0], To: p[1], AsOf: p[2], OfficerID: filter[0], TeamID: filter[1]}
				label := fmt.Sprintf("%v for %s, officer %q team %q", p, a.Role, filter[0], filter[1])
				var text []string
				fs := Figures{q: recordingQuerier{db.r, &text}}
				got, err := fs.Counts(ctx, a, q, names)
				if err != nil {
					t.Fatal(err)
				}
				totals, err := fs.Totals(ctx, a, q, names)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range got {
					if !slices.ContainsFunc(g.N, func(n int) bool { return n != 0 }) {
						t.Errorf("%s: %s/%s counted with no contacts", label, g.TeamID, g.OfficerID)
					}
				}
				read := strings.Contains(strings.Join(text, " "), "rm_contact_totals")
				if whole := a.Role != schema.RoleSupervisor; read != whole {
					t.Errorf("%s: read rm_contact_totals %v, want %v", label, read, whole)
				}
				if read {
					summed++
				}
				nonzero += countsAreTheRows(t, label, db.r, a, q, names, got, totals)
			}
		}
	}
	if summed < 40 || nonzero < 500 {
		t.Errorf("%d answers summed, %d figures above zero: the test tests little", summed, nonzero)
	}
}

// countsAreTheRows checks got, the counts of the figures names for a and
// q (and totals, their totals, when not nil), against each figure's rows
// counted alone (figureGroups) on r; it answers how many figures had
// rows.
func countsAreTheRows(t *testing.T, label string, r querier, a Actor, q FigureQuery, names []string, got []FigureCounts, totals []int) (nonzero int) {
	t.Helper()
	for i, name := range names {
		q.Figure = name
		groups, err := figureGroups(context.Background(), r, a, q)
		if err != nil {
			t.Fatal(err)
		}
		var want, have []string
		sum := 0
		for _, g := range groups {
			want = append(want, fmt.Sprintf("%s/%s:%d", g.TeamID, g.OfficerID, g.Rows))
			sum += g.Rows
		}
		for _, g := range got {
			if g.N[i] > 0 {
				have = append(have, fmt.Sprintf("%s/%s:%d", g.TeamID, g.OfficerID, g.N[i]))
			}
		}
		if !slices.Equal(have, want) {
			t.Errorf("%s: %s counted %v, its rows %v", label, name, have, want)
		}
		if totals != nil && totals[i] != sum {
			t.Errorf("%s: %s total %d, its rows %d", label, name, totals[i], sum)
		}
		if sum > 0 {
			nonzero++
		}
	}
	return nonzero
}

// TestContactCountsSummedByTheProcess: on a PostgreSQL snapshot measure
// 3's whole-service counts are read as the rows of rm_contact_totals
// grouped by the columns the figures read, each group's rows one text
// of team and officer numbers, summed by the process (decision 0141),
// and they are each figure's rows counted alone, with and without the
// case list, for periods whose months are read whole, as days, and as a
// month's row less its days outside the period (an officer whose
// contacts that month all lie outside it is no group); the case list is
// figureCases'. It fails where PostgreSQL sums the figures (sum(CASE …)).
func TestContactCountsSummedByTheProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if f.db.Engine() != "postgres" {
		t.Skip("the process sums PostgreSQL's rows; SQLite's are summed by its statement (TestContactCountsSummedAsTheRows)")
	}
	carlCase := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000078", f.carl)}); err != nil {
		t.Fatal(err)
	}
	visits := []struct {
		officer         schema.User
		caseID, started string
		outcome, where  string
	}{
		{f.asha, f.ashaCase, "2026-10-05", "completed", "home"}, {f.asha, f.ashaCase, "2026-10-06", "no_answer", "home"},
		{f.asha, f.ashaCase, "2026-09-30", "completed", "elsewhere"}, {f.ben, f.benCase, "2026-10-02", "completed", "elsewhere"},
		{f.ben, f.benCase, "2026-11-20", "refused_entry", "home"}, {f.ben, f.benCase, "2026-08-27", "completed", "home"},
		{f.carl, carlCase, "2026-10-25", "completed", "home"}, {f.carl, carlCase, "2026-11-02", "no_answer", "elsewhere"},
	}
	for _, v := range visits {
		visit := schema.Visit{OfficerID: v.officer.ID, Type: "home_announced", Status: "signed", Outcome: v.outcome,
			Location: v.where, FaceToFace: true, StartedAt: schema.Timestamp(v.started + "T10:00:00Z"),
			SignedAt: "2026-11-21T10:00:00Z", SignedBy: f.admin.UserID}
		if v.where == "elsewhere" {
			visit.Type, visit.PlaceType, visit.ElsewhereReason = "other_place", "cafe", "asked to meet away from home"
		}
		writeAsAdmin(t, f, "visit", schema.NewID(), v.caseID, visit)
	}
	names := FigureNames(MeasureContacts)
	nonzero := 0
	for _, p := range [][3]schema.Date{ // from, to, as_of
		{"2026-08-25", "2026-11-23", "2026-11-23"},
		{"2026-10-01", "2026-10-20", "2026-11-23"},
		{"2026-10-01", "2026-10-31", "2026-11-23"},
		{"2026-10-03", "2026-10-17", "2026-11-23"},
		{"2026-09-02", "2026-11-23", "2026-10-31"},
		{"2026-11-24", "2026-11-30", "2026-11-30"},
	} {
		q := FigureQuery{Measure: MeasureContacts, From: p[0], To: p[1], AsOf: p[2]}
		for _, listing := range []bool{false, true} {
			label := fmt.Sprintf("%v, listing %v", p, listing)
			var text []string
			fs := newFigures(recordingQuerier{f.db.r, &text}, true)
			count := fs.Counts
			if listing {
				count = fs.CountsListing
			}
			got, err := count(ctx, f.admin, q, names)
			if err != nil {
				t.Fatal(err)
			}
			nonzero += countsAreTheRows(t, label, f.db.r, f.admin, q, names, got, nil)
			all := strings.Join(text, " ")
			if !strings.Contains(all, "string_agg(b.team_no || ',' || b.officer_no || ',' || b.n, ',')") || strings.Contains(all, "sum(CASE") {
				t.Errorf("%s: the counts not summed by the process:\n%s", label, all)
			}
			if !listing {
				continue
			}
			q.Figure = "contacts"
			want, err := figureCases(ctx, f.db.r, f.admin, q, "", 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			ids, ok := fs.setCasesOnce(f.admin, q)
			if !ok || !slices.Equal(ids, want) {
				t.Errorf("%s: the case list %v (kept %v), its rows' %v", label, ids, ok, want)
			}
			q.Figure = ""
		}
	}
	if nonzero < 60 {
		t.Errorf("%d figures above zero: the test tests little", nonzero)
	}
}

// TestSumNumbered: the process's sums of a group's rows
// (team_no,officer_no,n, …) net each team's and officer's rows, and a
// text cut short or not of numbers is refused.
func TestSumNumbered(t *testing.T) {
	net := map[[2]int64]int64{}
	if err := sumNumbered("1,2,3,4,5,6,1,2,-1", net); err != nil || !maps.Equal(net, map[[2]int64]int64{{1, 2}: 2, {4, 5}: 6}) {
		t.Errorf("summed %v (%v)", net, err)
	}
	for _, bad := range []string{"1,2", "1,x,3", "1,2,3,", "1,2,3,4", "1,,2,3", "-,1,2", "1,2,3 ", "1,2,1234567890123456789"} {
		if err := sumNumbered(bad, map[[2]int64]int64{}); err == nil {
			t.Errorf("%q summed", bad)
		}
	}
}

// TestContactCountsMonthLessItsOtherDays: a month read as its row less
// the rows of its days outside the period (decision 0105) counts the
// period's contacts alone, and an officer whose contacts that month all
// fall outside the period is no group at all (as when the rows are
// read), not a group of none.
func TestContactCountsMonthLessItsOtherDays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	carlCase := schema.NewID()
	if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(carlCase, "C000077", f.carl)}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		officer schema.User
		caseID  string
		started string
	}{{f.asha, f.ashaCase, "2026-10-05"}, {f.carl, carlCase, "2026-10-25"}, {f.asha, f.ashaCase, "2026-09-30"}} {
		if _, err := f.db.Write(ctx, f.admin, "visit", schema.NewID(), v.caseID, schema.FieldsOf(schema.Visit{
			OfficerID: v.officer.ID, Type: "home_announced", Status: "signed", Outcome: "completed", Location: "home", FaceToFace: true,
			StartedAt: schema.Timestamp(v.started + "T10:00:00Z"), SignedAt: "2026-10-26T10:00:00Z", SignedBy: f.admin.UserID})); err != nil {
			t.Fatal(err)
		}
	}
	q := FigureQuery{Measure: MeasureContacts, From: "2026-10-01", To: "2026-10-20", AsOf: "2026-11-23"}
	var text []string
	fs := Figures{q: recordingQuerier{f.db.r, &text}}
	got, err := fs.Counts(ctx, f.admin, q, []string{"contacts"})
	if err != nil {
		t.Fatal(err)
	}
	totals, err := fs.Totals(ctx, f.admin, q, []string{"contacts"})
	if err != nil {
		t.Fatal(err)
	}
	want := []FigureCounts{{TeamID: f.asha.TeamID, OfficerID: f.asha.ID, N: []int{1}}}
	if !slices.EqualFunc(got, want, func(a, b FigureCounts) bool {
		return a.TeamID == b.TeamID && a.OfficerID == b.OfficerID && slices.Equal(a.N, b.N)
	}) || totals[0] != 1 {
		t.Errorf("counted %+v, total %v; want %+v, total 1", got, totals, want)
	}
	if all := strings.Join(text, " "); !strings.Contains(all, "THEN -t.n") {
		t.Errorf("October not read as its row less its other days:\n%s", all)
	}
}

// TestContactCaseListByContactDays: measure 3's case list for a scope of
// the whole service (contactCases, decision 0129) is read from each
// case's first and last contact days, the contacts asked only of a case
// with contacts before and after the period, and is the distinct cases
// of the period's contacts (figureCases) for every period tried: a case
// whose contacts are all before, all after, on either side of, on the
// first or the last day of, or inside the period, and a case with
// drafts alone; for an admin, an auditor, with a team or an officer, and
// as of a day within the period.
func TestContactCaseListByContactDays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	days := [][]string{ // each case's signed contacts' days ("d" a draft)
		{"2026-09-10"},
		{"2026-07-01", "2026-11-20"},
		{"2026-07-01", "2026-10-15", "2026-11-20"},
		{"d2026-10-10"},
		{"2026-10-01", "2026-10-31"},
		{"2026-08-25", "2026-08-26"},
		{"2026-11-23"},
		{},
	}
	officers := []schema.User{f.asha, f.ben, f.carl}
	for i, ds := range days {
		id := schema.NewID()
		if err := f.db.Seed(ctx, f.admin, []schema.Record{caseRecord(id, fmt.Sprintf("L%06d", i), officers[i%3])}); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			v := schema.Visit{OfficerID: officers[i%3].ID, Type: "home_announced", Location: "home", Status: "signed",
				Outcome: "completed", FaceToFace: true}
			if day, ok := strings.CutPrefix(d, "d"); ok {
				d, v.Status = day, "draft"
			} else {
				v.SignedAt, v.SignedBy = schema.Timestamp(d+"T18:00:00Z"), f.admin.UserID
			}
			v.StartedAt = schema.Timestamp(d + "T10:00:00Z")
			writeAsAdmin(t, f, "visit", schema.NewID(), id, v)
		}
	}
	checkContactTotals(t, f.db, "the cases written")
	periods := [][3]schema.Date{ // from, to, as_of
		{"2026-08-25", "2026-11-23", "2026-11-23"},
		{"2026-10-01", "2026-10-31", "2026-11-23"},
		{"2026-10-02", "2026-10-30", "2026-11-23"},
		{"2026-10-01", "2026-10-31", "2026-10-14"},
		{"2026-07-02", "2026-09-09", "2026-11-23"},
		{"2026-01-01", "2026-06-30", "2026-11-23"},
		{"2026-11-23", "2026-11-23", "2026-11-23"},
		{"2026-11-24", "2026-11-23", "2026-11-23"},
	}
	pg := f.db.eng.name() == "postgres"
	listed := 0
	for _, p := range periods {
		for _, a := range []Actor{f.admin, {UserID: "auditor", Role: schema.RoleAuditor}} {
			for _, filter := range [][2]string{{"", ""}, {f.ben.ID, ""}, {"", f.teamA.ID}} {
				fq := FigureQuery{Measure: MeasureContacts, From: p[0], To: p[1], AsOf: p[2], OfficerID: filter[0], TeamID: filter[1]}
				label := fmt.Sprintf("%v for %s, officer %q team %q", p, a.Role, filter[0], filter[1])
				q := fq
				q.Figure = "contacts"
				want, err := figureCases(ctx, f.db.r, a, q, "", 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				var text []string
				fs := newFigures(recordingQuerier{f.db.r, &text}, pg)
				if _, err := fs.CountsListing(ctx, a, fq, FigureNames(MeasureContacts)); err != nil {
					t.Fatal(err)
				}
				got, err := fs.Cases(ctx, a, q, "", 1<<30)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: cases %q; want %q", label, got, want)
				}
				if !pg {
					continue
				}
				all := strings.Join(text, " ")
				if !strings.Contains(all, "c.first_contact_day <= ?") || strings.Contains(all, "DISTINCT") {
					t.Errorf("%s: the case list not read by the contact days:\n%s", label, all)
				}
				listed += len(got)
			}
		}
	}
	if pg && listed < 40 {
		t.Errorf("%d cases listed in all: the test tests little", listed)
	}
}
