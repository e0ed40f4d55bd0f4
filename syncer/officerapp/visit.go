package officerapp

// Recording a visit: the guided doorstep form, saved as a draft while the
// officer types (app.js posts it to /draft, debounced), and signed with
// Agent.Sign, whose checks (schema.Visit.ValidateForSigning) come back as
// prompts next to the field: the reason a child was not seen, the action
// taken on a concern.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

// visitSections lays out the form: a heading, then the fields under it. The
// children of the household come after "children_present".
var visitSections = []struct {
	heading string
	fields  []string
}{
	{"The contact", []string{"type", "location", "place_type", "elsewhere_reason", "face_to_face", "started_at", "ended_at"}},
	{"Outcome", []string{"outcome", "outcome_reason", "person_seen"}},
	{"Partner", []string{"partner_present", "partner_seen_alone", "partner_concerns"}},
	{"Children", []string{"children_present"}},
	{"Others", []string{"others_present"}},
	{"What you saw", []string{"observations", "observation_notes"}},
	{"Safeguarding", []string{"safeguarding_concern", "actions", "no_action_reason", "action_notes"}},
	{"Next visit", []string{"next_visit_on"}},
}

// visitWhen says when a question of the visit form applies (whenHolds);
// the others always do. "children" is each child's answers.
var visitWhen = map[string]string{
	"place_type":         "location=elsewhere",
	"elsewhere_reason":   "location=elsewhere",
	"outcome_reason":     "outcome!=completed",
	"partner_seen_alone": "partner_present=yes",
	"partner_concerns":   "partner_present=yes",
	"children":           "children_present=yes",
	"no_action_reason":   "safeguarding_concern=yes&actions=",
}

// applicable is the form with the answers to the questions that do not
// apply taken out, as a visit is signed: a signed visit never keeps an
// answer to a question that was hidden (docs/officer-app.md). A draft
// keeps them, so that changing an answer back brings them back.
func applicable(form url.Values) url.Values {
	out := url.Values{}
	for k, vs := range form {
		out[k] = vs
	}
	for name, cond := range visitWhen {
		if whenHolds(cond, form) {
			continue
		}
		if name != "children" {
			delete(out, name)
		}
	}
	for k := range out {
		if cond := childWhen(k); cond != "" && !strings.HasSuffix(k, ".member_id") && !whenHolds(cond, form) {
			delete(out, k)
		}
	}
	return out
}

// childWhen is when one child's answer (name "children[i].<answer>")
// applies, "" for a name that is not a child's answer: every answer when
// children were present; "seen" when the child was present; "spoken to"
// when seen; the reason when present and not seen.
func childWhen(name string) string {
	if !strings.HasPrefix(name, "children[") {
		return ""
	}
	i := strings.Index(name, "].")
	if i < 0 {
		return ""
	}
	p, answer := name[:i+2], name[i+2:]
	cond := visitWhen["children"]
	switch answer {
	case "seen":
		cond += "&" + p + "present=yes"
	case "spoken_to":
		cond += "&" + p + "present=yes&" + p + "seen=yes"
	case "reason_not_seen":
		cond += "&" + p + "present=yes&" + p + "seen=no"
	}
	return cond
}

func visitFormFields() []string {
	var out []string
	for _, s := range visitSections {
		out = append(out, s.fields...)
	}
	return out
}

// childRef is a child of the household, as the visit form lists them.
type childRef struct{ ID, Label string }

type visitData struct {
	ID, CaseID, CaseName string
	Signed               bool
	Receipt              receipt
	Summary              []answerRow // a signed visit, read-only, as amended
	Form                 formView
	Amend                formView // a signed visit: the amend form
	AmendField           string   // the answer being corrected; "" while none is chosen
	AmendLabel           string
	Amendments           []amendmentView // a signed visit's amendments, oldest first
	children             []childRef
	noApproval           bool // no approved safety assessment of the case's current address
}

// ChildPromptWhen is when the form asks to add a child to the household:
// a child noted as not on the household list, or children present in a
// household with none on record (a whenHolds condition).
func (d visitData) ChildPromptWhen() string {
	if len(d.children) == 0 {
		return "observations=child_not_on_record|children_present=yes"
	}
	return "observations=child_not_on_record"
}

// NoChildren reports whether the household has no children on record.
func (d visitData) NoChildren() bool { return len(d.children) == 0 }

// SafetyWarning reports whether the form is for a home visit to an address
// without an approved pre-visit safety assessment.
func (d visitData) SafetyWarning() bool {
	return d.noApproval && schema.IsHomeVisit(d.Form.Values.Get("type"))
}

// approvedAssessment reports whether the latest safety assessment of
// address (by assessed_on, then id) has the manager's approval. An older
// approval does not outweigh a newer assessment that was not approved.
func approvedAssessment(recs []syncer.LocalRecord, address string) bool {
	var latest *schema.SafetyAssessment
	for _, r := range recs {
		var s schema.SafetyAssessment
		if r.Entity != "safety_assessment" || r.Decode(&s) != nil || address == "" || s.Address != address {
			continue
		}
		if latest == nil || s.AssessedOn > latest.AssessedOn || (s.AssessedOn == latest.AssessedOn && s.ID > latest.ID) {
			latest = &s
		}
	}
	return latest != nil && latest.Decision == "approved"
}

// POST /app/cases/:id/visits: start recording a visit (a draft, started now).
func (w *webApp) newVisit(c *fiber.Ctx) error {
	cr, err := w.agent.Get(c.UserContext(), "case", c.Params("id"))
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	rec, err := w.agent.Put(c.UserContext(), "visit", "", cr.ID, map[string]json.RawMessage{
		"status":     mustJSON("draft"),
		"officer_id": mustJSON(sess.User.ID),
		"started_at": mustJSON(schema.TimestampOf(w.api.Now())),
	})
	if err != nil {
		return err
	}
	return redirect(c, "/app/visits/"+url.PathEscape(rec.ID))
}

// visitTarget loads the visit of the request, its case and the household's
// children.
func (w *webApp) visitTarget(c *fiber.Ctx) (visitData, syncer.LocalRecord, error) {
	ctx := c.UserContext()
	v, err := w.agent.Get(ctx, "visit", c.Params("vid"))
	if err != nil {
		return visitData{}, v, err
	}
	if !v.Signed && str(v.Fields, "status") == "cancelled" {
		// Recording it would turn it back into a draft (visit_plan.go).
		return visitData{}, v, schema.Errorf(schema.ECodeConflict, "status",
			"This visit was cancelled, so it cannot be recorded. To see the person, schedule a new visit from the case page.")
	}
	cr, err := w.agent.Get(ctx, "case", v.CaseID)
	if err != nil {
		return visitData{}, v, err
	}
	d := visitData{ID: v.ID, CaseID: v.CaseID, CaseName: str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name"),
		Signed: v.Signed, Receipt: receiptOf(v, w.api.Now())}
	members, err := w.agent.List(ctx, "household_member", v.CaseID)
	if err != nil {
		return d, v, err
	}
	now := w.api.Now()
	for _, mr := range members {
		var m schema.HouseholdMember
		if mr.Decode(&m) != nil || !m.IsChild() || m.LeftOn != "" {
			continue
		}
		label := memberName(m)
		if a := ageText(m.DateOfBirth, now); a != "" {
			label += ", " + a
		} else if m.Age > 0 {
			label += ", " + strconv.Itoa(m.Age)
		}
		d.children = append(d.children, childRef{ID: mr.ID, Label: label + " (" + strings.ToLower(enumLabel("relation", m.Relation)) + ")"})
	}
	slices.SortFunc(d.children, func(a, b childRef) int { return cmp.Compare(a.Label, b.Label) })
	if !d.Signed {
		assessments, err := w.agent.List(ctx, "safety_assessment", v.CaseID)
		if err != nil {
			return d, v, err
		}
		d.noApproval = !approvedAssessment(assessments, str(cr.Fields, "address"))
	}
	return d, v, nil
}

func (w *webApp) visitForm(d *visitData) {
	spec, _ := schema.Entity("visit")
	d.Form.Controls = nil
	for _, s := range visitSections {
		for i, name := range s.fields {
			ctl := fieldControl(spec, name)
			ctl.When = visitWhen[name]
			if i == 0 {
				ctl.Section = s.heading
			}
			d.Form.Controls = append(d.Form.Controls, ctl)
			if name == "children_present" {
				d.Form.Controls = append(d.Form.Controls, childControls(d.children)...)
			}
		}
	}
	d.Form.attachErrors()
}

func childControls(children []childRef) []*control {
	yesNo := []option{{"yes", "Yes"}, {"no", "No"}}
	var out []*control
	for i, ch := range children {
		p := fmt.Sprintf("children[%d].", i)
		// Each label names the child: a screen reader reads a question
		// without the heading above it.
		name := firstWord(ch.Label)
		first := len(out)
		out = append(out,
			&control{Name: p + "member_id", Kind: "hidden", Value: ch.ID, Section: ch.Label},
			&control{Name: p + "present", Label: "Present (" + name + ")", Kind: "radios", Options: []option{{"yes", "Yes"}, {"no", "No"}, {"not_known", "Not known"}}},
			&control{Name: p + "seen", Label: "Seen (" + name + ")", Kind: "radios", Options: yesNo},
			&control{Name: p + "spoken_to", Label: "Spoken to (" + name + ")", Kind: "radios", Options: yesNo},
			&control{Name: p + "reason_not_seen", Label: "Why " + name + " was not seen", Hint: "Needed to sign when the child was present and not seen.", Kind: "text"},
			&control{Name: p + "concerns", Label: "Concerns about " + name, Kind: "textarea"},
		)
		for _, ctl := range out[first:] {
			ctl.When = childWhen(ctl.Name)
		}
	}
	return out
}

// childValues turns the visit's children into form values, in the order of
// the household's children.
func childValues(children []childRef, fields map[string]json.RawMessage, into url.Values) {
	var seen []schema.VisitChild
	json.Unmarshal(fields["children"], &seen)
	for i, ch := range children {
		for _, vc := range seen {
			if vc.MemberID != ch.ID {
				continue
			}
			p := fmt.Sprintf("children[%d].", i)
			into.Set(p+"present", vc.Present)
			into.Set(p+"seen", vc.Seen)
			into.Set(p+"spoken_to", vc.SpokenTo)
			into.Set(p+"reason_not_seen", vc.ReasonNotSeen)
			into.Set(p+"concerns", vc.Concerns)
		}
	}
}

// childrenOf reads the children's answers from the form: one entry per
// child of the form, in its order, an unanswered one included, so that an
// answer is never dropped and an error about children[i] is the form's
// child i; none at all when no child has an answer. A draft keeps half
// answers (issue 9); signing asks for what is missing: here when an entry
// is half given, and in the schema (schema.ChildrenAccountedFor) for every
// child of a domestic-abuse case.
func childrenOf(children []childRef, form url.Values, f *formView, signing bool) []schema.VisitChild {
	out := []schema.VisitChild{}
	any := false
	for i, ch := range children {
		p := fmt.Sprintf("children[%d].", i)
		if form.Get(p+"member_id") != ch.ID {
			continue // the household changed since the form was drawn
		}
		vc := schema.VisitChild{MemberID: ch.ID, Present: form.Get(p + "present"), Seen: form.Get(p + "seen"),
			SpokenTo: form.Get(p + "spoken_to"), ReasonNotSeen: strings.TrimSpace(form.Get(p + "reason_not_seen")),
			Concerns: strings.TrimSpace(form.Get(p + "concerns"))}
		given := vc.Present != "" || vc.Seen != "" || vc.SpokenTo != "" || vc.ReasonNotSeen != "" || vc.Concerns != ""
		any = any || given
		if signing && given && vc.Present == "" {
			f.addError(p+"present", "Say whether "+firstWord(ch.Label)+" was present.")
		}
		if signing && vc.Present == "yes" && vc.Seen == "" {
			f.addError(p+"seen", "Say whether "+firstWord(ch.Label)+" was seen.")
		}
		out = append(out, vc)
	}
	if !any {
		return []schema.VisitChild{}
	}
	return out
}

// childErrorsToForm names the children of a signing error as the form
// does: schema errors index the visit's children (kids), the form indexes
// the household's (children).
func childErrorsToForm(err error, kids []schema.VisitChild, children []childRef) error {
	e := schema.AsError(err)
	if e == nil {
		return err
	}
	rename := func(field string) string {
		var i int
		var rest string
		if n, _ := fmt.Sscanf(field, "children[%d]", &i); n != 1 || i < 0 || i >= len(kids) {
			return field
		}
		rest = field[strings.Index(field, "]")+1:]
		for j, ch := range children {
			if ch.ID == kids[i].MemberID {
				return fmt.Sprintf("children[%d]%s", j, rest)
			}
		}
		return field
	}
	out := &schema.Error{Code: e.Code, Field: rename(e.Field), Message: e.Message}
	if e.Errors != nil {
		list := schema.ErrorList{}
		for _, sub := range *e.Errors {
			sub.Field = rename(sub.Field)
			list = append(list, sub)
		}
		out.Errors = &list
	}
	return out
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, ",("); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// GET /app/visits/:vid
func (w *webApp) visitPage(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return err
	}
	if d.Signed {
		var current map[string]json.RawMessage
		if d.Amendments, current, err = w.amendmentsOf(c, v, d.children); err != nil {
			return err
		}
		d.Summary = w.visitSummary(c, v, current, d.children)
		// ?amend_field= chooses the answer to correct; a conflict's "add an
		// amendment" link gives the value too.
		d.Amend.Values = url.Values{}
		if f := c.Query("amend_field"); isAmendable(f) {
			var value *string
			if c.Context().QueryArgs().Has("amend_value") {
				s := c.Query("amend_value")
				value = &s
			}
			amendPrefill(&d.Amend, f, current, d.children, value)
			d.AmendField, d.AmendLabel = f, amendLabel(f)
		}
		amendForm(&d.Amend, d.AmendField, d.children)
		return w.render(c, fiber.StatusOK, "visit", view{Title: "Signed visit", Data: d})
	}
	spec, _ := schema.Entity("visit")
	d.Form.Values = valuesOf(spec, v.Fields)
	if str(v.Fields, "status") == "planned" {
		// Recording a planned visit: start from its plan and now; nothing is
		// written until the officer saves or the autosave runs.
		if d.Form.Values.Get("type") == "" {
			d.Form.Values.Set("type", str(v.Fields, "planned_type"))
		}
		if d.Form.Values.Get("started_at") == "" {
			d.Form.Values.Set("started_at", w.api.Now().Local().Format(htmlDateTime))
		}
	}
	childValues(d.children, v.Fields, d.Form.Values)
	w.visitForm(&d)
	return w.render(c, fiber.StatusOK, "visit", view{Title: "Record a visit", Data: d})
}

// answerRow is one answer as a person reads it, with the control it comes
// from (Anchor, for a "Change" link) and, on a signed visit that was
// amended, the answer as signed (Was) when an amendment changed it.
type answerRow struct {
	Title, Detail, Anchor, Was string
}

// visitSummary lists a signed visit's answers, read-only, as amended
// (current: the visit with its amendments applied), each changed one with
// its answer as signed beside it; then who signed it and when.
func (w *webApp) visitSummary(c *fiber.Ctx, v syncer.LocalRecord, current map[string]json.RawMessage, children []childRef) []answerRow {
	out := answerRows(current, children)
	signed := map[string]string{}
	for _, r := range answerRows(v.Fields, children) {
		signed[r.Title] = r.Detail
	}
	for i, r := range out {
		if was, ok := signed[r.Title]; !ok {
			out[i].Was = "(no answer)"
		} else if was != r.Detail {
			out[i].Was = was
		}
		delete(signed, r.Title)
	}
	for _, r := range answerRows(v.Fields, children) { // cleared by an amendment
		if _, ok := signed[r.Title]; ok {
			out = append(out, answerRow{Title: r.Title, Detail: "(no answer)", Was: r.Detail})
		}
	}
	when := stampText(str(v.Fields, "signed_at"))
	if by := str(v.Fields, "signed_by"); by != "" {
		when += " by " + w.personName(c, by)
	}
	return append(out, answerRow{Title: "Signed", Detail: when})
}

// answerRows lists a visit's answers as a person reads them: choices by
// their labels, times and dates in words, each child by name; unanswered
// questions are left out, but a yes/no is always answered.
func answerRows(fields map[string]json.RawMessage, children []childRef) []answerRow {
	spec, _ := schema.Entity("visit")
	vals := valuesOf(spec, fields)
	var out []answerRow
	for _, name := range visitFormFields() {
		xs := vals[name]
		if len(xs) == 0 && spec.Fields[name].Type.Kind() == reflect.Bool {
			xs = []string{"no"} // a yes/no is always answered: "No" is part of the record
		}
		if len(xs) == 0 {
			continue
		}
		var shown []string
		for _, x := range xs {
			switch fs := spec.Fields[name]; {
			case len(fs.Enum) > 0:
				shown = append(shown, enumLabel(name, x))
			case fs.Type == timestampT:
				shown = append(shown, stampText(str(fields, name)))
			case fs.Type == dateT:
				shown = append(shown, dateText(schema.Date(x)))
			case fs.Type.Kind() == reflect.Bool:
				shown = append(shown, enumLabel("", x))
			default:
				shown = append(shown, x)
			}
		}
		out = append(out, answerRow{Title: labelOf("visit", name).label, Detail: strings.Join(shown, "; "), Anchor: controlID(name)})
	}
	var kids []schema.VisitChild
	json.Unmarshal(fields["children"], &kids)
	for _, k := range kids {
		name, anchor := k.MemberID, ""
		for i, ch := range children {
			if ch.ID == k.MemberID {
				name, anchor = ch.Label, controlID(fmt.Sprintf("children[%d].present", i))
			}
		}
		out = append(out, answerRow{Title: "Child: " + name, Detail: childDetail(k), Anchor: anchor})
	}
	return out
}

// visitChanges reads the form into the fields that changed, children
// included; errors go on d.Form.
func (w *webApp) visitChanges(c *fiber.Ctx, d *visitData, v syncer.LocalRecord, signing bool) (map[string]json.RawMessage, error) {
	form, err := formOf(c)
	if err != nil {
		return nil, err
	}
	spec, _ := schema.Entity("visit")
	d.Form.Values = form
	w.visitForm(d)
	if signing {
		form = applicable(form)
	}
	fields := fieldsOf(spec, visitFormFields(), form, v.Fields, &d.Form)
	kids := childrenOf(d.children, form, &d.Form, signing)
	if raw := mustJSON(kids); !sameJSON(v.Fields["children"], raw) {
		fields["children"] = raw
	}
	return fields, nil
}

// POST /app/visits/:vid: save the draft.
func (w *webApp) saveVisit(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return err
	}
	if d.Signed {
		return schema.Errorf(schema.ECodeSigned, "id", "this visit is signed and cannot be changed; add an amendment")
	}
	fields, err := w.visitChanges(c, &d, v, false)
	if err != nil {
		return err
	}
	if len(d.Form.Errors) == 0 && len(fields) > 0 {
		fields["status"] = mustJSON("draft")
		if _, err := w.agent.Put(c.UserContext(), "visit", d.ID, "", fields); err != nil && !d.Form.putError(err) {
			return err
		}
	}
	if len(d.Form.Errors) > 0 {
		w.visitForm(&d)
		return w.render(c, fiber.StatusUnprocessableEntity, "visit", view{Title: "Record a visit", Data: d})
	}
	back := "/app/visits/" + url.PathEscape(d.ID)
	if d.Form.Values.Get("then") == "check" {
		return redirect(c, back+"/check") // visit_check.go
	}
	if d.Form.Values.Get("then") == "household" {
		// The prompt to add a child: the draft is saved, and the household
		// form comes back here.
		w.flash(c, flashInfo, "Your answers are saved as a draft. Add the child, and the visit form comes back.")
		return redirect(c, "/app/cases/"+url.PathEscape(d.CaseID)+"/household/new?"+url.Values{"back": {back}, "relation": {"other_child"}}.Encode())
	}
	w.flash(c, flashSuccess, "Draft saved on this tablet.")
	return redirect(c, back)
}

// POST /app/visits/:vid/draft: the autosave. It saves every answer the
// draft can hold: a child's answers as far as they go, each answer on its
// own. An answer the record cannot hold (a half-typed date, a text over its
// length) is left out, the rest saved, and each is named, with its label,
// in "checks" (and by control id in "errors") for app.js to list.
func (w *webApp) autosaveVisit(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return c.Status(fiber.StatusNotFound).JSON(fiber.Map{"error": "this visit is no longer on this tablet. Go back to the case page."})
	}
	if d.Signed {
		return c.Status(fiber.StatusConflict).JSON(fiber.Map{"error": "this visit is signed, so it can no longer be changed. To correct it, add an amendment on the visit's page."})
	}
	fields, err := w.visitChanges(c, &d, v, false)
	if err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"error": "the form could not be read. Reload the page and try again."})
	}
	type check struct {
		ID      string `json:"id"`    // the control's id, for a link
		Label   string `json:"label"` // the question
		Message string `json:"message"`
	}
	errs, checks := map[string]string{}, []check{}
	name := func(field, msg string) {
		label := labelOf("visit", rootField(field)).label
		for _, ctl := range d.Form.Controls {
			if ctl.Name == field {
				label = ctl.Label
			}
		}
		if _, dup := errs[controlID(field)]; !dup {
			checks = append(checks, check{controlID(field), label, msg})
		}
		errs[controlID(field)] = msg
	}
	for _, k := range d.Form.order {
		name(k, d.Form.Errors[k])
	}
	for attempt := 0; len(fields) > 0 && attempt < 16; attempt++ {
		fields["status"] = mustJSON("draft")
		_, err := w.agent.Put(c.UserContext(), "visit", d.ID, "", fields)
		if err == nil {
			break
		}
		e := schema.AsError(err)
		if e == nil {
			return err
		}
		f := rootField(e.Field)
		if _, ok := fields[f]; !ok || f == "status" {
			break
		}
		ctl := &control{Name: f, Label: labelOf("visit", f).label, Kind: fieldControl(mustSpec("visit"), f).Kind}
		if f == "children" {
			// One child's answer: leave out that answer, keep the others.
			if field, ok := dropChildAnswer(fields, e.Field, d.children); ok {
				name(field, sentence(e.Message))
				continue
			}
		}
		delete(fields, f) // save the rest; say what was left out
		name(e.Field, friendly(ctl, e))
	}
	return c.JSON(fiber.Map{"saved": clockText(w.api.Now(), w.api.Now()), "errors": errs, "checks": checks})
}

// dropChildAnswer blanks the answer of fields["children"] that field
// ("children[i].concerns") names, and returns the form's name for it.
func dropChildAnswer(fields map[string]json.RawMessage, field string, children []childRef) (string, bool) {
	var kids []schema.VisitChild
	var i int
	if json.Unmarshal(fields["children"], &kids) != nil {
		return "", false
	}
	if n, _ := fmt.Sscanf(field, "children[%d]", &i); n != 1 || i < 0 || i >= len(kids) {
		return "", false
	}
	k := &kids[i]
	answer := field[strings.Index(field, "]")+1:]
	switch answer {
	case ".present":
		k.Present = ""
	case ".seen":
		k.Seen = ""
	case ".spoken_to":
		k.SpokenTo = ""
	case ".concerns", ".reason_not_seen":
		// The schema names either long text "concerns": drop whichever is long.
		if len(k.ReasonNotSeen) > 2000 {
			k.ReasonNotSeen, answer = "", ".reason_not_seen"
		} else {
			k.Concerns, answer = "", ".concerns"
		}
	default:
		return "", false
	}
	fields["children"] = mustJSON(kids)
	named := childErrorsToForm(&schema.Error{Field: "children[" + strconv.Itoa(i) + "]" + answer}, kids, children)
	return schema.AsError(named).Field, true
}

func mustSpec(name string) *schema.EntitySpec {
	s, ok := schema.Entity(name)
	if !ok {
		panic("no entity " + name)
	}
	return s
}

// endOnSigning ends the visit now when it is signed with no end given, and
// refuses an end before the start.
func (w *webApp) endOnSigning(d *visitData, v syncer.LocalRecord, fields map[string]json.RawMessage) {
	stamp := func(name string) time.Time {
		raw, ok := fields[name]
		if !ok {
			raw = v.Fields[name]
		}
		var s string
		json.Unmarshal(raw, &s)
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	if _, bad := d.Form.Errors["ended_at"]; bad {
		return
	}
	started, ended := stamp("started_at"), stamp("ended_at")
	if ended.IsZero() {
		ended = w.api.Now()
		fields["ended_at"] = mustJSON(schema.TimestampOf(ended))
	}
	if !started.IsZero() && ended.Before(started) {
		d.Form.addError("ended_at", "The end is before the start ("+atText(started)+"): check both times.")
	}
}

// POST /app/visits/:vid/sign: save the last edits and sign, in one write.
// What ValidateForSigning asks for comes back next to its field.
func (w *webApp) signVisit(c *fiber.Ctx) error {
	d, v, err := w.visitTarget(c)
	if err != nil {
		return err
	}
	if d.Signed {
		return redirect(c, "/app/visits/"+url.PathEscape(d.ID))
	}
	fields, err := w.visitChanges(c, &d, v, true)
	if err != nil {
		return err
	}
	w.endOnSigning(&d, v, fields)
	if len(d.Form.Errors) == 0 {
		if _, err := w.agent.Sign(c.UserContext(), d.ID, fields); err != nil {
			var kids []schema.VisitChild
			raw, ok := fields["children"]
			if !ok {
				raw = v.Fields["children"]
			}
			json.Unmarshal(raw, &kids)
			if !d.Form.putError(childErrorsToForm(err, kids, d.children)) {
				return err
			}
		}
	}
	if len(d.Form.Errors) > 0 {
		w.visitForm(&d)
		return w.render(c, fiber.StatusUnprocessableEntity, "visit", view{Title: "Record a visit", Data: d})
	}
	w.flash(c, flashSuccess, "Visit signed. It is saved on this tablet and will be sent at the next sync.")
	return redirect(c, "/app/cases/"+url.PathEscape(d.CaseID))
}
