package officerapp

// Moving or cancelling a planned visit: a visit with status "planned" gets a
// new date, time or type (planned_at, planned_type), or is cancelled
// (status "cancelled", the reason in outcome_reason: see
// docs/decisions/0008-cancelled-visit-reason.md). Only a planned visit: a
// draft is being recorded, and a signed visit is a legal record that is
// never changed (the agent refuses it too).

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

type visitPlanData struct {
	ID, CaseID, CaseName string
	When, Type           string // the plan as it stands
	Back                 string // where to go after: the case page or Today
	Move, Cancel         formView
}

func moveForm(f *formView) { scheduleForm(f) }

func cancelForm(f *formView) {
	f.Controls = []*control{{Name: "cancel_reason", Label: "Why the visit is cancelled", Kind: "textarea",
		Hint: "Required. For example: \"the person is in hospital\", \"rearranged by phone\". It is kept in the visit's record."}}
	f.attachErrors()
}

// visitPlanTarget loads the visit of the request; only a planned visit can
// be moved or cancelled, and the error says why another cannot.
func (w *webApp) visitPlanTarget(c *fiber.Ctx) (visitPlanData, syncer.LocalRecord, error) {
	ctx := c.UserContext()
	v, err := w.agent.Get(ctx, "visit", c.Params("vid"))
	if err != nil {
		return visitPlanData{}, v, err
	}
	switch status := str(v.Fields, "status"); {
	case v.Signed || status == "signed":
		return visitPlanData{}, v, schema.Errorf(schema.ECodeSigned, "status",
			"This visit is signed. A signed visit is a legal record: it can never be moved or cancelled. To correct it, add an amendment on the visit's page.")
	case status == "cancelled":
		return visitPlanData{}, v, schema.Errorf(schema.ECodeConflict, "status",
			"This visit is already cancelled. To see the person, schedule a new visit from the case page.")
	case status != "planned":
		return visitPlanData{}, v, schema.Errorf(schema.ECodeConflict, "status",
			"This visit is no longer planned: it is being recorded (a draft). Finish recording it, or record what happened, on the visit's page.")
	}
	cr, err := w.agent.Get(ctx, "case", v.CaseID)
	if err != nil {
		return visitPlanData{}, v, err
	}
	now := w.api.Now()
	d := visitPlanData{ID: v.ID, CaseID: v.CaseID, CaseName: str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name"),
		When: whenText(visitTime(v), now), Type: enumLabel("type", str(v.Fields, "planned_type")),
		Back: "/app/cases/" + url.PathEscape(v.CaseID) + "#planned"}
	return d, v, nil
}

// backOf is where the forms return to: Today when asked, else the case.
func (d *visitPlanData) backOf(form url.Values) {
	if b := form.Get("back"); b != "" && safeNext(b) == pathToday {
		d.Back = pathToday
	}
}

// planValues prefills the move form with the visit's plan, in the local
// zone of the app's clock.
func planValues(v syncer.LocalRecord, loc *time.Location) url.Values {
	out := url.Values{"planned_type": {str(v.Fields, "planned_type")}}
	if t, err := time.Parse(time.RFC3339Nano, str(v.Fields, "planned_at")); err == nil {
		t = t.In(loc)
		out.Set("planned_date", t.Format(time.DateOnly))
		out.Set("planned_time", t.Format("15:04"))
	}
	return out
}

func (w *webApp) renderVisitPlan(c *fiber.Ctx, status int, d visitPlanData) error {
	moveForm(&d.Move)
	cancelForm(&d.Cancel)
	return w.render(c, status, "visitplan", view{Title: "Move or cancel a visit", Data: d})
}

// GET /app/visits/:vid/plan
func (w *webApp) visitPlanPage(c *fiber.Ctx) error {
	d, v, err := w.visitPlanTarget(c)
	if err != nil {
		return err
	}
	d.Move.Values = planValues(v, w.api.Now().Location())
	if c.Query("back") != "" && safeNext(c.Query("back")) == pathToday {
		d.Back = pathToday
	}
	return w.renderVisitPlan(c, fiber.StatusOK, d)
}

// POST /app/visits/:vid/plan: a new date, time or type, written with
// Agent.Put, or nothing and the errors next to the fields.
func (w *webApp) moveVisit(c *fiber.Ctx) error {
	d, v, err := w.visitPlanTarget(c)
	if err != nil {
		return err
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	d.backOf(form)
	d.Move.Values = form
	moveForm(&d.Move)
	now := w.api.Now()
	at := plannedAt(form, now.Location(), now, &d.Move)
	ptype := form.Get("planned_type")
	if ptype == "" {
		d.Move.addError("planned_type", "Choose the type of visit.")
	}
	if len(d.Move.Errors) > 0 {
		return w.renderVisitPlan(c, fiber.StatusUnprocessableEntity, d)
	}
	fields := map[string]json.RawMessage{}
	if !sameInstant(str(v.Fields, "planned_at"), at) {
		fields["planned_at"] = mustJSON(schema.Timestamp(at.Format(time.RFC3339)))
	}
	if ptype != str(v.Fields, "planned_type") {
		fields["planned_type"] = mustJSON(ptype)
	}
	if len(fields) == 0 {
		w.flash(c, flashInfo, "Nothing changed: the visit is still planned for "+d.When+".")
		return redirect(c, d.Back)
	}
	if _, err := w.agent.Put(c.UserContext(), "visit", v.ID, v.CaseID, fields); err != nil {
		if !d.Move.putError(err) {
			return err
		}
		return w.renderVisitPlan(c, fiber.StatusUnprocessableEntity, d)
	}
	w.flash(c, flashSuccess, "The visit with "+d.CaseName+" is moved to "+dayAtText(at)+
		" ("+enumLabel("type", ptype)+"). It is saved on this tablet and will be sent at the next sync.")
	return redirect(c, d.Back)
}

// sameInstant reports whether the RFC 3339 text s is the instant t.
func sameInstant(s string, t time.Time) bool {
	old, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && old.Equal(t)
}

// POST /app/visits/:vid/cancel: status "cancelled" and the reason, in one
// Agent.Put, or nothing and the error next to the reason.
func (w *webApp) cancelVisit(c *fiber.Ctx) error {
	d, v, err := w.visitPlanTarget(c)
	if err != nil {
		return err
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	d.backOf(form)
	d.Move.Values = planValues(v, w.api.Now().Location())
	d.Cancel.Values = form
	cancelForm(&d.Cancel)
	reason := strings.TrimSpace(form.Get("cancel_reason"))
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		d.Cancel.addError("cancel_reason", "Say why the visit is cancelled.")
	case n > mustSpec("visit").Fields["outcome_reason"].Max:
		d.Cancel.addError("cancel_reason", "The reason is too long: keep it under 2,000 characters.")
	}
	if len(d.Cancel.Errors) > 0 {
		return w.renderVisitPlan(c, fiber.StatusUnprocessableEntity, d)
	}
	fields := map[string]json.RawMessage{"status": mustJSON("cancelled"), "outcome_reason": mustJSON(reason)}
	if _, err := w.agent.Put(c.UserContext(), "visit", v.ID, v.CaseID, fields); err != nil {
		if !d.Cancel.putError(err) {
			return err
		}
		return w.renderVisitPlan(c, fiber.StatusUnprocessableEntity, d)
	}
	w.flash(c, flashSuccess, "The visit with "+d.CaseName+" planned for "+d.When+" is cancelled. It is saved on this tablet and will be sent at the next sync.")
	return redirect(c, d.Back)
}
