package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
)

// ErrSlowJSON is the fast decoders' answer to a document they do not
// expect: the caller decodes it with encoding/json, whose answer (and
// error) is then authoritative.
var ErrSlowJSON = errors.New("the document needs encoding/json")

// SameJSON reports whether two JSON values are the same value, ignoring
// insignificant space. A missing value equals null. Both stores use it to
// tell a real change from a write of the value already there.
func SameJSON(a, b json.RawMessage) bool {
	a, b = bytes.TrimSpace(a), bytes.TrimSpace(b)
	if len(a) == 0 {
		a = []byte("null")
	}
	if len(b) == 0 {
		b = []byte("null")
	}
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// SkipJSON returns the index just past the JSON value that starts at b[i],
// or -1 when it does not end. It finds the end only, for the fast paths that
// read pages of records without decoding them; json.Valid or encoding/json
// checks the content where it matters.
func SkipJSON(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := SkipJSON(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return j
			}
			j++
		}
		return j
	}
}

// skipString returns the index just past the string whose quote is b[i],
// or -1. It finds each quote with bytes.IndexByte (many bytes a step, where
// a byte at a time was most of a page's decode: a visit is mostly its
// notes) and takes it for the end when an even number of backslashes
// stands before it: read from the left, the backslashes of such a run
// pair off, and an odd one escapes the quote. That is the byte-at-a-time
// reading's answer for every input (TestSkipJSONIsTheByteScan).
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		j += q
		k := j - 1
		for k > i && b[k] == '\\' {
			k--
		}
		if (j-1-k)%2 == 0 {
			return j + 1
		}
		j++
	}
}

// EachMember calls fn with each key and raw value of the JSON object b
// (which must be the whole of b, give or take white space). Anything
// it does not expect is ErrSlowJSON, for the caller to use encoding/json.
func EachMember(b []byte, fn func(key string, v []byte) error) error {
	end, err := EachMemberValueAt(b, SkipSpace(b, 0), fn)
	if err != nil {
		return err
	}
	if SkipSpace(b, end) != len(b) {
		return ErrSlowJSON
	}
	return nil
}

// EachMemberValueAt is EachMemberAt with each member's raw value cut out
// for fn (SkipJSON): the object read where it stands, its values as
// EachMember gives them.
func EachMemberValueAt(b []byte, i int, fn func(key string, v []byte) error) (int, error) {
	return EachMemberAt(b, i, func(key string, b []byte, i int) (int, error) {
		end := SkipJSON(b, i)
		if end < 0 {
			return -1, ErrSlowJSON
		}
		return end, fn(key, b[i:end])
	})
}

// EachMemberAt reads the JSON object whose brace is b[i] and returns the
// index just past it; what follows is the caller's. For each member it
// calls fn with the member's name, b and the index where the value
// starts, and fn reads the value and returns the index just past it (or
// an error, which EachMemberAt returns). A reader of an array of objects
// (a page's records) thus reads each object once, where finding its end
// first (SkipJSON) and then its members read it twice. Anything it does
// not expect is ErrSlowJSON, as EachMember.
func EachMemberAt(b []byte, i int, fn func(key string, b []byte, i int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, ErrSlowJSON
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrSlowJSON
		}
		kEnd := skipString(b, i)
		if kEnd < 0 {
			return 0, ErrSlowJSON
		}
		key, err := memberName(b[i:kEnd])
		if err != nil {
			return 0, err
		}
		i = SkipSpace(b, kEnd)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrSlowJSON
		}
		vEnd, err := fn(key, b, SkipSpace(b, i+1))
		if err != nil {
			return 0, err
		}
		if vEnd < 0 {
			return 0, ErrSlowJSON
		}
		i = SkipSpace(b, vEnd)
		if i >= len(b) {
			return 0, ErrSlowJSON
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, ErrSlowJSON
		}
	}
}

// JSONString decodes a JSON string; "null" is "". Strings without escapes are
// copied as they are.
func JSONString(v []byte) (string, error) {
	if string(v) == "null" {
		return "", nil
	}
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", ErrSlowJSON
	}
	plain := true
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", ErrSlowJSON
	}
	return s, nil
}

// memberName is JSONString for a member's key, with the names most
// members have (memberNames) given as one string each rather than copied
// out of the text: a key copied was an allocation for every field of every
// record the push and the pull decode (decision 0117).
func memberName(v []byte) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if s, ok := memberNames()[string(v[1:len(v)-1])]; ok {
			return s, nil
		}
	}
	return JSONString(v)
}

// memberNames are every entity's field names and the members of the
// sync messages, each its own key. Made at the first use: the entities
// are registered by then. A name with a character JSON escapes is left
// out (its text in a document is not the name).
var memberNames = sync.OnceValue(func() map[string]string {
	names := map[string]string{}
	add := func(n string) {
		if n == "" || strings.ContainsAny(n, "\\\"") || strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r >= 0x80 }) >= 0 {
			return
		}
		names[n] = n
	}
	for _, e := range Entities() {
		for n := range e.Fields {
			add(n)
		}
	}
	for _, v := range []any{Record{}, Mutation{}, PushRequest{}, MutationResult{}, Receipt{}, PushResponse{},
		Removal{}, PullResponse{}, DeviceSignature{}} {
		t := reflect.TypeOf(v)
		for i := range t.NumField() {
			add(strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
		}
	}
	return names
})

// FoldsTo reports whether key matches one of keys ignoring case, as
// encoding/json matches an object's member to a struct field.
func FoldsTo(key string, keys []string) bool {
	for _, k := range keys {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}
