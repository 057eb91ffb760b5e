package server

import (
	"strings"
	"testing"
)

// ?explain traces the evaluation as OPA does, ?metrics reports timers;
// neither changes the result.
func TestExplainAndMetrics(t *testing.T) {
	ts := newTestServer(t, Options{})
	r := do(t, "POST", ts.URL+"/v1/data/app/allow?explain=full", strings.NewReader(`{"input": {"user": "alice"}}`), nil)
	trace, _ := r.body["explanation"].([]any)
	if r.status != 200 || r.body["result"] != true || len(trace) == 0 {
		t.Fatalf("explain=full: %d %v", r.status, r.body)
	}
	if ev, _ := trace[0].(map[string]any); ev["op"] == nil {
		t.Fatalf("trace events lack OPA's fields: %v", trace[0])
	}
	r = do(t, "POST", ts.URL+"/v1/data/app/allow?explain=notes", strings.NewReader(`{"input": {"user": "bob"}}`), nil)
	if r.status != 200 || r.body["result"] != false {
		t.Fatalf("explain=notes: %d %v", r.status, r.body)
	}
	if r := do(t, "POST", ts.URL+"/v1/data/app/allow?explain=everything", strings.NewReader(`{"input": {}}`), nil); r.status != 400 {
		t.Fatalf("bad explain mode: %d", r.status)
	}
	r = do(t, "POST", ts.URL+"/v1/data/app/allow?metrics", strings.NewReader(`{"input": {"user": "alice"}}`), nil)
	m, _ := r.body["metrics"].(map[string]any)
	if r.body["result"] != true || m["timer_rego_query_eval_ns"] == nil || m["timer_server_handler_ns"] == nil {
		t.Fatalf("metrics: %v", r.body)
	}
	if r := do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(`{"input": {"user": "alice"}}`), nil); r.body["metrics"] != nil || r.body["explanation"] != nil {
		t.Fatalf("plain request: %v", r.body)
	}
}

// A YAML body (content type mentioning yaml) is read as OPA reads it; a
// JSON body under another content type is still JSON; nesting meant to
// exhaust the stack is a 400.
func TestContentTypesAndDeepNesting(t *testing.T) {
	ts := newTestServer(t, Options{})
	r := do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader("input:\n  user: alice\n"), map[string]string{"Content-Type": "application/x-yaml"})
	if r.status != 200 || r.body["result"] != true {
		t.Fatalf("yaml: %d %v", r.status, r.body)
	}
	r = do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(`{"input": {"user": "alice"}}`), map[string]string{"Content-Type": "text/plain"})
	if r.status != 200 || r.body["result"] != true {
		t.Fatalf("text/plain JSON: %d %v", r.status, r.body)
	}
	deep := `{"input": ` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`
	r = do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(deep), nil)
	if r.status != 400 || !strings.Contains(r.body["message"].(string), "depth") {
		t.Fatalf("deep nesting: %d %v", r.status, r.body)
	}
	r = do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(`{"input": {"user": "alice",}}`), nil)
	if r.status != 400 || !strings.Contains(r.body["message"].(string), "at offset 27") {
		t.Fatalf("malformed JSON names the byte: %d %v", r.status, r.body)
	}
}
