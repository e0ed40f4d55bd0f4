package officerapp

// The offline lease in the officer's app (docs/officer-app.md "When the
// tablet has been offline too long"): once it has run out, every page but
// the sign-in page sends the officer there, and the sign-in page, online
// only, says why and what happens next.

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/syncer"
)

// leaseGate ends every session and sends the officer to the sign-in page
// when the lease has run out; it reports whether it did.
func (w *webApp) leaseGate(c *fiber.Ctx) (bool, error) {
	if _, err := w.agent.CheckLease(c.UserContext()); err == nil {
		return false, nil
	}
	w.api.EndSessions()
	if c.Method() != fiber.MethodGet && c.Get("X-Requested-With") == "doorstep" {
		// The autosave script: it keeps the form on screen.
		return true, c.Status(fiber.StatusLocked).JSON(fiber.Map{"locked": true, "lease_expired": true})
	}
	return true, redirect(c, pathSignIn)
}

// leaseNotice is what the sign-in page says once the lease has run out;
// "" while it lets the tablet be used.
func (w *webApp) leaseNotice(c *fiber.Ctx) (string, error) {
	ls, err := w.agent.CheckLease(c.UserContext())
	if err == nil {
		return "", nil
	}
	st, err := w.agent.Status(c.UserContext())
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if ls.State == syncer.LeaseShredded {
		fmt.Fprintf(&b, "Nobody signed in online on this tablet in time, so on %s it destroyed its keys: what it held cannot be read any more, even with your password. "+
			"Connect to the network and sign in online: your caseload comes back from the server, and changes not sent before are delivered then.", atText(ls.ShreddedAt))
		return b.String(), nil
	}
	b.WriteString("This tablet has been offline for longer than it may be")
	if !ls.ValidUntil.IsZero() {
		fmt.Fprintf(&b, " (its offline allowance ran out on %s)", atText(ls.ValidUntil))
	}
	b.WriteString(". Connect to the network and sign in online to carry on; your password or PIN alone cannot open it now.")
	if n := st.Pending + st.Rejected; n > 0 {
		fmt.Fprintf(&b, " Your %s kept on this tablet and will be sent as soon as it reaches the server.",
			plural(n, "unsent change is", "unsent changes are"))
	}
	if !ls.GraceUntil.IsZero() {
		fmt.Fprintf(&b, " If nobody signs in online by %s, the tablet destroys its keys: what it holds cannot be read any more, even with your password (changes not sent are still delivered at the next online sign-in).",
			atText(ls.GraceUntil))
	}
	return b.String(), nil
}

// isLeaseExpired reports whether err is the lease's refusal.
func isLeaseExpired(err error) bool { return schema.ErrorCode(err) == schema.ECodeLeaseExpired }
