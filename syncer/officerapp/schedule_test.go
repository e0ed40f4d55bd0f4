package officerapp

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

func TestAppScheduleAVisit(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	cp := b.get("/app/cases/" + e.caseID)
	// The planned visit from the server is listed with its link.
	mustContain(t, cp, "Planned visits", "Record this visit", `href="/app/cases/`+e.caseID+`/schedule"`)

	form := b.get("/app/cases/" + e.caseID + "/schedule")
	mustContain(t, form, "Schedule a visit", `for="f-planned_date"`, `type="date"`, `for="f-planned_time"`, `type="time"`,
		"<legend>Type of visit</legend>", "Home visit (unannounced)", "Video")
	token := form.token(csrfRE)
	now := e.clock.Now()
	tomorrow := now.AddDate(0, 0, 1).Format(time.DateOnly)
	good := url.Values{"_csrf": {token}, "planned_date": {tomorrow}, "planned_time": {"10:30"}, "planned_type": {"initial_home"}}
	set := func(kv ...string) url.Values {
		v := url.Values{}
		for k, x := range good {
			v[k] = append([]string(nil), x...)
		}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	before := e.outboxLen()
	refused := []struct {
		name, field, msg string
		form             url.Values
	}{
		{"a date that does not exist", "planned_date", "Enter a real date, for example 31/03/2026.", set("planned_date", "2026-02-30")},
		{"no date", "planned_date", "Enter the date of the visit.", set("planned_date", "")},
		{"a date in the past", "planned_date", "The date is in the past", set("planned_date", now.AddDate(0, 0, -1).Format(time.DateOnly))},
		{"a time already passed today", "planned_time", "That time has already passed", set("planned_date", now.Format(time.DateOnly), "planned_time", "00:00")},
		{"a time that is not one", "planned_time", "Enter a real time, for example 14:05.", set("planned_time", "25:61")},
		{"no type", "planned_type", "Choose the type of visit.", set("planned_type", "")},
		{"a type that is not one", "planned_type", "Choose one of the options.", set("planned_type", "pub")},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/app/cases/"+e.caseID+"/schedule", tc.form)
			if p.status != 422 {
				t.Fatalf("want 422, got %d at %s:\n%s", p.status, p.path, p.body)
			}
			id := controlID(tc.field)
			mustContain(t, p, `id="`+id+`-error"`, tc.msg, `href="#`+id+`"`, "There is a problem")
			block := p.body[strings.Index(p.body, `id="`+id+`-error"`):]
			if next := strings.Index(block, `class="field`); next >= 0 {
				block = block[:next]
			}
			if !strings.Contains(block, tc.msg) {
				t.Fatalf("the message is not next to %s", tc.field)
			}
			if n := e.outboxLen(); n != before {
				t.Fatalf("a refused schedule saved something: outbox %d -> %d", before, n)
			}
		})
	}

	p := b.post("/app/cases/"+e.caseID+"/schedule", good)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("schedule: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox %d -> %d, want one more", before, n)
	}
	recs, err := e.agent.List(context.Background(), "visit", e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, r := range recs {
		if r.Pending && str(r.Fields, "status") == "planned" {
			id = r.ID
			if str(r.Fields, "planned_type") != "initial_home" || str(r.Fields, "officer_id") != officer.ID {
				t.Fatalf("planned visit: %s", r.Fields)
			}
			want := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 30, 0, 0, now.Location()).Format(time.RFC3339)
			if got := str(r.Fields, "planned_at"); got != want {
				t.Fatalf("planned_at %s, want %s", got, want)
			}
		}
	}
	if id == "" {
		t.Fatal("no planned visit written")
	}
	when := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 30, 0, 0, now.Location()).Format("Mon 2 Jan 2006 at 15:04")
	mustContain(t, p, "Initial home visit planned for", "1 record with changes waiting to be sent", `href="/app/visits/`+id+`"`, when)
	// Listed under the planned visits, not the history.
	planned := p.body[strings.Index(p.body, `id="planned-visits"`):strings.Index(p.body, "Visit history")]
	if !strings.Contains(planned, id) || !strings.Contains(planned, "Initial home visit") {
		t.Fatalf("not listed as planned:\n%s", planned)
	}

	// "Record this visit" opens the visit form on it, its type prefilled.
	vp := b.get("/app/visits/" + id)
	mustContain(t, vp, "Record a visit", `value="initial_home" selected`)
	if !regexp.MustCompile(`name="started_at" type="datetime-local" value="[0-9T:-]+"`).MatchString(vp.body) {
		t.Fatalf("no start time prefilled:\n%s", vp.body)
	}
}

const safetyWarning = "No approved safety assessment for this address: check with your manager before you go"

func TestAppVisitWarnsWithoutAnApprovedSafetyAssessment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, address, decision string
		later                   string // a newer assessment of the same address, with this decision
		warn                    bool
	}{
		{"no assessment", "", "", "", true},
		{"awaiting the decision", "1 High St, Testtown, ZZ1 1AA", "pending", "", true},
		{"not approved", "1 High St, Testtown, ZZ1 1AA", "not_approved", "", true},
		{"approved for an earlier address", "9 Old Rd, Testtown", "approved", "", true},
		{"approved", "1 High St, Testtown, ZZ1 1AA", "approved", "", false},
		{"approved, then a newer one not approved", "1 High St, Testtown, ZZ1 1AA", "approved", "not_approved", true},
		{"not approved, then a newer one approved", "1 High St, Testtown, ZZ1 1AA", "not_approved", "approved", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startApp(t)
			if tc.address != "" {
				e.peer.records = append(e.peer.records, e.asServed([]schema.Record{{Entity: "safety_assessment", ID: schema.NewID(), CaseID: e.caseID,
					Fields: schema.FieldsOf(schema.SafetyAssessment{Address: tc.address, Dogs: "no", Weapons: "not_known",
						AssessedOn: "2026-01-12", Decision: tc.decision})}})...)
			}
			if tc.later != "" {
				e.peer.records = append(e.peer.records, e.asServed([]schema.Record{{Entity: "safety_assessment", ID: schema.NewID(), CaseID: e.caseID,
					Fields: schema.FieldsOf(schema.SafetyAssessment{Address: tc.address, Dogs: "yes", Weapons: "not_known",
						AssessedOn: "2026-02-12", Decision: tc.later})}})...)
			}
			b := e.browser()
			b.mustSignIn()
			recs, err := e.agent.List(context.Background(), "visit", e.caseID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("visits: %d, %v", len(recs), err)
			}
			// The planned unannounced home visit, opened with "Record this visit".
			vp := b.get("/app/visits/" + recs[0].ID)
			if got := strings.Contains(vp.body, safetyWarning); got != tc.warn {
				t.Fatalf("warning shown: %v, want %v:\n%s", got, tc.warn, vp.body)
			}
			if tc.warn && strings.Index(vp.body, safetyWarning) > strings.Index(vp.body, "<form method=\"post\" action=\"/app/visits/") {
				t.Fatal("the warning is not at the top of the form")
			}
			// An office visit needs no assessment.
			token := vp.token(csrfRE)
			p := b.post("/app/visits/"+recs[0].ID, url.Values{"_csrf": {token}, "type": {"office"}})
			mustNotContain(t, b.get(p.path), safetyWarning)
		})
	}
}
