package compliance

import (
	"bytes"

	"github.com/go-json-experiment/json"

	"doorstep/schema"
)

// decode is r.Decode(v) (schema.RawRecord.Decode) for the records Group
// reads, several times faster: every dashboard page decodes its cases'
// records afresh (decision 0051), and encoding/json's decoding was most of
// a page's cost (docs/performance.md, decision 0056).
//
// It decodes the stored fields with github.com/go-json-experiment/json
// and sets the record's id and case id (ids gives v's) itself, rather than
// splicing them into a copy of the fields. Stored fields are what the
// store wrote from a validated field map: known names, exact (ValidateFields
// refuses any other), each once, never id or case_id. Fields that are not
// so (a name unknown or in another case, a name twice, id or case_id among
// them) or that do not decode (malformed JSON, invalid UTF-8, a value of
// another type) are decoded again by r.Decode, whose answer and error are
// then authoritative: the fast path never gives another value nor hides an
// error (TestDecodeSameAsSchema).
func decode[T any](r schema.RawRecord, v *T, ids func(v *T) (id, caseID *string)) error {
	body := bytes.TrimSpace(r.Fields)
	if len(body) >= 2 && body[0] == '{' && json.Unmarshal(body, v, decodeOptions) == nil {
		if id, caseID := ids(v); *id == "" && *caseID == "" {
			*id, *caseID = r.ID, r.CaseID
			return nil
		}
	}
	var zero T
	*v = zero
	return r.Decode(v)
}

// decodeOptions are go-json-experiment's defaults (names matched exactly,
// a name twice and invalid UTF-8 refused), with unknown names refused
// too: encoding/json would match a name in another case, keep the last of
// two and replace invalid bytes, so such fields are left to it.
var decodeOptions = json.JoinOptions(json.DefaultOptionsV2(), json.RejectUnknownMembers(true))
