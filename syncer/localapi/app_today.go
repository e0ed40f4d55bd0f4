package localapi

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
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
	Drafts                 int
	// Due is the next home visit due or overdue, in words ("overdue by 4
	// days"). VISIT POLICY: it stays empty until schema/policy lands; then
	// the policy computes it here from the case, its flags, household and
	// visits, and Today is ordered by it (overdue first).
	Due string

	roshRank      int
	family, given string
}

type todayData struct {
	Date         string
	Rows         []caseRow
	PlannedToday int
	// PolicyPending says the due dates are not computed yet (no visit
	// policy on this build).
	PolicyPending bool
}

var roshRank = map[string]int{"very_high": 4, "high": 3, "medium": 2, "low": 1}

// flagOrder is the order of flags on a case, most urgent for a visit first.
var flagOrder = []string{"da_perpetrator", "da_victim", "child_protection", "child_concerns", "risk_to_children", "marac", "restraining_order", "risk_to_staff"}

// GET /app/today
func (w *webApp) today(c *fiber.Ctx) error {
	d, err := w.todayData(c)
	if err != nil {
		return err
	}
	return w.render(c, fiber.StatusOK, "today", view{Title: "Today", Data: d})
}

func (w *webApp) todayData(c *fiber.Ctx) (todayData, error) {
	ctx := c.UserContext()
	now := w.api.cfg.Now()
	d := todayData{Date: now.Local().Format("Monday 2 January 2006"), PolicyPending: true}
	cases, err := w.api.agent.List(ctx, "case", "")
	if err != nil {
		return d, err
	}
	flags, err := w.api.agent.List(ctx, "flag", "")
	if err != nil {
		return d, err
	}
	visits, err := w.api.agent.List(ctx, "visit", "")
	if err != nil {
		return d, err
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
	y, m, dd := now.Local().Date()
	for _, v := range visits {
		switch str(v.Fields, "status") {
		case "planned":
			if t, err := time.Parse(time.RFC3339Nano, str(v.Fields, "planned_at")); err == nil {
				if ty, tm, td := t.Local().Date(); ty == y && tm == m && td == dd {
					planned[v.CaseID]++
				}
			}
		case "draft":
			drafts[v.CaseID]++
		}
	}
	for _, cr := range cases {
		var cs schema.Case
		if err := cr.Decode(&cs); err != nil || cs.Closed {
			continue
		}
		row := caseRow{ID: cr.ID, Name: cs.GivenName + " " + cs.FamilyName, CRN: cs.CRN, Address: cs.Address,
			RoSH: cs.RoSH, RoSHLabel: enumLabel("rosh", cs.RoSH), roshRank: roshRank[cs.RoSH],
			family: cs.FamilyName, given: cs.GivenName, PlannedToday: planned[cr.ID], Drafts: drafts[cr.ID]}
		if cs.NoFixedAbode {
			row.Address = "No fixed abode"
		}
		for _, f := range flagOrder {
			if live[cr.ID][f] {
				row.Flags = append(row.Flags, chip{Key: f, Label: enumLabel("flag", f)})
			}
		}
		d.PlannedToday += row.PlannedToday
		d.Rows = append(d.Rows, row)
	}
	// Until the visit policy lands: highest risk first, then by name.
	slices.SortFunc(d.Rows, func(a, b caseRow) int {
		return cmp.Or(b.roshRank-a.roshRank, cmp.Compare(a.family, b.family), cmp.Compare(a.given, b.given), cmp.Compare(a.ID, b.ID))
	})
	return d, nil
}

// str reads a string field; "" when absent or not a string.
func str(fields map[string]json.RawMessage, name string) string {
	raw := fields[name]
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}
