package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/runtime"
)

// TestServeWithEncryptionCorrelationAndSink runs serve with the whole audit
// stack on: repeated denials for one subject raise a brute-force incident,
// decisions reach an OPA decision-log collector, payloads are encrypted at
// rest, and `audit erase` makes the subject's inputs unreadable while
// `audit verify` still passes.
func TestServeWithEncryptionCorrelationAndSink(t *testing.T) {
	var mu sync.Mutex
	var received []map[string]any
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		raw, _ := io.ReadAll(zr)
		var batch []map[string]any
		if err := json.Unmarshal(raw, &batch); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mu.Lock()
		received = append(received, batch...)
		mu.Unlock()
	}))
	defer collector.Close()

	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "belladonna.yaml")
	os.WriteFile(cfgFile, []byte(`
data_dir: `+dataDir+`
audit:
  encryption:
    enabled: true
  correlation:
    enabled: true
  sinks:
    - name: collector
      type: opa
      url: `+collector.URL+`
      flush_interval: 50ms
`), 0o600)
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Server.Addr = "127.0.0.1:0"
	ctx := context.Background()
	s, err := runtime.NewServe(ctx, runtime.ServeParams{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deny, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "inputs", "authz-deny.json"))
	for range 6 {
		resp, err := http.Post("http://"+addr.String()+"/v1/data/security/authz/allow", "application/json", bytes.NewReader(deny))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Wait for the incident and for the collector to have every decision.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(received)
		mu.Unlock()
		code, out, _ := runCLI(t, "--config", cfgFile, "audit", "query", "--type", audit.EventIncident)
		if n >= 6 && code == 0 && strings.Contains(out, "incident") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector has %d decisions; incidents: %q", n, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Encrypted at rest: the subject's input is not in the segments in clear.
	segs, _ := filepath.Glob(filepath.Join(runtime.AuditDir(dataDir), "segments", "*"))
	for _, f := range segs {
		raw, _ := os.ReadFile(f)
		if bytes.Contains(raw, []byte("198.51.100.7")) {
			t.Fatalf("%s holds the input in clear", f)
		}
	}
	code, out, _ := runCLI(t, "--config", cfgFile, "audit", "query", "--subject", "alice", "--format", "json")
	if code != 0 || !strings.Contains(out, "198.51.100.7") {
		t.Fatalf("decrypted query: exit %d %s", code, out)
	}
	if code, out, errb := runCLI(t, "--config", cfgFile, "audit", "erase", "alice"); code != 0 || !strings.Contains(out, "erased") {
		t.Fatalf("erase: exit %d %s %s", code, out, errb)
	}
	code, out, _ = runCLI(t, "--config", cfgFile, "audit", "query", "--outcome", "deny", "--format", "json")
	if code != 0 || strings.Contains(out, "198.51.100.7") || !strings.Contains(out, `"erased":true`) {
		t.Fatalf("after erasure: exit %d %s", code, out)
	}
	if code, out, errb := runCLI(t, "--config", cfgFile, "audit", "verify"); code != 0 {
		t.Fatalf("verify after erasure: exit %d %s %s", code, out, errb)
	}
}
