package schema_test

import (
	"encoding/json"
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
			v.Children = append(v.Children, schema.VisitChild{MemberID: "m2", Present: "no", Seen: "no"})
		}, false, schema.ECodeRequired, "children[1].reason_not_seen"},
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
