package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

func TestHistoryAndShow(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "initial", map[string][]byte{
		"security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := false\n"),
		"config/roles.json":         []byte(`{}`),
	})
	c2 := g.Commit("bo", "loosen authz\n\nSecurity-Fix: none", map[string][]byte{
		"security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := true\n"),
	})
	code, out, errb := runCLI(t, "history", "--repo", g.Dir)
	if code != 0 {
		t.Fatalf("history: exit %d %s", code, errb)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], c2[:12]) || !strings.Contains(lines[0], "[authz]") ||
		!strings.HasPrefix(lines[1], c1[:12]) || !strings.Contains(lines[1], "[authz,data]") {
		t.Fatalf("history:\n%s", out)
	}
	code, out, _ = runCLI(t, "history", "--repo", g.Dir, "--json", "-n", "1")
	var hist []policyrepo.Version
	if code != 0 || json.Unmarshal([]byte(out), &hist) != nil || len(hist) != 1 || hist[0].Commit != c2 {
		t.Fatalf("history --json: exit %d %s", code, out)
	}
	code, out, _ = runCLI(t, "show", "--repo", g.Dir, "HEAD~1")
	if code != 0 || !strings.Contains(out, "commit "+c1) || !strings.Contains(out, "added    data        config/roles.json") {
		t.Fatalf("show:\n%s", out)
	}
	code, _, errb = runCLI(t, "show", "--repo", g.Dir, "no-such-rev")
	if code != 2 || !strings.Contains(errb, `unknown revision "no-such-rev"`) {
		t.Fatalf("show of a bad revision: exit %d %s", code, errb)
	}
	code, _, errb = runCLI(t, "history", "--repo", t.TempDir())
	if code != 2 || !strings.Contains(errb, "not a git repository") {
		t.Fatalf("history outside a repository: exit %d %s", code, errb)
	}
}

func TestDiffMeasuresALoosenedRule(t *testing.T) {
	g := gitfixture.New(t)
	base := "package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"
	test := "package security.authz_test\n\nimport data.security.authz\n\ntest_dev if not authz.allow with input as {\"user\": {\"role\": \"dev\"}}\n"
	g.Commit("ana", "base", map[string][]byte{"security/authz/authz.rego": []byte(base), "security/authz/authz_test.rego": []byte(test)})
	g.Commit("bo", "devs too", map[string][]byte{"security/authz/authz.rego": []byte(base + "\nallow if input.user.role == \"dev\"\n")})
	summary := filepath.Join(t.TempDir(), "summary.md")
	code, out, errb := runCLI(t, "--config", writeFile(t, t.TempDir(), "b.yaml", "data_dir: "+t.TempDir()+"\n"),
		"diff", "--repo", g.Dir, "--summary-file", summary, "HEAD~1")
	if code != 0 || !strings.Contains(out, "1 loosened, 0 tightened") || !strings.Contains(out, "loosened  data.security.authz.allow: deny -> allow") {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errb)
	}
	md, _ := os.ReadFile(summary)
	if !strings.Contains(string(md), "### Belladonna policy impact: risk") || !strings.Contains(string(md), "| authz | 1 | 1 | 0 | 0 |") {
		t.Fatalf("summary:\n%s", md)
	}
	if code, _, errb := runCLI(t, "diff", "--repo", g.Dir, "--no-audit", "--fail-risk", "30", "HEAD~1", "HEAD"); code != 1 || !strings.Contains(errb, "at or above --fail-risk 30") {
		t.Fatalf("--fail-risk: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "diff", "--repo", g.Dir, "--no-audit", "v9"); code != 2 || !strings.Contains(errb, `unknown revision "v9"`) {
		t.Fatalf("bad revision: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "diff", "--repo", g.Dir, "--format", "xml", "HEAD~1"); code != 2 || !strings.Contains(errb, "unknown --format") {
		t.Fatalf("bad format: exit %d %s", code, errb)
	}
}

// validate --base: the PR check. The work tree (uncommitted change) is
// compared with the base revision after the usual validation.
func TestValidateBaseReportsImpact(t *testing.T) {
	g := gitfixture.New(t)
	base := "package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"
	test := "package security.authz_test\n\nimport data.security.authz\n\ntest_admin if authz.allow with input as {\"user\": {\"role\": \"admin\"}}\n"
	g.Commit("ana", "base", map[string][]byte{"policies/security/authz/authz.rego": []byte(base), "policies/security/authz/authz_test.rego": []byte(test)})
	writeFile(t, g.Dir, "policies/security/authz/authz.rego", base+"\nallow if input.user.role == \"guest\"\n")
	writeFile(t, g.Dir, "policies/security/authz/authz_test.rego", test+"\ntest_guest if authz.allow with input as {\"user\": {\"role\": \"guest\"}}\n")
	summary := filepath.Join(t.TempDir(), "summary.md")
	dir := filepath.Join(g.Dir, "policies")
	code, out, errb := runCLI(t, "validate", "--disable", "policy/syscall-exec-tmp", "--base", "HEAD", "--no-audit", "--impact-summary", summary, dir)
	if code != 0 || !strings.Contains(out, "impact of HEAD") || !strings.Contains(out, "1 loosened") {
		t.Fatalf("validate --base: exit %d\n%s\n%s", code, out, errb)
	}
	if md, _ := os.ReadFile(summary); !strings.Contains(string(md), "| authz | 2 | 1 | 0 | 0 |") {
		t.Fatalf("summary:\n%s", md)
	}
	if code, _, errb := runCLI(t, "validate", "--disable", "policy/syscall-exec-tmp", "--base", "HEAD", "--no-audit", "--fail-risk", "40", dir); code != 1 || !strings.Contains(errb, "risk score") {
		t.Fatalf("--fail-risk: exit %d %s", code, errb)
	}
	code, out, errb = runCLI(t, "validate", "--disable", "policy/syscall-exec-tmp", "--format", "json", "--base", "HEAD", "--no-audit", dir)
	if code != 0 || !json.Valid([]byte(out)) || !strings.Contains(errb, "1 loosened") {
		t.Fatalf("json findings on stdout, impact on stderr: exit %d\n%s\n%s", code, out, errb)
	}
	if code, _, errb := runCLI(t, "validate", "--base", "nope", dir); code != 2 || !strings.Contains(errb, `unknown revision "nope"`) {
		t.Fatalf("bad base: exit %d %s", code, errb)
	}
}

func TestApproveAndVerifyCLI(t *testing.T) {
	g := gitfixture.New(t)
	c := g.Commit("ana", "one", map[string][]byte{"a/a.rego": []byte("package a\n")})
	keys, priv := t.TempDir(), t.TempDir()
	for _, name := range []string{"bo", "cy"} {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		writeFile(t, priv, name+".key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
		pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		writeFile(t, keys, name+".pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	}
	code, out, errb := runCLI(t, "approve", "--repo", g.Dir, "--key", filepath.Join(priv, "bo.key"), "--approver", "bo", "HEAD")
	if code != 0 || !strings.Contains(out, "approved "+c+" by bo") {
		t.Fatalf("approve: exit %d %s %s", code, out, errb)
	}
	if code, out, _ := runCLI(t, "approvals", "verify", "--repo", g.Dir, "--keys", keys, "--require", "1", "HEAD"); code != 0 || !strings.Contains(out, "valid    bo") {
		t.Fatalf("verify 1: exit %d %s", code, out)
	}
	if code, out, errb := runCLI(t, "approvals", "verify", "--repo", g.Dir, "--keys", keys, "--require", "2", "HEAD"); code != 1 || !strings.Contains(errb, "1 valid from distinct approvers, 2 required") {
		t.Fatalf("verify 2: exit %d %s %s", code, out, errb)
	}
	if code, _, errb := runCLI(t, "approve", "--repo", g.Dir, "--key", filepath.Join(priv, "nope.key"), "--approver", "bo", "HEAD"); code != 2 || !strings.Contains(errb, "nope.key") {
		t.Fatalf("missing key: exit %d %s", code, errb)
	}
}
