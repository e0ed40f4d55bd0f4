package schema_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"doorstep/schema"
)

// signable is a completed home visit that may be signed in any case.
func signable() schema.Visit {
	return schema.Visit{
		Type: "home_unannounced", Status: "signed", Outcome: "completed", Location: "home",
		StartedAt: "2026-11-20T14:02:11Z", PersonSeen: "yes",
		PartnerPresent: "yes", ChildrenPresent: "yes",
		Children: []schema.VisitChild{{MemberID: "m1", Present: "yes", Seen: "yes"}},
	}
}

func TestValidateForSigning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		edit        func(v *schema.Visit)
		da          bool
		code, field string
	}{
		{"complete DA home visit", func(v *schema.Visit) {}, true, "", ""},
		{"no type", func(v *schema.Visit) { v.Type = "" }, false, schema.ECodeRequired, "type"},
		{"no outcome", func(v *schema.Visit) { v.Outcome = "" }, false, schema.ECodeRequired, "outcome"},
		{"no start", func(v *schema.Visit) { v.StartedAt = "" }, false, schema.ECodeRequired, "started_at"},
		{"DA: partner blank", func(v *schema.Visit) { v.PartnerPresent = "" }, true, schema.ECodeRequired, "partner_present"},
		{"DA: children blank", func(v *schema.Visit) { v.ChildrenPresent = "" }, true, schema.ECodeRequired, "children_present"},
		{"DA: not known is an answer", func(v *schema.Visit) { v.PartnerPresent, v.ChildrenPresent = "not_known", "not_known" }, true, "", ""},
		{"DA: none is an answer", func(v *schema.Visit) {
			v.PartnerPresent, v.ChildrenPresent, v.Children = "no_partner", "no_children", nil
		}, true, "", ""},
		{"DA: doorstep counts as home", func(v *schema.Visit) { v.Type, v.Location, v.PartnerPresent = "doorstep", "doorstep", "" }, true, schema.ECodeRequired, "partner_present"},
		{"DA: initial home visit", func(v *schema.Visit) { v.Type, v.ChildrenPresent = "initial_home", "" }, true, schema.ECodeRequired, "children_present"},
		{"not DA: sections may be blank", func(v *schema.Visit) { v.PartnerPresent, v.ChildrenPresent = "", "" }, false, "", ""},
		{"DA: no answer needs no sections", func(v *schema.Visit) { v.Outcome, v.PartnerPresent, v.ChildrenPresent = "no_answer", "", "" }, true, "", ""},
		{"DA: office contact needs no sections", func(v *schema.Visit) { v.Type, v.Location, v.PartnerPresent, v.ChildrenPresent = "office", "", "", "" }, true, "", ""},
		{"child not seen needs a reason", func(v *schema.Visit) {
			v.Children = append(v.Children, schema.VisitChild{MemberID: "m2", Present: "yes", Seen: "no"})
		}, false, schema.ECodeRequired, "children[1].reason_not_seen"},
		{"a child not present needs no reason", func(v *schema.Visit) {
			v.Children = append(v.Children, schema.VisitChild{MemberID: "m2", Present: "no", Seen: "no"})
		}, false, "", ""},
		{"child not seen with a reason", func(v *schema.Visit) {
			v.Children[0].Seen, v.Children[0].ReasonNotSeen = "no", "at school"
		}, true, "", ""},
		{"concern needs action", func(v *schema.Visit) { v.Concern = true }, false, schema.ECodeRequired, "actions"},
		{"concern with action", func(v *schema.Visit) { v.Concern, v.Actions = true, []string{"police_informed"} }, false, "", ""},
		{"concern with the reason for no action", func(v *schema.Visit) { v.Concern, v.NoActionReason = true, "already known" }, false, "", ""},
		{"elsewhere needs a reason", func(v *schema.Visit) { v.Type, v.Location, v.PlaceType = "other_place", "elsewhere", "cafe" }, false, schema.ECodeRequired, "elsewhere_reason"},
		{"elsewhere with a reason", func(v *schema.Visit) {
			v.Type, v.Location, v.PlaceType, v.ElsewhereReason = "other_place", "elsewhere", "library", "asked not to meet at home"
		}, true, "", ""},
		{"not undertaken needs a reason", func(v *schema.Visit) { v.Outcome = "not_undertaken" }, false, schema.ECodeRequired, "outcome_reason"},
		{"not undertaken with a reason", func(v *schema.Visit) { v.Outcome, v.OutcomeReason = "not_undertaken", "officer unwell" }, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := signable()
			tt.edit(&v)
			wantErr(t, tt.name, v.ValidateForSigning(tt.da), tt.code, tt.field)
		})
	}
}

func TestAmendmentValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		changes     F
		code, field string
	}{
		{"valid change", F{"outcome": `"refused_entry"`, "outcome_reason": `"he refused entry"`}, "", ""},
		{"cannot change signed_at", F{"signed_at": `"2026-11-21T10:00:00Z"`}, schema.ECodeInvalid, "changes.signed_at"},
		{"cannot change signed_by", F{"signed_by": `"someone"`}, schema.ECodeInvalid, "changes.signed_by"},
		{"cannot change status", F{"status": `"draft"`}, schema.ECodeInvalid, "changes.status"},
		{"unknown visit field", F{"shoe": `1`}, schema.ECodeUnknownField, "changes.shoe"},
		{"bad enum", F{"partner_present": `"maybe"`}, schema.ECodeInvalid, "changes.partner_present"},
		{"wrong type", F{"face_to_face": `"yes"`}, schema.ECodeWrongType, "changes.face_to_face"},
		{"bad child entry", F{"children": `[{"present":"yes","seen":"yes"}]`}, schema.ECodeRequired, "changes.children[0].member_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := schema.Amendment{VisitID: "v1", Reason: "typo", Changes: tt.changes.raw(), AmendedBy: "u1", AmendedAt: "2026-11-21T10:00:00Z"}
			wantErr(t, tt.name, a.Validate(), tt.code, tt.field)
			// The entity's cross-field rules run Amendment.Validate too.
			fields := schema.FieldsOf(a)
			wantErr(t, tt.name+" (via the entity spec)", spec(t, "amendment").Validate("a1", "c1", fields), tt.code, tt.field)
		})
	}
	// An amendment is signed from birth.
	a := schema.Amendment{VisitID: "v1", Reason: "typo", Changes: map[string]json.RawMessage{"outcome": json.RawMessage(`"completed"`)}, AmendedBy: "u1", AmendedAt: "2026-11-21T10:00:00Z"}
	if !(schema.Record{Entity: "amendment", Fields: schema.FieldsOf(a)}).Signed() {
		t.Error("an amendment with amended_at: expected signed, got not signed")
	}
}

func TestIsHomeVisit(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"home_announced": true, "home_unannounced": true, "initial_home": true,
		"doorstep": false, "office": false, "phone": false, "video": false, "other_place": false, "": false,
	} {
		if got := schema.IsHomeVisit(typ); got != want {
			t.Errorf("IsHomeVisit(%q): expected %v, got %v", typ, want, got)
		}
	}
}

// TestChildrenAccountedFor is issue 9's defect 1: a domestic-abuse visit
// that leaves a child of the household list unaccounted for is not signed.
func TestChildrenAccountedFor(t *testing.T) {
	t.Parallel()
	household := []schema.HouseholdMember{
		{ID: "c1", Relation: "own_child", Residence: "lives_here", Name: "Ava Testchild", AddedOn: "2025-01-01"},
		{ID: "c2", Relation: "step_child", Residence: "stays_sometimes", Name: "Ben Testchild"},
		{ID: "c3", Relation: "other_child", Residence: "lives_here", Description: "baby, name not known", AddedOn: "2026-11-20"},
		{ID: "p1", Relation: "partner", Residence: "lives_here", Name: "Pat Partner"},
		{ID: "v1", Relation: "own_child", Residence: "visits", Name: "Visiting Child"},
		{ID: "l1", Relation: "own_child", Residence: "lives_here", Name: "Left Child", LeftOn: "2026-10-01"},
		{ID: "f1", Relation: "own_child", Residence: "lives_here", Name: "Later Child", AddedOn: "2026-11-21"},
	}
	all := func() schema.Visit {
		v := signable()
		v.Children = []schema.VisitChild{
			{MemberID: "c1", Present: "yes", Seen: "yes"},
			{MemberID: "c2", Present: "no"},
			{MemberID: "c3", Present: "yes", Seen: "no", ReasonNotSeen: "asleep upstairs"},
		}
		return v
	}
	type want struct{ code, field string }
	tests := []struct {
		name string
		edit func(v *schema.Visit)
		da   bool
		want []want
	}{
		{"every child accounted for", func(v *schema.Visit) {}, true, nil},
		{"the issue's visit: one of three, no reason", func(v *schema.Visit) {
			v.Children = []schema.VisitChild{{MemberID: "c1", Present: "yes", Seen: "yes"}}
		}, true, []want{{schema.ECodeRequired, "children"}, {schema.ECodeRequired, "children"}}},
		{"children null with children present", func(v *schema.Visit) { v.Children = nil }, true,
			[]want{{schema.ECodeRequired, "children"}, {schema.ECodeRequired, "children"}, {schema.ECodeRequired, "children"}}},
		{"present blank", func(v *schema.Visit) { v.Children[1].Present = "" }, true, []want{{schema.ECodeRequired, "children[1].present"}}},
		{"present, seen blank", func(v *schema.Visit) { v.Children[0].Seen = "" }, true, []want{{schema.ECodeRequired, "children[0].seen"}}},
		{"not seen, no reason", func(v *schema.Visit) { v.Children[2].ReasonNotSeen = "  " }, true, []want{{schema.ECodeRequired, "children[2].reason_not_seen"}}},
		{"every answer missing is named", func(v *schema.Visit) {
			v.Children[0].Seen, v.Children[1].Present, v.Children[2].ReasonNotSeen = "", "", ""
		}, true, []want{{schema.ECodeRequired, "children[0].seen"}, {schema.ECodeRequired, "children[1].present"}, {schema.ECodeRequired, "children[2].reason_not_seen"}}},
		{"not known is an answer", func(v *schema.Visit) { v.Children[1].Present = "not_known" }, true, nil},
		{"entries in another order", func(v *schema.Visit) { slices.Reverse(v.Children) }, true, nil},
		{"no children present answers for all", func(v *schema.Visit) { v.ChildrenPresent, v.Children = "no", nil }, true, nil},
		{"not known answers for all", func(v *schema.Visit) { v.ChildrenPresent, v.Children = "not_known", nil }, true, nil},
		{"no_children with children on the list", func(v *schema.Visit) { v.ChildrenPresent, v.Children = "no_children", nil }, true,
			[]want{{schema.ECodeInvalid, "children_present"}}},
		{"children_present blank", func(v *schema.Visit) { v.ChildrenPresent = "" }, true, []want{{schema.ECodeRequired, "children_present"}}},
		{"not a DA case", func(v *schema.Visit) { v.Children = nil }, false, nil},
		{"not completed", func(v *schema.Visit) { v.Outcome, v.Children = "no_answer", nil }, true, nil},
		{"office contact", func(v *schema.Visit) { v.Type, v.Location, v.Children = "office", "", nil }, true, nil},
		{"doorstep counts", func(v *schema.Visit) { v.Type, v.Location, v.Children = "doorstep", "doorstep", v.Children[:2] }, true,
			[]want{{schema.ECodeRequired, "children"}}},
		{"a child added after the visit day is not asked", func(v *schema.Visit) { v.StartedAt = "2026-11-20T23:30:00-01:00" }, true, nil},
		{"a child not yet added on the visit day", func(v *schema.Visit) { v.StartedAt, v.Children = "2026-11-19T10:00:00Z", v.Children[:2] }, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := all()
			tt.edit(&v)
			errs := schema.ChildrenAccountedFor(v, household, tt.da)
			if len(errs) != len(tt.want) {
				t.Fatalf("expected %d errors %v, got %d: %v", len(tt.want), tt.want, len(errs), errs)
			}
			for i, w := range tt.want {
				if errs[i].Code != w.code || errs[i].Field != w.field || errs[i].Message == "" {
					t.Errorf("error %d: expected %s on %q, got %v", i, w.code, w.field, errs[i])
				}
			}
		})
	}
	// A missing child is named, by name or description and member id.
	v := all()
	v.Children = v.Children[:1]
	errs := schema.ChildrenAccountedFor(v, household, true)
	if len(errs) != 2 || !strings.Contains(errs[0].Message, "Ben Testchild") || !strings.Contains(errs[0].Message, "c2") ||
		!strings.Contains(errs[1].Message, "baby, name not known") {
		t.Errorf("expected the missing children named, got %v", errs)
	}
}

// TestVisitChildDraft: a draft keeps a child's answers as far as they go
// (issue 9: an unanswered "seen" dropped the whole children block); only a
// value that is not an answer is refused.
func TestVisitChildDraft(t *testing.T) {
	t.Parallel()
	s := spec(t, "visit")
	for _, tt := range []struct {
		children    string
		code, field string
	}{
		{`[{"member_id":"c1","present":"yes","seen":"yes"},{"member_id":"c2","present":"no"},{"member_id":"c3","present":"yes","seen":"no"}]`, "", ""},
		{`[{"member_id":"c1"}]`, "", ""},
		{`[{"member_id":"c1","present":"maybe"}]`, schema.ECodeInvalid, "children[0].present"},
		{`[{"member_id":"c1","present":"yes","seen":"perhaps"}]`, schema.ECodeInvalid, "children[0].seen"},
	} {
		err := s.ValidateFields(F{"status": `"draft"`, "children": tt.children}.raw())
		wantErr(t, tt.children, err, tt.code, tt.field)
	}
}

// A visit's status and signed_at go together, for the tablet and the
// server alike: the visit spec's Validate holds them.
func TestVisitStatusAndSignature(t *testing.T) {
	t.Parallel()
	spec, _ := schema.Entity("visit")
	at := "2026-11-20T14:02:11Z"
	for _, c := range []struct {
		status, signedAt string
		bad              bool
	}{
		{"draft", "", false},
		{"signed", at, false},
		{"draft", at, true},
		{"cancelled", at, true},
		{"planned", at, true},
		{"signed", "", true},
	} {
		f := map[string]json.RawMessage{"status": json.RawMessage(`"` + c.status + `"`)}
		if c.signedAt != "" {
			f["signed_at"] = json.RawMessage(`"` + c.signedAt + `"`)
		}
		err := schema.AsError(spec.Validate(schema.NewID(), schema.NewID(), f))
		if c.bad != (err != nil) || (err != nil && (err.Field != "status" || err.Code != schema.ECodeInvalid)) {
			t.Errorf("status %q, signed_at %q: %v, want refused on status: %v", c.status, c.signedAt, err, c.bad)
		}
	}
}

// The signing mutation's field set is every field of the visit entity: an
// empty mutation misses them all, a whole one (blank values, or null)
// none, and the error names each missing field on "fields".
func TestMissingSigningFields(t *testing.T) {
	t.Parallel()
	spec, _ := schema.Entity("visit")
	want := slices.Sorted(slices.Values(spec.Order))
	if got := schema.MissingSigningFields(nil); !slices.Equal(got, want) {
		t.Errorf("missing from nothing = %v, want %v", got, want)
	}
	whole := schema.FieldsOf(schema.Visit{})
	if got := schema.MissingSigningFields(whole); got != nil {
		t.Errorf("missing from the whole visit = %v, want none", got)
	}
	if err := schema.CheckSigningFields(whole); err != nil {
		t.Errorf("whole visit: %v", err)
	}
	whole["children"] = json.RawMessage("null")
	delete(whole, "partner_concerns")
	delete(whole, "actions")
	if got := schema.MissingSigningFields(whole); !slices.Equal(got, []string{"actions", "partner_concerns"}) {
		t.Errorf("missing = %v, want [actions partner_concerns]", got)
	}
	e := schema.AsError(schema.CheckSigningFields(whole))
	if e == nil || e.Code != schema.ECodeRequired || e.Field != "fields" ||
		!strings.Contains(e.Message, "missing: actions, partner_concerns") {
		t.Errorf("CheckSigningFields = %+v, want required on fields naming actions, partner_concerns", e)
	}
}
