package schema

import (
	"encoding/binary"
	"encoding/json"
)

// ValidJSON reports whether b is one JSON value, give or take white space:
// what json.Valid reports, for every input. json.Valid runs encoding/json's
// scanner, a call through a function value for each byte; a push body is
// nearly all string values (10,000 visits are about 10 MB), and checking it
// was about a twentieth of the server's CPU in a push of 10,000 (decision
// 0128). Here a string's plain bytes are passed over by a table lookup
// each. Like json.Valid it checks escapes and refuses control characters
// in strings, and does not check UTF-8. A document nested deeper than
// validDepth goes to json.Valid itself (which refuses one deeper than
// 10,000), so the two can never differ there.
func ValidJSON(b []byte) bool {
	end := validValue(b, SkipSpace(b, 0), 0)
	switch end {
	case validTooDeep:
		return json.Valid(b)
	case validBad:
		return false
	}
	return SkipSpace(b, end) == len(b)
}

const (
	validBad     = -1
	validTooDeep = -2
	// validDepth: the deepest nesting checked here; a push's or a page's
	// documents are four or five deep.
	validDepth = 64
)

// strPlain marks the bytes a JSON string holds as they are: all but the
// control characters, the quote and the backslash.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// validValue returns the index just past the valid JSON value at b[i],
// validBad when there is none, validTooDeep past validDepth.
func validValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return validBad
	}
	switch c := b[i]; {
	case c == '"':
		return validString(b, i)
	case c == '{':
		if depth == validDepth {
			return validTooDeep
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return validBad
			}
			if i = validString(b, i); i < 0 {
				return i
			}
			i = SkipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return validBad
			}
			if i = validValue(b, SkipSpace(b, i+1), depth+1); i < 0 {
				return i
			}
			var end bool
			if i, end = validNext(b, i, '}'); end {
				return i
			}
		}
	case c == '[':
		if depth == validDepth {
			return validTooDeep
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = validValue(b, i, depth+1); i < 0 {
				return i
			}
			var end bool
			if i, end = validNext(b, i, ']'); end {
				return i
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		return validNumber(b, i)
	case c == 't':
		return validWord(b, i, "true")
	case c == 'f':
		return validWord(b, i, "false")
	case c == 'n':
		return validWord(b, i, "null")
	}
	return validBad
}

// validNext reads what follows a member or an element at b[i]: a comma
// (the index of the next one, false) or close (the index past it, true);
// anything else is validBad, true.
func validNext(b []byte, i int, close byte) (int, bool) {
	i = SkipSpace(b, i)
	switch {
	case i >= len(b):
		return validBad, true
	case b[i] == ',':
		return SkipSpace(b, i+1), false
	case b[i] == close:
		return i + 1, true
	}
	return validBad, true
}

// validString returns the index just past the string whose quote is b[i].
func validString(b []byte, i int) int {
	j := i + 1
	for {
		j = plainWords(b, j)
		for j < len(b) && strPlain[b[j]] {
			j++
		}
		if j >= len(b) {
			return validBad
		}
		switch b[j] {
		case '"':
			return j + 1
		case '\\':
			j++
			if j >= len(b) {
				return validBad
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if j+4 >= len(b) {
					return validBad
				}
				for _, h := range b[j+1 : j+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return validBad
					}
				}
				j += 5
			default:
				return validBad
			}
		default: // a control character
			return validBad
		}
	}
}

// plainWords returns the index of the first 8 bytes from b[j] that hold
// one byte a string cannot hold as it is (a control character, the quote,
// the backslash), or of the last bytes fewer than 8: the plain bytes of a
// string are passed over 8 at a time, where a byte at a time was most of
// checking a page of visits. The tests are the classic "has a zero byte"
// and "has a byte less than n" word tricks, exact for the word as a whole
// (a word they pass holds no such byte; one they stop at is read a byte at
// a time by the caller).
func plainWords(b []byte, j int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		if ((w-ones*0x20)&^w|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			return j
		}
		j += 8
	}
	return j
}

// validNumber returns the index just past the number at b[i]: -? (0 |
// [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?. What follows it is the
// caller's to check.
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return validBad
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return validBad
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return validBad
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return validBad
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func validWord(b []byte, i int, w string) int {
	if len(b)-i < len(w) || string(b[i:i+len(w)]) != w {
		return validBad
	}
	return i + len(w)
}
