package schema

import "regexp"

// Case is a person on probation (nDelius: Offender + Event). Cases come from
// an import or an admin; an officer edits only the address fields.
type Case struct {
	ID               string `json:"id"`
	CaseID           string `json:"case_id"` // equals ID: a case is its own scope
	CRN              string `json:"crn" v:"required,admin,max=7"`
	GivenName        string `json:"given_name" v:"required,admin,max=100"`
	FamilyName       string `json:"family_name" v:"required,admin,max=100"`
	DateOfBirth      Date   `json:"date_of_birth" v:"required,admin,past"`
	Address          string `json:"address" v:"max=300"`
	NoFixedAbode     bool   `json:"no_fixed_abode"`
	AddressSince     Date   `json:"address_since"`
	OfficerID        string `json:"officer_id" v:"required,admin,max=64"`
	TeamID           string `json:"team_id" v:"required,admin,max=64"`
	SentenceType     string `json:"sentence_type" v:"required,admin,enum=community_order|suspended_sentence_order|licence|post_sentence_supervision"`
	SupervisionStart Date   `json:"supervision_start" v:"required,admin"`
	RoSH             string `json:"rosh" v:"required,admin,enum=low|medium|high|very_high"`
	RoSHDate         Date   `json:"rosh_date" v:"admin"`
	MAPPACategory    string `json:"mappa_category" v:"admin,enum=1|2|3|4"`
	MAPPALevel       string `json:"mappa_level" v:"admin,enum=1|2|3"`
	Closed           bool   `json:"closed" v:"admin"`
}

// CRNPattern is the shape of a case reference: one letter, six digits.
var CRNPattern = regexp.MustCompile(`^[A-Z][0-9]{6}$`)

// Validate checks the rules across fields.
func (c Case) Validate() error {
	if !CRNPattern.MatchString(c.CRN) {
		return Errorf(ECodeInvalid, "crn", "crn must be a letter and six digits, like X123456, not %q", c.CRN)
	}
	if c.Address == "" && !c.NoFixedAbode {
		return Errorf(ECodeRequired, "address", "address is required unless no_fixed_abode is true")
	}
	return nil
}

// Flag is a registration on a case (nDelius: Registration).
type Flag struct {
	ID             string `json:"id"`
	CaseID         string `json:"case_id"`
	Type           string `json:"type" v:"required,admin,enum=da_perpetrator|da_victim|child_concerns|child_protection|risk_to_children|marac|restraining_order|risk_to_staff"`
	StartDate      Date   `json:"start_date" v:"required,admin"`
	NextReviewDate Date   `json:"next_review_date"`
	LastReviewed   Date   `json:"last_reviewed"`
	EndedOn        Date   `json:"ended_on" v:"admin"`
	Notes          string `json:"notes" v:"max=2000"`
}

// IsDomesticAbuse reports whether a live flag marks a domestic-abuse case.
func (f Flag) IsDomesticAbuse() bool {
	return f.EndedOn == "" && (f.Type == "da_perpetrator" || f.Type == "da_victim")
}
