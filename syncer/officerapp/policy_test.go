package officerapp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"doorstep/internal/testkit"
	"doorstep/schema"
	"doorstep/schema/policy"
	"doorstep/syncer/localapi"
)

// policyNow is the tablet's clock in TestAppTodayFollowsTheVisitPolicy:
// Monday 23 November 2026, mid-morning, in the tablet's own time zone.
var policyNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.Local)

// policyCase is one case of the table: its records on the server, and what
// Today and the case page must say about it.
type policyCase struct {
	name        string // given and family name, as on the card
	rosh, start string
	closed      bool
	extra       func(caseID string) []schema.Record
	today       []string // the card's texts; nil: not on Today
	casePage    []string // the case page's requirement texts, in this order
}

func TestAppTodayFollowsTheVisitPolicy(t *testing.T) {
	t.Parallel()
	p := policy.Default()
	rule := func(id string) string {
		r, ok := p.Rule(id)
		if !ok {
			t.Fatalf("no rule %s in the default policy", id)
		}
		return r.Name
	}
	visit := func(caseID string, v schema.Visit) schema.Record {
		if v.Status == "" {
			v.Status, v.SignedBy = "signed", officer.ID
			v.SignedAt = schema.Timestamp(strings.Replace(string(v.StartedAt), "T10:", "T11:", 1))
		}
		v.OfficerID = officer.ID
		return schema.Record{Entity: "visit", ID: schema.NewID(), CaseID: caseID, Fields: schema.FieldsOf(v)}
	}
	home := func(caseID, on, typ, outcome string) schema.Record {
		return visit(caseID, schema.Visit{Type: typ, Outcome: outcome, Location: "home", FaceToFace: true,
			PersonSeen: "yes", StartedAt: schema.Timestamp(on + "T10:00:00Z")})
	}
	officeVisitID := schema.NewID()

	// Today is Monday 23 November 2026. In the order Today must show them:
	cases := []policyCase{
		{name: "Dan Dial", rosh: "high", start: "2026-10-24",
			// A phone contact, however complete, is not a home visit; a
			// home visit with no answer is an attempt, not a visit.
			extra: func(id string) []schema.Record {
				return []schema.Record{
					visit(id, schema.Visit{Type: "phone", Outcome: "completed", PersonSeen: "yes", StartedAt: "2026-10-29T10:00:00Z"}),
					home(id, "2026-11-02", "home_unannounced", "no_answer"),
				}
			},
			today: []string{"15 days overdue", "(was due Sunday 8 November)", rule("first_visit_high"), "Supervision started 24 Oct 2026"},
			casePage: []string{"Missed: 15 days overdue", rule("first_visit_high"),
				"Supervision started 24 Oct 2026 · due 8 Nov 2026 · 1 attempt without access"}},
		{name: "Ann Abbot", rosh: "high", start: "2026-11-03",
			// High RoSH, domestic abuse, started 20 days ago, never visited;
			// a new partner three days ago.
			extra: func(id string) []schema.Record {
				return []schema.Record{
					{Entity: "flag", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.Flag{Type: "da_perpetrator", StartDate: "2026-11-03"})},
					{Entity: "household_member", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.HouseholdMember{
						Relation: "partner", Residence: "stays_sometimes", Name: "Kim Kay", AddedOn: "2026-11-20"})},
				}
			},
			today: []string{"5 days overdue", "(was due Wednesday 18 November)", rule("first_visit_high"), "Domestic abuse (perpetrator)"},
			casePage: []string{"Missed: 5 days overdue", rule("first_visit_high"), "Supervision started 3 Nov 2026 · due 18 Nov 2026",
				"Open: due in 7 days", rule("da_new_partner"), "New partner 20 Nov 2026 · due 30 Nov 2026"}},
		{name: "Eve Early", rosh: "low", start: "2026-08-31",
			today:    []string{"Due today", rule("first_visit_low")},
			casePage: []string{"Open: due today", "Supervision started 31 Aug 2026 · due 23 Nov 2026"}},
		{name: "Ed Friday", rosh: "medium", start: "2026-10-16",
			today:    []string{"Due Friday 27 November", rule("first_visit_medium")},
			casePage: []string{"Open: due in 4 days"}},
		{name: "Fay Planned", rosh: "low", start: "2026-11-01",
			extra: func(id string) []schema.Record {
				return []schema.Record{visit(id, schema.Visit{Status: "planned", PlannedType: "home_announced",
					PlannedAt: schema.TimestampOf(policyNow.Add(4 * time.Hour))})}
			},
			today: []string{"Due in 62 days", "(Sunday 24 January 2027)", "1 visit planned today"}},
		{name: "Cal Carter", rosh: "high", start: "2026-10-24",
			// Met by a signed home visit five days after the start: not
			// overdue; the next one is due six weeks after that visit.
			extra: func(id string) []schema.Record {
				return []schema.Record{home(id, "2026-10-29", "home_announced", "completed")}
			},
			today: []string{"Due in 17 days", "(Thursday 10 December)", rule("first_visit_high"), "Repeat 1, after the visit of 29 Oct 2026"},
			casePage: []string{"Open: due in 17 days", "Repeat 1, after the visit of 29 Oct 2026 · due 10 Dec 2026",
				"Earlier visits the policy asked for (1)", "Met on time by the visit of 29 Oct 2026", "Supervision started 24 Oct 2026 · due 8 Nov 2026",
				"View the visit of 29 Oct 2026"}},
		{name: "Hal Hughes", rosh: "high", start: "2026-10-01",
			// The manager did not approve home visits to this address.
			extra: func(id string) []schema.Record {
				return []schema.Record{{Entity: "safety_assessment", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.SafetyAssessment{
					Address: "1 Test Road, Testtown", AssessedOn: "2026-10-02", Decision: "not_approved",
					DecisionReason: "Dog and threats to staff", DecidedBy: "Mo Manager", DecidedOn: "2026-10-05"})}}
			},
			today: []string{"Home visits exempted", "Home visits not approved by the safety assessment of 2026-10-05: Dog and threats to staff"},
			casePage: []string{"Exempted: home visits not approved by the safety assessment of 2026-10-05: Dog and threats to staff",
				rule("first_visit_high")}},
		{name: "Ian Irwin", rosh: "high", start: "2026-10-01",
			// Recorded as an office visit by mistake, amended to the home
			// visit it was: the amendment counts, and it was late.
			extra: func(id string) []schema.Record {
				v := home(id, "2026-10-29", "office", "completed")
				v.ID = officeVisitID
				return []schema.Record{v, {Entity: "amendment", ID: schema.NewID(), CaseID: id, Fields: schema.FieldsOf(schema.Amendment{
					VisitID: officeVisitID, Reason: "It was a home visit", AmendedBy: officer.ID, AmendedAt: "2026-10-30T09:00:00Z",
					Changes: map[string]json.RawMessage{"type": json.RawMessage(`"home_unannounced"`)}})}}
			},
			today:    []string{"Due in 17 days", "(Thursday 10 December)"},
			casePage: []string{"Open: due in 17 days", "Met late by the visit of 29 Oct 2026, 13 days after it was due"}},
		{name: "Bea Brown", rosh: "medium", start: "2026-11-13",
			today:    []string{"Due in 32 days", "(Friday 25 December)", rule("first_visit_medium"), "Supervision started 13 Nov 2026"},
			casePage: []string{"Open: due in 32 days", rule("first_visit_medium"), "Supervision started 13 Nov 2026 · due 25 Dec 2026"}},
		{name: "Zed Closed", rosh: "high", start: "2026-11-10", closed: true,
			casePage: []string{"Cancelled: the case closed before this visit fell due", "due 25 Nov 2026"}},
	}

	e := &appEnv{t: t, clock: testkit.NewClock(policyNow)}
	var recs []schema.Record
	ids := map[string]string{}
	for i, c := range cases {
		id := schema.NewID()
		ids[c.name] = id
		given, family, _ := strings.Cut(c.name, " ")
		recs = append(recs, schema.Record{Entity: "case", ID: id, CaseID: id, Fields: schema.FieldsOf(schema.Case{
			CRN: "P" + strings.Repeat("0", 5) + string(rune('0'+i)), GivenName: given, FamilyName: family, DateOfBirth: "1990-01-02",
			Address: "1 Test Road, Testtown", OfficerID: officer.ID, TeamID: "team-1", SentenceType: "community_order",
			SupervisionStart: schema.Date(c.start), RoSH: c.rosh, Closed: c.closed})})
		if c.extra != nil {
			recs = append(recs, c.extra(id)...)
		}
	}
	e.peer = newAppPeer(t, e.clock, officer, e.asServed(recs))
	e.open(localapi.Config{})
	b := e.browser()
	today := b.mustSignIn()
	if strings.Contains(today.body, "arrives with the visit policy") {
		t.Fatal("Today still waits for the visit policy")
	}
	mustContain(t, today, "Monday 23 November 2026", "9 cases", `<a id="count-overdue" href="/app/today?due=overdue">2 with a home visit overdue</a>`,
		`<a id="count-week" href="/app/today?due=week">2 due this week</a>`, "1 visit planned today")

	// The order, and each card's texts, inside its own card.
	cards := strings.Split(today.body, `<li class="case-card`)[1:]
	var shown []string
	for _, c := range cases {
		if c.today != nil {
			shown = append(shown, c.name)
		}
	}
	if len(cards) != len(shown) {
		t.Fatalf("want %d cards (%v), got %d:\n%s", len(shown), shown, len(cards), today.body)
	}
	n := 0
	for _, c := range cases {
		if c.today == nil {
			if strings.Contains(today.body, c.name) {
				t.Errorf("%s is closed but on Today", c.name)
			}
			continue
		}
		t.Run("today/"+c.name, func(t *testing.T) {
			card := cards[n]
			if !strings.Contains(card, `<span class="case-name">`+c.name+`</span>`) {
				t.Fatalf("card %d: want %s (order %v), got:\n%s", n+1, c.name, shown, card)
			}
			for _, want := range c.today {
				if !strings.Contains(card, want) {
					t.Errorf("%s's card lacks %q:\n%s", c.name, want, card)
				}
			}
		})
		n++
	}
	// Said in words, not by colour alone: the overdue card says "overdue".
	if !strings.Contains(cards[0], `due-overdue`) || !strings.Contains(cards[0], `<strong class="due-when">15 days overdue</strong>`) {
		t.Errorf("the first card is not marked overdue in words:\n%s", cards[0])
	}

	// Search and filters: a GET form, so the query is the whole state; the
	// cases kept stay in Today's order, and the summary still counts all.
	filters := []struct {
		query string
		want  []string // the cards, in order; nil: none matches
	}{
		{"q=ann", []string{"Ann Abbot"}}, // a word's start: not Fay Planned
		{"q=bot", nil},
		{"q=ABBOT+ann", []string{"Ann Abbot"}},
		{"q=P000003", []string{"Ed Friday"}},
		{"q=test+road,&due=overdue", []string{"Dan Dial", "Ann Abbot"}},
		{"due=week", []string{"Eve Early", "Ed Friday"}},
		{"rosh=high", []string{"Dan Dial", "Ann Abbot", "Cal Carter", "Hal Hughes", "Ian Irwin"}},
		{"rosh=medium&due=week", []string{"Ed Friday"}},
		{"flag=da_perpetrator", []string{"Ann Abbot"}},
		{"q=nobody", nil},
		{"due=bogus&rosh=%3Cscript%3E", shown}, // not one of the choices: ignored
	}
	for _, f := range filters {
		t.Run("filter/"+f.query, func(t *testing.T) {
			pg := b.get("/app/today?" + f.query)
			if pg.status != 200 {
				t.Fatalf("status %d", pg.status)
			}
			var got []string
			for _, card := range strings.Split(pg.body, `<li class="case-card`)[1:] {
				name := card[strings.Index(card, `<span class="case-name">`)+len(`<span class="case-name">`):]
				got = append(got, name[:strings.Index(name, "<")])
			}
			if strings.Join(got, ", ") != strings.Join(f.want, ", ") {
				t.Errorf("want the cards %v, got %v", f.want, got)
			}
			mustContain(t, pg, "9 cases", `2 with a home visit overdue`, `<form class="today-filter" method="get" action="/app/today"`)
			if f.want == nil {
				mustContain(t, pg, "Showing 0 of 9 cases", "No case matches.")
			} else if len(f.want) < len(shown) {
				mustContain(t, pg, fmt.Sprintf("Showing %d of 9 cases", len(f.want)), "Show all cases")
			}
		})
	}
	mustContain(t, b.get("/app/today?q=ann+abbot&rosh=high"), `value="ann abbot"`, `<option value="high" selected>`)

	// The case page lists the visits the policy asks for, in order.
	for _, c := range cases {
		t.Run("case/"+c.name, func(t *testing.T) {
			pg := b.get("/app/cases/" + ids[c.name])
			mustContain(t, pg, "Visits the policy asks for", "rules version "+p.Version)
			sec := pg.body[strings.Index(pg.body, `id="h-policy"`):]
			sec = sec[:strings.Index(sec, "</section>")]
			at := 0
			for _, want := range c.casePage {
				i := strings.Index(sec[at:], want)
				if i < 0 {
					t.Fatalf("want %q (after the texts before it) in the requirements of %s:\n%s", want, c.name, sec)
				}
				at += i + len(want)
			}
			if c.name == "Dan Dial" && strings.Contains(sec, "Met ") {
				t.Errorf("a phone contact met a home-visit requirement:\n%s", sec)
			}
		})
	}
}
