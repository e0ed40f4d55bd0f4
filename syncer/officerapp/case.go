package officerapp

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

type flagView struct {
	Key, Label, Since, NextReview string
	ReviewOverdue                 bool
	Notes                         string
}

type memberView struct {
	ID, Name, Relation, Residence, Age string
	Child                              bool
	Victim                             string // "Victim or potential victim: Yes" and the like
	Receipt                            receipt
}

// receipt says where a record is: safely on the server (with when and which
// version), waiting to be sent, or set aside by the server.
type receipt struct {
	State string // server, waiting, rejected
	Text  string
}

type visitView struct {
	ID, When, Type, Outcome, Status string
	Signed, Editable                bool
	Receipt                         receipt
	Amendments                      int
	Cancelled                       bool
	Reason                          string // why a cancelled visit was cancelled
}

type rowView struct {
	Title, Detail string
	ID            string // the record, for a link to change it
}

type caseData struct {
	ID, Name, CRN, DateOfBirth, Age, Address, AddressSince string
	Sentence, SupervisionStart                             string
	Officer                                                string // the officer the case is allocated to, named
	RoSH, RoSHLabel, RoSHDate, MAPPA                       string
	Flags                                                  []flagView
	Members                                                []memberView
	Visits                                                 []visitView
	Planned                                                []visitView // planned visits, soonest first
	Safety                                                 caseSafety
	Enquiries, Referrals                                   []rowView
	// Policy: the visits the visit policy asks for, computed here from the
	// case's records on the tablet.
	Policy policyView
}

// GET /app/cases/:id
func (w *webApp) casePage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	id := c.Params("id")
	cr, err := w.agent.Get(ctx, "case", id)
	if err != nil {
		return err
	}
	recs, err := w.agent.List(ctx, "", id)
	if err != nil {
		return err
	}
	now := w.api.Now()
	var cs schema.Case
	if err := cr.Decode(&cs); err != nil {
		return fmt.Errorf("case %s: %w", id, err)
	}
	d := caseData{ID: id, Name: cs.GivenName + " " + cs.FamilyName, CRN: cs.CRN, DateOfBirth: dateText(cs.DateOfBirth),
		Age: ageText(cs.DateOfBirth, now), Address: cs.Address, AddressSince: dateText(cs.AddressSince),
		Sentence: enumLabel("sentence_type", cs.SentenceType), SupervisionStart: dateText(cs.SupervisionStart),
		RoSH: cs.RoSH, RoSHLabel: enumLabel("rosh", cs.RoSH), RoSHDate: dateText(cs.RoSHDate)}
	if cs.NoFixedAbode {
		d.Address = "No fixed abode"
	}
	people := w.peopleOf(c)
	d.Officer = personText(cs.OfficerID, sessionOf(c).User, people)
	if cs.MAPPACategory != "" {
		d.MAPPA = "Category " + cs.MAPPACategory
		if cs.MAPPALevel != "" {
			d.MAPPA += ", level " + cs.MAPPALevel
		}
	}
	amendments := map[string]int{}
	var visits, assessments []syncer.LocalRecord
	for _, r := range recs {
		switch r.Entity {
		case "flag":
			var f schema.Flag
			if r.Decode(&f) != nil || f.EndedOn != "" {
				continue
			}
			d.Flags = append(d.Flags, flagView{Key: f.Type, Label: enumLabel("flag", f.Type), Since: dateText(f.StartDate),
				NextReview: dateText(f.NextReviewDate), Notes: f.Notes,
				ReviewOverdue: f.NextReviewDate != "" && f.NextReviewDate.Time().Before(now)})
		case "household_member":
			var m schema.HouseholdMember
			if r.Decode(&m) != nil || m.LeftOn != "" {
				continue
			}
			mv := memberView{ID: r.ID, Name: memberName(m), Relation: enumLabel("relation", m.Relation),
				Residence: enumLabel("residence", m.Residence), Child: m.IsChild(), Receipt: receiptOf(r, now)}
			switch {
			case m.DateOfBirth != "":
				mv.Age = ageText(m.DateOfBirth, now)
			case m.Age > 0:
				mv.Age = strconv.Itoa(m.Age)
			}
			if m.IsChild() && m.ChildVictimInOwnRight != "" {
				mv.Victim = "Victim in own right: " + enumLabel("", m.ChildVictimInOwnRight)
			} else if !m.IsChild() && m.VictimOrPotentialVictim != "" {
				mv.Victim = "Victim or potential victim: " + enumLabel("", m.VictimOrPotentialVictim)
			}
			d.Members = append(d.Members, mv)
		case "visit":
			visits = append(visits, r)
		case "amendment":
			amendments[str(r.Fields, "visit_id")]++
		case "safety_assessment":
			assessments = append(assessments, r)
		case "enquiry":
			var e schema.Enquiry
			if r.Decode(&e) != nil {
				continue
			}
			status := "requested " + dateText(e.RequestedOn)
			switch {
			case e.AnsweredOn != "":
				status = "answered " + dateText(e.AnsweredOn) + ": " + enumLabel("result", e.Result)
			case e.RequestedOn == "":
				status = "not requested"
			case e.DueOn != "" && e.DueOn.Time().Before(now):
				status += ", overdue since " + dateText(e.DueOn)
			}
			d.Enquiries = append(d.Enquiries, rowView{ID: r.ID, Title: enumLabel("agency", e.Agency) + " (" + strings.ToLower(enumLabel("stage", e.Stage)) + ")", Detail: status})
		case "referral":
			var rf schema.Referral
			if r.Decode(&rf) != nil {
				continue
			}
			detail := "identified " + dateText(rf.IdentifiedOn) + ", " + strings.ToLower(referralLabel("decision", cmp.Or(rf.Decision, "pending")))
			if rf.Status != "" {
				detail = referralLabel("status", rf.Status)
				if rf.StatusOn != "" {
					detail += " since " + dateText(rf.StatusOn)
				}
			}
			d.Referrals = append(d.Referrals, rowView{ID: r.ID, Title: rf.Need, Detail: capitalize(detail)})
		}
	}
	facts := localapi.NewPolicyFacts()
	facts.Add([]syncer.LocalRecord{cr})
	facts.Add(recs)
	if f, ok := facts.Facts(id, localapi.LocalDate(now)); ok {
		asOf := localapi.LocalDate(now)
		p, source := w.api.Policy()
		d.Policy = w.requirementsView(p, p.Requirements(f, asOf), asOf)
		d.Policy.Source = source
	}
	d.Safety = safetyOf(cs, assessments, func(id string) string { return personText(id, sessionOf(c).User, people) }, func(r syncer.LocalRecord) receipt { return receiptOf(r, now) })
	d.Safety.CaseID = id
	slices.SortFunc(d.Members, func(a, b memberView) int {
		return cmp.Or(boolCmp(a.Child, b.Child), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(visits, func(a, b syncer.LocalRecord) int { return cmp.Compare(visitTime(b), visitTime(a)) })
	for _, v := range visits {
		status := str(v.Fields, "status")
		vv := visitView{ID: v.ID, When: whenText(visitTime(v), now) + untilText(v), Type: enumLabel("type", cmp.Or(str(v.Fields, "type"), str(v.Fields, "planned_type"))),
			Outcome: enumLabel("outcome", str(v.Fields, "outcome")), Status: enumLabel("status", status), Signed: v.Signed,
			Editable: !v.Signed && (status == "draft" || status == "planned"), Receipt: receiptOf(v, now), Amendments: amendments[v.ID]}
		if status == "cancelled" {
			vv.Cancelled, vv.Reason = true, str(v.Fields, "outcome_reason")
		}
		if status == "planned" && !v.Signed {
			d.Planned = append(d.Planned, vv)
			continue
		}
		d.Visits = append(d.Visits, vv)
	}
	slices.Reverse(d.Planned)
	return w.render(c, fiber.StatusOK, "case", view{Title: d.Name, Data: d})
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func spaced(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == '_' {
			b[i] = ' '
		}
	}
	return string(b)
}

func memberName(m schema.HouseholdMember) string {
	if m.Name != "" {
		return m.Name
	}
	return m.Description
}

// visitTime is when a visit happened, or was planned, or was first written.
func visitTime(r syncer.LocalRecord) string {
	for _, f := range []string{"started_at", "planned_at"} {
		if s := str(r.Fields, f); s != "" {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC().Format(time.RFC3339)
			}
		}
	}
	return r.DeviceTime.UTC().Format(time.RFC3339)
}

// untilText is "–14:40" when the visit ended the day it started, else
// " to Tue 24 Nov 2026 at 01:10"; "" when it has no end.
func untilText(v syncer.LocalRecord) string {
	start, err1 := time.Parse(time.RFC3339Nano, str(v.Fields, "started_at"))
	end, err2 := time.Parse(time.RFC3339Nano, str(v.Fields, "ended_at"))
	if err1 != nil || err2 != nil {
		return ""
	}
	start, end = start.Local(), end.Local()
	if start.YearDay() == end.YearDay() && start.Year() == end.Year() {
		return "–" + end.Format(layoutClock)
	}
	return " to " + dayAtText(end)
}

func receiptOf(r syncer.LocalRecord, now time.Time) receipt {
	switch {
	case r.Rejected:
		return receipt{"rejected", "Set aside by the server: see the changes set aside"}
	case r.Pending || r.ReceivedAt.IsZero():
		return receipt{"waiting", "Waiting to be sent"}
	}
	// A draft sent earlier has an older received_at: the latest version
	// reached the server at updated_at.
	at := r.UpdatedAt
	if at.IsZero() {
		at = r.ReceivedAt
	}
	return receipt{"server", fmt.Sprintf("Safely on the server since %s, version %d", clockText(at, now), r.Version)}
}

func ageText(dob schema.Date, now time.Time) string {
	t := dob.Time()
	if t.IsZero() {
		return ""
	}
	y := now.Year() - t.Year()
	if now.YearDay() < t.YearDay() {
		y--
	}
	if y < 0 {
		return ""
	}
	return strconv.Itoa(y)
}

// --- household members ---

// memberFields are the household member fields the form writes, in order.
var memberFields = []string{"relation", "residence", "name", "description", "date_of_birth", "age",
	"victim_or_potential_victim", "child_victim_in_own_right", "known_to_childrens_services", "child_protection_plan"}

type memberData struct {
	CaseID, CaseName, ID string
	Back                 string // where the form returns (a visit form), when not the case page
	Form                 formView
}

func (w *webApp) memberForm(d *memberData) {
	spec, _ := schema.Entity("household_member")
	d.Form.Controls = nil
	for _, name := range memberFields {
		ctl := fieldControl(spec, name)
		switch name {
		case "relation":
			ctl.Section = "Who they are"
		case "victim_or_potential_victim":
			ctl.Section = "If an adult"
		case "child_victim_in_own_right":
			ctl.Section = "If a child"
		}
		d.Form.Controls = append(d.Form.Controls, ctl)
	}
	d.Form.attachErrors()
}

// GET /app/cases/:id/household/new and /app/cases/:id/household/:mid
func (w *webApp) memberPage(c *fiber.Ctx) error {
	d, existing, err := w.memberTarget(c)
	if err != nil {
		return err
	}
	if existing != nil {
		spec, _ := schema.Entity("household_member")
		d.Form.Values = valuesOf(spec, existing.Fields)
	} else if r := c.Query("relation"); slices.Contains(mustSpec("household_member").Fields["relation"].Enum, r) {
		d.Form.Values = url.Values{"relation": {r}}
	}
	return w.renderMember(c, fiber.StatusOK, d)
}

func (w *webApp) renderMember(c *fiber.Ctx, status int, d memberData) error {
	w.memberForm(&d)
	title := "Add a household member"
	if d.ID != "" {
		title = "Change a household member"
	}
	return w.render(c, status, "member", view{Title: title, Data: d})
}

// memberTarget finds the case and, when editing, the member of the request.
func (w *webApp) memberTarget(c *fiber.Ctx) (memberData, *syncer.LocalRecord, error) {
	ctx := c.UserContext()
	cr, err := w.agent.Get(ctx, "case", c.Params("id"))
	if err != nil {
		return memberData{}, nil, err
	}
	d := memberData{CaseID: cr.ID, CaseName: str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name")}
	if back := c.Query("back", string(c.Request().PostArgs().Peek("back"))); back != "" {
		d.Back = safeNext(back)
	}
	mid := c.Params("mid")
	if mid == "" {
		return d, nil, nil
	}
	m, err := w.agent.Get(ctx, "household_member", mid)
	if err != nil {
		return d, nil, err
	}
	if m.CaseID != cr.ID {
		return d, nil, schema.Errorf(schema.ECodeNotFound, "id", "no household member %s in this case", mid)
	}
	d.ID = mid
	return d, &m, nil
}

// POST /app/cases/:id/household (add) and /app/cases/:id/household/:mid
// (change): one local write, or nothing and the errors next to the fields.
func (w *webApp) saveMember(c *fiber.Ctx) error {
	d, existing, err := w.memberTarget(c)
	if err != nil {
		return err
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	spec, _ := schema.Entity("household_member")
	d.Form.Values = form
	w.memberForm(&d) // the controls, so errors find their field
	var existingFields map[string]json.RawMessage
	if existing != nil {
		existingFields = existing.Fields
	}
	fields := fieldsOf(spec, memberFields, form, existingFields, &d.Form)
	today := localapi.LocalDate(w.api.Now())
	if existing == nil {
		fields["added_on"] = mustJSON(today)
	}
	// Every problem at once: the form's own and the schema's.
	if !d.Form.checkWrite(spec, d.ID, d.CaseID, fields, existingFields, today) {
		return w.renderMember(c, fiber.StatusUnprocessableEntity, d)
	}
	name := cmp.Or(form.Get("name"), form.Get("description"), "The household member")
	done := cmp.Or(d.Back, "/app/cases/"+url.PathEscape(d.CaseID))
	if len(fields) == 0 {
		w.flash(c, flashInfo, "Nothing changed.")
		return redirect(c, done)
	}
	if _, err := w.agent.Put(c.UserContext(), "household_member", d.ID, d.CaseID, fields); err != nil {
		if !d.Form.putError(err) {
			return err
		}
		return w.renderMember(c, fiber.StatusUnprocessableEntity, d)
	}
	msg := name + " was added to the household."
	if existing != nil {
		msg = name + " was changed."
	}
	w.flash(c, flashSuccess, msg+" It is saved on this tablet and will be sent at the next sync.")
	return redirect(c, done)
}
