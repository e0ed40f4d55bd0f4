package officerapp

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/syncer/localapi"
)

func TestAppInterventionReferral(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	mustContain(t, b.get("/app/cases/"+e.caseID), `id="add-referral"`, `href="/app/cases/`+e.caseID+`/referrals/new"`)

	now := e.clock.Now()
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }
	form := b.get("/app/cases/" + e.caseID + "/referrals/new")
	mustContain(t, form, "Add an intervention referral", `for="f-need"`, `for="f-identified_on"`, `value="`+day(0)+`"`,
		"<legend>Decision</legend>", `value="pending" checked`, "Not decided yet", `for="f-decision_reason"`,
		"<legend>Referral status</legend>", "Awaiting allocation", `for="f-status_on"`)
	path := "/app/cases/" + e.caseID + "/referrals"
	good := url.Values{"_csrf": {form.token(csrfRE)}, "need": {"Building Better Relationships"}, "identified_on": {day(-30)},
		"decision": {"refer"}, "status": {"awaiting_allocation"}, "status_on": {day(-20)}}
	mustRefuse(t, e, b, path, good, []formCase{
		{"no need", "need", "Enter the intervention needed.", []string{"need", " "}},
		{"a need too long", "need", "Intervention needed is 201 characters long", []string{"need", strings.Repeat("x", 201)}},
		{"no date identified", "identified_on", "Enter the date the need was identified.", []string{"identified_on", ""}},
		{"a date identified that does not exist", "identified_on", "Enter a real date, for example 31/03/2026.", []string{"identified_on", "2026-04-31"}},
		{"identified in the future", "identified_on", "The date is in the future", []string{"identified_on", day(3)}},
		{"no decision", "decision", "Choose the decision", []string{"decision", "\x00"}},
		{"a decision that is not one", "decision", "Choose one of the options.", []string{"decision", "maybe", "status", "", "status_on", ""}},
		{"not suitable without a reason", "decision_reason", "Give the reason the person is not being referred.", []string{"decision", "not_suitable", "status", "", "status_on", ""}},
		{"a status without a referral", "status", "A referral status applies only when the decision is to refer", []string{"decision", "pending"}},
		{"a status that is not one", "status", "Choose one of the options.", []string{"status", "lost"}},
		{"a status with no date", "status_on", "Enter the date the referral reached this status.", []string{"status_on", ""}},
		{"a status date with no status", "status", "Choose the referral&#39;s status, as there is a status date.", []string{"status", ""}},
		{"a status date before the need", "status_on", "The status date is before the need was identified", []string{"status_on", day(-31)}},
		{"a status date in the future", "status_on", "The status date is in the future", []string{"status_on", day(1)}},
		{"a status date that does not exist", "status_on", "Enter a real date", []string{"status_on", "31/03/2026"}},
	})

	before := e.outboxLen()
	p := b.post(path, good)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("add: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox %d -> %d, want one more", before, n)
	}
	recs, err := e.agent.List(context.Background(), "referral", e.caseID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("referrals: %d, %v", len(recs), err)
	}
	id := recs[0].ID
	if str(recs[0].Fields, "identified_by") != officer.ID || str(recs[0].Fields, "status") != "awaiting_allocation" {
		t.Fatalf("referral: %s", recs[0].Fields)
	}
	mustContain(t, p, "The referral for Building Better Relationships was added.",
		"Awaiting allocation since "+dateText(localapi.LocalDate(now.AddDate(0, 0, -20))), `href="/app/cases/`+e.caseID+`/referrals/`+id+`"`)

	// The status moves on: only the status and its date are sent.
	rp := b.get(path + "/" + id)
	mustContain(t, rp, "Change an intervention referral", `value="Building Better Relationships"`, `value="refer" checked`, `value="awaiting_allocation" checked`)
	p = b.post(path+"/"+id, with(good, "status", "on_programme", "status_on", day(-1)))
	mustContain(t, p, "The referral for Building Better Relationships was changed.", "On the programme since "+dateText(localapi.LocalDate(now.AddDate(0, 0, -1))))
	b.syncNow(t, p)
	pushed := e.peer.pushedOf(id)
	if len(pushed) != 2 || len(pushed[1]) != 2 || str(pushed[1], "status") != "on_programme" {
		t.Fatalf("pushed: %v", pushed)
	}

	// Not referred, with the reason.
	p = b.post(path, url.Values{"_csrf": {form.token(csrfRE)}, "need": {"Substance misuse"}, "identified_on": {day(-3)},
		"decision": {"not_available"}, "decision_reason": {"No programme in the area"}})
	mustContain(t, p, "Substance misuse</strong>: Identified "+dateText(localapi.LocalDate(now.AddDate(0, 0, -3)))+", not available")
}
