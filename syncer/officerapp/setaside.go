package officerapp

// What the officer can do on the conflicts page about what the server did
// not take (syncer.Agent.Discard, Retry, KeepMine), and the list of what
// was decided, with the content of each change, from the outbox log.

import (
	"encoding/json"
	"slices"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// decisionView is one logged decision, in words.
type decisionView struct {
	What, CaseName, Link, Decision, When, By string
	Values                                   []rowView
}

// decisionWords says what each decision did.
var decisionWords = map[string]string{
	"discarded": "Discarded: not sent; the tablet shows the server's value",
	"retried":   "Sent again as a new change",
	"kept_mine": "Kept your value: written again as a new change",
}

// maxDecisionsShown keeps the page short; the JSON API (/v1/outbox/log)
// has them all.
const maxDecisionsShown = 20

// decisions lists the outbox log, latest first.
func (w *webApp) decisions(c *fiber.Ctx, caseName func(string) string) ([]decisionView, error) {
	log, err := w.agent.OutboxLog(c.UserContext())
	if err != nil {
		return nil, err
	}
	now := w.api.Now()
	var out []decisionView
	for _, d := range slices.Backward(log) {
		if len(out) == maxDecisionsShown {
			break
		}
		dv := decisionView{What: entityText(d.Entity), CaseName: caseName(d.CaseID), Link: recordLink(d.Entity, d.RecordID, d.CaseID),
			Decision: decisionWords[d.Decision], When: clockText(d.DecidedAt, now), By: w.personName(c, d.DecidedBy)}
		var fields map[string]json.RawMessage
		json.Unmarshal(d.Fields, &fields)
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			dv.Values = append(dv.Values, rowView{Title: labelOf(d.Entity, k).label, Detail: shownValue(d.Entity, k, fields[k])})
		}
		out = append(out, dv)
	}
	return out, nil
}

// POST /app/outbox/:mid/discard
func (w *webApp) discardChange(c *fiber.Ctx) error {
	if err := w.agent.Discard(c.UserContext(), c.Params("mid")); err != nil {
		return err
	}
	w.flash(c, flashSuccess, "Discarded: that change will not be sent, and the tablet shows the server's value. What you tried is kept in the list of decisions below.")
	return redirect(c, pathConflicts)
}

// POST /app/outbox/:mid/retry
func (w *webApp) retryChange(c *fiber.Ctx) error {
	if _, err := w.agent.Retry(c.UserContext(), c.Params("mid"), nil); err != nil {
		if e := schema.AsError(err); e != nil && e.Code != schema.ECodeInternal {
			w.flash(c, flashError, "This change could not be sent again: "+sentence(e.Message)+" It is still set aside.")
			return redirect(c, pathConflicts)
		}
		return err
	}
	w.flash(c, flashSuccess, "Sent again: the change waits to be sent with the next sync. If the server refuses it again, it comes back here.")
	return redirect(c, pathConflicts)
}

// POST /app/conflicts/:cid/keep-mine
func (w *webApp) keepMine(c *fiber.Ctx) error {
	if _, err := w.agent.KeepMine(c.UserContext(), c.Params("cid")); err != nil {
		if e := schema.AsError(err); e != nil && e.Code != schema.ECodeInternal {
			w.flash(c, flashError, "Your value could not be written again: "+sentence(e.Message))
			return redirect(c, pathConflicts)
		}
		return err
	}
	w.flash(c, flashSuccess, "Done: your value is written again as a new change and goes to the server at the next sync.")
	return redirect(c, pathConflicts)
}
