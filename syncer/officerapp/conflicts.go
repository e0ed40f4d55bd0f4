package officerapp

// The conflicts page: what the server did not take from this tablet. Two
// kinds: changes it set aside (rejected outbox entries, kept on the tablet
// with the server's error) and conflict records it wrote when another
// change won (schema.Conflict: both values, both authors, the reason). For
// each, in plain words, what happened and what the officer can do.

import (
	"cmp"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

const pathConflicts = "/app/conflicts"

type setAsideView struct {
	MutationID                         string
	What, CaseName, CaseID, Link, When string
	Record                             string // the record in words: "Jo Doe (partner)", "the visit of 20 Nov 2026"
	Tried                              []rowView
	Reason                             string
	// NewOnServer: the server never had the record, so discarding the
	// change removes it from the tablet.
	NewOnServer bool
	// Gone: the record (or its case) is no longer on this tablet, so
	// there is nothing to open and sending it again cannot succeed.
	Gone bool
	// CanRetry: sending it again can succeed (the refusal was not final);
	// RetryFirst: and it is the likely way out (the cause is gone: the case
	// is back in the caseload, or it clashed with a state since changed).
	CanRetry, RetryFirst bool
	AmendLink            string // a signed visit: correct it by an amendment
}

type conflictView struct {
	ID, What, CaseName, CaseID, Link, Field, Reason string
	Mine, MineBy, MineWhen                          string
	Server, ServerBy, ServerWhen                    string
	AmendLink                                       string // record_signed: the amend form, prefilled
	CanKeepServer                                   bool
	CanKeepMine                                     bool // lww_lost: write the officer's value again
}

type conflictsData struct {
	SetAside  []setAsideView
	Open      []conflictView
	Resolved  int
	Decisions []decisionView // setaside.go
}

// entityWords names an entity for the officer.
var entityWords = map[string]string{
	"case": "Case details", "flag": "A flag", "household_member": "A household member", "visit": "A visit",
	"amendment": "An amendment to a visit", "safety_assessment": "A safety assessment", "enquiry": "A safeguarding enquiry",
	"referral": "A referral", "oversight": "A management oversight note", "conflict": "A conflict",
}

func entityText(e string) string {
	if s, ok := entityWords[e]; ok {
		return s
	}
	return capitalize(strings.ReplaceAll(e, "_", " "))
}

// recordLink is the app's page of a record, where there is one.
func recordLink(entity, id, caseID string) string {
	switch entity {
	case "visit":
		return "/app/visits/" + url.PathEscape(id)
	case "household_member":
		return "/app/cases/" + url.PathEscape(caseID) + "/household/" + url.PathEscape(id)
	case "case":
		return "/app/cases/" + url.PathEscape(id)
	}
	if caseID != "" {
		return "/app/cases/" + url.PathEscape(caseID)
	}
	return ""
}

// recordName names a record in words from its fields (the stored record's,
// or only the change's when the record is no longer on the tablet): "Jo
// Doe, partner", "the visit of 20 Nov 2026"; "" when the fields say
// nothing that names it.
func recordName(entity string, fields map[string]json.RawMessage, now time.Time) string {
	switch entity {
	case "household_member":
		n := cmp.Or(str(fields, "name"), str(fields, "description"))
		if rel := str(fields, "relation"); rel != "" {
			n = strings.TrimPrefix(n+", "+strings.ToLower(enumLabel("relation", rel)), ", ")
		}
		return n
	case "visit":
		for _, f := range []string{"started_at", "planned_at"} {
			if t, err := time.Parse(time.RFC3339Nano, str(fields, f)); err == nil {
				return "the visit of " + t.Local().Format(layoutDate)
			}
		}
	case "enquiry", "referral":
		if a := str(fields, "agency"); a != "" {
			return enumLabel("agency", a)
		}
	case "safety_assessment":
		return str(fields, "address")
	}
	return ""
}

// rejectionText says in plain English why the server set a change aside.
func rejectionText(e *schema.Error) string {
	if e == nil {
		return "The server set this change aside without giving a reason."
	}
	msg := sentence(e.Message)
	switch e.Code {
	case schema.ECodeSigned:
		return "The record had already been signed on the server, so it cannot be changed. If the signed record is wrong, add an amendment."
	case schema.ECodeForbidden:
		return "The server does not allow you to make this change: " + msg
	case schema.ECodeOutOfScope, schema.ECodeNotFound:
		// The server's message names the record by its id: it says
		// nothing an officer can use.
		return "When the change reached the server, the case was not in your caseload (it may have been given to another officer), or the record had been removed."
	case schema.ECodeInvalid, schema.ECodeRequired, schema.ECodeWrongType, schema.ECodeUnknownField, schema.ECodeMalformed:
		return "The server could not accept a value in this change: " + msg
	case schema.ECodeConflict:
		return "The change clashed with what the server already has: " + msg
	}
	return "The server set this change aside: " + msg
}

// conflictReasonText explains a conflict's reason.
func conflictReasonText(reason string) string {
	switch reason {
	case "record_signed":
		return "The record had already been signed when your change reached the server, so your change was not applied. A signed visit is only corrected by an amendment."
	case "lww_lost":
		return "Someone else changed this answer too, and their change was made later, so the server kept theirs."
	case "overwritten_by_signature":
		return "The visit was signed with a different answer, and the signed answer replaced yours."
	}
	return "The server kept another value (" + reason + ")."
}

// GET /app/conflicts
func (w *webApp) conflictsPage(c *fiber.Ctx) error {
	ctx := c.UserContext()
	now := w.api.Now()
	cases := map[string]string{}
	caseName := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := cases[id]; ok {
			return n
		}
		n := ""
		if cr, err := w.agent.Get(ctx, "case", id); err == nil {
			n = strings.TrimSpace(str(cr.Fields, "given_name") + " " + str(cr.Fields, "family_name"))
			if crn := str(cr.Fields, "crn"); crn != "" {
				n += " (" + crn + ")"
			}
		}
		cases[id] = n
		return n
	}
	var d conflictsData
	out, err := w.agent.Outbox(ctx)
	if err != nil {
		return err
	}
	for _, o := range out {
		if o.Status != "rejected" {
			continue
		}
		sv := setAsideView{MutationID: o.MutationID, What: entityText(o.Entity), CaseID: o.CaseID, CaseName: caseName(o.CaseID),
			When: clockText(o.CreatedAt, now), Reason: rejectionText(o.Error)}
		var fields map[string]json.RawMessage
		json.Unmarshal(o.Fields, &fields)
		r, err := w.agent.Get(ctx, o.Entity, o.RecordID)
		switch {
		case err == nil && sv.CaseName != "":
			sv.Link = recordLink(o.Entity, o.RecordID, o.CaseID)
			sv.Record = recordName(o.Entity, r.Fields, now)
			sv.NewOnServer = r.Version == 0 && r.ReceivedAt.IsZero()
		case schema.ErrorCode(err) == schema.ECodeNotFound || sv.CaseName == "":
			sv.Gone = true
			sv.Record = recordName(o.Entity, fields, now)
		default:
			return err
		}
		code := ""
		if o.Error != nil {
			code = o.Error.Code
		}
		switch {
		case sv.Gone:
		case code == schema.ECodeSigned:
			if o.Entity == "visit" {
				sv.AmendLink = "/app/visits/" + url.PathEscape(o.RecordID) + "#amend"
			}
		default:
			sv.CanRetry = true
			// Out of scope then, back in the caseload now; or a clash with
			// a state that may have changed since.
			sv.RetryFirst = code == schema.ECodeOutOfScope || code == schema.ECodeNotFound || code == schema.ECodeConflict
		}
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			sv.Tried = append(sv.Tried, rowView{Title: labelOf(o.Entity, k).label, Detail: shownValue(o.Entity, k, fields[k])})
		}
		d.SetAside = append(d.SetAside, sv)
	}
	recs, err := w.agent.Conflicts(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(recs, func(a, b syncer.LocalRecord) int {
		return cmp.Or(cmp.Compare(b.UpdatedAt.UnixNano(), a.UpdatedAt.UnixNano()), cmp.Compare(a.ID, b.ID))
	})
	for _, r := range recs {
		var cf schema.Conflict
		if err := r.Decode(&cf); err != nil {
			continue
		}
		if cf.Status == "resolved" {
			d.Resolved++
			continue
		}
		mine, server := json.RawMessage(cf.LosingValue), json.RawMessage(cf.WinningValue)
		cv := conflictView{ID: r.ID, What: entityText(cf.RecordEntity), CaseID: r.CaseID, CaseName: caseName(r.CaseID),
			Link: recordLink(cf.RecordEntity, cf.RecordID, r.CaseID), Field: labelOf(cf.RecordEntity, cf.Field).label,
			Reason: conflictReasonText(cf.Reason),
			Mine:   shownValue(cf.RecordEntity, cf.Field, mine), MineBy: w.personName(c, cf.LosingAuthor), MineWhen: hlcText(cf.LosingClock, now),
			Server: shownValue(cf.RecordEntity, cf.Field, server), ServerBy: w.personName(c, cf.WinningAuthor), ServerWhen: hlcText(cf.WinningClock, now),
			CanKeepServer: true, CanKeepMine: cf.Reason == "lww_lost"}
		if cf.Reason == "record_signed" && cf.RecordEntity == "visit" && isAmendable(cf.Field) {
			q := url.Values{"amend_field": {cf.Field}, "amend_value": {cv.Mine}}
			if cv.Mine == "(no answer)" {
				q.Set("amend_value", "")
			}
			cv.AmendLink = "/app/visits/" + url.PathEscape(cf.RecordID) + "?" + q.Encode() + "#amend"
		}
		d.Open = append(d.Open, cv)
	}
	if d.Decisions, err = w.decisions(c, caseName); err != nil {
		return err
	}
	return w.render(c, fiber.StatusOK, "conflicts", view{Title: "Conflicts and changes set aside", Data: d})
}

// hlcText shows when a clock stamp was made, or "" when it is not one.
func hlcText(s string, now time.Time) string {
	h, err := schema.ParseHLC(s)
	if err != nil || h.IsZero() {
		return ""
	}
	return clockText(h.Time(), now)
}

// POST /app/conflicts/:cid/resolve: keep the server's value. The officer
// may write a conflict's status and resolution (they are not server-only
// fields); the change goes to the server like any other.
func (w *webApp) resolveConflict(c *fiber.Ctx) error {
	ctx := c.UserContext()
	r, err := w.agent.Get(ctx, "conflict", c.Params("cid"))
	if err != nil {
		return err
	}
	sess := sessionOf(c)
	if _, err := w.agent.Put(ctx, "conflict", r.ID, "", map[string]json.RawMessage{
		"status":      mustJSON("resolved"),
		"resolution":  mustJSON("kept the server's value"),
		"resolved_by": mustJSON(sess.User.ID),
		"resolved_at": mustJSON(schema.TimestampOf(w.api.Now())),
	}); err != nil {
		return err
	}
	w.flash(c, flashSuccess, "Done: the server's value stays. This is saved on this tablet and sent at the next sync.")
	return redirect(c, pathConflicts)
}
