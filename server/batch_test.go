package server

import (
	"net/http"
	"strings"
	"testing"
)

// One request, many inputs: each answered as its own decision; a bad one
// makes the answer 207 with its own status, the others still answered.
func TestBatch(t *testing.T) {
	ts := newTestServer(t, Options{})
	r := do(t, "POST", ts.URL+"/v1/batch/data/app/allow", strings.NewReader(`{"inputs": {"a": {"user": "alice"}, "b": {"user": "bob"}, "c": null}}`), nil)
	res, _ := r.body["responses"].(map[string]any)
	if r.status != http.StatusOK || len(res) != 3 {
		t.Fatalf("batch: %d %v", r.status, r.body)
	}
	a, b := res["a"].(map[string]any), res["b"].(map[string]any)
	if a["result"] != true || b["result"] != false || a["decision_id"] == b["decision_id"] || a["http_status"] != nil {
		t.Fatalf("answers %v", res)
	}
	r = do(t, "POST", ts.URL+"/v1/batch/data/app/allow", strings.NewReader(`{"inputs": {"a": {"user": "alice"}, "bad": {"user": 1e999999}}}`), nil)
	res, _ = r.body["responses"].(map[string]any)
	if r.status != http.StatusMultiStatus || res["a"].(map[string]any)["http_status"] != "200" || res["bad"].(map[string]any)["http_status"] != "400" {
		t.Fatalf("partial failure: %d %v", r.status, r.body)
	}
	for body, want := range map[string]int{`{"inputs": [1]}`: 400, `{"x": 1}`: 400, `not json`: 400} {
		if r := do(t, "POST", ts.URL+"/v1/batch/data/app/allow", strings.NewReader(body), nil); r.status != want {
			t.Errorf("%s: %d", body, r.status)
		}
	}
}
