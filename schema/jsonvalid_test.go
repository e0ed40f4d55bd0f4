package schema

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// validCases are documents at the edges of JSON's grammar: each is
// asked of ValidJSON and json.Valid, whole and cut at every byte.
var validCases = []string{
	``, ` `, `null`, `nul`, `nulls`, `true`, `tru`, `false`, `fals`, `True`, ` true `, "\t\r\n1\n",
	`0`, `-0`, `-`, `01`, `-01`, `1.`, `1.5`, `.5`, `1e`, `1e5`, `1E+5`, `1e-05`, `1e+`, `-1.25e-3`, `1x`, `1 2`,
	`""`, `"`, `"a`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00G9"`, `"\u12"`, `"\x"`, `"\'"`,
	"\"a\x01b\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", "\"é\"", "\"a\tb\"",
	`{}`, `{`, `}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{"a" : 1 , "b" : [ ] }`, `{a:1}`, `{"a"}`, `{"a":}`,
	`{"a":1 "b":2}`, `{,}`, `{"a":1}}`, `{"a":{"b":{"c":[1,{"d":null}]}}}`, `{"\u0000":1}`, `{1:2}`,
	`[]`, `[`, `]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,2,[3,[4]]]`, `[[]]]`, `[true,false,null,"x",-1.5e3,{}]`,
	`{"mutations":[{"id":"x","fields":{"notes":"a \"quoted\" note","n":12}}],"cursor":"c"}`,
	// Strings longer than a word (plainWords), with what ends or breaks one
	// at every place in a word as the cuts below shift them.
	`"abcdefghijklmnopqrstuvwxyz0123456789"`, `"abcdefghijklmnop\"qrstuvwxyz"`, "\"abcdefghijkl\x01mnopqrstuvw\"",
	"\"abcdefghijklmnopqr\x1f\"", "\"abcdefgh\x7f\xff\xfeijklmnop\"", `"abcdefghij\\\\klmnopqrst\\"`,
	`"abcdefghij\\\\\"klmnopqrst"`, `"éééééééé\u00e9xxxxxxxxxxxxxxxxx\nyyyyyyyy"`, `"abcdefghijklmnopq\u00G9rstuvwxyz"`,
	`{"notes":"` + strings.Repeat("The officer saw the person at home; \\\"all well\\\". ", 3) + `","n":[1,"abcdefghijklmnopq"]}`,
}

func TestValidJSONIsJSONValid(t *testing.T) {
	check := func(doc string) {
		t.Helper()
		if got, want := ValidJSON([]byte(doc)), json.Valid([]byte(doc)); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid %v", doc, got, want)
		}
	}
	for _, doc := range validCases {
		for n := 0; n <= len(doc); n++ {
			check(doc[:n])
			check(doc[n:])
		}
	}
	// Nesting: past validDepth ValidJSON asks json.Valid, which refuses a
	// document more than 10,000 deep.
	for _, n := range []int{validDepth - 1, validDepth, validDepth + 1, 10000, 10001} {
		check(strings.Repeat("[", n) + strings.Repeat("]", n))
		check(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
		check(strings.Repeat("[", n) + strings.Repeat("]", n-1))
	}
	// Every one-byte change of valid documents.
	rnd := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("{}[]\":,\\/ \t\n0123456789-+.eEabfnrtuxlsTN\x00\x1f\x7f\xc3\xa9\xff")
	for _, doc := range validCases {
		if !json.Valid([]byte(doc)) || doc == "" {
			continue
		}
		for range 200 {
			b := []byte(doc)
			b[rnd.IntN(len(b))] = alphabet[rnd.IntN(len(alphabet))]
			check(string(b))
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, doc := range validCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON checks a push body of 500 visits as the server does.
func BenchmarkValidJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"mutations":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":"0190f0a8-7c41-7a66-9d3e-5b2d0c1e2f3a","entity":"visit","record_id":"0190f0a8-7c41-7a66-9d3e-5b2d0c1e2f3b","case_id":"0190f0a8-7c41-7a66-9d3e-5b2d0c1e2f3c","fields":{"location":"home","notes":"` +
			strings.Repeat("The officer saw the person at home; \\\"all well\\\". ", 12) + `","score":12.5,"flags":[true,false,null]},"clock":"0001733500000000-0000-dev","device_time":"2026-12-07T10:00:00Z"}`)
	}
	sb.WriteString(`],"cursor":""}`)
	doc := []byte(sb.String())
	b.Run("ValidJSON", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if !ValidJSON(doc) {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if !json.Valid(doc) {
				b.Fatal("invalid")
			}
		}
	})
}
