package serverdb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"doorstep/schema"
)

// CaseHit is a case SearchCases found: what a person needs to tell two
// people apart.
type CaseHit struct {
	ID          string      `json:"id"`
	CRN         string      `json:"crn"`
	GivenName   string      `json:"given_name"`
	FamilyName  string      `json:"family_name"`
	DateOfBirth schema.Date `json:"date_of_birth"`
	OfficerID   string      `json:"officer_id"`
	RoSH        string      `json:"rosh"`
	Closed      bool        `json:"closed"`
}

// Search limits.
const (
	MinSearch = 2
	MaxSearch = 100
)

// SearchCases finds the cases of actor's scope (a supervisor's team;
// everything for an admin or auditor; an officer's own) by name or CRN:
// each word of q (case-insensitive) must be part of the given or family
// name, or the start of the CRN. Ordered by family name, given name, CRN.
// q is 2 to 100 characters (trimmed), else invalid (field q). It does not
// audit: the caller records the view with the ids shown.
func (db *DB) SearchCases(ctx context.Context, actor Actor, q string) ([]CaseHit, error) {
	q = strings.TrimSpace(q)
	if n := utf8.RuneCountInString(q); n < MinSearch || n > MaxSearch {
		return nil, schema.Errorf(schema.ECodeInvalid, "q", "search for %d to %d characters of a name or a CRN, not %d", MinSearch, MaxSearch, n)
	}
	if strings.IndexByte(q, 0) >= 0 {
		// PostgreSQL's text holds no NUL (decision 0048); no name does.
		return nil, schema.Errorf(schema.ECodeInvalid, "q", "a search holds no NUL character (\\u0000)")
	}
	cond, args, err := scopeFilter(actor, "id")
	if err != nil {
		return nil, err
	}
	escape := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	for _, w := range strings.Fields(q) {
		w = escape.Replace(w)
		cond += ` AND (lower(coalesce(` + db.eng.jsonText("fields", "given_name") + `, '') || ' ' || coalesce(` + db.eng.jsonText("fields", "family_name") + `, '')) LIKE ? ESCAPE '\'
			OR upper(coalesce(` + db.eng.jsonText("fields", "crn") + `, '')) LIKE ? ESCAPE '\')`
		args = append(args, "%"+strings.ToLower(w)+"%", strings.ToUpper(w)+"%")
	}
	out := []CaseHit{}
	err = db.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, coalesce(`+db.eng.jsonText("fields", "crn")+`, ''), coalesce(`+db.eng.jsonText("fields", "given_name")+`, ''),
			coalesce(`+db.eng.jsonText("fields", "family_name")+`, ''), coalesce(`+db.eng.jsonText("fields", "date_of_birth")+`, ''),
			coalesce(`+db.eng.jsonText("fields", "officer_id")+`, ''), coalesce(`+db.eng.jsonText("fields", "rosh")+`, ''), `+db.eng.jsonTrue("fields", "closed")+`
			FROM records WHERE entity = 'case' AND `+cond, args...)
		if err != nil {
			return fmt.Errorf("search cases: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var h CaseHit
			if err := rows.Scan(&h.ID, &h.CRN, &h.GivenName, &h.FamilyName, &h.DateOfBirth, &h.OfficerID, &h.RoSH, &h.Closed); err != nil {
				return fmt.Errorf("search cases: %w", err)
			}
			out = append(out, h)
		}
		return rows.Err()
	})
	slices.SortFunc(out, func(a, b CaseHit) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.FamilyName), strings.ToLower(b.FamilyName)),
			cmp.Compare(strings.ToLower(a.GivenName), strings.ToLower(b.GivenName)), cmp.Compare(a.CRN, b.CRN))
	})
	return out, err
}
