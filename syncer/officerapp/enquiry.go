package officerapp

// Safeguarding enquiries (police domestic-abuse call-outs, children's
// services, MARAC): create and change, from the case page. The schema
// checks each value; the form also checks what a person gets wrong across
// fields (answered before it was requested, a result with no answer date,
// neither a request date nor the reason there was none) and says so next
// to the field, before anything is written.

import (
	"maps"
	"net/url"
	"strings"

	"doorstep/schema"
)

func init() {
	maps.Copy(labels, map[string]fieldLabel{
		"enquiry.agency":               {"Agency", ""},
		"enquiry.stage":                {"Stage", ""},
		"enquiry.requested_on":         {"Requested on", "For example 31/03/2026. Leave empty if it was not requested, and say why below."},
		"enquiry.due_on":               {"Answer due on", "If known."},
		"enquiry.answered_on":          {"Answered on", "When the answer came back."},
		"enquiry.result":               {"Result", "Once answered."},
		"enquiry.not_requested_reason": {"Why it was not requested", "Only when there is no request date."},
		"enquiry.notes":                {"Notes", ""},
	})
	maps.Copy(enumLabels, map[string]map[string]string{
		"agency": {"police": "Police (domestic-abuse call-outs)", "childrens_services": "Children's services", "marac": "MARAC"},
		"stage": {"pre_sentence": "Before sentence", "initial_assessment": "Initial assessment", "review": "Review",
			"change_of_circumstances": "Change of circumstances"},
		"result": {"da_information_found": "Domestic-abuse information found", "no_information": "No information held",
			"known_to_childrens_services": "Known to children's services", "not_known_to_childrens_services": "Not known to children's services"},
	})
}

// enquiryFields are the fields the form writes, in its order.
var enquiryFields = []string{"agency", "stage", "requested_on", "due_on", "answered_on", "result", "not_requested_reason", "notes"}

// resultsFor lists the results that answer an enquiry of each agency (a
// MARAC may say either).
var resultsFor = map[string][]string{
	"police":             {"da_information_found", "no_information"},
	"childrens_services": {"known_to_childrens_services", "not_known_to_childrens_services"},
}

func enquiryForm(f *formView) {
	spec := mustSpec("enquiry")
	f.Controls = nil
	for _, name := range enquiryFields {
		ctl := fieldControl(spec, name)
		switch name {
		case "agency", "stage", "result":
			ctl.Kind = "radios"
		case "not_requested_reason", "notes":
			ctl.Kind = "textarea"
		}
		f.Controls = append(f.Controls, ctl)
	}
	f.attachErrors()
}

// enquiryRecord is the enquiry form's flow: GET and POST
// /app/cases/:id/enquiries/new, /app/cases/:id/enquiries and
// /app/cases/:id/enquiries/:rid.
var enquiryRecord = recordKind{
	entity:      "enquiry",
	fields:      enquiryFields,
	addTitle:    "Add a safeguarding enquiry",
	changeTitle: "Change a safeguarding enquiry",
	anchor:      "#h-enquiries",
	layout:      enquiryForm,
	check: func(form url.Values, today schema.Date, f *formView) {
		formDates(form, f, "requested_on", "due_on", "answered_on")
		checkEnquiry(form, today, f)
	},
	what: func(form url.Values) string { return "The enquiry to " + agencyNoun[form.Get("agency")] },
}

// formDates reads the date fields names of form: each is "" or a real
// date; a date that is not one is an error next to its field.
func formDates(form url.Values, f *formView, names ...string) map[string]schema.Date {
	out := map[string]schema.Date{}
	for _, name := range names {
		v := strings.TrimSpace(form.Get(name))
		if v == "" {
			continue
		}
		if schema.Date(v).Validate() != nil {
			f.addError(name, "Enter a real date, for example 31/03/2026.")
			continue
		}
		out[name] = schema.Date(v)
	}
	return out
}

// checkEnquiry checks what the schema cannot: the answers together.
func checkEnquiry(form url.Values, today schema.Date, f *formView) {
	agency, stage, result := form.Get("agency"), form.Get("stage"), form.Get("result")
	reason := strings.TrimSpace(form.Get("not_requested_reason"))
	if agency == "" {
		f.addError("agency", "Choose the agency the enquiry is to.")
	}
	if stage == "" {
		f.addError("stage", "Choose the stage of the enquiry.")
	}
	_, badReq := f.Errors["requested_on"]
	_, badAns := f.Errors["answered_on"]
	dates := formDates(form, &formView{}, "requested_on", "due_on", "answered_on")
	req, due, ans := dates["requested_on"], dates["due_on"], dates["answered_on"]
	switch {
	case badReq:
	case req == "" && reason == "" && form.Get("requested_on") == "":
		f.addError("requested_on", "Enter the date the enquiry was requested, or say below why it was not requested.")
	case req != "" && req > today:
		f.addError("requested_on", "The request date is in the future: enter the date it was requested.")
	}
	if req != "" && reason != "" {
		f.addError("not_requested_reason", "The enquiry has a request date: leave the reason it was not requested empty.")
	}
	if due != "" && req != "" && due < req {
		f.addError("due_on", "The answer cannot be due before the enquiry was requested ("+dateText(req)+").")
	}
	switch {
	case badAns || ans == "":
	case req == "" && form.Get("requested_on") == "":
		f.addError("answered_on", "An enquiry that was not requested cannot have been answered: enter the request date first.")
	case req != "" && ans < req:
		f.addError("answered_on", "The answer date is before the request date ("+dateText(req)+"): check both dates.")
	case ans > today:
		f.addError("answered_on", "The answer date is in the future: enter the date the answer came.")
	}
	switch {
	case result != "" && ans == "" && !badAns:
		f.addError("answered_on", "Enter the date the answer came, as the enquiry has a result.")
	case result == "" && ans != "":
		f.addError("result", "Choose the result of the enquiry, as it was answered.")
	case result != "" && agency != "" && resultsFor[agency] != nil && !contains(resultsFor[agency], result):
		f.addError("result", "That result does not answer an enquiry to "+agencyNoun[agency]+": choose another.")
	}
}

var agencyNoun = map[string]string{"police": "the police", "childrens_services": "children's services", "marac": "a MARAC"}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
