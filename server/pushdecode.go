package server

import (
	"encoding/json"

	"doorstep/schema"
)

// fastPush decodes a push body as json.Unmarshal into schema.PushRequest
// would, in one pass. A push is mostly the mutations' field values, which
// the server validates and stores as they came; encoding/json scanned each
// of them three times (validate the body, decode, copy into a RawMessage).
// Here the body is checked once with schema.ValidJSON (json.Valid's answer,
// faster; decision 0128), walked with a scanner that
// only finds where each value ends, and each field value is a slice of one
// copy of the body. Anything it does not expect (a key that differs from a
// known one only in case, a member given twice, a value of another type)
// is schema.ErrSlowJSON, and the caller uses encoding/json, whose answer
// and error are then authoritative.
func fastPush(body []byte) (schema.PushRequest, error) {
	var req schema.PushRequest
	if !schema.ValidJSON(body) {
		return req, schema.ErrSlowJSON
	}
	// The fields are slices of this copy: the request's buffer is the
	// HTTP server's, reused after the answer.
	b := append([]byte(nil), body...)
	seen := 0
	err := schema.EachMember(b, func(key string, v []byte) error {
		var err error
		switch key {
		case "mutations":
			err = once(&seen, 1)
			if err == nil {
				req.Mutations, err = fastMutations(v)
			}
		case "cursor":
			err = once(&seen, 2)
			if err == nil {
				req.Cursor, err = schema.JSONString(v)
			}
		default:
			if schema.FoldsTo(key, pushKeys) {
				err = schema.ErrSlowJSON
			}
		}
		return err
	})
	return req, err
}

var (
	pushKeys     = []string{"mutations", "cursor"}
	mutationKeys = []string{"id", "entity", "record_id", "case_id", "fields", "clock", "device_time", "device_signature", "sealed"}
)

// once marks the member bit as seen, and refuses one seen before:
// encoding/json merges a repeated object into the first, which the fast
// path does not copy.
func once(seen *int, bit int) error {
	if *seen&bit != 0 {
		return schema.ErrSlowJSON
	}
	*seen |= bit
	return nil
}

func fastMutations(b []byte) ([]schema.Mutation, error) {
	if string(b) == "null" {
		return nil, nil
	}
	if b[0] != '[' {
		return nil, schema.ErrSlowJSON
	}
	out := []schema.Mutation{}
	var pairs []fieldPair // each mutation's fields as read, reused
	i := schema.SkipSpace(b, 1)
	if b[i] == ']' {
		return out, nil
	}
	for {
		end := schema.SkipJSON(b, i)
		if end < 0 {
			return nil, schema.ErrSlowJSON
		}
		m, err := fastMutation(b[i:end], &pairs)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
		if len(out) > schema.MaxPushMutations {
			return nil, schema.ErrSlowJSON // the caller refuses the batch
		}
		// The body is valid JSON: a value in an array is followed by a
		// comma or the end of the array.
		i = schema.SkipSpace(b, end)
		if b[i] == ']' {
			return out, nil
		}
		i = schema.SkipSpace(b, i+1)
	}
}

func fastMutation(b []byte, pairs *[]fieldPair) (schema.Mutation, error) {
	var m schema.Mutation
	if b[0] != '{' {
		return m, schema.ErrSlowJSON
	}
	seen := 0
	err := schema.EachMember(b, func(key string, v []byte) error {
		var err error
		if p, bit := mutationString(&m, key); p != nil {
			if err = once(&seen, bit); err == nil {
				*p, err = schema.JSONString(v)
			}
			return err
		}
		switch key {
		case "fields":
			if err = once(&seen, 1<<5); err == nil {
				m.Fields, err = fastFields(v, pairs)
			}
		case "clock":
			if err = once(&seen, 1<<6); err == nil {
				err = fastClock(v, &m.Clock)
			}
		case "device_time":
			if err = once(&seen, 1<<7); err == nil && m.DeviceTime.UnmarshalJSON(v) != nil {
				err = schema.ErrSlowJSON
			}
		case "device_signature":
			if err = once(&seen, 1<<8); err == nil && json.Unmarshal(v, &m.DeviceSignature) != nil {
				err = schema.ErrSlowJSON
			}
		default:
			if schema.FoldsTo(key, mutationKeys) {
				err = schema.ErrSlowJSON
			}
		}
		return err
	})
	return m, err
}

// mutationString is the string member of m that key names, and its bit
// for once; nil for a key that names none.
func mutationString(m *schema.Mutation, key string) (*string, int) {
	switch key {
	case "id":
		return &m.ID, 1 << 0
	case "entity":
		return &m.Entity, 1 << 1
	case "record_id":
		return &m.RecordID, 1 << 2
	case "case_id":
		return &m.CaseID, 1 << 3
	case "sealed":
		return &m.Sealed, 1 << 4
	}
	return nil, 0
}

// fieldPair is a member of a mutation's fields, as fastFields reads it.
type fieldPair struct {
	key string
	v   json.RawMessage
}

// fastFields is a mutation's fields: each value the bytes it came as.
// They are read into pairs (scratch, kept for the next mutation) first,
// so that the map is made at its size: grown a field at a time, a visit's
// map was made three times and its entries copied twice (decision 0117).
// A name given twice keeps its last value, as before.
func fastFields(v []byte, pairs *[]fieldPair) (map[string]json.RawMessage, error) {
	if string(v) == "null" {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, schema.ErrSlowJSON
	}
	read := (*pairs)[:0]
	err := schema.EachMember(v, func(key string, raw []byte) error {
		read = append(read, fieldPair{key: key, v: json.RawMessage(raw[:len(raw):len(raw)])})
		return nil
	})
	*pairs = read
	if err != nil {
		return nil, err
	}
	fields := make(map[string]json.RawMessage, len(read))
	for _, p := range read {
		fields[p.key] = p.v
	}
	return fields, nil
}

// fastClock reads a clock stamp as encoding/json does: a JSON string given
// to HLC.UnmarshalText.
func fastClock(v []byte, h *schema.HLC) error {
	if v[0] != '"' {
		return schema.ErrSlowJSON
	}
	s, err := schema.JSONString(v)
	if err != nil {
		return err
	}
	if h.UnmarshalText([]byte(s)) != nil {
		return schema.ErrSlowJSON
	}
	return nil
}
