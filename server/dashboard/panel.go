package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"slices"
	"sync"

	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// A panel is one compliance measure on the dashboard: its title, its
// figure, a weekly trend, a per-officer comparison and its table of cases.
// Each measure is one file (panel_<name>.go) whose init calls
// registerPanel; the overview, the measure page, the officer page, the
// print page and the CSV export all come from the registry, so a new
// measure needs nothing else. See docs/supervisor.md, "Adding a measure".
type panel struct {
	Order int    // place on the page: the measure's number
	Slug  string // in /dashboard/measures/<slug>; the CSV's file name
	Title string
	About string // what the figure counts, in a sentence
	// Build computes the panel over pc.In (already filtered); pc.Weekly
	// asks for the trend too.
	Build func(pc *panelCtx) *panelView
	// Fresh: Build reads pc.Fresh() (the store's measure 9), which is then
	// loaded for the page.
	Fresh bool
	// Week, when set, is the trend's point for one week (Build leaves
	// Trend empty): the measure called with that week, as decision 0011
	// has it. buildPanels then computes the panels' weeks week by week.
	Week func(pc *panelCtx, w compliance.Period) point
	// Requirements: the measure computes the policy's requirements
	// (compliance's Overdue, Workload, FirstHomeVisits, Exemptions). Each
	// case keeps those of one as-of day only, so buildPanels builds these
	// panels one after the other on one goroutine, every call for one as-of
	// day together, rather than side by side, where they took turns
	// throwing away each other's.
	Requirements bool
	// QA: Build reads pc.QA (measure 10's ratings and pool), loaded for
	// the page (panel_qa.go).
	QA bool
	// Counts, when set, builds the panel but its table from the read
	// model, without a decoded record (decision 0065): the overview uses it
	// when the read model filters as the page does (panelCtx.counted).
	// Its view is Build's for the same filters, but the table.
	Counts func(pc *panelCtx) (*panelView, error)
}

var panels []*panel

// registerPanel adds p to the dashboard (from an init function).
func registerPanel(p *panel) {
	if p.Slug == "" || p.Build == nil {
		panic("registerPanel: a panel needs a slug and a Build")
	}
	for _, q := range panels {
		if q.Slug == p.Slug {
			panic("registerPanel: two panels named " + p.Slug)
		}
	}
	panels = append(panels, p)
	slices.SortStableFunc(panels, func(a, b *panel) int { return cmp.Compare(a.Order, b.Order) })
}

func panelBySlug(slug string) *panel {
	for _, p := range panels {
		if p.Slug == slug {
			return p
		}
	}
	return nil
}

// panelCtx is what a panel is built from.
type panelCtx struct {
	In     compliance.Input // the cases in scope that pass the filters
	F      *filters
	Weekly bool
	// fresh is measure 9 as the store computes it (devices and set-aside
	// changes are not case records): the actor's scope, the filters'
	// officer and period (readFresh). It is read while the records are
	// loaded or the panels built; Fresh waits for it, wait gives its error.
	// Nil when no panel reads it.
	fresh *freshRead

	// noTables: the page shows no panel's table (the overview, the print
	// page, an officer's page), so the panels leave their tables out: a
	// 500-case team's contacts alone were about 3 CPU ms and 3 MB a page,
	// built and dropped (decision 0116).
	noTables bool

	// The filters' query, and each officer's link, made once: a table
	// links every row (see link).
	linkOnce sync.Once
	linkQ    string
	hrefMu   sync.Mutex
	officers map[string]string
	// QA: measure 10's ratings and pool, when a panel reads them
	// (panel_qa.go).
	QA *compliance.QAInput

	// trends keeps the weekly points of the panels with a Week function;
	// trendKey says what they depend on (see weekTrends).
	trends   *weekTrends
	trendKey string
	// shares are the weekly trends read from the read model on a counted
	// page (panelCounts.shares), by the panel's slug; a panel without one
	// computes its trend in Go, as every panel of a page built in Go does
	// (decision 0095). The read runs beside the panels' building; share
	// waits for it, wait gives its error.
	shares     map[string][]point
	sharesErr  error
	sharesDone chan struct{}

	// counts, when set, builds the panels with a Counts function from the
	// read model (decision 0065); wait gives the first error.
	counts *panelCounts
}

// panelCounts is what a panel's Counts reads the read model with: the
// overview's counted panels and their trends, read once for the page on
// one snapshot (compliance.Service.OverviewCounts, decision 0072) by the
// first panel or trend that needs them.
type panelCounts struct {
	ctx    context.Context
	comp   *compliance.Service
	actor  serverdb.Actor
	f      *filters
	weekly bool // the overview's trends are read too

	once  sync.Once
	ov    *compliance.Overview
	ovErr error

	mu  sync.Mutex
	err error
}

// overview is the page's counted panels and trends, read once.
func (c *panelCounts) overview() (*compliance.Overview, error) {
	c.once.Do(func() {
		var weeks []compliance.Period
		if c.weekly {
			weeks = c.f.weeks()
		}
		c.ov, c.ovErr = c.comp.OverviewCounts(c.ctx, c.actor, c.f.narrow(), c.f.period(), c.f.AsOf, weeks)
	})
	return c.ov, c.ovErr
}

// shares are the weekly trends of the panels ps the overview read
// (compliance.Overview.Weeks), by the panel's slug: a counted page's
// trends, on the overview's snapshot. None with a RoSH level or a flag
// chosen, which the read model does not filter by.
func (c *panelCounts) shares(ps []*panel) (map[string][]point, error) {
	if c.f.Risk != "" || c.f.Flag != "" {
		return nil, nil
	}
	ov, err := c.overview()
	if err != nil {
		return nil, err
	}
	out := map[string][]point{}
	for _, p := range ps {
		if figs, ok := ov.Weeks[p.Slug]; ok {
			out[p.Slug] = sharePoints(c.f.weeks(), figs)
		}
	}
	return out, nil
}

// countedPanel is a panel's Counts: its report of the page's overview
// (panelCounts.overview), shown by view (the panel but its table) with
// the report's headline.
func countedPanel[R any](report func(*compliance.Overview) compliance.Counted[R], view func(*panelCtx, R, []string) *panelView, headline func(R) *compliance.Headline) func(*panelCtx) (*panelView, error) {
	return func(pc *panelCtx) (*panelView, error) {
		ov, err := pc.counts.overview()
		if err != nil {
			return nil, err
		}
		rep := report(ov)
		v := view(pc, rep.Report, rep.Cases)
		v.Headline = headline(rep.Report)
		return v, nil
	}
}

// newPanelCounts is what the panels' Counts read with, for the filters f
// (with weekly, their trends too): the officers' and teams' names read
// once (compliance.Service.WithNames), before the overview's snapshot.
func (s *site) newPanelCounts(ctx context.Context, actor serverdb.Actor, f *filters, weekly bool) (*panelCounts, error) {
	ctx, err := s.comp.WithNames(ctx)
	if err != nil {
		return nil, err
	}
	return &panelCounts{ctx: ctx, comp: s.comp, actor: actor, f: f, weekly: weekly}, nil
}

// countedOverview is the page's overview from the read model, when the
// page is counted and its filters choose no RoSH level and no flag; false
// otherwise, or when its read failed (wait says so).
func (pc *panelCtx) countedOverview() (*compliance.Overview, bool) {
	if pc.counts == nil || pc.F.Risk != "" || pc.F.Flag != "" {
		return nil, false
	}
	ov, err := pc.counts.overview()
	if err != nil {
		pc.counts.fail(fmt.Errorf("dashboard overview: %w", err))
		return nil, false
	}
	return ov, true
}

// fail keeps err, the first error of the page's counted panels.
func (c *panelCounts) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// counted says whether p is built from the read model: the page asked for
// it, p has a Counts, and the filters choose no RoSH level and no flag
// (which the read model's figures do not filter by).
func (pc *panelCtx) counted(p *panel) bool {
	return pc.counts != nil && p.Counts != nil && pc.F.Risk == "" && pc.F.Flag == ""
}

// build is p's view before finishPanel: from the read model when counted,
// else Build over pc.In. A failed read leaves the panel empty and fails
// the page (wait).
func (pc *panelCtx) build(p *panel) *panelView {
	if !pc.counted(p) {
		return p.Build(pc)
	}
	v, err := p.Counts(pc)
	if err != nil {
		pc.counts.fail(fmt.Errorf("dashboard panel %s: %w", p.Slug, err))
		return &panelView{ByOfficer: map[string]cell{}}
	}
	return v
}

// share is panel slug's weekly trend from the read model, once read; false
// when the page has none for it (or the read failed: wait says so).
func (pc *panelCtx) share(slug string) ([]point, bool) {
	if pc.sharesDone != nil {
		<-pc.sharesDone
	}
	pts, ok := pc.shares[slug]
	return pts, ok
}

// weekly is panel slug's weekly trend: from the read model when the page
// is counted and read it (panelCounts.shares), else at(w) for each week,
// computed in Go; nil on a page without trends.
func (pc *panelCtx) weekly(slug string, at func(w compliance.Period) point) []point {
	if pts, ok := pc.share(slug); ok {
		return pts
	}
	if !pc.Weekly {
		return nil
	}
	var out []point
	for _, w := range pc.F.weeks() {
		out = append(out, at(w))
	}
	return out
}

// sharePoints are a share's weekly figures as a trend's points.
func sharePoints(weeks []compliance.Period, figs []compliance.Figure) []point {
	pts := make([]point, len(weeks))
	for i, x := range figs {
		pts[i] = share(weekLabel(weeks[i]), x.Numerator, x.Denominator, x.Percent)
	}
	return pts
}

// weekTrends keeps the trends of the panels with a Week function (overdue
// visits and the next 4 weeks: each point computes every case's
// requirements on a week's end, 13 as-of days of the overview's 15) by
// what they depend on: the scope, the filters, the as-of day, the rules'
// version and the store's change number. The dashboard is read far more often than it is
// written: after a write, the first page computes them again.
type weekTrends struct {
	mu sync.Mutex
	m  map[string][]point
}

func (wt *weekTrends) get(key string) ([]point, bool) {
	if wt == nil || key == "" {
		return nil, false
	}
	wt.mu.Lock()
	defer wt.mu.Unlock()
	pts, ok := wt.m[key]
	return pts, ok
}

func (wt *weekTrends) put(key string, pts []point) {
	if wt == nil || key == "" {
		return
	}
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if wt.m == nil || len(wt.m) >= 512 { // a bound: old change numbers are never asked again
		wt.m = map[string][]point{}
	}
	wt.m[key] = pts
}

// link is F.Link(path), the filters' query encoded once for the page
// (the filters do not change while its panels are built).
func (pc *panelCtx) link(path string) string {
	if pc.F == nil {
		return path
	}
	pc.linkOnce.Do(func() { pc.linkQ = pc.F.values(false).Encode() })
	return path + "?" + pc.linkQ
}

// newPanelCtx is what a page's panels (ps) are built from. When one of
// them reads measure 9, the store's read starts now and runs beside the
// panels' building; the page calls pc.wait once they are built. With
// counted, the panels with a Counts are built from the read model
// (decision 0065), and so are their trends, read beside the panels'
// building. A page built in Go computes every trend over its decoded
// records: measures 1 and 4's from the read model (decision 0058) cost
// more than in Go once the records are read (at 25,000 cases their
// statements read the whole service's cases and safety assessments on
// PostgreSQL; decision 0095).
func (s *site) newPanelCtx(c *fiber.Ctx, actor serverdb.Actor, in compliance.Input, f *filters, weekly, counted bool, ps ...*panel) (*panelCtx, error) {
	return s.newPanelCtxFresh(c, actor, in, f, weekly, counted, nil, ps...)
}

// newPanelCtxFresh is newPanelCtx with measure 9's read already started
// for actor and f (readFresh), or nil to start it here when a panel of ps
// reads it. The page's input keeps its workload reports: measures 2 and
// 8 ask for each day's several times (compliance.KeepWorkloads).
func (s *site) newPanelCtxFresh(c *fiber.Ctx, actor serverdb.Actor, in compliance.Input, f *filters, weekly, counted bool, fr *freshRead, ps ...*panel) (*panelCtx, error) {
	pc := &panelCtx{In: compliance.KeepWorkloads(in), F: f, Weekly: weekly, trends: &s.trends}
	if counted {
		var err error
		if pc.counts, err = s.newPanelCounts(c.UserContext(), actor, f, weekly); err != nil {
			return nil, err
		}
	}
	if weekly {
		seq, err := s.db.MaxSeq(c.UserContext())
		if err != nil {
			return nil, err
		}
		rules := ""
		if in.Policy != nil {
			rules = in.Policy.Version
		}
		pc.trendKey = fmt.Sprintf("%s|%d|%s|%s|%s", compliance.ScopeKey(actor), seq, rules, f.AsOf, f.values(false).Encode())
	}
	pc.fresh = fr
	if fr == nil {
		pc.fresh = s.readFresh(c.UserContext(), actor, f, ps)
	}
	// A counted QA panel reads the read model (decision 0075).
	if slices.ContainsFunc(ps, func(p *panel) bool { return p.QA && !pc.counted(p) }) {
		var err error
		if pc.QA, err = s.qaPanelInput(c, actor); err != nil {
			return nil, err
		}
	}
	if weekly && counted {
		pc.sharesDone = make(chan struct{})
		go func() {
			defer close(pc.sharesDone)
			pc.shares, pc.sharesErr = pc.counts.shares(ps)
		}()
	}
	return pc, nil
}

// Fresh is measure 9 for the page (nil when it was not read, or failed:
// wait says so).
func (pc *panelCtx) Fresh() *serverdb.Freshness {
	if pc.fresh == nil {
		return nil
	}
	<-pc.fresh.done
	return pc.fresh.fr
}

// freshRead is measure 9's read for a page (readFresh): the store's
// Freshness of the filters' period and the previous period's signed
// visits, read in a goroutine of its own.
type freshRead struct {
	done   chan struct{} // closed once read
	fr     *serverdb.Freshness
	before []serverdb.VisitLatency // the previous period's signed visits
	err    error
	cancel context.CancelFunc
}

// readFresh starts measure 9's read for actor and the filters f when a
// panel of ps reads it (nil otherwise).
func (s *site) readFresh(ctx context.Context, actor serverdb.Actor, f *filters, ps []*panel) *freshRead {
	if !slices.ContainsFunc(ps, func(p *panel) bool { return p.Fresh }) {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	opts := serverdb.FreshnessOptions{StaleDays: server.DefaultStaleDays, OfficerID: f.Officer, From: f.From, To: f.To}
	r := &freshRead{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer cancel()
		defer close(r.done)
		fr, err := s.db.Freshness(ctx, actor, opts)
		if err != nil {
			r.err = err
			return
		}
		r.fr = &fr
		// The previous period's signed visits, for the headline.
		r.before, r.err = s.before.visits(ctx, s.db, actor, opts)
	}()
	return r
}

// previous is the previous period's signed visits read (none when r is
// nil or failed).
func (r *freshRead) previous() []serverdb.VisitLatency {
	if r == nil {
		return nil
	}
	return r.before
}

// drop ends a read whose page failed before it was used (r may be nil).
func (r *freshRead) drop() {
	if r != nil {
		r.cancel()
	}
}

// wait waits for measure 9's read and the counted trends' (shares), and
// gives their error: the page fails with it.
func (pc *panelCtx) wait() error {
	if pc.counts != nil {
		pc.counts.mu.Lock()
		err := pc.counts.err
		pc.counts.mu.Unlock()
		if err != nil {
			return err
		}
	}
	if pc.sharesDone != nil {
		<-pc.sharesDone
		if pc.sharesErr != nil {
			return pc.sharesErr
		}
	}
	if pc.fresh == nil {
		return nil
	}
	<-pc.fresh.done
	return pc.fresh.err
}

// caseHref and officerHref link to the drill-down pages, keeping the
// filters.
func (pc *panelCtx) caseHref(id string) string { return pc.link(dashPrefix + "/cases/" + id) }
func (pc *panelCtx) officerHref(id string) string {
	pc.hrefMu.Lock()
	defer pc.hrefMu.Unlock()
	h, ok := pc.officers[id]
	if !ok {
		h = pc.F.linkWith(dashPrefix+"/officers/"+id, "officer", id)
		if pc.officers == nil {
			pc.officers = map[string]string{}
		}
		pc.officers[id] = h
	}
	return h
}
func (pc *panelCtx) visitHref(id string) string { return pc.link(dashPrefix + "/visits/" + id) }

// panelView is a built panel.
type panelView struct {
	Panel   *panel
	Figures []figure // the headline figure(s)
	Apart   []apart  // kept apart from the figure, never hidden in it
	Notes   []string // further figures in words ("median 12 min")

	Trend      []point // one per week of the period, oldest first
	TrendTitle string
	Officers   []point // one per officer
	BarsTitle  string
	Percent    bool // trend and bars are percentages

	// ByOfficer is the panel's cell in the overview's officers table.
	ByOfficer map[string]cell
	Table     *table   // the cases (or items) behind the figure
	CaseIDs   []string // the cases the panel shows, for the audit

	TrendSVG, BarsSVG template.HTML
	Href              string // the measure's page, with the filters

	// Headline: the first figure against its target, beside the previous
	// period (compliance.HeadlineOf); nil for a measure without one.
	Headline *compliance.Headline

	// Published: the headline as published, when the page's period and
	// scope have a current publication (showPublished); nil otherwise.
	Published *publishedFigure
}

// figure is a headline: "12 of 15 (80.0%)", or a count.
type figure struct {
	Label   string
	Num     int
	Den     int
	Percent *float64
	Count   bool // Num alone is the figure
	Unit    string
	TooFew  bool // Den is above 0 and below the rules' minimum
}

// Text is the figure in words.
func (f figure) Text() string {
	if f.Count {
		return fmt.Sprintf("%d %s", f.Num, f.Unit)
	}
	return fmt.Sprintf("%d of %d", f.Num, f.Den)
}

type apart struct {
	Label string
	N     int
}

// buildPanels builds every panel, and draws its charts.
// The panels only read pc, so they are built side by side: on a
// two-core machine the overview takes about half the time. The panels
// whose measures compute requirements are built on one goroutine of their
// own (see panel.Requirements): first their figures, all on the as-of day,
// then their trends week by week, each week's calls together.
func buildPanels(pc *panelCtx) []*panelView {
	out := make([]*panelView, len(panels))
	panics := make([]any, len(panels))
	var wg sync.WaitGroup
	var req []int
	for i, p := range panels {
		if p.Requirements && !pc.counted(p) {
			req = append(req, i)
			continue
		}
		wg.Go(func() {
			// A panic goes back to the request's goroutine, where the
			// recover middleware answers it, rather than ending the server.
			defer func() { panics[i] = recover() }()
			out[i] = buildPanel(p, pc)
		})
	}
	wg.Go(func() {
		at := -1 // the panel being built, for a panic
		defer func() {
			if r := recover(); r != nil {
				panics[at] = r
			}
		}()
		for _, i := range req {
			at = i
			out[i] = pc.build(panels[i])
		}
		if pc.Weekly {
			// The latest week first: it usually ends on the as-of day, whose
			// requirements the figures have just computed.
			weeks := pc.F.weeks()
			var todo []int
			for _, i := range req {
				if panels[i].Week == nil {
					continue
				}
				if pts, ok := pc.trends.get(panels[i].Slug + "|" + pc.trendKey); ok {
					out[i].Trend = pts
					continue
				}
				out[i].Trend = make([]point, len(weeks))
				todo = append(todo, i)
			}
			for j := len(weeks) - 1; j >= 0; j-- {
				for _, i := range todo {
					at = i
					out[i].Trend[j] = panels[i].Week(pc, weeks[j])
				}
			}
			for _, i := range todo {
				pc.trends.put(panels[i].Slug+"|"+pc.trendKey, out[i].Trend)
			}
		}
		for _, i := range req {
			at = i
			finishPanel(panels[i], pc, out[i])
		}
	})
	wg.Wait()
	for i, r := range panics {
		if r != nil {
			panic(fmt.Sprintf("dashboard panel %s: %v", panels[i].Slug, r))
		}
	}
	return out
}

// buildPanel builds one panel, its trend and its charts.
func buildPanel(p *panel, pc *panelCtx) *panelView {
	v := pc.build(p)
	if pc.Weekly && p.Week != nil && !pc.counted(p) { // a counted panel's trend is its Counts'
		key := p.Slug + "|" + pc.trendKey
		if pts, ok := pc.trends.get(key); ok {
			v.Trend = pts
		} else {
			for _, w := range pc.F.weeks() {
				v.Trend = append(v.Trend, p.Week(pc, w))
			}
			pc.trends.put(key, v.Trend)
		}
	}
	return finishPanel(p, pc, v)
}

// finishPanel links a built panel and draws its charts.
func finishPanel(p *panel, pc *panelCtx, v *panelView) *panelView {
	v.Panel = p
	minDen := pc.In.Targets().MinDenominator
	for i := range v.Figures {
		f := &v.Figures[i]
		f.TooFew = !f.Count && f.Den > 0 && f.Den < minDen
	}
	if v.Headline == nil && len(v.Figures) > 0 && !v.Figures[0].Count && pc.F != nil {
		f := v.Figures[0]
		v.Headline = compliance.HeadlineOf(p.Slug, pc.In, compliance.Figure{Numerator: f.Num, Denominator: f.Den, Percent: f.Percent}, pc.F.period())
	}
	v.Href = pc.F.Link(dashPrefix + "/measures/" + p.Slug)
	if pc.Weekly {
		v.TrendSVG = trendChart(v.TrendTitle, v.Trend, v.Percent)
	}
	v.BarsSVG = barsChart(v.BarsTitle, v.Officers, v.Percent)
	return v
}

// weekLabel is a week's label in charts: its first day, "2 Nov".
func weekLabel(w compliance.Period) string { return w.From.Time().Format("2 Jan") }

func fptr(f float64) *float64 { return &f }

// share is num of den as a chart point.
func share(label string, num, den int, p *float64) point {
	return point{Label: label, Value: p, Note: fmt.Sprintf("%d of %d", num, den)}
}

// officerShare adds an officer's num of den to the bars and to the
// overview's officers table.
func (v *panelView) officerShare(name, id string, num, den int, p *float64) {
	v.Officers = append(v.Officers, share(name, num, den, p))
	v.ByOfficer[id] = shareCell(num, den, p)
}

func shareCell(num, den int, p *float64) cell {
	c := pctCell(p)
	c.Text = fmt.Sprintf("%d/%d", num, den)
	if p != nil {
		c.Text += fmt.Sprintf(" (%.1f%%)", *p)
	}
	return c
}
