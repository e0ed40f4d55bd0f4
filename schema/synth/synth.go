// Package synth makes a deterministic, invented dataset for the demo, the
// benchmarks and the tests: teams, users and a caseload with a year of visit
// history shaped like the inspection findings (domestic-abuse cases, children
// in the household, home visits done late, done by phone or in a cafe, or
// never done; enquiries answered late or never; referrals at every stage).
//
// Every name, street, town and postcode is invented (postcodes use the
// non-existent "ZZ" area). The same Options give the same Dataset, ids
// included, so a failing test or a benchmark can be re-run exactly.
//
// Records are as a client would create them (Version 0, no update time, no
// device time) with one addition: ReceivedAt, when the record reached the
// server, minutes to hours after it was made (a signed visit: after its
// signing), so that the store seeds a history in which tablets synced as
// they do in use rather than all on the seeding day.
package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"doorstep/schema"
)

// Options shapes a dataset. Zero values take the defaults in brackets.
type Options struct {
	Seed            int64
	Teams           int       // teams [1]
	OfficersPerTeam int       // officers per team, each team also gets one supervisor [4]
	CasesPerOfficer int       // [50]
	Now             time.Time // "today" of the history [2026-11-23T10:00:00Z, fixed, for determinism]
	HistoryDays     int       // how far back visits go [365]
}

// DefaultNow is the "today" used when Options.Now is zero.
var DefaultNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func (o Options) withDefaults() Options {
	if o.Teams <= 0 {
		o.Teams = 1
	}
	if o.OfficersPerTeam <= 0 {
		o.OfficersPerTeam = 4
	}
	if o.CasesPerOfficer <= 0 {
		o.CasesPerOfficer = 50
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.UTC()
	if o.HistoryDays <= 0 {
		o.HistoryDays = 365
	}
	return o
}

// Dataset is what Generate makes. Users has, per team, one supervisor then
// its officers, and then one admin; no passwords. Records lists each case
// before the records that belong to it.
type Dataset struct {
	Teams   []schema.Team
	Users   []schema.User
	Records []schema.Record
}

// Generate makes the dataset for opts. It is deterministic in opts.
func Generate(opts Options) *Dataset {
	opts = opts.withDefaults()
	g := &gen{
		opts: opts,
		rng:  rand.New(rand.NewPCG(uint64(opts.Seed), 0x646f6f7273746570)), // "doorstep"
		now:  opts.Now,
		crns: map[string]bool{},
	}
	g.ids = idSource{rng: g.rng}
	return g.run()
}

type gen struct {
	opts Options
	rng  *rand.Rand
	ids  idSource
	now  time.Time
	ds   Dataset
	crns map[string]bool

	givenPool []string // shuffled given names for users, taken in turn
	usedUser  map[string]bool
}

func (g *gen) run() *Dataset {
	g.usedUser = map[string]bool{}
	g.givenPool = append([]string(nil), givenNames...)
	g.rng.Shuffle(len(g.givenPool), func(i, j int) { g.givenPool[i], g.givenPool[j] = g.givenPool[j], g.givenPool[i] })

	setup := g.now.AddDate(-3, 0, 0)
	towns := append([]string(nil), towns...)
	g.rng.Shuffle(len(towns), func(i, j int) { towns[i], towns[j] = towns[j], towns[i] })
	for t := 0; t < g.opts.Teams; t++ {
		town := towns[t%len(towns)]
		name := town + " " + []string{"North", "South", "East", "West", "Central"}[(t/len(towns))%5]
		if t >= len(towns)*5 {
			name = fmt.Sprintf("%s %d", name, t)
		}
		team := schema.Team{ID: g.ids.at(setup), Name: name}
		g.ds.Teams = append(g.ds.Teams, team)
		sup := g.user(schema.RoleSupervisor, team.ID, setup)
		var officers []schema.User
		for i := 0; i < g.opts.OfficersPerTeam; i++ {
			officers = append(officers, g.user(schema.RoleOfficer, team.ID, setup))
		}
		for _, off := range officers {
			for c := 0; c < g.opts.CasesPerOfficer; c++ {
				g.caseload(team, sup, off, town)
			}
		}
	}
	g.user(schema.RoleAdmin, "", setup)
	return &g.ds
}

func (g *gen) user(role schema.Role, teamID string, at time.Time) schema.User {
	given := g.givenPool[0]
	g.givenPool = append(g.givenPool[1:], given)
	base := strings.ToLower(given) + "." + string(role)
	username := base
	for n := 2; g.usedUser[username]; n++ {
		username = fmt.Sprintf("%s%d", base, n)
	}
	g.usedUser[username] = true
	u := schema.User{ID: g.ids.at(at), Username: username, Name: given + " " + g.family(), Role: role, TeamID: teamID}
	// Users are appended in the order teams are built: the supervisor first.
	g.ds.Users = append(g.ds.Users, u)
	return u
}

// --- small helpers over the seeded source ---

func (g *gen) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// weighted returns an option with the given weights (which need not sum to 1).
func (g *gen) weighted(options []string, weights []float64) string {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := g.rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return options[i]
		}
		x -= w
	}
	return options[len(options)-1]
}

func (g *gen) days(lo, hi int) time.Duration {
	return time.Duration(lo+g.rng.IntN(hi-lo+1)) * 24 * time.Hour
}

func (g *gen) family() string {
	return pick(g, surnameHeads) + pick(g, surnameTails)
}

func (g *gen) address(town string) string {
	n := 1 + g.rng.IntN(140)
	street := pick(g, streetNames) + " " + pick(g, streetKinds)
	pc := fmt.Sprintf("ZZ%d %d%c%c", 1+g.rng.IntN(9), g.rng.IntN(10), 'A'+rune(g.rng.IntN(26)), 'A'+rune(g.rng.IntN(26)))
	if g.chance(0.25) {
		return fmt.Sprintf("Flat %d, %d %s, %s, %s", 1+g.rng.IntN(12), n, street, town, pc)
	}
	return fmt.Sprintf("%d %s, %s, %s", n, street, town, pc)
}

func (g *gen) crn() string {
	for {
		c := fmt.Sprintf("%c%06d", pick(g, []rune("XZ")), g.rng.IntN(1000000))
		if !g.crns[c] {
			g.crns[c] = true
			return c
		}
	}
}

// workTime returns a weekday working-hours time on or after day.
func (g *gen) workTime(day time.Time) time.Time {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d.Add(9*time.Hour + time.Duration(g.rng.IntN(8*60+30))*time.Minute)
}

func (g *gen) record(entity, caseID string, at time.Time, by string, v any) schema.Record {
	id := g.ids.at(at)
	made := at
	if made.Equal(dayOf(made)) { // a date, not a time: made in working hours that day
		made = made.Add(9*time.Hour + time.Duration(g.rng.IntN(8*60))*time.Minute)
	}
	return schema.Record{Entity: entity, ID: id, CaseID: caseID, Fields: fields(v), CreatedBy: by, UpdatedBy: by,
		ReceivedAt: g.arrival(made)}
}

// arrival is when a record made (or signed) at t reached the server: most
// within the hour, as the tablet syncs on signal; some at the end of the
// day; a few after a day or two offline. Never after now.
func (g *gen) arrival(t time.Time) time.Time {
	d := time.Duration(1+g.rng.IntN(50)) * time.Minute
	switch g.weighted([]string{"soon", "evening", "offline"}, []float64{80, 16, 4}) {
	case "evening":
		d = time.Duration(2*60+g.rng.IntN(6*60)) * time.Minute
	case "offline":
		d = time.Duration(20*60+g.rng.IntN(40*60)) * time.Minute
	}
	return minTime(t.Add(d), g.now).Truncate(time.Second)
}

// fields is schema.FieldsOf without the empty values, as a client sends a
// new record.
func fields(v any) map[string]json.RawMessage {
	f := schema.FieldsOf(v)
	for k, raw := range f {
		if s := string(raw); s == "null" || s == `""` {
			delete(f, k)
		}
	}
	return f
}

func ts(t time.Time) schema.Timestamp { return schema.TimestampOf(t.Truncate(time.Second)) }

// idSource makes UUIDv7-shaped ids from the seeded source: the 48-bit
// millisecond time of the record's notional creation, version 7, variant
// 10, and 74 seeded random bits. They sort roughly by creation, as real
// ones do, and repeat exactly for the same seed.
type idSource struct{ rng *rand.Rand }

func (s idSource) at(t time.Time) string {
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	a := s.rng.Uint64()
	b := s.rng.Uint64()
	var u [16]byte
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 | byte(a&0x0f)
	u[7] = byte(a >> 8)
	u[8] = 0x80 | byte(b&0x3f)
	for i := 9; i < 16; i++ {
		u[i] = byte(b >> (8 * (i - 8)))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
