package bundles

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/sigstore/sigstore/pkg/signature"
)

// Bundles are signed in OPA's own .signatures.json format (a JWT over the
// digests of the bundle's files), so that stock OPA configured with the
// public key verifies them.

// DefaultKeyID names the key in the signature ("kid") when none is given;
// OPA's verification config must use the same name.
const DefaultKeyID = "belladonna"

// ErrSignature wraps every signing and verification failure.
var ErrSignature = errors.New("bundle signature")

// SignKey signs bundles: a private key in PEM (RSA or ECDSA), or a sigstore
// signer (a KMS key) with its public key.
type SignKey struct {
	PEM    []byte
	Signer signature.Signer
	Public crypto.PublicKey // with Signer
	// KeyID is the "kid" of the signature (DefaultKeyID when empty).
	KeyID string
	// Algorithm is the JWT algorithm; empty picks it from the key.
	Algorithm string
}

// Sign adds .signatures.json to the bundle tarball b.
func Sign(ctx context.Context, b []byte, key SignKey) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if (key.PEM == nil) == (key.Signer == nil) {
		return nil, fmt.Errorf("%w: give a private key file or a KMS key, not both or neither", ErrSignature)
	}
	kid := key.KeyID
	if kid == "" {
		kid = DefaultKeyID
	}
	// A signature already there is replaced, not checked.
	bun, err := bundle.NewReader(bytes.NewReader(b)).WithSkipBundleVerification(true).Read()
	if err != nil {
		return nil, fmt.Errorf("%w: reading the bundle: %w", ErrSignature, err)
	}
	var sc *bundle.SigningConfig
	if key.PEM != nil {
		pub, err := publicOfPEM(key.PEM)
		if err != nil {
			return nil, err
		}
		alg, err := algorithmFor(pub, key.Algorithm)
		if err != nil {
			return nil, err
		}
		sc = bundle.NewSigningConfig(string(key.PEM), alg, "")
	} else {
		alg, err := algorithmFor(key.Public, key.Algorithm)
		if err != nil {
			return nil, err
		}
		if alg != "RS256" && alg != "ES256" {
			return nil, fmt.Errorf("%w: a KMS key signs with SHA-256: use an RSA or a P-256 key (RS256, ES256), not %s", ErrSignature, alg)
		}
		handle := kmsSigners.add(key.Signer)
		defer kmsSigners.remove(handle)
		sc = bundle.NewSigningConfig(handle, alg, "").WithPlugin(kmsPlugin)
	}
	if err := bun.GenerateSignature(sc, kid, false); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	// The token is a standard JWT: OPA's default verifier checks it, so
	// the bundle must not name our signing plugin as its verifier.
	bun.Signatures.Plugin = ""
	var out bytes.Buffer
	if err := bundle.NewWriter(&out).Write(bun); err != nil {
		return nil, fmt.Errorf("%w: writing the signed bundle: %w", ErrSignature, err)
	}
	return out.Bytes(), nil
}

// Verify checks the bundle's signature with the public key (PEM) named
// keyID, as OPA does on activation, and returns the bundle. scope, when
// set, must match the signature's scope claim.
func Verify(b []byte, publicPEM []byte, keyID, scope string) (*bundle.Bundle, error) {
	pub, err := publicOfPEM(publicPEM)
	if err != nil {
		return nil, err
	}
	alg, err := algorithmFor(pub, "")
	if err != nil {
		return nil, err
	}
	if keyID == "" {
		keyID = DefaultKeyID
	}
	vc := bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{keyID: {Key: string(publicPEM), Algorithm: alg}}, keyID, scope, nil)
	bun, err := bundle.NewReader(bytes.NewReader(b)).WithBundleVerificationConfig(vc).Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return &bun, nil
}

// publicOfPEM reads the public key of a PEM private or public key.
func publicOfPEM(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block in the key", ErrSignature)
	}
	switch blk.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: public key: %w", ErrSignature, err)
		}
		return k, nil
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %w", ErrSignature, err)
		}
		return c.PublicKey, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: %w", ErrSignature, err)
		}
		return k.Public(), nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: %w", ErrSignature, err)
		}
		return k.Public(), nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: private key: %w", ErrSignature, err)
		}
		if s, ok := k.(crypto.Signer); ok {
			return s.Public(), nil
		}
	}
	return nil, fmt.Errorf("%w: unsupported PEM block %q", ErrSignature, blk.Type)
}

// algorithmFor picks the JWT algorithm for a key, or checks the one asked for.
func algorithmFor(pub crypto.PublicKey, want string) (string, error) {
	var alg string
	switch k := pub.(type) {
	case *rsa.PublicKey:
		alg = "RS256"
		if want == "RS384" || want == "RS512" || want == "PS256" || want == "PS384" || want == "PS512" {
			alg = want
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = "ES256"
		case elliptic.P384():
			alg = "ES384"
		case elliptic.P521():
			alg = "ES512"
		default:
			return "", fmt.Errorf("%w: ECDSA curve %s is not one OPA verifies", ErrSignature, k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		return "", fmt.Errorf("%w: OPA's bundle signatures have no EdDSA (ES/PS/RS 256/384/512 only): use an RSA or ECDSA key", ErrSignature)
	default:
		return "", fmt.Errorf("%w: unsupported key type %T", ErrSignature, pub)
	}
	if want != "" && want != alg {
		return "", fmt.Errorf("%w: algorithm %s does not fit this key (it signs %s)", ErrSignature, want, alg)
	}
	return alg, nil
}

// kmsPlugin is the OPA signer plugin that signs with a sigstore signer.
const kmsPlugin = "belladonna-sigstore"

// kmsSigners hands sigstore signers to the plugin through the signing
// config's key field, which OPA passes as a string.
var kmsSigners = &signerRegistry{m: map[string]signature.Signer{}}

type signerRegistry struct {
	mu   sync.Mutex
	m    map[string]signature.Signer
	next atomic.Uint64
}

func (r *signerRegistry) add(s signature.Signer) string {
	h := "kms-signer-" + strconv.FormatUint(r.next.Add(1), 10)
	r.mu.Lock()
	r.m[h] = s
	r.mu.Unlock()
	return h
}

func (r *signerRegistry) remove(h string) {
	r.mu.Lock()
	delete(r.m, h)
	r.mu.Unlock()
}

func (r *signerRegistry) get(h string) (signature.Signer, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.m[h]
	return s, ok
}

func init() {
	if err := bundle.RegisterSigner(kmsPlugin, kmsTokenSigner{}); err != nil {
		panic(err)
	}
}

// kmsTokenSigner builds the same JWT as OPA's default signer (the files
// claim, and keyid) and has the sigstore signer sign it. A KMS returns an
// ECDSA signature DER-encoded; a JWT carries r||s, so it is converted, or
// OPA would reject the bundle.
type kmsTokenSigner struct{}

func (kmsTokenSigner) GenerateSignedToken(files []bundle.FileInfo, sc *bundle.SigningConfig, keyID string) (string, error) {
	s, ok := kmsSigners.get(sc.Key)
	if !ok {
		return "", errors.New("no KMS signer for this signing")
	}
	header, err := json.Marshal(map[string]string{"alg": sc.Algorithm, "kid": keyID, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{"files": files, "keyid": keyID})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sig, err := s.SignMessage(bytes.NewReader([]byte(input)))
	if err != nil {
		return "", fmt.Errorf("KMS signing: %w", err)
	}
	if sc.Algorithm == "ES256" {
		if sig, err = derToRaw(sig, 32); err != nil {
			return "", err
		}
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// derToRaw turns an ASN.1 ECDSA signature into the fixed-size r||s a JWS
// carries.
func derToRaw(der []byte, size int) ([]byte, error) {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &v)
	if err != nil || len(rest) > 0 || v.R == nil || v.S == nil {
		if len(der) == 2*size {
			return der, nil // already r||s
		}
		return nil, fmt.Errorf("ECDSA signature is neither DER nor %d bytes", 2*size)
	}
	if v.R.Sign() < 0 || v.S.Sign() < 0 || v.R.BitLen() > 8*size || v.S.BitLen() > 8*size {
		return nil, fmt.Errorf("ECDSA signature values do not fit %d bytes", size)
	}
	out := make([]byte, 2*size)
	v.R.FillBytes(out[:size])
	v.S.FillBytes(out[size:])
	return out, nil
}
