package sdk_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/bundletest"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policies"
	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/sdk"
)

func TestDecideOnTheShippedLibrary(t *testing.T) {
	ctx := context.Background()
	p := sdk.New(sdk.Options{})
	if err := p.LoadFS(ctx, policies.FS, "."); err != nil {
		t.Fatal(err)
	}
	in := map[string]any{"subject": map[string]any{"id": "alice", "roles": []any{"admin"}, "tenant": "acme"},
		"action": "delete", "resource": map[string]any{"type": "repository", "id": "r1", "owner": "bob", "tenant": "acme"},
		"context": map[string]any{"time": "2026-11-25T10:00:00Z", "source_ip": "10.1.2.3"}}
	ok, err := p.Allowed(ctx, "security/authz/allow", in)
	if err != nil || !ok {
		t.Fatalf("admin in tenant: %v %v", ok, err)
	}
	in["subject"] = map[string]any{"id": "eve", "roles": []any{"viewer"}, "tenant": "globex"}
	if ok, err := p.Allowed(ctx, "security/authz/allow", in); err != nil || ok {
		t.Fatalf("viewer of another tenant: %v %v", ok, err)
	}
	if p.Revision() == "" {
		t.Fatal("no revision")
	}
}

// A signed bundle loads with its key; a changed one, another key or no key
// leave the previous policy active.
func TestLoadBundleVerifies(t *testing.T) {
	ctx := context.Background()
	g := gitfixture.New(t)
	commit := g.Commit("ana", "p", map[string][]byte{"policies/app/p.rego": []byte("package app\n\nallow if input.user == \"alice\"\n")})
	r, _ := policyrepo.Open(g.Dir)
	b, err := bundles.BuildRevision(ctx, r, "HEAD", bundles.BuildOptions{Dir: "policies"})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pubDER, _ := x509.MarshalPKIXPublicKey(key.Public())
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	signed, err := bundles.Sign(ctx, b.Bytes, bundles.SignKey{PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	p := sdk.New(sdk.Options{})
	if err := p.LoadBundle(ctx, signed, nil, ""); !errors.Is(err, sdk.ErrUnverified) {
		t.Fatalf("no key: %v", err)
	}
	if err := p.LoadBundle(ctx, signed, pub, ""); err != nil {
		t.Fatal(err)
	}
	if p.Revision() != commit {
		t.Fatalf("revision %s, want the commit %s", p.Revision(), commit)
	}
	if err := p.LoadBundle(ctx, bundletest.FlipByte(t, signed), pub, ""); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("changed bundle: %v", err)
	}
	if ok, _ := p.Allowed(ctx, "app/allow", map[string]any{"user": "alice"}); !ok || p.Revision() != commit {
		t.Fatal("the refused bundle replaced the good one")
	}
	d1, _ := p.DecideJSON(ctx, "app/allow", []byte(`{"user":"alice"}`))
	d2, _ := p.DecideJSON(ctx, "app/allow", []byte(`{"user":"alice"}`))
	if d1.Result != true || d2.Result != true {
		t.Fatalf("%v %v", d1.Result, d2.Result)
	}
}
