package webui

import "github.com/gofiber/fiber/v2"

// SetHeaders sets the headers every page of an app carries: its
// Content-Security-Policy csp; no content-type sniffing; the referrer sent
// to the app's own pages only (with no referrer at all, a browser sends
// "Origin: null" on the app's own form posts, which a cross-site guard
// cannot tell from a foreign page); and no caching, as pages show records.
func SetHeaders(c *fiber.Ctx, csp string) {
	c.Set("Content-Security-Policy", csp)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// Headers is middleware that sets SetHeaders' headers with csp.
func Headers(csp string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		SetHeaders(c, csp)
		return c.Next()
	}
}
