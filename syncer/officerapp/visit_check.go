package officerapp

// Check your answers: before a visit is signed, every answer as it will be
// signed, each with a link back to its question, and the questions that
// still need an answer listed first. Signing posts the answers shown, so
// what is signed is what was checked.

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// checkData is the check page of a visit.
type checkData struct {
	ID, CaseID, CaseName string
	Missing              []fieldError // still to answer before signing, with the question's anchor
	Answers              []answerRow  // every answer as it will be signed
	Hidden               url.Values   // the answers, posted again with the signature
}

// GET /app/visits/:vid/check
func (w *webApp) visitCheckPage(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return err
	}
	if d.Signed {
		return redirect(c, "/app/visits/"+url.PathEscape(d.ID))
	}
	spec := mustSpec("visit")
	values := valuesOf(spec, v.Fields)
	childValues(d.children, v.Fields, values)
	for i, ch := range d.children { // as the form's hidden controls post them
		values.Set(fmt.Sprintf("children[%d].member_id", i), ch.ID)
	}
	d.Form.Values = values
	w.visitForm(&d)

	// The visit as it will be signed: only the questions that apply, the
	// children's answers, the end time if none was given (signVisit).
	form := applicable(values)
	fields := fieldsOf(spec, visitFormFields(), form, v.Fields, &d.Form)
	kids := childrenOf(d.children, form, &d.Form, true)
	if raw := mustJSON(kids); !sameJSON(v.Fields["children"], raw) {
		fields["children"] = raw
	}
	w.endOnSigning(&d, v, fields)
	if err := w.agent.CheckSigning(c.UserContext(), d.ID, fields); err != nil && !d.Form.putError(childErrorsToForm(err, kids, d.children)) {
		return err
	}
	merged := make(map[string]json.RawMessage, len(v.Fields)+len(fields))
	for k, val := range v.Fields {
		merged[k] = val
	}
	for k, val := range fields {
		if string(val) == "null" {
			delete(merged, k)
		} else {
			merged[k] = val
		}
	}
	cd := checkData{ID: d.ID, CaseID: d.CaseID, CaseName: d.CaseName, Missing: d.Form.Summary(),
		Answers: answerRows(merged, d.children), Hidden: values}
	if msg := d.Form.FormError(); msg != "" {
		cd.Missing = append([]fieldError{{Message: msg}}, cd.Missing...)
	}
	return w.render(c, fiber.StatusOK, "visitcheck", view{Title: "Check your answers before signing", Data: cd})
}
