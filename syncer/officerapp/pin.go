package officerapp

// The PIN: a shorter secret than the password that unlocks the app offline
// (syncer.Agent.SetPIN, UnlockPIN). It is set on the sign-in form or on its
// own page, needs the password to set or change, and is turned off after
// syncer.MaxPINFailures wrong tries; the unlock page then says so and asks
// for the password.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/webui"
	"doorstep/schema"
	"doorstep/syncer"
)

const pathPIN = "/app/pin"

// pinHint says what a PIN must be.
var pinHint = fmt.Sprintf("%d to %d digits. Not one digit repeated, not digits in a row like 123456, not a short pattern like 121212.",
	syncer.MinPINLength, syncer.MaxPINLength)

// pinControls are the new-PIN fields of the sign-in form and the PIN page.
func pinControls(optional bool) []*control {
	label := "New PIN"
	if optional {
		label = "PIN for unlocking this tablet (optional)"
	}
	return []*control{
		{Name: "pin", Label: label, Hint: pinHint, Kind: "password", Autocomplete: "new-password", Numeric: true},
		{Name: "pin_confirm", Label: "The same PIN again", Kind: "password", Autocomplete: "new-password", Numeric: true},
	}
}

// checkNewPIN puts the errors of a new PIN and its confirmation on the form.
func checkNewPIN(f *formView, pin, confirm string) {
	if err := syncer.CheckPIN(pin); err != nil {
		f.addError("pin", pinMessage(err))
		return
	}
	if pin != confirm {
		f.addError("pin_confirm", "The two PINs are not the same. Type the same PIN in both boxes.")
	}
}

// pinMessage turns the agent's PIN error into a sentence for the officer.
func pinMessage(err error) string {
	e := schema.AsError(err)
	if e == nil {
		return "That PIN cannot be used."
	}
	if e.Code == schema.ECodeRequired {
		return fmt.Sprintf("Enter a PIN of %d to %d digits.", syncer.MinPINLength, syncer.MaxPINLength)
	}
	return capitalize(sentence(e.Message)) + " Choose another."
}

// POST /app/unlock/pin: offline, against the PIN's verifier.
func (w *webApp) unlockWithPIN(c *fiber.Ctx) error {
	form, err := formOf(c)
	if err != nil {
		return err
	}
	if err := webui.CheckSignIn(form, c.Cookies(signInCookie)); err != nil {
		return err
	}
	d := signInData{Mode: "unlock", Next: safeNext(form.Get("next"))}
	pin := strings.TrimSpace(form.Get("pin"))
	if pin == "" {
		d.PINForm.addError("pin", "Enter your PIN.")
		return w.renderSignIn(c, fiber.StatusUnprocessableEntity, d)
	}
	user, st, err := w.agent.UnlockPIN(c.UserContext(), pin)
	if isLeaseExpired(err) {
		return w.renderSignIn(c, fiber.StatusLocked, d) // the page says why
	}
	if err != nil {
		status := fiber.StatusUnauthorized
		switch schema.ErrorCode(err) {
		case schema.ECodeUnauthorized:
			d.PINForm.addError("pin", fmt.Sprintf("That PIN is not right. %s left before the PIN is turned off and only your password unlocks.",
				plural(st.Left, "try", "tries")))
		case schema.ECodeForbidden:
			status = fiber.StatusForbidden
			if us, err := w.agent.UnlockState(c.UserContext()); err != nil {
				return err
			} else if us.LockedOut {
				break // the page becomes the online sign-in, and says why
			}
			if st.Disabled {
				d.Form.addError("password", fmt.Sprintf("Your PIN was wrong %d times, so it is now turned off. Unlock with your password. You can set a new PIN after.",
					syncer.MaxPINFailures))
			} else if st.Set {
				// Set, and right, but it cannot open the sealed data (set
				// before the update sealed it, or its wrap is gone).
				d.Form.addError("password", schema.AsError(err).Message)
			} else {
				d.Form.addError("password", "No PIN is set on this tablet. Unlock with your password.")
			}
		default:
			return err
		}
		return w.renderSignIn(c, status, d)
	}
	return w.startSession(c, user, d.Next)
}

type pinPageData struct {
	State syncer.PINState
	Form  formView
	// RemoveForm asks for the password again to remove the PIN: whoever
	// finds the app unlocked must not be able to take it away.
	RemoveForm formView
}

// GET /app/pin: set, change or remove the PIN.
func (w *webApp) pinPage(c *fiber.Ctx) error { return w.renderPIN(c, fiber.StatusOK, pinPageData{}) }

func (w *webApp) renderPIN(c *fiber.Ctx, status int, d pinPageData) error {
	st, err := w.agent.PIN(c.UserContext())
	if err != nil {
		return err
	}
	d.State = st
	d.Form.Controls = append([]*control{{Name: "password", Label: "Your password", Hint: "To set or change a PIN, prove it is you.",
		Kind: "password", Autocomplete: "current-password"}}, pinControls(false)...)
	d.Form.attachErrors()
	d.RemoveForm.Controls = []*control{{Name: "remove_password", Label: "Your password", Hint: "To remove your PIN, prove it is you.",
		Kind: "password", Autocomplete: "current-password"}}
	d.RemoveForm.attachErrors()
	return w.render(c, status, "pin", view{Title: "Unlock PIN", Data: d})
}

// POST /app/pin: set or change the PIN.
func (w *webApp) savePIN(c *fiber.Ctx) error {
	form, err := formOf(c)
	if err != nil {
		return err
	}
	var d pinPageData
	password, pin, confirm := form.Get("password"), strings.TrimSpace(form.Get("pin")), strings.TrimSpace(form.Get("pin_confirm"))
	if password == "" {
		d.Form.addError("password", "Enter your password.")
	}
	checkNewPIN(&d.Form, pin, confirm)
	if len(d.Form.Errors) == 0 {
		err := w.agent.SetPIN(c.UserContext(), password, pin)
		switch code := schema.ErrorCode(err); {
		case err == nil:
			w.flash(c, flashSuccess, "Your PIN is set. Next time Doorstep locks, you can unlock it with the PIN or your password.")
			return redirect(c, pathPIN)
		case code == schema.ECodeUnauthorized || code == schema.ECodeRateLimited || code == schema.ECodeForbidden:
			if done, err := w.pinPasswordRefused(c, &d.Form, "password", err); done {
				return err
			}
		case code == schema.ECodeInvalid || code == schema.ECodeRequired:
			d.Form.addError("pin", pinMessage(err))
		default:
			return err
		}
	}
	return w.renderPIN(c, fiber.StatusUnprocessableEntity, d)
}

// POST /app/pin/remove: only the password unlocks from now on. The
// password proves who is removing it.
func (w *webApp) removePIN(c *fiber.Ctx) error {
	form, err := formOf(c)
	if err != nil {
		return err
	}
	var d pinPageData
	switch err := w.agent.ClearPIN(c.UserContext(), form.Get("remove_password")); schema.ErrorCode(err) {
	case "":
		w.flash(c, flashSuccess, "Your PIN is removed. Only your password unlocks Doorstep now.")
		return redirect(c, pathPIN)
	case schema.ECodeRequired:
		d.RemoveForm.addError("remove_password", "Enter your password to remove your PIN.")
	case schema.ECodeUnauthorized, schema.ECodeRateLimited, schema.ECodeForbidden:
		if done, err := w.pinPasswordRefused(c, &d.RemoveForm, "remove_password", err); done {
			return err
		}
	default:
		return err
	}
	return w.renderPIN(c, fiber.StatusUnprocessableEntity, d)
}

// pinPasswordRefused says on form, next to field, why the password sent to
// set or remove the PIN was refused. It counts as a wrong unlock
// (syncer.Agent.SetPIN): wrong, with the tries left and any wait; a try
// during a wait; or the lockout, which ends every session and goes to the
// sign-in page (done: the answer is made, or failed with err).
func (w *webApp) pinPasswordRefused(c *fiber.Ctx, form *formView, field string, refusal error) (done bool, err error) {
	st, err := w.agent.UnlockState(c.UserContext())
	if err != nil {
		return true, err
	}
	switch {
	case st.LockedOut || schema.ErrorCode(refusal) == schema.ECodeForbidden:
		w.api.EndSessions()
		return true, redirect(c, pathSignIn)
	case schema.ErrorCode(refusal) == schema.ECodeRateLimited:
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(st.WaitSeconds))
		form.addError(field, fmt.Sprintf("Too many wrong passwords. Wait %s, then try again. Your password was not checked. %s",
			syncer.WaitText(st.Wait), triesLeft(st)))
	default:
		msg := "The password is not right. " + triesLeft(st)
		if st.Wait > 0 {
			msg += " Wait " + syncer.WaitText(st.Wait) + " before the next try."
		}
		form.addError(field, msg)
	}
	return false, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
