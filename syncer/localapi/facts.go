package localapi

// The visit policy's facts on the tablet: each case's facts gathered from
// the local records (no network), for GET /v1/requirements and for the
// officer's web app (syncer/officerapp), so both compute the same due dates.

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"

	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer"
)

// PolicyFacts gathers the visit policy's facts of every case from the
// tablet's records in one pass, grouped by case: feed it every record of
// the entities the policy reads (case, flag, household_member, visit,
// amendment, enquiry, safety_assessment), in any order and with records of
// other entities mixed in, then ask for a case's facts.
type PolicyFacts struct {
	byCase     map[string]*caseFacts
	amendments map[string][]schema.Amendment // by visit id
}

type caseFacts struct {
	facts   policy.CaseFacts
	hasCase bool
	visits  []syncer.LocalRecord // raw, so amendments can be applied first
	safety  []schema.SafetyAssessment
}

// PolicyEntities are the entities the visit policy reads.
var PolicyEntities = []string{"case", "flag", "household_member", "visit", "amendment", "enquiry", "safety_assessment"}

func NewPolicyFacts() *PolicyFacts {
	return &PolicyFacts{byCase: map[string]*caseFacts{}, amendments: map[string][]schema.Amendment{}}
}

func (p *PolicyFacts) of(caseID string) *caseFacts {
	cf := p.byCase[caseID]
	if cf == nil {
		cf = &caseFacts{}
		p.byCase[caseID] = cf
	}
	return cf
}

// Add takes in records of any entity; those the policy does not read, and
// those that do not decode, are left out.
func (p *PolicyFacts) Add(recs []syncer.LocalRecord) {
	for _, r := range recs {
		switch r.Entity {
		case "case":
			var c schema.Case
			if r.Decode(&c) == nil {
				cf := p.of(r.ID)
				cf.facts.Case, cf.hasCase = c, true
			}
		// The policy's own records are read field by field, only what
		// schema/policy looks at (a whole Decode costs a JSON round trip per
		// record, and Today reads them all): a flag's type, start and end; a
		// member's relation and added_on; an enquiry's agency, result and
		// answer date; a safety assessment's address, dates and decision.
		case "flag":
			cf := p.of(r.CaseID)
			cf.facts.Flags = append(cf.facts.Flags, schema.Flag{ID: r.ID, CaseID: r.CaseID, Type: Str(r.Fields, "type"),
				StartDate: date(r.Fields, "start_date"), EndedOn: date(r.Fields, "ended_on")})
		case "household_member":
			cf := p.of(r.CaseID)
			cf.facts.Household = append(cf.facts.Household, schema.HouseholdMember{ID: r.ID, CaseID: r.CaseID,
				Relation: Str(r.Fields, "relation"), Residence: Str(r.Fields, "residence"),
				AddedOn: date(r.Fields, "added_on"), LeftOn: date(r.Fields, "left_on")})
		case "enquiry":
			cf := p.of(r.CaseID)
			cf.facts.Enquiries = append(cf.facts.Enquiries, schema.Enquiry{ID: r.ID, CaseID: r.CaseID,
				Agency: Str(r.Fields, "agency"), Stage: Str(r.Fields, "stage"), Result: Str(r.Fields, "result"),
				RequestedOn: date(r.Fields, "requested_on"), AnsweredOn: date(r.Fields, "answered_on")})
		case "safety_assessment":
			cf := p.of(r.CaseID)
			cf.safety = append(cf.safety, schema.SafetyAssessment{ID: r.ID, CaseID: r.CaseID, Address: Str(r.Fields, "address"),
				AssessedOn: date(r.Fields, "assessed_on"), Decision: Str(r.Fields, "decision"),
				DecisionReason: Str(r.Fields, "decision_reason"), DecidedBy: Str(r.Fields, "decided_by"),
				DecidedOn: date(r.Fields, "decided_on")})
		case "visit":
			// Only signed visits can meet a requirement or count as an
			// attempt; the rest (most of a long history is signed, but
			// planned and draft ones are skipped) need no decoding.
			if Str(r.Fields, "status") == "signed" {
				cf := p.of(r.CaseID)
				cf.visits = append(cf.visits, r)
			}
		case "amendment":
			var a schema.Amendment
			if r.Decode(&a) == nil && a.VisitID != "" {
				p.amendments[a.VisitID] = append(p.amendments[a.VisitID], a)
			}
		}
	}
}

// Facts returns the case's facts for policy.Requirements as they stood on
// asOf: policy.FactsOf (as the server builds them) of the case's records,
// read from the tablet's. false when the case itself is not on the tablet.
func (p *PolicyFacts) Facts(caseID string, asOf schema.Date) (policy.CaseFacts, bool) {
	cf := p.byCase[caseID]
	if cf == nil || !cf.hasCase {
		return policy.CaseFacts{}, false
	}
	r := policy.Records{Case: cf.facts.Case, Flags: cf.facts.Flags, Household: cf.facts.Household, Enquiries: cf.facts.Enquiries,
		Visits: make([]schema.Visit, 0, len(cf.visits)), SafetyAssessments: cf.safety}
	// A new child's requirement reads the children's answers: only a
	// household with a child needs them decoded.
	kids := slices.ContainsFunc(cf.facts.Household, schema.HouseholdMember.IsChild)
	for _, v := range cf.visits {
		r.Visits = append(r.Visits, policyVisit(v, kids))
		r.Amendments = append(r.Amendments, p.amendments[v.ID]...)
	}
	return policy.FactsOf(r, asOf), true
}

// policyVisit reads what the policy looks at in a visit (id, case, status,
// signed_at, started_at, type, location, outcome, face_to_face, and the
// children's answers that a new child's visit needs, when withChildren),
// as signed:
// FactsOf applies its amendments. A long history is mostly visits, so they
// are read field by field rather than decoded whole.
func policyVisit(r syncer.LocalRecord, withChildren bool) schema.Visit {
	fields := r.Fields
	var f2f bool
	json.Unmarshal(fields["face_to_face"], &f2f)
	var children []schema.VisitChild
	if raw := fields["children"]; withChildren && len(raw) > 2 {
		json.Unmarshal(raw, &children)
	}
	return schema.Visit{ID: r.ID, CaseID: r.CaseID, Status: Str(fields, "status"),
		SignedAt: schema.Timestamp(Str(fields, "signed_at")), StartedAt: schema.Timestamp(Str(fields, "started_at")),
		Type: Str(fields, "type"), Location: Str(fields, "location"), Outcome: Str(fields, "outcome"), FaceToFace: f2f,
		ChildrenPresent: Str(fields, "children_present"), Children: children}
}

func date(fields map[string]json.RawMessage, name string) schema.Date {
	return schema.Date(Str(fields, name))
}

// LocalDate is t's calendar date on the tablet (the officer's local day).
// schema.DateOf would give the UTC day.
func LocalDate(t time.Time) schema.Date { return schema.Date(t.Local().Format(time.DateOnly)) }

// Str reads a record's string field; "" when absent or not a string.
func Str(fields map[string]json.RawMessage, name string) string {
	raw := fields[name]
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	// Most strings have nothing escaped: their JSON is their text. (The
	// fields were checked as JSON when they were stored.)
	if inner := raw[1 : len(raw)-1]; raw[len(raw)-1] == '"' && bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	json.Unmarshal(raw, &s)
	return s
}
