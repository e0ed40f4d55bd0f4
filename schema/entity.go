package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// An entity's fields are declared once, on its Go struct, with two tags:
// `json:"name"` and `v:"rules"`. The rules, comma-separated:
//
//	required   present and non-empty when the record is created; never cleared
//	enum=a|b   the value (each element, for a list) is one of these; "" is allowed unless required
//	max=N      longest string in characters (default 500; free text says more)
//	admin      only a supervisor or an admin may write it (an officer's write is refused)
//	past       a Date that is not in the future (a date of birth): CheckPast
//	server     only the server writes it; every client write is refused
//	by         names the user who made the record: the server writes the
//	           caller's id when the record is created; a client may send only
//	           its own id (nobody writes in another's name; see StampPeople)
//	by=a|b     names the user who made the decision held in fields a and b: the
//	           server writes the caller's id whenever a write sets one of them
//	           to a value; a client may send only its own id
//
// The field's Go type gives its JSON type: string, bool, int, []string, Date
// (YYYY-MM-DD), Timestamp (RFC 3339) or a struct list. A list holds at most
// MaxListEntries entries; each string of a []string is held to max and enum. "id" and "case_id" are
// the record's identity, carried on the envelope, never in a field map.
// Fields are only ever added between schema versions, never renamed or
// removed, so a tablet on an older schema always sends valid fields.

// MaxListEntries is the most entries a list field (of strings or of
// objects) may hold.
const MaxListEntries = 50

// FieldSpec is one field's rules, read from the struct tags.
type FieldSpec struct {
	Name       string
	Type       reflect.Type
	Required   bool
	Enum       []string
	Max        int
	AdminOnly  bool
	ServerOnly bool
	Past       bool // a Date not after today (CheckPast)
	// Person: the field names a user (rule by), the one who made the
	// record or, when Attests is set, the decision in those fields.
	Person  bool
	Attests []string
}

// EntitySpec describes one kind of record.
type EntitySpec struct {
	Name   string // wire name: "household_member"
	Path   string // REST collection: "household-members"
	Type   reflect.Type
	Fields map[string]*FieldSpec
	Order  []string // field names in struct order
	// sorted is Order sorted: ValidateFields's order with no sort per
	// record.
	sorted []*FieldSpec
	// OfficerCreates: an officer (and so a tablet) may create records of it.
	OfficerCreates bool
	// SignField, when set, names the timestamp field whose being set makes
	// the record a signed legal record: never changed again, only amended.
	SignField string
	// ServerOnly: only the server creates and changes it (conflicts).
	ServerOnly bool
}

var entities = map[string]*EntitySpec{}
var entityPaths = map[string]*EntitySpec{}

func register(name, path string, sample any, officerCreates bool, signField string, serverOnly bool) {
	t := reflect.TypeOf(sample)
	spec := &EntitySpec{Name: name, Path: path, Type: t, Fields: map[string]*FieldSpec{},
		OfficerCreates: officerCreates, SignField: signField, ServerOnly: serverOnly}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		jname := strings.Split(sf.Tag.Get("json"), ",")[0]
		if jname == "" || jname == "-" || jname == "id" || jname == "case_id" {
			continue
		}
		fs := &FieldSpec{Name: jname, Type: sf.Type, Max: 500}
		for _, rule := range strings.Split(sf.Tag.Get("v"), ",") {
			key, val, _ := strings.Cut(rule, "=")
			switch key {
			case "":
			case "required":
				fs.Required = true
			case "enum":
				fs.Enum = strings.Split(val, "|")
			case "max":
				n, err := strconv.Atoi(val)
				if err != nil {
					panic(fmt.Sprintf("schema: %s.%s: bad max %q", name, jname, val))
				}
				fs.Max = n
			case "admin":
				fs.AdminOnly = true
			case "past":
				fs.Past = true
			case "server":
				fs.ServerOnly = true
			case "by":
				fs.Person = true
				if val != "" {
					fs.Attests = strings.Split(val, "|")
				}
			default:
				panic(fmt.Sprintf("schema: %s.%s: unknown rule %q", name, jname, key))
			}
		}
		spec.Fields[jname] = fs
		spec.Order = append(spec.Order, jname)
	}
	for _, fs := range spec.Fields {
		for _, a := range fs.Attests {
			if spec.Fields[a] == nil {
				panic(fmt.Sprintf("schema: %s.%s: by names no field %q", name, fs.Name, a))
			}
		}
	}
	for _, n := range sortedKeys(spec.Fields) {
		spec.sorted = append(spec.sorted, spec.Fields[n])
	}
	entities[name] = spec
	entityPaths[path] = spec
}

// Entity returns the spec of the named entity.
func Entity(name string) (*EntitySpec, bool) {
	s, ok := entities[name]
	return s, ok
}

// EntityByPath returns the spec whose REST collection is path.
func EntityByPath(path string) (*EntitySpec, bool) {
	s, ok := entityPaths[path]
	return s, ok
}

// Entities returns every entity spec, sorted by name.
func Entities() []*EntitySpec {
	out := make([]*EntitySpec, 0, len(entities))
	for _, s := range entities {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var (
	dateType      = reflect.TypeOf(Date(""))
	timestampType = reflect.TypeOf(Timestamp(""))
)

// ValidateFields checks each field present: known, of the right JSON type, in
// its enum, within its length, well-formed dates. JSON null clears a field.
// Required fields and who may write are checked by CheckCreate and CheckWriter.
func (s *EntitySpec) ValidateFields(fields map[string]json.RawMessage) error {
	// Every name known (the usual case): the spec's fields, sorted once,
	// give the names' order, with no sort per record.
	known := 0
	for _, fs := range s.sorted {
		if _, ok := fields[fs.Name]; ok {
			known++
		}
	}
	if known == len(fields) {
		for _, fs := range s.sorted {
			if raw, ok := fields[fs.Name]; ok {
				if err := fs.check(raw); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, name := range sortedKeys(fields) {
		raw := fields[name]
		fs, ok := s.Fields[name]
		if !ok {
			if name == "id" || name == "case_id" {
				return Errorf(ECodeInvalid, name, "%s is the record's identity and is not changed through fields", name)
			}
			return Errorf(ECodeUnknownField, name, "%s has no field %q", s.Name, name)
		}
		if err := fs.check(raw); err != nil {
			return err
		}
	}
	return nil
}

// SortedNames returns the names of fields in sorted order. When every name
// is one of the entity's (as after ValidateFields), the order comes from
// the spec, sorted once at start-up, with no sort per map.
func (s *EntitySpec) SortedNames(fields map[string]json.RawMessage) []string {
	if s == nil {
		return sortedKeys(fields)
	}
	out := make([]string, 0, len(fields))
	for _, fs := range s.sorted {
		if _, ok := fields[fs.Name]; ok {
			out = append(out, fs.Name)
		}
	}
	if len(out) == len(fields) {
		return out
	}
	return sortedKeys(fields)
}

// check is ValidateFields for one known field: null clears it (unless it
// is required), anything else is validated.
func (fs *FieldSpec) check(raw json.RawMessage) error {
	if isNull(raw) {
		if fs.Required {
			return Errorf(ECodeRequired, fs.Name, "%s cannot be cleared", fs.Name)
		}
		return nil
	}
	return fs.validate(raw)
}

func (fs *FieldSpec) validate(raw json.RawMessage) error {
	v, err := fs.decode(raw)
	if err != nil {
		return Errorf(ECodeWrongType, fs.Name, "%s must be %s", fs.Name, describeType(fs.Type))
	}
	if unstorableEscape(raw) {
		return Errorf(ECodeInvalid, fs.Name, "%s holds a NUL character (\\u0000) or half of a surrogate pair, which no text may hold", fs.Name)
	}
	switch {
	case fs.Type == dateType:
		if err := Date(v.String()).Validate(); err != nil && v.String() != "" {
			return Errorf(ECodeInvalid, fs.Name, "%s must be a date like 2026-03-31, not %q", fs.Name, v.String())
		}
	case fs.Type == timestampType:
		if _, err := Timestamp(v.String()).Time(); err != nil && v.String() != "" {
			return Errorf(ECodeInvalid, fs.Name, "%s must be a time like 2026-03-31T14:05:00Z, not %q", fs.Name, v.String())
		}
	case v.Kind() == reflect.String:
		if n := utf8.RuneCountInString(v.String()); n > fs.Max {
			return Errorf(ECodeInvalid, fs.Name, "%s is %d characters long; the most is %d", fs.Name, n, fs.Max)
		}
		if err := fs.checkEnum(v.String()); err != nil {
			return err
		}
	case v.Kind() == reflect.Slice && v.Len() > MaxListEntries:
		return Errorf(ECodeInvalid, fs.Name, "%s has %d entries; the most is %d", fs.Name, v.Len(), MaxListEntries)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		for i := 0; i < v.Len(); i++ {
			if n := utf8.RuneCountInString(v.Index(i).String()); n > fs.Max {
				return Errorf(ECodeInvalid, fmt.Sprintf("%s[%d]", fs.Name, i), "%s[%d] is %d characters long; the most is %d", fs.Name, i, n, fs.Max)
			}
			if err := fs.checkEnum(v.Index(i).String()); err != nil {
				return err
			}
		}
	case v.Kind() == reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if val, ok := v.Index(i).Interface().(interface{ Validate() error }); ok {
				if err := val.Validate(); err != nil {
					if e := AsError(err); e != nil {
						return Errorf(e.Code, fmt.Sprintf("%s[%d].%s", fs.Name, i, e.Field), "%s", e.Message)
					}
					return err
				}
			}
		}
	case v.Kind() == reflect.Int:
		if v.Int() < 0 || v.Int() > 200 {
			return Errorf(ECodeInvalid, fs.Name, "%s must be between 0 and 200", fs.Name)
		}
	}
	return nil
}

// decode turns raw into a value of the field's type. Push applies thousands
// of fields a second, so plain strings, booleans and lists of plain strings
// skip the reflective decoder (FuzzDecodeFastPaths holds them to its
// answer); lists of objects go through a strict decoder that refuses
// unknown keys.
func (fs *FieldSpec) decode(raw json.RawMessage) (reflect.Value, error) {
	switch fs.Type.Kind() {
	case reflect.String:
		if s, ok := plainString(raw); ok {
			return reflect.ValueOf(s).Convert(fs.Type), nil
		}
	case reflect.Bool:
		// As json.Unmarshal: the two literals, nothing around them.
		switch string(raw) {
		case "true":
			return reflect.ValueOf(true).Convert(fs.Type), nil
		case "false":
			return reflect.ValueOf(false).Convert(fs.Type), nil
		}
	case reflect.Slice:
		if string(raw) == "[]" {
			return reflect.MakeSlice(fs.Type, 0, 0), nil
		}
		if fs.Type.Elem().Kind() == reflect.String {
			if v, ok := plainStrings(fs.Type, raw); ok {
				return v, nil
			}
		}
	}
	return fs.decodeReflect(raw)
}

// decodeReflect is decode without its fast paths: encoding/json's answer.
func (fs *FieldSpec) decodeReflect(raw json.RawMessage) (reflect.Value, error) {
	ptr := reflect.New(fs.Type)
	if fs.Type.Kind() == reflect.Slice && fs.Type.Elem().Kind() == reflect.Struct {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(ptr.Interface()); err != nil {
			return reflect.Value{}, err
		}
		if dec.More() {
			return reflect.Value{}, errors.New("trailing data")
		}
		return ptr.Elem(), nil
	}
	if err := json.Unmarshal(raw, ptr.Interface()); err != nil {
		return reflect.Value{}, err
	}
	return ptr.Elem(), nil
}

// plainString is the string raw holds when it is a JSON string with no
// escape, control character or invalid UTF-8: its bytes are its value,
// as json.Unmarshal would find. ok is false for anything else, which the
// caller gives to json.Unmarshal.
func plainString(raw []byte) (string, bool) {
	n := len(raw)
	if n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw[1:n-1], '\\') < 0 && bytes.IndexByte(raw[1:n-1], '"') < 0 && utf8.Valid(raw[1:n-1]) && !hasControl(raw[1:n-1]) {
		return string(raw[1 : n-1]), true
	}
	return "", false
}

// plainStrings decodes a compact list of plain strings (["a","b"]) into a
// slice of type t, as json.Unmarshal would; ok is false for anything else
// (space, escapes, another kind of element), left to json.Unmarshal.
func plainStrings(t reflect.Type, raw []byte) (reflect.Value, bool) {
	n := len(raw)
	if n < 4 || raw[0] != '[' || raw[n-1] != ']' {
		return reflect.Value{}, false
	}
	var items []string
	for i := 1; i < n-1; {
		if raw[i] != '"' {
			return reflect.Value{}, false
		}
		end := bytes.IndexByte(raw[i+1:n-1], '"')
		if end < 0 {
			return reflect.Value{}, false
		}
		end += i + 1 // the closing quote
		s, ok := plainString(raw[i : end+1])
		if !ok {
			return reflect.Value{}, false
		}
		items = append(items, s)
		i = end + 1
		switch {
		case i == n-1:
		case raw[i] == ',' && i+1 < n-1:
			i++
		default:
			return reflect.Value{}, false
		}
	}
	v := reflect.MakeSlice(t, len(items), len(items))
	for i, s := range items {
		v.Index(i).SetString(s)
	}
	return v, true
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func (fs *FieldSpec) checkEnum(val string) error {
	if len(fs.Enum) == 0 || (val == "" && !fs.Required) {
		return nil
	}
	for _, e := range fs.Enum {
		if e == val {
			return nil
		}
	}
	return Errorf(ECodeInvalid, fs.Name, "%s must be one of %s, not %q", fs.Name, strings.Join(fs.Enum, ", "), val)
}

func describeType(t reflect.Type) string {
	switch {
	case t == dateType:
		return "a date string like 2026-03-31"
	case t == timestampType:
		return "a time string like 2026-03-31T14:05:00Z"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int:
		return "a whole number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return "a list of strings"
		}
		return "a list of objects with known fields"
	}
	return "a " + t.Kind().String()
}

// CheckPast refuses a date in the future in a field that must be in the
// past (rule past: a date of birth). today is the writer's today: the
// tablet's local date, or on the server LatestToday, so that a date that is
// already today somewhere is not refused. Fields that are not well-formed
// dates are left to ValidateFields.
func (s *EntitySpec) CheckPast(fields map[string]json.RawMessage, today Date) error {
	for _, name := range s.Order {
		fs := s.Fields[name]
		raw, ok := fields[name]
		if !ok || !fs.Past || isNull(raw) {
			continue
		}
		var d Date
		if json.Unmarshal(raw, &d) != nil || d.Validate() != nil {
			continue
		}
		if d > today {
			return Errorf(ECodeInvalid, name, "%s cannot be in the future: %s is after today, %s", name, d, today)
		}
	}
	return nil
}

// LatestToday is the latest date it is anywhere on Earth at t (UTC+14):
// the server's today for CheckPast, as its writers may be in any time zone.
func LatestToday(t time.Time) Date { return DateOf(t.Add(14 * time.Hour)) }

// Problems lists every problem a write of fields would be refused for, at
// once, for a form that shows them all together: each field's own (type,
// enum, length, date), a date in the future (CheckPast, as of today), each
// required field left empty when creating, then the rules across fields
// (Validate) over the record as it would be (existing with fields applied).
// At most one problem per field, in the entity's field order; nil when the
// write would pass these checks. Who may write is not checked here.
func (s *EntitySpec) Problems(id, caseID string, fields, existing map[string]json.RawMessage, creating bool, today Date) []*Error {
	var out []*Error
	seen := map[string]bool{}
	add := func(err error) {
		if e := AsError(err); e != nil && !seen[rootOf(e.Field)] {
			seen[rootOf(e.Field)] = true
			out = append(out, e)
		}
	}
	for _, name := range sortedKeys(fields) {
		if _, ok := s.Fields[name]; !ok {
			add(s.ValidateFields(map[string]json.RawMessage{name: fields[name]}))
		}
	}
	merged := make(map[string]json.RawMessage, len(existing)+len(fields))
	for k, v := range existing {
		merged[k] = v
	}
	for _, name := range s.Order {
		raw, ok := fields[name]
		if !ok {
			continue
		}
		one := map[string]json.RawMessage{name: raw}
		if err := s.ValidateFields(one); err != nil {
			add(err)
			delete(merged, name) // the rules across fields see no bad value
			continue
		}
		add(s.CheckPast(one, today))
		if isNull(raw) {
			delete(merged, name)
		} else {
			merged[name] = raw
		}
	}
	if creating {
		for _, name := range s.Order {
			if s.Fields[name].Required && isEmpty(merged[name]) && !seen[name] {
				add(Errorf(ECodeRequired, name, "%s is required", name))
			}
		}
	}
	add(s.Validate(id, caseID, merged))
	sort.SliceStable(out, func(i, j int) bool { return s.index(rootOf(out[i].Field)) < s.index(rootOf(out[j].Field)) })
	return out
}

// index is the place of field name in the entity's order (unknown fields
// first).
func (s *EntitySpec) index(name string) int {
	for i, n := range s.Order {
		if n == name {
			return i
		}
	}
	return -1
}

// rootOf is the field a path is about: "children[0].seen" -> "children".
func rootOf(field string) string {
	if i := strings.IndexAny(field, ".["); i >= 0 {
		return field[:i]
	}
	return field
}

// CheckCreate checks that every required field is present and non-empty in the
// full field set of a record being created.
func (s *EntitySpec) CheckCreate(fields map[string]json.RawMessage) error {
	for _, name := range s.Order {
		fs := s.Fields[name]
		if fs.Required && isEmpty(fields[name]) {
			return Errorf(ECodeRequired, name, "%s is required", name)
		}
	}
	return nil
}

// CheckWriter refuses fields that role may not write. creating is true when
// the write creates the record.
func (s *EntitySpec) CheckWriter(role Role, fields map[string]json.RawMessage, creating bool) error {
	if s.ServerOnly {
		return Errorf(ECodeForbidden, "entity", "%s records are written by the server only", s.Name)
	}
	privileged := role == RoleSupervisor || role == RoleAdmin
	if role == RoleAuditor {
		return Errorf(ECodeForbidden, "", "auditors have read-only access")
	}
	if creating && !s.OfficerCreates && !privileged {
		return Errorf(ECodeForbidden, "entity", "an officer cannot create %s records", s.Name)
	}
	for _, name := range sortedKeys(fields) {
		fs := s.Fields[name]
		if fs == nil {
			continue
		}
		if fs.ServerOnly {
			return Errorf(ECodeForbidden, name, "%s is set by the server only", name)
		}
		// An officer creating a record may send admin fields only empty (a
		// client's full field set), never set: else a tablet could create a
		// safety assessment already approved by "the manager".
		if fs.AdminOnly && !privileged && (!creating || !isEmpty(fields[name])) {
			return Errorf(ECodeForbidden, name, "only a supervisor or an admin may change %s", name)
		}
	}
	return nil
}

// StampPeople applies the by rule to a write by user userID: it returns the
// fields with each person field set to userID where the write makes what
// the field attests (the record, when creating; or a value in one of the
// fields it lists), and reports whether it added or replaced a value. A
// person field the client sends must be empty or userID: else invalid,
// naming the field. fields itself is not changed.
func (s *EntitySpec) StampPeople(userID string, fields map[string]json.RawMessage, creating bool) (map[string]json.RawMessage, bool, error) {
	var out map[string]json.RawMessage
	for _, name := range s.Order {
		fs := s.Fields[name]
		if !fs.Person {
			continue
		}
		sent, has := fields[name]
		if has && !isEmpty(sent) {
			var v string
			if err := json.Unmarshal(sent, &v); err != nil || v != userID {
				return nil, false, Errorf(ECodeInvalid, name, "%s names the user who makes the change (%s), not %s; leave it out and the server writes it", name, userID, sent)
			}
			continue
		}
		made := creating && len(fs.Attests) == 0
		for _, a := range fs.Attests {
			made = made || !isEmpty(fields[a])
		}
		if !made {
			continue
		}
		if out == nil {
			out = make(map[string]json.RawMessage, len(fields)+1)
			for k, v := range fields {
				out[k] = v
			}
		}
		b, _ := json.Marshal(userID)
		out[name] = b
	}
	if out == nil {
		return fields, false, nil
	}
	return out, true, nil
}

// IsSigned reports whether the field set holds a set sign field.
func (s *EntitySpec) IsSigned(fields map[string]json.RawMessage) bool {
	return s.SignValueSet(fields[s.SignField])
}

// SignValueSet is IsSigned given the sign field's value alone (nil when
// the fields lack it), for a reader that found it in the text.
func (s *EntitySpec) SignValueSet(v json.RawMessage) bool {
	return s.SignField != "" && !isEmpty(v)
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

func isEmpty(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "" || t == "null" || t == `""` || t == "[]" || t == "{}"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Date is a calendar date, "2006-01-02".
type Date string

// Validate reports whether d is a real calendar date.
func (d Date) Validate() error {
	_, err := time.Parse(time.DateOnly, string(d))
	return err
}

// Time returns d at midnight UTC; the zero time when d is empty or bad.
func (d Date) Time() time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return t
}

// DateOf returns the date of t in UTC.
func DateOf(t time.Time) Date { return Date(t.UTC().Format(time.DateOnly)) }

// Timestamp is an instant in RFC 3339, as recorded by whoever set it.
type Timestamp string

// Time parses ts.
func (ts Timestamp) Time() (time.Time, error) { return time.Parse(time.RFC3339Nano, string(ts)) }

// TimestampOf formats t.
func TimestampOf(t time.Time) Timestamp { return Timestamp(t.UTC().Format(time.RFC3339Nano)) }

// unstorableEscape reports whether the JSON value raw holds, in a string, the
// escape of a NUL character (\u0000) or of half a surrogate pair: Go would
// read them as a NUL and U+FFFD, but PostgreSQL's jsonb, which the server
// store reads fields through, refuses them, so one such record would fail
// every query that reads its fields (decision 0048). No one types either.
func unstorableEscape(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') < 0 {
		return false
	}
	high := false // the escape before was a high surrogate's
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			if high {
				return true
			}
			continue
		}
		if raw[i+1] != 'u' || i+5 >= len(raw) {
			if high {
				return true
			}
			i++ // an escaped quote or backslash is not an escape's start
			continue
		}
		r, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		if err != nil {
			return true
		}
		switch {
		case r == 0:
			return true
		case r >= 0xD800 && r < 0xDC00:
			if high {
				return true
			}
			high = true
		case r >= 0xDC00 && r < 0xE000:
			if !high {
				return true
			}
			high = false
		default:
			if high {
				return true
			}
		}
		i += 5
	}
	return high
}
