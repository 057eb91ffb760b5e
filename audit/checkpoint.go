package audit

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
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
	"time"
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

// CheckpointKey signs checkpoints with Ed25519.
type CheckpointKey struct {
	priv ed25519.PrivateKey
	id   string
}

// KeyID names the key: the first 16 hex digits of SHA-256 of the public key.
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// ID is the key's id as recorded in checkpoints.
func (k *CheckpointKey) ID() string { return k.id }

// Public returns the verification key.
func (k *CheckpointKey) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

func (k *CheckpointKey) sign(c *Checkpoint) {
	c.KeyID = k.id
	c.Signature = ed25519.Sign(k.priv, c.signedBytes())
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
	return &CheckpointKey{priv: priv, id: keyID(pub)}, nil
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
	return &CheckpointKey{priv: priv, id: keyID(priv.Public().(ed25519.PublicKey))}, nil
}

// LoadPublicKey reads an Ed25519 public key (PKIX PEM) for verification.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
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
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("audit: public key %s: want Ed25519, got %T", path, k)
	}
	return pub, nil
}

// VerifyCheckpoint checks c's signature with pub.
func VerifyCheckpoint(c Checkpoint, pub ed25519.PublicKey) error {
	if c.KeyID != keyID(pub) {
		return fmt.Errorf("%w: checkpoint at size %d is signed by key %s, not %s", ErrBadSignature, c.Size, c.KeyID, keyID(pub))
	}
	if !ed25519.Verify(pub, c.signedBytes(), c.Signature) {
		return fmt.Errorf("%w: checkpoint at size %d", ErrBadSignature, c.Size)
	}
	return nil
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
