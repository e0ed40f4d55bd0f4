package officerapp

// The installable app (issue 14): a web manifest, the icons it names, and a
// service worker that keeps the app's shell (stylesheet, script, icons,
// manifest, the offline page) and nothing else, so that the installed app
// opened while the agent is not running says so in plain words instead of
// showing a browser error. Pages are never kept: they show case data,
// which lives only in the tablet's store. The worker is served at
// /app/sw.js so that its scope is /app/ without a Service-Worker-Allowed
// header; the rest is under /app/static/, open like the stylesheet.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"doorstep/internal/webui"
	"doorstep/syncer/localapi"
)

// pathWorker is the service worker's address; its scope is /app/.
const pathWorker = "/app/sw.js"

// shell is what the worker keeps: every file the offline page needs, and
// only those. pathOffline is the page shown when the agent does not answer.
const pathOffline = "/app/static/offline.html"

var shell = []string{
	"/app/static/app.css",
	"/app/static/app.js",
	"/app/static/manifest.webmanifest",
	"/app/static/icon-192.png",
	"/app/static/icon-512.png",
	pathOffline,
}

// Icon colours: the header's near-black (the manifest's theme colour) and
// the focus ring's yellow, as in app.css.
var (
	iconDark   = color.NRGBA{0x0b, 0x0c, 0x0c, 0xff}
	iconYellow = color.NRGBA{0xff, 0xdd, 0x00, 0xff}
	iconLight  = color.NRGBA{0xf3, 0xf2, 0xf1, 0xff}
)

// drawIcon draws the app's icon at size×size: a yellow door on the dark
// header colour, with a light doorstep. Everything stays inside the middle
// circle of 80 % of the size, so the icon also serves where the system
// crops it ("maskable").
func drawIcon(size int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	f := func(v float64) int { return int(v*float64(size) + 0.5) }
	fill := func(x0, y0, x1, y1 float64, c color.NRGBA) {
		for y := f(y0); y < f(y1); y++ {
			for x := f(x0); x < f(x1); x++ {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	fill(0, 0, 1, 1, iconDark)
	fill(0.34, 0.24, 0.66, 0.78, iconYellow) // the door
	fill(0.30, 0.78, 0.70, 0.83, iconLight)  // the doorstep
	// The knob: a dark disc.
	cx, cy, r := 0.59*float64(size), 0.52*float64(size), 0.035*float64(size)
	for y := int(cy - r); y <= int(cy+r)+1; y++ {
		for x := int(cx - r); x <= int(cx+r)+1; x++ {
			if dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy; dx*dx+dy*dy <= r*r {
				img.SetNRGBA(x, y, iconDark)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("officerapp: encode icon: " + err.Error()) // cannot fail on an in-memory image
	}
	return b.Bytes()
}

// icons are the 192 and 512 pixel icons, drawn once per process.
var icons = sync.OnceValue(func() [2][]byte { return [2][]byte{drawIcon(192), drawIcon(512)} })

// addInstallable adds the icons to the static files and builds the worker's
// script, whose cache is named after a hash of the shell: a new binary with
// a changed stylesheet or page is a new worker, which replaces the old
// cache.
func addInstallable(static *webui.Static, tmpl []byte) []byte {
	static.Add("icon-192.png", icons()[0])
	static.Add("icon-512.png", icons()[1])
	h := sha256.New()
	h.Write(tmpl)
	for _, p := range shell {
		name := strings.TrimPrefix(p, "/app/static/")
		b := static.File(name)
		if b == nil {
			panic("officerapp: the shell names " + p + ", which is not a static file")
		}
		h.Write([]byte(name))
		h.Write(b)
	}
	list := `"` + strings.Join(shell, `", "`) + `"`
	return []byte(strings.NewReplacer(
		"__CACHE__", "doorstep-shell-"+hex.EncodeToString(h.Sum(nil))[:16],
		"__SHELL__", list,
		"__OFFLINE__", pathOffline,
	).Replace(string(tmpl)))
}

// serveWorker answers the service worker's script. It is the same for
// everyone and holds nothing of the caseload, so it needs no session; its
// scope is /app/ by its address.
func (w *webApp) serveWorker(c *fiber.Ctx) error {
	webui.SetHeaders(c, localapi.CSP)
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(w.worker)
}
