package policy_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// amend is an amendment of visit "v1" made at at, changing name to the
// JSON value.
func amend(id, at, name, value string) schema.Amendment {
	return schema.Amendment{ID: id, CaseID: "case-1", VisitID: "v1", Reason: "correction", AmendedBy: "u1",
		AmendedAt: schema.Timestamp(at), Changes: map[string]json.RawMessage{name: json.RawMessage(value)}}
}

func TestFactsOf(t *testing.T) {
	asOf := day(20)
	visit := homeVisit("v1", 5) // meets first_visit_medium (due day 42) unless amended away
	approved := schema.SafetyAssessment{ID: "s1", CaseID: "case-1", Address: "1 Test Street", AssessedOn: day(1),
		Decision: "approved", DecidedBy: "m1", DecidedOn: day(2)}
	notApproved := func(id string, assessed, decided schema.Date) schema.SafetyAssessment {
		return schema.SafetyAssessment{ID: id, CaseID: "case-1", Address: "1 Test Street", AssessedOn: assessed,
			Decision: "not_approved", DecisionReason: "dogs", DecidedBy: "m1", DecidedOn: decided}
	}
	tests := []struct {
		name    string
		records func(*policy.Records)
		// want: the first visit's type, outcome and status after FactsOf,
		// and whether the case is exempted.
		typ, outcome string
		met          bool
		exempted     bool
	}{
		{name: "no amendments", typ: "home_unannounced", outcome: "completed", met: true},
		{name: "amendments arriving out of order are applied in the order made", records: func(r *policy.Records) {
			r.Amendments = []schema.Amendment{
				amend("a2", "2026-01-08T09:00:00Z", "type", `"office"`),
				amend("a1", "2026-01-07T09:00:00Z", "type", `"doorstep"`),
			}
		}, typ: "office", outcome: "completed", met: false},
		{name: "UTC offsets: the instant orders, not the text", records: func(r *policy.Records) {
			// 10:00+01:00 is 09:00Z: made before 09:30Z, though its text
			// sorts after it.
			r.Amendments = []schema.Amendment{
				amend("a1", "2026-03-01T09:30:00Z", "type", `"home_announced"`),
				amend("a2", "2026-03-01T10:00:00+01:00", "type", `"office"`),
			}
		}, typ: "home_announced", outcome: "completed", met: true},
		{name: "the same instant: by id", records: func(r *policy.Records) {
			r.Amendments = []schema.Amendment{
				amend("b", "2026-03-01T10:00:00+01:00", "type", `"office"`),
				amend("a", "2026-03-01T09:00:00Z", "type", `"phone"`),
			}
		}, typ: "office", outcome: "completed", met: false},
		{name: "null clears a field", records: func(r *policy.Records) {
			r.Amendments = []schema.Amendment{amend("a1", "2026-01-07T09:00:00Z", "outcome", `null`)}
		}, typ: "home_unannounced", outcome: "", met: false},
		{name: "a later amendment sets a cleared field again", records: func(r *policy.Records) {
			r.Amendments = []schema.Amendment{
				amend("a2", "2026-01-08T09:00:00Z", "outcome", `"completed"`),
				amend("a1", "2026-01-07T09:00:00Z", "outcome", `null`),
			}
		}, typ: "home_unannounced", outcome: "completed", met: true},
		{name: "the signature is not amended", records: func(r *policy.Records) {
			r.Amendments = []schema.Amendment{amend("a1", "2026-01-07T09:00:00Z", "status", `"draft"`),
				amend("a2", "2026-01-07T09:00:00Z", "signed_at", `null`)}
		}, typ: "home_unannounced", outcome: "completed", met: true},
		{name: "an amendment of another visit", records: func(r *policy.Records) {
			a := amend("a1", "2026-01-07T09:00:00Z", "type", `"office"`)
			a.VisitID = "v2"
			r.Amendments = []schema.Amendment{a}
		}, typ: "home_unannounced", outcome: "completed", met: true},
		{name: "an unsigned visit is passed on but meets nothing", records: func(r *policy.Records) {
			r.Visits[0].Status, r.Visits[0].SignedAt = "draft", ""
		}, typ: "home_unannounced", outcome: "completed", met: false},
		{name: "the latest assessment did not approve home visits", records: func(r *policy.Records) {
			r.Visits = nil
			r.SafetyAssessments = []schema.SafetyAssessment{notApproved("s2", day(10), day(11)), approved}
		}, exempted: true},
		{name: "a later approval replaces a refusal", records: func(r *policy.Records) {
			r.Visits = nil
			later := approved
			later.ID, later.AssessedOn, later.DecidedOn = "s3", day(12), day(12)
			r.SafetyAssessments = []schema.SafetyAssessment{later, notApproved("s2", day(10), day(11))}
		}},
		{name: "an assessment of an address the case has left", records: func(r *policy.Records) {
			r.Visits = nil
			old := notApproved("s2", day(10), day(11))
			old.Address = "9 Old Road"
			r.SafetyAssessments = []schema.SafetyAssessment{approved, old}
		}},
		{name: "an assessment made after asOf is not known on asOf", records: func(r *policy.Records) {
			r.Visits = nil
			r.SafetyAssessments = []schema.SafetyAssessment{approved, notApproved("s2", day(21), day(21))}
		}},
		{name: "a decision made after asOf was pending on asOf", records: func(r *policy.Records) {
			r.Visits = nil
			r.SafetyAssessments = []schema.SafetyAssessment{approved, notApproved("s2", day(10), day(25))}
		}},
	}
	p := policy.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := policy.Records{Case: newCase("medium"), Visits: []schema.Visit{visit}}
			if tt.records != nil {
				tt.records(&r)
			}
			given := r.Visits
			if len(given) > 0 {
				given = append([]schema.Visit(nil), r.Visits...)
			}
			f := policy.FactsOf(r, asOf)
			if !reflect.DeepEqual(r.Visits, given) {
				t.Errorf("FactsOf changed the visits it was given: %+v", r.Visits)
			}
			if len(r.Visits) > 0 {
				if len(f.Visits) != len(r.Visits) {
					t.Fatalf("expected %d visits, got %d", len(r.Visits), len(f.Visits))
				}
				v := f.Visits[0]
				if v.Type != tt.typ || v.Outcome != tt.outcome || v.ID != "v1" || v.SignedAt != r.Visits[0].SignedAt || v.Status != r.Visits[0].Status {
					t.Errorf("expected the visit amended to type %q, outcome %q, signature kept; got %+v", tt.typ, tt.outcome, v)
				}
			}
			if got := len(f.Exemptions) > 0; got != tt.exempted {
				t.Errorf("expected exempted %v, got exemptions %+v", tt.exempted, f.Exemptions)
			}
			reqs := find(p.Requirements(f, asOf), "first_visit_medium") // the first, then its repeat when met
			if len(reqs) == 0 || reqs[0].Recurrence != 0 {
				t.Fatalf("expected first_visit_medium, got %s", show(reqs))
			}
			req := reqs[0]
			switch {
			case tt.met && (req.Status != policy.StatusMet || req.MetBy != "v1"):
				t.Errorf("expected met by v1, got %s", show([]policy.Requirement{req}))
			case !tt.met && tt.exempted && req.Status != policy.StatusExempted:
				t.Errorf("expected exempted, got %s", show([]policy.Requirement{req}))
			case !tt.met && !tt.exempted && req.Status != policy.StatusOpen:
				t.Errorf("expected open, got %s", show([]policy.Requirement{req}))
			}
		})
	}
}

func TestFactsOfSharesWhatItDoesNotChange(t *testing.T) {
	r := policy.Records{Case: newCase("high"), Visits: []schema.Visit{homeVisit("v1", 3)}, Flags: []schema.Flag{daFlag()}}
	f := policy.FactsOf(r, day(10))
	if &f.Visits[0] != &r.Visits[0] || &f.Flags[0] != &r.Flags[0] || f.Case != r.Case {
		t.Errorf("without amendments the visits and flags should be passed on as given")
	}
}

func TestAmendVisit(t *testing.T) {
	v := homeVisit("v1", 5)
	t.Run("a change of the wrong type is reported, the rest applied", func(t *testing.T) {
		a := amend("a1", "2026-01-07T09:00:00Z", "face_to_face", `"yes"`)
		a.Changes["outcome"] = json.RawMessage(`"no_answer"`)
		got, err := policy.AmendVisit(v, []schema.Amendment{a})
		if err == nil {
			t.Errorf("expected an error for face_to_face \"yes\"")
		}
		if got.Outcome != "no_answer" || got.FaceToFace || got.ID != "v1" || got.StartedAt != v.StartedAt {
			t.Errorf("expected the outcome amended and face_to_face empty, got %+v", got)
		}
	})
	t.Run("an unreadable amended_at comes first", func(t *testing.T) {
		got, err := policy.AmendVisit(v, []schema.Amendment{
			amend("a1", "2026-01-07T09:00:00Z", "location", `"doorstep"`),
			amend("a2", "yesterday", "location", `"elsewhere"`),
		})
		if err != nil || got.Location != "doorstep" {
			t.Errorf("expected location doorstep, got %q (%v)", got.Location, err)
		}
	})
	t.Run("the amendments given are not reordered", func(t *testing.T) {
		as := []schema.Amendment{amend("a2", "2026-01-08T09:00:00Z", "type", `"office"`), amend("a1", "2026-01-07T09:00:00Z", "type", `"phone"`)}
		if _, err := policy.AmendVisit(v, as); err != nil || as[0].ID != "a2" {
			t.Errorf("AmendVisit reordered its argument: %v %v", as[0].ID, err)
		}
	})
}
