package server

import (
	"bytes"
	"net/http/httptest"
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
		in, present, err := s.readInput(r)
		if err != nil && (in != nil || present) {
			t.Fatalf("error with a value: %v %v", in, err)
		}
		if len(body) > 4096 && !gz && err == nil {
			t.Fatalf("accepted %d bytes over the limit", len(body))
		}
	})
}
