package sink

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// hecReceiver implements the receiving side of Splunk's HTTP Event Collector
// (Splunk itself cannot be installed here): it checks the path and the
// token, decodes the concatenated JSON events, and answers as HEC does.
type hecReceiver struct {
	t     *testing.T
	token string

	mu       sync.Mutex
	answer   func(n int) (int, string) // per request; nil means success
	requests int
	gzipped  int
	events   map[uint64]hecDecoded
	dups     int
}

type hecDecoded struct {
	Time       float64     `json:"time"`
	Host       string      `json:"host"`
	Source     string      `json:"source"`
	SourceType string      `json:"sourcetype"`
	Event      audit.Entry `json:"event"`
}

func (h *hecReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if r.Method != http.MethodPost || r.URL.Path != "/services/collector/event" {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"text":"The requested URL was not found on this server.","code":404}`)
		return
	}
	if h.answer != nil {
		if status, body := h.answer(h.requests); status != 0 {
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
	}
	if r.Header.Get("Authorization") != "Splunk "+h.token {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"text":"Invalid token","code":4}`)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		h.gzipped++
		body = zr
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev hecDecoded
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"text":"Invalid data format","code":6}`)
			return
		}
		if _, seen := h.events[ev.Event.Index]; seen {
			h.dups++
		}
		h.events[ev.Event.Index] = ev
	}
	io.WriteString(w, `{"text":"Success","code":0}`)
}

func (h *hecReceiver) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

func writeSecret(t *testing.T, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSplunkHECDeliversThroughBusyAndRejectedAnswers(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			const token = "hec-secret-token-0f3a"
			h := &hecReceiver{t: t, token: token, events: map[uint64]hecDecoded{}}
			// Requests 2-3: HEC busy (retryable); 4-5: token refused, as
			// when a token is rotated on Splunk's side before ours.
			h.answer = func(n int) (int, string) {
				switch n {
				case 2, 3:
					return http.StatusServiceUnavailable, `{"text":"Server is busy","code":9}`
				case 4, 5:
					return http.StatusForbidden, `{"text":"Token disabled","code":1}`
				}
				return 0, ""
			}
			srv := httptest.NewServer(h)
			defer srv.Close()

			s, err := New(Config{Type: TypeSplunk, Name: "hec", URL: srv.URL, TokenFile: writeSecret(t, token), Gzip: gz, Hostname: "node-1"})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			src := newMemSource()
			r := NewRunner(src, t.TempDir(), fastBackoff(), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			if err := r.Add(s, Batching{Size: 25, MaxLatency: 5 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			const n = 300
			src.Append(testEntries(0, n)...)
			waitFor(t, 10*time.Second, "all events at HEC", func() bool { return h.count() == n })
			if err := r.Stop(t.Context()); err != nil {
				t.Fatal(err)
			}

			h.mu.Lock()
			defer h.mu.Unlock()
			if gz && h.gzipped == 0 || !gz && h.gzipped != 0 {
				t.Errorf("gzip %v but %d gzipped requests", gz, h.gzipped)
			}
			if h.dups != 0 {
				t.Errorf("%d duplicates: failed requests must not count as delivered", h.dups)
			}
			for i := range uint64(n) {
				ev := h.events[i]
				want := testEntry(int(i))
				if ev.Source != "belladonna" || ev.SourceType != "belladonna:audit" || ev.Host != "node-1" {
					t.Fatalf("event %d metadata %+v", i, ev)
				}
				if wantTime := float64(want.Time.UnixMilli()) / 1000; ev.Time != wantTime {
					t.Fatalf("event %d time %v, want %v", i, ev.Time, wantTime)
				}
				if ev.Event.DecisionID != want.DecisionID || ev.Event.Message != want.Message || string(ev.Event.Input) != string(want.Input) {
					t.Fatalf("event %d = %+v, want %+v", i, ev.Event, want)
				}
			}
			out := logs.String()
			if strings.Contains(out, token) {
				t.Fatal("the token appears in the logs")
			}
			if !strings.Contains(out, `"level":"ERROR"`) || !strings.Contains(out, "Token disabled") {
				t.Errorf("403 not reported at error level:\n%s", out)
			}
			if !strings.Contains(out, `"level":"WARN"`) || !strings.Contains(out, "Server is busy") {
				t.Errorf("503 not reported as a retryable warning:\n%s", out)
			}
		})
	}
}

func TestSplunkHECErrors(t *testing.T) {
	var status int
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	defer srv.Close()
	s, err := New(Config{Type: TypeSplunk, Name: "hec", URL: srv.URL + "/services/collector/event", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	batch := testEntries(0, 2)
	for _, tc := range []struct {
		status   int
		body     string
		ok       bool
		rejected bool
	}{
		{200, `{"text":"Success","code":0}`, true, false},
		{200, ``, true, false},
		{200, `{"text":"Data channel is missing","code":10}`, false, false},
		{400, `{"text":"Invalid data format","code":6}`, false, true},
		{401, `{"text":"Token is required","code":2}`, false, true},
		{403, `{"text":"Invalid token","code":4}`, false, true},
		{500, `oops`, false, false},
		{503, `{"text":"Server is busy","code":9}`, false, false},
	} {
		status, body = tc.status, tc.body
		err := s.Send(t.Context(), batch)
		if (err == nil) != tc.ok || errors.Is(err, ErrRejected) != tc.rejected {
			t.Errorf("%d %s: err %v; want ok %v, rejected %v", tc.status, tc.body, err, tc.ok, tc.rejected)
		}
		if he, ok := errors.AsType[*HTTPError](err); ok && he.Status != tc.status {
			t.Errorf("HTTPError status %d, want %d", he.Status, tc.status)
		}
	}
}
