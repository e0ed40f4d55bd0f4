package officerapp

// Forms: controls built from the schema's field specs, form values turned
// into a record's fields, and the schema's errors put next to the control
// they are about, in plain English.

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"doorstep/schema"
)

type option struct{ Value, Label string }

// control is one labelled input. Name is the form field's name and the
// schema field it writes ("date_of_birth", "children[0].seen").
type control struct {
	Name         string
	ID           string
	Label        string
	Hint         string
	Kind         string // text, password, number, date, time, datetime, textarea, select, radios, checkboxes, checkbox, hidden
	Value        string
	Checked      map[string]bool // checkboxes and checkbox ("yes")
	Options      []option
	Error        string
	Autocomplete string
	Section      string // a heading shown before the control
	Numeric      bool   // a digits-only field (a PIN): the number keypad
	When         string // shown only when this holds (see whenHolds); "" always
}

// whenHolds reports whether a control's condition holds for the form's
// values. A condition is clauses joined by "&": "name=value" (value is one
// of name's values), "name!=value" (name has a value, and not that one),
// "name=" (name has no value); groups of clauses joined by "|" hold when
// any of them does. app.js reads the same conditions from
// data-when to show a control only when it applies.
func whenHolds(cond string, form url.Values) bool {
	if cond == "" {
		return true
	}
	for _, group := range strings.Split(cond, "|") {
		if allHold(group, form) {
			return true
		}
	}
	return false
}

func allHold(cond string, form url.Values) bool {
	for _, clause := range strings.Split(cond, "&") {
		name, want, not := clause, "", false
		if n, v, ok := strings.Cut(clause, "!="); ok {
			name, want, not = n, v, true
		} else if n, v, ok := strings.Cut(clause, "="); ok {
			name, want = n, v
		}
		var has []string
		for _, x := range form[name] {
			if x = strings.TrimSpace(x); x != "" {
				has = append(has, x)
			}
		}
		switch {
		case not && (len(has) == 0 || slices.Contains(has, want)):
			return false
		case !not && want == "" && len(has) > 0:
			return false
		case !not && want != "" && !slices.Contains(has, want):
			return false
		}
	}
	return true
}

// formView is a form's controls, values and errors.
type formView struct {
	Values   url.Values
	Errors   map[string]string // by control name; "" is about the whole form
	order    []string
	Controls []*control
}

type fieldError struct{ Anchor, Message string }

// IsChecked reports whether option v is chosen.
func (c *control) IsChecked(v string) bool {
	if c.Checked != nil {
		return c.Checked[v]
	}
	return c.Value == v && v != ""
}

// Described is the ids of the hint and the error, for aria-describedby.
func (c *control) Described() string {
	var ids []string
	if c.Hint != "" {
		ids = append(ids, c.ID+"-hint")
	}
	if c.Error != "" {
		ids = append(ids, c.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// InputType is the type attribute of an <input>.
func (c *control) InputType() string {
	switch c.Kind {
	case "password", "date", "time":
		return c.Kind
	case "datetime":
		return "datetime-local"
	}
	return "text"
}

func (f *formView) addError(name, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[name]; !ok {
		f.order = append(f.order, name)
	}
	f.Errors[name] = msg
}

func (f *formView) value(name string) string { return f.Values.Get(name) }

// FormError is the error about the form as a whole.
func (f formView) FormError() string { return f.Errors[""] }

// Summary lists the field errors in the order of the controls on the page
// (as the officer meets them), then any others in the order they were
// found, each with its control's anchor.
func (f formView) Summary() []fieldError {
	var out []fieldError
	listed := map[string]bool{}
	for _, ctl := range f.Controls {
		if msg, ok := f.Errors[ctl.Name]; ok && ctl.Name != "" && !listed[ctl.Name] {
			listed[ctl.Name] = true
			out = append(out, fieldError{Anchor: controlID(ctl.Name), Message: msg})
		}
	}
	for _, name := range f.order {
		if name != "" && !listed[name] {
			out = append(out, fieldError{Anchor: controlID(name), Message: f.Errors[name]})
		}
	}
	return out
}

// checkWrite puts every problem the schema finds in a write of fields at
// once (schema.EntitySpec.Problems), each next to its control, so that the
// officer sees them all together rather than one per try, as GOV.UK forms
// do. A control that already has an error (from the form's own checks)
// keeps it. It reports whether the form is free of errors. The write
// itself checks again, and putError shows what it refuses.
func (f *formView) checkWrite(spec *schema.EntitySpec, id, caseID string, fields, existing map[string]json.RawMessage, today schema.Date) bool {
	for _, e := range spec.Problems(id, caseID, fields, existing, existing == nil, today) {
		if _, done := f.Errors[f.controlFor(e.Field)]; !done {
			f.putError(e)
		}
	}
	return len(f.Errors) == 0
}

// attachErrors fills each control's id, value (from Values, when given)
// and error.
func (f *formView) attachErrors() {
	for _, ctl := range f.Controls {
		ctl.ID = controlID(ctl.Name)
		if f.Values != nil {
			if vs, ok := f.Values[ctl.Name]; ok {
				switch ctl.Kind {
				case "checkboxes", "checkbox":
					ctl.Checked = map[string]bool{}
					for _, v := range vs {
						ctl.Checked[v] = true
					}
				case "password":
				default:
					ctl.Value = vs[0]
				}
			}
		}
		if e, ok := f.Errors[ctl.Name]; ok {
			ctl.Error = e
		}
	}
}

// controlID turns a field path into an element id: "children[0].seen" ->
// "f-children-0-seen".
func controlID(name string) string {
	var b strings.Builder
	b.WriteString("f-")
	for _, r := range name {
		switch {
		case r == '[' || r == '.':
			b.WriteByte('-')
		case r == ']':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	dateT      = reflect.TypeOf(schema.Date(""))
	timestampT = reflect.TypeOf(schema.Timestamp(""))
)

// htmlDateTime is the value format of <input type="datetime-local">.
const htmlDateTime = "2006-01-02T15:04"

// fieldControl builds the control for a schema field, its kind from the
// field's type and rules.
func fieldControl(spec *schema.EntitySpec, name string) *control {
	fs := spec.Fields[name]
	l := labelOf(spec.Name, name)
	ctl := &control{Name: name, Label: l.label, Hint: l.hint}
	switch {
	case fs.Type == dateT:
		ctl.Kind = "date"
	case fs.Type == timestampT:
		ctl.Kind = "datetime"
	case fs.Type.Kind() == reflect.Bool:
		ctl.Kind = "checkbox"
	case fs.Type.Kind() == reflect.Int:
		ctl.Kind = "number"
	case fs.Type.Kind() == reflect.Slice && len(fs.Enum) > 0:
		ctl.Kind = "checkboxes"
	case len(fs.Enum) > 0 && len(fs.Enum) <= 4:
		ctl.Kind = "radios"
	case len(fs.Enum) > 0:
		ctl.Kind = "select"
	case fs.Max > 500:
		ctl.Kind = "textarea"
	default:
		ctl.Kind = "text"
	}
	for _, v := range fs.Enum {
		ctl.Options = append(ctl.Options, option{Value: v, Label: enumLabel(name, v)})
	}
	return ctl
}

// valuesOf turns a record's fields into form values.
func valuesOf(spec *schema.EntitySpec, fields map[string]json.RawMessage) url.Values {
	out := url.Values{}
	for name, raw := range fields {
		fs := spec.Fields[name]
		if fs == nil || isEmptyJSON(raw) {
			continue
		}
		switch {
		case fs.Type == timestampT:
			var s string
			json.Unmarshal(raw, &s)
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				out.Set(name, t.Local().Format(htmlDateTime))
			}
		case fs.Type.Kind() == reflect.String:
			var s string
			json.Unmarshal(raw, &s)
			out.Set(name, s)
		case fs.Type.Kind() == reflect.Bool:
			var b bool
			json.Unmarshal(raw, &b)
			if b {
				out.Set(name, "yes")
			}
		case fs.Type.Kind() == reflect.Int:
			var n int
			json.Unmarshal(raw, &n)
			out.Set(name, strconv.Itoa(n))
		case fs.Type.Kind() == reflect.Slice && fs.Type.Elem().Kind() == reflect.String:
			var xs []string
			json.Unmarshal(raw, &xs)
			out[name] = xs
		}
	}
	return out
}

// fieldsOf turns the form values of names into the fields that changed
// against existing (nil when creating). Values that cannot be what the
// field needs (a number that is not one, a time that is not one) are
// errors on f; the schema checks the rest when the record is written.
func fieldsOf(spec *schema.EntitySpec, names []string, form url.Values, existing map[string]json.RawMessage, f *formView) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for _, name := range names {
		fs := spec.Fields[name]
		v := strings.TrimSpace(form.Get(name))
		var raw json.RawMessage
		switch {
		case fs.Type == timestampT:
			if v != "" {
				t, err := time.ParseInLocation(htmlDateTime, v, time.Local)
				if err != nil {
					f.addError(name, "Enter a real date and time, for example 31/03/2026 14:05.")
					continue
				}
				raw = mustJSON(schema.TimestampOf(t))
			}
		case fs.Type.Kind() == reflect.String:
			if v != "" {
				raw = mustJSON(v)
			}
		case fs.Type.Kind() == reflect.Bool:
			raw = mustJSON(v == "yes")
		case fs.Type.Kind() == reflect.Int:
			if v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					f.addError(name, "Enter a whole number, like 7.")
					continue
				}
				raw = mustJSON(n)
			}
		case fs.Type.Kind() == reflect.Slice && fs.Type.Elem().Kind() == reflect.String:
			var xs []string
			for _, x := range form[name] {
				if x = strings.TrimSpace(x); x != "" {
					xs = append(xs, x)
				}
			}
			if len(xs) > 0 {
				raw = mustJSON(xs)
			}
		default:
			continue // lists of objects are built by their own forms
		}
		if sameJSON(existing[name], raw) {
			continue
		}
		if raw == nil {
			raw = json.RawMessage("null")
		}
		out[name] = raw
	}
	return out
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// isEmptyJSON reports whether raw holds no answer: absent, null, "", [],
// {}, false or 0.
func isEmptyJSON(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", `""`, "[]", "{}", "false", "0":
		return true
	}
	return false
}

func sameJSON(a, b json.RawMessage) bool {
	if isEmptyJSON(a) && isEmptyJSON(b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// putError puts a schema error from a write next to the control it is
// about, in plain English; errors about no control of the form go at the
// top. It returns false when err is not a schema error (a fault of ours).
func (f *formView) putError(err error) bool {
	e := schema.AsError(err)
	if e == nil {
		return false
	}
	for _, one := range e.All() { // several at once: each beside its field
		f.putOne(&one)
	}
	return true
}

func (f *formView) putOne(e *schema.Error) {
	ctl := f.control(f.controlFor(e.Field))
	if ctl == nil {
		msg := plainMessage("", e)
		if prev := f.Errors[""]; prev != "" && prev != msg {
			msg = prev + " " + msg
		}
		f.addError("", msg)
		return
	}
	f.addError(ctl.Name, friendly(ctl, e))
}

// controlFor is the name of the visible control a field path is about (the
// path, else its root field), "" when the form has none.
func (f *formView) controlFor(field string) string {
	for _, name := range []string{field, rootField(field)} {
		if c := f.control(name); c != nil {
			return name
		}
	}
	return ""
}

func (f *formView) control(name string) *control {
	for _, c := range f.Controls {
		if c.Name == name && c.Kind != "hidden" {
			return c
		}
	}
	return nil
}

func rootField(field string) string {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return field
}

// friendly says a schema error about ctl in plain English.
func friendly(ctl *control, e *schema.Error) string {
	switch {
	case ctl.Kind == "date" && e.Code == schema.ECodeInvalid && strings.Contains(e.Message, "cannot be in the future"):
		return ctl.Label + " must be today or in the past."
	case ctl.Kind == "date" && (e.Code == schema.ECodeInvalid || e.Code == schema.ECodeWrongType):
		return "Enter a real date, for example 31/03/2016."
	case ctl.Kind == "datetime" && (e.Code == schema.ECodeInvalid || e.Code == schema.ECodeWrongType):
		return "Enter a real date and time, for example 31/03/2026 14:05."
	case (ctl.Kind == "radios" || ctl.Kind == "select" || ctl.Kind == "checkboxes") && e.Code == schema.ECodeRequired &&
		e.Message == e.Field+" is required":
		l := strings.ToLower(ctl.Label)
		switch first, _, _ := strings.Cut(l, " "); first {
		case "where", "what", "why", "who", "how", "when":
			return "Say " + l + "."
		}
		return "Choose " + article(l) + "."
	case (ctl.Kind == "radios" || ctl.Kind == "select" || ctl.Kind == "checkboxes") && e.Code == schema.ECodeInvalid &&
		strings.Contains(e.Message, "must be one of"):
		return "Choose one of the options."
	case e.Code == schema.ECodeRequired && e.Message == e.Field+" is required":
		return ctl.Label + " is required."
	}
	return plainMessage(ctl.Label, e)
}

// plainMessage rewrites the field's name in a schema message as its label
// and makes it a sentence.
func plainMessage(label string, e *schema.Error) string {
	msg := e.Message
	if label != "" && e.Field != "" {
		msg = strings.ReplaceAll(msg, e.Field, strings.ToLower(label))
		if root := rootField(e.Field); root != e.Field {
			msg = strings.ReplaceAll(msg, root, strings.ToLower(label))
		}
	}
	return sentence(msg)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = capitalize(s)
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "…") {
		s += "."
	}
	return s
}

func article(s string) string {
	if s == "" {
		return "an answer"
	}
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

// --- labels ---

type fieldLabel struct{ label, hint string }

// labels holds the label (and hint) of each field a form shows, by
// "entity.field" or by "field" for every entity.
var labels = map[string]fieldLabel{
	"household_member.relation":                    {"Relation to the person on probation", ""},
	"household_member.residence":                   {"Where they live", ""},
	"household_member.name":                        {"Name", "Leave empty if not known, and describe them below."},
	"household_member.description":                 {"Description", "When the name is not known: for example, \"girl about 6, answered the door\"."},
	"household_member.date_of_birth":               {"Date of birth", "If known."},
	"household_member.age":                         {"Age in years", "When the date of birth is not known."},
	"household_member.victim_or_potential_victim":  {"Victim or potential victim", "For adults."},
	"household_member.child_victim_in_own_right":   {"Victim in their own right", "For children (Domestic Abuse Act 2021)."},
	"household_member.known_to_childrens_services": {"Known to children's services", "For children."},
	"household_member.child_protection_plan":       {"On a child protection plan", "For children."},
	"visit.type":                                   {"Type of contact", ""},
	"visit.planned_type":                           {"Planned type", ""},
	"visit.planned_at":                             {"Planned for", ""},
	"visit.outcome":                                {"What happened", ""},
	"visit.outcome_reason":                         {"Why the visit did not happen", "When it was not completed."},
	"visit.location":                               {"Where it happened", ""},
	"visit.place_type":                             {"Kind of place", "When it happened away from the home."},
	"visit.elsewhere_reason":                       {"Why not at the home", "When it happened away from the home."},
	"visit.face_to_face":                           {"Face to face", ""},
	"visit.started_at":                             {"Started", ""},
	"visit.ended_at":                               {"Ended", ""},
	"visit.person_seen":                            {"Person on probation seen", ""},
	"visit.partner_present":                        {"Partner present", ""},
	"visit.partner_seen_alone":                     {"Partner seen alone", "When the partner was present."},
	"visit.partner_concerns":                       {"Concerns about the partner", "When the partner was present."},
	"visit.children_present":                       {"Children present", ""},
	"visit.others_present":                         {"Other people present", "Describe anyone not on the household list."},
	"visit.observations":                           {"What you observed", "Tick all that apply."},
	"visit.observation_notes":                      {"Observation notes", ""},
	"visit.safeguarding_concern":                   {"There is a safeguarding concern", ""},
	"visit.actions":                                {"Actions taken", "Tick all that apply."},
	"visit.no_action_reason":                       {"Why no action was taken", "Only when there is a concern and you took no action."},
	"visit.action_notes":                           {"Notes on the actions", ""},
	"visit.next_visit_on":                          {"Next visit", ""},
}

func labelOf(entity, field string) fieldLabel {
	if l, ok := labels[entity+"."+field]; ok {
		return l
	}
	if l, ok := labels[field]; ok {
		return l
	}
	return fieldLabel{label: capitalize(strings.ReplaceAll(field, "_", " "))}
}

// enumLabels names enum values, by field, then for every field.
var enumLabels = map[string]map[string]string{
	"rosh":       {"low": "Low", "medium": "Medium", "high": "High", "very_high": "Very high"},
	"flag":       {"da_perpetrator": "Domestic abuse (perpetrator)", "da_victim": "Domestic abuse (victim)", "child_concerns": "Child concerns", "child_protection": "Child protection", "risk_to_children": "Risk to children", "marac": "MARAC", "restraining_order": "Restraining order", "risk_to_staff": "Risk to staff"},
	"relation":   {"partner": "Partner", "ex_partner": "Ex-partner", "own_child": "Own child", "step_child": "Step-child", "other_child": "Other child", "other_adult": "Other adult", "lodger": "Lodger", "regular_visitor": "Regular visitor"},
	"residence":  {"lives_here": "Lives here", "stays_sometimes": "Stays sometimes", "visits": "Visits"},
	"type":       {"home_announced": "Home visit (announced)", "home_unannounced": "Home visit (unannounced)", "initial_home": "Initial home visit", "doorstep": "Doorstep", "office": "Office", "phone": "Phone", "video": "Video", "other_place": "Other place (cafe, library, …)"},
	"outcome":    {"completed": "Completed", "no_answer": "No answer", "refused_entry": "Refused entry", "not_present": "Person not there", "abandoned_safety": "Abandoned for safety", "not_undertaken": "Not undertaken"},
	"location":   {"home": "At the home", "doorstep": "On the doorstep", "elsewhere": "Elsewhere"},
	"place_type": {"cafe": "Cafe", "library": "Library", "office": "Office", "community_venue": "Community venue", "other": "Other"},
	"status":     {"planned": "Planned", "draft": "Draft", "signed": "Signed", "cancelled": "Cancelled"},
	"sentence_type": {"community_order": "Community order", "suspended_sentence_order": "Suspended sentence order",
		"licence": "Licence", "post_sentence_supervision": "Post-sentence supervision"},
	"partner_present":  {"no_partner": "No partner"},
	"children_present": {"no_children": "No children in the household"},
	"observations": {"poor_living_conditions": "Poor living conditions", "signs_of_injury": "Signs of injury", "fear": "Fear",
		"controlling_behaviour": "Controlling behaviour", "weapons": "Weapons", "substance_misuse": "Substance misuse",
		"new_adult_present": "A new adult present", "child_not_on_record": "A child not on the household list", "other": "Other"},
	"actions": {"childrens_services_referral": "Referral to children's services", "police_informed": "Police informed",
		"marac_referral": "MARAC referral", "manager_informed": "Manager informed", "safety_plan_updated": "Safety plan updated"},
	"decision": {"pending": "Awaiting the manager's decision", "approved": "Approved", "not_approved": "Not approved",
		"exempted": "Exempted", "referred": "Referred to a senior officer"},
	"": {"yes": "Yes", "no": "No", "not_known": "Not known"},
}

func enumLabel(field, v string) string {
	if field == "planned_type" {
		field = "type" // the same choices
	}
	if l, ok := enumLabels[field][v]; ok {
		return l
	}
	if l, ok := enumLabels[""][v]; ok {
		return l
	}
	if v == "" {
		return ""
	}
	return capitalize(strings.ReplaceAll(v, "_", " "))
}
