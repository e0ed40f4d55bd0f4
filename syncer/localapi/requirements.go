package localapi

import (
	"cmp"

	"github.com/gofiber/fiber/v2"

	"doorstep/schema"
	"doorstep/schema/policy"
)

// requirementsAnswer is GET /v1/requirements: what the officer app shows as
// due, in data, with the rules it used.
type requirementsAnswer struct {
	AsOf         schema.Date          `json:"as_of"`
	RuleVersion  string               `json:"rule_version"`
	RulesSource  string               `json:"rules_source"`
	Requirements []policy.Requirement `json:"requirements"`
}

// requirements: GET /v1/requirements?as_of=YYYY-MM-DD: every requirement of
// every case on the tablet, computed as Today and the case page compute
// them (the same facts, the same rules), as of the given day (default the
// officer's local today). Closed cases are left out, as Today leaves them.
// For tools and for the test that holds the tablet's due dates to the
// server's.
func (api *API) requirements(c *fiber.Ctx) error {
	asOf := schema.Date(cmp.Or(c.Query("as_of"), string(LocalDate(api.cfg.Now()))))
	if asOf.Validate() != nil || asOf.Time().IsZero() {
		return schema.Errorf(schema.ECodeInvalid, "as_of", "as_of must be a date (YYYY-MM-DD), not %q", string(asOf))
	}
	ctx := c.UserContext()
	facts := NewPolicyFacts()
	var caseIDs []string
	for _, entity := range PolicyEntities {
		recs, err := api.agent.List(ctx, entity, "")
		if err != nil {
			return err
		}
		facts.Add(recs)
		if entity == "case" {
			for _, r := range recs {
				caseIDs = append(caseIDs, r.ID)
			}
		}
	}
	p, source := api.Policy()
	out := requirementsAnswer{AsOf: asOf, RuleVersion: p.Version, RulesSource: source, Requirements: []policy.Requirement{}}
	for _, id := range caseIDs {
		if f, ok := facts.Facts(id, asOf); ok && !f.Case.Closed {
			out.Requirements = append(out.Requirements, p.Requirements(f, asOf)...)
		}
	}
	return c.JSON(out)
}
