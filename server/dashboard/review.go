package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
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

// reviewPageRows is a page of each table of the queue (not its CSV, which
// has every item): the queue is ordered by risk, so the first page is the
// one to work through; the pager goes further.
var reviewPageRows = 50

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
	// The pager, for one kind's table: "Items 51 to 100 of 230".
	Page       int
	PageText   string
	Prev, Next string
	// More links each table of the all-kinds view that has more items
	// than it shows to its kind's pages ("Show all 230").
	More map[string]reviewCount
	// Bulk is the "Approve selected" form, for the signed visits' and the
	// assessments' tables of a reviewer.
	Bulk *bulkForm
}

// bulkForm approves the rows ticked in its table with one reason.
type bulkForm struct {
	ID, Table, Kind, CSRF, Next string
	Reason, Error               string
}

// GET /dashboard/review: the team's open items, by risk then oldest, one
// page of each table (or of the chosen kind's, with a pager). Every view
// is audited with the cases it shows.
func (s *site) dashReview(c *fiber.Ctx) error {
	actor := dashSessionOf(c).actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	page := 1
	if v := c.Query("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 || page > 1_000_000 {
			return schema.Errorf(schema.ECodeInvalid, "page", "page must be a whole number, 1 or more, not %q", v)
		}
	}
	rf := serverdb.ReviewFilter{OfficerID: f.Officer, Kind: c.Query("kind"), TeamID: f.Team, Offset: (page - 1) * reviewPageRows, Limit: reviewPageRows,
		All: wantsCSV(c)}
	if err := rf.Validate(); err != nil {
		return err
	}
	if page > 1 && rf.Kind == "" {
		return schema.Errorf(schema.ECodeInvalid, "page", "choose a kind to see its further pages")
	}
	f.Kind = rf.Kind
	ctx := c.UserContext()
	q, err := s.db.ReviewQueue(ctx, actor, rf)
	if err != nil {
		return err
	}
	names, err := s.userNames(c)
	if err != nil {
		return err
	}
	sess := dashSessionOf(c)
	d := reviewData{Kind: f.Kind, Officers: f.Officers, Officer: f.Officer, CanDecide: canDecide(&sess.user), Page: page,
		Total: q.Total, More: map[string]reviewCount{}}
	rules := map[string]string{}
	for _, r := range s.srv.Policy().ReviewRules().Visits {
		rules[r.ID] = r.Name
	}
	devices, err := s.deviceNames(c, names)
	if err != nil {
		return err
	}
	tables := reviewTables(f, q, names, rules, devices, d.CanDecide && f.Kind != "")
	if done, err := tablesOrCSV(c, f, dashPrefix+"/review", "review", tables...); done {
		if err == nil {
			err = s.db.AuditView(ctx, actor, "dashboard/review.csv", q.CaseIDs(), map[string]string{"table": c.Query("table"), "officer": f.Officer, "kind": f.Kind})
		}
		return err
	}
	if err := s.db.AuditView(ctx, actor, "dashboard/review", q.CaseIDs(), map[string]string{"officer": f.Officer, "kind": f.Kind, "team": f.Team,
		"page": strconv.Itoa(page)}); err != nil {
		return err
	}
	counts := []int{q.Counts.Conflicts, q.Counts.SetAside, q.Counts.Visits, q.Counts.Assessments}
	d.Scope, err = s.scopeLabel(c, actor, f)
	if err != nil {
		return err
	}
	for i, k := range reviewKinds {
		rc := reviewCount{Kind: k.Kind, Label: k.Label, N: counts[i], Current: f.Kind == k.Kind,
			Href: f.linkWith(dashPrefix+"/review", "kind", k.Kind) + "#" + tables[i].ID}
		d.Kinds = append(d.Kinds, rc)
		if f.Kind == "" && counts[i] > len(tables[i].Rows) {
			d.More[tables[i].ID] = rc
		}
	}
	d.Tables = tables
	if f.Kind != "" { // only the chosen kind's table, with its pager
		i := slices.IndexFunc(reviewKinds, func(k struct{ Path, Kind, Label string }) bool { return k.Kind == f.Kind })
		d.Tables = []*table{tables[i]}
		n := counts[i]
		if len(tables[i].Rows) > 0 {
			d.PageText = fmt.Sprintf("Items %d to %d of %d", q.Offset+1, q.Offset+len(tables[i].Rows), n)
		} else if n > 0 {
			d.PageText = fmt.Sprintf("No items on page %d: there are %d", page, n)
		}
		pageLink := func(p int) string { return f.linkWith(dashPrefix+"/review", "kind", f.Kind, "page", strconv.Itoa(p)) }
		if page > 1 {
			d.Prev = pageLink(min(page-1, max(1, (n+reviewPageRows-1)/reviewPageRows)))
		}
		if q.Offset+len(tables[i].Rows) < n {
			d.Next = pageLink(page + 1)
		}
		if d.CanDecide && (f.Kind == serverdb.KindVisit || f.Kind == serverdb.KindAssessment) && len(tables[i].Rows) > 0 {
			d.Bulk = &bulkForm{ID: "bulk", Table: tables[i].ID, Kind: f.Kind, CSRF: sess.csrf,
				Next: dashNext(f.linkWith(dashPrefix+"/review", "kind", f.Kind, "page", strconv.Itoa(page)))}
		}
	}
	return s.dashRender(c, fiber.StatusOK, "review", dashView{Title: "Review queue", Here: dashPrefix + "/review", Filters: f, NoBar: true,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}}, Data: d})
}

// POST /dashboard/review/approve: approve the ticked signed visits or
// assessments with one reason (serverdb.ApproveAll: one oversight each, all
// or none). A refusal writes nothing and says why on the queue's page.
func (s *site) dashReviewApprove(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	form, err := dashForm(c)
	if err != nil {
		return err
	}
	kind := form.Get("kind")
	entity := map[string]string{serverdb.KindVisit: "visit", serverdb.KindAssessment: "safety_assessment"}[kind]
	next := dashNext(cmp.Or(form.Get("next"), dashPrefix+"/review"))
	ids := form["id"]
	var msg string
	switch {
	case entity == "":
		return schema.Errorf(schema.ECodeInvalid, "kind", "only signed visits and safety assessments are approved together, not %q", kind)
	case len(ids) == 0:
		msg = "Nothing was approved: tick the items to approve first."
	case strings.TrimSpace(form.Get("reason")) == "":
		msg = "Nothing was approved: give the reason for approving the items you ticked (it is recorded with each)."
	}
	if msg == "" {
		recs, err := s.db.ApproveAll(c.UserContext(), sess.actor(), serverdb.BulkApproval{SubjectEntity: entity, SubjectIDs: ids, Reason: form.Get("reason")})
		switch e := schema.AsError(err); {
		case err == nil:
			what := map[string]string{"visit": "signed visit", "safety_assessment": "safety assessment"}[entity]
			msg = fmt.Sprintf("Approved %d %s%s, each recorded with your reason.", len(recs), what, map[bool]string{true: "s"}[len(recs) != 1])
		case e != nil && e.Code != schema.ECodeForbidden:
			msg = "Nothing was approved: " + strings.TrimSuffix(e.Message, ".") + ". Reload the queue and try again."
			if e.Field == "reason" {
				msg = "Nothing was approved: the reason is too long (at most 1900 characters)."
			}
		default:
			return err
		}
	}
	return flashTo(c, msg, next)
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

// deviceNames names each device for people: "Asha's tablet" is written
// "tablet of Asha Patel" with its name when it has one ("tablet of Asha
// Patel, Galaxy Tab"); the server's own writes "the server"; a device the
// server does not know "a tablet not registered here". Never its id.
type deviceNames func(id string) string

func (s *site) deviceNames(c *fiber.Ctx, names map[string]string) (deviceNames, error) {
	devs, err := s.db.ListDevices(c.UserContext())
	if err != nil {
		return nil, err
	}
	byID := make(map[string]schema.Device, len(devs))
	for _, d := range devs {
		byID[d.ID] = d
	}
	return func(id string) string {
		d, ok := byID[id]
		switch {
		case id == "server":
			return "the server"
		case !ok:
			return "a tablet not registered here"
		}
		out := "tablet of " + cmp.Or(names[d.UserID], "an unknown user")
		if n := strings.TrimSpace(d.Name); n != "" {
			out += ", " + n
		}
		return out
	}, nil
}

// authorText is who wrote a value, from which device, when.
func authorText(a serverdb.Author, device deviceNames) string {
	parts := []string{cmp.Or(a.UserName, a.UserID, "unknown")}
	if a.DeviceID != "" {
		d := device(a.DeviceID)
		if rest, ok := strings.CutPrefix(d, "tablet of "+parts[0]); ok {
			d = "their tablet" + rest
		}
		parts = append(parts, d)
	}
	if a.At != "" {
		parts = append(parts, shortTime(a.At))
	}
	return strings.Join(parts, ", ")
}

// shortTime is a timestamp to the minute, as people in the UK write it
// (ukTime): "20 November 2026, 14:02".
func shortTime(ts string) string { return ukTime(ts) }

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

func visitIDs(items []serverdb.VisitReviewItem) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = x.ID
	}
	return out
}

func assessmentIDs(items []serverdb.AssessmentReviewItem) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = x.ID
	}
	return out
}

// decideCell links to an item's page; its CSV cell is empty.
func decideCell(text, href string) cell { return cell{Text: text, Href: href, Null: true} }

// riskText is a case's risk in words: "very high RoSH, domestic abuse,
// child protection".
func riskText(r serverdb.Risk) string {
	if r.RoSH == "" {
		return ""
	}
	parts := []string{label(r.RoSH) + " RoSH"}
	if r.DomesticAbuse {
		parts = append(parts, "domestic abuse")
	}
	if r.ChildProtection {
		parts = append(parts, "child protection")
	}
	s := strings.Join(parts, ", ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// checkCell is a row's tick box for the bulk approval form; its CSV cell
// is empty.
func checkCell(id string) cell { return cell{Check: id, Null: true} }

// reviewTables are the queue's four tables, in reviewKinds' order. rules
// names the review rules by id; check adds a tick box to each signed
// visit and assessment, for the bulk approval form.
func reviewTables(f *filters, q serverdb.ReviewQueue, names, rules map[string]string, device deviceNames, check bool) []*table {
	pc := &panelCtx{F: f}
	name := func(id string) string { return cmp.Or(names[id], id) }
	caseCell := func(crn, id string) cell {
		if crn == "" {
			return txt("a case outside your team")
		}
		return link(crn, pc.caseHref(id))
	}
	conflicts := &table{ID: "conflicts", Caption: "Sync conflicts: a change that lost", Empty: "No open conflicts.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "risk", Label: "Risk"}, {Key: "officer", Label: "Officer"}, {Key: "what", Label: "Record and field"},
			{Key: "why", Label: "Why it lost"}, {Key: "losing", Label: "Officer's change (lost)"}, {Key: "losing_by", Label: "Changed by"},
			{Key: "winning", Label: "Server's value (won)"}, {Key: "winning_by", Label: "Written by"}, {Key: "current", Label: "Value now"},
			{Key: "recorded", Label: "Recorded"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Conflicts {
		conflicts.Rows = append(conflicts.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(x.Name), txt(riskText(x.Risk)), txt(name(x.OfficerID)),
			txt(label(x.RecordEntity) + ": " + fieldLabel(x.Field)), txt(cmp.Or(conflictReasons[x.Reason], label(x.Reason))),
			txt(showValue(names, x.Field, x.Losing.Value)), txt(authorText(x.Losing.Author, device)),
			txt(showValue(names, x.Field, x.Winning.Value)), txt(authorText(x.Winning.Author, device)),
			txt(showValue(names, x.Field, x.Current)), txt(shortTime(x.RecordedAt)),
			decideCell("Resolve", pc.link(reviewItemHref(serverdb.KindConflict, x.ID)))})
	}
	setAside := &table{ID: "set-aside", Caption: "Set-aside changes: refused when a tablet sent them", Empty: "No set-aside changes waiting.",
		Columns: []column{{Key: "by", Label: "Sent by"}, {Key: "sent", Label: "Sent from"}, {Key: "received", Label: "Received"},
			{Key: "crn", Label: "Case"}, {Key: "name", Label: "Name"}, {Key: "risk", Label: "Risk"}, {Key: "what", Label: "Record"}, {Key: "why", Label: "Why it was refused"},
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
		setAside.Rows = append(setAside.Rows, []cell{txt(name(x.Author.UserID)), txt(strings.TrimSuffix(device(x.Author.DeviceID)+", device time "+shortTime(x.Author.At), ", device time ")),
			txt(shortTime(x.ReceivedAt)), caseCell(x.CRN, x.CaseID), txt(x.Name), txt(riskText(x.Risk)), txt(label(x.Entity)), txt(why), txt(attempted), txt(current),
			decideCell("Decide", pc.link(reviewItemHref(serverdb.KindSetAside, x.MutationID)))})
	}
	visits := &table{ID: "visits-review", Caption: "Signed visits no manager has reviewed", Empty: "No signed visit is waiting for review.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "risk", Label: "Risk"}, {Key: "why", Label: "Why it is here"}, {Key: "officer", Label: "Officer"},
			{Key: "type", Label: "Type"}, {Key: "outcome", Label: "Outcome"}, {Key: "started", Label: "Started"}, {Key: "signed", Label: "Signed"},
			{Key: "received", Label: "Received"}, {Key: "warnings", Label: "Warnings"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Visits {
		var warn []string
		for _, w := range x.Warnings {
			warn = append(warn, sentence(w.Message))
		}
		visits.Rows = append(visits.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(x.Name), txt(riskText(x.Risk)), txt(cmp.Or(rules[x.Rule], label(x.Rule))), txt(name(x.OfficerID)),
			link(label(x.Type), pc.visitHref(x.ID)), txt(label(x.Outcome)), txt(shortTime(x.StartedAt)), txt(shortTime(x.SignedAt) + " by " + name(x.SignedBy)),
			txt(shortTime(x.ReceivedAt)), txt(strings.Join(warn, " ")), decideCell("Review", pc.link(reviewItemHref(serverdb.KindVisit, x.ID)))})
	}
	assessments := &table{ID: "assessments", Caption: "Safety assessments with no decision", Empty: "No safety assessment is waiting for a decision.",
		Columns: []column{{Key: "crn", Label: "CRN"}, {Key: "name", Label: "Name"}, {Key: "risk", Label: "Risk"}, {Key: "officer", Label: "Officer"}, {Key: "address", Label: "Address"},
			{Key: "dogs", Label: "Dogs"}, {Key: "weapons", Label: "Weapons"}, {Key: "assessed", Label: "Assessed"},
			{Key: "decision", Label: "Decision so far"}, {Key: "decide", Label: "Decide"}}}
	for _, x := range q.Assessments {
		assessments.Rows = append(assessments.Rows, []cell{caseCell(x.CRN, x.CaseID), txt(x.Name), txt(riskText(x.Risk)), txt(name(x.OfficerID)), txt(x.Address),
			txt(label(x.Dogs)), txt(label(x.Weapons)), txt(ukDate(schema.Date(x.AssessedOn)) + " by " + name(x.AssessedBy)), txt(cmp.Or(label(x.Decision), "none")),
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
	if check { // a tick box before each signed visit and assessment
		for _, tc := range []struct {
			t   *table
			ids []string
		}{{visits, visitIDs(q.Visits)}, {assessments, assessmentIDs(q.Assessments)}} {
			tc.t.Columns = append([]column{{Key: "select", Label: "Select"}}, tc.t.Columns...)
			for i, r := range tc.t.Rows {
				tc.t.Rows[i] = append([]cell{checkCell(tc.ids[i])}, r...)
			}
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
	device, err := s.deviceNames(c, names)
	if err != nil {
		return nil, err
	}
	pc := &panelCtx{F: f}
	it := &reviewItem{Kind: kind}
	notFound := schema.Errorf(schema.ECodeNotFound, "id", "no open %s %q in your scope", kind, id)
	switch kind {
	case serverdb.KindConflict, serverdb.KindSetAside:
		q, err := s.db.ReviewQueue(ctx, actor, serverdb.ReviewFilter{Kind: kind, All: true})
		if err != nil {
			return nil, err
		}
		if kind == serverdb.KindConflict {
			i := slices.IndexFunc(q.Conflicts, func(x serverdb.ConflictItem) bool { return x.ID == id })
			if i < 0 {
				return nil, notFound
			}
			x := q.Conflicts[i]
			it.Heading = "Sync conflict, " + x.Name + " (" + x.CRN + ")"
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
				{"The officer's change (lost)", []string{showValue(names, x.Field, x.Losing.Value), authorText(x.Losing.Author, device)}, "losing"},
				{"The server's value (won)", []string{showValue(names, x.Field, x.Winning.Value), authorText(x.Winning.Author, device)}, ""},
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
			it.Facts = []itemFact{{"Sent by", name(x.Author.UserID), ""}, {"Device", device(x.Author.DeviceID), ""},
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
			it.Heading = "Signed visit: " + visitHeading(cs, rec.Fields)
			it.Facts = []itemFact{caseFact, officer, {"Visit", label(v.Type) + ", " + label(v.Outcome), pc.visitHref(id)},
				{"Started", shortTime(string(v.StartedAt)), ""}, {"Signed", shortTime(string(v.SignedAt)) + " by " + name(v.SignedBy), ""},
				{"Received", ukTime(rec.ReceivedAt.UTC().Format(time.RFC3339)), ""}}
		} else {
			var a schema.SafetyAssessment
			if err := json.Unmarshal(mustJSON(rec.Fields), &a); err != nil {
				return nil, err
			}
			it.Heading = "Safety assessment, " + cs.GivenName + " " + cs.FamilyName + ", " + ukDate(a.AssessedOn)
			it.Facts = []itemFact{caseFact, officer, {"Address", a.Address, ""}, {"Dogs", label(a.Dogs), ""}, {"Weapons", label(a.Weapons), ""},
				{"Assessed", ukDate(a.AssessedOn) + " by " + name(a.AssessedBy), ""}, {"Decision so far", cmp.Or(label(a.Decision), "none"), ""}}
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
	return flashTo(c, done, d.Next)
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

// flashTo keeps msg in the flash cookie for the next page (takeFlash)
// and answers 303 to next, at the flash on top: to #flash, not to the
// form's own #anchor, which the browser would otherwise carry over.
func flashTo(c *fiber.Ctx, msg, next string) error {
	c.Cookie(&fiber.Cookie{Name: dashFlashCookie, Value: url.QueryEscape(msg), Path: dashPrefix, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: c.Protocol() == "https", MaxAge: 120})
	if i := strings.IndexByte(next, '#'); i >= 0 {
		next = next[:i]
	}
	return c.Redirect(next+"#flash", fiber.StatusSeeOther)
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
