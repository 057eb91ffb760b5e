package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/bundletest"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policies"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// libraryRepo commits the shipped library under policies/ in a new repository.
func libraryRepo(t *testing.T) (*gitfixture.Repo, string) {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, p)
		files["policies/"+p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g := gitfixture.New(t)
	return g, g.Commit("ana", "the library", files)
}

// bundle build from a revision: reproducible, named by its commit, and
// stock OPA loads it and decides as belladonna does, optimized or not.
func TestBundleBuildCLI(t *testing.T) {
	g, commit := libraryRepo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bundle.tar.gz")
	code, stdout, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", out)
	if code != 0 || !strings.Contains(stdout, "commit "+commit[:12]+" (sequence 1)") {
		t.Fatalf("bundle build: exit %d %s %s", code, stdout, errb)
	}
	first, _ := os.ReadFile(out)
	code, stdout, _ = runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", out, "--json")
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep["commit"] != commit {
		t.Fatalf("--json: exit %d %s", code, stdout)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(first, again) {
		t.Fatal("two builds of one commit differ")
	}
	optimized := filepath.Join(dir, "authz.tar.gz")
	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", optimized,
		"-O", "1", "-e", "security/authz/allow", "-e", "security/authz/decision"); code != 0 {
		t.Fatalf("-O 1: %s", errb)
	}

	opa := stockOPA(t)
	compared := 0
	for _, file := range []string{"authz-allow.json", "authz-deny.json"} {
		for i, input := range loadInputs(t, file) {
			if i > 3 {
				break
			}
			inFile := filepath.Join(dir, fmt.Sprintf("%s.%d.json", file, i))
			raw, _ := json.Marshal(input)
			os.WriteFile(inFile, raw, 0o600)
			for _, b := range []string{out, optimized} {
				for _, q := range []string{"data.security.authz.allow", "data.security.authz.decision"} {
					sameEvalOutput(t, opa, "eval", "-b", b, "-i", inFile, q)
					compared++
				}
			}
		}
	}
	t.Logf("%d evaluations of the built bundles identical to stock opa eval", compared)

	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--rev", "nope", "-o", out); code != 2 || !strings.Contains(errb, `unknown revision "nope"`) {
		t.Fatalf("unknown revision: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "-O", "2", "-o", out); code != 2 || !strings.Contains(errb, "needs at least one entrypoint") {
		t.Fatalf("-O 2 without entrypoint: exit %d %s", code, errb)
	}
}

// Signed bundles: belladonna verifies them and so does stock OPA, for a key
// file and for a KMS-like signer (DER ECDSA signatures); a changed file or
// another key fails both.
func TestBundleSignVerifyCLI(t *testing.T) {
	g, _ := libraryRepo(t)
	dir := t.TempDir()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	keyFile, pubFile := filepath.Join(dir, "signing.pem"), filepath.Join(dir, "signing.pub.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)

	signed := filepath.Join(dir, "signed.tar.gz")
	if code, out, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "--signing-key", keyFile,
		"--attestation-key", keyFile, "-o", signed); code != 0 || !strings.Contains(out, "signed.tar.gz.intoto.json") {
		t.Fatalf("build --signing-key --attestation-key: %s %s", out, errb)
	}
	if code, out, errb := runCLI(t, "bundle", "verify", signed, "--key", pubFile); code != 0 || !strings.Contains(out, "verified") {
		t.Fatalf("verify: exit %d %s %s", code, out, errb)
	}
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	identity, _ := r.Identity()
	att := signed + ".intoto.json"
	if code, out, errb := runCLI(t, "bundle", "verify", signed, "--key", pubFile, "--attestation", att, "--attestation-key", pubFile,
		"--repository", identity, "--branch", "main"); code != 0 || !strings.Contains(out, "attestation verified") {
		t.Fatalf("verify --attestation: exit %d %s %s", code, out, errb)
	}
	if code, _, errb := runCLI(t, "bundle", "verify", signed, "--attestation", att, "--attestation-key", pubFile, "--branch", "release"); code != 1 || !strings.Contains(errb, `built from branch "main", want "release"`) {
		t.Fatalf("another branch: exit %d %s", code, errb)
	}

	// As a KMS signs: a sigstore signer returning DER signatures.
	unsigned := filepath.Join(dir, "unsigned.tar.gz")
	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", unsigned); code != 0 {
		t.Fatal(errb)
	}
	raw, _ := os.ReadFile(unsigned)
	kms, err := signature.LoadECDSASigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	kmsSigned, err := bundles.Sign(context.Background(), raw, bundles.SignKey{Signer: kms, Public: &priv.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	kmsFile := filepath.Join(dir, "kms.tar.gz")
	os.WriteFile(kmsFile, kmsSigned, 0o644)

	opa := stockOPA(t)
	input := filepath.Join(dir, "input.json")
	os.WriteFile(input, []byte(`{"subject": {"id": "alice", "roles": ["developer"], "tenant": "acme"}, "action": "read",
		"resource": {"type": "repository", "id": "r1", "owner": "alice", "tenant": "acme"},
		"context": {"time": "2026-11-25T10:00:00Z", "source_ip": "10.1.2.3"}}`), 0o644)
	// opa build verifies an input bundle's signature before it uses it.
	opaEval := func(b string) ([]byte, error) {
		rebuilt := filepath.Join(t.TempDir(), "rebuilt.tar.gz")
		out, err := exec.Command(opa, "build", "-b", b, "--verification-key", pubFile, "--verification-key-id", "belladonna",
			"--signing-alg", "ES256", "-o", rebuilt).CombinedOutput()
		if err != nil {
			return out, err
		}
		return exec.Command(opa, "eval", "-b", rebuilt, "-i", input, "--format", "raw", "data.security.authz.allow").CombinedOutput()
	}
	for _, b := range []string{signed, kmsFile} {
		if out, err := opaEval(b); err != nil || strings.TrimSpace(string(out)) != "true" {
			t.Fatalf("stock opa on %s: %v %s", filepath.Base(b), err, out)
		}
	}

	// A changed module: both refuse it.
	tampered := filepath.Join(dir, "tampered.tar.gz")
	os.WriteFile(tampered, bundletest.TamperRego(t, kmsSigned), 0o644)
	if code, _, errb := runCLI(t, "bundle", "verify", tampered, "--key", pubFile); code != 1 || !strings.Contains(errb, ".rego") {
		t.Fatalf("tampered: exit %d %s", code, errb)
	}
	if out, err := opaEval(tampered); err == nil {
		t.Fatalf("stock opa accepted a tampered bundle: %s", out)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherDER, _ := x509.MarshalPKIXPublicKey(&other.PublicKey)
	otherFile := filepath.Join(dir, "other.pub.pem")
	os.WriteFile(otherFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: otherDER}), 0o644)
	if code, _, _ := runCLI(t, "bundle", "verify", signed, "--key", otherFile); code != 1 {
		t.Fatalf("another key verified: exit %d", code)
	}
	if code, _, errb := runCLI(t, "bundle", "verify", unsigned, "--key", pubFile); code != 1 || !strings.Contains(errb, ".signatures.json") {
		t.Fatalf("unsigned: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "bundle", "verify", kmsFile, "--attestation", att, "--attestation-key", pubFile); code != 1 || !strings.Contains(errb, "it attests sha256") {
		t.Fatalf("attestation of another bundle: exit %d %s", code, errb)
	}
}
