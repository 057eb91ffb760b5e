package sink

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/plugins/logs"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/version"
)

// opaCollector receives decision logs the way an OPA log collector does and
// decodes each batch into OPA's own logs.EventV1, so any drift from OPA's
// wire format fails here.
type opaCollector struct {
	t *testing.T

	mu       sync.Mutex
	requests int
	failNext int
	events   map[string]logs.EventV1
	headers  http.Header
}

func (c *opaCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if r.Method != http.MethodPost || r.URL.Path != "/logs" {
		c.t.Errorf("%s %s, want POST /logs", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if c.failNext > 0 {
		c.failNext--
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	c.headers = r.Header.Clone()
	if r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Content-Type") != "application/json" {
		c.t.Errorf("headers %v: want Content-Type application/json, Content-Encoding gzip", r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		c.t.Errorf("body is not gzip: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var batch []logs.EventV1
	if err := json.NewDecoder(zr).Decode(&batch); err != nil {
		c.t.Errorf("batch does not decode into []logs.EventV1: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for _, ev := range batch {
		c.events[ev.DecisionID] = ev
	}
	w.WriteHeader(http.StatusNoContent)
}

func TestOPADecisionLogsDecodeAsOPAEvents(t *testing.T) {
	col := &opaCollector{t: t, events: map[string]logs.EventV1{}, failNext: 2}
	srv := httptest.NewServer(col)
	defer srv.Close()

	s, err := New(Config{Type: TypeOPA, Name: "opa", URL: srv.URL + "/", Token: "bearer-tok",
		Labels: map[string]string{"env": "test"}, Bundle: "authz"})
	if err != nil {
		t.Fatal(err)
	}
	src := newMemSource()
	const n = 400
	src.Append(testEntries(0, n)...)
	// An erased decision (crypto-erasure keeps the leaf, loses the payload).
	src.Append(audit.Entry{Kind: audit.KindDecision, Type: "decision", DecisionID: "erased-1",
		Time: time.Unix(1700000000, 0).UTC(), Path: "x/y", Erased: true})
	dir := t.TempDir()
	r := NewRunner(src, dir, fastBackoff())
	if err := r.Add(s, Batching{Size: 100, MaxLatency: 5 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Events are not decisions: the cursor moves past them all the same.
	waitFor(t, 10*time.Second, "the cursor to reach the end", func() bool { c, _ := r.Cursor("opa"); return c == n+1 })
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	if got := col.headers.Get("Authorization"); got != "Bearer bearer-tok" {
		t.Errorf("Authorization %q", got)
	}
	decisions := 0
	for i := range n {
		want := testEntry(i)
		ev, ok := col.events[want.DecisionID]
		if want.Kind != audit.KindDecision {
			if ok {
				t.Errorf("event %d was sent to the OPA collector", i)
			}
			continue
		}
		decisions++
		if !ok {
			t.Fatalf("decision %s missing", want.DecisionID)
		}
		if ev.Path != want.Path || ev.RequestedBy != want.Caller || !ev.Timestamp.Equal(want.Time) {
			t.Fatalf("%s: path %q requested_by %q timestamp %v", want.DecisionID, ev.Path, ev.RequestedBy, ev.Timestamp)
		}
		if ev.Bundles["authz"].Revision != want.Revision {
			t.Fatalf("%s: bundles %v", want.DecisionID, ev.Bundles)
		}
		if ev.Labels["env"] != "test" || ev.Labels["version"] != version.Version || ev.Labels["id"] == "" {
			t.Fatalf("%s: labels %v", want.DecisionID, ev.Labels)
		}
		if ev.Input == nil || !jsonEqual(t, *ev.Input, want.Input) {
			t.Fatalf("%s: input %v, want %s", want.DecisionID, ev.Input, want.Input)
		}
		if want.Result == nil != (ev.Result == nil) || ev.Result != nil && !jsonEqual(t, *ev.Result, want.Result) {
			t.Fatalf("%s: result %v, want %s", want.DecisionID, ev.Result, want.Result)
		}
		if ev.Metrics["timer_rego_query_eval_ns"] != float64(want.LatencyNS) {
			t.Fatalf("%s: metrics %v", want.DecisionID, ev.Metrics)
		}
		if want.Error != "" && ev.Custom["error"] != want.Error {
			t.Fatalf("%s: custom %v", want.DecisionID, ev.Custom)
		}
	}
	if len(col.events) != decisions+1 {
		t.Errorf("%d events at the collector, want %d decisions + 1 erased", len(col.events), decisions)
	}
	if er := col.events["erased-1"]; len(er.Erased) != 2 || er.Input != nil {
		t.Errorf("erased decision: %+v", er)
	}
	if col.requests < 2+n/100 {
		t.Errorf("%d requests", col.requests)
	}
}

func TestOPASplitsBatchesAboveUploadLimit(t *testing.T) {
	col := &opaCollector{t: t, events: map[string]logs.EventV1{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	s, err := New(Config{Type: TypeOPA, Name: "opa", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	// Incompressible inputs: 40 events of 1 KiB random bytes (base64) exceed 32 KiB
	// compressed.
	batch := make([]audit.Entry, 40)
	for i := range batch {
		e := testEntry(i * 10) // decisions only
		noise := make([]byte, 1024)
		rand.Read(noise)
		e.Input, _ = json.Marshal(map[string][]byte{"blob": noise})
		e.Index = uint64(i)
		batch[i] = e
	}
	if err := s.Send(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if col.requests < 2 || len(col.events) != 40 {
		t.Errorf("%d requests carrying %d events; want the batch split, all 40 delivered", col.requests, len(col.events))
	}
}

func jsonEqual(t *testing.T, got any, want json.RawMessage) bool {
	t.Helper()
	var w any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(w)
	return string(a) == string(b)
}
