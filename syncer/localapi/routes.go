package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

func (api *API) routes() {
	app := api.app
	app.Use(api.guard, api.gate)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"ok": true}) })
	v1 := app.Group("/v1")
	v1.Get("/status", api.status)
	v1.Post("/login", api.login)
	v1.Post("/unlock", api.unlock)
	v1.Get("/unlock", api.unlockState)
	v1.Post("/lock", api.lock)
	v1.Post("/unlock/pin", api.unlockPIN)
	v1.Get("/pin", api.pinState)
	v1.Put("/pin", api.setPIN)
	v1.Delete("/pin", api.clearPIN)
	v1.Post("/sync", api.sync)
	v1.Get("/outbox", api.outbox)
	v1.Get("/outbox/log", api.outboxLog)
	v1.Post("/outbox/:mutation_id/discard", api.discardChange)
	v1.Post("/outbox/:mutation_id/retry", api.retryChange)
	v1.Get("/conflicts", api.conflicts)
	v1.Post("/conflicts/:id/keep-mine", api.keepMine)
	v1.Get("/people", api.people)
	v1.Get("/requirements", api.requirements)
	v1.Get("/records/:entity", api.listRecords)
	v1.Get("/records/:entity/:id", api.getRecord)
	v1.Post("/records/:entity", api.createRecord)
	v1.Patch("/records/:entity/:id", api.updateRecord)
	v1.Post("/visits/:id/sign", api.signVisit)
	v1.Post("/visits/:id/amend", api.amendVisit)
}

// decode reads a JSON body strictly into v: one object, no unknown
// members. Errors name the member at fault.
func decode(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return schema.Errorf(schema.ECodeMalformed, "", "the body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return schema.Errorf(schema.ECodeMalformed, "", "the body must be one JSON object, not %s", te.Value)
		case errors.As(err, &te):
			return schema.Errorf(schema.ECodeWrongType, te.Field, "%s must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return schema.Errorf(schema.ECodeUnknownField, name, "unknown member %q", name)
		}
		return schema.Errorf(schema.ECodeMalformed, "", "the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return schema.Errorf(schema.ECodeMalformed, "", "the body holds more than one JSON value")
	}
	return nil
}

// jsonKind says in words what JSON a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64, reflect.Uint16:
		return "a number"
	}
	return "a " + t.Kind().String()
}

// entityName accepts an entity's wire name ("household_member") or its
// collection path ("household-members").
func entityName(c *fiber.Ctx) (string, error) {
	name := c.Params("entity")
	if s, ok := schema.Entity(name); ok {
		return s.Name, nil
	}
	if s, ok := schema.EntityByPath(name); ok {
		return s.Name, nil
	}
	return "", schema.Errorf(schema.ECodeUnknownEntity, "entity", "there is no entity %q", name)
}

// Routes lists every route the server answers, the mounted app's included,
// as "METHOD /path/:param", from the router itself: what the test of the
// gate walks, so that no route escapes it.
func (api *API) Routes() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range api.app.GetRoutes(true) {
		k := r.Method + " " + r.Path
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
