package officerapp

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

// chip is a flag or a risk level shown at a glance, always as text (colour
// only repeats it).
type chip struct{ Key, Label string }

// caseRow is one case on Today.
type caseRow struct {
	ID, Name, CRN, Address string
	RoSH, RoSHLabel        string
	Flags                  []chip
	PlannedToday           int
	PlannedVisits          []plannedRef // today's planned visits, to move or cancel
	Drafts                 int
	// The nearest home visit the visit policy asks for, in words: the most
	// overdue one, else the open one due soonest (nearestDue).
	DueState    string // overdue, week, later, exempted, none
	DueWhen     string // "12 days overdue", "Due Thursday 26 November", "Due in 32 days"
	DueDate     string // "was due Wednesday 11 November", "Friday 25 December"
	DueRule     string // the rule's name (or, exempted, the reason)
	DueWhy      string // what started it: "Supervision started 3 Nov 2026"
	MoreOverdue int    // other overdue requirements of the case

	group         int // Today's order: overdue, due this week, planned today, the rest
	daysOverdue   int
	dueOn         schema.Date
	roshRank      int
	family, given string
}

// plannedRef is a visit planned today, as Today links it.
type plannedRef struct{ ID, At, Type string }

type todayData struct {
	Date         string
	Rows         []caseRow // the cases the search and filters keep, in Today's order
	Total        int       // open cases on the tablet, before the search and filters
	Filter       todayFilter
	Options      todayOptions
	PlannedToday int
	Overdue      int // cases with a home visit overdue
	DueThisWeek  int // cases (not overdue) with one due in the next 7 days
}

var roshRank = map[string]int{"very_high": 4, "high": 3, "medium": 2, "low": 1}

// flagOrder is the order of flags on a case, most urgent for a visit first.
var flagOrder = []string{"da_perpetrator", "da_victim", "child_protection", "child_concerns", "risk_to_children", "marac", "restraining_order", "risk_to_staff"}

// todayFilter is Today's search and filters, from the query string of its
// GET form (so they work without the script and a filtered list can be
// bookmarked). Each empty part keeps every case.
type todayFilter struct {
	Q    string // words each found in the name, the CRN or the address
	Due  string // dueOverdue or dueThisWeek: only the cases in that state
	RoSH string // a RoSH level: that level and above
	Flag string // a flag type, live on the case
}

// Active reports whether the filter leaves out any case.
func (f todayFilter) Active() bool { return f.Q != "" || f.Due != "" || f.RoSH != "" || f.Flag != "" }

// todayOptions are the choices of the filters' selects.
type todayOptions struct{ Due, RoSH, Flag []option }

var todayChoices = todayOptions{
	Due: []option{{"", "Any"}, {dueOverdue, "Home visit overdue"}, {dueThisWeek, "Due this week"}},
	RoSH: []option{{"", "Any"}, {"very_high", "Very high"}, {"high", "High and above"},
		{"medium", "Medium and above"}},
	Flag: func() []option {
		out := []option{{"", "Any"}}
		for _, f := range flagOrder {
			out = append(out, option{f, enumLabel("flag", f)})
		}
		return out
	}(),
}

// todayFilterOf reads the filter from the query; a value that is not one of
// the choices is ignored (a stale bookmark keeps working).
func todayFilterOf(c *fiber.Ctx) todayFilter {
	pick := func(v string, opts []option) string {
		for _, o := range opts {
			if o.Value == v {
				return v
			}
		}
		return ""
	}
	q := strings.Join(strings.Fields(c.Query("q")), " ")
	if utf8.RuneCountInString(q) > 200 {
		q = string([]rune(q)[:200])
	}
	return todayFilter{Q: q, Due: pick(c.Query("due"), todayChoices.Due),
		RoSH: pick(c.Query("rosh"), todayChoices.RoSH), Flag: pick(c.Query("flag"), todayChoices.Flag)}
}

// keeps reports whether row passes the filter. The search keeps a case
// when each word of q begins a word of its name, CRN or address, in any
// case: "ann" finds Ann and Annie, not Planned.
func (f todayFilter) keeps(row *caseRow) bool {
	switch {
	case f.Due != "" && row.DueState != f.Due:
		return false
	case f.RoSH != "" && row.roshRank < roshRank[f.RoSH]:
		return false
	case f.Flag != "" && !slices.ContainsFunc(row.Flags, func(c chip) bool { return c.Key == f.Flag }):
		return false
	}
	if f.Q == "" {
		return true
	}
	words := searchWords(row.Name + " " + row.CRN + " " + row.Address)
	for _, q := range searchWords(f.Q) {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}

// searchWords splits s into lower-case words of letters and digits.
func searchWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// GET /app/today
func (w *webApp) today(c *fiber.Ctx) error {
	d, err := w.todayData(c)
	if err != nil {
		return err
	}
	d.Filter, d.Options = todayFilterOf(c), todayChoices
	d.Total = len(d.Rows)
	if d.Filter.Active() {
		d.Rows = slices.DeleteFunc(d.Rows, func(r caseRow) bool { return !d.Filter.keeps(&r) })
	}
	return w.render(c, fiber.StatusOK, "today", view{Title: "Today", Data: d})
}

// todayData lists each entity the visit policy reads once (not per case),
// groups the records by case, and computes each open case's requirements
// as of the officer's local today.
func (w *webApp) todayData(c *fiber.Ctx) (todayData, error) {
	ctx := c.UserContext()
	now := w.api.Now()
	asOf := localapi.LocalDate(now)
	p, _ := w.api.Policy() // one edition of the rules for the whole page
	d := todayData{Date: now.Local().Format("Monday 2 January 2006")}
	facts := localapi.NewPolicyFacts()
	var cases, flags, visits []syncer.LocalRecord
	for _, entity := range localapi.PolicyEntities {
		recs, err := w.agent.List(ctx, entity, "")
		if err != nil {
			return d, err
		}
		facts.Add(recs)
		switch entity {
		case "case":
			cases = recs
		case "flag":
			flags = recs
		case "visit":
			visits = recs
		}
	}
	live := map[string]map[string]bool{} // case -> live flag types
	for _, fr := range flags {
		if str(fr.Fields, "ended_on") != "" {
			continue
		}
		if live[fr.CaseID] == nil {
			live[fr.CaseID] = map[string]bool{}
		}
		live[fr.CaseID][str(fr.Fields, "type")] = true
	}
	planned, drafts := map[string]int{}, map[string]int{}
	plannedRefs := map[string][]plannedRef{}
	y, m, dd := now.Local().Date()
	for _, v := range visits {
		switch str(v.Fields, "status") {
		case "planned":
			if t, err := time.Parse(time.RFC3339Nano, str(v.Fields, "planned_at")); err == nil {
				if ty, tm, td := t.Local().Date(); ty == y && tm == m && td == dd {
					planned[v.CaseID]++
					plannedRefs[v.CaseID] = append(plannedRefs[v.CaseID], plannedRef{ID: v.ID, At: t.Local().Format("15:04"),
						Type: enumLabel("type", str(v.Fields, "planned_type"))})
				}
			}
		case "draft":
			drafts[v.CaseID]++
		}
	}
	for _, cr := range cases {
		f, ok := facts.Facts(cr.ID, asOf)
		cs := f.Case
		if !ok || cs.Closed {
			continue
		}
		row := caseRow{ID: cr.ID, Name: cs.GivenName + " " + cs.FamilyName, CRN: cs.CRN, Address: cs.Address,
			RoSH: cs.RoSH, RoSHLabel: enumLabel("rosh", cs.RoSH), roshRank: roshRank[cs.RoSH],
			family: cs.FamilyName, given: cs.GivenName, PlannedToday: planned[cr.ID], Drafts: drafts[cr.ID]}
		row.PlannedVisits = plannedRefs[cr.ID]
		slices.SortFunc(row.PlannedVisits, func(a, b plannedRef) int { return cmp.Compare(a.At, b.At) })
		if cs.NoFixedAbode {
			row.Address = "No fixed abode"
		}
		for _, f := range flagOrder {
			if live[cr.ID][f] {
				row.Flags = append(row.Flags, chip{Key: f, Label: enumLabel("flag", f)})
			}
		}
		w.nearestDue(&row, p, p.Requirements(f, asOf), asOf)
		switch {
		case row.DueState == dueOverdue:
			row.group = 0
			d.Overdue++
		case row.DueState == dueThisWeek:
			row.group = 1
			d.DueThisWeek++
		case row.PlannedToday > 0:
			row.group = 2
		default:
			row.group = 3
		}
		d.PlannedToday += row.PlannedToday
		d.Rows = append(d.Rows, row)
	}
	// Overdue first, most days overdue first; then due this week, soonest
	// first; then visits planned today; then the rest. Ties: highest risk
	// first, then by name.
	slices.SortFunc(d.Rows, func(a, b caseRow) int {
		o := cmp.Compare(a.group, b.group)
		switch {
		case o != 0:
		case a.group == 0:
			o = cmp.Compare(b.daysOverdue, a.daysOverdue)
		case a.group == 1:
			o = cmp.Compare(a.dueOn, b.dueOn)
		}
		return cmp.Or(o, b.roshRank-a.roshRank, cmp.Compare(a.family, b.family), cmp.Compare(a.given, b.given), cmp.Compare(a.ID, b.ID))
	})
	return d, nil
}

// str reads a string field; "" when absent or not a string.
func str(fields map[string]json.RawMessage, name string) string { return localapi.Str(fields, name) }
