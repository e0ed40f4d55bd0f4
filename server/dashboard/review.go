package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// The review queue in the dashboard (docs/review.md, docs/supervisor.md):
//
//	GET  /dashboard/review?officer=&kind=     the queue: four sortable tables, CSV
//	GET  /dashboard/review/:kind/:id          one item, both versions, the decision form
//	POST /dashboard/review/:kind/:id          the decision (CSRF checked by dashAuth)
//
// with :kind one of conflicts, set-aside, visits, assessments. The store
// (serverdb/review.go) scopes, checks and writes each decision in one
// transaction; a refusal writes nothing and comes back next to its field.
// After a decision a flash (a short-lived cookie) says what was done and
// the browser goes back to the queue, or to the page the form was on.

const dashFlashCookie = "doorstep_dash_flash"

// reviewPageRows bounds each table of the queue's page (not its CSV): a
// team with years of signed visits no manager reviewed would otherwise get
// thousands of rows.
var reviewPageRows = 200

// reviewKinds are the queue's kinds: the path segment of an item, the
// store's kind, and the words.
var reviewKinds = []struct{ Path, Kind, Label string }{
	{"conflicts", serverdb.KindConflict, "Sync conflicts"},
	{"set-aside", serverdb.KindSetAside, "Set-aside changes"},
	{"visits", serverdb.KindVisit, "Signed visits to review"},
	{"assessments", serverdb.KindAssessment, "Safety assessments to decide"},
}

func reviewKindOfPath(p string) string {
	for _, k := range reviewKinds {
		if k.Path == p {
			return k.Kind
		}
	}
	return ""
}

func reviewItemHref(kind, id string) string {
	for _, k := range reviewKinds {
		if k.Kind == kind {
			return dashPrefix + "/review/" + k.Path + "/" + id
		}
	}
	return ""
}

// canDecide reports whether the signed-in user may record decisions
// (auditors read the queue only).
func canDecide(u *schema.User) bool {
	return u != nil && (u.Role == schema.RoleSupervisor || u.Role == schema.RoleAdmin)
}

type reviewCount struct {
	Kind, Label, Href string
	N                 int
	Current           bool
}

type reviewData struct {
	Scope     string
	Kinds     []reviewCount
	Kind      string
	Officers  []option
	Officer   string
	Total     int
	Tables    []*table
	CanDecide bool
}

// GET /dashboard/review: the team's open items. Every view is audited with
// the cases it shows.
func (s *site) dashReview(c *fiber.Ctx) error {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	rf := serverdb.ReviewFilter{OfficerID: f.Officer, Kind: c.Query("kind")}
	if err := rf.Validate(); err != nil {
		return err
	}
	f.Kind = rf.Kind
	ctx := c.UserContext()
	q, err := s.db.ReviewQueue(ctx, actor, rf)
	if err != nil {
		return err
	}
	if f.Team != "" { // an admin's or auditor's team: the items of its officers
		q = teamQueue(q, f.Officers)
	}
	names, err := s.userNames(c)
	if err != nil {
		return err
	}
	tables := reviewTables(f, q, names)
	if done, err := tablesOrCSV(c, f, dashPrefix+"/review", "review", tables...); done {
		if err == nil {
			err = s.db.AuditView(ctx, actor, "dashboard/review.csv", q.CaseIDs(), map[string]string{"table": c.Query("table"), "officer": f.Officer, "kind": f.Kind})
		}
		return err
	}
	for _, t := range tables { // a page a person can read; the CSV has every row
		if n := len(t.Rows); n > reviewPageRows {
			t.Rows = t.Rows[:reviewPageRows]
			t.Caption += fmt.Sprintf(" (the first %d of %d in this order: choose an officer, or download the CSV for all)", reviewPageRows, n)
		}
	}
	if err := s.db.AuditView(ctx, actor, "dashboard/review", q.CaseIDs(), map[string]string{"officer": f.Officer, "kind": f.Kind, "team": f.Team}); err != nil {
		return err
	}
	counts := []int{len(q.Conflicts), len(q.SetAside), len(q.Visits), len(q.Assessments)}
	d := reviewData{Kind: f.Kind, Officers: f.Officers, Officer: f.Officer, Tables: tables, CanDecide: canDecide(&dashSessionOf(c).user)}
	d.Scope, err = s.scopeLabel(c, actor, f)
	if err != nil {
		return err
	}
	for i, k := range reviewKinds {
		rc := reviewCount{Kind: k.Kind, Label: k.Label, N: counts[i], Current: f.Kind == k.Kind,
			Href: f.linkWith(dashPrefix+"/review", "kind", k.Kind) + "#" + tables[i].ID}
		d.Kinds = append(d.Kinds, rc)
		d.Total += counts[i]
	}
	if f.Kind != "" { // only the chosen kind's table
		i := slices.IndexFunc(reviewKinds, func(k struct{ Path, Kind, Label string }) bool { return k.Kind == f.Kind })
		d.Tables = []*table{tables[i]}
	}
	return s.dashRender(c, fiber.StatusOK, "review", dashView{Title: "Review queue", Here: dashPrefix + "/review", Filters: f, NoBar: true,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}}, Data: d})
}

// teamQueue keeps the items of the officers listed.
func teamQueue(q serverdb.ReviewQueue, officers []option) serverdb.ReviewQueue {
	in := map[string]bool{}
	for _, o := range officers {
		in[o.Value] = true
	}
	keep := func(id string) bool { return in[id] }
	q.Conflicts = slices.DeleteFunc(q.Conflicts, func(x serverdb.ConflictItem) bool { return !keep(x.OfficerID) })
	q.SetAside = slices.DeleteFunc(q.SetAside, func(x serverdb.SetAsideItem) bool { return !keep(x.Author.UserID) })
	q.Visits = slices.DeleteFunc(q.Visits, func(x serverdb.VisitReviewItem) bool { return !keep(x.OfficerID) })
	q.Assessments = slices.DeleteFunc(q.Assessments, func(x serverdb.AssessmentReviewItem) bool { return !keep(x.OfficerID) })
	return q
}

func (s *site) userNames(c *fiber.Ctx) (map[string]string, error) {
	users, err := s.db.ListUsers(c.UserContext())
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(users))
	for _, u := range users {
		out[u.ID] = u.Name
	}
	return out, nil
}

// scopeLabel names the team the page shows, or all teams.
func (s *site) scopeLabel(c *fiber.Ctx, actor serverdb.Actor, f *filters) (string, error) {
	team := f.Team
	if actor.Role == schema.RoleSupervisor {
		team = actor.TeamID
	}
	if team == "" {
		return "All teams", nil
	}
	teams, err := s.db.ListTeams(c.UserContext())
	if err != nil {
		return "", err
	}
	for _, t := range teams {
		if t.ID == team {
			return t.Name, nil
		}
	}
	return "Team " + team, nil
}

// showValue writes a stored JSON value for people: words for codes, names
// for user ids, "yes"/"no", lists joined; "(empty)" for none.
func showValue(names map[string]string, field string, v json.RawMessage) string {
	s := (&caseFile{names: names}).show(field, v)
	if s == "" {
		return "(empty)"
	}
	return s
}

// authorText is who wrote a value, from which device, when.
func authorText(a serverdb.Author) string {
	parts := []string{cmp.Or(a.UserName, a.UserID, "unknown")}
	if a.DeviceID != "" {
		parts = append(parts, "device "+a.DeviceID)
	}
	if a.At != "" {
		parts = append(parts, shortTime(a.At))
	}
	return strings.Join(parts, ", ")
}

// shortTime is a timestamp to the minute: "2026-11-20 14:02".
func shortTime(ts string) string {
	if len(ts) >= 16 && isDay(ts) {
		return strings.Replace(ts[:16], "T", " ", 1)
	}
	return ts
}

var conflictReasons = map[string]string{
	"lww_lost":                 "a change made later won (last writer wins)",
	"record_signed":            "the record was already signed",
	"overwritten_by_signature": "signing the record replaced it",
}

func fieldsText(names map[string]string, m map[string]json.RawMessage) string {
	var out []string
	for _, k := range slices.Sorted(mapsKeys(m)) {
		out = append(out, fieldLabel(k)+": "+showValue(names, k, m[k]))
	}
	return strings.Join(out, "; ")
}

// refusedWhy says why the server refused a change, in words.
func refusedWhy(e *schema.Error) string {
	switch {
	case e == nil:
		return ""
	case e.Code == schema.ECodeOutOfScope:
		return "the case is not one of the sender's cases"
	case e.Code == schema.ECodeSigned:
		return "the record is signed and cannot be changed"
	case e.Field != "":
		return fieldLabel(e.Field) + ": " + e.Message
	}
	return e.Message
}

// decideCell links to an item's page; its CSV cell is empty.
func decideCell(text, href string) cell { return cell{Text: text, Href: href, Null: true} }

// reviewTables are the queue's four tables, in reviewKinds' order.
func reviewTables(f *filters, q serverdb.ReviewQueue, names map[string]string) []*table {
	pc := &panelCtx{F: f}
	name := func(id string) string { return cmp.Or(names[id], id) }
	caseCell := func(crn, id string) cell {
		if crn == "" {
			return txt("a case outside your team")
		}
		return link(crn, pc.caseHref(id))
	}
	conflicts := &table{ID: "conflicts", Caption: "Sync conflicts: a change that lost", Empty: "No open conflicts.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "what", Label: "Record and field"},
			{Key: "why", Label: "Why it lost"}, {Key: "losing", Label: "Officer's change (lost)"}, {Key: "losing_by", Label: "Changed by"},
			{Key: "winning", Label: "Server's value (won)"}, {Key: "winning_by", Label: "Written by"}, {Key: "current", Label: "Value now"},
			{Key: "recorded", Label: "Recorded"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Conflicts {
		conflicts.Rows = append(conflicts.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(name(x.OfficerID)),
			txt(label(x.RecordEntity) + ": " + fieldLabel(x.Field)), txt(cmp.Or(conflictReasons[x.Reason], label(x.Reason))),
			txt(showValue(names, x.Field, x.Losing.Value)), txt(authorText(x.Losing.Author)),
			txt(showValue(names, x.Field, x.Winning.Value)), txt(authorText(x.Winning.Author)),
			txt(showValue(names, x.Field, x.Current)), txt(shortTime(x.RecordedAt)),
			decideCell("Resolve", pc.link(reviewItemHref(serverdb.KindConflict, x.ID)))})
	}
	setAside := &table{ID: "set-aside", Caption: "Set-aside changes: refused when a tablet sent them", Empty: "No set-aside changes waiting.",
		Columns: []column{{Key: "by", Label: "Sent by"}, {Key: "sent", Label: "Sent from"}, {Key: "received", Label: "Received"},
			{Key: "crn", Label: "Case"}, {Key: "what", Label: "Record"}, {Key: "why", Label: "Why it was refused"},
			{Key: "attempted", Label: "What it tried to write"}, {Key: "current", Label: "Server's value now"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.SetAside {
		why := refusedWhy(x.Error)
		attempted := "(not kept: set aside before this server version)"
		if x.Attempted != nil {
			attempted = fieldsText(names, x.Attempted)
		}
		current := "(not shown)"
		if x.Current != nil {
			current = fieldsText(names, x.Current)
		} else if x.CRN != "" {
			current = "(no such record yet)"
		}
		setAside.Rows = append(setAside.Rows, []cell{txt(name(x.Author.UserID)), txt(strings.TrimSuffix(x.Author.DeviceID+", device time "+shortTime(x.Author.At), ", device time ")),
			txt(shortTime(x.ReceivedAt)), caseCell(x.CRN, x.CaseID), txt(label(x.Entity)), txt(why), txt(attempted), txt(current),
			decideCell("Decide", pc.link(reviewItemHref(serverdb.KindSetAside, x.MutationID)))})
	}
	visits := &table{ID: "visits-review", Caption: "Signed visits no manager has reviewed", Empty: "No signed visit is waiting for review.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "type", Label: "Type"},
			{Key: "outcome", Label: "Outcome"}, {Key: "started", Label: "Started"}, {Key: "signed", Label: "Signed"},
			{Key: "received", Label: "Received"}, {Key: "warnings", Label: "Warnings"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Visits {
		var warn []string
		for _, w := range x.Warnings {
			warn = append(warn, sentence(w.Message))
		}
		visits.Rows = append(visits.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(name(x.OfficerID)), link(label(x.Type), pc.visitHref(x.ID)),
			txt(label(x.Outcome)), txt(shortTime(x.StartedAt)), txt(shortTime(x.SignedAt) + " by " + name(x.SignedBy)), txt(shortTime(x.ReceivedAt)),
			txt(strings.Join(warn, " ")), decideCell("Review", pc.link(reviewItemHref(serverdb.KindVisit, x.ID)))})
	}
	assessments := &table{ID: "assessments", Caption: "Safety assessments with no decision", Empty: "No safety assessment is waiting for a decision.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "officer", Label: "Officer"}, {Key: "address", Label: "Address"},
			{Key: "dogs", Label: "Dogs"}, {Key: "weapons", Label: "Weapons"}, {Key: "assessed", Label: "Assessed"},
			{Key: "decision", Label: "Decision so far"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Assessments {
		assessments.Rows = append(assessments.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(name(x.OfficerID)), txt(x.Address),
			txt(label(x.Dogs)), txt(label(x.Weapons)), txt(string(x.AssessedOn) + " by " + name(x.AssessedBy)), txt(cmp.Or(label(x.Decision), "none")),
			decideCell("Decide", pc.link(reviewItemHref(serverdb.KindAssessment, x.ID)))})
	}
	out := []*table{conflicts, setAside, visits, assessments}
	for _, t := range out { // the link to decide first, where a narrow screen shows it
		n := len(t.Columns) - 1
		t.Columns = append([]column{t.Columns[n]}, t.Columns[:n]...)
		for i, r := range t.Rows {
			t.Rows[i] = append([]cell{r[n]}, r[:n]...)
		}
	}
	return out
}

// decisionForm is a decision's form (the layout's "decide" block), on an
// item's page, the visit page or the case page.
type decisionForm struct {
	ID         string // element id prefix, unique on the page
	Action     string
	Next       string
	CSRF       string
	Legend     string
	Options    []option
	Decision   string
	Reason     string
	ReasonHint string
	Submit     string
	Errors     map[string]string // "decision", "reason" → message
	Summary    []fieldError      // the same, in order, for the error summary
}

type fieldError struct{ Field, Message string }

var (
	conflictOptions = []option{{serverdb.ConflictKeepServer, "Keep the server's value"},
		{serverdb.ConflictApplyLosing, "Apply the officer's change that lost (written now, in your name)"}}
	setAsideOptions = []option{{serverdb.SetAsideDismissed, "Dismiss it: nothing is written"},
		{serverdb.SetAsideApplied, "Apply it: its values are written now, in your name"}}
	visitOptions  = []option{{"approved", "Approve"}, {"not_approved", "Not approve"}, {"exempted", "Exempt"}, {"noted", "Noted"}}
	assessOptions = []option{{"approved", "Approve"}, {"not_approved", "Not approve"}, {"exempted", "Exempt"},
		{"referred", "Refer to a senior officer"}, {"noted", "Noted (the decision stays as it is)"}}
)

func newDecisionForm(kind, id, next, csrf string) *decisionForm {
	d := &decisionForm{ID: "decide", Action: reviewItemHref(kind, id), Next: next, CSRF: csrf, Errors: map[string]string{},
		Submit: "Record the decision"}
	switch kind {
	case serverdb.KindConflict:
		d.Legend, d.Options, d.ReasonHint = "Your decision on this conflict", conflictOptions, "Required: why this value is right. The officer sees it."
	case serverdb.KindSetAside:
		d.Legend, d.Options, d.ReasonHint = "Your decision on this change", setAsideOptions, "Required: why. Kept with the decision."
	case serverdb.KindVisit:
		d.Legend, d.Options, d.ReasonHint = "Your review of this signed visit", visitOptions, "Required when you do not approve or exempt; optional otherwise."
	case serverdb.KindAssessment:
		d.Legend, d.Options, d.ReasonHint = "Your decision on this safety assessment", assessOptions, "Required when you do not approve, exempt or refer; optional otherwise."
	}
	return d
}

func (d *decisionForm) fail(field, msg string) {
	if _, ok := d.Errors[field]; !ok {
		d.Errors[field] = msg
		d.Summary = append(d.Summary, fieldError{field, msg})
	}
}

// Label is the words of a decision value.
func (d *decisionForm) Label(v string) string {
	for _, o := range d.Options {
		if o.Value == v {
			return o.Label
		}
	}
	return label(v)
}

// plainError turns the store's refusal of a decision into a message next
// to its field; ok is false for a refusal that is not the form's (not
// found, forbidden, a failure), which gets the error page.
func plainError(kind string, err error) (field, msg string, ok bool) {
	e := schema.AsError(err)
	if e == nil {
		return "", "", false
	}
	switch {
	case e.Code == schema.ECodeRequired && e.Field == "reason":
		if kind == serverdb.KindVisit || kind == serverdb.KindAssessment {
			return "reason", "Give a reason: one is required when you do not approve, exempt or refer.", true
		}
		return "reason", "Give a reason for your decision.", true
	case e.Field == "reason":
		return "reason", fmt.Sprintf("The reason is too long: write at most %d characters.", 1900), true
	case e.Code == schema.ECodeSigned:
		return "decision", "The record is signed, so it is never changed. Keep the server's value instead; the officer can add an amendment.", true
	case e.Code == schema.ECodeOutOfScope:
		return "decision", "This change is for a case outside your team, so it cannot be applied. Dismiss it, and ask the case's supervisor.", true
	case e.Code == schema.ECodeInvalid && e.Field == "decision" && strings.Contains(e.Message, "not kept"):
		return "decision", "What this change tried to write was not kept (it was set aside before this server version), so it can only be dismissed.", true
	case e.Code == schema.ECodeInvalid && e.Field == "decision":
		return "decision", "Choose one of the decisions listed.", true
	case e.Field == "decision" || (e.Code == schema.ECodeInvalid && e.Field == "subject_id") || (e.Code == schema.ECodeInvalid && e.Field != ""):
		return "decision", sentence(e.Message), true
	}
	return "", "", false
}

// sentence starts s with a capital and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// reviewItem is one item's page.
type reviewItem struct {
	Kind      string
	Heading   string
	Facts     []itemFact
	Versions  []version // the values side by side
	VerCols   []string
	Earlier   []string // earlier reviews of a visit or assessment
	Form      *decisionForm
	CanDecide bool
	CaseIDs   []string // for the audit
	done      string   // the flash after a decision
}

type itemFact struct{ Label, Value, Href string }

type version struct {
	Label  string
	Values []string
	Mark   string
}

// loadReviewItem reads one item of the actor's scope for its page: an open
// conflict or set-aside change (from the queue), or a signed visit or a
// safety assessment (reviewed or not: a visit may be reviewed again).
func (s *site) loadReviewItem(c *fiber.Ctx, actor serverdb.Actor, f *filters, kind, id string) (*reviewItem, error) {
	ctx := c.UserContext()
	names, err := s.userNames(c)
	if err != nil {
		return nil, err
	}
	name := func(id string) string { return cmp.Or(names[id], id) }
	pc := &panelCtx{F: f}
	it := &reviewItem{Kind: kind}
	notFound := schema.Errorf(schema.ECodeNotFound, "id", "no open %s %q in your scope", kind, id)
	switch kind {
	case serverdb.KindConflict, serverdb.KindSetAside:
		q, err := s.db.ReviewQueue(ctx, actor, serverdb.ReviewFilter{Kind: kind})
		if err != nil {
			return nil, err
		}
		if kind == serverdb.KindConflict {
			i := slices.IndexFunc(q.Conflicts, func(x serverdb.ConflictItem) bool { return x.ID == id })
			if i < 0 {
				return nil, notFound
			}
			x := q.Conflicts[i]
			it.Heading = "Sync conflict, " + x.CRN
			it.CaseIDs = []string{x.CaseID}
			it.Facts = []itemFact{{"Case", x.CRN, pc.caseHref(x.CaseID)}, {"Officer", name(x.OfficerID), pc.officerHref(x.OfficerID)},
				{"Record", label(x.RecordEntity), ""}, {"Field", fieldLabel(x.Field), ""},
				{"Why the change lost", cmp.Or(conflictReasons[x.Reason], label(x.Reason)), ""}, {"Recorded", shortTime(x.RecordedAt), ""}}
			if x.RecordEntity == "visit" {
				it.Facts[2].Href = pc.visitHref(x.RecordID)
			}
			if x.Signed {
				it.Facts = append(it.Facts, itemFact{"Signed", "yes: the record is signed and is never changed; only “keep the server's value” is possible", ""})
			}
			it.VerCols = []string{"", fieldLabel(x.Field), "Written by, device, device time"}
			it.Versions = []version{
				{"The officer's change (lost)", []string{showValue(names, x.Field, x.Losing.Value), authorText(x.Losing.Author)}, "losing"},
				{"The server's value (won)", []string{showValue(names, x.Field, x.Winning.Value), authorText(x.Winning.Author)}, ""},
				{"The value now", []string{showValue(names, x.Field, x.Current), ""}, ""}}
		} else {
			i := slices.IndexFunc(q.SetAside, func(x serverdb.SetAsideItem) bool { return x.MutationID == id })
			if i < 0 {
				return nil, notFound
			}
			x := q.SetAside[i]
			it.Heading = "Set-aside change from " + name(x.Author.UserID)
			caseFact := itemFact{"Case", "a case outside your team (not shown)", ""}
			if x.CRN != "" {
				caseFact = itemFact{"Case", x.CRN + " (officer " + name(x.OfficerID) + ")", pc.caseHref(x.CaseID)}
				it.CaseIDs = []string{x.CaseID}
			}
			why := refusedWhy(x.Error)
			it.Facts = []itemFact{{"Sent by", name(x.Author.UserID), ""}, {"Device", x.Author.DeviceID, ""},
				{"Device time", shortTime(x.Author.At), ""}, {"Received", shortTime(x.ReceivedAt), ""}, caseFact,
				{"Record", label(x.Entity) + " " + x.RecordID, ""}, {"Why it was refused", why, ""}}
			it.VerCols = []string{"Field", "What it tried to write", "The server's value now"}
			if x.Attempted == nil {
				it.Facts = append(it.Facts, itemFact{"What it tried to write", "not kept: it was set aside before this server version, so it can only be dismissed", ""})
			}
			for _, k := range slices.Sorted(mapsKeys(x.Attempted)) {
				cur := "(not shown)"
				if x.Current != nil {
					cur = showValue(names, k, x.Current[k])
				} else if x.CRN != "" {
					cur = "(no such record yet)"
				}
				it.Versions = append(it.Versions, version{fieldLabel(k), []string{showValue(names, k, x.Attempted[k]), cur}, ""})
			}
		}
	case serverdb.KindVisit, serverdb.KindAssessment:
		entity := map[string]string{serverdb.KindVisit: "visit", serverdb.KindAssessment: "safety_assessment"}[kind]
		rec, err := s.db.Get(ctx, actor, entity, id)
		if err != nil {
			return nil, err
		}
		k, err := s.db.Get(ctx, actor, "case", rec.CaseID)
		if err != nil {
			return nil, err
		}
		var cs schema.Case
		if err := json.Unmarshal(mustJSON(k.Fields), &cs); err != nil {
			return nil, err
		}
		it.CaseIDs = []string{rec.CaseID}
		caseFact := itemFact{"Case", cs.CRN + " " + cs.GivenName + " " + cs.FamilyName, pc.caseHref(rec.CaseID)}
		officer := itemFact{"Officer", name(cs.OfficerID), pc.officerHref(cs.OfficerID)}
		if kind == serverdb.KindVisit {
			var v schema.Visit
			if err := json.Unmarshal(mustJSON(rec.Fields), &v); err != nil {
				return nil, err
			}
			if v.Status != "signed" {
				return nil, schema.Errorf(schema.ECodeNotFound, "id", "visit %s is not signed: only a signed visit is reviewed", id)
			}
			it.Heading = "Signed visit, " + cs.CRN
			it.Facts = []itemFact{caseFact, officer, {"Visit", label(v.Type) + ", " + label(v.Outcome), pc.visitHref(id)},
				{"Started", shortTime(string(v.StartedAt)), ""}, {"Signed", shortTime(string(v.SignedAt)) + " by " + name(v.SignedBy), ""},
				{"Received", rec.ReceivedAt.UTC().Format("2006-01-02 15:04 UTC"), ""}}
		} else {
			var a schema.SafetyAssessment
			if err := json.Unmarshal(mustJSON(rec.Fields), &a); err != nil {
				return nil, err
			}
			it.Heading = "Safety assessment, " + cs.CRN
			it.Facts = []itemFact{caseFact, officer, {"Address", a.Address, ""}, {"Dogs", label(a.Dogs), ""}, {"Weapons", label(a.Weapons), ""},
				{"Assessed", string(a.AssessedOn) + " by " + name(a.AssessedBy), ""}, {"Decision so far", cmp.Or(label(a.Decision), "none"), ""}}
			if a.DecisionReason != "" {
				it.Facts = append(it.Facts, itemFact{"Reason given", a.DecisionReason, ""})
			}
		}
		if it.Earlier, err = s.earlierReviews(c, actor, rec.CaseID, id, names); err != nil {
			return nil, err
		}
	default:
		return nil, schema.Errorf(schema.ECodeNotFound, "", "there is no page %s", c.Path())
	}
	return it, nil
}

func mustJSON(m map[string]json.RawMessage) []byte { b, _ := json.Marshal(m); return b }

// earlierReviews lists the oversight records of a subject, oldest first.
func (s *site) earlierReviews(c *fiber.Ctx, actor serverdb.Actor, caseID, subjectID string, names map[string]string) ([]string, error) {
	recs, err := s.db.List(c.UserContext(), actor, "oversight", caseID)
	if err != nil {
		return nil, err
	}
	var os []schema.Oversight
	for _, r := range recs {
		var o schema.Oversight
		if err := json.Unmarshal(mustJSON(r.Fields), &o); err != nil {
			return nil, err
		}
		if o.SubjectID == subjectID {
			os = append(os, o)
		}
	}
	slices.SortStableFunc(os, func(a, b schema.Oversight) int { return cmp.Compare(a.At, b.At) })
	var out []string
	for _, o := range os {
		s := label(o.Decision) + " by " + cmp.Or(names[o.By], o.By) + ", " + shortTime(string(o.At))
		if o.Reason != "" {
			s += ": " + o.Reason
		}
		out = append(out, s)
	}
	return out, nil
}

// GET /dashboard/review/:kind/:id: one item, its versions and the form.
func (s *site) dashReviewItem(c *fiber.Ctx) error {
	kind := reviewKindOfPath(c.Params("kind"))
	if kind == "" {
		return schema.Errorf(schema.ECodeNotFound, "", "there is no page %s", c.Path())
	}
	sess := dashSessionOf(c)
	actor := sess.actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	it, err := s.loadReviewItem(c, actor, f, kind, c.Params("id"))
	if err != nil {
		return err
	}
	if err := s.db.AuditView(c.UserContext(), actor, "dashboard/review/"+kind, it.CaseIDs, map[string]string{"id": c.Params("id")}); err != nil {
		return err
	}
	it.CanDecide = canDecide(&sess.user)
	it.Form = newDecisionForm(kind, c.Params("id"), dashNext(c.Query("next", f.Link(dashPrefix+"/review"))), sess.csrf)
	return s.renderReviewItem(c, fiber.StatusOK, f, it)
}

func (s *site) renderReviewItem(c *fiber.Ctx, status int, f *filters, it *reviewItem) error {
	return s.dashRender(c, status, "review_item", dashView{Title: it.Heading, Filters: f, NoBar: true,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}, {"Review queue", f.Link(dashPrefix + "/review")}}, Data: it})
}

// POST /dashboard/review/:kind/:id: record the decision. A refusal writes
// nothing and shows the item again with the message next to its field.
func (s *site) dashReviewDecide(c *fiber.Ctx) error {
	kind := reviewKindOfPath(c.Params("kind"))
	if kind == "" {
		return schema.Errorf(schema.ECodeNotFound, "", "there is no page %s", c.Path())
	}
	sess := dashSessionOf(c)
	actor := sess.actor()
	form, err := dashForm(c)
	if err != nil {
		return err
	}
	id := c.Params("id")
	d := newDecisionForm(kind, id, dashNext(cmp.Or(form.Get("next"), dashPrefix+"/review")), sess.csrf)
	d.Decision, d.Reason = form.Get("decision"), form.Get("reason")
	if d.Decision == "" {
		d.fail("decision", "Choose a decision.")
	} else if !slices.ContainsFunc(d.Options, func(o option) bool { return o.Value == d.Decision }) {
		d.fail("decision", "Choose one of the decisions listed.")
	}
	var done string
	var refused error
	if len(d.Errors) == 0 {
		done, refused = s.decide(c, actor, kind, id, d.Decision, d.Reason)
		if schema.ErrorCode(refused) == schema.ECodeConflict {
			// Decided meanwhile (another tab, another supervisor): the item
			// has left the queue, so there is no form to show again.
			return schema.Errorf(schema.ECodeConflict, "", "Someone has already decided this item, so nothing was recorded. The review queue shows what is still open.")
		}
		if refused != nil {
			field, msg, ok := plainError(kind, refused)
			if !ok {
				return refused
			}
			d.fail(field, msg)
		}
	}
	if len(d.Errors) > 0 {
		// The item again, with the errors; nothing was written, and the
		// view is not audited again (the form's page was).
		f, err := s.readFilters(c, actor)
		if err != nil {
			return err
		}
		it, err := s.loadReviewItem(c, actor, f, kind, id)
		if err != nil {
			return err
		}
		it.CanDecide, it.Form = true, d
		return s.renderReviewItem(c, fiber.StatusUnprocessableEntity, f, it)
	}
	c.Cookie(&fiber.Cookie{Name: dashFlashCookie, Value: url.QueryEscape(done), Path: dashPrefix, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https", MaxAge: 120})
	// To the flash, at the top (and not to the form's own #anchor, which
	// the browser would otherwise carry over).
	return c.Redirect(d.Next+"#flash", fiber.StatusSeeOther)
}

// decide calls the store and says what was done.
func (s *site) decide(c *fiber.Ctx, actor serverdb.Actor, kind, id, decision, reason string) (string, error) {
	ctx := c.UserContext()
	switch kind {
	case serverdb.KindConflict:
		if _, err := s.db.ResolveConflict(ctx, actor, id, serverdb.ConflictDecision{Decision: decision, Reason: reason}); err != nil {
			return "", err
		}
		if decision == serverdb.ConflictKeepServer {
			return "Conflict resolved: the server's value stands. The officer's tablet will show your decision.", nil
		}
		return "Conflict resolved: the officer's change is written again, in your name.", nil
	case serverdb.KindSetAside:
		it, err := s.db.ResolveSetAside(ctx, actor, id, serverdb.SetAsideDecision{Decision: decision, Reason: reason})
		if err != nil {
			return "", err
		}
		if decision == serverdb.SetAsideApplied {
			return "The set-aside " + label(it.Entity) + " change was applied, in your name.", nil
		}
		return "The set-aside " + label(it.Entity) + " change was dismissed.", nil
	default:
		entity := map[string]string{serverdb.KindVisit: "visit", serverdb.KindAssessment: "safety_assessment"}[kind]
		if _, err := s.db.Oversee(ctx, actor, serverdb.OversightInput{SubjectEntity: entity, SubjectID: id, Decision: decision, Reason: reason}); err != nil {
			return "", err
		}
		what := "Visit"
		if kind == serverdb.KindAssessment {
			what = "Safety assessment"
		}
		return what + " reviewed: " + label(decision) + ".", nil
	}
}

// reviewCounts keeps the records part of each scope's review count with
// the store's change number it was read at (serverdb.ReviewCountRecords
// changes only with the records): the menu shows the count on every page.
// The set-aside part is counted each time (a decision on one writes no
// record). With several writers a change numbered lower than MaxSeq can
// commit after it was read (PostgreSQL); the menu's count then lags until
// the next change, as the records cache's scope answer does; the queue's
// page always reads afresh.
type reviewCounts struct {
	mu sync.Mutex
	m  map[string][2]int64 // scope → seq, count
}

func (s *site) reviewCount(c *fiber.Ctx, actor serverdb.Actor) (int, error) {
	ctx := c.UserContext()
	rc := &s.counts
	seq, err := s.db.MaxSeq(ctx)
	if err != nil {
		return 0, err
	}
	key := compliance.ScopeKey(actor)
	rc.mu.Lock()
	e, ok := rc.m[key]
	rc.mu.Unlock()
	if !ok || e[0] != seq {
		n, err := s.db.ReviewCountRecords(ctx, actor)
		if err != nil {
			return 0, err
		}
		e = [2]int64{seq, int64(n)}
		rc.mu.Lock()
		if rc.m == nil {
			rc.m = map[string][2]int64{}
		}
		rc.m[key] = e
		rc.mu.Unlock()
	}
	sa, err := s.db.ReviewCountSetAside(ctx, actor)
	return int(e[1]) + sa, err
}

// takeFlash reads and clears the flash cookie.
func takeFlash(c *fiber.Ctx) string {
	v := c.Cookies(dashFlashCookie)
	if v == "" {
		return ""
	}
	c.Cookie(&fiber.Cookie{Name: dashFlashCookie, Value: "", Path: dashPrefix, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Expires: time.Unix(0, 0), MaxAge: -1})
	msg, err := url.QueryUnescape(v)
	if err != nil || len(msg) > 300 {
		return ""
	}
	return msg
}
