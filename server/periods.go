package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// Published periods (docs/api.md, "Published periods"; docs/compliance.md):
//
//	POST /v1/periods       {"from", "to", "team_id"?, "reason"?}  publish (supervisors, admins)
//	GET  /v1/periods?team_id=&scope=&from=&to=                    the publications in scope
//	GET  /v1/periods/:id                                           published figures, now's, revisions
//
// A supervisor publishes and sees their team's periods; an admin any
// team's or the whole service's; an auditor reads every one; officers are
// refused. A publication out of scope answers 404, as a missing one.

// MaxPeriodDays bounds a published period's length.
const MaxPeriodDays = 366

func (s *Server) periodRoutes(v1 fiber.Router) {
	v1.Post("/periods", s.authed, deciders("publish a period"), s.publishPeriod)
	v1.Get("/periods", s.authed, overseers("published periods"), s.listPeriods)
	v1.Get("/periods/:id", s.authed, overseers("published periods"), s.getPeriod)
}

// PublishRequest is the body of POST /v1/periods.
type PublishRequest struct {
	From   string `json:"from"`
	To     string `json:"to"`
	TeamID string `json:"team_id"`
	Reason string `json:"reason"`
}

// parseDay reads a YYYY-MM-DD date named field.
func parseDay(field, v string) (schema.Date, error) {
	if v == "" {
		return "", errorf(schema.ECodeRequired, field, "%s is required (a date written YYYY-MM-DD)", field)
	}
	return parseDate(field, v)
}

// Publish checks a publication request of actor and publishes it: the
// figures computed with the current code over the scope (TeamID, "" for a
// supervisor's own team or, for an admin, the whole service) and period,
// kept by the store with the rules' version. Checks come first and a
// refusal writes nothing. The dashboard's form calls it too.
func (s *Server) Publish(c *fiber.Ctx, actor serverdb.Actor, req PublishRequest) (serverdb.Publication, error) {
	if actor.Role != schema.RoleSupervisor && actor.Role != schema.RoleAdmin {
		return serverdb.Publication{}, errorf(schema.ECodeForbidden, "", "only a supervisor or an admin may publish a period")
	}
	from, err := parseDay("from", req.From)
	if err != nil {
		return serverdb.Publication{}, err
	}
	to, err := parseDay("to", req.To)
	if err != nil {
		return serverdb.Publication{}, err
	}
	today := schema.DateOf(s.cfg.Now())
	switch {
	case to < from:
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "to", "to (%s) is before from (%s)", to, from)
	case from > today:
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "from", "the period starts after today (%s): nothing of it can be published yet", today)
	case to > today:
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "to", "the period ends after today (%s): publish it once its last day has come", today)
	case int(to.Time().Sub(from.Time()).Hours()/24)+1 > MaxPeriodDays:
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "from", "a published period is at most %d days long", MaxPeriodDays)
	}
	if len(req.TeamID) > 64 || !PrintableASCII(req.TeamID) {
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "team_id", "team_id must be a team id (at most 64 characters)")
	}
	team := req.TeamID
	if actor.Role == schema.RoleSupervisor {
		if team != "" && team != actor.TeamID {
			return serverdb.Publication{}, errorf(schema.ECodeForbidden, "team_id", "a supervisor publishes their own team's periods only; leave team_id out")
		}
		team = actor.TeamID
	}
	ctx := c.UserContext()
	if team != "" {
		teams, err := s.db.ListTeams(ctx)
		if err != nil {
			return serverdb.Publication{}, err
		}
		known := false
		for _, t := range teams {
			known = known || t.ID == team
		}
		if !known {
			return serverdb.Publication{}, errorf(schema.ECodeInvalid, "team_id", "there is no team %q", team)
		}
	}
	reason := strings.TrimSpace(req.Reason)
	if utf8.RuneCountInString(reason) > serverdb.MaxPublicationReason {
		return serverdb.Publication{}, errorf(schema.ECodeInvalid, "reason", "reason must be at most %d characters", serverdb.MaxPublicationReason)
	}
	// The store checks it again in its transaction; asked first, a missing
	// reason costs no computation.
	if reason == "" {
		cur, err := s.db.ListPublications(ctx, actor, serverdb.PublicationFilter{TeamID: team, Service: team == "", From: from, To: to})
		if err != nil {
			return serverdb.Publication{}, err
		}
		if len(cur) > 0 {
			return serverdb.Publication{}, errorf(schema.ECodeRequired, "reason", "this period was published already (%s): say why it is published again", cur[0].ID)
		}
	}
	period := compliance.Period{From: from, To: to}
	// A record written while the figures were computed makes them out of
	// date: compute them again (a few times, then give up for now).
	for range 3 {
		pf, seq, err := s.comp.ScopeFigures(ctx, actor, team, period, min(to, today))
		if err != nil {
			return serverdb.Publication{}, err
		}
		b, err := json.Marshal(pf)
		if err != nil {
			return serverdb.Publication{}, err
		}
		p, err := s.db.PublishPeriod(ctx, actor, serverdb.PublicationInput{TeamID: team, From: from, To: to, AsOf: min(to, today),
			RuleVersion: pf.RuleVersion, RulesTag: s.RulesTag(), Reason: reason, Seq: seq, Figures: b})
		if !errors.Is(err, serverdb.ErrStaleFigures) {
			return p, err
		}
	}
	return serverdb.Publication{}, errorf(schema.ECodeUnavailable, "", "records kept arriving while the figures were computed; try again in a moment")
}

// publishPeriod: POST /v1/periods.
func (s *Server) publishPeriod(c *fiber.Ctx) error {
	body, err := readBody(c, schema.MaxBody)
	if err != nil {
		return err
	}
	var req PublishRequest
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	p, err := s.Publish(c, actorOf(c), req)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(Published{Publication: p, Figures: p.Figures})
}

// listPeriods: GET /v1/periods.
func (s *Server) listPeriods(c *fiber.Ctx) error {
	var f serverdb.PublicationFilter
	var err error
	if f.From, err = queryDate(c, "from", ""); err != nil {
		return err
	}
	if f.To, err = queryDate(c, "to", ""); err != nil {
		return err
	}
	switch v := c.Query("scope"); v {
	case "", "team":
	case "service":
		f.Service = true
	default:
		return errorf(schema.ECodeInvalid, "scope", "scope must be team or service, not %q", v)
	}
	f.TeamID = c.Query("team_id")
	if len(f.TeamID) > 64 || !PrintableASCII(f.TeamID) {
		return errorf(schema.ECodeInvalid, "team_id", "team_id must be a team id (at most 64 characters)")
	}
	ps, err := s.db.ListPublications(c.UserContext(), actorOf(c), f)
	if err != nil {
		return err
	}
	return s.sendJSON(c, fiber.Map{"periods": ps})
}

// Published is a publication with its frozen figures, byte for byte as
// published: POST /v1/periods's answer.
type Published struct {
	serverdb.Publication
	Figures json.RawMessage `json:"figures"`
}

// PeriodAnswer is GET /v1/periods/:id's answer: the publication's fields,
// its figures, now's beside them, the revisions and the history.
type PeriodAnswer struct {
	Published
	compliance.PeriodView
	// History: every publication of the same scope and period, newest
	// first (this one among them).
	History []serverdb.Publication `json:"history"`
}

// PeriodAnswer reads publication id in actor's scope with the live
// figures beside its own and its revisions, and audits the view with the
// cases it names. The dashboard's page calls it too.
func (s *Server) PeriodAnswer(c *fiber.Ctx, actor serverdb.Actor, id string, view string) (PeriodAnswer, compliance.PeriodFigures, error) {
	ctx := c.UserContext()
	p, err := s.db.GetPublication(ctx, actor, id)
	if err != nil {
		return PeriodAnswer{}, compliance.PeriodFigures{}, err
	}
	pf, v, err := s.comp.ViewPublication(ctx, actor, p, schema.DateOf(s.cfg.Now()))
	if err != nil {
		return PeriodAnswer{}, pf, err
	}
	hist, err := s.db.ListPublications(ctx, actor, serverdb.PublicationFilter{TeamID: p.TeamID, Service: p.TeamID == "", From: p.From, To: p.To})
	if err != nil {
		return PeriodAnswer{}, pf, err
	}
	if err := s.db.AuditView(ctx, actor, view, v.CaseIDs, map[string]string{"period_id": p.ID}); err != nil {
		return PeriodAnswer{}, pf, err
	}
	return PeriodAnswer{Published: Published{Publication: p, Figures: p.Figures}, PeriodView: v, History: hist}, pf, nil
}

// getPeriod: GET /v1/periods/:id.
func (s *Server) getPeriod(c *fiber.Ctx) error {
	a, _, err := s.PeriodAnswer(c, actorOf(c), c.Params("id"), "periods")
	if err != nil {
		return err
	}
	return s.sendJSON(c, a)
}

// MeasurePublication is the "publication" member of a measure's answer
// (GET /v1/compliance/<measure>) over exactly a period and scope that has
// a current publication: the publication, how many revisions it has
// since, the measure's figures as published (its figures of record) and
// those of them that differ now (decision 0039).
type MeasurePublication struct {
	serverdb.Publication
	// Revisions counts the changes received since publication that touch
	// the period (GET /v1/periods/:id lists them).
	Revisions int `json:"revisions"`
	// Figures is the measure's report as published (detail=summary; with
	// detail=counts, without the ids behind each count).
	Figures json.RawMessage `json:"figures"`
	// Changed are the figures that differ now: published and now beside.
	Changed []compliance.FigureChange `json:"changed"`
}

// currentPublicationOf returns the current publication of exactly q's
// period and the actor's scope (a supervisor's team; the whole service for
// an admin or an auditor), or nil: also when officer_id narrows the query,
// as a publication has no officer filter.
func (s *Server) currentPublicationOf(c *fiber.Ctx, actor serverdb.Actor, q PeriodQuery) (*serverdb.Publication, error) {
	if q.OfficerID != "" {
		return nil, nil
	}
	f := serverdb.PublicationFilter{From: q.Period.From, To: q.Period.To, Service: true}
	if actor.Role == schema.RoleSupervisor {
		f = serverdb.PublicationFilter{From: q.Period.From, To: q.Period.To, TeamID: actor.TeamID}
	}
	ps, err := s.db.ListPublications(c.UserContext(), actor, f)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.Current() {
			full, err := s.db.GetPublication(c.UserContext(), actor, p.ID)
			return &full, err
		}
	}
	return nil, nil
}

// publishedReport answers rep, the live report of a period that pub
// publishes, with the "publication" member: the figures as published,
// the revisions' count and the figures that differ now. The view's audit
// event names the live and the published cases and the publication.
func publishedReport[R report](s *Server, c *fiber.Ctx, actor serverdb.Actor, view string, pub serverdb.Publication, rep R, detail string, params map[string]string) error {
	slug := strings.TrimPrefix(view, "compliance/")
	published, pv, err := s.comp.ViewPublication(c.UserContext(), actor, pub, schema.DateOf(s.cfg.Now()))
	if err != nil {
		return err
	}
	frozen, ok := published.Measures[slug]
	if !ok { // a measure the publication did not freeze
		return finishReport(s, c, actor, view, rep, detail, params)
	}
	old := reflect.New(reflect.TypeOf(rep).Elem()).Interface().(R)
	if err := json.Unmarshal(frozen, old); err != nil {
		return fmt.Errorf("publication %s: %s: %w", pub.ID, slug, err)
	}
	mp := MeasurePublication{Publication: pub, Revisions: len(pv.Revisions), Figures: frozen, Changed: []compliance.FigureChange{}}
	for _, m := range pv.Now {
		if m.Slug != slug {
			continue
		}
		for _, f := range m.Figures {
			if f.Changed {
				mp.Changed = append(mp.Changed, f)
			}
		}
	}
	cases := rep.CaseIDs()
	cases = slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(cases), old.CaseIDs()...))))
	if detail != "full" {
		rep.Summarize()
		params["detail"] = detail
	}
	if detail == "counts" {
		compliance.DropIDs(rep)
		compliance.DropIDs(old)
		if mp.Figures, err = json.Marshal(old); err != nil {
			return err
		}
	}
	params["period_id"] = pub.ID
	if err := s.db.AuditView(c.UserContext(), actor, view, cases, params); err != nil {
		return err
	}
	live, err := marshalReport(rep)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(mp)
	if err != nil {
		return err
	}
	out := append(append(append(live[:len(live)-1:len(live)-1], `,"publication":`...), meta...), '}')
	return sendJSONBytes(c, out)
}
