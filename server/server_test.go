package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/engine"
)

const policy = `package app

default allow := false

allow if input.user == "alice"

conflict := 1 if input.x
conflict := 2 if input.x
`

func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	src, err := engine.LoadFS(fstest.MapFS{"app/app.rego": {Data: []byte(policy)}}, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New()
	if _, err := e.Activate(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	return e
}

func newTestServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	s, err := New(newEngine(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

type response struct {
	status int
	body   map[string]any
	header http.Header
}

func do(t *testing.T, method, url string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			t.Fatalf("response is not JSON: %s", raw)
		}
	}
	return out
}

func TestDataAPI(t *testing.T) {
	ts := newTestServer(t, Options{})
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		result                   any // nil: no "result" key
		code                     string
		warning                  bool
	}{
		{"allowed", "POST", "/v1/data/app/allow", `{"input": {"user": "alice"}}`, 200, true, "", false},
		{"denied", "POST", "/v1/data/app/allow", `{"input": {"user": "bob"}}`, 200, false, "", false},
		{"undefined document", "POST", "/v1/data/app/nothing", `{"input": {}}`, 200, nil, "", false},
		{"missing input key warns", "POST", "/v1/data/app/allow", `{}`, 200, false, "", true},
		{"empty body", "POST", "/v1/data/app/allow", ``, 200, false, "", true},
		{"GET with input parameter", "GET", "/v1/data/app/allow?input=" + `%7B%22user%22%3A%22alice%22%7D`, "", 200, true, "", false},
		{"malformed JSON", "POST", "/v1/data/app/allow", `{"input": `, 400, nil, "invalid_parameter", false},
		{"trailing garbage", "POST", "/v1/data/app/allow", `{"input": {}} {}`, 400, nil, "invalid_parameter", false},
		{"not an object", "POST", "/v1/data/app/allow", `[1,2]`, 400, nil, "invalid_parameter", false},
		{"bad GET input", "GET", "/v1/data/app/allow?input=%7Bnope", "", 400, nil, "invalid_parameter", false},
		{"quote in path", "POST", "/v1/data/app/%22allow", `{}`, 400, nil, "invalid_parameter", false},
		{"evaluation conflict", "POST", "/v1/data/app/conflict", `{"input": {"x": true}}`, 500, nil, "internal_error", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, ts.URL+tc.path, strings.NewReader(tc.body), nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %v", r.status, tc.status, r.body)
			}
			if tc.code != "" {
				if r.body["code"] != tc.code || r.body["message"] == "" {
					t.Fatalf("error body %v, want code %s", r.body, tc.code)
				}
				return
			}
			got, ok := r.body["result"]
			if (tc.result == nil) == ok || (ok && got != tc.result) {
				t.Fatalf("result %v (present %v), want %v", got, ok, tc.result)
			}
			if id, _ := r.body["decision_id"].(string); len(id) != 36 {
				t.Fatalf("decision_id %q", r.body["decision_id"])
			}
			if _, warned := r.body["warning"]; warned != tc.warning {
				t.Fatalf("warning present=%v, want %v", warned, tc.warning)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t, Options{MaxRequestBytes: 64})
	big := `{"input": {"user": "` + strings.Repeat("a", 100) + `"}}`
	if r := do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(big), nil); r.status != 413 {
		t.Fatalf("oversized body: status %d %v", r.status, r.body)
	}
	// A small gzip body that inflates past the limit is refused too.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"input": "` + strings.Repeat("z", 10000) + `"}`))
	zw.Close()
	if zb.Len() > 64 {
		t.Fatalf("test setup: compressed size %d", zb.Len())
	}
	if r := do(t, "POST", ts.URL+"/v1/data/app/allow", &zb, map[string]string{"Content-Encoding": "gzip"}); r.status != 413 {
		t.Fatalf("gzip bomb: status %d", r.status)
	}
	// A gzip body within the limit works.
	zb.Reset()
	zw = gzip.NewWriter(&zb)
	zw.Write([]byte(`{"input":{"user":"alice"}}`))
	zw.Close()
	if r := do(t, "POST", ts.URL+"/v1/data/app/allow", &zb, map[string]string{"Content-Encoding": "gzip"}); r.status != 200 || r.body["result"] != true {
		t.Fatalf("gzip body: %d %v", r.status, r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	s, err := New(engine.New(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if r := do(t, "GET", ts.URL+"/health", nil, nil); r.status != 500 {
		t.Fatalf("health before activation: %d", r.status)
	}
	ts2 := newTestServer(t, Options{})
	if r := do(t, "GET", ts2.URL+"/health", nil, nil); r.status != 200 || !strings.HasPrefix(r.body["revision"].(string), "sha256:") {
		t.Fatalf("health: %d %v", r.status, r.body)
	}
	do(t, "POST", ts2.URL+"/v1/data/app/allow", strings.NewReader(`{"input":{"user":"alice"}}`), nil)
	resp, err := http.Get(ts2.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`belladonna_decisions_total{outcome="allow",path="app/allow"} 1`, `belladonna_decision_duration_seconds_count{path="app/allow"} 1`,
		`belladonna_http_requests_total{code="2xx"}`, "belladonna_policy_activations_total 1", `belladonna_decision_cache_total{result="hit"} 0`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestTokenAuthentication(t *testing.T) {
	dir := t.TempDir()
	sum := sha256.Sum256([]byte("s3cret-token"))
	file := filepath.Join(dir, "tokens")
	os.WriteFile(file, []byte("# clients\n"+hex.EncodeToString(sum[:])+"\n"), 0o600)
	auth, err := LoadTokenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, Options{Authenticator: auth})
	body := `{"input":{"user":"alice"}}`
	for _, tc := range []struct {
		name, header string
		status       int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"basic scheme", "Basic czNjcmV0LXRva2Vu", 401},
		{"valid token", "Bearer s3cret-token", 200},
	} {
		hdr := map[string]string{}
		if tc.header != "" {
			hdr["Authorization"] = tc.header
		}
		r := do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(body), hdr)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, r.status, tc.status)
		}
		if tc.status == 401 && (r.body["code"] != "unauthorized" || strings.Contains(r.body["message"].(string), "nope")) {
			t.Errorf("%s: body %v", tc.name, r.body)
		}
	}
	if r := do(t, "GET", ts.URL+"/health", nil, nil); r.status != 200 {
		t.Errorf("health must stay open for probes: %d", r.status)
	}
	// A plain-text token in the file is refused, naming the line.
	os.WriteFile(file, []byte("s3cret-token\n"), 0o600)
	if _, err := LoadTokenFile(file); err == nil || !strings.Contains(err.Error(), "tokens:1") {
		t.Fatalf("plain token accepted or error unclear: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	ts := newTestServer(t, Options{RateLimit: NewRateLimit(0.001, 2)})
	var statuses []int
	for range 4 {
		statuses = append(statuses, do(t, "POST", ts.URL+"/v1/data/app/allow", strings.NewReader(`{}`), nil).status)
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 || statuses[3] != 429 {
		t.Fatalf("statuses %v, want burst of 2 then 429", statuses)
	}
}

func TestStartStop(t *testing.T) {
	s, err := New(newEngine(t), Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", "http://"+addr.String()+"/v1/data/app/allow", strings.NewReader(`{"input":{"user":"alice"}}`), nil); r.body["result"] != true {
		t.Fatalf("live server: %v", r.body)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
