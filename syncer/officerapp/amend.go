package officerapp

// Amending a signed visit: the signed visit is never changed; an amendment
// (Agent.Amend) says which field changes to what, who, when and why. The
// visit page shows the original as signed, then its amendments in the order
// they were made, each with what it changed (was, now).

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

// amendableFields is the curated list of visit fields an officer may amend
// from the app, in the order the form lists them.
var amendableFields = []string{
	"type", "location", "place_type", "elsewhere_reason", "face_to_face", "started_at", "ended_at",
	"outcome", "outcome_reason", "person_seen",
	"partner_present", "partner_seen_alone", "partner_concerns", "children_present", "others_present",
	"observations", "observation_notes", "safeguarding_concern", "actions", "no_action_reason", "action_notes",
	"next_visit_on", "children",
}

func isAmendable(field string) bool { return slices.Contains(amendableFields, field) }

// amendLabel names an amendable field ("children": the children's answers).
func amendLabel(field string) string {
	if field == "children" {
		return "The children's answers (present, seen, spoken to, why not seen, concerns)"
	}
	return labelOf("visit", field).label
}

// amendmentView is one amendment as the visit page lists it.
type amendmentView struct {
	Reason, By, When string
	Changes          []changeView
	Receipt          receipt
}

type changeView struct{ Label, Was, Now string }

// amendForm builds the amend form. With no field chosen it is the choice
// of the answer to correct (a GET form, so it works without the script);
// with one it is that answer's own control, as the visit form draws it
// (radios, a date, checkboxes, text; each child's answers for
// "children"), and the reason.
func amendForm(f *formView, field string, children []childRef) {
	if !isAmendable(field) {
		fieldCtl := &control{Name: "amend_field", Label: "Answer to correct", Kind: "select"}
		for _, name := range amendableFields {
			fieldCtl.Options = append(fieldCtl.Options, option{Value: name, Label: amendLabel(name)})
		}
		f.Controls = []*control{fieldCtl}
		f.attachErrors()
		return
	}
	f.Controls = []*control{{Name: "amend_field", Kind: "hidden", Value: field}}
	if field == "children" {
		f.Controls = append(f.Controls, childControls(children)...)
		for _, ctl := range f.Controls {
			ctl.When = ""
		}
	} else {
		ctl := fieldControl(mustSpec("visit"), field)
		ctl.Hint = cmp.Or(ctl.Hint, "The corrected answer.")
		if ctl.Kind == "checkbox" {
			ctl.Hint = "Tick for yes, leave empty for no."
		}
		f.Controls = append(f.Controls, ctl)
	}
	f.Controls = append(f.Controls, &control{Name: "reason", Label: "Reason for the amendment", Kind: "textarea",
		Hint: "Required. Say why the signed record was wrong, for example \"recorded as an office visit by mistake\"."})
	f.attachErrors()
}

// amendmentsOf lists the visit's amendments, oldest first, each change with
// the value before it and after it (amendments applied in order on the
// visit as signed).
func (w *webApp) amendmentsOf(c *fiber.Ctx, v syncer.LocalRecord, children []childRef) ([]amendmentView, map[string]json.RawMessage, error) {
	recs, err := w.agent.List(c.UserContext(), "amendment", v.CaseID)
	if err != nil {
		return nil, nil, err
	}
	var mine []syncer.LocalRecord
	for _, r := range recs {
		if str(r.Fields, "visit_id") == v.ID {
			mine = append(mine, r)
		}
	}
	slices.SortFunc(mine, func(a, b syncer.LocalRecord) int {
		return cmp.Or(cmp.Compare(str(a.Fields, "amended_at"), str(b.Fields, "amended_at")), cmp.Compare(a.ID, b.ID))
	})
	current := map[string]json.RawMessage{}
	for k, val := range v.Fields {
		current[k] = val
	}
	now := w.api.Now()
	out := make([]amendmentView, 0, len(mine))
	for _, r := range mine {
		var changes map[string]json.RawMessage
		json.Unmarshal(r.Fields["changes"], &changes)
		av := amendmentView{Reason: str(r.Fields, "reason"), By: w.personName(c, str(r.Fields, "amended_by")),
			When: timeText(str(r.Fields, "amended_at"), now), Receipt: receiptOf(r, now)}
		names := make([]string, 0, len(changes))
		for k := range changes {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			cv := changeView{Label: labelOf("visit", k).label, Was: shownValue("visit", k, current[k]), Now: shownValue("visit", k, changes[k])}
			if k == "children" {
				cv.Label, cv.Was, cv.Now = "The children's answers", childrenText(current[k], children), childrenText(changes[k], children)
			}
			av.Changes = append(av.Changes, cv)
			current[k] = changes[k]
		}
		out = append(out, av)
	}
	return out, current, nil
}

// childrenText says a visit's children's answers in words, each child by
// name.
func childrenText(raw json.RawMessage, children []childRef) string {
	var kids []schema.VisitChild
	if json.Unmarshal(raw, &kids) != nil || len(kids) == 0 {
		return "(no answer)"
	}
	parts := make([]string, 0, len(kids))
	for _, k := range kids {
		parts = append(parts, childName(k.MemberID, children)+": "+childDetail(k))
	}
	return strings.Join(parts, "; ")
}

func childName(id string, children []childRef) string {
	for _, ch := range children {
		if ch.ID == id {
			return firstWord(ch.Label)
		}
	}
	return "a child no longer in the household"
}

// childDetail is one child's answers: "present: Yes, seen: No (asleep)".
func childDetail(k schema.VisitChild) string {
	detail := "present: " + enumLabel("", k.Present) + ", seen: " + enumLabel("", k.Seen)
	if k.SpokenTo != "" {
		detail += ", spoken to: " + enumLabel("", k.SpokenTo)
	}
	if k.ReasonNotSeen != "" {
		detail += " (" + k.ReasonNotSeen + ")"
	}
	if k.Concerns != "" {
		detail += ", concerns: " + k.Concerns
	}
	return detail
}

// shownValue says a field's JSON value in words: an enum by its label, a
// list joined with "; ", a yes/no, "(no answer)" when empty.
func shownValue(entity, field string, raw json.RawMessage) string {
	if isEmptyJSON(raw) {
		if string(raw) == "false" {
			return "No"
		}
		return "(no answer)"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		spec, _ := schema.Entity(entity)
		if spec != nil && spec.Fields[field] != nil && len(spec.Fields[field].Enum) > 0 {
			return enumLabel(field, s)
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return atText(t)
		}
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t.Format(layoutDate)
		}
		return s
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return "Yes"
	}
	var xs []string
	if json.Unmarshal(raw, &xs) == nil {
		shown := make([]string, len(xs))
		for i, x := range xs {
			shown[i] = enumLabel(field, x)
		}
		return strings.Join(shown, "; ")
	}
	return string(raw)
}

// amendValue reads the officer's new value for a visit field: a choice by
// its label or its code, a yes/no, a date or time in the usual ways, text
// as written. Empty clears the answer.
func amendValue(field, v string) (json.RawMessage, string) {
	spec := mustSpec("visit")
	fs := spec.Fields[field]
	v = strings.TrimSpace(v)
	choose := func(x string) (string, bool) {
		for _, e := range fs.Enum {
			if strings.EqualFold(x, e) || strings.EqualFold(x, enumLabel(field, e)) {
				return e, true
			}
		}
		return "", false
	}
	choices := func() string {
		var ls []string
		for _, e := range fs.Enum {
			ls = append(ls, enumLabel(field, e))
		}
		return strings.Join(ls, ", ")
	}
	switch {
	case fs.Type.Kind() == reflect.Bool:
		switch strings.ToLower(v) {
		case "yes", "y", "true":
			return mustJSON(true), ""
		case "no", "n", "false", "":
			return mustJSON(false), ""
		}
		return nil, "Write Yes or No."
	case v == "":
		return json.RawMessage("null"), ""
	case fs.Type.Kind() == reflect.Slice:
		var out []string
		for _, x := range strings.Split(v, ";") {
			if x = strings.TrimSpace(x); x == "" {
				continue
			}
			code, ok := choose(x)
			if !ok {
				return nil, "\"" + x + "\" is not one of the choices: " + choices() + "."
			}
			out = append(out, code)
		}
		return mustJSON(out), ""
	case len(fs.Enum) > 0:
		code, ok := choose(v)
		if !ok {
			return nil, "Choose one of: " + choices() + "."
		}
		return mustJSON(code), ""
	case fs.Type == dateT:
		for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
			if t, err := time.Parse(layout, v); err == nil {
				return mustJSON(t.Format("2006-01-02")), ""
			}
		}
		return nil, "Enter a real date, for example 31/03/2026."
	case fs.Type == timestampT:
		for _, layout := range []string{htmlDateTime, "2006-01-02 15:04", "02/01/2006 15:04", "2/1/2006 15:04"} {
			if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
				return mustJSON(schema.TimestampOf(t)), ""
			}
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return mustJSON(schema.TimestampOf(t)), ""
		}
		return nil, "Enter a real date and time, for example 31/03/2026 14:05."
	}
	return mustJSON(v), ""
}

// amendPrefill fills the amend form for field with the visit's answer as
// it stands (after its amendments), or with value when a link gives one (a
// conflict's "add an amendment with your value", as the app shows it).
func amendPrefill(f *formView, field string, current map[string]json.RawMessage, children []childRef, value *string) {
	raw := current[field]
	if value != nil && field != "children" {
		if r, msg := amendValue(field, *value); msg == "" {
			raw = r
		}
	}
	f.Values = valuesOf(mustSpec("visit"), map[string]json.RawMessage{field: raw})
	if field == "children" {
		childValues(children, current, f.Values)
	}
	f.Values.Set("amend_field", field)
}

// checkAmended checks the visit as it would read after the amendment
// against what signing asks for (a child not seen needs a reason, …), so
// that an amendment cannot make the record one that could not be signed.
// A rule the visit already broke before (signed under older rules) does not
// stop an amendment of something else.
func (w *webApp) checkAmended(c *fiber.Ctx, v syncer.LocalRecord, current map[string]json.RawMessage, field string, raw json.RawMessage) error {
	flags, err := w.agent.List(c.UserContext(), "flag", v.CaseID)
	if err != nil {
		return err
	}
	da := false
	for _, fr := range flags {
		var f schema.Flag
		if fr.Decode(&f) == nil && f.IsDomesticAbuse() {
			da = true
		}
	}
	var household []schema.HouseholdMember
	if da {
		members, err := w.agent.List(c.UserContext(), "household_member", v.CaseID)
		if err != nil {
			return err
		}
		for _, mr := range members {
			var m schema.HouseholdMember
			if mr.Decode(&m) == nil {
				household = append(household, m)
			}
		}
	}
	// check lists what signing would ask of the visit: the first rule of
	// ValidateForSigning it breaks and every child left unaccounted for.
	check := func(fields map[string]json.RawMessage) ([]schema.Error, error) {
		var sv schema.Visit
		if err := (schema.Record{Entity: "visit", ID: v.ID, CaseID: v.CaseID, Fields: fields}).Decode(&sv); err != nil {
			return nil, err
		}
		if e := schema.AsError(schema.SigningErrors(sv, household, da)); e != nil {
			return e.All(), nil
		}
		return nil, nil
	}
	after := maps.Clone(current)
	after[field] = raw
	errsAfter, err := check(after)
	if err != nil || len(errsAfter) == 0 {
		return err
	}
	errsBefore, err := check(current)
	if err != nil {
		return err
	}
	// Only what the amendment breaks: an amendment that answers one of two
	// children left out is not refused for the other.
	var added []*schema.Error
	for i, e := range errsAfter {
		if !slices.ContainsFunc(errsBefore, func(b schema.Error) bool { return b.Field == e.Field && b.Message == e.Message }) {
			added = append(added, &errsAfter[i])
		}
	}
	return schema.JoinErrors(added)
}

// POST /app/visits/:vid/amend: add an amendment to a signed visit: the
// answer chosen, read from its own control, and the reason.
func (w *webApp) amendVisit(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return err
	}
	if !d.Signed {
		return redirect(c, "/app/visits/"+url.PathEscape(d.ID))
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	amendments, current, err := w.amendmentsOf(c, v, d.children)
	if err != nil {
		return err
	}
	d.Amend.Values = form
	field := form.Get("amend_field")
	reason := strings.TrimSpace(form.Get("reason"))
	amendForm(&d.Amend, field, d.children)
	var raw json.RawMessage
	switch {
	case !isAmendable(field):
		d.Amend.addError("amend_field", "Choose the answer to correct.")
	case field == "children":
		kids := slices.DeleteFunc(childrenOf(d.children, form, &d.Amend, true), func(k schema.VisitChild) bool {
			return k == schema.VisitChild{MemberID: k.MemberID} // a child with no answer
		})
		var before []schema.VisitChild
		json.Unmarshal(current[field], &before)
		for _, k := range before { // a child who has left the household keeps their answers
			if !slices.ContainsFunc(d.children, func(ch childRef) bool { return ch.ID == k.MemberID }) {
				kids = append(kids, k)
			}
		}
		raw = mustJSON(kids)
		if sameJSON(current[field], raw) {
			d.Amend.addError("", "That is what the visit already says: change the children's answers to the corrected ones.")
		}
	default:
		changed := fieldsOf(mustSpec("visit"), []string{field}, form, current, &d.Amend)
		_, bad := d.Amend.Errors[field]
		raw = changed[field]
		if raw == nil && !bad {
			d.Amend.addError(field, "That is what the visit already says: give the corrected answer.")
		}
	}
	if reason == "" {
		d.Amend.addError("reason", "Give the reason for the amendment.")
	}
	if len(d.Amend.Errors) == 0 {
		if err := w.checkAmended(c, v, current, field, raw); err != nil && !d.Amend.putError(err) {
			return err
		}
	}
	if len(d.Amend.Errors) == 0 {
		_, err := w.agent.Amend(c.UserContext(), d.ID, reason, map[string]json.RawMessage{field: raw})
		if e := schema.AsError(err); e != nil {
			if f, ok := strings.CutPrefix(e.Field, "changes."); ok {
				e = &schema.Error{Code: e.Code, Field: f, Message: e.Message}
			}
			d.Amend.putError(e)
		} else if err != nil {
			return err
		}
	}
	if len(d.Amend.Errors) > 0 {
		amendForm(&d.Amend, field, d.children)
		d.AmendField, d.AmendLabel = field, amendLabel(field)
		if !isAmendable(field) {
			d.AmendField, d.AmendLabel = "", ""
		}
		d.Summary = w.visitSummary(c, v, current, d.children)
		d.Amendments = amendments
		return w.render(c, fiber.StatusUnprocessableEntity, "visit", view{Title: "Signed visit", Data: d})
	}
	w.flash(c, flashSuccess, "Amendment saved on this tablet. It will be sent at the next sync; the signed visit stays as it was.")
	return redirect(c, "/app/visits/"+url.PathEscape(d.ID)+"#amendments")
}
