package correlate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

var jsonCases = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-12`, `3.25`, `1e9`, `-1.5E-3`, `12345678901234567890`,
	`""`, `"plain"`, `"esc\"aped\\ \n \t \u00e9 \ud83d\ude00"`, `"héllo wörld"`, "\"bad \xff utf8\"",
	`{"a": 1, "b": [true, false, null, {"c": "d"}], "e": {"f": {"g": []}}}`,
	` { "dup" : 1 , "dup" : 2 } `,
	`{"subject":{"id":"alice","roles":["reader","writer"]},"path":["api","v1"],"n":1.0}`,
	// invalid
	`{`, `}`, `[1,]`, `{"a":}`, `{"a" 1}`, `{a: 1}`, `01`, `1.`, `-`, `.5`, `1e`, `tru`, `nul`, `"unterminated`,
	`"ctl ` + "\x01" + `"`, `[1] [2]`, `{"a":1,}`, `"\x"`, ``, `   `,
	strings.Repeat("[", 300) + strings.Repeat("]", 300),
}

// TestJSONToValue checks the hand-written parser against OPA's own
// ast.ValueFromReader: the same value, or an error for both.
func TestJSONToValue(t *testing.T) {
	keys := newKeyCache(4)
	for _, c := range jsonCases {
		checkJSON(t, []byte(c), nil)
		checkJSON(t, []byte(c), keys) // the cache fills up and stops growing
	}
	if len(keys.terms) != 4 {
		t.Errorf("key cache holds %d keys, bound 4", len(keys.terms))
	}
}

func checkJSON(t *testing.T, data []byte, keys *keyCache) {
	t.Helper()
	got, gerr := jsonToValue(data, keys)
	if !json.Valid(data) {
		if gerr == nil {
			t.Errorf("%q: invalid JSON parsed as %v", data, got)
		}
		return
	}
	if errors.Is(gerr, errJSONDepth) {
		return // deeper than we accept; encoding/json allows more
	}
	want, werr := ast.ValueFromReader(bytes.NewReader(data))
	switch {
	case gerr != nil || werr != nil:
		t.Errorf("%q: jsonToValue err %v, ValueFromReader err %v", data, gerr, werr)
	case got.Compare(want) != 0:
		t.Errorf("%q: got %v, want %v", data, got, want)
	}
}

func FuzzJSONToValue(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, newKeyCache(8))
	})
}
