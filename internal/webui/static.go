package webui

import (
	"fmt"
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

// Static is an app's static files (stylesheets, scripts), read once into
// memory and served by their base name.
type Static struct {
	files map[string][]byte
}

// MustReadStatic reads every file under dir of fsys (an embedded file
// system: a failure is a programming error, so it panics).
func MustReadStatic(fsys fs.FS, dir string) *Static {
	s := &Static{files: map[string][]byte{}}
	err := fs.WalkDir(fsys, dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		s.files[path.Base(p)] = b
		return err
	})
	if err != nil {
		panic(fmt.Sprintf("webui: static files in %s: %v", dir, err))
	}
	return s
}

// Add serves b as name too: a file the app makes when it starts (an
// icon drawn in Go) rather than one embedded.
func (s *Static) Add(name string, b []byte) { s.files[name] = b }

// File is the file named name, nil when there is none.
func (s *Static) File(name string) []byte { return s.files[name] }

// types are the content types the mime package may not know.
var types = map[string]string{".webmanifest": "application/manifest+json"}

// Serve answers the file named by the route's :name parameter, with its
// content type from its extension. Browsers keep a copy but check it
// (no-cache), so a new binary's stylesheet is used at once.
func (s *Static) Serve(c *fiber.Ctx) error {
	name := c.Params("name")
	b, ok := s.files[name]
	if !ok {
		return c.Status(fiber.StatusNotFound).SendString("not found")
	}
	ct, ok := types[path.Ext(name)]
	if !ok {
		ct = mime.TypeByExtension(path.Ext(name))
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(b)
}
