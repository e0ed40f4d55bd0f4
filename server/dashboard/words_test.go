package dashboard

import (
	"strings"
	"testing"
	"time"

	"doorstep/schema"
)

// Every stored value the schema allows reads as words: no code with an
// underscore reaches a page, and the ones people write otherwise are
// written their way.
func TestLabelsAreWords(t *testing.T) {
	t.Parallel()
	for _, e := range schema.Entities() {
		for _, f := range e.Fields {
			for _, v := range f.Enum {
				if l := label(v); strings.Contains(l, "_") {
					t.Errorf("%s.%s: %q reads %q", e.Name, f.Name, v, l)
				}
			}
		}
	}
	for code, want := range map[string]string{
		"step_child": "step-child", "known_to_childrens_services": "known to children's services", "pre_sentence": "pre-sentence",
		"stays_sometimes": "stays sometimes", "ex_partner": "ex-partner", "very_high": "very high",
	} {
		if got := label(code); got != want {
			t.Errorf("label(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestUKDate(t *testing.T) {
	t.Parallel()
	for in, want := range map[schema.Date]string{"2026-12-04": "4 December 2026", "2024-02-29": "29 February 2024", "": "", "soon": "soon"} {
		if got := ukDate(in); got != want {
			t.Errorf("ukDate(%q) = %q, want %q", in, got, want)
		}
	}
}

// The overdue list names each person and their RoSH, with dates as people
// write them.
func TestDashboardOverdueNamesThePerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seedDashboard(t, e)
	rows := e.signedIn(t, "sue").csv("/dashboard/overdue.csv?" + period + "&table=overdue")
	if len(rows) < 2 {
		t.Fatalf("the overdue CSV has %d rows, want some overdue", len(rows))
	}
	if h := strings.Join(rows[0][:3], "|"); h != "CRN|Name|RoSH" {
		t.Errorf("headings %q", h)
	}
	for _, r := range rows[1:] {
		if (r[1] != "Sam Doe" && !strings.HasPrefix(r[1], "Case ")) || (r[2] != "high" && r[2] != "medium" && r[2] != "low" && r[2] != "very high") {
			t.Errorf("row %v: want the person's name and RoSH in words", r)
		}
		if due := r[8]; !strings.Contains(due, " 20") || strings.Contains(due, "-") {
			t.Errorf("due %q, want a date like 4 December 2026", due)
		}
	}
}

// A visit's page names the person and the day; its times read as people
// write them, to the minute, without seconds or their fractions.
func TestDashboardVisitReadsAsWords(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	p := e.signedIn(t, "sue").get("/dashboard/visits/" + e.visit)
	mustStatus(t, "visit", p, 200)
	at := e.clock.Now().Add(-72 * time.Hour).Truncate(time.Hour).UTC()
	mustContain(t, "visit page", p.body, "<h1>Visit to Sam Doe, "+at.Format("2 January 2006"), "<title>Visit to Sam Doe, ",
		at.Format("2 January 2006, 15:04"), "home visit (announced)", "no partner")
	for _, raw := range []string{at.Format("2006-01-02T"), "home_announced", "no_partner", ":00Z"} {
		if strings.Contains(p.body, ">"+raw) || strings.Contains(p.body, raw+"<") {
			t.Errorf("the visit page shows %q as stored", raw)
		}
	}
	for in, want := range map[string]string{"2026-12-04T14:02:59.123456789Z": "4 December 2026, 14:02",
		"2026-12-04T15:02:00+01:00": "4 December 2026, 15:02 (UTC+01:00)", "not a time": "not a time"} {
		if got := ukTime(in); got != want {
			t.Errorf("ukTime(%q) = %q, want %q", in, got, want)
		}
	}
}

// The period over a page and a case's facts read as dates people write.
func TestDashboardPeriodAndCaseDatesInWords(t *testing.T) {
	t.Parallel()
	e := newDashReviewEnv(t)
	sue := e.signedIn(t, "sue")
	p := sue.get("/dashboard/?" + period)
	mustStatus(t, "overview", p, 200)
	mustContain(t, "overview", p.body, "Period 1 September 2026 to 31 October 2026, records as they stood on 31 October 2026.")
	p = sue.get("/dashboard/cases/" + e.ashaCase)
	mustStatus(t, "case", p, 200)
	mustContain(t, "case facts", p.body, "<dd>2 January 1990</dd>", "supervision from 1 October 2026")
	if strings.Contains(p.body, "1990-01-02") {
		t.Error("the case page shows the date of birth as stored")
	}
}
