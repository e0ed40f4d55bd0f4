package localapi

// Amending a signed visit: the signed visit is never changed; an amendment
// (Agent.Amend) says which field changes to what, who, when and why. The
// visit page shows the original as signed, then its amendments in the order
// they were made, each with what it changed (was, now).

import (
	"cmp"
	"encoding/json"
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
	"next_visit_on",
}

func isAmendable(field string) bool { return slices.Contains(amendableFields, field) }

// amendmentView is one amendment as the visit page lists it.
type amendmentView struct {
	Reason, By, When string
	Changes          []changeView
	Receipt          receipt
}

type changeView struct{ Label, Was, Now string }

// amendForm builds the amend form's controls: the field, the new value and
// the reason.
func amendForm(f *formView) {
	fieldCtl := &control{Name: "amend_field", Label: "Field to correct", Kind: "select"}
	for _, name := range amendableFields {
		fieldCtl.Options = append(fieldCtl.Options, option{Value: name, Label: labelOf("visit", name).label})
	}
	f.Controls = []*control{
		fieldCtl,
		{Name: "amend_value", Label: "New value", Kind: "text",
			Hint: "For a choice, write it as the visit shows it (for example \"At the home\", \"Yes\"); several choices separated by \";\". A date like 31/03/2026, a time like 31/03/2026 14:05. Leave empty to clear the answer."},
		{Name: "reason", Label: "Reason for the amendment", Kind: "textarea",
			Hint: "Required. Say why the signed record was wrong, for example \"recorded as an office visit by mistake\"."},
	}
	f.attachErrors()
}

// amendmentsOf lists the visit's amendments, oldest first, each change with
// the value before it and after it (amendments applied in order on the
// visit as signed).
func (w *webApp) amendmentsOf(c *fiber.Ctx, v syncer.LocalRecord) ([]amendmentView, error) {
	recs, err := w.api.agent.List(c.UserContext(), "amendment", v.CaseID)
	if err != nil {
		return nil, err
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
	now := w.api.cfg.Now()
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
			av.Changes = append(av.Changes, changeView{Label: labelOf("visit", k).label,
				Was: shownValue("visit", k, current[k]), Now: shownValue("visit", k, changes[k])})
			current[k] = changes[k]
		}
		out = append(out, av)
	}
	return out, nil
}

// personName names a user: the officer signed in by name, anyone else by
// their id (the tablet holds no list of users).
func (w *webApp) personName(c *fiber.Ctx, id string) string {
	if s := sessionOf(c); s != nil && s.user.ID == id && id != "" {
		return s.user.Name + " (you)"
	}
	if id == "" {
		return "someone"
	}
	return "user " + id
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

// POST /app/visits/:vid/amend: add an amendment to a signed visit.
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
	d.Amend.Values = form
	field := form.Get("amend_field")
	reason := strings.TrimSpace(form.Get("reason"))
	var raw json.RawMessage
	if !isAmendable(field) {
		d.Amend.addError("amend_field", "Choose the field to correct.")
	} else {
		var msg string
		if raw, msg = amendValue(field, form.Get("amend_value")); msg != "" {
			d.Amend.addError("amend_value", msg)
		} else if cur := v.Fields[field]; sameJSON(cur, raw) {
			d.Amend.addError("amend_value", "That is what the visit already says: write the corrected value.")
		}
	}
	if reason == "" {
		d.Amend.addError("reason", "Give the reason for the amendment.")
	}
	amendForm(&d.Amend)
	if len(d.Amend.Errors) == 0 {
		_, err := w.api.agent.Amend(c.UserContext(), d.ID, reason, map[string]json.RawMessage{field: raw})
		if e := schema.AsError(err); e != nil {
			switch {
			case strings.HasPrefix(e.Field, "changes"):
				d.Amend.addError("amend_value", plainMessage(labelOf("visit", field).label, &schema.Error{Code: e.Code,
					Field: strings.TrimPrefix(strings.TrimPrefix(e.Field, "changes"), "."), Message: e.Message}))
			case e.Field == "reason":
				d.Amend.addError("reason", plainMessage("reason", e))
			default:
				d.Amend.addError("", plainMessage("", e))
			}
		} else if err != nil {
			return err
		}
	}
	if len(d.Amend.Errors) > 0 {
		amendForm(&d.Amend)
		d.Summary = w.visitSummary(c, v, d.children)
		if d.Amendments, err = w.amendmentsOf(c, v); err != nil {
			return err
		}
		return w.render(c, fiber.StatusUnprocessableEntity, "visit", view{Title: "Signed visit", Data: d})
	}
	w.flash(c, flashSuccess, "Amendment saved on this tablet. It will be sent at the next sync; the signed visit stays as it was.")
	return redirect(c, "/app/visits/"+url.PathEscape(d.ID)+"#amendments")
}
