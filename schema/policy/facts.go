package policy

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"doorstep/schema"
)

// Records are one case's records as either store holds them, decoded: the
// visits as they were signed and, beside them, the amendments made to them
// since. The tablet and the server each decode their own storage into
// Records and hand them to FactsOf, so that both feed Requirements the same
// facts (docs/decisions/0016-one-facts-builder.md).
type Records struct {
	Case      schema.Case
	Flags     []schema.Flag
	Household []schema.HouseholdMember
	// Visits are as stored. A caller that needs the amended visits for
	// itself (the server's measures read every field) may pass them
	// amended already (AmendVisit) and no Amendments.
	Visits            []schema.Visit
	Amendments        []schema.Amendment
	Enquiries         []schema.Enquiry
	SafetyAssessments []schema.SafetyAssessment
}

// FactsOf turns one case's records into the policy's input as it stood on
// asOf: each visit with its amendments applied (AmendVisit), and, when the
// latest safety assessment of the case's current address as it stood on
// asOf (AssessmentAsOf) did not approve home visits or exempted them, the
// exemption it makes (SafetyExemption). Flags, household members and
// enquiries are passed on as they are: Requirements reads their dates
// itself. The slices of r are shared, not copied.
//
// An amendment that does not apply (a change of the wrong JSON type, which
// the stores refuse on write) is applied as far as it goes: the tablet must
// still show a due date. A caller that wants to hear of it calls AmendVisit
// itself.
func FactsOf(r Records, asOf schema.Date) CaseFacts {
	f := CaseFacts{Case: r.Case, Flags: r.Flags, Household: r.Household, Visits: r.Visits, Enquiries: r.Enquiries}
	if len(r.Amendments) > 0 {
		byVisit := make(map[string][]schema.Amendment, len(r.Amendments))
		for _, a := range r.Amendments {
			byVisit[a.VisitID] = append(byVisit[a.VisitID], a)
		}
		f.Visits = make([]schema.Visit, len(r.Visits))
		for i, v := range r.Visits {
			f.Visits[i] = v
			if as := byVisit[v.ID]; len(as) > 0 && v.ID != "" {
				f.Visits[i], _ = AmendVisit(v, as)
			}
		}
	}
	if a, ok := AssessmentAsOf(r.Case, r.SafetyAssessments, asOf); ok {
		if ex, ok := SafetyExemption(r.Case, a); ok {
			f.Exemptions = append(f.Exemptions, ex)
		}
	}
	return f
}

// amendable reports whether an amendment may change the visit field name:
// never the signature (status, signed_at, signed_by: schema.Amendment's
// Validate refuses them) nor the record's identity.
func amendable(name string) bool {
	switch name {
	case "status", "signed_at", "signed_by", "id", "case_id":
		return false
	}
	return true
}

// AmendVisit returns v with amendments applied in the order they were made:
// by the instant of amended_at (so "2026-03-01T10:00:00+01:00" comes before
// "2026-03-01T09:30:00Z", whatever their text says), then by id; an
// unreadable amended_at comes first. Each change sets its field; a change to
// JSON null clears the field (it reads as if it had never been written:
// "", false, no list), as null does in every write (docs/api.md). Changes to
// the signature (status, signed_at, signed_by) or to the identity are
// ignored. Amendments of another visit (a visit_id that is not v's) are
// skipped. amendments is not changed.
//
// The error names the first change that did not fit its field; the visit is
// then amended as far as it goes, that field left empty.
func AmendVisit(v schema.Visit, amendments []schema.Amendment) (schema.Visit, error) {
	type dated struct {
		at time.Time
		a  *schema.Amendment
	}
	var as []dated
	for i := range amendments {
		a := &amendments[i]
		if a.VisitID != "" && a.VisitID != v.ID {
			continue
		}
		at, _ := a.AmendedAt.Time()
		as = append(as, dated{at, a})
	}
	if len(as) == 0 {
		return v, nil
	}
	slices.SortStableFunc(as, func(x, y dated) int { return cmp.Or(x.at.Compare(y.at), cmp.Compare(x.a.ID, y.a.ID)) })
	b, err := json.Marshal(v)
	if err != nil {
		return v, fmt.Errorf("amend visit %s: %w", v.ID, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return v, fmt.Errorf("amend visit %s: %w", v.ID, err)
	}
	var bad error
	for _, d := range as {
		for name, value := range d.a.Changes {
			switch {
			case !amendable(name):
			case string(value) == "null":
				delete(fields, name)
			case !json.Valid(value):
				bad = cmp.Or(bad, fmt.Errorf("amendment %s: changes.%s is not JSON", d.a.ID, name))
			default:
				fields[name] = value
			}
		}
	}
	if b, err = json.Marshal(fields); err != nil {
		return v, fmt.Errorf("amend visit %s: %w", v.ID, err)
	}
	var out schema.Visit
	// Unmarshal fills every field it can and names the first that did not
	// fit; the rest of the visit is still amended.
	if err := json.Unmarshal(b, &out); err != nil {
		bad = cmp.Or(bad, err)
	}
	if bad != nil {
		return out, fmt.Errorf("amend visit %s: %w", v.ID, bad)
	}
	return out, nil
}

// LatestAssessment picks, of all, the latest safety assessment of the case's
// current address (by assessed_on, then decided_on, then id), as
// SafetyExemption asks to be given. An assessment with no address or a case
// with none matches any. false when there is none.
func LatestAssessment(c schema.Case, all []schema.SafetyAssessment) (schema.SafetyAssessment, bool) {
	return latestAssessment(c, all, "")
}

// AssessmentAsOf is the latest safety assessment of the case's current
// address as it stood on asOf (LatestAssessment of those assessed on or
// before asOf; one without assessed_on is left out). A decision made after
// asOf had not been made then: the assessment is returned with decision
// "pending", its other decision fields as they are.
func AssessmentAsOf(c schema.Case, all []schema.SafetyAssessment, asOf schema.Date) (schema.SafetyAssessment, bool) {
	a, ok := latestAssessment(c, all, asOf)
	if ok && a.DecidedOn != "" && a.DecidedOn > asOf {
		a.Decision = "pending"
	}
	return a, ok
}

// latestAssessment is LatestAssessment of the assessments assessed on or
// before asOf, or of all when asOf is "".
func latestAssessment(c schema.Case, all []schema.SafetyAssessment, asOf schema.Date) (schema.SafetyAssessment, bool) {
	var best *schema.SafetyAssessment
	for i := range all {
		a := &all[i]
		if (asOf != "" && (a.AssessedOn == "" || a.AssessedOn > asOf)) || (a.Address != "" && c.Address != "" && a.Address != c.Address) {
			continue
		}
		if best == nil || cmp.Or(cmp.Compare(a.AssessedOn, best.AssessedOn), cmp.Compare(a.DecidedOn, best.DecidedOn), cmp.Compare(a.ID, best.ID)) > 0 {
			best = a
		}
	}
	if best == nil {
		return schema.SafetyAssessment{}, false
	}
	return *best, true
}
