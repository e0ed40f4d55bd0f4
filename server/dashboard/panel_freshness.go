package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"
)

// Measure 9 on the dashboard: freshness. The tablets of the team not
// synced for more than server.DefaultStaleDays, the changes waiting on them, the
// set-aside changes not yet decided, and how long signed visits of the
// period took from signing to the server. The store computes it
// (serverdb.Freshness, panelCtx.Fresh): devices are not case records.
// Devices follow the team and officer filters; the signed visits follow
// every filter (they belong to the cases shown). The weekly trend is the
// median time from signing to the server of the visits signed each week.
func init() {
	registerPanel(&panel{Order: 9, Slug: "freshness", Title: "Data freshness",
		About: fmt.Sprintf("Tablets not synced for more than %d days, changes still waiting on tablets, set-aside changes not decided, and how long signed visits took to reach the server.", server.DefaultStaleDays),
		Build: buildFreshness, Fresh: true, Counts: countedFreshness})
}

func buildFreshness(pc *panelCtx) *panelView {
	inCases := map[string]bool{}
	for _, cr := range pc.In.Cases {
		inCases[cr.Case.ID] = true
	}
	v, devices := freshnessView(pc, inCases)
	if !pc.noTables {
		v.Table = freshnessTable(pc, devices)
	}
	return v
}

// countedFreshness is the panel but its table on a counted overview: the
// signed visits of the page's cases from the read model
// (compliance.Overview.Cases, decision 0075), not of its decoded records.
func countedFreshness(pc *panelCtx) (*panelView, error) {
	ov, err := pc.counts.overview()
	if err != nil {
		return nil, err
	}
	inCases := make(map[string]bool, len(ov.Cases))
	for id := range ov.Cases {
		inCases[id] = true
	}
	v, _ := freshnessView(pc, inCases)
	return v, nil
}

// freshnessView is the panel but its table, the signed visits of the
// cases inCases; with it, the devices the table lists.
func freshnessView(pc *panelCtx, inCases map[string]bool) (*panelView, []serverdb.DeviceFreshness) {
	fr := pc.Fresh()
	if fr == nil {
		fr = &serverdb.Freshness{}
	}
	officers := map[string]bool{}
	for _, o := range pc.F.Officers {
		if pc.F.Officer == "" || o.Value == pc.F.Officer {
			officers[o.Value] = true
		}
	}
	// An admin's or auditor's team filter: that team's devices.
	var devices []serverdb.DeviceFreshness
	for _, d := range fr.Devices {
		if pc.F.Team == "" || d.TeamID == pc.F.Team {
			devices = append(devices, d)
		}
	}
	prev := compliance.PreviousPeriod(pc.F.period())
	visits, before := visitsOf(fr.Visits, inCases), visitsOf(pc.fresh.previous(), inCases)
	var active, stale, pending, notReporting, saOpen, saTotal int
	for _, d := range devices {
		saOpen += d.SetAsideOpen
		saTotal += d.SetAsideTotal
		if d.Revoked {
			continue
		}
		active++
		if d.Stale {
			stale++
		}
		if d.OutboxPending != nil {
			pending += *d.OutboxPending
		} else {
			notReporting++
		}
	}
	lat := latencyOf(visits)
	cur, was := withinADay(visits), withinADay(before)
	v := &panelView{
		Figures: []figure{
			{Label: fmt.Sprintf("signed visits on the server within %d hours of signing", freshHours), Num: cur.Numerator, Den: cur.Denominator, Percent: cur.Percent},
			{Label: fmt.Sprintf("of %d tablets not synced for more than %d days", active, server.DefaultStaleDays), Num: stale, Count: true},
			{Label: "changes waiting on tablets", Num: pending, Count: true},
		},
		Apart: []apart{{"set-aside changes not yet decided", saOpen}, {"tablets that have not said what waits on them (older app)", notReporting},
			{"signed visits in the period", lat.n}},
		TrendTitle: "Median hours from signing a visit to the server, by the week it was signed",
		BarsTitle:  "Days since each officer's least recent tablet synced",
		ByOfficer:  map[string]cell{},
		Headline:   compliance.JudgeIn(pc.In, "freshness", cur, compliance.PreviousFigure{Figure: was, Period: prev}),
	}
	if lat.n > 0 {
		v.Notes = []string{fmt.Sprintf("From signing to the server: median %s, 90th percentile %s, slowest %s.",
			duration(lat.median), duration(lat.p90), duration(lat.max))}
	}
	for _, x := range visits {
		v.CaseIDs = append(v.CaseIDs, x.CaseID)
	}
	slices.Sort(v.CaseIDs)
	v.CaseIDs = slices.Compact(v.CaseIDs)
	if pc.Weekly {
		var week []serverdb.VisitLatency // each week's in turn, in one slice
		for _, w := range pc.F.weeks() {
			week = week[:0]
			for _, x := range visits {
				if day := x.SignedAt[:min(10, len(x.SignedAt))]; day >= string(w.From) && day <= string(w.To) {
					week = append(week, x)
				}
			}
			p := point{Label: weekLabel(w), Note: "no visit signed"}
			if len(week) > 0 {
				h := math.Round(medianSeconds(week)/360) / 10
				p.Value, p.Note = &h, fmt.Sprintf("%d visits", len(week))
			}
			v.Trend = append(v.Trend, p)
		}
	}
	// Per officer: their active tablets, the least recent sync.
	type per struct {
		active, stale, pending int
		oldest                 *int
		never                  bool
	}
	by := map[string]*per{}
	for _, d := range devices {
		if d.Revoked {
			continue
		}
		p := by[d.UserID]
		if p == nil {
			p = &per{}
			by[d.UserID] = p
		}
		p.active++
		if d.Stale {
			p.stale++
		}
		if d.OutboxPending != nil {
			p.pending += *d.OutboxPending
		}
		switch {
		case d.DaysSinceSync == nil:
			p.never = true
		case p.oldest == nil || *d.DaysSinceSync > *p.oldest:
			p.oldest = d.DaysSinceSync
		}
	}
	for _, o := range pc.F.Officers {
		if !officers[o.Value] {
			continue
		}
		p := by[o.Value]
		if p == nil {
			v.Officers = append(v.Officers, point{Label: o.Label, Note: "no tablet"})
			v.ByOfficer[o.Value] = cell{Text: "no tablet", Null: true}
			continue
		}
		pt := point{Label: o.Label, Note: fmt.Sprintf("%d tablets, %d changes waiting", p.active, p.pending)}
		if p.oldest != nil && !p.never {
			d := float64(*p.oldest)
			pt.Value = &d
		} else if p.never {
			pt.Note = "a tablet never synced"
		}
		v.Officers = append(v.Officers, pt)
		c := num(p.stale)
		c.Text = fmt.Sprintf("%d of %d stale", p.stale, p.active)
		if p.stale > 0 {
			c.Mark = "bad"
		}
		v.ByOfficer[o.Value] = c
	}
	return v, devices
}

func freshnessTable(pc *panelCtx, devices []serverdb.DeviceFreshness) *table {
	tb := &table{ID: "devices", Caption: "Tablets, least recently synced first", Empty: "No tablet is registered to these officers.",
		Columns: []column{{Key: "officer", Label: "Officer"}, {Key: "tablet", Label: "Tablet"}, {Key: "app", Label: "App version"},
			{Key: "last", Label: "Last sync"}, {Key: "days", Label: "Days since sync", Num: true},
			{Key: "stale", Label: fmt.Sprintf("Not synced for over %d days", server.DefaultStaleDays)},
			{Key: "waiting", Label: "Changes waiting on it", Num: true}, {Key: "sa_open", Label: "Set aside, not decided", Num: true},
			{Key: "sa_total", Label: "Set aside, ever", Num: true}, {Key: "state", Label: "State"}}}
	ds := slices.Clone(devices)
	slices.SortStableFunc(ds, func(a, b serverdb.DeviceFreshness) int {
		return cmp.Or(cmp.Compare(a.LastSyncAt, b.LastSyncAt), cmp.Compare(a.UserName, b.UserName), cmp.Compare(a.DeviceID, b.DeviceID))
	})
	for _, d := range ds {
		days := cell{Text: "never", Null: true}
		if d.DaysSinceSync != nil {
			days = num(*d.DaysSinceSync)
		}
		stale := txt("no")
		if d.Stale {
			stale = cell{Text: "yes", Mark: "bad"}
		}
		waiting := cell{Text: "not reported", Null: true}
		if d.OutboxPending != nil {
			waiting = num(*d.OutboxPending)
		}
		sa := num(d.SetAsideOpen)
		if d.SetAsideOpen > 0 {
			sa.Href = pc.F.linkWith(dashPrefix+"/review", "kind", serverdb.KindSetAside, "officer", d.UserID)
		}
		state := "in use"
		if d.Revoked {
			state = "revoked"
		}
		tablet := cmp.Or(strings.TrimSpace(d.Name), "tablet of "+d.UserName) // its name, never its id
		tb.Rows = append(tb.Rows, []cell{link(d.UserName, pc.officerHref(d.UserID)), txt(tablet), txt(d.AppVersion),
			txt(cmp.Or(shortTime(d.LastSyncAt), "never")), days, stale, waiting, sa, num(d.SetAsideTotal), txt(state)})
	}
	return tb
}

// latency is signing-to-server: the count, and the median, 90th
// percentile (nearest rank) and slowest in seconds.
type latency struct {
	n                int
	median, p90, max float64
}

// freshBefore keeps the signed visits of a previous period (measure 9's
// headline beside the period's) with the store's change number they were
// read at: a past period's visits and their arrivals change only with the
// records, and the dashboard is read far more often than written. The
// store's read of the period itself (devices, which change without a
// record) is made every time.
type freshBefore struct {
	mu sync.Mutex
	m  map[string]freshEntry // scope, officer, period → visits
}

type freshEntry struct {
	seq    int64
	visits []serverdb.VisitLatency
}

// visits returns the signed visits of the period before opts' (From, To)
// in actor's scope, from the store or as read at the same change number.
func (fb *freshBefore) visits(ctx context.Context, db *serverdb.DB, actor serverdb.Actor, opts serverdb.FreshnessOptions) ([]serverdb.VisitLatency, error) {
	prev := compliance.PreviousPeriod(compliance.Period{From: opts.From, To: opts.To})
	seq, err := db.MaxSeq(ctx)
	if err != nil {
		return nil, err
	}
	key := strings.Join([]string{compliance.ScopeKey(actor), opts.OfficerID, string(prev.From), string(prev.To)}, "|")
	fb.mu.Lock()
	e, ok := fb.m[key]
	fb.mu.Unlock()
	if ok && e.seq == seq {
		return e.visits, nil
	}
	opts.From, opts.To = prev.From, prev.To
	fr, err := db.Freshness(ctx, actor, opts)
	if err != nil {
		return nil, err
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.m == nil || len(fb.m) >= 256 { // a bound: many periods asked once each
		fb.m = map[string]freshEntry{}
	}
	fb.m[key] = freshEntry{seq, fr.Visits}
	return fr.Visits, nil
}

// freshHours: a signed visit on the server within this many hours of its
// signing counts in measure 9's headline.
const freshHours = 24

// visitsOf are the visits of vs (signed visits, about 200 bytes each) of
// the cases inCases, in vs' order: vs itself when it holds no other case's
// (the page's scope and filters are measure 9's, and usually its cases
// are), only read. Appended one by one to a growing list, a team's two
// periods' 5,000 visits were copied again and again, about 3 MB a page
// (decision 0108).
func visitsOf(vs []serverdb.VisitLatency, inCases map[string]bool) []serverdb.VisitLatency {
	n := 0
	for i := range vs {
		if inCases[vs[i].CaseID] {
			n++
		}
	}
	if n == len(vs) {
		return vs
	}
	out := make([]serverdb.VisitLatency, 0, n)
	for i := range vs {
		if inCases[vs[i].CaseID] {
			out = append(out, vs[i])
		}
	}
	return out
}

// withinADay is measure 9's headline: of the signed visits vs, those on the
// server within freshHours of their signing.
func withinADay(vs []serverdb.VisitLatency) compliance.Figure {
	n := 0
	for _, v := range vs {
		if v.Seconds <= freshHours*3600 {
			n++
		}
	}
	return compliance.FigureOf(n, len(vs))
}

func latencyOf(vs []serverdb.VisitLatency) latency {
	if len(vs) == 0 {
		return latency{}
	}
	s := sortedSeconds(vs)
	n := len(s)
	return latency{n: n, median: medianSeconds(vs), p90: s[(9*n+9)/10-1], max: s[n-1]}
}

// duration writes seconds for people: "under a minute", "12 min",
// "3 h 5 min", "4 d 2 h".
func duration(sec float64) string {
	m := int(sec / 60)
	switch {
	case sec < 60:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 24*60:
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	}
	return fmt.Sprintf("%d d %d h", m/(24*60), m/60%24)
}

func sortedSeconds(vs []serverdb.VisitLatency) []float64 {
	s := make([]float64, len(vs))
	for i, v := range vs {
		s[i] = v.Seconds
	}
	slices.Sort(s)
	return s
}

// medianSeconds is the median (the mean of the middle two of an even
// count), as serverdb's LatencyStats computes it.
func medianSeconds(vs []serverdb.VisitLatency) float64 {
	s := sortedSeconds(vs)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
