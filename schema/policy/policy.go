// Package policy is Doorstep's visit policy: rules, kept as data, that turn
// one case's records into the home visits it is owed (requirements), each with
// its due date, its status and the rule version that produced it.
//
// The same code runs on the tablet, offline, to show what is due and overdue,
// and on the server, for the supervisors' compliance measures, so that both
// compute the same dates from the same records. It is pure: it reads only the
// bytes and values it is given, and "today" is always a parameter.
// docs/visit-policy.md describes the rule format, the defaults and the
// statuses.
package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"doorstep/schema"
)

// Trigger is the kind of event that starts a requirement's clock.
type Trigger string

const (
	TriggerSupervisionStart Trigger = "supervision_start" // Case.SupervisionStart
	TriggerNewAddress       Trigger = "new_address"       // Case.AddressSince after the start
	TriggerNewPartner       Trigger = "new_partner"       // a partner added to the household after the start
	TriggerNewChild         Trigger = "new_child"         // a child added to the household after the start
	TriggerPoliceCallout    Trigger = "police_callout"    // a police enquiry found domestic-abuse call-outs, or an Event
	TriggerRiskEscalation   Trigger = "risk_escalation"   // an Event only
	TriggerRelease          Trigger = "release"           // an Event only: release from custody
)

// Triggers lists every trigger, in the order the docs give them.
var Triggers = []Trigger{TriggerSupervisionStart, TriggerNewAddress, TriggerNewPartner, TriggerNewChild,
	TriggerPoliceCallout, TriggerRiskEscalation, TriggerRelease}

// Valid reports whether t is a known trigger.
func (t Trigger) Valid() bool { return slices.Contains(Triggers, t) }

// HomeVisitTypes are the visit types a rule counts when it does not say
// otherwise; a rule with doorstep_counts also counts "doorstep".
var HomeVisitTypes = []string{"home_announced", "home_unannounced", "initial_home"}

// Limits a rule document must keep within.
const (
	MaxRules   = 1000
	MaxDays    = 3660 // ten years: a deadline or an interval longer than this is a typo
	maxIDLen   = 64
	maxNameLen = 200
)

// Policy is a validated set of visit rules. Build one with Parse or Default;
// a Policy is not changed after that, so one value may serve many goroutines.
type Policy struct {
	// Version names this edition of the rules ("2026-11-23.1"); every
	// requirement carries it, so a due date can be traced to the rules that
	// set it.
	Version string `json:"version"`
	Rules   []Rule `json:"rules"`
	// EnquiryWithinDays is how many days after the start of supervision a
	// police or children's-services enquiry may be answered and still count
	// in the inspection's view of measure 4 (docs/compliance.md). nil means
	// DefaultEnquiryWithinDays; the key is optional, so a document without
	// it reads on a tablet of any version. EnquiryDays gives the value.
	EnquiryWithinDays *int `json:"enquiry_within_days,omitempty"`
	// Review says what needs a manager's review (review.go); nil means
	// DefaultReviewRules. Optional, like EnquiryWithinDays; ReviewRules
	// gives the value.
	Review *ReviewRules `json:"review,omitempty"`
	// Targets are the measures' targets and RAG thresholds (targets.go);
	// nil means DefaultTargets. Optional, like EnquiryWithinDays;
	// TargetRules gives the value.
	Targets *Targets `json:"targets,omitempty"`
	// OfflineLeaseDays is how long a tablet may work without reaching the
	// server; OfflineGraceDays how long after that it destroys its keys
	// (lease.go). nil means the defaults; read by the server only, and
	// left out of what tablets receive (ForTablets).
	OfflineLeaseDays *int `json:"offline_lease_days,omitempty"`
	OfflineGraceDays *int `json:"offline_grace_days,omitempty"`
}

// DefaultEnquiryWithinDays is EnquiryWithinDays when the document does
// not set it: Doorstep's own starting point (docs/visit-policy.md), like
// the recurrence intervals, not a published figure.
const DefaultEnquiryWithinDays = 15

// EnquiryDays returns EnquiryWithinDays, or its default.
func (p *Policy) EnquiryDays() int {
	if p.EnquiryWithinDays == nil {
		return DefaultEnquiryWithinDays
	}
	return *p.EnquiryWithinDays
}

// Rule is one visit rule.
type Rule struct {
	ID        string     `json:"id"` // stable snake_case; requirements and exemptions refer to it
	Name      string     `json:"name"`
	AppliesTo Conditions `json:"applies_to"`
	Trigger   Trigger    `json:"trigger"`
	// DueWithinDays is the deadline: the visit is due on the trigger date
	// plus this many days (0: the same day).
	DueWithinDays int `json:"due_within_days"`
	// RecurrenceDays, when above 0, makes the rule repeat: after each visit
	// that meets it, the next visit is due this many days later.
	RecurrenceDays int  `json:"recurrence_days"`
	DoorstepCounts bool `json:"doorstep_counts"`
	// CountsTypes lists the visit types that meet the rule. Empty means
	// HomeVisitTypes, plus "doorstep" when DoorstepCounts.
	CountsTypes []string `json:"counts_types,omitempty"`
}

// Conditions say which cases a rule applies to. Each list, when not empty,
// must match: RoSH holds the case's RoSH level, Flags at least one flag live
// on the trigger date, SentenceTypes the case's sentence type. No conditions
// at all means every case.
type Conditions struct {
	RoSH          []string `json:"rosh,omitempty"`
	Flags         []string `json:"flags,omitempty"`
	SentenceTypes []string `json:"sentence_types,omitempty"`
}

// Counts returns the visit types that meet r.
func (r Rule) Counts() []string {
	if len(r.CountsTypes) > 0 {
		return r.CountsTypes
	}
	if r.DoorstepCounts {
		return append(slices.Clone(HomeVisitTypes), "doorstep")
	}
	return slices.Clone(HomeVisitTypes)
}

// Rule returns the rule with the given id.
func (p *Policy) Rule(id string) (Rule, bool) {
	for _, r := range p.Rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

//go:embed default-rules.json
var defaultRules []byte

// DefaultRules returns the embedded default rule document, as an admin
// would start from it.
func DefaultRules() []byte { return slices.Clone(defaultRules) }

// Default returns the default policy (default-rules.json). Each call returns
// a fresh value.
func Default() *Policy {
	p, err := Parse(defaultRules)
	if err != nil {
		panic("policy: the embedded default-rules.json is invalid: " + err.Error())
	}
	return p
}

// The allowed values come from the schema's own enums, so a new RoSH level,
// flag, sentence type or visit type is one edit in one place.
var (
	roshValues     = enumOf("case", "rosh")
	sentenceValues = enumOf("case", "sentence_type")
	flagValues     = enumOf("flag", "type")
	visitTypes     = enumOf("visit", "type")
	snakeCase      = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
)

func enumOf(entity, field string) []string {
	spec, ok := schema.Entity(entity)
	if !ok || spec.Fields[field] == nil || len(spec.Fields[field].Enum) == 0 {
		panic(fmt.Sprintf("policy: schema has no enum %s.%s", entity, field))
	}
	return spec.Fields[field].Enum
}

// Parse reads and validates a rule document. Unknown keys, trailing data,
// duplicate rule ids and unknown trigger, RoSH, flag, sentence or visit type
// values are refused. The error is a *schema.Error whose field is the path
// at fault ("rules[2].due_within_days") and whose message names the rule
// (`rule "first_visit_high": due_within_days must be 0 or more, not -3`).
func Parse(b []byte) (*Policy, error) {
	var doc struct {
		Version           *string           `json:"version"`
		Rules             []json.RawMessage `json:"rules"`
		EnquiryWithinDays *int              `json:"enquiry_within_days"`
		Review            json.RawMessage   `json:"review"`
		Targets           json.RawMessage   `json:"targets"`
		OfflineLeaseDays  *int              `json:"offline_lease_days"`
		OfflineGraceDays  *int              `json:"offline_grace_days"`
	}
	if err := strictDecode(b, &doc); err != nil {
		return nil, decodeError("", "the rule document", err)
	}
	if len(doc.Rules) > MaxRules {
		return nil, schema.Errorf(schema.ECodeInvalid, "rules", "a policy holds at most %d rules, not %d", MaxRules, len(doc.Rules))
	}
	p := &Policy{Rules: make([]Rule, 0, len(doc.Rules)), EnquiryWithinDays: doc.EnquiryWithinDays,
		OfflineLeaseDays: doc.OfflineLeaseDays, OfflineGraceDays: doc.OfflineGraceDays}
	if doc.Version != nil {
		p.Version = *doc.Version
	}
	if doc.Review != nil {
		p.Review = &ReviewRules{}
		if err := strictDecode(doc.Review, p.Review); err != nil {
			return nil, decodeError("review", "the review rules", err)
		}
	}
	if doc.Targets != nil {
		p.Targets = &Targets{}
		if err := strictDecode(doc.Targets, p.Targets); err != nil {
			return nil, decodeError("targets", "the targets", err)
		}
	}
	for i, raw := range doc.Rules {
		var r Rule
		if err := strictDecode(raw, &r); err != nil {
			return nil, decodeError(fmt.Sprintf("rules[%d]", i), ruleLabel(i, idOf(raw)), err)
		}
		// An empty list means the same as none; keep one spelling of it.
		for _, l := range []*[]string{&r.AppliesTo.RoSH, &r.AppliesTo.Flags, &r.AppliesTo.SentenceTypes, &r.CountsTypes} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		p.Rules = append(p.Rules, r)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Validate checks the whole policy; Parse calls it. A Policy built in Go
// should be validated before use.
func (p *Policy) Validate() error {
	v := strings.TrimSpace(p.Version)
	switch {
	case v == "":
		return schema.Errorf(schema.ECodeRequired, "version", "version is required: name this edition of the rules, like \"2026-11-23.1\"")
	case v != p.Version || len(v) > maxIDLen || !printable(v):
		return schema.Errorf(schema.ECodeInvalid, "version", "version must be at most %d printable characters without surrounding spaces, not %q", maxIDLen, p.Version)
	}
	if len(p.Rules) == 0 {
		return schema.Errorf(schema.ECodeRequired, "rules", "rules must hold at least one rule")
	}
	if d := p.EnquiryWithinDays; d != nil && (*d < 0 || *d > MaxDays) {
		return schema.Errorf(schema.ECodeInvalid, "enquiry_within_days", "enquiry_within_days must be from 0 to %d days, not %d", MaxDays, *d)
	}
	if d := p.OfflineLeaseDays; d != nil && (*d < 1 || *d > MaxLeaseDays) {
		return schema.Errorf(schema.ECodeInvalid, "offline_lease_days", "offline_lease_days must be from 1 to %d days, not %d", MaxLeaseDays, *d)
	}
	if d := p.OfflineGraceDays; d != nil && (*d < 1 || *d > MaxLeaseDays) {
		return schema.Errorf(schema.ECodeInvalid, "offline_grace_days", "offline_grace_days must be from 1 to %d days, not %d", MaxLeaseDays, *d)
	}
	if p.Review != nil {
		if err := p.Review.validate(); err != nil {
			return err
		}
	}
	if p.Targets != nil {
		if err := p.Targets.validate(); err != nil {
			return err
		}
	}
	seen := make(map[string]int, len(p.Rules))
	for i, r := range p.Rules {
		if err := r.validate(i); err != nil {
			return err
		}
		if j, dup := seen[r.ID]; dup {
			return schema.Errorf(schema.ECodeInvalid, fmt.Sprintf("rules[%d].id", i),
				"rule %q: id is used twice (rules %d and %d); each rule needs its own id", r.ID, j, i)
		}
		seen[r.ID] = i
	}
	return nil
}

func (r Rule) validate(i int) error {
	label := ruleLabel(i, r.ID)
	fail := func(code, field, format string, args ...any) error {
		return schema.Errorf(code, fmt.Sprintf("rules[%d].%s", i, field), "%s: %s", label, fmt.Sprintf(format, args...))
	}
	if err := checkIDAndName(r.ID, r.Name, "first_visit_high", fail); err != nil {
		return err
	}
	switch {
	case r.Trigger == "":
		return fail(schema.ECodeRequired, "trigger", "trigger is required: one of %s", joinTriggers())
	case !r.Trigger.Valid():
		return fail(schema.ECodeInvalid, "trigger", "trigger must be one of %s, not %q", joinTriggers(), r.Trigger)
	case r.DueWithinDays < 0:
		return fail(schema.ECodeInvalid, "due_within_days", "due_within_days must be 0 or more, not %d", r.DueWithinDays)
	case r.DueWithinDays > MaxDays:
		return fail(schema.ECodeInvalid, "due_within_days", "due_within_days must be at most %d, not %d", MaxDays, r.DueWithinDays)
	case r.RecurrenceDays < 0:
		return fail(schema.ECodeInvalid, "recurrence_days", "recurrence_days must be 0 (no recurrence) or more, not %d", r.RecurrenceDays)
	case r.RecurrenceDays > MaxDays:
		return fail(schema.ECodeInvalid, "recurrence_days", "recurrence_days must be at most %d, not %d", MaxDays, r.RecurrenceDays)
	}
	if err := checkValues(fail, []valueList{
		{"applies_to.rosh", r.AppliesTo.RoSH, roshValues},
		{"applies_to.flags", r.AppliesTo.Flags, flagValues},
		{"applies_to.sentence_types", r.AppliesTo.SentenceTypes, sentenceValues},
		{"counts_types", r.CountsTypes, visitTypes},
	}); err != nil {
		return err
	}
	for k, t := range r.CountsTypes {
		if !slices.Contains(HomeVisitTypes, t) && t != "doorstep" {
			return fail(schema.ECodeInvalid, fmt.Sprintf("counts_types[%d]", k),
				"counts_types cannot hold %q: a phone, video, office or other-place contact never meets a home-visit requirement", t)
		}
	}
	if len(r.CountsTypes) > 0 && slices.Contains(r.CountsTypes, "doorstep") != r.DoorstepCounts {
		if r.DoorstepCounts {
			return fail(schema.ECodeInvalid, "counts_types", "doorstep_counts is true but counts_types leaves out \"doorstep\"; add it, or leave counts_types out")
		}
		return fail(schema.ECodeInvalid, "counts_types", "counts_types holds \"doorstep\" but doorstep_counts is false; set doorstep_counts to true to let a doorstep contact meet this rule")
	}
	return nil
}

// failFunc makes a rule's error: the code, the field inside the rule, the
// message after the rule's label.
type failFunc func(code, field, format string, args ...any) error

// checkIDAndName checks a rule's id and name, as every kind of rule has
// them; example is an id to suggest.
func checkIDAndName(id, name, example string, fail failFunc) error {
	switch {
	case id == "":
		return fail(schema.ECodeRequired, "id", "id is required (a stable snake_case name like %q)", example)
	case len(id) > maxIDLen || !snakeCase.MatchString(id):
		return fail(schema.ECodeInvalid, "id", "id must be snake_case (lower-case letters, digits and single underscores, starting with a letter), at most %d characters", maxIDLen)
	case strings.TrimSpace(name) == "":
		return fail(schema.ECodeRequired, "name", "name is required")
	case utf8.RuneCountInString(name) > maxNameLen || !printable(name):
		return fail(schema.ECodeInvalid, "name", "name must be at most %d printable characters", maxNameLen)
	}
	return nil
}

// valueList is a rule's list of values and the values it may hold.
type valueList struct {
	field           string
	values, allowed []string
}

// checkValues refuses a value not allowed, or listed twice.
func checkValues(fail failFunc, lists []valueList) error {
	for _, c := range lists {
		for k, v := range c.values {
			if !slices.Contains(c.allowed, v) {
				return fail(schema.ECodeInvalid, fmt.Sprintf("%s[%d]", c.field, k), "%s must each be one of %s, not %q", c.field, strings.Join(c.allowed, ", "), v)
			}
			if slices.Index(c.values, v) != k {
				return fail(schema.ECodeInvalid, fmt.Sprintf("%s[%d]", c.field, k), "%s lists %q twice", c.field, v)
			}
		}
	}
	return nil
}

func joinTriggers() string {
	s := make([]string, len(Triggers))
	for i, t := range Triggers {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func ruleLabel(i int, id string) string {
	if id == "" || len(id) > maxIDLen || !printable(id) {
		return fmt.Sprintf("rule %d", i)
	}
	return fmt.Sprintf("rule %q", id)
}

// idOf digs the id out of a rule that did not decode, so the error can name
// it.
func idOf(raw json.RawMessage) string {
	var r struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &r)
	return r.ID
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty document")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// UnmarshalJSON refuses unknown keys, and says that an error is inside
// applies_to.
func (c *Conditions) UnmarshalJSON(b []byte) error {
	type plain Conditions
	var v plain
	if err := strictDecode(b, &v); err != nil {
		return &nestedError{"applies_to", err}
	}
	*c = Conditions(v)
	return nil
}

type nestedError struct {
	key string
	err error
}

func (e *nestedError) Error() string { return e.key + ": " + e.err.Error() }
func (e *nestedError) Unwrap() error { return e.err }

// decodeError turns a JSON decoding error into a *schema.Error naming the
// path and the key at fault. path is where the value sits in the document
// ("rules[2]"); label names it for a person ("rule \"first_visit_high\"").
func decodeError(path, label string, err error) error {
	key := ""
	var ne *nestedError
	if errors.As(err, &ne) {
		key, err = ne.key, ne.err
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, ".")
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		at := join(key, te.Field)
		return schema.Errorf(schema.ECodeWrongType, join(path, at), "%s: %s must be %s, not %s", label, orWhole(at), describe(te.Type.Kind().String()), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		at := join(key, strings.Trim(name, `"`))
		return schema.Errorf(schema.ECodeUnknownField, join(path, at), "%s: unknown key %q", label, at)
	}
	return schema.Errorf(schema.ECodeMalformed, join(path, key), "%s is not valid JSON: %v", label, err)
}

func orWhole(field string) string {
	if field == "" {
		return "the value"
	}
	return field
}

func describe(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64":
		return "a whole number"
	case "bool":
		return "true or false"
	case "slice":
		return "a list"
	case "struct", "map":
		return "an object"
	}
	return "a " + kind
}

// Tag names a rules document for the sync protocol (docs/sync-protocol.md
// §7.2): "r:" and 24 hex digits of a SHA-256 of the document as it is sent,
// compacted (whitespace between tokens does not change the rules, so it
// does not change the tag). Any server computes the same tag from the same
// document; a tablet holding the document under that tag needs nothing.
func Tag(doc []byte) string {
	sum := sha256.Sum256(Compact(doc))
	return "r:" + hex.EncodeToString(sum[:12])
}

// Compact returns doc without the whitespace between its JSON tokens, the
// form a pull sends; everything else (key order, numbers, escapes) is kept
// byte for byte. A document that is not JSON is returned as it is.
func Compact(doc []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, doc); err != nil {
		return slices.Clone(doc)
	}
	return b.Bytes()
}
