package runtime

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// serve --repo refuses a protected branch until its commit holds the
// configured approvals, and never skips a rule whose keys it cannot read.
func TestServeRefusesUnapprovedProtectedBranch(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "admins", map[string][]byte{
		"security/authz/authz.rego": []byte("package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"),
	})
	keys := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err := os.WriteFile(filepath.Join(keys, "bo.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Repository.ProtectedBranches = []config.ProtectedBranch{{Pattern: "main", Approvals: 1, KeysDir: keys}}
	ctx := context.Background()
	p := ServeParams{Config: cfg, Repo: g.Dir, Rev: "main"}

	_, err = NewServe(ctx, p)
	if !errors.Is(err, policyrepo.ErrProtected) || !strings.Contains(err.Error(), `branch "main" matches "main", which needs 1 approvals`) {
		t.Fatalf("unapproved main: %v", err)
	}

	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Approve(ctx, "main", "bo", signer); err != nil {
		t.Fatal(err)
	}
	s, err := NewServe(ctx, p)
	if err != nil {
		t.Fatalf("approved main: %v", err)
	}
	s.closeAudit()

	// Keys that cannot be read make serve refuse, not skip the rule.
	cfg.Repository.ProtectedBranches[0].KeysDir = t.TempDir()
	if _, err := NewServe(ctx, ServeParams{Config: cfg, Repo: g.Dir, Rev: "main"}); err == nil || !strings.Contains(err.Error(), "no approver keys") {
		t.Fatalf("empty keys_dir: %v", err)
	}
}
