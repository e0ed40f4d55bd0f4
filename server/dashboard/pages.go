package dashboard

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// dashLoad reads the filters and loads the records of the cases in the
// actor's scope that pass them: only the filters' team's, when an admin or
// an auditor chose one. The scope's cases before the other filters are
// kept in the request (poolKey) as measure 10's pool, so that they are
// not read twice. A scope over the service's case limit is refused, and an
// admin or an auditor is asked to choose a team (chooseTeam).
func (s *site) dashLoad(c *fiber.Ctx) (serverdb.Actor, *filters, compliance.Input, error) {
	actor, f, err := s.dashFilters(c)
	if err != nil {
		return actor, nil, compliance.Input{}, err
	}
	in, err := s.dashInput(c, actor, f)
	return actor, f, in, err
}

// dashFilters is the request's actor and filters, as dashLoad reads them.
// The users the filters read for the officers' choice are those whose
// names the measures show: they are handed to them in the request's
// context (compliance.WithNamesOf), with the teams, rather than read a
// second time for the measures' input (decision 0126).
func (s *site) dashFilters(c *fiber.Ctx) (serverdb.Actor, *filters, error) {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return actor, f, err
	}
	teams := f.teams
	if !f.teamsRead {
		if teams, err = s.db.ListTeams(c.UserContext()); err != nil {
			return actor, f, err
		}
	}
	c.SetUserContext(compliance.WithNamesOf(c.UserContext(), f.users, teams))
	return actor, f, nil
}

// dashInput is dashLoad's load, for the filters read (dashFilters).
func (s *site) dashInput(c *fiber.Ctx, actor serverdb.Actor, f *filters) (compliance.Input, error) {
	in, err := s.comp.InputOf(c.UserContext(), actor, compliance.Narrow{TeamID: f.Team})
	if err != nil {
		if e := schema.AsError(err); e != nil && e.Code == schema.ECodeTooManyCases && f.Team == "" && len(f.Teams) > 0 {
			ids, cerr := s.db.ScopeCases(c.UserContext(), actor, serverdb.ScopeNarrow{})
			if cerr != nil {
				return in, cerr
			}
			return in, &chooseTeam{err: e, f: f, path: c.Path(), cases: len(ids), max: s.comp.CaseLimit()}
		}
		return in, err
	}
	c.Locals(poolKey, in.Cases)
	return f.apply(in), nil
}

// dashInputCounted is dashInput for a page built wholly from the read
// model (decision 0075): without a RoSH or flag filter, which the read
// model does not filter by, the records are not read; the input holds the
// policy and the names only, and the case limit is checked on the scope's
// cases.
func (s *site) dashInputCounted(c *fiber.Ctx, actor serverdb.Actor, f *filters) (compliance.Input, error) {
	if f.Risk != "" || f.Flag != "" {
		return s.dashInput(c, actor, f)
	}
	ctx := c.UserContext()
	if err := s.comp.CheckCaseLimit(ctx, actor, compliance.Narrow{TeamID: f.Team}); err != nil {
		return s.dashInput(c, actor, f) // the same refusal, and its choice of team
	}
	return s.comp.Names(ctx)
}

// poolKey holds, in a request's locals, the cases dashLoad loaded before
// the filters but the team's.
const poolKey = "dashboard.pool"

// chooseTeam is a page refused for the service's case limit
// (compliance.TooManyCases) for an admin or an auditor who chose no team:
// the error page offers the teams, each a link to the same page with the
// same filters and that team.
type chooseTeam struct {
	err        *schema.Error
	f          *filters
	path       string
	cases, max int
}

func (e *chooseTeam) message() string {
	return fmt.Sprintf("All teams together hold %d cases, more than the %d one page may cover. Choose a team:", e.cases, e.max)
}

func (e *chooseTeam) Error() string { return e.err.Error() }
func (e *chooseTeam) Unwrap() error { return e.err }

// choices are the links to the page, one per team.
func (e *chooseTeam) choices() []choice {
	out := make([]choice, len(e.f.Teams))
	for i, t := range e.f.Teams {
		out[i] = choice{Label: t.Label, Href: e.f.linkWith(e.path, "team", t.Value)}
	}
	return out
}

// auditPanels writes one view event for an aggregate page, with every
// case its panels show.
func (s *site) auditPanels(c *fiber.Ctx, actor serverdb.Actor, what string, f *filters, views []*panelView, extra ...string) error {
	set := map[string]bool{}
	for _, v := range views {
		for _, id := range v.CaseIDs {
			set[id] = true
		}
	}
	for _, id := range extra {
		set[id] = true
	}
	ids := slices.Sorted(maps.Keys(set))
	params := map[string]string{}
	for k, v := range f.values(true) {
		params[k] = v[0]
	}
	return s.db.AuditView(c.UserContext(), actor, what, ids, params)
}

// scopeName says whose figures a page shows: the team, or all teams.
func scopeName(actor serverdb.Actor, f *filters, in compliance.Input) string {
	team := f.Team
	if actor.Role == schema.RoleSupervisor {
		team = actor.TeamID
	}
	if team == "" {
		return "All teams"
	}
	if n := in.Teams[team]; n != "" {
		return n
	}
	return "Team " + team
}

// panelsPage is what the overview and the print page share: every panel
// built for the request's filters, and the officers' table.
type panelsPage struct {
	actor    serverdb.Actor
	f        *filters
	in       compliance.Input
	pc       *panelCtx
	views    []*panelView
	officers *table
}

// With counted (the overview, which shows no panel's table), the panels
// the read model answers whole are built from it (panel.Counts).
//
// Measure 9 is the store's alone (devices, set-aside changes, signed
// visits; not the decoded records): its read starts once the filters are
// read, beside the records' load rather than after it (decision 0116).
// Started after it, the panels waited for it at the end of most pages on
// PostgreSQL.
func (s *site) allPanels(c *fiber.Ctx, counted bool) (*panelsPage, error) {
	actor, f, err := s.dashFilters(c)
	if err != nil {
		return nil, err
	}
	fr := s.readFresh(c.UserContext(), actor, f, panels)
	input := s.dashInput
	if counted {
		input = s.dashInputCounted
	}
	in, err := input(c, actor, f)
	if err != nil {
		fr.drop()
		return nil, err
	}
	pc, err := s.newPanelCtxFresh(c, actor, in, f, true, counted, fr, panels...)
	if err != nil {
		fr.drop()
		return nil, err
	}
	pc.noTables = true // the overview and the print page show none
	views := buildPanels(pc)
	if err := pc.wait(); err != nil {
		return nil, err
	}
	return &panelsPage{actor: actor, f: f, in: in, pc: pc, views: views, officers: officersTable(pc, views)}, nil
}

type overviewData struct {
	Scope     string
	Panels    []*panelView
	Officers  *table
	Published *publishedBanner // the period's current publication (periods.go)
	Publish   *publishForm
}

// GET /dashboard/: the team's measures, with charts, and the officers.
func (s *site) dashOverview(c *fiber.Ctx) error {
	pp, err := s.allPanels(c, countOverview && everyPanelCounted(panels))
	if err != nil {
		return err
	}
	actor, f, in, views, officers := pp.actor, pp.f, pp.in, pp.views, pp.officers
	if done, err := tablesOrCSV(c, f, dashPrefix+"/", "overview", officers); done {
		return err
	}
	if err := s.auditPanels(c, actor, "dashboard/overview", f, views); err != nil {
		return err
	}
	scope := scopeName(actor, f, in)
	published, publish, err := s.overviewPublication(c, actor, f, scope, views)
	if err != nil {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "overview", dashView{Title: "Compliance dashboard", Filters: f,
		Data: overviewData{Scope: scope, Panels: views, Officers: officers, Published: published, Publish: publish}})
}

// countOverview says whether the overview is built wholly from the read
// model once every panel has a Counts, without reading the records
// (dashInputCounted). Every panel has one since decision 0075, but so built
// the 500-case overview cost more than in Go (about 440–480 CPU ms a page
// against 385–390 on main: the trends of measures 3 and 5, a query of
// their rows a week, are about 185 of it), so it stays off until the
// read model's page is the cheaper one.
var countOverview = false

// everyPanelCounted says whether every panel of ps is built from the read
// model (panel.Counts). Only then does the overview build them so
// (decision 0065): while one panel still needs the decoded records, the
// page reads them anyway, and the read model's reports of the others come
// on top (about 60 to 100 CPU ms a page more for the five counted at
// 0065), so until the last panel moves the overview stays in Go.
func everyPanelCounted(ps []*panel) bool {
	return !slices.ContainsFunc(ps, func(p *panel) bool { return p.Counts == nil })
}

// officersTable compares the officers: their cases and each panel's
// figure.
func officersTable(pc *panelCtx, views []*panelView) *table {
	t := &table{ID: "officers", Caption: "Officers", Empty: "No officer has cases that pass the filters.",
		Columns: []column{{Key: "name", Label: "Officer"}, {Key: "cases", Label: "Cases", Num: true}}}
	for _, v := range views {
		t.Columns = append(t.Columns, column{Key: v.Panel.Slug, Label: v.Panel.Title, Num: true})
	}
	count := map[string]int{}
	if ov, ok := pc.countedOverview(); ok {
		count = ov.Caseload
	} else {
		for _, cr := range pc.In.Cases {
			count[cr.Case.OfficerID]++
		}
	}
	for _, o := range pc.F.Officers {
		if pc.F.Officer != "" && o.Value != pc.F.Officer {
			continue
		}
		row := []cell{link(o.Label, pc.officerHref(o.Value)), num(count[o.Value])}
		for _, v := range views {
			x, ok := v.ByOfficer[o.Value]
			if !ok {
				x = cell{Text: "–", Null: true}
			}
			row = append(row, x)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

type measureData struct {
	Scope     string
	Panel     *panelView
	Published *publishedBanner // the period's current publication (periods.go)
}

// GET /dashboard/measures/:slug: one measure, its charts and its cases.
func (s *site) dashMeasure(c *fiber.Ctx) error {
	p := panelBySlug(c.Params("slug"))
	if p == nil {
		return schema.Errorf(schema.ECodeNotFound, "", "there is no measure %q", c.Params("slug"))
	}
	actor, f, in, err := s.dashLoad(c)
	if err != nil {
		return err
	}
	pc, err := s.newPanelCtx(c, actor, in, f, true, false, p)
	if err != nil {
		return err
	}
	v := buildPanel(p, pc)
	if err := pc.wait(); err != nil {
		return err
	}
	if done, err := tablesOrCSV(c, f, dashPrefix+"/measures/"+p.Slug, p.Slug, v.Table); done {
		return err
	}
	if err := s.auditPanels(c, actor, "dashboard/measure/"+p.Slug, f, []*panelView{v}); err != nil {
		return err
	}
	published, err := s.showPublished(c, actor, f, []*panelView{v})
	if err != nil {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "measure", dashView{Title: p.Title, Filters: f,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}},
		Data:   measureData{Scope: scopeName(actor, f, in), Panel: v, Published: published}})
}

type officerData struct {
	Officer schema.User
	Team    string
	Panels  []*panelView
	Cases   *table
}

// GET /dashboard/officers/:id: one officer's figures and caseload.
func (s *site) dashOfficer(c *fiber.Ctx) error {
	actor, f, in, err := s.dashLoad(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	// The page's officer is in the filters too (its links carry it), so
	// choosing another officer, or all of them, in the filter bar goes
	// where it says.
	if c.Request().URI().QueryArgs().Has("officer") && f.Officer != id && !wantsCSV(c) {
		if f.Officer == "" {
			return c.Redirect(f.Link(dashPrefix+"/"), fiber.StatusSeeOther)
		}
		return c.Redirect(f.Link(dashPrefix+"/officers/"+f.Officer), fiber.StatusSeeOther)
	}
	u, err := s.db.UserByID(c.UserContext(), id)
	if err != nil || u.Role != schema.RoleOfficer || (actor.Role == schema.RoleSupervisor && u.TeamID != actor.TeamID) {
		return schema.Errorf(schema.ECodeNotFound, "id", "no officer %q in your scope", id)
	}
	of := *f
	of.Officer = id
	in = of.apply(in)
	f = &of // the officer's links keep the officer
	pc, err := s.newPanelCtx(c, actor, in, f, true, false, panels...)
	if err != nil {
		return err
	}
	pc.noTables = true // the officer's page shows its caseload, no panel's table
	views := buildPanels(pc)
	if err := pc.wait(); err != nil {
		return err
	}
	cases := caseloadTable(pc)
	if done, err := tablesOrCSV(c, f, dashPrefix+"/officers/"+id, "officer", cases); done {
		return err
	}
	ids := make([]string, 0, len(in.Cases))
	for _, cr := range in.Cases {
		ids = append(ids, cr.Case.ID)
	}
	if err := s.auditPanels(c, actor, "dashboard/officer", f, views, ids...); err != nil {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "officer", dashView{Title: u.Name, Filters: f,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}},
		Data:   officerData{Officer: u, Team: in.Teams[u.TeamID], Panels: views, Cases: cases}})
}

// caseloadTable lists the cases of pc.In with what is due and overdue.
func caseloadTable(pc *panelCtx) *table {
	t := &table{ID: "caseload", Caption: "Caseload", Empty: "No case passes the filters.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "rosh", Label: "RoSH"},
			{Key: "flags", Label: "Flags"}, {Key: "start", Label: "Supervision start"}, {Key: "next", Label: "Next visit due"},
			{Key: "overdue", Label: "Visits overdue", Num: true}, {Key: "last", Label: "Last contact"}}}
	for _, cr := range pc.In.Cases {
		facts, _ := compliance.Facts(cr, pc.F.AsOf)
		reqs := pc.In.Policy.Requirements(facts, pc.F.AsOf)
		next := cell{}
		if r, ok := policy.Next(reqs); ok {
			next = day(r.DueOn)
		}
		last := ""
		for _, v := range cr.Visits {
			if v.Status == "signed" && string(v.StartedAt) > last {
				last = string(v.StartedAt)
			}
		}
		lastDay := cell{}
		if len(last) >= 10 {
			lastDay = day(schema.Date(last[:10]))
		}
		overdue := len(policy.Overdue(reqs))
		oc := num(overdue)
		if overdue > 0 {
			oc.Mark = "bad"
		}
		t.Rows = append(t.Rows, []cell{link(cr.Case.CRN, pc.caseHref(cr.Case.ID)), txt(cr.Case.GivenName + " " + cr.Case.FamilyName),
			txt(label(cr.Case.RoSH)), txt(liveFlags(cr.Flags, pc.F.AsOf)), day(cr.Case.SupervisionStart), next, oc, lastDay})
	}
	return t
}

// liveFlags names the flags live on day.
func liveFlags(flags []schema.Flag, day schema.Date) string {
	var out []string
	for _, f := range flags {
		if (f.StartDate == "" || f.StartDate <= day) && (f.EndedOn == "" || f.EndedOn > day) && !slices.Contains(out, label(f.Type)) {
			out = append(out, label(f.Type))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

type overdueData struct {
	Scope string
	Panel *panelView
}

// GET /dashboard/overdue: the overdue list, most overdue first.
func (s *site) dashOverdue(c *fiber.Ctx) error {
	actor, f, in, err := s.dashLoad(c)
	if err != nil {
		return err
	}
	v := buildPanel(panelBySlug("overdue"), &panelCtx{In: in, F: f})
	if done, err := tablesOrCSV(c, f, dashPrefix+"/overdue", "overdue", v.Table); done {
		return err
	}
	if err := s.auditPanels(c, actor, "dashboard/overdue", f, []*panelView{v}); err != nil {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "overdue", dashView{Title: "Overdue visits", Filters: f,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}},
		Data:   overdueData{Scope: scopeName(actor, f, in), Panel: v}})
}

type printData struct {
	Scope     string
	Panels    []*panelView
	Officers  *table
	Overdue   *table
	Printed   string
	Published *publishedBanner // the period's current publication (periods.go)
}

// GET /dashboard/print: one page for a supervision meeting.
func (s *site) dashPrint(c *fiber.Ctx) error {
	pp, err := s.allPanels(c, false)
	if err != nil {
		return err
	}
	actor, f, in, pc, views, officers := pp.actor, pp.f, pp.in, pp.pc, pp.views, pp.officers
	overdue := overdueTable(pc, compliance.Overdue(in, f.AsOf))
	if done, err := tablesOrCSV(c, f, dashPrefix+"/print", "print", officers, overdue); done {
		return err
	}
	if err := s.auditPanels(c, actor, "dashboard/print", f, views); err != nil {
		return err
	}
	published, err := s.showPublished(c, actor, f, views)
	if err != nil {
		return err
	}
	return s.dashRender(c, fiber.StatusOK, "print", dashView{Title: "Supervision meeting", Filters: f, Print: true,
		Data: printData{Scope: scopeName(actor, f, in), Panels: views, Officers: officers, Overdue: overdue,
			Printed: s.now().Format("2 January 2006 15:04"), Published: published}})
}
