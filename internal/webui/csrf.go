package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// CSRFField is the form field that carries a session's CSRF token.
const CSRFField = "_csrf"

// Token returns a new random token (32 bytes, in hex): a session id, a
// CSRF token, a sign-in form's double-submit token.
func Token() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TokensEqual reports whether a and b are the same non-empty token, in
// constant time.
func TokensEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Form parses the request's form body once per request (later calls get
// the same values). max bounds the body in bytes; 0 is no bound beyond
// the server's own.
func Form(c *fiber.Ctx, max int) (url.Values, error) {
	if f, ok := c.Locals("form").(url.Values); ok {
		return f, nil
	}
	if max > 0 && len(c.Body()) > max {
		return nil, schema.Errorf(schema.ECodeTooLarge, "", "the form is too large")
	}
	f, err := url.ParseQuery(string(c.Body()))
	if err != nil {
		return nil, schema.Errorf(schema.ECodeMalformed, "", "the form could not be read")
	}
	c.Locals("form", f)
	return f, nil
}

// CheckCSRF checks a request that may change something (anything but GET
// and HEAD) against the session's CSRF token want: the form's CSRFField,
// or, when header is not "" and the form has none, that request header
// (for an app's own script). A missing or wrong token is a forbidden error
// on CSRFField, which the apps' error pages answer with "This form has
// expired".
func CheckCSRF(c *fiber.Ctx, want, header string, maxForm int) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return nil
	}
	form, err := Form(c, maxForm)
	if err != nil {
		return err
	}
	tok := form.Get(CSRFField)
	if tok == "" && header != "" {
		tok = c.Get(header)
	}
	if !TokensEqual(tok, want) {
		return schema.Errorf(schema.ECodeForbidden, CSRFField, "the form's token does not match the session")
	}
	return nil
}

// PreField is the sign-in form's field that carries its double-submit
// token: a sign-in form has no session yet, so its token is also in a
// cookie, and the two must match.
const PreField = "_pre"

// CheckSignIn checks a sign-in form's double-submit token against the
// cookie's value; a mismatch is the same error as CheckCSRF's.
func CheckSignIn(form url.Values, cookie string) error {
	if !TokensEqual(form.Get(PreField), cookie) {
		return schema.Errorf(schema.ECodeForbidden, CSRFField, "the sign-in form's token does not match")
	}
	return nil
}

// IsCSRF reports whether err is CheckCSRF's or CheckSignIn's refusal.
func IsCSRF(err error) bool {
	e := schema.AsError(err)
	return e != nil && e.Code == schema.ECodeForbidden && e.Field == CSRFField
}
