package serverdb

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

func signedVisitAt(signer, signedAt string) map[string]json.RawMessage {
	m := signedVisit(signer)
	m["signed_at"], _ = json.Marshal(signedAt)
	return m
}

// TestFreshness checks measure 9 on a hand-built set: team A has asha's
// tablet (last sync 10 days ago, 3 waiting), a second tablet of asha's
// that never synced, ben's tablet (synced yesterday, an old app that does
// not report its outbox) and a revoked one of ben's; team B has carl's.
func TestFreshness(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	day := 24 * time.Hour
	asha, ben, carl := f.actor(f.asha, f.ashaDev), f.actor(f.ben, f.benDev), f.actor(f.carl, f.carlDev)
	for _, d := range []struct {
		u  schema.User
		id string
	}{{f.asha, "dev-asha2"}, {f.ben, "dev-ben2"}} {
		if _, err := f.db.Login(ctx, d.u, d.id, DeviceInfo{}, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.db.RevokeDevice(ctx, f.admin, "dev-ben2"); err != nil {
		t.Fatal(err)
	}

	// Signed visits: asha's arrive 30 min, 60 min and 24.5 h after
	// signing, ben's 10 min after.
	v1, v2, v3, vb := schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID()
	f.push(t, asha, mutation("visit", v1, f.ashaCase, stamp(1, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-23T09:30:00Z")))
	f.push(t, ben, mutation("visit", vb, f.benCase, stamp(1, f.benDev), signedVisitAt(f.ben.ID, "2026-11-23T09:50:00Z")))
	f.clock.Advance(30 * time.Minute)
	f.push(t, asha, mutation("visit", v2, f.ashaCase, stamp(2, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-23T09:30:00Z")))
	f.clock.Advance(day - 30*time.Minute) // 11-24 10:00
	// v3 is a draft first, signed later: its arrival is the signing push.
	f.push(t, asha, mutation("visit", v3, f.ashaCase, stamp(3, f.ashaDev), visitFields("draft")))
	f.clock.Advance(30 * time.Minute)
	f.push(t, asha, mutation("visit", v3, f.ashaCase, stamp(4, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-23T10:00:00Z")))

	// Set aside: two of asha's (one dismissed), one of ben's, one of carl's.
	out := func(a Actor, dev string) schema.Mutation {
		return mutation("visit", schema.NewID(), f.carlCase, stamp(5, dev), raw("status", "planned"))
	}
	if a := f.actor(f.carl, f.carlDev); a.TeamID == f.teamA.ID {
		t.Fatal("carl must be in team B")
	}
	a1, a2, b1 := out(asha, f.ashaDev), out(asha, f.ashaDev), out(ben, f.benDev)
	f.push(t, asha, a1, a2)
	f.push(t, ben, b1)
	f.push(t, carl, mutation("visit", schema.NewID(), f.ashaCase, stamp(5, f.carlDev), raw("status", "planned")))
	if _, err := f.db.ResolveSetAside(ctx, f.actor(f.sue, ""), a1.ID, SetAsideDecision{Decision: SetAsideDismissed, Reason: "wrong case"}); err != nil {
		t.Fatal(err)
	}

	// Syncs: asha 11-24 10:30 (3 waiting), ben 12-03 10:30 (no header),
	// carl 12-04 10:30 (5 waiting); now is 12-04 10:30.
	if err := f.db.TouchDevice(ctx, f.ashaDev, DeviceInfo{OutboxPending: 3, HasOutbox: true}, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(9 * day)
	if err := f.db.TouchDevice(ctx, f.benDev, DeviceInfo{}, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(day)
	if err := f.db.TouchDevice(ctx, f.carlDev, DeviceInfo{OutboxPending: 5, HasOutbox: true}, true); err != nil {
		t.Fatal(err)
	}

	got, err := f.db.Freshness(ctx, f.actor(f.sue, ""), FreshnessOptions{StaleDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(l IDList) []string { return l.IDs }
	if g := got.Total; g.Devices.N != 3 || g.StaleDevices.N != 2 || g.OutboxPending != 3 || g.NotReporting.N != 2 ||
		g.SetAsideOpen.N != 2 || g.SetAsideTotal != 3 {
		t.Errorf("total = %+v", g)
	}
	if want := []string{"dev-asha", "dev-asha2"}; !reflect.DeepEqual(ids(got.Total.StaleDevices), want) {
		t.Errorf("stale = %v, want %v", ids(got.Total.StaleDevices), want)
	}
	if want := []string{a2.ID, b1.ID}; !sameSet(ids(got.Total.SetAsideOpen), want) {
		t.Errorf("set aside open = %v, want %v", ids(got.Total.SetAsideOpen), want)
	}
	if len(got.Teams) != 1 || got.Teams[f.teamA.ID].Devices.N != 3 {
		t.Errorf("teams = %+v, want team A only", got.Teams)
	}
	if _, ok := got.Officers[f.carl.ID]; ok {
		t.Errorf("carl in sue's answer")
	}
	oa := got.Officers[f.asha.ID]
	if oa.Devices.N != 2 || oa.StaleDevices.N != 2 || oa.OutboxPending != 3 || oa.SetAsideOpen.N != 1 || oa.SetAsideTotal != 2 {
		t.Errorf("asha = %+v", oa)
	}
	// Latency: team [600, 1800, 3600, 88200] s.
	lat := got.Total.Latency
	if lat.N != 4 || *lat.MinSeconds != 600 || *lat.MedianSeconds != 2700 || *lat.P90Seconds != 88200 || *lat.MaxSeconds != 88200 ||
		lat.MinVisit != vb || lat.P90Visit != v3 || lat.MaxVisit != v3 {
		t.Errorf("team latency = %+v (min %v median %v p90 %v max %v)", lat, *lat.MinSeconds, *lat.MedianSeconds, *lat.P90Seconds, *lat.MaxSeconds)
	}
	if al := oa.Latency; al.N != 3 || *al.MedianSeconds != 3600 || *al.P90Seconds != 88200 || *al.MinSeconds != 1800 {
		t.Errorf("asha latency = %+v", al)
	}
	if len(got.Visits) != 4 || got.Visits[0].VisitID != v3 || got.Visits[0].ArrivedFrom != "sign" || got.Visits[0].DeviceID != f.ashaDev ||
		got.Visits[0].ArrivedAt != "2026-11-24T10:30:00.000Z" || got.Visits[3].VisitID != vb {
		t.Errorf("visits = %+v", got.Visits)
	}
	if want := []string{f.ashaCase, f.benCase}; !sameSet(got.CaseIDs(), want) {
		t.Errorf("case ids = %v", got.CaseIDs())
	}
	devs := map[string]DeviceFreshness{}
	for _, d := range got.Devices {
		devs[d.DeviceID] = d
	}
	if len(devs) != 4 {
		t.Errorf("devices = %d, want 4 (revoked listed)", len(devs))
	}
	if d := devs["dev-asha"]; d.DaysSinceSync == nil || *d.DaysSinceSync != 10 || !d.Stale || d.OutboxPending == nil || *d.OutboxPending != 3 ||
		d.SetAsideOpen != 1 || d.SetAsideTotal != 2 {
		t.Errorf("dev-asha = %+v", d)
	}
	if d := devs["dev-ben"]; d.DaysSinceSync == nil || *d.DaysSinceSync != 1 || d.Stale || d.OutboxPending != nil {
		t.Errorf("dev-ben = %+v", d)
	}
	if d := devs["dev-asha2"]; d.DaysSinceSync != nil || !d.Stale {
		t.Errorf("dev-asha2 = %+v", d)
	}
	if d := devs["dev-ben2"]; !d.Revoked || d.Stale {
		t.Errorf("dev-ben2 = %+v", d)
	}

	// Officer and period filters; the admin sees team B too.
	got, _ = f.db.Freshness(ctx, f.actor(f.sue, ""), FreshnessOptions{StaleDays: 7, OfficerID: f.ben.ID})
	if got.Total.Devices.N != 1 || got.Total.Latency.N != 1 || got.Total.SetAsideTotal != 1 {
		t.Errorf("ben only = %+v", got.Total)
	}
	got, _ = f.db.Freshness(ctx, f.actor(f.sue, ""), FreshnessOptions{StaleDays: 30, From: "2026-11-24", To: "2026-11-30"})
	if got.Total.StaleDevices.N != 1 || got.Total.Latency.N != 0 || got.Total.Latency.MedianSeconds != nil {
		t.Errorf("30 days, no visits in period = %+v", got.Total)
	}
	got, _ = f.db.Freshness(ctx, f.admin, FreshnessOptions{StaleDays: 7})
	if got.Total.OutboxPending != 8 || got.Total.SetAsideTotal != 4 || len(got.Teams) != 2 {
		t.Errorf("admin total = %+v, teams %d", got.Total, len(got.Teams))
	}
	if _, err := f.db.Freshness(ctx, asha, FreshnessOptions{StaleDays: 7}); schema.ErrorCode(err) != schema.ECodeForbidden {
		t.Errorf("officer: %v, want forbidden", err)
	}
	if _, err := f.db.Freshness(ctx, f.admin, FreshnessOptions{}); schema.ErrorCode(err) != schema.ECodeInvalid {
		t.Errorf("stale_days 0: %v, want invalid", err)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// The period keeps signed visits by the UTC day of signed_at, although the
// store finds them by the day written (records_signed_visit_day): a
// signed_at with an offset that crosses midnight UTC lands on its UTC day.
func TestFreshnessPeriodUTCDay(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	asha := f.actor(f.asha, f.ashaDev)
	late, early, inside := schema.NewID(), schema.NewID(), schema.NewID()
	// 11-20 23:30 at -02:00 is 11-21 01:30 UTC; 11-22 00:30 at +02:00 is
	// 11-21 22:30 UTC; 11-19 12:00 UTC is outside 11-21..11-21.
	f.push(t, asha, mutation("visit", late, f.ashaCase, stamp(1, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-20T23:30:00-02:00")))
	f.push(t, asha, mutation("visit", early, f.ashaCase, stamp(2, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-22T00:30:00+02:00")))
	f.push(t, asha, mutation("visit", inside, f.ashaCase, stamp(3, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-19T12:00:00Z")))
	ids := func(o FreshnessOptions) []string {
		t.Helper()
		o.StaleDays = 7
		got, err := f.db.Freshness(ctx, f.actor(f.sue, ""), o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range got.Visits {
			out = append(out, v.VisitID)
		}
		return out
	}
	if got := ids(FreshnessOptions{From: "2026-11-21", To: "2026-11-21"}); !sameSet(got, []string{late, early}) {
		t.Errorf("11-21: %v, want %v", got, []string{late, early})
	}
	if got := ids(FreshnessOptions{From: "2026-11-20", To: "2026-11-20"}); len(got) != 0 {
		t.Errorf("11-20: %v, want none", got)
	}
	if got := ids(FreshnessOptions{To: "2026-11-19"}); !sameSet(got, []string{inside}) {
		t.Errorf("to 11-19: %v, want %v", got, []string{inside})
	}
	if got := ids(FreshnessOptions{}); len(got) != 3 {
		t.Errorf("no period: %v, want all 3", got)
	}
}

// TestFreshnessReassignedCase checks that every scope gives a team the same
// signed-visit figures: a visit counts for its case's team and officer on
// the as-of day (now), not for the team of the officer who signed it. asha
// (team A) signs v1 on her case and ben (team A) vb on his; asha's case
// then moves to carl (team B).
func TestFreshnessReassignedCase(t *testing.T) {
	t.Parallel()
	f := newReviewFixture(t)
	ctx := context.Background()
	v1, vb := schema.NewID(), schema.NewID()
	f.push(t, f.actor(f.asha, f.ashaDev), mutation("visit", v1, f.ashaCase, stamp(1, f.ashaDev), signedVisitAt(f.asha.ID, "2026-11-23T09:30:00Z")))
	f.push(t, f.actor(f.ben, f.benDev), mutation("visit", vb, f.benCase, stamp(1, f.benDev), signedVisitAt(f.ben.ID, "2026-11-23T09:40:00Z")))
	if err := f.db.ReassignCase(ctx, f.admin, f.ashaCase, "carl"); err != nil {
		t.Fatal(err)
	}
	get := func(a Actor, officer string) Freshness {
		t.Helper()
		fr, err := f.db.Freshness(ctx, a, FreshnessOptions{StaleDays: 7, OfficerID: officer})
		if err != nil {
			t.Fatal(err)
		}
		return fr
	}
	admin, sue, sam := get(f.admin, ""), get(f.actor(f.sue, ""), ""), get(f.actor(f.sam, ""), "")
	visits := func(g FreshnessGroup) []string { return g.Latency.VisitIDs }
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"admin, team A", visits(admin.Teams[f.teamA.ID]), []string{vb}},
		{"sue, team A", visits(sue.Teams[f.teamA.ID]), []string{vb}},
		{"sue, total", visits(sue.Total), []string{vb}},
		{"admin, team B", visits(admin.Teams[f.teamB.ID]), []string{v1}},
		{"sam, team B", visits(sam.Teams[f.teamB.ID]), []string{v1}},
		{"sam, total", visits(sam.Total), []string{v1}},
		{"admin, carl", visits(admin.Officers[f.carl.ID]), []string{v1}},
		{"sam, carl", visits(sam.Officers[f.carl.ID]), []string{v1}},
		{"admin, asha", visits(admin.Officers[f.asha.ID]), []string{}},
		{"admin, carl's filter", visits(get(f.admin, f.carl.ID).Total), []string{v1}},
		{"admin, asha's filter", visits(get(f.admin, f.asha.ID).Total), []string{}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: signed visits %v, want %v", c.what, c.got, c.want)
		}
	}
	if _, ok := sam.Teams[f.teamA.ID]; ok || len(sam.Teams) != 1 {
		t.Errorf("sam's teams = %v, want team B only", keys(sam.Teams))
	}
	if _, ok := sam.Officers[f.asha.ID]; ok {
		t.Errorf("sam's answer has an entry for asha, of team A")
	}
	if _, ok := sue.Teams[f.teamB.ID]; ok || len(sue.Teams) != 1 {
		t.Errorf("sue's teams = %v, want team A only", keys(sue.Teams))
	}
	if len(sam.Visits) != 1 || sam.Visits[0].TeamID != f.teamB.ID || sam.Visits[0].OfficerID != f.carl.ID || sam.Visits[0].SignedBy != f.asha.ID {
		t.Errorf("sam's visit rows = %+v, want v1 of team B, carl's case, signed by asha", sam.Visits)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Measure 9's signed visits give what their statement gave before
// decision 0108 (signed_at and signed_by each read from the fields with
// the engine's jsonText), on both stores: signers' ids with quotes,
// backslashes and non-ASCII letters escaped in the JSON, visits signed
// before, in and after the period, a draft, and another team's visit;
// for the whole period and for none.
func TestSignedVisitRowsAsBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	var recs []schema.Record
	for i, v := range []struct {
		caseID, by, at string
	}{
		{f.ashaCase, `asha "the" officer`, "2026-11-23T09:30:00Z"},
		{f.ashaCase, `back\slash é ü`, "2026-11-01T23:30:00-02:00"},
		{f.benCase, "ben", "2026-08-31T23:59:00Z"},
		{f.benCase, "ben", "2026-12-01T00:30:00+01:00"},
		{f.benCase, "", ""}, // a draft
	} {
		fields := visitFields("draft")
		if v.at != "" {
			fields = signedVisitAt(f.ben.ID, v.at)
			fields["signed_by"], _ = json.Marshal(v.by)
		}
		recs = append(recs, schema.Record{Entity: "visit", ID: fmt.Sprintf("0190e000-0000-7000-8000-%012d", i), CaseID: v.caseID, Fields: fields})
	}
	carlCase := schema.NewID()
	recs = append(recs, caseRecord(carlCase, "C000003", f.carl),
		schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: carlCase, Fields: signedVisitAt(f.carl.ID, "2026-11-02T10:00:00Z")})
	if err := f.db.Seed(ctx, f.admin, recs); err != nil {
		t.Fatal(err)
	}
	eng := f.db.eng
	rowsOf := func(q string, args []any) [][7]any {
		t.Helper()
		rows, err := f.db.r.QueryContext(ctx, q, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		defer rows.Close()
		var out [][7]any
		for rows.Next() {
			var r [7]any
			if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		actor    Actor
		from, to schema.Date
		want     int // visits signed, as a check that the test reads some
	}{
		{"supervisor, the period", ActorOf(f.sue, ""), "2026-09-01", "2026-11-30", 4},
		{"supervisor, no period", ActorOf(f.sue, ""), "", "", 4},
		{"officer, the period", ActorOf(f.asha, ""), "2026-09-01", "2026-11-30", 2},
		{"admin, no period", f.admin, "", "", 5},
	} {
		q, args, err := signedVisitQuery(eng, tc.actor, tc.from, tc.to)
		if err != nil {
			t.Fatal(err)
		}
		got := rowsOf(q, args)
		q, args, err = signedVisitStatement(eng, tc.actor, tc.from, tc.to, false) // as before decision 0108
		if err != nil {
			t.Fatal(err)
		}
		want := rowsOf(q, args)
		if len(want) != tc.want {
			t.Fatalf("%s: the statement before gives %d visits, want %d", tc.name, len(want), tc.want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%s): got\n%v\nwant\n%v", tc.name, f.db.Engine(), got, want)
		}
	}
}

// On PostgreSQL, measure 9's signed visits make each visit's fields a
// jsonb once, for both signed_at and signed_by (decision 0108): in the
// plan, one step's output is the cast alone and no step casts the fields
// and reads a key from the cast in one expression (which it did once for
// each key).
func TestSignedVisitsFieldsCastOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if f.db.Engine() != "postgres" {
		t.Skip("PostgreSQL's plan: SQLite parses a row's fields once for its json_extracts")
	}
	text, args, err := signedVisitQuery(f.db.eng, ActorOf(f.sue, ""), "2026-09-01", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.r.QueryContext(context.Background(), "EXPLAIN (VERBOSE) "+text, args...)
	if err != nil {
		t.Fatal(err)
	}
	plan := planText(t, rows, true)
	var outputs []string
	for line := range strings.Lines(plan) {
		if _, out, ok := strings.Cut(line, "Output: "); ok {
			outputs = append(outputs, strings.TrimSpace(out))
		}
	}
	if !slices.Contains(outputs, "(records.fields)::jsonb") {
		t.Errorf("no step of the plan makes the fields a jsonb alone:\n%s", plan)
	}
	for _, out := range outputs {
		if strings.Contains(out, "(records.fields)::jsonb ->>") {
			t.Errorf("a step casts the fields for each key it reads: %s\n%s", out, plan)
		}
	}
}
