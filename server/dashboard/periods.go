package dashboard

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// Published periods in the dashboard (docs/supervisor.md, "Publishing a
// period"; docs/compliance.md, "Published periods"):
//
//	POST /dashboard/periods        publish the overview's period (the form under it; CSRF checked by dashAuth)
//	GET  /dashboard/periods        the publications in scope
//	GET  /dashboard/periods/:id    one: its figures as published beside now's, and the revisions since
//
// The checks and the writing are the API's (server.Server.Publish); a
// refusal writes nothing and says why in a flash on the overview.

// publishForm is the overview's "Publish this period" form.
type publishForm struct {
	From, To schema.Date
	Team     string // the admin's team filter; "" publishes their whole scope
	Scope    string // in words
	CSRF     string
	Next     string
	Again    bool // a publication of this period is current: a reason is required
}

// currentPublication returns the current publication of the overview's
// scope and period, if any.
func (s *site) currentPublication(c *fiber.Ctx, actor serverdb.Actor, f *filters) (*serverdb.Publication, error) {
	pf := serverdb.PublicationFilter{From: f.From, To: f.To}
	switch {
	case actor.Role == schema.RoleSupervisor:
		pf.TeamID = actor.TeamID
	case f.Team != "":
		pf.TeamID = f.Team
	default:
		pf.Service = true
	}
	ps, err := s.db.ListPublications(c.UserContext(), actor, pf)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Current() {
			return &p, nil
		}
	}
	return nil, nil
}

// overviewPublication is the overview's hook: the current publication of
// its period and scope, with each view's figure as published
// (showPublished), and the form to publish it (for a supervisor or an
// admin, when no officer, risk or flag filter narrows the page and the
// period has ended or ends today).
func (s *site) overviewPublication(c *fiber.Ctx, actor serverdb.Actor, f *filters, scope string, views []*panelView) (*publishedBanner, *publishForm, error) {
	b, err := s.showPublished(c, actor, f, views)
	if err != nil {
		return nil, nil, err
	}
	sess := dashSessionOf(c)
	if !canDecide(&sess.user) || f.Officer != "" || f.Risk != "" || f.Flag != "" || f.To > f.Today {
		return b, nil, nil
	}
	if actor.Role != schema.RoleSupervisor && f.Team == "" {
		scope = "the whole service"
	}
	return b, &publishForm{From: f.From, To: f.To, Team: f.Team, Scope: scope, CSRF: sess.csrf, Next: f.Link(dashPrefix + "/"), Again: b != nil}, nil
}

// publishedBanner says that the page's period is published; Shown when
// a card shows its figure as published (no officer, risk or flag filter
// narrows the page, and the page has a measure the publication froze),
// with the revisions since.
type publishedBanner struct {
	Line, Href string
	Shown      bool
	Revisions  int
}

// publishedFigure is a card's headline as published, the figure of
// record, and as computed now (decision 0039).
type publishedFigure struct {
	Figure, Now string
	Changed     bool
}

// showPublished returns the banner of the current publication of the
// page's period and scope (nil when there is none) and, unless an
// officer, risk or flag filter narrows the page (a publication has none),
// sets on each view of a measure it froze the headline as published
// beside now's.
func (s *site) showPublished(c *fiber.Ctx, actor serverdb.Actor, f *filters, views []*panelView) (*publishedBanner, error) {
	cur, err := s.currentPublication(c, actor, f)
	if err != nil || cur == nil {
		return nil, err
	}
	b := &publishedBanner{Href: dashPrefix + "/periods/" + cur.ID, Line: publishedLine(*cur)}
	if f.Officer != "" || f.Risk != "" || f.Flag != "" {
		return b, nil
	}
	pub, err := s.db.GetPublication(c.UserContext(), actor, cur.ID)
	if err != nil {
		return nil, err
	}
	_, v, err := s.comp.ViewPublication(c.UserContext(), actor, pub, schema.DateOf(s.now()))
	if err != nil {
		return nil, err
	}
	b.Revisions = len(v.Revisions)
	for _, m := range v.Now {
		for _, pv := range views {
			if pv.Panel.Slug == m.Slug && (m.Published != nil || m.Now != nil) {
				now := headlineWords(m.Now)
				pv.Published = &publishedFigure{Figure: headlineWords(m.Published), Now: now, Changed: now != headlineWords(m.Published)}
				b.Shown = true
			}
		}
	}
	return b, nil
}

// publishedLine is "Published 4 December 2026 by Ann Example, rules
// version 2026-11-23.1 (r:…)".
func publishedLine(p serverdb.Publication) string {
	return fmt.Sprintf("Published %s by %s, rules version %s (%s)", ukDay(p.PublishedAt), cmp.Or(p.PublishedByName, "someone no longer named"),
		p.RuleVersion, p.RulesTag)
}

// ukDay is a timestamp's day in words ("4 December 2026").
func ukDay(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	return t.Format("2 January 2006")
}

// POST /dashboard/periods: publish.
func (s *site) dashPublish(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	form, err := dashForm(c)
	if err != nil {
		return err
	}
	next := dashNext(cmp.Or(form.Get("next"), dashPrefix+"/"))
	p, err := s.srv.Publish(c, sess.actor(), server.PublishRequest{From: form.Get("from"), To: form.Get("to"), TeamID: form.Get("team"), Reason: form.Get("reason")})
	var msg string
	switch e := schema.AsError(err); {
	case err == nil:
		msg = "Published: the figures of " + ukDate(p.From) + " to " + ukDate(p.To) + " are kept as they are now."
		next = dashPrefix + "/periods/" + p.ID
	case e != nil && e.Field == "reason" && e.Code == schema.ECodeRequired:
		msg = "Nothing was published: this period was published already. Give the reason for publishing it again; the earlier publication is kept, marked superseded."
	case e != nil && (e.Code == schema.ECodeInvalid || e.Code == schema.ECodeRequired || e.Code == schema.ECodeUnavailable):
		msg = "Nothing was published: " + strings.TrimSuffix(e.Message, ".") + "."
	default:
		return err
	}
	return flashTo(c, msg, next)
}

// teamNames names every team by id.
func (s *site) teamNames(c *fiber.Ctx) (map[string]string, error) {
	teams, err := s.db.ListTeams(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range teams {
		out[t.ID] = t.Name
	}
	return out, nil
}

func scopeWords(p serverdb.Publication, teams map[string]string) string {
	if p.TeamID == "" {
		return "The whole service"
	}
	return cmp.Or(teams[p.TeamID], "Team "+p.TeamID)
}

func statusWords(p serverdb.Publication) string {
	if p.Current() {
		return "Current"
	}
	return "Superseded"
}

// publicationsTable lists publications, newest first.
func publicationsTable(id, caption string, ps []serverdb.Publication, teams map[string]string) *table {
	t := &table{ID: id, Caption: caption, Empty: "Nothing has been published yet.",
		Columns: []column{{Key: "period", Label: "Period"}, {Key: "scope", Label: "Scope"}, {Key: "published", Label: "Published"},
			{Key: "by", Label: "By"}, {Key: "rules", Label: "Rules version"}, {Key: "status", Label: "Status"}, {Key: "reason", Label: "Reason given"}}}
	for _, p := range ps {
		t.Rows = append(t.Rows, []cell{link(ukDate(p.From)+" to "+ukDate(p.To), dashPrefix+"/periods/"+p.ID), txt(scopeWords(p, teams)),
			txt(ukTime(p.PublishedAt)), txt(p.PublishedByName), txt(p.RuleVersion), txt(statusWords(p)), txt(p.Reason)})
	}
	return t
}

type periodsData struct {
	Table *table
}

// GET /dashboard/periods: the publications in the caller's scope.
func (s *site) dashPeriods(c *fiber.Ctx) error {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	ps, err := s.db.ListPublications(c.UserContext(), actor, serverdb.PublicationFilter{})
	if err != nil {
		return err
	}
	teams, err := s.teamNames(c)
	if err != nil {
		return err
	}
	t := publicationsTable("periods", "Published periods", ps, teams)
	if done, err := tablesOrCSV(c, f, dashPrefix+"/periods", "periods", t); done {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "periods", dashView{Title: "Published periods", Filters: f, NoBar: true,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}}, Data: periodsData{Table: t}})
}

type periodData struct {
	Heading, Scope, Line  string
	Current               bool
	SupersededBy, Reason  string // when superseded: by whom and why (the later one's)
	SupersededHref        string
	Supersedes, SupersWhy string
	SupersedesHref        string
	Measures              []*table
	Revisions             *table
	History               *table
}

// figureWords is a figure's path in words: "visited_at_all.numerator" →
// "visited at all: numerator".
func figureWords(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		parts[i] = label(p)
	}
	return strings.Join(parts, ": ")
}

// minus is the figures of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// headlineWords is "1 of 2 (50.0%)".
func headlineWords(f *compliance.Figure) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("%d of %d (%s)", f.Numerator, f.Denominator, dashFuncs["pct"].(func(*float64) string)(f.Percent))
}

func countWords(n *int) string {
	if n == nil {
		return "none"
	}
	return fmt.Sprint(*n)
}

// valueWords shows a revision's value in words: codes as labels.
func valueWords(v string) string {
	if enumValues[v] {
		return label(v)
	}
	return v
}

// measureTable sets one measure's published figures beside now's.
func measureTable(m compliance.MeasureComparison) *table {
	t := &table{ID: "m-" + m.Slug, Caption: m.Title, Empty: "No figures.",
		Columns: []column{{Key: "figure", Label: "Figure"}, {Key: "published", Label: "As published"}, {Key: "now", Label: "Now"}}}
	now := headlineWords(m.Now)
	if now != headlineWords(m.Published) {
		now += " (changed)"
	}
	t.Rows = append(t.Rows, []cell{txt("Headline"), txt(headlineWords(m.Published)), txt(now)})
	for _, f := range m.Figures {
		pub, cur := countWords(f.Published), countWords(f.Now)
		if f.Percent {
			pct := dashFuncs["pct"].(func(*float64) string)
			pub, cur = pct(f.PublishedPercent), pct(f.NowPercent)
		}
		if f.Changed {
			cur += " (changed)"
		}
		t.Rows = append(t.Rows, []cell{txt(figureWords(f.Figure)), txt(pub), txt(cur)})
	}
	return t
}

// revisionsTable lists the revisions since publication, newest first.
func revisionsTable(rs []compliance.Revision) *table {
	t := &table{ID: "revisions", Caption: "Revisions since publication",
		Empty: "No record of a case in these figures has changed since they were published.",
		Columns: []column{{Key: "when", Label: "When"}, {Key: "case", Label: "Case"}, {Key: "record", Label: "Record"},
			{Key: "what", Label: "What changed"}, {Key: "by", Label: "By"}, {Key: "figure", Label: "The figure now"}}}
	for _, r := range rs {
		var what []string
		for _, ch := range r.Changes {
			s := label(ch.Field) + ": "
			if ch.Old != "" {
				s += valueWords(ch.Old) + " → "
			}
			what = append(what, s+valueWords(ch.New))
		}
		var figs []string
		for _, f := range r.Figures {
			left, joined := minus(f.PublishedIn, f.NowIn), minus(f.NowIn, f.PublishedIn)
			pub, now := headlineWords(f.Published), headlineWords(f.Now)
			if pub == now && len(left) == 0 && len(joined) == 0 {
				continue
			}
			s := f.Title + ": " + pub + " as published, " + now + " now"
			if len(left) > 0 {
				s += "; this case left " + strings.Join(words(left), "; ")
			}
			if len(joined) > 0 {
				s += "; this case joined " + strings.Join(words(joined), "; ")
			}
			figs = append(figs, s)
		}
		if len(figs) == 0 {
			figs = []string{"No figure moved"}
		}
		t.Rows = append(t.Rows, []cell{txt(ukTime(r.At)), link(r.CRN, dashPrefix+"/cases/"+r.CaseID),
			txt(label(r.Entity) + " " + r.RecordID), txt(r.What + ": " + cmp.Or(strings.Join(what, "; "), "no field named")),
			txt(cmp.Or(r.ByName, "someone no longer named")), txt(strings.Join(figs, ". ") + ".")})
	}
	return t
}

func words(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = figureWords(p)
	}
	return out
}

// GET /dashboard/periods/:id: one published period.
func (s *site) dashPeriod(c *fiber.Ctx) error {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	a, _, err := s.srv.PeriodAnswer(c, actor, c.Params("id"), "dashboard/period")
	if err != nil {
		return err
	}
	teams, err := s.teamNames(c)
	if err != nil {
		return err
	}
	p := a.Publication
	d := periodData{Heading: "Published period: " + ukDate(p.From) + " to " + ukDate(p.To), Scope: scopeWords(p, teams),
		Line: publishedLine(p), Current: p.Current()}
	for _, h := range a.History {
		if h.ID == p.SupersededBy {
			d.SupersededBy, d.Reason, d.SupersededHref = publishedLine(h), h.Reason, dashPrefix+"/periods/"+h.ID
		}
		if h.ID == p.Supersedes {
			d.Supersedes, d.SupersWhy, d.SupersedesHref = publishedLine(h), p.Reason, dashPrefix+"/periods/"+h.ID
		}
	}
	var tables []*table
	for _, m := range a.Now {
		t := measureTable(m)
		d.Measures = append(d.Measures, t)
		tables = append(tables, t)
	}
	d.Revisions = revisionsTable(a.Revisions)
	d.History = publicationsTable("history", "Every publication of this period and scope", a.History, teams)
	tables = append(tables, d.Revisions, d.History)
	if done, err := tablesOrCSV(c, f, dashPrefix+"/periods/"+p.ID, "period", tables...); done {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "period", dashView{Title: d.Heading, Filters: f, NoBar: true,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}, {"Published periods", dashPrefix + "/periods"}}, Data: d})
}
