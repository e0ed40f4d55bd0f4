package officerapp

// How the app names another user: by the name and role the last pull
// brought (the people of the officer's team, supervisors included), so a
// decision reads "decided by Jo Bloggs (supervisor)" with no signal. A user
// the tablet does not know (another team's, or a server too old to send
// the list) is "another user (id …)", never a blank.

import (
	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
)

// roleWords says a role as the app shows it after a name.
var roleWords = map[schema.Role]string{
	schema.RoleOfficer:    "officer",
	schema.RoleSupervisor: "supervisor",
	schema.RoleAdmin:      "administrator",
	schema.RoleAuditor:    "auditor",
}

// personText names the user id: "Asha Khan (you)" for the signed-in
// officer, "Jo Bloggs (supervisor)" for someone the tablet knows, "another
// user (id …)" otherwise, and "" for no id.
func personText(id string, me schema.User, people map[string]schema.Person) string {
	if id == "" {
		return ""
	}
	if id == me.ID && me.Name != "" {
		return me.Name + " (you)"
	}
	p, ok := people[id]
	if !ok || p.Name == "" {
		return "another user (id " + id + ")"
	}
	if role := roleWords[p.Role]; role != "" {
		return p.Name + " (" + role + ")"
	}
	return p.Name
}

// peopleOf returns the people the tablet knows by id, read once per request.
// A failure to read them is logged and names no one: a page still shows,
// with ids.
func (w *webApp) peopleOf(c *fiber.Ctx) map[string]schema.Person {
	if m, ok := c.Locals("people").(map[string]schema.Person); ok {
		return m
	}
	m := map[string]schema.Person{}
	people, err := w.agent.People(c.UserContext())
	if err != nil {
		w.api.Logger().Warn("app: read the people list", "err", err)
	}
	for _, p := range people {
		m[p.ID] = p
	}
	c.Locals("people", m)
	return m
}

// personName names a user for the page being built (personText), and
// "someone" when there is no id.
func (w *webApp) personName(c *fiber.Ctx, id string) string {
	if id == "" {
		return "someone"
	}
	var me schema.User
	if s := sessionOf(c); s != nil {
		me = s.User
	}
	return personText(id, me, w.peopleOf(c))
}
