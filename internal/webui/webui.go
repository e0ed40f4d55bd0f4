// Package webui is the browser-app scaffolding the two web apps share (the
// supervisors' dashboard, doorstep/server/dashboard, and the officer's app
// on the tablet, doorstep/syncer/officerapp): page templates parsed over a
// layout from an embedded file system, rendered with a status, and page
// handlers whose errors are answered by the app's error page; static files
// served from memory; the security headers every page carries, with the
// app's own Content-Security-Policy; random tokens, form parsing and the
// CSRF check; and an in-memory store of cookie sessions that lock when idle.
//
// It holds what is the same in both apps and nothing of either's policy:
// cookie names, paths and lifetimes, which pages exist, the CSP string and
// the error pages stay in each app, passed in here as parameters.
package webui

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"path"

	"github.com/gofiber/fiber/v2"
)

// Pages is a set of page templates, each parsed over the same layout.
type Pages struct {
	pages map[string]*template.Template
}

// MustParsePages parses each named page from dir/<name>.html together with
// dir/layout.html, with funcs. The templates are embedded in the binary, so
// an error is a programming error: it panics, as template.Must does.
func MustParsePages(fsys fs.FS, dir string, funcs template.FuncMap, names ...string) *Pages {
	p := &Pages{pages: make(map[string]*template.Template, len(names))}
	for _, name := range names {
		t := template.New(name).Funcs(funcs)
		template.Must(t.ParseFS(fsys, path.Join(dir, "layout.html"), path.Join(dir, name+".html")))
		p.pages[name] = t
	}
	return p
}

// Render executes page name's layout with data into a buffer and, only
// when that worked, answers it with status as HTML: a template that fails
// halfway sends nothing, so the caller can still answer with an error page.
func (p *Pages) Render(c *fiber.Ctx, status int, name string, data any) error {
	t := p.pages[name]
	if t == nil {
		return fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// WithErrorPage wraps a page handler so that its errors are answered by
// errorPage (the app's HTML error page), not by the server's error handler,
// which answers JSON.
func WithErrorPage(h fiber.Handler, errorPage func(*fiber.Ctx, error) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := h(c); err != nil {
			return errorPage(c, err)
		}
		return nil
	}
}
