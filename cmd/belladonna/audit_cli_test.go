package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/runtime"
)

// TestServeDecisionsAppearInAuditTail: decisions made through serve are in
// `audit tail` and `audit query`, verify passes, and a proof checks offline;
// after tampering, verify exits 1 naming the entry.
func TestServeDecisionsAppearInAuditTail(t *testing.T) {
	dataDir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dataDir
	ctx := context.Background()
	s, addr := startServeConfig(t, cfg)
	var ids []string
	for _, in := range []string{"authz-allow.json", "authz-deny.json"} {
		body, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "inputs", in))
		resp, err := http.Post("http://"+addr.String()+"/v1/data/security/authz/allow", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			DecisionID string `json:"decision_id"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		ids = append(ids, out.DecisionID)
	}
	// The CLI reads beside the running server.
	code, out, errb := runCLI(t, "audit", "tail", "--data-dir", dataDir)
	if code != 0 || !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[1]) || !strings.Contains(out, " allow ") || !strings.Contains(out, " deny ") {
		t.Fatalf("audit tail: exit %d\n%s\n%s", code, out, errb)
	}
	code, out, _ = runCLI(t, "audit", "query", "--data-dir", dataDir, "--outcome", "deny", "--format", "json")
	if code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, ids[1]) {
		t.Fatalf("audit query --outcome deny: exit %d\n%s", code, out)
	}
	if err := s.Stop(ctx); err != nil { // signs a final checkpoint
		t.Fatal(err)
	}
	if code, out, errb := runCLI(t, "audit", "verify", "--data-dir", dataDir); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("audit verify: exit %d\n%s%s", code, out, errb)
	}
	code, proof, errb := runCLI(t, "audit", "prove", "--data-dir", dataDir, "2")
	if code != 0 {
		t.Fatalf("audit prove: exit %d %s", code, errb)
	}
	pf := filepath.Join(t.TempDir(), "proof.json")
	os.WriteFile(pf, []byte(proof), 0o600)
	pub := filepath.Join(runtime.AuditDir(dataDir), "checkpoint.key.pub")
	if code, out, errb := runCLI(t, "audit", "verify-proof", "--public-key", pub, pf); code != 0 || !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify-proof: exit %d %s %s", code, out, errb)
	}

	// Flip one byte of the second decision (entry 2, after the activation
	// event and the first decision): verify names entry 2.
	seg := filepath.Join(runtime.AuditDir(dataDir), "segments", "seg-00000000000000000000.log")
	raw, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(raw, []byte(ids[1]))
	raw[i] ^= 0x01
	os.WriteFile(seg, raw, 0o640)
	code, out, _ = runCLI(t, "audit", "verify", "--data-dir", dataDir)
	if code != ExitFindings || !strings.Contains(out, "entry 2:") {
		t.Fatalf("tampered log: exit %d\n%s", code, out)
	}
}
