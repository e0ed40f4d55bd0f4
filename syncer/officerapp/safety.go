package officerapp

// The pre-visit safety assessment of the case's current address: the case
// page shows the latest one read-only (the officer's answers and the
// manager's decision), and the officer can write a new one, assessed today
// by them. The decision fields are the supervisor's (`admin` in the schema):
// an officer's assessment is created without them, so it waits for the
// manager's decision ("pending"), and the server refuses an officer who sets
// them.

import (
	"cmp"
	"maps"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

func init() {
	maps.Copy(labels, map[string]fieldLabel{
		"safety_assessment.dogs":              {"Dogs at the address", ""},
		"safety_assessment.other_occupants":   {"Other occupants", "Who else lives at or often visits the address, as far as you know."},
		"safety_assessment.weapons":           {"Weapons at the address", "Known or suspected."},
		"safety_assessment.lone_working_plan": {"Lone-working plan", "For example: visit in pairs, check in with the office by phone at the start and the end."},
		"safety_assessment.notes":             {"Notes", "Anything else about the risks at the address."},
	})
}

// safetyFields are the fields the officer answers, in the form's order.
var safetyFields = []string{"dogs", "other_occupants", "weapons", "lone_working_plan", "notes"}

// safetyView is the latest assessment of the current address, read-only.
type safetyView struct {
	ID                                   string
	Dogs, OtherOccupants, Weapons        string
	LoneWorkingPlan, Notes               string
	AssessedOn, AssessedBy               string
	Decision, DecisionState              string // "Approved"; pending, approved, not_approved, exempted, referred
	DecisionReason, DecidedBy, DecidedOn string
	Receipt                              receipt
}

// caseSafety is what the case page says about safety assessments.
type caseSafety struct {
	Current *safetyView // the latest assessment of the current address
	// Earlier: the latest assessment on the tablet is of another address,
	// so it does not count for this one.
	Earlier    string
	NoAddress  bool   // no fixed abode or no address: nothing to assess
	AddressFor string // the current address
	CaseID     string
}

// safetyOf picks the latest assessment of the case's current address (by
// assessed_on, then decided_on, then id: policy.LatestAssessment, as the
// visit policy and the server pick it) and says it in words. name names a user
// id ("" for none; see personText).
func safetyOf(cs schema.Case, recs []syncer.LocalRecord, name func(id string) string, receiptFor func(syncer.LocalRecord) receipt) caseSafety {
	out := caseSafety{NoAddress: cs.NoFixedAbode || cs.Address == "", AddressFor: cs.Address}
	var all []schema.SafetyAssessment
	byID := map[string]syncer.LocalRecord{}
	var latestAny *schema.SafetyAssessment
	for _, r := range recs {
		var s schema.SafetyAssessment
		if r.Entity != "safety_assessment" || r.Decode(&s) != nil {
			continue
		}
		s.ID = r.ID
		byID[r.ID] = r
		if s.Address == cs.Address && !out.NoAddress {
			all = append(all, s)
		}
		if latestAny == nil || s.AssessedOn > latestAny.AssessedOn {
			latestAny = &s
		}
	}
	if out.NoAddress {
		return out
	}
	a, ok := policy.LatestAssessment(cs, all)
	if !ok {
		if latestAny != nil {
			out.Earlier = "The latest assessment on this tablet (" + dateText(latestAny.AssessedOn) + ") is of another address: " + latestAny.Address + "."
		}
		return out
	}
	state := cmp.Or(a.Decision, "pending")
	v := &safetyView{ID: a.ID, Dogs: enumLabel("", a.Dogs), OtherOccupants: a.OtherOccupants, Weapons: enumLabel("", a.Weapons),
		LoneWorkingPlan: a.LoneWorkingPlan, Notes: a.Notes, AssessedOn: dateText(a.AssessedOn), AssessedBy: name(a.AssessedBy),
		Decision: enumLabel("decision", state), DecisionState: state, DecisionReason: a.DecisionReason,
		DecidedBy: name(a.DecidedBy), DecidedOn: dateText(a.DecidedOn), Receipt: receiptFor(byID[a.ID])}
	out.Current = v
	return out
}

type safetyData struct {
	CaseID, CaseName, Address string
	Today                     string
	Form                      formView
}

func safetyForm(f *formView) {
	spec := mustSpec("safety_assessment")
	f.Controls = nil
	for _, name := range safetyFields {
		ctl := fieldControl(spec, name)
		if name == "dogs" || name == "weapons" {
			ctl.Kind = "radios"
		}
		f.Controls = append(f.Controls, ctl)
	}
	f.attachErrors()
}

// safetyTarget loads the case of the request; an address is needed to
// assess one.
func (w *webApp) safetyTarget(c *fiber.Ctx) (safetyData, error) {
	cr, err := w.agent.Get(c.UserContext(), "case", c.Params("id"))
	if err != nil {
		return safetyData{}, err
	}
	var cs schema.Case
	if err := cr.Decode(&cs); err != nil {
		return safetyData{}, err
	}
	if cs.NoFixedAbode || strings.TrimSpace(cs.Address) == "" {
		return safetyData{}, schema.Errorf(schema.ECodeInvalid, "address",
			"This case has no fixed abode, so there is no address to assess. Record the new address on the case first (it comes from the server).")
	}
	return safetyData{CaseID: cr.ID, CaseName: cs.GivenName + " " + cs.FamilyName, Address: cs.Address,
		Today: dateText(localapi.LocalDate(w.api.Now()))}, nil
}

func (w *webApp) renderSafety(c *fiber.Ctx, status int, d safetyData) error {
	safetyForm(&d.Form)
	return w.render(c, status, "safety", view{Title: "Assess the address", Data: d})
}

// GET /app/cases/:id/safety/new
func (w *webApp) safetyPage(c *fiber.Ctx) error {
	d, err := w.safetyTarget(c)
	if err != nil {
		return err
	}
	return w.renderSafety(c, fiber.StatusOK, d)
}

// POST /app/cases/:id/safety: one new assessment of the current address,
// assessed today by the officer, or nothing and the errors next to the
// fields.
func (w *webApp) saveSafety(c *fiber.Ctx) error {
	d, err := w.safetyTarget(c)
	if err != nil {
		return err
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	d.Form.Values = form
	safetyForm(&d.Form)
	if form.Get("dogs") == "" {
		d.Form.addError("dogs", "Say whether there are dogs at the address (or that it is not known).")
	}
	if form.Get("weapons") == "" {
		d.Form.addError("weapons", "Say whether there are weapons at the address (or that it is not known).")
	}
	if strings.TrimSpace(form.Get("lone_working_plan")) == "" {
		d.Form.addError("lone_working_plan", "Enter the lone-working plan for visits to this address.")
	}
	fields := fieldsOf(mustSpec("safety_assessment"), safetyFields, form, nil, &d.Form)
	if len(d.Form.Errors) > 0 {
		return w.renderSafety(c, fiber.StatusUnprocessableEntity, d)
	}
	dropNulls(fields)
	fields["address"] = mustJSON(d.Address)
	fields["assessed_on"] = mustJSON(localapi.LocalDate(w.api.Now()))
	fields["assessed_by"] = mustJSON(sessionOf(c).User.ID)
	if _, err := w.agent.Put(c.UserContext(), "safety_assessment", "", d.CaseID, fields); err != nil {
		if !d.Form.putError(err) {
			return err
		}
		return w.renderSafety(c, fiber.StatusUnprocessableEntity, d)
	}
	w.flash(c, flashSuccess, "The safety assessment of "+d.Address+" is saved on this tablet and will be sent at the next sync. It waits for your manager's decision.")
	return redirect(c, "/app/cases/"+url.PathEscape(d.CaseID)+"#safety")
}
