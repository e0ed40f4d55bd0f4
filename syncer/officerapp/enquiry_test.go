package officerapp

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"doorstep/syncer/localapi"
)

func TestAppSafeguardingEnquiry(t *testing.T) {
	t.Parallel()
	e := startApp(t)
	b := e.browser()
	b.mustSignIn()
	cp := b.get("/app/cases/" + e.caseID)
	mustContain(t, cp, `id="add-enquiry"`, `href="/app/cases/`+e.caseID+`/enquiries/new"`)

	form := b.get("/app/cases/" + e.caseID + "/enquiries/new")
	mustContain(t, form, "Add a safeguarding enquiry", "<legend>Agency</legend>", "Police (domestic-abuse call-outs)", "MARAC",
		"<legend>Stage</legend>", "Before sentence", `for="f-requested_on"`, `for="f-due_on"`, `for="f-answered_on"`,
		"<legend>Result</legend>", `for="f-not_requested_reason"`, `for="f-notes"`)
	now := e.clock.Now()
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.DateOnly) }
	path := "/app/cases/" + e.caseID + "/enquiries"
	good := url.Values{"_csrf": {form.token(csrfRE)}, "agency": {"police"}, "stage": {"pre_sentence"},
		"requested_on": {day(-10)}, "due_on": {day(4)}, "notes": {"Asked the DA unit by email"}}
	mustRefuse(t, e, b, path, good, []formCase{
		{"no agency", "agency", "Choose the agency the enquiry is to.", []string{"agency", "\x00"}},
		{"an agency that is not one", "agency", "Choose one of the options.", []string{"agency", "neighbours"}},
		{"no stage", "stage", "Choose the stage of the enquiry.", []string{"stage", ""}},
		{"a request date that does not exist", "requested_on", "Enter a real date, for example 31/03/2026.", []string{"requested_on", "2026-02-30"}},
		{"a request date that is not a date", "requested_on", "Enter a real date", []string{"requested_on", "last week"}},
		{"neither a request date nor a reason", "requested_on", "Enter the date the enquiry was requested, or say below why it was not requested.", []string{"requested_on", ""}},
		{"a request date in the future", "requested_on", "The request date is in the future", []string{"requested_on", day(1)}},
		{"a request date and a reason for none", "not_requested_reason", "leave the reason it was not requested empty", []string{"not_requested_reason", "Forgot"}},
		{"due before it was requested", "due_on", "The answer cannot be due before the enquiry was requested", []string{"due_on", day(-11)}},
		{"a due date that does not exist", "due_on", "Enter a real date", []string{"due_on", "2026-13-01"}},
		{"answered before it was requested", "answered_on", "The answer date is before the request date", []string{"answered_on", day(-12), "result", "no_information"}},
		{"answered but never requested", "answered_on", "An enquiry that was not requested cannot have been answered", []string{"requested_on", "", "not_requested_reason", "Sentenced same day", "answered_on", day(-1), "result", "no_information"}},
		{"answered in the future", "answered_on", "The answer date is in the future", []string{"answered_on", day(2), "result", "no_information"}},
		{"a result with no answer date", "answered_on", "Enter the date the answer came, as the enquiry has a result.", []string{"result", "no_information"}},
		{"answered with no result", "result", "Choose the result of the enquiry, as it was answered.", []string{"answered_on", day(-1)}},
		{"a result of another agency", "result", "That result does not answer an enquiry to the police", []string{"answered_on", day(-1), "result", "known_to_childrens_services"}},
		{"notes too long", "notes", "Notes is 4001 characters long", []string{"notes", strings.Repeat("n", 4001)}},
	})

	// Added: one change, listed with its status.
	before := e.outboxLen()
	p := b.post(path, good)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("add: %d at %s:\n%s", p.status, p.path, p.body)
	}
	if n := e.outboxLen(); n != before+1 {
		t.Fatalf("outbox %d -> %d, want one more", before, n)
	}
	recs, err := e.agent.List(context.Background(), "enquiry", e.caseID)
	if err != nil || len(recs) != 1 {
		t.Fatalf("enquiries: %d, %v", len(recs), err)
	}
	id := recs[0].ID
	if str(recs[0].Fields, "agency") != "police" || str(recs[0].Fields, "requested_on") != day(-10) || str(recs[0].Fields, "due_on") != day(4) {
		t.Fatalf("enquiry: %s", recs[0].Fields)
	}
	if _, ok := recs[0].Fields["answered_on"]; ok {
		t.Fatalf("an empty answer was written: %s", recs[0].Fields)
	}
	mustContain(t, p, "The enquiry to the police was added.", "Police (domestic-abuse call-outs) (before sentence)",
		"requested "+dateText(localapi.LocalDate(now.AddDate(0, 0, -10))), `href="/app/cases/`+e.caseID+`/enquiries/`+id+`"`)

	// Changed: the form opens with the answers; the change sends only what changed.
	ep := b.get(path + "/" + id)
	mustContain(t, ep, "Change a safeguarding enquiry", `value="police" checked`, `value="`+day(-10)+`"`, "Asked the DA unit by email")
	edit := with(good, "answered_on", day(-2), "result", "da_information_found", "notes", "")
	mustRefuse(t, e, b, path+"/"+id, edit, []formCase{
		{"a change answered before it was requested", "answered_on", "before the request date", []string{"answered_on", day(-20)}},
	})
	p = b.post(path+"/"+id, edit)
	if p.status != 200 || p.path != "/app/cases/"+e.caseID {
		t.Fatalf("change: %d at %s:\n%s", p.status, p.path, p.body)
	}
	mustContain(t, p, "The enquiry to the police was changed.", "answered "+dateText(localapi.LocalDate(now.AddDate(0, 0, -2)))+": Domestic-abuse information found")
	b.syncNow(t, p)
	pushed := e.peer.pushedOf(id)
	if len(pushed) != 2 {
		t.Fatalf("pushed %d mutations, want 2 (the add, then the change)", len(pushed))
	}
	if len(pushed[1]) != 3 || str(pushed[1], "result") != "da_information_found" || string(pushed[1]["notes"]) != "null" {
		t.Fatalf("the change sent %s, want answered_on, result and notes cleared", mustJSON(pushed[1]))
	}
	// Nothing changed: nothing queued.
	before = e.outboxLen()
	if p := b.post(path+"/"+id, edit); !strings.Contains(p.body, "Nothing changed.") || e.outboxLen() != before {
		t.Fatalf("an unchanged enquiry: outbox %d -> %d", before, e.outboxLen())
	}

	// Not requested, with the reason.
	p = b.post(path, url.Values{"_csrf": {form.token(csrfRE)}, "agency": {"childrens_services"}, "stage": {"initial_assessment"},
		"not_requested_reason": {"No children in contact"}})
	mustContain(t, p, "The enquiry to children&#39;s services was added.", "Children&#39;s services (initial assessment)</strong>: not requested")
	// Another case's enquiry is not found under this one.
	if p := b.get("/app/cases/" + e.plain + "/enquiries/" + id); p.status != 404 {
		t.Fatalf("an enquiry under another case: want 404, got %d", p.status)
	}
}
