package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Checkpoint is a signed statement of the log's size and Merkle root at a
// moment. Anyone holding one can later check that an entry was in the log
// (inclusion proof) and that the log only grew since (consistency proof).
type Checkpoint struct {
	Size      uint64    `json:"size"`
	Root      []byte    `json:"root"` // base64 in JSON
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// signedBytes is the exact text a checkpoint signature covers.
func (c Checkpoint) signedBytes() []byte {
	return []byte("belladonna-audit-checkpoint/v1\n" +
		strconv.FormatUint(c.Size, 10) + "\n" +
		base64.StdEncoding.EncodeToString(c.Root) + "\n" +
		strconv.FormatInt(c.Time.UnixNano(), 10) + "\n")
}

// ErrBadSignature is wrapped by checkpoint verification failures.
var ErrBadSignature = errors.New("checkpoint signature does not verify")

// CheckpointKey signs checkpoints: an Ed25519 key from a file, or any
// sigstore signer (a KMS key: hashivault://, awskms://, gcpkms://,
// azurekms://, or a sigstore-kms-* plugin).
type CheckpointKey struct {
	priv   ed25519.PrivateKey // file keys
	signer signature.Signer   // KMS keys
	pub    crypto.PublicKey
	id     string
}

// NewCheckpointSigner wraps a sigstore signer (a KMS key). Its public key is
// fetched once; the signer must sign the message with SHA-256 (ECDSA,
// RSA PKCS#1 v1.5) or be Ed25519.
func NewCheckpointSigner(ctx context.Context, s signature.Signer) (*CheckpointKey, error) {
	pub, err := s.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint signer: fetching its public key: %w", err)
	}
	id, err := keyID(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint signer: %w", err)
	}
	return &CheckpointKey{signer: s, pub: pub, id: id}, nil
}

// keyID names a key: the first 16 hex digits of SHA-256 of the raw Ed25519
// key, or of the PKIX DER encoding of any other key.
func keyID(pub crypto.PublicKey) (string, error) {
	var b []byte
	if ed, ok := pub.(ed25519.PublicKey); ok {
		b = ed
	} else {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("unsupported public key %T: %w", pub, err)
		}
		b = der
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// ID is the key's id as recorded in checkpoints.
func (k *CheckpointKey) ID() string { return k.id }

// Public returns the verification key.
func (k *CheckpointKey) Public() crypto.PublicKey {
	if k.priv != nil {
		return k.priv.Public()
	}
	return k.pub
}

// signTimeout bounds a remote (KMS) signature; the log's committer waits
// for it.
const signTimeout = 10 * time.Second

func (k *CheckpointKey) sign(c *Checkpoint) error {
	c.KeyID = k.id
	if k.priv != nil {
		c.Signature = ed25519.Sign(k.priv, c.signedBytes())
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), signTimeout)
	defer cancel()
	sig, err := k.signer.SignMessage(bytes.NewReader(c.signedBytes()), options.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("audit: signing checkpoint at size %d with key %s: %w", c.Size, k.id, err)
	}
	c.Signature = sig
	return nil
}

// GenerateCheckpointKey writes a new Ed25519 private key (PKCS#8 PEM, mode
// 0600) to path and its public key to path+".pub".
func GenerateCheckpointKey(path string) (*CheckpointKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return nil, err
	}
	id, _ := keyID(pub)
	return &CheckpointKey{priv: priv, id: id}, nil
}

// LoadCheckpointKey reads an Ed25519 private key (PKCS#8 PEM). A key file
// readable by group or others is refused: fail closed on a leaked key.
func LoadCheckpointKey(path string) (*CheckpointKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit: checkpoint key %s is accessible by group or others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: checkpoint key %s: want a PKCS#8 \"PRIVATE KEY\" PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: checkpoint key %s: want Ed25519, got %T", path, k)
	}
	id, _ := keyID(priv.Public())
	return &CheckpointKey{priv: priv, id: id}, nil
}

// LoadPublicKey reads a checkpoint verification key (PKIX PEM): Ed25519,
// ECDSA or RSA.
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("audit: public key %s: want a \"PUBLIC KEY\" PEM block", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: public key %s: %w", path, err)
	}
	switch k.(type) {
	case ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("audit: public key %s: unsupported key type %T", path, k)
}

// writePublicKey stores pub as PKIX PEM at path.
func writePublicKey(path string, pub crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
}

// VerifyCheckpoint checks c's signature with whichever of keys has c's key
// id; none matching is a failure.
func VerifyCheckpoint(c Checkpoint, keys ...crypto.PublicKey) error {
	var ids []string
	for _, pub := range keys {
		id, err := keyID(pub)
		if err != nil {
			return err
		}
		if id != c.KeyID {
			ids = append(ids, id)
			continue
		}
		return verifySignature(c, pub)
	}
	return fmt.Errorf("%w: checkpoint at size %d is signed by key %s, not %s", ErrBadSignature, c.Size, c.KeyID, strings.Join(ids, " or "))
}

func verifySignature(c Checkpoint, pub crypto.PublicKey) error {
	msg := c.signedBytes()
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, c.Signature) {
			return nil
		}
	case *rsa.PublicKey:
		// KMS RSA keys sign with PKCS#1 v1.5 or PSS, depending on the key.
		digest := sha256.Sum256(msg)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], c.Signature) == nil ||
			rsa.VerifyPSS(k, crypto.SHA256, digest[:], c.Signature, nil) == nil {
			return nil
		}
	default:
		v, err := signature.LoadVerifier(pub, crypto.SHA256)
		if err != nil {
			return fmt.Errorf("%w: checkpoint at size %d: %w", ErrBadSignature, c.Size, err)
		}
		if v.VerifySignature(bytes.NewReader(c.Signature), bytes.NewReader(msg)) == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: checkpoint at size %d", ErrBadSignature, c.Size)
}

// PublicKeys loads every checkpoint key a log directory keeps: the current
// checkpoint.key.pub and those of keys used before it
// (checkpoint.key.pub.<key id>), so checkpoints signed before a key change
// still verify.
func PublicKeys(dir string) ([]crypto.PublicKey, error) {
	paths, _ := filepath.Glob(filepath.Join(dir, "checkpoint.key.pub.*"))
	paths = append([]string{filepath.Join(dir, "checkpoint.key.pub")}, paths...)
	var out []crypto.PublicKey
	for i, p := range paths {
		k, err := LoadPublicKey(p)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

// ReadCheckpoints returns every checkpoint in the log's checkpoint file, in
// order. A missing file is no checkpoints.
func ReadCheckpoints(path string) ([]Checkpoint, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	defer f.Close()
	var out []Checkpoint
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return out, fmt.Errorf("audit: %s:%d: malformed checkpoint: %w", filepath.Base(path), n, err)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// writeFileAtomic writes via a temporary file, fsync and rename, so a crash
// leaves either the old or the new content.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("audit: writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("audit: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("audit: syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("audit: writing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
