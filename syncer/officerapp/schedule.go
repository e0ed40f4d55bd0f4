package officerapp

// Scheduling a visit from the case page: a date, a time and the planned
// type, written with Agent.Put as a visit with status "planned". The time is
// the officer's local time by the app's clock (localapi.Config.Now's
// location), and planned_at keeps that offset. "Record this visit" on the
// case page then opens the visit form on the planned visit.

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

type scheduleData struct {
	CaseID, CaseName string
	Form             formView
}

// scheduleForm lays out the schedule form's controls: the planned type
// (radios, from the schema's enum), the date and the time.
func scheduleForm(f *formView) {
	ptype := fieldControl(mustSpec("visit"), "planned_type")
	ptype.Kind, ptype.Label = "radios", "Type of visit"
	f.Controls = []*control{
		{Name: "planned_date", Label: "Date", Hint: "For example 31/03/2026.", Kind: "date"},
		{Name: "planned_time", Label: "Time", Hint: "For example 14:05.", Kind: "time"},
		ptype,
	}
	f.attachErrors()
}

// scheduleTarget loads the case of the request.
func (w *webApp) scheduleTarget(c *fiber.Ctx) (scheduleData, error) {
	cr, err := w.agent.Get(c.UserContext(), "case", c.Params("id"))
	if err != nil {
		return scheduleData{}, err
	}
	return scheduleData{CaseID: cr.ID, CaseName: str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name")}, nil
}

func (w *webApp) renderSchedule(c *fiber.Ctx, status int, d scheduleData) error {
	scheduleForm(&d.Form)
	return w.render(c, status, "schedule", view{Title: "Schedule a visit", Data: d})
}

// GET /app/cases/:id/schedule
func (w *webApp) schedulePage(c *fiber.Ctx) error {
	d, err := w.scheduleTarget(c)
	if err != nil {
		return err
	}
	return w.renderSchedule(c, fiber.StatusOK, d)
}

// plannedAt reads the date and time of the schedule form as an instant in
// loc, after now. Errors go next to their field, in plain English.
func plannedAt(form url.Values, loc *time.Location, now time.Time, f *formView) time.Time {
	ds, ts := strings.TrimSpace(form.Get("planned_date")), strings.TrimSpace(form.Get("planned_time"))
	day, derr := time.ParseInLocation(time.DateOnly, ds, loc)
	switch {
	case ds == "":
		f.addError("planned_date", "Enter the date of the visit.")
	case derr != nil:
		f.addError("planned_date", "Enter a real date, for example 31/03/2026.")
	}
	clock, terr := time.Parse("15:04", ts)
	switch {
	case ts == "":
		f.addError("planned_time", "Enter the time of the visit.")
	case terr != nil:
		f.addError("planned_time", "Enter a real time, for example 14:05.")
	}
	if derr != nil || terr != nil || ds == "" || ts == "" {
		return time.Time{}
	}
	at := time.Date(day.Year(), day.Month(), day.Day(), clock.Hour(), clock.Minute(), 0, 0, loc)
	now = now.In(loc)
	switch {
	case day.Before(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)):
		f.addError("planned_date", "The date is in the past: enter today's date or a later one.")
	case !at.After(now):
		f.addError("planned_time", "That time has already passed: enter a later time.")
	}
	return at
}

// POST /app/cases/:id/schedule: one local write (a planned visit), or
// nothing and the errors next to the fields.
func (w *webApp) scheduleVisit(c *fiber.Ctx) error {
	d, err := w.scheduleTarget(c)
	if err != nil {
		return err
	}
	form, err := formOf(c)
	if err != nil {
		return err
	}
	d.Form.Values = form
	scheduleForm(&d.Form) // the controls, so errors find their field
	now := w.api.Now()
	at := plannedAt(form, now.Location(), now, &d.Form)
	ptype := form.Get("planned_type")
	if ptype == "" {
		d.Form.addError("planned_type", "Choose the type of visit.")
	}
	if len(d.Form.Errors) > 0 {
		return w.renderSchedule(c, fiber.StatusUnprocessableEntity, d)
	}
	fields := map[string]json.RawMessage{
		"status":       mustJSON("planned"),
		"planned_type": mustJSON(ptype),
		"planned_at":   mustJSON(schema.Timestamp(at.Format(time.RFC3339))),
		"officer_id":   mustJSON(sessionOf(c).User.ID),
	}
	if _, err := w.agent.Put(c.UserContext(), "visit", "", d.CaseID, fields); err != nil {
		if !d.Form.putError(err) {
			return err
		}
		return w.renderSchedule(c, fiber.StatusUnprocessableEntity, d)
	}
	w.flash(c, flashSuccess, enumLabel("type", ptype)+" planned for "+dayAtText(at)+
		". It is saved on this tablet and will be sent at the next sync.")
	return redirect(c, "/app/cases/"+url.PathEscape(d.CaseID)+"#planned")
}
