package schema

import (
	"encoding/json"
	"slices"
	"strings"
)

// Visit is a contact with the person on probation: planned, then recorded,
// then signed. Once signed_at is set it is a legal record: never changed,
// only amended (see Amendment).
type Visit struct {
	ID               string       `json:"id"`
	CaseID           string       `json:"case_id"`
	OfficerID        string       `json:"officer_id" v:"max=64"`
	PlannedType      string       `json:"planned_type" v:"enum=home_announced|home_unannounced|initial_home|doorstep|office|phone|video|other_place"`
	PlannedAt        Timestamp    `json:"planned_at"`
	Type             string       `json:"type" v:"enum=home_announced|home_unannounced|initial_home|doorstep|office|phone|video|other_place"`
	Status           string       `json:"status" v:"required,enum=planned|draft|signed|cancelled"`
	Outcome          string       `json:"outcome" v:"enum=completed|no_answer|refused_entry|not_present|abandoned_safety|not_undertaken"`
	OutcomeReason    string       `json:"outcome_reason" v:"max=2000"`
	Location         string       `json:"location" v:"enum=home|doorstep|elsewhere"`
	PlaceType        string       `json:"place_type" v:"enum=cafe|library|office|community_venue|other"`
	ElsewhereReason  string       `json:"elsewhere_reason" v:"max=2000"`
	FaceToFace       bool         `json:"face_to_face"`
	StartedAt        Timestamp    `json:"started_at"`
	EndedAt          Timestamp    `json:"ended_at"`
	PersonSeen       string       `json:"person_seen" v:"enum=yes|no"`
	PartnerPresent   string       `json:"partner_present" v:"enum=yes|no|not_known|no_partner"`
	PartnerSeenAlone string       `json:"partner_seen_alone" v:"enum=yes|no"`
	PartnerConcerns  string       `json:"partner_concerns" v:"max=4000"`
	ChildrenPresent  string       `json:"children_present" v:"enum=yes|no|not_known|no_children"`
	Children         []VisitChild `json:"children"`
	OthersPresent    string       `json:"others_present" v:"max=2000"`
	Observations     []string     `json:"observations" v:"enum=poor_living_conditions|signs_of_injury|fear|controlling_behaviour|weapons|substance_misuse|new_adult_present|child_not_on_record|other"`
	ObservationNotes string       `json:"observation_notes" v:"max=8000"`
	Concern          bool         `json:"safeguarding_concern"`
	Actions          []string     `json:"actions" v:"enum=childrens_services_referral|police_informed|marac_referral|manager_informed|safety_plan_updated"`
	NoActionReason   string       `json:"no_action_reason" v:"max=2000"`
	ActionNotes      string       `json:"action_notes" v:"max=4000"`
	NextVisitOn      Date         `json:"next_visit_on"`
	SignedAt         Timestamp    `json:"signed_at"`
	SignedBy         string       `json:"signed_by" v:"by=signed_at,max=64"`
}

// CheckVisitStatus holds a visit's status to its signature, on the tablet
// and the server alike (EntitySpec.Validate runs it over every visit as it
// would be after a write): signed_at set means status "signed", and status
// "signed" means signed_at set. A visit is signed only by setting signed_at
// (the tablet's POST /v1/visits/:id/sign); "cancelled" or "draft" beside a
// signature, or a "signed" status with none, would be a record that says
// two things.
func CheckVisitStatus(status string, signedAt Timestamp) error {
	switch {
	case signedAt != "" && status != "signed":
		return Errorf(ECodeInvalid, "status", "the visit has signed_at, so its status is \"signed\", not %q", status)
	case signedAt == "" && status == "signed":
		return Errorf(ECodeInvalid, "status", "status \"signed\" without signed_at signs nothing: a visit is signed by setting signed_at")
	}
	return nil
}

// visitFieldRules is CheckVisitStatus read from a visit's fields, without
// decoding the whole record: it runs on every visit written.
func visitFieldRules(fields map[string]json.RawMessage) error {
	var status string
	var signedAt Timestamp
	_ = json.Unmarshal(fields["status"], &status) // types are ValidateFields' to check
	_ = json.Unmarshal(fields["signed_at"], &signedAt)
	return CheckVisitStatus(status, signedAt)
}

// VisitChild is what was seen of one child of the household at a visit.
type VisitChild struct {
	MemberID      string `json:"member_id"`
	Present       string `json:"present"` // yes, no, not_known; blank in a draft not yet answered
	Seen          string `json:"seen"`    // yes, no, when present; blank otherwise
	SpokenTo      string `json:"spoken_to,omitempty"`
	Concerns      string `json:"concerns,omitempty"`
	ReasonNotSeen string `json:"reason_not_seen,omitempty"`
}

// Validate checks one child entry.
func (c VisitChild) Validate() error {
	if c.MemberID == "" {
		return Errorf(ECodeRequired, "member_id", "member_id is required")
	}
	// A blank answer is allowed: a draft keeps what the officer has
	// answered so far, and signing asks for the rest
	// (ChildrenAccountedFor).
	if !oneOf(c.Present, "", "yes", "no", "not_known") {
		return Errorf(ECodeInvalid, "present", "present must be yes, no or not_known")
	}
	if !oneOf(c.Seen, "", "yes", "no") {
		return Errorf(ECodeInvalid, "seen", "seen must be yes or no")
	}
	if !oneOf(c.SpokenTo, "", "yes", "no") {
		return Errorf(ECodeInvalid, "spoken_to", "spoken_to must be yes or no")
	}
	if len(c.Concerns) > 2000 || len(c.ReasonNotSeen) > 2000 {
		return Errorf(ECodeInvalid, "concerns", "text is longer than 2000 characters")
	}
	return nil
}

func oneOf(v string, options ...string) bool {
	for _, o := range options {
		if v == o {
			return true
		}
	}
	return false
}

// IsHomeVisit reports whether t is a visit to the home (doorstep included).
func IsHomeVisit(t string) bool {
	return t == "home_announced" || t == "home_unannounced" || t == "initial_home"
}

// ValidateForSigning checks a visit about to be signed: the record a court may
// read must be complete. domesticAbuse says whether the case has a live
// domestic-abuse flag. In a domestic-abuse case a completed home visit needs
// the partner and children sections answered ("not known" is an answer; blank
// is not); children in the household left unseen need a reason, and a
// safeguarding concern needs an action or the reason for none.
func (v Visit) ValidateForSigning(domesticAbuse bool) error {
	if v.Type == "" {
		return Errorf(ECodeRequired, "type", "say what kind of contact took place")
	}
	if v.Outcome == "" {
		return Errorf(ECodeRequired, "outcome", "say what happened: completed, no answer, refused entry, ...")
	}
	if v.Outcome != "completed" && v.OutcomeReason == "" && v.Outcome == "not_undertaken" {
		return Errorf(ECodeRequired, "outcome_reason", "say why the visit was not undertaken")
	}
	if v.Location == "elsewhere" && v.ElsewhereReason == "" {
		return Errorf(ECodeRequired, "elsewhere_reason", "say why the contact happened away from the home")
	}
	if v.StartedAt == "" {
		return Errorf(ECodeRequired, "started_at", "started_at is required to sign")
	}
	completedHome := v.Outcome == "completed" && (IsHomeVisit(v.Type) || v.Type == "doorstep")
	if completedHome && domesticAbuse {
		if v.PartnerPresent == "" {
			return Errorf(ECodeRequired, "partner_present", "in a domestic-abuse case say whether a partner was present (or not known)")
		}
		if v.ChildrenPresent == "" {
			return Errorf(ECodeRequired, "children_present", "in a domestic-abuse case say whether children were present (or not known)")
		}
	}
	for i, c := range v.Children {
		// A child not present is not "not seen": the reason is asked of a
		// child who was there and was not seen.
		if c.Seen == "no" && c.ReasonNotSeen == "" && c.Present != "no" && c.Present != "not_known" {
			return Errorf(ECodeRequired, "children["+itoa(i)+"].reason_not_seen", "a child of the household was not seen: give the reason")
		}
	}
	if v.Concern && len(v.Actions) == 0 && v.NoActionReason == "" {
		return Errorf(ECodeRequired, "actions", "a safeguarding concern is ticked: record the action taken, or why none was")
	}
	return nil
}

// Day is the visit's date: the calendar date of started_at in the offset
// the device recorded it with (the officer's local day), or "" when
// started_at is not a timestamp.
func (v Visit) Day() Date {
	if _, err := v.StartedAt.Time(); err != nil {
		return ""
	}
	return Date(v.StartedAt[:len("2006-01-02")])
}

// ChildrenAccountedFor checks that a visit accounts for every child on the
// household list, as a signature needs in a domestic-abuse case: for a
// completed home (or doorstep) visit, each child living at the address or
// staying there sometimes on the visit's day (HouseholdMember.OnListOn), and
// born by then, is
// said to be present, not present or not known; a present child is said to
// be seen or not; a child present but not seen has the reason. "No children
// were present" and "not known" answer for every child at once. household
// may hold any members of the case; the others are ignored.
//
// It returns one error per missing answer, each naming its field
// (children_present, or children[i].present, .seen or .reason_not_seen,
// where i indexes Children; a child with no entry at all is named by the
// field "children" and its member id in the message), and nil when the
// rule holds or does not apply. The tablet refuses to sign a visit that
// fails it; the server keeps such a visit it receives and flags it to the
// supervisor (docs/review.md).
func ChildrenAccountedFor(v Visit, household []HouseholdMember, domesticAbuse bool) []*Error {
	completedHome := v.Outcome == "completed" && (IsHomeVisit(v.Type) || v.Type == "doorstep")
	if !domesticAbuse || !completedHome {
		return nil
	}
	if !slices.ContainsFunc(household, HouseholdMember.IsChild) {
		return nil
	}
	day := v.Day()
	var listed []HouseholdMember
	for _, m := range household {
		born := m.DateOfBirth == "" || day == "" || m.DateOfBirth <= day
		if m.IsChild() && (m.Residence == "lives_here" || m.Residence == "stays_sometimes") && m.OnListOn(day) && born {
			listed = append(listed, m)
		}
	}
	if len(listed) == 0 {
		return nil
	}
	switch v.ChildrenPresent {
	case "no", "not_known":
		return nil
	case "":
		return []*Error{Errorf(ECodeRequired, "children_present",
			"the household list has %s: say whether children were present (or not known)", childCount(len(listed)))}
	case "no_children":
		return []*Error{Errorf(ECodeInvalid, "children_present",
			"the household list has %s, so \"no children\" cannot be the answer: say whether they were present", childCount(len(listed)))}
	}
	var errs []*Error
	for _, m := range listed {
		i := slices.IndexFunc(v.Children, func(c VisitChild) bool { return c.MemberID == m.ID })
		if i < 0 {
			errs = append(errs, Errorf(ECodeRequired, "children",
				"%s (household member %s) is on the household list: say whether they were present", m.label(), m.ID))
			continue
		}
		c, p := v.Children[i], "children["+itoa(i)+"]."
		switch {
		case c.Present == "":
			errs = append(errs, Errorf(ECodeRequired, p+"present", "say whether %s was present (or not known)", m.label()))
		case c.Present != "yes":
		case c.Seen == "":
			errs = append(errs, Errorf(ECodeRequired, p+"seen", "%s was present: say whether they were seen", m.label()))
		case c.Seen == "no" && strings.TrimSpace(c.ReasonNotSeen) == "":
			errs = append(errs, Errorf(ECodeRequired, p+"reason_not_seen", "%s was present but not seen: give the reason", m.label()))
		}
	}
	return errs
}

// MissingSigningFields is the rule for the mutation that signs a visit
// (sets signed_at), on the tablet and the server alike
// (docs/sync-protocol.md §6 step 7): it carries the visit's whole field
// set as the officer saw it, every field of Visit but id and case_id, a
// blank one too ("", null, [] or false), so that what is signed is what
// the officer checked and not a merge with values the signer never saw.
// It returns the names of the fields the mutation's fields lack, sorted,
// or nil when it carries them all. A field the mutation carries with a
// JSON null counts as carried: it says the field is blank.
func MissingSigningFields(fields map[string]json.RawMessage) []string {
	var missing []string
	for name := range FieldsOf(Visit{}) {
		if _, ok := fields[name]; !ok {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	return missing
}

// CheckSigningFields is MissingSigningFields as an error: ECodeRequired,
// field "fields", naming every missing field; nil when none is missing.
func CheckSigningFields(fields map[string]json.RawMessage) error {
	missing := MissingSigningFields(fields)
	if len(missing) == 0 {
		return nil
	}
	return Errorf(ECodeRequired, "fields", "a mutation that signs a visit carries the visit's whole field set as the officer saw it; missing: %s", strings.Join(missing, ", "))
}

// SigningErrors is what the tablet checks before it signs: the first
// error of ValidateForSigning, then every missing answer of
// ChildrenAccountedFor, joined (JoinErrors) so that a form shows them all
// at once; nil when the visit may be signed.
func SigningErrors(v Visit, household []HouseholdMember, domesticAbuse bool) error {
	errs := ChildrenAccountedFor(v, household, domesticAbuse)
	if e := AsError(v.ValidateForSigning(domesticAbuse)); e != nil &&
		!slices.ContainsFunc(errs, func(c *Error) bool { return c.Field == e.Field }) {
		errs = append([]*Error{e}, errs...)
	}
	return JoinErrors(errs)
}

func childCount(n int) string {
	if n == 1 {
		return "1 child"
	}
	return itoa(n) + " children"
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// CheckAmends is the rule for the visit an amendment amends, on the tablet
// and the server alike: the writer's store holds it (found: a visit the
// writer may see; the server answers a visit out of scope as a missing
// one), it belongs to the amendment's case, and it is signed: an unsigned
// visit is changed directly, not amended. The field at fault is visit_id.
func CheckAmends(caseID, visitID string, found bool, visitCaseID string, signed bool) error {
	switch {
	case !found:
		return Errorf(ECodeNotFound, "visit_id", "no visit %s that you can see: an amendment amends a signed visit of its case", visitID)
	case visitCaseID != caseID:
		return Errorf(ECodeInvalid, "visit_id", "the visit belongs to another case than the amendment")
	case !signed:
		return Errorf(ECodeInvalid, "visit_id", "only a signed visit is amended; change the unsigned visit directly")
	}
	return nil
}

// Amendment corrects a signed visit: the original stays as signed, and the
// amendment says what changes, who, when and why. It is itself immutable.
type Amendment struct {
	ID        string                     `json:"id"`
	CaseID    string                     `json:"case_id"`
	VisitID   string                     `json:"visit_id" v:"required,max=64"`
	Reason    string                     `json:"reason" v:"required,max=2000"`
	Changes   map[string]json.RawMessage `json:"changes" v:"required"`
	AmendedBy string                     `json:"amended_by" v:"required,by,max=64"`
	AmendedAt Timestamp                  `json:"amended_at" v:"required"`
}

// Validate checks that the changes name real visit fields with valid values.
func (a Amendment) Validate() error {
	spec, _ := Entity("visit")
	for name := range a.Changes {
		if name == "signed_at" || name == "signed_by" || name == "status" {
			return Errorf(ECodeInvalid, "changes."+name, "an amendment cannot change %s", name)
		}
	}
	if err := spec.ValidateFields(a.Changes); err != nil {
		if e := AsError(err); e != nil {
			return Errorf(e.Code, "changes."+e.Field, "%s", e.Message)
		}
		return err
	}
	return nil
}
