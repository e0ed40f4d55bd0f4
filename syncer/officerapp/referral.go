package officerapp

// Intervention needs and their referrals: create and change, from the case
// page. As with enquiries, the form checks the answers together (a status
// only after a decision to refer, a status date not before the need was
// identified, a reason for not referring) before anything is written.

import (
	"encoding/json"
	"maps"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer/localapi"
)

func init() {
	maps.Copy(labels, map[string]fieldLabel{
		"referral.need":            {"Intervention needed", "The programme or service, for example \"Building Better Relationships\"."},
		"referral.identified_on":   {"Need identified on", "For example 31/03/2026."},
		"referral.decision":        {"Decision", ""},
		"referral.decision_reason": {"Reason for the decision", "Required when not referring."},
		"referral.status":          {"Referral status", "Once referred."},
		"referral.status_on":       {"Status since", "The date the referral reached this status."},
	})
}

// referralFields are the fields the form writes, in its order.
var referralFields = []string{"need", "identified_on", "decision", "decision_reason", "status", "status_on"}

// referralLabels names the referral's choices ("decision" and "status"
// mean other things on other records, so enumLabels cannot hold them).
var referralLabels = map[string]map[string]string{
	"decision": {"pending": "Not decided yet", "refer": "Refer", "not_suitable": "Not suitable", "not_available": "Not available"},
	"status": {"awaiting_allocation": "Awaiting allocation", "scheduled": "Scheduled", "on_programme": "On the programme",
		"deferred": "Deferred", "suitable_not_ready": "Suitable, not ready", "withdrawn": "Withdrawn", "breach": "Breach",
		"completed": "Completed"},
}

func referralLabel(field, v string) string {
	if l, ok := referralLabels[field][v]; ok {
		return l
	}
	return capitalize(spaced(v))
}

func referralForm(f *formView) {
	spec := mustSpec("referral")
	f.Controls = nil
	for _, name := range referralFields {
		ctl := fieldControl(spec, name)
		if opts, ok := referralLabels[name]; ok {
			ctl.Kind = "radios"
			ctl.Options = nil
			for _, v := range spec.Fields[name].Enum {
				ctl.Options = append(ctl.Options, option{Value: v, Label: opts[v]})
			}
		}
		if name == "decision_reason" {
			ctl.Kind = "textarea"
		}
		f.Controls = append(f.Controls, ctl)
	}
	f.attachErrors()
}

// referralRecord is the referral form's flow: GET and POST
// /app/cases/:id/referrals/new, /app/cases/:id/referrals and
// /app/cases/:id/referrals/:rid. A new referral starts undecided, identified
// today by the officer.
var referralRecord = recordKind{
	entity:      "referral",
	fields:      referralFields,
	addTitle:    "Add an intervention referral",
	changeTitle: "Change an intervention referral",
	anchor:      "#h-referrals",
	layout:      referralForm,
	check:       checkReferral,
	what:        func(form url.Values) string { return "The referral for " + strings.TrimSpace(form.Get("need")) },
	blank: func(w *webApp) url.Values {
		return url.Values{"decision": {"pending"}, "identified_on": {string(localapi.LocalDate(w.api.Now()))}}
	},
	create: func(c *fiber.Ctx, fields map[string]json.RawMessage) {
		fields["identified_by"] = mustJSON(sessionOf(c).User.ID)
	},
}

// checkReferral checks what the schema cannot: the answers together.
func checkReferral(form url.Values, today schema.Date, f *formView) {
	dates := formDates(form, f, "identified_on", "status_on")
	ident, since := dates["identified_on"], dates["status_on"]
	decision, status := form.Get("decision"), form.Get("status")
	if strings.TrimSpace(form.Get("need")) == "" {
		f.addError("need", "Enter the intervention needed.")
	}
	switch _, bad := f.Errors["identified_on"]; {
	case bad:
	case strings.TrimSpace(form.Get("identified_on")) == "":
		f.addError("identified_on", "Enter the date the need was identified.")
	case ident > today:
		f.addError("identified_on", "The date is in the future: enter the date the need was identified.")
	}
	if decision == "" {
		f.addError("decision", "Choose the decision (\"Not decided yet\" is an answer).")
	}
	if (decision == "not_suitable" || decision == "not_available") && strings.TrimSpace(form.Get("decision_reason")) == "" {
		f.addError("decision_reason", "Give the reason the person is not being referred.")
	}
	if status != "" && decision != "" && decision != "refer" {
		f.addError("status", "A referral status applies only when the decision is to refer: choose \"Refer\" or leave the status empty.")
	}
	_, badSince := f.Errors["status_on"]
	switch {
	case badSince:
	case status != "" && since == "":
		f.addError("status_on", "Enter the date the referral reached this status.")
	case status == "" && since != "":
		f.addError("status", "Choose the referral's status, as there is a status date.")
	case since != "" && ident != "" && since < ident:
		f.addError("status_on", "The status date is before the need was identified ("+dateText(ident)+"): check both dates.")
	case since > today:
		f.addError("status_on", "The status date is in the future: enter the date it reached this status.")
	}
}
