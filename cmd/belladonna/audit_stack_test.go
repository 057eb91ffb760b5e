package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net"
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
	ctx := context.Background()
	s, addr := startServe(t, cfgFile)
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

// TestEraseAndRotateThroughRunningServe: with serve running (it holds the
// log's lock and caches subject keys) `audit erase` and `audit rotate-key`
// are carried out by serve over its control socket; serve keeps answering,
// the erased entries read as erased at once, later decisions for the same
// subject stay readable, and the log verifies afterwards.
func TestEraseAndRotateThroughRunningServe(t *testing.T) {
	dataDir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "belladonna.yaml")
	os.WriteFile(cfgFile, []byte("data_dir: "+dataDir+"\naudit:\n  encryption:\n    enabled: true\n"), 0o600)
	ctx := context.Background()
	s, addr := startServe(t, cfgFile)
	defer s.Stop(ctx)
	deny, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "inputs", "authz-deny.json"))
	decide := func() {
		t.Helper()
		resp, err := http.Post("http://"+addr.String()+"/v1/data/security/authz/allow", "application/json", bytes.NewReader(deny))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("decision: %s", resp.Status)
		}
	}
	decide()
	decide()
	sock := runtime.ControlSocket(runtime.AuditDir(dataDir))
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v", st, err)
	}

	code, out, errb := runCLI(t, "--config", cfgFile, "audit", "erase", "alice")
	if code != 0 || !strings.Contains(out, "destroyed by serve") {
		t.Fatalf("erase through serve: exit %d %q %q", code, out, errb)
	}
	if code, _, _ := runCLI(t, "--config", cfgFile, "audit", "erase", "alice"); code != 1 {
		t.Fatalf("second erase: exit %d, want 1 (no key)", code)
	}
	decide() // alice again: sealed under a new key
	code, out, errb = runCLI(t, "--config", cfgFile, "audit", "rotate-key")
	if code != 0 || !strings.Contains(out, "rotated by serve") {
		t.Fatalf("rotate through serve: exit %d %q %q", code, out, errb)
	}
	decide() // under the new master key
	code, out, _ = runCLI(t, "--config", cfgFile, "audit", "query", "--path", "security/authz/allow", "--format", "json")
	if code != 0 {
		t.Fatalf("query: exit %d", code)
	}
	var erased, readable int
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e audit.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("query line %q: %v", line, err)
		}
		switch {
		case e.Erased:
			erased++
		case strings.Contains(string(e.Input), "198.51.100.7"):
			readable++
		}
	}
	if erased != 2 || readable != 2 {
		t.Fatalf("%d erased and %d readable decisions, want 2 and 2:\n%s", erased, readable, out)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Fatal("control socket left behind after stop")
	}
	// Serve stopped: the CLI erases by itself.
	code, out, errb = runCLI(t, "--config", cfgFile, "audit", "erase", "alice")
	if code != 0 || !strings.Contains(out, "destroyed by this process") {
		t.Fatalf("erase without serve: exit %d %q %q", code, out, errb)
	}
	if code, out, errb := runCLI(t, "--config", cfgFile, "audit", "verify"); code != 0 {
		t.Fatalf("verify: exit %d %s %s", code, out, errb)
	}
	code, out, _ = runCLI(t, "--config", cfgFile, "audit", "query", "--type", audit.EventErasure, "--format", "json")
	if code != 0 || strings.Count(out, `"erasure"`) != 2 || strings.Contains(out, "alice") {
		t.Fatalf("erasure events (2, not naming the subject): %s", out)
	}
	code, out, _ = runCLI(t, "--config", cfgFile, "audit", "query", "--type", audit.EventKeyRotation, "--format", "json")
	if code != 0 || strings.Count(out, `"key_rotation"`) != 1 {
		t.Fatalf("key rotation events: %s", out)
	}
}

// startServe runs serve with the configuration in cfgFile on a free
// loopback port.
func startServe(t *testing.T, cfgFile string) (*runtime.Serve, net.Addr) {
	t.Helper()
	cfg, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	return startServeConfig(t, cfg)
}

// startServeConfig runs serve with cfg on a free loopback port.
func startServeConfig(t *testing.T, cfg config.Config) (*runtime.Serve, net.Addr) {
	t.Helper()
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
	return s, addr
}
