package dashboard

import (
	"cmp"
	"strings"
	"time"

	"doorstep/schema"

	"github.com/gofiber/fiber/v2"
)

// Finding a person (docs/supervisor.md, "Finding a person"):
//
//	GET /dashboard/search?q=   the people of the caller's scope by name or CRN
//
// The box is in the layout's header, so every page has it.

type searchData struct {
	Q     string
	Error string
	Found int
	Table *table
}

// GET /dashboard/search: the cases whose name holds each word of q, or
// whose CRN starts with it (serverdb.SearchCases), of the caller's scope
// only. A search that lists people is audited with their cases.
func (s *site) dashSearch(c *fiber.Ctx) error {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.Query("q"))
	d := searchData{Q: q}
	status := fiber.StatusOK
	if q != "" {
		hits, err := s.db.SearchCases(c.UserContext(), actor, q)
		switch {
		case schema.ErrorCode(err) == schema.ECodeInvalid:
			status, d.Error = fiber.StatusBadRequest, "Type 2 to 100 characters: a part of a name (“Rook”, “Vik Rook”) or the start of a CRN (“X12”)."
		case err != nil:
			return err
		default:
			names, err := s.userNames(c)
			if err != nil {
				return err
			}
			pc := &panelCtx{F: f}
			t := &table{ID: "people", Caption: "People found", Empty: "No one in your cases matches “" + q + "”.",
				Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "born", Label: "Date of birth"},
					{Key: "officer", Label: "Officer"}, {Key: "rosh", Label: "RoSH"}, {Key: "status", Label: "Case"}}}
			var ids []string
			for _, h := range hits {
				status := "open"
				if h.Closed {
					status = "closed"
				}
				t.Rows = append(t.Rows, []cell{link(h.CRN, pc.caseHref(h.ID)), link(h.GivenName+" "+h.FamilyName, pc.caseHref(h.ID)),
					txt(ukDate(h.DateOfBirth)), txt(cmp.Or(names[h.OfficerID], h.OfficerID)), txt(label(h.RoSH)), txt(status)})
				ids = append(ids, h.ID)
			}
			d.Found, d.Table = len(hits), t
			if done, err := tablesOrCSV(c, f, dashPrefix+"/search", "people", t); done {
				if err == nil {
					err = s.db.AuditView(c.UserContext(), actor, "dashboard/search.csv", ids, map[string]string{"q": q})
				}
				return err
			}
			if err := s.db.AuditView(c.UserContext(), actor, "dashboard/search", ids, map[string]string{"q": q}); err != nil {
				return err
			}
		}
	}
	return s.dashRender(c, status, "search", dashView{Title: "Find a person", Filters: f, NoBar: true, Search: q,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}}, Data: d})
}

// ukDate writes a date as people in the UK do: "4 December 2026" (the
// text as it is when it is not a date).
func ukDate(d schema.Date) string {
	t, err := time.Parse(time.DateOnly, string(d))
	if err != nil {
		return string(d)
	}
	return t.Format("2 January 2006")
}
