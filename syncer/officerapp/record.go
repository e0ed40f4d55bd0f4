package officerapp

// A case's record forms (enquiry, referral) share one flow: the page loads
// the case and, when changing, the record; the save checks the form, writes
// only what changed with one Agent.Put, or shows the errors next to the
// fields. recordKind says what differs between them.

import (
	"encoding/json"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
	"doorstep/syncer/localapi"
)

// recordData is a case's record form (enquiry, referral): the case, the
// record when changing one, and the form.
type recordData struct {
	CaseID, CaseName, ID string
	Form                 formView
}

// recordKind is one kind of case record that recordPage and saveRecord
// add and change.
type recordKind struct {
	entity      string // the schema entity, also the template's name
	fields      []string
	addTitle    string
	changeTitle string
	anchor      string // where on the case page to go back to: "#h-enquiries"
	layout      func(f *formView)
	// check checks what the schema cannot: the answers together.
	check func(form url.Values, today schema.Date, f *formView)
	// what names the record in the flash: "The enquiry to the police".
	what func(form url.Values) string
	// blank, when set, prefills the form of a new record.
	blank func(w *webApp) url.Values
	// create, when set, adds to a new record's fields what the form does not ask.
	create func(c *fiber.Ctx, fields map[string]json.RawMessage)
}

// recordTarget loads the case of the request and, when changing, its
// record of entity (":rid").
func (w *webApp) recordTarget(c *fiber.Ctx, entity string) (recordData, *syncer.LocalRecord, error) {
	ctx := c.UserContext()
	cr, err := w.agent.Get(ctx, "case", c.Params("id"))
	if err != nil {
		return recordData{}, nil, err
	}
	d := recordData{CaseID: cr.ID, CaseName: str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name")}
	rid := c.Params("rid")
	if rid == "" {
		return d, nil, nil
	}
	r, err := w.agent.Get(ctx, entity, rid)
	if err != nil {
		return d, nil, err
	}
	if r.CaseID != cr.ID {
		return d, nil, schema.Errorf(schema.ECodeNotFound, "id", "no %s %s in this case", entity, rid)
	}
	d.ID = rid
	return d, &r, nil
}

func (w *webApp) renderRecord(c *fiber.Ctx, k recordKind, status int, d recordData) error {
	k.layout(&d.Form)
	title := k.addTitle
	if d.ID != "" {
		title = k.changeTitle
	}
	return w.render(c, status, k.entity, view{Title: title, Data: d})
}

// recordPage serves the form of k: GET /app/cases/:id/<records>/new and
// /app/cases/:id/<records>/:rid.
func (w *webApp) recordPage(k recordKind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, existing, err := w.recordTarget(c, k.entity)
		if err != nil {
			return err
		}
		switch {
		case existing != nil:
			d.Form.Values = valuesOf(mustSpec(k.entity), existing.Fields)
		case k.blank != nil:
			d.Form.Values = k.blank(w)
		}
		return w.renderRecord(c, k, fiber.StatusOK, d)
	}
}

// saveRecord saves the form of k: POST /app/cases/:id/<records> (add) and
// /app/cases/:id/<records>/:rid (change): one local write, or nothing and
// the errors next to the fields.
func (w *webApp) saveRecord(k recordKind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		d, existing, err := w.recordTarget(c, k.entity)
		if err != nil {
			return err
		}
		form, err := formOf(c)
		if err != nil {
			return err
		}
		d.Form.Values = form
		k.layout(&d.Form)
		k.check(form, localapi.LocalDate(w.api.Now()), &d.Form)
		fields := fieldsOf(mustSpec(k.entity), k.fields, form, fieldsOrNil(existing), &d.Form)
		back := "/app/cases/" + url.PathEscape(d.CaseID) + k.anchor
		if len(fields) == 0 && len(d.Form.Errors) == 0 {
			w.flash(c, flashInfo, "Nothing changed.")
			return redirect(c, back)
		}
		if existing == nil {
			dropNulls(fields)
			if k.create != nil {
				k.create(c, fields)
			}
		}
		// Every problem at once: the form's own and the schema's.
		if !d.Form.checkWrite(mustSpec(k.entity), d.ID, d.CaseID, fields, fieldsOrNil(existing), localapi.LocalDate(w.api.Now())) {
			return w.renderRecord(c, k, fiber.StatusUnprocessableEntity, d)
		}
		if _, err := w.agent.Put(c.UserContext(), k.entity, d.ID, d.CaseID, fields); err != nil {
			if !d.Form.putError(err) {
				return err
			}
			return w.renderRecord(c, k, fiber.StatusUnprocessableEntity, d)
		}
		msg := k.what(form) + " was added."
		if existing != nil {
			msg = k.what(form) + " was changed."
		}
		w.flash(c, flashSuccess, msg+" It is saved on this tablet and will be sent at the next sync.")
		return redirect(c, back)
	}
}

// fieldsOrNil is a record's fields, nil when creating.
func fieldsOrNil(r *syncer.LocalRecord) map[string]json.RawMessage {
	if r == nil {
		return nil
	}
	return r.Fields
}

// dropNulls leaves out the empty answers of a record being created (an
// empty answer is the absence of one).
func dropNulls(fields map[string]json.RawMessage) {
	for k, v := range fields {
		if string(v) == "null" {
			delete(fields, k)
		}
	}
}
