package schema

import "strings"

// SafetyAssessment is the pre-visit risk assessment of an address, reusable
// while the address is unchanged, with the manager's decision.
type SafetyAssessment struct {
	ID              string `json:"id"`
	CaseID          string `json:"case_id"`
	Address         string `json:"address" v:"required,max=300"`
	Dogs            string `json:"dogs" v:"enum=yes|no|not_known"`
	OtherOccupants  string `json:"other_occupants" v:"max=2000"`
	Weapons         string `json:"weapons" v:"enum=yes|no|not_known"`
	LoneWorkingPlan string `json:"lone_working_plan" v:"max=4000"`
	Notes           string `json:"notes" v:"max=4000"`
	AssessedOn      Date   `json:"assessed_on" v:"required"`
	AssessedBy      string `json:"assessed_by" v:"by,max=64"`
	Decision        string `json:"decision" v:"admin,enum=pending|approved|not_approved|exempted|referred"`
	DecisionReason  string `json:"decision_reason" v:"admin,max=2000"`
	DecidedBy       string `json:"decided_by" v:"admin,by=decision|decision_reason|decided_on,max=64"`
	DecidedOn       Date   `json:"decided_on" v:"admin"`
}

// Enquiry is a safeguarding check with the police (domestic-abuse call-outs)
// or children's services, or a MARAC.
type Enquiry struct {
	ID                 string `json:"id"`
	CaseID             string `json:"case_id"`
	Agency             string `json:"agency" v:"required,enum=police|childrens_services|marac"`
	Stage              string `json:"stage" v:"required,enum=pre_sentence|initial_assessment|review|change_of_circumstances"`
	RequestedOn        Date   `json:"requested_on"`
	DueOn              Date   `json:"due_on"`
	AnsweredOn         Date   `json:"answered_on"`
	Result             string `json:"result" v:"enum=da_information_found|no_information|known_to_childrens_services|not_known_to_childrens_services"`
	NotRequestedReason string `json:"not_requested_reason" v:"max=2000"`
	Notes              string `json:"notes" v:"max=4000"`
}

// Referral is an intervention need and the referral that follows it.
type Referral struct {
	ID             string `json:"id"`
	CaseID         string `json:"case_id"`
	Need           string `json:"need" v:"required,max=200"`
	IdentifiedOn   Date   `json:"identified_on" v:"required"`
	IdentifiedBy   string `json:"identified_by" v:"by,max=64"`
	Decision       string `json:"decision" v:"enum=pending|refer|not_suitable|not_available"`
	DecisionReason string `json:"decision_reason" v:"max=2000"`
	Status         string `json:"status" v:"enum=awaiting_allocation|scheduled|on_programme|deferred|suitable_not_ready|withdrawn|breach|completed"`
	StatusOn       Date   `json:"status_on"`
}

// Oversight is a supervisor's review of a case, a visit or an assessment.
type Oversight struct {
	ID            string `json:"id"`
	CaseID        string `json:"case_id"`
	SubjectEntity string `json:"subject_entity" v:"required,admin,enum=case|visit|safety_assessment|conflict"`
	SubjectID     string `json:"subject_id" v:"required,admin,max=64"`
	// Aspect is what of the subject was reviewed: "general" (or empty, as
	// every record before it had) or, for a case, "da_risk_assessment":
	// the supervisor's rating of the case's domestic-abuse risk analysis
	// for the QA sample (docs/compliance.md, measure 10).
	Aspect   string    `json:"aspect" v:"admin,enum=general|da_risk_assessment"`
	Decision string    `json:"decision" v:"required,admin,enum=approved|not_approved|exempted|noted|referred|resolved|sufficient|insufficient"`
	Reason   string    `json:"reason" v:"admin,max=4000"`
	By       string    `json:"by" v:"admin,by=subject_entity|subject_id|aspect|decision|reason|at,max=64"`
	At       Timestamp `json:"at" v:"admin"`
}

// Oversight aspects.
const (
	AspectGeneral          = "general"
	AspectDARiskAssessment = "da_risk_assessment"
)

// IsDARating reports whether o is a rating of a case's domestic-abuse risk
// analysis (QA sample).
func (o Oversight) IsDARating() bool {
	return o.SubjectEntity == "case" && o.Aspect == AspectDARiskAssessment
}

// Day is the day o was made: the UTC day of At (the server's clock), ""
// when At does not parse. A DA risk assessment rating counts for this day
// (docs/compliance.md, measure 10).
func (o Oversight) Day() Date {
	t, err := o.At.Time()
	if err != nil {
		return ""
	}
	return DateOf(t.UTC())
}

// Validate checks the rules across fields: a DA risk assessment rating is
// of a case, is sufficient or insufficient, and gives a reason when
// insufficient; sufficient and insufficient rate nothing else.
func (o Oversight) Validate() error {
	rating := o.Decision == "sufficient" || o.Decision == "insufficient"
	switch o.Aspect {
	case "", AspectGeneral:
		if rating {
			return Errorf(ECodeInvalid, "decision", "decision %s rates a domestic-abuse risk assessment: it needs aspect da_risk_assessment", o.Decision)
		}
	case AspectDARiskAssessment:
		if o.SubjectEntity != "case" {
			return Errorf(ECodeInvalid, "aspect", "aspect da_risk_assessment is for a case, not a %s", o.SubjectEntity)
		}
		if !rating {
			return Errorf(ECodeInvalid, "decision", "a domestic-abuse risk assessment is rated sufficient or insufficient, not %q", o.Decision)
		}
		if o.Decision == "insufficient" && strings.TrimSpace(o.Reason) == "" {
			return Errorf(ECodeRequired, "reason", "reason is required when the risk assessment is rated insufficient")
		}
	}
	return nil
}

// Conflict keeps a change that lost: both values, both authors, and what was
// decided. The server writes it when it applies a push; tablets pull it so the
// officer sees it; a supervisor or the officer resolves it.
type Conflict struct {
	ID            string    `json:"id"`
	CaseID        string    `json:"case_id"`
	RecordEntity  string    `json:"record_entity" v:"server"`
	RecordID      string    `json:"record_id" v:"server"`
	Field         string    `json:"field" v:"server"`
	Reason        string    `json:"reason" v:"server"`                 // lww_lost, record_signed, overwritten_by_signature
	LosingValue   string    `json:"losing_value" v:"server,max=20000"` // JSON text
	LosingClock   string    `json:"losing_clock" v:"server"`
	LosingAuthor  string    `json:"losing_author" v:"server"`
	LosingDevice  string    `json:"losing_device" v:"server"`
	MutationID    string    `json:"mutation_id" v:"server"`
	WinningValue  string    `json:"winning_value" v:"server,max=20000"` // JSON text
	WinningClock  string    `json:"winning_clock" v:"server"`
	WinningAuthor string    `json:"winning_author" v:"server"`
	Status        string    `json:"status" v:"enum=open|resolved"`
	Resolution    string    `json:"resolution" v:"max=2000"`
	ResolvedBy    string    `json:"resolved_by" v:"by=resolution|resolved_at,max=64"`
	ResolvedAt    Timestamp `json:"resolved_at"`
}

func init() {
	register("case", "cases", Case{}, false, "", false)
	register("flag", "flags", Flag{}, false, "", false)
	register("household_member", "household-members", HouseholdMember{}, true, "", false)
	register("visit", "visits", Visit{}, true, "signed_at", false)
	register("amendment", "amendments", Amendment{}, true, "amended_at", false)
	register("safety_assessment", "safety-assessments", SafetyAssessment{}, true, "", false)
	register("enquiry", "enquiries", Enquiry{}, true, "", false)
	register("referral", "referrals", Referral{}, true, "", false)
	register("oversight", "oversights", Oversight{}, false, "", false)
	register("conflict", "conflicts", Conflict{}, false, "", false)
}
