package schema

// HouseholdMember is someone who lives at, stays at or visits the case's
// address. A new partner or a new child is a change that can trigger a visit.
type HouseholdMember struct {
	ID                       string `json:"id"`
	CaseID                   string `json:"case_id"`
	Relation                 string `json:"relation" v:"required,enum=partner|ex_partner|own_child|step_child|other_child|other_adult|lodger|regular_visitor"`
	Residence                string `json:"residence" v:"required,enum=lives_here|stays_sometimes|visits"`
	Name                     string `json:"name" v:"max=200"`
	Description              string `json:"description" v:"max=500"`
	DateOfBirth              Date   `json:"date_of_birth" v:"past"`
	Age                      int    `json:"age"`
	VictimOrPotentialVictim  string `json:"victim_or_potential_victim" v:"enum=yes|no|not_known"`
	ChildVictimInOwnRight    string `json:"child_victim_in_own_right" v:"enum=yes|no|not_known"`
	KnownToChildrensServices string `json:"known_to_childrens_services" v:"enum=yes|no|not_known"`
	ChildProtectionPlan      string `json:"child_protection_plan" v:"enum=yes|no|not_known"`
	AddedOn                  Date   `json:"added_on"`
	ConfirmedOn              Date   `json:"confirmed_on"`
	LeftOn                   Date   `json:"left_on"`
}

// IsChild reports whether the relation is a child's.
func (m HouseholdMember) IsChild() bool {
	return m.Relation == "own_child" || m.Relation == "step_child" || m.Relation == "other_child"
}

// OnListOn reports whether the member is on the household list on day: not
// added after it, and not left on or before it. A member with no added_on
// has always been on it; an empty day is any day (the member has not left).
func (m HouseholdMember) OnListOn(day Date) bool {
	if day == "" {
		return m.LeftOn == ""
	}
	return (m.AddedOn == "" || m.AddedOn <= day) && (m.LeftOn == "" || m.LeftOn > day)
}

// label names the member in a message: the name, or the description when
// the name is not known.
func (m HouseholdMember) label() string {
	if m.Name != "" {
		return m.Name
	}
	if m.Description != "" {
		return m.Description
	}
	return "a child"
}

// IsPartner reports whether the member is a current partner.
func (m HouseholdMember) IsPartner() bool { return m.Relation == "partner" }

// HouseholdConfirmMonths is how recent a household's confirmation must be
// for measure 5: as_of no later than this many months after it
// (policy.MonthsAfter; docs/compliance.md, measure 5).
const HouseholdConfirmMonths = 3

// Validate checks the rules across fields.
func (m HouseholdMember) Validate() error {
	if m.Name == "" && m.Description == "" {
		return Errorf(ECodeRequired, "name", "give a name, or a description when the name is not known")
	}
	return nil
}
