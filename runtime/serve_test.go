package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

func post(t *testing.T, url, file string) map[string]any {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "testdata", "inputs", file))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestServeEmbeddedLibrary is `belladonna serve` with no flags: the embedded
// library answers, and every decision lands in a verifiable audit log.
func TestServeEmbeddedLibrary(t *testing.T) {
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	s, err := NewServe(ctx, ServeParams{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String() + "/v1/data/"
	if got := post(t, base+"security/authz/allow", "authz-allow.json"); got["result"] != true {
		t.Errorf("allowed request: %v", got)
	}
	if got := post(t, base+"security/authz/allow", "authz-deny.json"); got["result"] != false {
		t.Errorf("denied request: %v", got)
	}
	dec := post(t, base+"syscall/decision", "syscall-exec-tmp.json")
	if res, _ := dec["result"].(map[string]any); res["allow"] != false {
		t.Errorf("exec from /tmp: %v", dec)
	}
	resp, err := http.Post(base+"security/authn/allow", "application/json", strings.NewReader(`{"input":{"token":"secret-jwt-value","action":"read"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	dir := AuditDir(cfg.DataDir)
	var raw []byte
	filepath.WalkDir(filepath.Join(dir, "segments"), func(p string, _ os.DirEntry, _ error) error {
		b, _ := os.ReadFile(p)
		raw = append(raw, b...)
		return nil
	})
	if bytes.Contains(raw, []byte("secret-jwt-value")) || !bytes.Contains(raw, []byte(audit.Masked)) {
		t.Fatal("the bearer token in the input reached the audit log unmasked")
	}
	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Entries != 5 {
		t.Fatalf("audit log: %+v, %v", rep, err)
	}
	l, err := audit.Open(ctx, audit.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	entries, err := l.Read(ctx, 0, 10)
	if err != nil || len(entries) != 5 {
		t.Fatalf("read back %d entries: %v", len(entries), err)
	}
	if entries[0].Type != audit.EventBundleActivation || entries[0].Revision == "" {
		t.Errorf("first entry should record the activation: %+v", entries[0])
	}
	entries = entries[1:]
	wantOutcomes := []string{audit.OutcomeAllow, audit.OutcomeDeny, audit.OutcomeDeny, audit.OutcomeDeny}
	for i, e := range entries {
		if e.Outcome != wantOutcomes[i] || e.DecisionID == "" || e.Revision == "" {
			t.Errorf("entry %d: outcome %q (want %q), %+v", i, e.Outcome, wantOutcomes[i], e)
		}
	}
	if entries[0].Subject == "" {
		t.Errorf("subject not derived from input: %+v", entries[0])
	}
}

// A policy that does not compile stops start-up with its location; nothing listens.
func TestServeRefusesBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte("package p\n\nallow if {\n\tx := 1\n}\n"), 0o600)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	_, err := NewServe(context.Background(), ServeParams{Config: cfg, Paths: []string{dir}})
	if err == nil || !strings.Contains(err.Error(), "p.rego:4") {
		t.Fatalf("want a compile error naming p.rego:4, got %v", err)
	}
}

// Serving a bundle tarball: the manifest revision names every decision.
func TestServeBundleTarball(t *testing.T) {
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "commit-abc", Roots: &[]string{"app"}},
		Data:     map[string]any{},
		Modules:  []bundle.ModuleFile{{URL: "/app/app.rego", Path: "/app/app.rego", Raw: []byte("package app\n\nallow if input.user == \"root\"\n")}},
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.tar.gz")
	os.WriteFile(path, buf.Bytes(), 0o600)
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	s, err := NewServe(ctx, ServeParams{Config: cfg, Paths: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Engine().Decide(ctx, "app/allow", map[string]any{"user": "root"})
	if err != nil || d.Result != true || d.Revision != "commit-abc" {
		t.Fatalf("decision %+v, %v", d, err)
	}
	s.closeAudit()
}

// serve --repo: the policies of a git revision, read without a checkout;
// every decision and the activation name the commit.
func TestServeGitRevisionNamesTheCommit(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "admins", map[string][]byte{
		"policies/security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"),
		"README.md":                          []byte("not policy"),
	})
	g.Commit("ana", "nobody", map[string][]byte{
		"policies/security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := false\n"),
	})
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	s, err := NewServe(ctx, ServeParams{Config: cfg, Repo: g.Dir, Rev: "HEAD~1", Dir: "policies"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr.String()+"/v1/data/security/authz/allow", "application/json", strings.NewReader(`{"input":{"user":{"role":"admin"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if out["result"] != true {
		t.Fatalf("HEAD~1 allows admins: %v", out)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := audit.Open(ctx, audit.Options{Dir: AuditDir(cfg.DataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es, _ := l.Read(ctx, 0, 10)
	if len(es) != 2 || es[0].Revision != c1 || es[1].Revision != c1 {
		t.Fatalf("entries should name commit %s: %+v", c1, es)
	}
	if _, err := NewServe(ctx, ServeParams{Config: cfg, Repo: g.Dir, Rev: "nope"}); err == nil || !strings.Contains(err.Error(), `unknown revision "nope"`) {
		t.Fatalf("bad revision: %v", err)
	}
}
