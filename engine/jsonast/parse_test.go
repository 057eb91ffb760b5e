package jsonast

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// reference is OPA's own path from JSON bytes to an ast.Value.
func reference(b []byte) (ast.Value, error) {
	var x any
	if err := util.UnmarshalJSON(b, &x); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(x)
}

// strictReference is reference minus its one leak: util.UnmarshalJSON checks
// for trailing data with a single Decoder.Token call, and a trailing null
// decodes to a nil token, so "1 null junk" gets through. json.Valid checks
// the whole input with the same scanner, closing exactly that gap.
func strictReference(b []byte) (ast.Value, error) {
	if !json.Valid(b) {
		var x any
		return nil, json.Unmarshal(b, &x)
	}
	return reference(b)
}

// sameValue fails t unless got is indistinguishable from want for OPA.
func sameValue(t *testing.T, in []byte, got, want ast.Value) {
	t.Helper()
	if got.Compare(want) != 0 {
		t.Fatalf("input %q: Compare != 0\n got: %v\nwant: %v", in, got, want)
	}
	if gs, ws := got.String(), want.String(); gs != ws {
		t.Fatalf("input %q: String differs\n got: %s\nwant: %s", in, gs, ws)
	}
	if got.Hash() != want.Hash() {
		t.Fatalf("input %q: Hash differs: got %d want %d", in, got.Hash(), want.Hash())
	}
	if got.IsGround() != want.IsGround() {
		t.Fatalf("input %q: IsGround differs", in)
	}
	if ga, wa := ast.TypeName(got), ast.TypeName(want); ga != wa {
		t.Fatalf("input %q: type %s, want %s", in, ga, wa)
	}
	if o, ok := got.(ast.Object); ok && o.Len() != want.(ast.Object).Len() {
		t.Fatalf("input %q: object Len %d, want %d", in, o.Len(), want.(ast.Object).Len())
	}
	if a, ok := got.(*ast.Array); ok && a.Len() != want.(*ast.Array).Len() {
		t.Fatalf("input %q: array Len %d, want %d", in, a.Len(), want.(*ast.Array).Len())
	}
}

var validDocs = []string{
	`null`, `true`, `false`,
	`0`, `-0`, `1`, `-1`, `-2`, `512`, `513`, `100`, `101`, `999`, `-512`,
	`1.50`, `1e3`, `1E3`, `1e+3`, `1e-3`, `-0.0`, `0.0e0`, `123456789012345678901234567890`,
	`3.141592653589793238462643383279`, `1e1000`, `-1e-1000`, `1e100`, `5e-324`, `1.7976931348623157e308`,
	`""`, `"a"`, `"method"`, `"path"`, `"input"`, `" "`, `"hello, world"`,
	`"\"\\\/\b\f\n\r\t"`, `"\u0000"`, `"\u00e9"`, `"\u20AC"`, `"\uD83D\uDE00"`, `"\ud83d\ude00"`,
	`"\uD800"`, `"\uDC00"`, `"\uD800\u0041"`, `"\uD800\uD800\uDC00"`, `"\uDC00\uD800"`, `"\uD800x"`,
	`"\uD800\n"`, `"\uD800\\"`, `"\uDBFF\uDFFF"`,
	"\"caf\u00e9\"", "\"\u65e5\u672c\u8a9e\"", "\"\U0001F600\"", "\"\x7f\"",
	"\"\xff\"", "\"a\xffb\"", "\"\xc3\"", "\"\xc3\x28\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
	"\"\xe2\x82\"", "\"\xef\xbf\xbd\"", "\"\xff\\n\"", "\"\\n\xff\"", "\"long ascii string then \xff\"",
	"\"0123456789abcdef\xc3\xa9 and escape \\t after\"",
	"\"\\t then caf\u00e9 and \U0001F600\"", "{\"\\u00e9t\u00e9\":\"\\/\"}",
	`[]`, `{}`, `[[]]`, `[{}]`, `{"a":{}}`, `[1,2,3]`, `[1,"a",true,null,{"b":[]}]`,
	`{"a":1}`, `{"a":1,"b":2}`, `{"b":2,"a":1}`, `{"":0}`, `{"a":1,"a":2}`, `{"a":1,"b":2,"a":3}`,
	`{"a":{"x":1},"a":{"y":2}}`, `{"a":[1],"a":[2,3]}`, `{"\u0061":1,"a":2}`,
	`{"a":1,"b":2,"c":3,"a":4,"b":5,"d":6}`,
	`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":10}`,
	" \t\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } } \t\r\n",
	`[1.0, 1, 1.00, 1e0]`, `{"x":1.0,"y":1}`, `[-0, 0, 0.0]`,
	`{"input":{"method":"GET","path":["v1","data"],"user":"alice","n":42}}`,
	"\"\\u0000\\u001f\\u007f\"",
}

func TestParseValid(t *testing.T) {
	docs := append([]string{}, validDocs...)
	docs = append(docs, largeObject(40, false), largeObject(40, true), largeObject(300, true), benchLarge, benchSmall)
	for _, doc := range docs {
		want, err := strictReference([]byte(doc))
		if err != nil {
			t.Fatalf("reference rejects %q: %v", doc, err)
		}
		got, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse(%q): %v", doc, err)
		}
		sameValue(t, []byte(doc), got, want)
	}
}

// largeObject builds an object with n keys, optionally repeating some, to
// cover the map-based duplicate detection.
func largeObject(n int, dups bool) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		k := i
		if dups && i%3 == 0 {
			k = i / 2
		}
		sb.WriteString(`"key` + strconv.Itoa(k) + `":` + strconv.Itoa(i))
	}
	sb.WriteByte('}')
	return sb.String()
}

var invalidDocs = []struct {
	in, err string
}{
	{``, `offset 0: unexpected end of JSON input`},
	{`   `, `offset 3: unexpected end of JSON input`},
	{`{"a":1} x`, `offset 8: invalid character 'x' after top-level value`},
	{`{"a":1}}`, `offset 7: invalid character '}' after top-level value`},
	{`1 2`, `offset 2: invalid character '2' after top-level value`},
	{`[] []`, `offset 3: invalid character '[' after top-level value`},
	{`{"abc" }`, `offset 7: invalid character '}' after object key`},
	{`{"abcdefghijklmn":1,"x" }`, `offset 24: invalid character '}' after object key`},
	{`{"a":1 "b":2}`, `offset 7: invalid character '"' after object key:value pair`},
	{`{"a":1,}`, `offset 7: invalid character '}' looking for beginning of object key string`},
	{`{a:1}`, `offset 1: invalid character 'a' looking for beginning of object key string`},
	{`{'a':1}`, `offset 1: invalid character '\'' looking for beginning of object key string`},
	{`[1,]`, `offset 3: invalid character ']' looking for beginning of value`},
	{`[1 2]`, `offset 3: invalid character '2' after array element`},
	{`[`, `offset 1: unexpected end of JSON input`},
	{`[1`, `offset 2: unexpected end of JSON input`},
	{`{`, `offset 1: unexpected end of JSON input`},
	{`{"a"`, `offset 4: unexpected end of JSON input`},
	{`{"a":`, `offset 5: unexpected end of JSON input`},
	{`{"a":1`, `offset 6: unexpected end of JSON input`},
	{`{"a":1 `, `offset 7: unexpected end of JSON input`},
	{`{"a\q":1}`, `offset 4: invalid character 'q' in string escape code`},
	{`"abc`, `offset 4: unexpected end of JSON input`},
	{`"abc\`, `offset 5: unexpected end of JSON input`},
	{`"\u12`, `offset 5: unexpected end of JSON input`},
	{`"\x"`, `offset 2: invalid character 'x' in string escape code`},
	{`"\'"`, `offset 2: invalid character '\'' in string escape code`},
	{`"\U0041"`, `offset 2: invalid character 'U' in string escape code`},
	{`"\u12g4"`, `offset 5: invalid character 'g' in \u hexadecimal character escape`},
	{`"\uD800\u12g4"`, `offset 11: invalid character 'g' in \u hexadecimal character escape`},
	{"\"a\nb\"", `offset 2: invalid character '\n' in string literal`},
	{"\"a\x00b\"", `offset 2: invalid character '\x00' in string literal`},
	{"\"\xff\x01\"", `offset 2: invalid character '\x01' in string literal`},
	{"\"\\n\x1f\"", `offset 3: invalid character '\x1f' in string literal`},
	{`01`, `offset 1: invalid character '1' after top-level value`},
	{`[01]`, `offset 2: invalid character '1' after array element`},
	{`-`, `offset 1: unexpected end of JSON input`},
	{`-a`, `offset 1: invalid character 'a' in numeric literal`},
	{`+1`, `offset 0: invalid character '+' looking for beginning of value`},
	{`.5`, `offset 0: invalid character '.' looking for beginning of value`},
	{`1.`, `offset 2: unexpected end of JSON input`},
	{`1.e3`, `offset 2: invalid character 'e' after decimal point in numeric literal`},
	{`1e`, `offset 2: unexpected end of JSON input`},
	{`1e+`, `offset 3: unexpected end of JSON input`},
	{`1ex`, `offset 2: invalid character 'x' in exponent of numeric literal`},
	{`[1e+]`, `offset 4: invalid character ']' in exponent of numeric literal`},
	{`NaN`, `offset 0: invalid character 'N' looking for beginning of value`},
	{`tru`, `offset 3: unexpected end of JSON input`},
	{`trux`, `offset 3: invalid character 'x' in literal true (expecting 'e')`},
	{`fals`, `offset 4: unexpected end of JSON input`},
	{`nul`, `offset 3: unexpected end of JSON input`},
	{`nulL`, `offset 3: invalid character 'L' in literal null (expecting 'l')`},
	{`True`, `offset 0: invalid character 'T' looking for beginning of value`},
	{`truefalse`, `offset 4: invalid character 'f' after top-level value`},
	{"\xef\xbb\xbf{}", `offset 0: invalid character '\xef' looking for beginning of value`},
	{"\v1", `offset 0: invalid character '\v' looking for beginning of value`},
	{"1\f", `offset 1: invalid character '\f' after top-level value`},
	{"[1\u00a0]", `offset 2: invalid character '\xc2' after array element`},
	// util.UnmarshalJSON accepts these (see strictReference); Parse must not.
	{`1 null`, `offset 2: invalid character 'n' after top-level value`},
	{`{} null garbage`, `offset 3: invalid character 'n' after top-level value`},
	{`[]null`, `offset 2: invalid character 'n' after top-level value`},
	// Syntactically fine but out of OPA's number range: InterfaceToValue rejects.
	{`1e1000000`, `offset 0: invalid number: number too big`},
	{`[0, -1e-1000000]`, `offset 4: invalid number: number too big`},
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidDocs {
		in := []byte(tc.in)
		if _, err := strictReference(in); err == nil {
			t.Errorf("reference accepts %q; test case is wrong", tc.in)
		}
		v, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error", tc.in, v)
			continue
		}
		if want := "jsonast: " + tc.err; err.Error() != want {
			t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tc.in, err, want)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) error %T is not a *SyntaxError", tc.in, err)
		}
		checkSyntaxParity(t, in, err)
	}
}

// TestReferenceTrailingNull pins down why the tests compare against
// strictReference: if OPA ever closes the gap, the special case can go.
func TestReferenceTrailingNull(t *testing.T) {
	for _, in := range []string{`1 null`, `{} null garbage`, `"a"null`} {
		if _, err := reference([]byte(in)); err != nil {
			t.Logf("util.UnmarshalJSON now rejects %q (%v); strictReference may be simplified", in, err)
		}
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted trailing data", in)
		}
	}
}

func TestMaxDepth(t *testing.T) {
	for _, tc := range []struct {
		open, close string
	}{
		{"[", "]"},
		{`{"a":`, "}"},
	} {
		for _, depth := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1, 3 * MaxDepth} {
			in := []byte(strings.Repeat(tc.open, depth) + "1" + strings.Repeat(tc.close, depth))
			want, refErr := strictReference(in)
			got, err := Parse(in)
			if (refErr == nil) != (err == nil) {
				t.Fatalf("%s depth %d: reference err %v, Parse err %v", tc.open, depth, refErr, err)
			}
			if depth <= MaxDepth {
				if err != nil {
					t.Fatalf("%s depth %d: %v", tc.open, depth, err)
				}
				sameValue(t, in[:0], got, want)
				continue
			}
			if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
				t.Fatalf("%s depth %d: got %v, want max depth error", tc.open, depth, err)
			}
			checkSyntaxParity(t, in, err)
		}
	}
	// Unclosed: the limit must trip before the end of input is noticed.
	in := []byte(strings.Repeat("[", MaxDepth+1))
	if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), "offset 10000: exceeded max depth") {
		t.Fatalf("unclosed deep input: %v", err)
	}
}

// The string scanner works on 8-byte words; put each kind of special byte
// at every position of the first few words, at several alignments.
func TestStringWordBoundaries(t *testing.T) {
	specials := []string{`"`, `\n`, `\u00e9`, `\ud83d\ude00`, `\`, "\x01", "\x1f", "\x7f", "\xff", "\xc3\xa9", "\xe2\x82", " "}
	for _, prefix := range []string{``, `[`, `{"k":`, `[1,  `} {
		for n := range 26 {
			for pos := 0; pos <= n; pos++ {
				for _, sp := range specials {
					doc := prefix + `"` + strings.Repeat("a", pos) + sp + strings.Repeat("b", n-pos) + `"`
					switch prefix {
					case `[`, `[1,  `:
						doc += `]`
					case `{"k":`:
						doc += `}`
					}
					checkDoc(t, []byte(doc))
				}
			}
		}
	}
}

// Documents larger than the string window, strings longer than half of it,
// and objects too large for the pooled duplicate-key map.
func TestLargeDocuments(t *testing.T) {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 5000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"item-` + strconv.Itoa(i) + `-padding", ` + strconv.Itoa(i*7) + `.5`)
	}
	sb.WriteString(`, "` + strings.Repeat("x", windowSize) + `", "tail"]`)
	checkDoc(t, []byte(sb.String()))
	checkDoc(t, []byte(largeObject(3*maxPooledScratch, true)))
	checkDoc(t, []byte(`{"a":[`+largeObject(100, true)+`,`+largeObject(3*maxPooledScratch, true)+`],"b":`+largeObject(50, true)+`}`))
}

// The result must not alias the input buffer, which callers may reuse.
func TestNoAliasing(t *testing.T) {
	in := []byte(`{"key":"value","n":12345,"a":["x"],"e":"\u00e9"}`)
	v, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	want := v.String()
	for i := range in {
		in[i] = 'X'
	}
	if got := v.String(); got != want {
		t.Fatalf("value changed with input: %s, want %s", got, want)
	}
}

// Pooled scratch must not leak between concurrent or consecutive calls.
func TestConcurrent(t *testing.T) {
	docs := append([]string{benchLarge, benchSmall}, validDocs...)
	want := make([]string, len(docs))
	for i, d := range docs {
		v, err := Parse([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		want[i] = v.String()
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(docs)
				v, err := Parse([]byte(docs[i]))
				if err != nil {
					t.Error(err)
					return
				}
				if v.String() != want[i] {
					t.Errorf("doc %d: got %s want %s", i, v, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// checkSyntaxParity requires that, where encoding/json finds a syntax error,
// Parse reports the same one at the same place. encoding/json's offset counts
// the offending byte as read, so it is one more than Parse's except at end
// of input; and it quotes bytes >= 0x80 as Latin-1 runes, Parse as \x escapes.
func checkSyntaxParity(t *testing.T, in []byte, err error) {
	t.Helper()
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("input %q: error %T is not a *SyntaxError", in, err)
	}
	if se.Offset < 0 || se.Offset > len(in) {
		t.Fatalf("input %s: offset %d out of range", short(in), se.Offset)
	}
	var x any
	var je *json.SyntaxError
	if !errors.As(json.Unmarshal(in, &x), &je) {
		// encoding/json accepts: only OPA's number range check can object.
		if !strings.HasPrefix(se.Msg, "invalid number") {
			t.Fatalf("input %s: encoding/json accepts, Parse says %v", short(in), err)
		}
		return
	}
	if strings.HasPrefix(se.Msg, "invalid number") {
		// Parse stopped at an out-of-range number before the syntax error.
		return
	}
	wantOff := int(je.Offset) - 1
	if je.Error() == "unexpected end of JSON input" {
		wantOff = int(je.Offset)
	}
	wantMsg := je.Error()
	// At end of input encoding/json feeds its state machine a pretend space,
	// so a truncated escape, number or literal reads as "invalid character
	// ' '" rather than "unexpected end of JSON input".
	if int(je.Offset) == len(in) && strings.HasPrefix(wantMsg, "invalid character ' ' ") &&
		se.Offset == len(in) && se.Msg == "unexpected end of JSON input" {
		return
	}
	if strings.HasSuffix(wantMsg, " exceeded max depth") {
		wantMsg = "exceeded max depth (" + strconv.Itoa(MaxDepth) + ")"
	}
	if se.Offset < len(in) {
		c := in[se.Offset]
		if jq := "invalid character " + jsonQuoteChar(c); strings.HasPrefix(wantMsg, jq) {
			wantMsg = "invalid character " + quoteByte(c) + wantMsg[len(jq):]
		}
	}
	if se.Offset != wantOff || se.Msg != wantMsg {
		t.Fatalf("input %s:\n Parse: offset %d: %s\n  json: offset %d: %s", short(in), se.Offset, se.Msg, wantOff, wantMsg)
	}
}

// jsonQuoteChar renders c the way encoding/json's messages do.
func jsonQuoteChar(c byte) string {
	switch c {
	case '\'':
		return `'\''`
	case '"':
		return `'"'`
	}
	q := strconv.Quote(string(rune(c)))
	return "'" + q[1:len(q)-1] + "'"
}

// short keeps failure messages about deep inputs readable.
func short(in []byte) string {
	if len(in) > 120 {
		return strconv.Quote(string(in[:60])) + "..." + strconv.Quote(string(in[len(in)-60:]))
	}
	return strconv.Quote(string(in))
}

// Booleans, null, small integers and the empty string come from OPA's
// interned values, so an array of them costs only the array itself: the
// Term backing, NewArray's pointer and hash slices, and the Array.
func TestInternedScalarsDoNotAllocate(t *testing.T) {
	in := []byte(`[true, false, null, 0, 7, 512, -1, ""]`)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := Parse(in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 4 {
		t.Fatalf("Parse(%s) made %v allocations, want <= 4", in, allocs)
	}
}
