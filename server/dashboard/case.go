package dashboard

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"doorstep/schema"
	"doorstep/server/compliance"
	"doorstep/server/serverdb"

	"github.com/gofiber/fiber/v2"
)

// caseEntities are the records a case page shows.
var caseEntities = []string{"case", "flag", "household_member", "visit", "amendment", "enquiry", "safety_assessment", "referral"}

// caseFile is one case's records, read through the store's scope: a case
// of another team is not found.
type caseFile struct {
	recs       compliance.CaseRecords // visits with amendments applied
	raw        map[string]schema.Record
	amendments []schema.Amendment
	referrals  []schema.Referral
	names      map[string]string // user and household member ids → names
	team       string
}

func (s *site) loadCase(c *fiber.Ctx, actor serverdb.Actor, caseID string) (*caseFile, error) {
	ctx := c.UserContext()
	if _, err := s.db.Get(ctx, actor, "case", caseID); err != nil {
		return nil, err
	}
	cf := &caseFile{raw: map[string]schema.Record{}, names: map[string]string{}}
	var raws []schema.RawRecord
	for _, e := range caseEntities {
		recs, err := s.db.List(ctx, actor, e, caseID)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			cf.raw[r.ID] = r
			rr, err := r.Raw()
			if err != nil {
				return nil, err
			}
			raws = append(raws, rr)
			switch e {
			case "amendment":
				var a schema.Amendment
				if err := rr.Decode(&a); err != nil {
					return nil, err
				}
				cf.amendments = append(cf.amendments, a)
			case "referral":
				var x schema.Referral
				if err := rr.Decode(&x); err != nil {
					return nil, err
				}
				cf.referrals = append(cf.referrals, x)
			}
		}
	}
	grouped, err := compliance.Group(raws)
	if err != nil {
		return nil, err
	}
	if len(grouped) != 1 {
		return nil, schema.Errorf(schema.ECodeNotFound, "id", "no case %q", caseID)
	}
	cf.recs = grouped[0]
	slices.SortFunc(cf.amendments, func(a, b schema.Amendment) int {
		return cmp.Or(cmp.Compare(a.AmendedAt, b.AmendedAt), cmp.Compare(a.ID, b.ID))
	})
	users, err := s.db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		cf.names[u.ID] = u.Name
	}
	for _, m := range cf.recs.Household {
		cf.names[m.ID] = cmp.Or(m.Name, m.Description)
	}
	teams, err := s.db.ListTeams(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		if t.ID == cf.recs.Case.TeamID {
			cf.team = t.Name
		}
	}
	return cf, nil
}

func (cf *caseFile) name(id string) string { return cmp.Or(cf.names[id], id) }

type caseData struct {
	Review   *caseReview // the latest safety assessment's decision form
	QA       *caseQAView // the DA risk analysis rating (QA sample, panel_qa.go)
	Case     schema.Case
	Officer  string
	OfficerH string
	Team     string
	Flags    string
	Tables   []*table
}

// GET /dashboard/cases/:id: the case as the officer's records hold it.
// Every view is audited.
func (s *site) dashCase(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	actor := sess.actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	id := c.Params("id")
	cf, err := s.loadCase(c, actor, id)
	if err != nil {
		return err
	}
	k := cf.recs.Case
	path := dashPrefix + "/cases/" + id
	pc := &panelCtx{F: f, In: compliance.Input{Policy: s.srv.Policy()}}
	tables := caseTables(pc, cf, f.Today)
	if done, err := tablesOrCSV(c, f, path, "case-"+k.CRN, tables...); done {
		if err == nil {
			err = s.db.AuditView(c.UserContext(), actor, "dashboard/case.csv", []string{id}, map[string]string{"table": c.Query("table")})
		}
		return err
	}
	if c.Locals(qaFormLocal) == nil { // a refused QA rating shown again: its form's page was audited
		if err := s.db.AuditView(c.UserContext(), actor, "dashboard/case", []string{id}, map[string]string{"case_id": id}); err != nil {
			return err
		}
	}
	review, err := s.caseReview(c, sess, cf)
	if err != nil {
		return err
	}
	qa, status, err := s.caseQA(c, sess, cf, f)
	if err != nil {
		return err
	}
	return s.dashRender(c, status, "case", dashView{Title: k.CRN + " " + k.GivenName + " " + k.FamilyName, Filters: f,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}, {cf.name(k.OfficerID), pc.officerHref(k.OfficerID)}},
		Data: caseData{Case: k, Officer: cf.name(k.OfficerID), OfficerH: pc.officerHref(k.OfficerID), Team: cf.team,
			Flags: liveFlags(cf.recs.Flags, f.Today), Tables: tables, Review: review, QA: qa}})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// caseTables are the case page's sections, each a sortable table.
func caseTables(pc *panelCtx, cf *caseFile, today schema.Date) []*table {
	r := cf.recs
	flags := &table{ID: "flags", Caption: "Flags", Empty: "No flags.",
		Columns: []column{{Key: "type", Label: "Flag"}, {Key: "start", Label: "Since"}, {Key: "review", Label: "Next review"},
			{Key: "ended", Label: "Ended"}, {Key: "notes", Label: "Notes"}}}
	for _, x := range r.Flags {
		rev := day(x.NextReviewDate)
		if x.NextReviewDate != "" && x.NextReviewDate < today && x.EndedOn == "" {
			rev.Text += " (review overdue)"
			rev.Mark = "bad"
		}
		flags.Rows = append(flags.Rows, []cell{txt(label(x.Type)), day(x.StartDate), rev, day(x.EndedOn), txt(x.Notes)})
	}
	house := &table{ID: "household", Caption: "Household", Empty: "No household members recorded.",
		Columns: []column{{Key: "name", Label: "Name or description"}, {Key: "relation", Label: "Relation"}, {Key: "residence", Label: "Lives"},
			{Key: "age", Label: "Date of birth or age"}, {Key: "victim", Label: "Victim or potential victim"},
			{Key: "cs", Label: "Known to children's services"}, {Key: "cpp", Label: "Child protection plan"}, {Key: "since", Label: "Added"}, {Key: "left", Label: "Left"}}}
	for _, m := range r.Household {
		age := day(m.DateOfBirth)
		if m.DateOfBirth == "" && m.Age > 0 {
			age = cell{Text: fmt.Sprintf("age %d", m.Age), Key: fmt.Sprintf("age %03d", m.Age)}
		}
		victim := m.VictimOrPotentialVictim
		if m.IsChild() {
			victim = m.ChildVictimInOwnRight
		}
		house.Rows = append(house.Rows, []cell{txt(cmp.Or(m.Name, m.Description)), txt(label(m.Relation)), txt(label(m.Residence)),
			age, txt(label(victim)), txt(label(m.KnownToChildrensServices)), txt(label(m.ChildProtectionPlan)), day(m.AddedOn), day(m.LeftOn)})
	}
	facts, safety := compliance.Facts(r, today)
	reqs := &table{ID: "requirements", Caption: "Visits the policy requires (rules " + pc.In.Policy.Version + ")", Empty: "The policy requires no visit yet.",
		Columns: []column{{Key: "rule", Label: "Visit required"}, {Key: "trigger", Label: "Because of"}, {Key: "since", Label: "Since"},
			{Key: "due", Label: "Due"}, {Key: "status", Label: "Status"}, {Key: "met", Label: "Met on"}, {Key: "overdue", Label: "Days overdue", Num: true},
			{Key: "note", Label: "Reason or attempts"}}}
	for _, q := range pc.In.Policy.Requirements(facts, today) {
		name := q.RuleID
		if rule, ok := pc.In.Policy.Rule(q.RuleID); ok {
			name = rule.Name
		}
		if q.Recurrence > 0 {
			name += fmt.Sprintf(" (repeat %d)", q.Recurrence)
		}
		status := cell{Text: string(q.Status), Mark: "status-" + string(q.Status)}
		if q.Status == "met" && !q.OnTime() {
			status.Text = "met late"
		}
		note := datesInWords(q.Reason)
		if len(q.Attempts) > 0 {
			note = strings.TrimSpace(note + fmt.Sprintf(" %d no-access attempt(s)", len(q.Attempts)))
		}
		met := day(q.MetOn)
		if q.MetBy != "" {
			met.Href = pc.visitHref(q.MetBy)
		}
		reqs.Rows = append(reqs.Rows, []cell{txt(name), txt(label(string(q.Trigger))), day(q.TriggeredOn), day(q.DueOn),
			status, met, num(q.DaysOverdue), txt(note)})
	}
	amended := map[string]int{}
	for _, a := range cf.amendments {
		amended[a.VisitID]++
	}
	visits := &table{ID: "visits", Caption: "Visits and contacts", Empty: "No visits recorded.",
		Columns: []column{{Key: "when", Label: "When"}, {Key: "type", Label: "Type"}, {Key: "status", Label: "Status"},
			{Key: "outcome", Label: "Outcome"}, {Key: "f2f", Label: "Face to face"}, {Key: "by", Label: "Officer"},
			{Key: "amendments", Label: "Amendments", Num: true}}}
	// Newest first: what a supervisor looks for.
	vs := slices.Clone(r.Visits)
	slices.SortStableFunc(vs, func(a, b schema.Visit) int {
		return cmp.Compare(cmp.Or(b.StartedAt, b.PlannedAt), cmp.Or(a.StartedAt, a.PlannedAt))
	})
	for _, v := range vs {
		at := string(cmp.Or(v.StartedAt, v.PlannedAt))
		when := link(cmp.Or(ukTime(at), "(no time)"), pc.visitHref(v.ID))
		when.Key = at
		visits.Rows = append(visits.Rows, []cell{when, txt(label(cmp.Or(v.Type, v.PlannedType))),
			txt(v.Status), txt(label(v.Outcome)), txt(yesNo(v.FaceToFace)), txt(cf.name(v.OfficerID)), num(amended[v.ID])})
	}
	enq := &table{ID: "enquiries", Caption: "Safeguarding enquiries", Empty: "No enquiries recorded.",
		Columns: []column{{Key: "agency", Label: "Agency"}, {Key: "stage", Label: "Stage"}, {Key: "requested", Label: "Requested"},
			{Key: "due", Label: "Due"}, {Key: "answered", Label: "Answered"}, {Key: "result", Label: "Result"}, {Key: "note", Label: "Notes or reason not requested"}}}
	for _, e := range r.Enquiries {
		enq.Rows = append(enq.Rows, []cell{txt(label(e.Agency)), txt(label(e.Stage)), day(e.RequestedOn), day(e.DueOn),
			day(e.AnsweredOn), txt(label(e.Result)), txt(strings.TrimSpace(e.NotRequestedReason + " " + e.Notes))})
	}
	refs := &table{ID: "referrals", Caption: "Intervention needs and referrals", Empty: "No referrals recorded.",
		Columns: []column{{Key: "need", Label: "Need"}, {Key: "identified", Label: "Identified"}, {Key: "decision", Label: "Decision"},
			{Key: "status", Label: "Status"}, {Key: "since", Label: "Since"}, {Key: "reason", Label: "Reason"}}}
	for _, x := range cf.referrals {
		refs.Rows = append(refs.Rows, []cell{txt(x.Need), day(x.IdentifiedOn), txt(label(x.Decision)), txt(label(x.Status)),
			day(x.StatusOn), txt(x.DecisionReason)})
	}
	safe := &table{ID: "safety", Caption: "Safety assessments", Empty: "No safety assessment recorded.",
		Columns: []column{{Key: "assessed", Label: "Assessed"}, {Key: "address", Label: "Address"}, {Key: "dogs", Label: "Dogs"},
			{Key: "weapons", Label: "Weapons"}, {Key: "decision", Label: "Decision"}, {Key: "decided", Label: "Decided"},
			{Key: "by", Label: "By"}, {Key: "reason", Label: "Reason"}}}
	for _, a := range r.SafetyAssessments {
		d := cell{Text: label(a.Decision)}
		if safety != nil && safety.AssessmentID == a.ID {
			d.Text += " (applies now)"
			d.Mark = "bad"
		}
		safe.Rows = append(safe.Rows, []cell{day(a.AssessedOn), txt(a.Address), txt(label(a.Dogs)), txt(label(a.Weapons)), d,
			day(a.DecidedOn), txt(cf.name(a.DecidedBy)), txt(a.DecisionReason)})
	}
	return []*table{reqs, visits, flags, house, enq, refs, safe}
}

// visitFields are the visit's fields in the order the page lists them.
var visitFields = []struct{ key, label string }{
	{"status", "Status"}, {"planned_type", "Planned type"}, {"planned_at", "Planned for"}, {"type", "Type"},
	{"outcome", "Outcome"}, {"outcome_reason", "Outcome reason"}, {"location", "Where"}, {"place_type", "Place"},
	{"elsewhere_reason", "Reason for meeting elsewhere"}, {"face_to_face", "Face to face"}, {"started_at", "Started"},
	{"ended_at", "Ended"}, {"person_seen", "Person seen"}, {"partner_present", "Partner present"},
	{"partner_seen_alone", "Partner seen alone"}, {"partner_concerns", "Partner: concerns"}, {"children_present", "Children present"},
	{"children", "Children"}, {"others_present", "Others present"}, {"observations", "Observations"},
	{"observation_notes", "Observation notes"}, {"safeguarding_concern", "Safeguarding concern"}, {"actions", "Actions taken"},
	{"no_action_reason", "Why no action"}, {"action_notes", "Action notes"}, {"next_visit_on", "Next visit"},
	{"officer_id", "Officer"}, {"signed_at", "Signed at"}, {"signed_by", "Signed by"},
}

type visitData struct {
	Review                *decisionForm // the oversight form of a signed visit (reviewers only)
	Earlier               []string      // earlier reviews
	CaseID, CaseHref, CRN string
	Signed                bool
	Fields                *table
	Amendments            *table
	Received              string
	Heading               string // "Visit to Vik Rookcombe, 3 December 2026"
	// Warnings: what the server's check of the signed visit found
	// (serverdb.SignedVisitWarnings), in words.
	Warnings []string
	// Signature: how the tablet's signature of a signed visit checks now
	// (serverdb.VerifyVisit), in words; Broken lists what no longer holds.
	Signature string
	Broken    []string
}

// GET /dashboard/visits/:id: the visit as the officer signed it, each
// amendment, and the record with the amendments applied. Every view is
// audited.
func (s *site) dashVisit(c *fiber.Ctx) error {
	sess := dashSessionOf(c)
	actor := sess.actor()
	f, err := s.readFilters(c, actor)
	if err != nil {
		return err
	}
	id := c.Params("id")
	rec, err := s.db.Get(c.UserContext(), actor, "visit", id)
	if err != nil {
		return err
	}
	cf, err := s.loadCase(c, actor, rec.CaseID)
	if err != nil {
		return err
	}
	pc := &panelCtx{F: f}
	signed := rec.Fields
	applied := map[string]json.RawMessage{}
	for k, v := range signed {
		applied[k] = v
	}
	changed := map[string]bool{}
	ams := &table{ID: "amendments", Caption: "Amendments, oldest first", Empty: "Not amended.",
		Columns: []column{{Key: "at", Label: "Amended at"}, {Key: "by", Label: "By"}, {Key: "reason", Label: "Reason"}, {Key: "changes", Label: "Changes"}}}
	for _, a := range cf.amendments {
		if a.VisitID != id {
			continue
		}
		var ch []string
		for _, k := range slices.Sorted(mapsKeys(a.Changes)) {
			if k == "status" || k == "signed_at" || k == "signed_by" {
				continue
			}
			v := a.Changes[k]
			if string(v) == "null" {
				delete(applied, k)
			} else {
				applied[k] = v
			}
			changed[k] = true
			ch = append(ch, fieldLabel(k)+": "+cf.show(k, v))
		}
		ams.Rows = append(ams.Rows, []cell{txt(ukTime(string(a.AmendedAt))), txt(cf.name(a.AmendedBy)), txt(a.Reason), txt(strings.Join(ch, "; "))})
	}
	fields := &table{ID: "fields", Caption: "The record", Empty: "",
		Columns: []column{{Key: "field", Label: "Field"}, {Key: "signed", Label: "As signed"}, {Key: "now", Label: "With amendments"}, {Key: "amended", Label: "Amended"}}}
	for _, fd := range visitFields {
		sv, av := cf.show(fd.key, signed[fd.key]), cf.show(fd.key, applied[fd.key])
		if sv == "" && av == "" {
			continue
		}
		am := cell{Text: "no"}
		if changed[fd.key] {
			am = cell{Text: "amended", Mark: "amended"}
		}
		fields.Rows = append(fields.Rows, []cell{txt(fd.label), txt(sv), txt(av), am})
	}
	k := cf.recs.Case
	if done, err := tablesOrCSV(c, f, dashPrefix+"/visits/"+id, "visit", fields, ams); done {
		if err == nil {
			err = s.db.AuditView(c.UserContext(), actor, "dashboard/visit.csv", []string{k.ID}, map[string]string{"visit_id": id, "table": c.Query("table")})
		}
		return err
	}
	if err := s.db.AuditView(c.UserContext(), actor, "dashboard/visit", []string{k.ID}, map[string]string{"visit_id": id}); err != nil {
		return err
	}
	var st string
	_ = json.Unmarshal(signed["status"], &st)
	d := visitData{CaseID: k.ID, CaseHref: pc.caseHref(k.ID), CRN: k.CRN, Signed: st == "signed", Fields: fields, Amendments: ams,
		Received: ukTime(rec.ReceivedAt.UTC().Format(time.RFC3339)), Heading: visitHeading(k, signed)}
	if d.Signed {
		var v schema.Visit
		if err := rec.Decode(&v); err != nil {
			return err
		}
		for _, w := range serverdb.SignedVisitWarnings(v, cf.recs.Household, cf.recs.Flags, cf.amendments) {
			d.Warnings = append(d.Warnings, sentence(w.Message))
		}
		if d.Signature, d.Broken, err = s.signatureCheck(c, id); err != nil {
			return err
		}
		if d.Earlier, err = s.earlierReviews(c, actor, k.ID, id, cf.names); err != nil {
			return err
		}
		if canDecide(&sess.user) {
			d.Review = newDecisionForm(serverdb.KindVisit, id, dashNext(c.OriginalURL()), sess.csrf)
		}
	}
	return s.dashRender(c, fiber.StatusOK, "visit", dashView{Title: d.Heading, Filters: f,
		Crumbs: []crumb{{"Dashboard", f.Link(dashPrefix + "/")}, {cf.name(k.OfficerID), pc.officerHref(k.OfficerID)}, {k.CRN, pc.caseHref(k.ID)}},
		Data:   d})
}

// signatureCheck says, in words, whether the tablet's signature of signed
// visit id and of each of its amendments still holds (serverdb.VerifyVisit),
// and lists what does not. The caller has checked the visit is in scope.
func (s *site) signatureCheck(c *fiber.Ctx, id string) (string, []string, error) {
	chk, err := s.db.VerifyVisit(c.UserContext(), id)
	switch {
	case errors.Is(err, serverdb.ErrNoSignature):
		return "No tablet signature is kept for this visit: it was not signed on a tablet (it came through the API or an import).", nil, nil
	case err != nil:
		return "", nil, err
	}
	if len(chk.Breaks) > 0 {
		return "", chk.Breaks, nil
	}
	if chk.Signature.Status == serverdb.SigUnsigned {
		return "The tablet sent no signature of its own (an older app); the server's countersignature of what it received holds, and the record is as received.", nil, nil
	}
	return "The tablet's signature verifies against the device's registered key, and the record and its amendments are as signed.", nil, nil
}

// caseReview is the case page's decision on its latest safety assessment.
type caseReview struct {
	About   string
	Earlier []string
	Form    *decisionForm // nil for an auditor
}

func (s *site) caseReview(c *fiber.Ctx, sess *dashSession, cf *caseFile) (*caseReview, error) {
	as := cf.recs.SafetyAssessments
	if len(as) == 0 {
		return nil, nil
	}
	latest := slices.MaxFunc(as, func(a, b schema.SafetyAssessment) int {
		return cmp.Or(cmp.Compare(a.AssessedOn, b.AssessedOn), cmp.Compare(a.ID, b.ID))
	})
	r := &caseReview{About: fmt.Sprintf("The latest safety assessment, %s at %s: %s.", ukDate(latest.AssessedOn), latest.Address,
		cmp.Or(label(latest.Decision), "no decision yet"))}
	var err error
	if r.Earlier, err = s.earlierReviews(c, sess.actor(), cf.recs.Case.ID, latest.ID, cf.names); err != nil {
		return nil, err
	}
	if canDecide(&sess.user) {
		r.Form = newDecisionForm(serverdb.KindAssessment, latest.ID, dashNext(c.OriginalURL()), sess.csrf)
	}
	return r, nil
}

func mapsKeys(m map[string]json.RawMessage) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func fieldLabel(k string) string {
	for _, f := range visitFields {
		if f.key == k {
			return f.label
		}
	}
	return label(k)
}

// show writes a visit field's JSON value for people: names for ids,
// words for codes, lists joined.
func (cf *caseFile) show(key string, v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	switch key {
	case "children":
		var kids []schema.VisitChild
		if json.Unmarshal(v, &kids) != nil {
			return string(v)
		}
		var out []string
		for _, k := range kids {
			s := cf.name(k.MemberID) + ": present " + label(k.Present) + ", seen " + label(k.Seen)
			if k.SpokenTo != "" {
				s += ", spoken to " + k.SpokenTo
			}
			if k.Concerns != "" {
				s += ", concerns: " + k.Concerns
			}
			if k.ReasonNotSeen != "" {
				s += ", not seen because: " + k.ReasonNotSeen
			}
			out = append(out, s)
		}
		return strings.Join(out, "; ")
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return string(v)
	}
	switch t := x.(type) {
	case string:
		if strings.HasSuffix(key, "_at") && isDay(t) {
			return ukTime(t) // the device's own time and offset, as recorded
		}
		if len(t) == 10 && isDay(t) {
			return ukDate(schema.Date(t))
		}
		switch key {
		case "officer_id", "signed_by":
			return cf.name(t)
		}
		if enumValues[t] {
			return label(t)
		}
		return t
	case bool:
		return yesNo(t)
	case []any:
		var out []string
		for _, e := range t {
			out = append(out, label(fmt.Sprint(e)))
		}
		return strings.Join(out, ", ")
	}
	return fmt.Sprint(x)
}

// visitHeading names the person and the day: "Visit to Vik Rookcombe,
// 3 December 2026" (the day it started, or was planned for).
func visitHeading(k schema.Case, fields map[string]json.RawMessage) string {
	h := "Visit to " + strings.TrimSpace(k.GivenName+" "+k.FamilyName)
	for _, key := range []string{"started_at", "planned_at"} {
		var ts string
		if json.Unmarshal(fields[key], &ts) == nil && len(ts) >= 10 && isDay(ts) {
			return h + ", " + ukDate(schema.Date(ts[:10]))
		}
	}
	return h
}
