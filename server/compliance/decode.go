package compliance

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json"

	"doorstep/schema"
)

// decode is r.Decode(v) (schema.RawRecord.Decode) for the records Group
// reads, several times faster: every dashboard page decodes its cases'
// records afresh (decision 0051), and encoding/json's decoding was most of
// a page's cost (docs/performance.md, decision 0056).
//
// It sets the record's id and case id (ids gives v's) itself, and decodes
// the stored fields over them with github.com/go-json-experiment/json,
// rather than splicing them into a copy of the fields. Stored fields are what the
// store wrote from a validated field map: known names, exact (ValidateFields
// refuses any other), each once, never id or case_id. Fields that are not
// so (a name unknown or in another case, a name twice, id or case_id among
// them) or that do not decode (malformed JSON, invalid UTF-8, a value of
// another type) are decoded again by r.Decode, whose answer and error are
// then authoritative: the fast path never gives another value nor hides an
// error (TestDecodeSameAsSchema).
func decode[T any](r schema.RawRecord, v *T, ids func(v *T) (id, caseID *string)) error {
	body := bytes.TrimSpace(r.Fields)
	if len(body) >= 2 && body[0] == '{' {
		// The ids are set first, and the fields decoded over them: fields
		// that name either (even as "") leave them changed, and go to
		// r.Decode, as any id among the fields must.
		id, caseID := ids(v)
		*id, *caseID = r.ID, r.CaseID
		if json.Unmarshal(body, v, decodeOptions) == nil && *id == r.ID && *caseID == r.CaseID {
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

// decodeVisit is decode for a visit, faster still: a visit is about 90%
// of a team's records, and go-json-experiment's decoding of them was
// about a third of reading and decoding a team (decision 0098). It reads
// stored fields of the form the store writes them in (compact, every name
// a known one, once, strings without escapes, no null) itself, and copies
// each string into arena (one allocation for many strings, rather than
// one for each); fields of any other form are left to decode, so the
// value and the error are always decode's (TestDecodeVisitSameAsDecode,
// FuzzDecodeVisit). The visit's strings keep the arena's block alive: for
// visits decoded for one answer and dropped with it.
func decodeVisit(r schema.RawRecord, v *schema.Visit, arena *stringArena) error {
	if visitFields(r.Fields, v, arena) {
		v.ID, v.CaseID = r.ID, r.CaseID
		return nil
	}
	*v = schema.Visit{}
	return decode(r, v, func(v *schema.Visit) (*string, *string) { return &v.ID, &v.CaseID })
}

// visitFields reads fields into v, which is a new visit, and reports
// whether they were of the form decodeVisit reads; when not, v holds
// part of them.
func visitFields(fields []byte, v *schema.Visit, arena *stringArena) bool {
	sc := fieldScanner{b: fields, arena: arena}
	var seen uint32
	return sc.object(func(name []byte) bool {
		var bit uint32
		var dst *string
		ok := true
		switch string(name) {
		case "officer_id":
			bit, dst = 1<<0, &v.OfficerID
		case "planned_type":
			bit, dst = 1<<1, &v.PlannedType
		case "planned_at":
			bit, dst = 1<<2, (*string)(&v.PlannedAt)
		case "type":
			bit, dst = 1<<3, &v.Type
		case "status":
			bit, dst = 1<<4, &v.Status
		case "outcome":
			bit, dst = 1<<5, &v.Outcome
		case "outcome_reason":
			bit, dst = 1<<6, &v.OutcomeReason
		case "location":
			bit, dst = 1<<7, &v.Location
		case "place_type":
			bit, dst = 1<<8, &v.PlaceType
		case "elsewhere_reason":
			bit, dst = 1<<9, &v.ElsewhereReason
		case "started_at":
			bit, dst = 1<<10, (*string)(&v.StartedAt)
		case "ended_at":
			bit, dst = 1<<11, (*string)(&v.EndedAt)
		case "person_seen":
			bit, dst = 1<<12, &v.PersonSeen
		case "partner_present":
			bit, dst = 1<<13, &v.PartnerPresent
		case "partner_seen_alone":
			bit, dst = 1<<14, &v.PartnerSeenAlone
		case "partner_concerns":
			bit, dst = 1<<15, &v.PartnerConcerns
		case "children_present":
			bit, dst = 1<<16, &v.ChildrenPresent
		case "others_present":
			bit, dst = 1<<17, &v.OthersPresent
		case "observation_notes":
			bit, dst = 1<<18, &v.ObservationNotes
		case "no_action_reason":
			bit, dst = 1<<19, &v.NoActionReason
		case "action_notes":
			bit, dst = 1<<20, &v.ActionNotes
		case "next_visit_on":
			bit, dst = 1<<21, (*string)(&v.NextVisitOn)
		case "signed_at":
			bit, dst = 1<<22, (*string)(&v.SignedAt)
		case "signed_by":
			bit, dst = 1<<23, &v.SignedBy
		case "face_to_face":
			bit = 1 << 24
			ok = sc.bool(&v.FaceToFace)
		case "safeguarding_concern":
			bit = 1 << 25
			ok = sc.bool(&v.Concern)
		case "observations":
			bit = 1 << 26
			v.Observations, ok = sc.strs()
		case "actions":
			bit = 1 << 27
			v.Actions, ok = sc.strs()
		case "children":
			bit = 1 << 28
			v.Children, ok = sc.children()
		default: // id, case_id, or a name the visit does not have
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if dst != nil {
			*dst, ok = sc.str()
		}
		return ok
	}) && sc.done()
}

// fieldScanner reads compact JSON from b, at i, for visitFields: each
// method reads one thing, and reports false where b holds anything else.
// The strings it gives are copied into arena.
type fieldScanner struct {
	b     []byte
	i     int
	arena *stringArena
}

func (sc *fieldScanner) done() bool { return sc.i == len(sc.b) }

// byte reads c when it is next.
func (sc *fieldScanner) byte(c byte) bool {
	if sc.i < len(sc.b) && sc.b[sc.i] == c {
		sc.i++
		return true
	}
	return false
}

// object reads an object, calling member with each name once its colon
// is read: member reads the value, and reports false for a name or a
// value it does not take.
func (sc *fieldScanner) object(member func(name []byte) bool) bool {
	if !sc.byte('{') {
		return false
	}
	if sc.byte('}') {
		return true
	}
	for {
		name, ok := sc.raw()
		if !ok || !sc.byte(':') || !member(name) {
			return false
		}
		if sc.byte('}') {
			return true
		}
		if !sc.byte(',') {
			return false
		}
	}
}

// array reads an array, calling elem to read each element.
func (sc *fieldScanner) array(elem func() bool) bool {
	if !sc.byte('[') {
		return false
	}
	if sc.byte(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if sc.byte(']') {
			return true
		}
		if !sc.byte(',') {
			return false
		}
	}
}

// raw reads a string without escapes or control characters, in valid
// UTF-8 (what decode would read as it is written), and gives its bytes in
// b.
func (sc *fieldScanner) raw() ([]byte, bool) {
	if !sc.byte('"') {
		return nil, false
	}
	start, ascii := sc.i, true
	for ; sc.i < len(sc.b); sc.i++ {
		switch c := sc.b[sc.i]; {
		case c == '"':
			s := sc.b[start:sc.i]
			sc.i++
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// str is raw's string, copied into the arena.
func (sc *fieldScanner) str() (string, bool) {
	b, ok := sc.raw()
	if !ok {
		return "", false
	}
	return sc.arena.copy(b), true
}

// stringArena copies strings into blocks of arenaBlock bytes, each one
// allocation (the zero value is ready).
type stringArena struct{ block strings.Builder }

const arenaBlock = 64 << 10

// copy returns b as a string in the arena's current block, or in a new
// one when it has no room left. A strings.Builder only ever appends to
// its bytes, so the strings it gave stay as they were written.
func (a *stringArena) copy(b []byte) string {
	if a.block.Cap()-a.block.Len() < len(b) {
		a.block = strings.Builder{}
		a.block.Grow(max(arenaBlock, len(b)))
	}
	n := a.block.Len()
	a.block.Write(b)
	return a.block.String()[n:]
}

func (sc *fieldScanner) bool(b *bool) bool {
	switch rest := sc.b[sc.i:]; {
	case bytes.HasPrefix(rest, []byte("true")):
		*b, sc.i = true, sc.i+4
	case bytes.HasPrefix(rest, []byte("false")):
		*b, sc.i = false, sc.i+5
	default:
		return false
	}
	return true
}

// strs reads an array of strings (an empty one as an empty slice, as
// decode gives it).
func (sc *fieldScanner) strs() ([]string, bool) {
	out := []string{}
	ok := sc.array(func() bool {
		s, ok := sc.str()
		out = append(out, s)
		return ok
	})
	if !ok {
		return nil, false
	}
	return out, true
}

// children reads a visit's children: an array of objects of
// schema.VisitChild's names, each once.
func (sc *fieldScanner) children() ([]schema.VisitChild, bool) {
	out := []schema.VisitChild{}
	ok := sc.array(func() bool {
		var c schema.VisitChild
		var seen uint8
		if !sc.object(func(name []byte) bool {
			var bit uint8
			var dst *string
			switch string(name) {
			case "member_id":
				bit, dst = 1<<0, &c.MemberID
			case "present":
				bit, dst = 1<<1, &c.Present
			case "seen":
				bit, dst = 1<<2, &c.Seen
			case "spoken_to":
				bit, dst = 1<<3, &c.SpokenTo
			case "concerns":
				bit, dst = 1<<4, &c.Concerns
			case "reason_not_seen":
				bit, dst = 1<<5, &c.ReasonNotSeen
			default:
				return false
			}
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			var ok bool
			*dst, ok = sc.str()
			return ok
		}) {
			return false
		}
		out = append(out, c)
		return true
	})
	if !ok {
		return nil, false
	}
	return out, true
}
