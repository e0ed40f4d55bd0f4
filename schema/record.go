package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// NewID returns a new record or mutation id: a UUIDv7, so ids made on many
// tablets never collide and sort roughly by creation time.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s is a UUID as NewID makes them (any version is
// accepted, so ids from an import keep working).
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Record is one record of any entity as the stores keep it and as pull sends
// it: its identity, its fields as JSON, and its receipt.
type Record struct {
	Entity string                     `json:"entity"`
	ID     string                     `json:"id"`
	CaseID string                     `json:"case_id"`
	Fields map[string]json.RawMessage `json:"fields"`
	// Version counts the changes the server applied to the record; a tablet
	// shows it in the receipt ("version 3").
	Version int64 `json:"version"`
	// ReceivedAt is when the server first received the record; UpdatedAt when
	// it last changed it. Both are server time.
	ReceivedAt time.Time `json:"received_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// DeviceTime is the device's own clock when the record was created there
	// (skew-corrected figures live in the server's mutation log).
	DeviceTime time.Time `json:"device_time,omitzero"`
	CreatedBy  string    `json:"created_by,omitempty"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
}

// Spec returns the record's entity spec.
func (r Record) Spec() (*EntitySpec, bool) { return Entity(r.Entity) }

// Signed reports whether the record is signed (immutable).
func (r Record) Signed() bool {
	s, ok := Entity(r.Entity)
	return ok && s.IsSigned(r.Fields)
}

// Decode fills v, a pointer to the entity's struct, from the record.
func (r Record) Decode(v any) error {
	m := make(map[string]json.RawMessage, len(r.Fields)+2)
	for k, f := range r.Fields {
		m[k] = f
	}
	m["id"], _ = json.Marshal(r.ID)
	m["case_id"], _ = json.Marshal(r.CaseID)
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// FieldsOf turns an entity struct into a field map: every field, with empty
// values included, "id" and "case_id" left out.
func FieldsOf(v any) map[string]json.RawMessage {
	rv := reflect.Indirect(reflect.ValueOf(v))
	t := rv.Type()
	out := make(map[string]json.RawMessage, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name := jsonName(t.Field(i))
		if name == "" || name == "id" || name == "case_id" {
			continue
		}
		b, err := json.Marshal(rv.Field(i).Interface())
		if err != nil {
			panic(err) // entity structs hold only JSON-safe types
		}
		out[name] = b
	}
	return out
}

func jsonName(sf reflect.StructField) string {
	tag := sf.Tag.Get("json")
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	if tag == "-" {
		return ""
	}
	return tag
}

// fieldRules are cross-field rules read from the field set itself, for
// entities written so often that decoding each record would cost
// (BenchmarkPush): a visit's status and signature.
var fieldRules = map[string]func(map[string]json.RawMessage) error{
	"visit": visitFieldRules,
}

// validatorType is the cross-field rule method some entity structs have.
var validatorType = reflect.TypeOf((*interface{ Validate() error })(nil)).Elem()

// HasRules reports whether the entity has cross-field rules for Validate
// to check; a store skips the call for one that has none.
func (s *EntitySpec) HasRules() bool {
	return fieldRules[s.Name] != nil || s.Type.Implements(validatorType)
}

// Validate runs the cross-field rules of the entity over a full field set:
// its fieldRules, then its struct's Validate method if it has one (the
// record decoded into the struct only then; the fields' own types are
// ValidateFields' to check).
func (s *EntitySpec) Validate(id, caseID string, fields map[string]json.RawMessage) error {
	if rule := fieldRules[s.Name]; rule != nil {
		if err := rule(fields); err != nil {
			return err
		}
	}
	if !s.Type.Implements(validatorType) {
		return nil
	}
	ptr := reflect.New(s.Type)
	obj, err := recordObject(id, caseID, fields)
	if err == nil {
		err = json.Unmarshal(obj, ptr.Interface())
	}
	if err != nil {
		return Errorf(ECodeMalformed, "", "%s fields do not decode: %v", s.Name, err)
	}
	if v, ok := ptr.Elem().Interface().(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

// recordObject is the JSON object Record.Decode decodes, each field's
// value checked (ValidJSON: one value, so it cannot add a member) and
// copied as it is rather than encoded again by json.Marshal, which also
// compacts each one, sorts the names and copies the whole. The identity
// comes last, so that it wins over a field of the same name, as in
// Record.Decode.
func recordObject(id, caseID string, fields map[string]json.RawMessage) ([]byte, error) {
	size := len(id) + len(caseID) + 32
	for k, v := range fields {
		size += len(k) + len(v) + 4
	}
	b := make([]byte, 0, size)
	b = append(b, '{')
	for k, v := range fields {
		b = appendQuoted(b, k)
		b = append(b, ':')
		switch {
		case v == nil:
			b = append(b, "null"...)
		case !ValidJSON(v):
			return nil, fmt.Errorf("field %s is not one JSON value", k)
		default:
			b = append(b, v...)
		}
		b = append(b, ',')
	}
	b = appendQuoted(b, "id")
	b = append(b, ':')
	b = appendQuoted(b, id)
	b = append(b, ',')
	b = appendQuoted(b, "case_id")
	b = append(b, ':')
	b = appendQuoted(b, caseID)
	return append(b, '}'), nil
}

func appendQuoted(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

// RawRecord is a record whose fields stay JSON text, for reads of many
// records that go straight into entity structs (reports): building a field
// map per record costs more than the rest of such a read.
type RawRecord struct {
	Entity string
	ID     string
	CaseID string
	Fields json.RawMessage // a JSON object
}

// Raw returns r with its fields as one JSON object.
func (r Record) Raw() (RawRecord, error) {
	b, err := json.Marshal(r.Fields)
	if err != nil {
		return RawRecord{}, err
	}
	if r.Fields == nil {
		b = []byte("{}")
	}
	return RawRecord{Entity: r.Entity, ID: r.ID, CaseID: r.CaseID, Fields: b}, nil
}

// Decode fills v, a pointer to the entity's struct, from the record: the id
// and case id are spliced in front of the stored object, decoded once.
func (r RawRecord) Decode(v any) error {
	body := bytes.TrimSpace(r.Fields)
	if len(body) < 2 || body[0] != '{' {
		return Errorf(ECodeMalformed, "fields", "%s %s: fields are not a JSON object", r.Entity, r.ID)
	}
	id, _ := json.Marshal(r.ID)
	caseID, _ := json.Marshal(r.CaseID)
	b := make([]byte, 0, len(body)+len(id)+len(caseID)+24)
	b = append(b, `{"id":`...)
	b = append(b, id...)
	b = append(b, `,"case_id":`...)
	b = append(b, caseID...)
	if rest := bytes.TrimSpace(body[1:]); len(rest) > 0 && rest[0] != '}' {
		b = append(b, ',')
	}
	b = append(b, body[1:]...)
	// Stored fields never hold "id" or "case_id" (ValidateFields refuses
	// them), so the spliced ones are the only ones.
	return json.Unmarshal(b, v)
}
