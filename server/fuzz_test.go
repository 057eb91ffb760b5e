package server

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

// FuzzReadInput: any body yields either an input or an error, never a panic,
// and never more than the size limit is read.
func FuzzReadInput(f *testing.F) {
	for _, seed := range []string{`{"input": {"a": 1}}`, `{}`, ``, `[`, `{"input": null}`, `{"input": 1e400}`, `{"input": "x"} x`, "\x1f\x8b"} {
		f.Add([]byte(seed), false)
	}
	s := &Server{opts: Options{MaxRequestBytes: 4096}}
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		r := httptest.NewRequest("POST", "/v1/data/x", bytes.NewReader(body))
		if gz {
			r.Header.Set("Content-Encoding", "gzip")
		}
		in, present, err := s.readInput(r, new([]byte))
		if err != nil && (in != nil || present) {
			t.Fatalf("error with a value: %v %v", in, err)
		}
		if len(body) > 4096 && !gz && err == nil {
			t.Fatalf("accepted %d bytes over the limit", len(body))
		}
	})
}

// FuzzInputMember: the top-level scan finds the same input as decoding
// the whole body into a map does (the last "input" key, escapes decoded),
// and refuses exactly the bodies that are not a JSON object.
func FuzzInputMember(f *testing.F) {
	for _, seed := range []string{`{"input": {"a": [1, "}"]}}`, `{"a": 1, "input": 2, "input": 3}`, `{"\u0069nput": true}`, `{"Input": 1}`,
		` { "x" : "\"input\"" , "input" : [ ] } `, `{}`, `[]`, `"s"`, `{"input": 1} x`, `{"input": }`, `{"a":{"input":1}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var doc map[string]json.RawMessage
		refErr := json.Unmarshal(body, &doc)
		if refErr == nil && doc == nil {
			return // a JSON null: not an object, OPA reads no input
		}
		got, err := inputMember(body)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("%q: scan error %v, decoder error %v", body, err, refErr)
		}
		if err != nil {
			return
		}
		want, ok := doc["input"]
		if !ok {
			if got != nil {
				t.Fatalf("%q: found input %s where the decoder has none", body, got)
			}
			return
		}
		var a, b any
		if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("%q: scan found %s, decoder %s", body, got, want)
		}
	})
}
