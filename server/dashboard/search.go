package dashboard

import (
	"cmp"
	"regexp"
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

// ukTime writes a timestamp as people in the UK do, to the minute, in
// the clock it was recorded in: "4 December 2026, 14:02" (UTC) or
// "4 December 2026, 15:02 (UTC+01:00)". Seconds and their fractions are
// left out; text that is not a timestamp is returned as it is.
func ukTime(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ts
	}
	s := t.Format("2 January 2006, 15:04")
	if _, off := t.Zone(); off != 0 {
		s += " (UTC" + t.Format("-07:00") + ")"
	}
	return s
}

// enumValues are the values the schema's fields allow: a stored value
// that is one of them is shown in words (label).
var enumValues = func() map[string]bool {
	out := map[string]bool{}
	for _, e := range schema.Entities() {
		for _, f := range e.Fields {
			for _, v := range f.Enum {
				out[v] = true
			}
		}
	}
	return out
}()

// isoDay finds a stored date in a text: "2026-06-09" (not a rules
// version such as "2026-11-23.1", which names a file rather than a day).
var isoDay = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b(?:\.\d)?`)

// datesInWords writes every stored date in s as ukDate does: the reasons
// the policy words ("exempted by the safety assessment of 2026-06-09").
func datesInWords(s string) string {
	return isoDay.ReplaceAllStringFunc(s, func(d string) string {
		if len(d) > 10 {
			return d
		}
		return ukDate(schema.Date(d))
	})
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
