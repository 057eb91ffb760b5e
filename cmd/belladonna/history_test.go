package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
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
	g.Commit("cy", "move into policies/", map[string][]byte{
		"security/authz/authz.rego": nil, "security/authz/authz_test.rego": nil,
		"policies/security/authz/authz.rego": []byte(base), "policies/security/authz/authz_test.rego": []byte(test),
	})
	g.Commit("cy", "devs again", map[string][]byte{"policies/security/authz/authz.rego": []byte(base + "\nallow if input.user.role == \"dev\"\n")})
	if code, out, errb := runCLI(t, "diff", "--repo", g.Dir, "--dir", "policies", "--no-audit", "HEAD~1"); code != 0 || !strings.Contains(out, "1 loosened") {
		t.Fatalf("--dir: exit %d %s %s", code, out, errb)
	}
	if code, _, errb := runCLI(t, "diff", "--repo", g.Dir, "--dir", "nope", "--no-audit", "HEAD~1"); code != 2 || !strings.Contains(errb, "--dir nope is not in HEAD~1") {
		t.Fatalf("bad --dir: exit %d %s", code, errb)
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
		approverKey(t, name, priv, keys)
	}
	code, out, errb := runCLI(t, "approve", "--repo", g.Dir, "--key", filepath.Join(priv, "bo.key"), "--approver", "bo", "HEAD")
	if code != 0 || !strings.Contains(out, "approved "+c+" by bo") {
		t.Fatalf("approve: exit %d %s %s", code, out, errb)
	}
	if code, out, _ := runCLI(t, "history", "--repo", g.Dir); code != 0 || !strings.Contains(out, "(1 approvals)") {
		t.Fatalf("history shows the stored approval: exit %d %s", code, out)
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

// A protected branch: approvals verify takes its rule from the config, and
// serve --repo refuses the branch until the approvals are there.
func TestProtectedBranchCLI(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "one", map[string][]byte{"security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := false\n")})
	keys, priv := t.TempDir(), t.TempDir()
	for _, name := range []string{"bo", "cy"} {
		approverKey(t, name, priv, keys)
	}
	cfgFile := filepath.Join(t.TempDir(), "belladonna.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nrepository:\n  protected_branches:\n    - {pattern: main, approvals: 2, keys_dir: %s}\n", t.TempDir(), keys)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	serveArgs := []string{"serve", "--config", cfgFile, "--addr", "127.0.0.1:0", "--repo", g.Dir, "--rev", "main"}
	if code, _, errb := runCLI(t, serveArgs...); code == 0 || !strings.Contains(errb, `branch "main" matches "main", which needs 2 approvals`) {
		t.Fatalf("serve of an unapproved protected branch: exit %d %s", code, errb)
	}
	for _, name := range []string{"bo", "cy"} {
		if code, _, errb := runCLI(t, "approve", "--repo", g.Dir, "--key", filepath.Join(priv, name+".key"), "--approver", name, "main"); code != 0 {
			t.Fatalf("approve: %s", errb)
		}
	}
	code, out, errb := runCLI(t, "approvals", "verify", "--config", cfgFile, "--repo", g.Dir, "main")
	if code != 0 || !strings.Contains(out, `branch main is protected (repository.protected_branches "main"): 2 approvals`) || !strings.Contains(out, "2 distinct approvers") {
		t.Fatalf("verify by the configured rule: exit %d %s %s", code, out, errb)
	}
	if code, _, errb := runCLI(t, "approvals", "verify", "--repo", g.Dir, "main"); code != 2 || !strings.Contains(errb, "--keys DIR is required") {
		t.Fatalf("no rule, no --keys: exit %d %s", code, errb)
	}
}

func TestRollbackAssessesAndNeedsApprovalsWhenDangerous(t *testing.T) {
	g := gitfixture.New(t)
	loose := "package security.authz\n\ndefault allow := false\n\nallow if input.user.role in {\"admin\", \"dev\"}\n"
	strict := "package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"
	test := "package security.authz_test\n\nimport data.security.authz\n\ntest_admin if authz.allow with input as {\"user\": {\"role\": \"admin\"}}\n\ntest_dev_decided if {\n\td := authz.allow with input as {\"user\": {\"role\": \"dev\"}}\n\tis_boolean(d)\n}\n"
	c1 := g.Commit("ana", "devs allowed", map[string][]byte{"security/authz/authz.rego": []byte(loose), "security/authz/authz_test.rego": []byte(test),
		"config/limits.json": []byte(`{"max": 1}`)})
	c2 := g.Commit("bo", "admins only\n\nSecurity-Fix: CVE-2026-7", map[string][]byte{"security/authz/authz.rego": []byte(strict)})
	c3 := g.Commit("ana", "raise the limit", map[string][]byte{"config/limits.json": []byte(`{"max": 2}`)})
	noAudit := []string{"--repo", g.Dir, "--no-audit"}
	head := func() string { return headOf(t, g.Dir) }

	// Simple: HEAD -> c2 only undoes a data change.
	code, out, errb := runCLI(t, append(append([]string{"rollback"}, noAudit...), "--dry-run", c2)...)
	if code != 0 || !strings.Contains(out, ": simple, undoing 1 commits") || head() != c3 {
		t.Fatalf("dry run: exit %d %s %s", code, out, errb)
	}
	// Dangerous: back to c1 loosens authz (the dev input of the tests) and undoes a Security-Fix.
	code, out, errb = runCLI(t, append(append([]string{"rollback"}, noAudit...), c1)...)
	if code != 1 || !strings.Contains(out, ": dangerous") || !strings.Contains(out, "it undoes a security fix") ||
		!strings.Contains(out, "it loosens 1 authz decisions") || !strings.Contains(errb, "refused") || head() != c3 {
		t.Fatalf("dangerous without --force: exit %d %s %s", code, out, errb)
	}
	keys, priv := t.TempDir(), t.TempDir()
	keyFile := approverKey(t, "bo", priv, keys)
	force := append(append([]string{"rollback"}, noAudit...), "--force", "--keys", keys, "--require", "1", c1)
	if code, _, errb := runCLI(t, force...); code != 1 || !strings.Contains(errb, "not enough valid approvals") || head() != c3 {
		t.Fatalf("forced without approvals: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "approve", "--repo", g.Dir, "--key", keyFile, "--approver", "bo", c1); code != 0 {
		t.Fatalf("approve: %s", errb)
	}
	// A dirty work tree is refused before anything is written.
	writeFile(t, g.Dir, "scratch.rego", "package scratch\n")
	if code, _, errb := runCLI(t, force...); code != 2 || !strings.Contains(errb, "uncommitted changes") || head() != c3 {
		t.Fatalf("dirty: exit %d %s", code, errb)
	}
	os.Remove(filepath.Join(g.Dir, "scratch.rego"))
	code, out, errb = runCLI(t, force...)
	if code != 0 || !strings.Contains(out, "rolled back: commit") {
		t.Fatalf("approved rollback: exit %d %s %s", code, out, errb)
	}
	r, _ := policyrepo.Open(g.Dir)
	v, _ := r.Version(context.Background(), "HEAD")
	if v.Parents[0] != c3 || v.Trailers["Rollback-Of"][0] != c1 || v.Trailers["Rollback-Complexity"][0] != "dangerous" {
		t.Fatalf("rollback commit %+v", v)
	}
	if b, _ := os.ReadFile(filepath.Join(g.Dir, "security/authz/authz.rego")); string(b) != loose {
		t.Fatalf("work tree not at the target: %q", b)
	}
}

// headOf is the commit HEAD names in the repository at dir.
func headOf(t *testing.T, dir string) string {
	t.Helper()
	r, err := policyrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Resolve("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	return c.Hash.String()
}

// approverKey writes a new ECDSA key pair: name.key (PKCS#8) in privDir and
// name.pem (public) in keysDir. It returns the private key file.
func approverKey(t *testing.T, name, privDir, keysDir string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	writeFile(t, keysDir, name+".pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	return writeFile(t, privDir, name+".key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
}

func TestSyncCLI(t *testing.T) {
	up := gitfixture.New(t)
	up.Commit("ana", "base", map[string][]byte{"a/a.rego": []byte("package a\n")})
	bare := gitfixture.Clone(t, up.Dir, true)
	up.AddRemote("peer", bare.Dir)
	local := gitfixture.Clone(t, bare.Dir, false)
	local.Commit("bo", "local", map[string][]byte{"a/a.rego": []byte("package a\n\nx := 1\n")})
	up.Commit("ana", "remote", map[string][]byte{"a/a.rego": []byte("package a\n\ny := 1\n")})
	up.Push("peer")
	code, out, errb := runCLI(t, "sync", "--repo", local.Dir)
	if code != 1 || !strings.Contains(out, "diverged; refused") || !strings.Contains(errb, "have diverged") {
		t.Fatalf("ff-only: exit %d %s %s", code, out, errb)
	}
	report := filepath.Join(t.TempDir(), "div.json")
	code, out, _ = runCLI(t, "sync", "--repo", local.Dir, "--strategy", "manual-review", "--report", report)
	raw, _ := os.ReadFile(report)
	if code != 0 || !strings.Contains(out, "changed on both sides: a/a.rego") || !strings.Contains(string(raw), `"state": "diverged"`) {
		t.Fatalf("manual-review: exit %d %s %s", code, out, raw)
	}
	if code, out, _ := runCLI(t, "sync", "--repo", local.Dir, "--strategy", "use-remote"); code != 0 || !strings.Contains(out, "merge-remote") {
		t.Fatalf("use-remote: exit %d %s", code, out)
	}
	if code, _, errb := runCLI(t, "sync", "--repo", local.Dir, "--strategy", "rebase"); code != 2 || !strings.Contains(errb, "unknown --strategy") {
		t.Fatalf("bad strategy: exit %d %s", code, errb)
	}
}
