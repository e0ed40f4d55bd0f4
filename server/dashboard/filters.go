package dashboard

import (
	"net/url"
	"slices"

	"doorstep/schema"
	"doorstep/server"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// filters are the dashboard's GET query, kept across every link: the
// period (from, to), an officer, a RoSH level, a flag type and, for admins
// and auditors, a team. Sort and dir order one table of the page.
type filters struct {
	From, To schema.Date
	AsOf     schema.Date // the earlier of To and today
	Officer  string
	Risk     string
	Flag     string
	Team     string
	Kind     string // the review queue's kind (its page only)
	Sort     string // "<table>.<column>"
	Dir      string // asc, desc

	// For the filter bar.
	Officers []option
	Teams    []option // only for admins and auditors
	Today    schema.Date

	// users are every user, as readFilters read them for the officers;
	// teams every team, when it read them (teamsRead: for the teams'
	// choice). dashFilters hands them to the measures (their names).
	users     []schema.User
	teams     []schema.Team
	teamsRead bool
}

type option struct{ Value, Label string }

var (
	riskLevels = []string{"low", "medium", "high", "very_high"}
	flagTypes  = []string{"da_perpetrator", "da_victim", "child_concerns", "child_protection", "risk_to_children", "marac", "restraining_order", "risk_to_staff"}
	// dashMaxPeriod bounds a period, so a weekly trend has at most 53 bars.
	dashMaxPeriod = 366
)

// RiskOptions and FlagOptions are the choices of the filter bar.
func (f *filters) RiskOptions() []option { return options(riskLevels) }
func (f *filters) FlagOptions() []option { return options(flagTypes) }

func options(codes []string) []option {
	out := make([]option, len(codes))
	for i, c := range codes {
		out[i] = option{c, label(c)}
	}
	return out
}

// readFilters reads and checks the query; a bad value is an invalid error
// naming the parameter, shown as a 400 page.
func (s *site) readFilters(c *fiber.Ctx, actor serverdb.Actor) (*filters, error) {
	q, err := s.srv.QueryPeriod(c) // from, to, officer_id: the API's rules
	if err != nil {
		return nil, err
	}
	f := &filters{From: q.Period.From, To: q.Period.To, AsOf: q.AsOf, Today: schema.DateOf(s.now())}
	if days := int(f.To.Time().Sub(f.From.Time()).Hours()/24) + 1; days > dashMaxPeriod {
		return nil, schema.Errorf(schema.ECodeInvalid, "from", "the period is %d days long; choose at most %d days", days, dashMaxPeriod)
	}
	if f.Officer, err = queryID(c, "officer"); err != nil {
		return nil, err
	}
	if f.Risk = c.Query("risk"); f.Risk != "" && !slices.Contains(riskLevels, f.Risk) {
		return nil, schema.Errorf(schema.ECodeInvalid, "risk", "risk must be one of low, medium, high, very_high, not %q", f.Risk)
	}
	if f.Flag = c.Query("flag"); f.Flag != "" && !slices.Contains(flagTypes, f.Flag) {
		return nil, schema.Errorf(schema.ECodeInvalid, "flag", "flag must be a flag type (%v), not %q", flagTypes, f.Flag)
	}
	if f.Team, err = queryID(c, "team"); err != nil {
		return nil, err
	}
	if f.Team != "" && actor.Role == schema.RoleSupervisor && f.Team != actor.TeamID {
		return nil, schema.Errorf(schema.ECodeInvalid, "team", "a supervisor sees their own team only; leave team out")
	}
	f.Sort, f.Dir = c.Query("sort"), c.Query("dir")
	if f.Dir != "" && f.Dir != "asc" && f.Dir != "desc" {
		return nil, schema.Errorf(schema.ECodeInvalid, "dir", "dir must be asc or desc, not %q", f.Dir)
	}
	if len(f.Sort) > 80 || !server.PrintableASCII(f.Sort) {
		return nil, schema.Errorf(schema.ECodeInvalid, "sort", "sort must name a column, like cases.crn")
	}
	users, err := s.db.ListUsers(c.UserContext())
	if err != nil {
		return nil, err
	}
	f.users = users
	for _, u := range users {
		if u.Role == schema.RoleOfficer && (actor.Role != schema.RoleSupervisor || u.TeamID == actor.TeamID) && (f.Team == "" || u.TeamID == f.Team) {
			f.Officers = append(f.Officers, option{u.ID, u.Name})
		}
	}
	if actor.Role != schema.RoleSupervisor {
		teams, err := s.db.ListTeams(c.UserContext())
		if err != nil {
			return nil, err
		}
		f.teams, f.teamsRead = teams, true
		for _, t := range teams {
			f.Teams = append(f.Teams, option{t.ID, t.Name})
		}
	}
	return f, nil
}

func queryID(c *fiber.Ctx, name string) (string, error) {
	v := c.Query(name)
	if len(v) > 64 || !server.PrintableASCII(v) {
		return "", schema.Errorf(schema.ECodeInvalid, name, "%s must be an id (at most 64 characters)", name)
	}
	return v, nil
}

// values are the filters as a query, without the sort unless withSort.
func (f *filters) values(withSort bool) url.Values {
	v := url.Values{"from": {string(f.From)}, "to": {string(f.To)}}
	for k, x := range map[string]string{"officer": f.Officer, "risk": f.Risk, "flag": f.Flag, "team": f.Team, "kind": f.Kind} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if withSort && f.Sort != "" {
		v.Set("sort", f.Sort)
		if f.Dir != "" {
			v.Set("dir", f.Dir)
		}
	}
	return v
}

// Link is path with the filters (not the sort): every link of a page
// keeps them.
func (f *filters) Link(path string) string {
	if f == nil {
		return path
	}
	return path + "?" + f.values(false).Encode()
}

// Without is the filters' link to path with one filter dropped.
func (f *filters) linkWith(path string, kv ...string) string {
	v := f.values(false)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return path + "?" + v.Encode()
}

// period is the filters' period.
func addDays(d schema.Date, n int) schema.Date { return schema.DateOf(d.Time().AddDate(0, 0, n)) }

func (f *filters) period() compliance.Period { return compliance.Period{From: f.From, To: f.To} }

// narrow is the filters' officer and team, as the read model filters by
// them.
func (f *filters) narrow() compliance.Narrow {
	return compliance.Narrow{OfficerID: f.Officer, TeamID: f.Team}
}

// apply keeps the cases of in that pass the filters: the team, the officer,
// the RoSH level, and a flag of the type live on some day of the period.
func (f *filters) apply(in compliance.Input) compliance.Input {
	out := in
	out.Cases = nil
	for _, cr := range in.Cases {
		if f.keeps(cr) {
			out.Cases = append(out.Cases, cr)
		}
	}
	return out
}

func (f *filters) keeps(cr compliance.CaseRecords) bool {
	c := cr.Case
	if (f.Team != "" && c.TeamID != f.Team) || (f.Officer != "" && c.OfficerID != f.Officer) || (f.Risk != "" && c.RoSH != f.Risk) {
		return false
	}
	if f.Flag == "" {
		return true
	}
	for _, fl := range cr.Flags {
		if fl.Type == f.Flag && (fl.StartDate == "" || fl.StartDate <= f.To) && (fl.EndedOn == "" || fl.EndedOn > f.From) {
			return true
		}
	}
	return false
}

// weeks splits the period into weeks ending on its last day, oldest
// first; the first may be shorter.
func (f *filters) weeks() []compliance.Period {
	var out []compliance.Period
	for end := f.To; end >= f.From; end = addDays(end, -7) {
		out = append(out, compliance.Period{From: max(addDays(end, -6), f.From), To: end})
	}
	slices.Reverse(out)
	return out
}
