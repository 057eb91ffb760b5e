package bundles

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/internal/bundletest"
)

func pemKeys(t *testing.T, priv crypto.Signer) (privPEM, pubPEM []byte) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
}

func builtBundle(t *testing.T) []byte {
	g, _, _ := fixture(t)
	return build(t, g.Dir, "HEAD", BuildOptions{Dir: "policies"}).Bytes
}

func TestSignAndVerifyWithKeyFiles(t *testing.T) {
	ctx := context.Background()
	b := builtBundle(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, otherPub := pemKeys(t, other)
	for name, k := range map[string]crypto.Signer{"RS256": rsaKey, "ES256": p256, "ES384": p384} {
		t.Run(name, func(t *testing.T) {
			priv, pub := pemKeys(t, k)
			signed, err := Sign(ctx, b, SignKey{PEM: priv})
			if err != nil {
				t.Fatal(err)
			}
			bun, err := Verify(signed, pub, "", "")
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if len(bun.Modules) != 1 || bun.Manifest.Revision == "" {
				t.Fatalf("verified bundle %+v", bun.Manifest)
			}
			if _, err := Verify(bundletest.TamperRego(t, signed), pub, "", ""); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "authz.rego") {
				t.Fatalf("tampered module: %v", err)
			}
			if _, err := Verify(signed, otherPub, "", ""); !errors.Is(err, ErrSignature) {
				t.Fatalf("another key: %v", err)
			}
		})
	}
	_, pub := pemKeys(t, p256)
	if _, err := Verify(b, pub, "", ""); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), ".signatures.json") {
		t.Fatalf("unsigned bundle: %v", err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edPriv, _ := pemKeys(t, ed)
	if _, err := Sign(ctx, b, SignKey{PEM: edPriv}); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "no EdDSA") {
		t.Fatalf("Ed25519: %v", err)
	}
	if _, err := Sign(ctx, b, SignKey{PEM: []byte("not a key")}); !errors.Is(err, ErrSignature) {
		t.Fatalf("garbage key: %v", err)
	}
}

// A KMS signs like a sigstore signer: ECDSA signatures come DER-encoded and
// must reach the JWT as r||s, or OPA rejects the bundle.
func TestSignWithAKMSLikeSigner(t *testing.T) {
	ctx := context.Background()
	b := builtBundle(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	es, err := signature.LoadECDSASigner(p256, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs, err := signature.LoadRSAPKCS1v15Signer(rsaKey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		s   signature.Signer
		key crypto.Signer
	}{"ES256": {es, p256}, "RS256": {rs, rsaKey}} {
		t.Run(name, func(t *testing.T) {
			_, pub := pemKeys(t, tc.key)
			signed, err := Sign(ctx, b, SignKey{Signer: tc.s, Public: tc.key.Public(), KeyID: "kms-key"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Verify(signed, pub, "kms-key", ""); err != nil {
				t.Fatalf("OPA's verifier rejects the KMS signature: %v", err)
			}
		})
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s384, _ := signature.LoadECDSASigner(p384, crypto.SHA256)
	if _, err := Sign(ctx, b, SignKey{Signer: s384, Public: p384.Public()}); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("P-384 KMS key: %v", err)
	}
}

func FuzzDERToRaw(f *testing.F) {
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := derToRaw(b, 32)
		if err == nil && len(out) != 64 {
			t.Fatalf("%d bytes", len(out))
		}
	})
}
