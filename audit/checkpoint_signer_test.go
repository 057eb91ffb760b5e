package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

func ecdsaSigner(t *testing.T) *CheckpointKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewCheckpointSigner(context.Background(), sv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A sigstore signer (what a KMS URI resolves to) signs checkpoints; verify,
// proofs and a key change across reopenings all work, and a signature by
// the wrong key or an altered checkpoint fails.
func TestSigstoreSignerAndKeyRotation(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l := openLog(t, dir, func(o *Options) { o.CheckpointEvery = 20 }) // the generated Ed25519 file key
	appendN(t, l, 0, 50)
	l.Close()
	first, _ := ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl"))

	ec := ecdsaSigner(t)
	l = openLog(t, dir, func(o *Options) { o.CheckpointKey = ec; o.CheckpointEvery = 20 })
	appendN(t, l, 50, 50)
	p, err := l.ProveInclusion(ctx, 75)
	if err != nil {
		t.Fatal(err)
	}
	if p.Checkpoint.KeyID != ec.ID() {
		t.Fatalf("proof checkpoint signed by %s, want the ECDSA key %s", p.Checkpoint.KeyID, ec.ID())
	}
	l.Close()
	// checkpoint.key.pub is now the ECDSA key; the Ed25519 one is kept.
	cur, err := LoadPublicKey(filepath.Join(dir, "checkpoint.key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := keyID(cur); id != ec.ID() {
		t.Fatalf("checkpoint.key.pub is key %s, want %s", id, ec.ID())
	}
	if _, err := os.Stat(filepath.Join(dir, "checkpoint.key.pub."+first[0].KeyID)); err != nil {
		t.Fatalf("previous key not kept: %v", err)
	}
	all, _ := ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl"))
	signers := map[string]int{}
	for _, c := range all {
		signers[c.KeyID]++
	}
	if len(signers) != 2 || signers[ec.ID()] == 0 {
		t.Fatalf("checkpoints by key: %v, want both keys", signers)
	}
	rep := mustVerify(t, dir)
	if !rep.OK() || rep.Checkpoints != len(all) {
		t.Fatalf("verify across the key change (%d checkpoints): %+v", len(all), rep)
	}
	keys, _ := PublicKeys(dir)
	if err := VerifyInclusionProof(p, keys...); err != nil {
		t.Fatal(err)
	}
	// Only the ECDSA key: the Ed25519-signed checkpoints are named as such.
	rep, err = Verify(ctx, dir, VerifyOptions{PublicKeys: []crypto.PublicKey{ec.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || rep.Problems[0].Kind != ProblemCheckpoint {
		t.Fatalf("want checkpoint problems for the other key, got %+v", rep.Problems)
	}
	// An altered checkpoint does not verify.
	ck := *p.Checkpoint
	ck.Size++
	if err := VerifyCheckpoint(ck, ec.Public()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("altered checkpoint: %v", err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if err := VerifyCheckpoint(*p.Checkpoint, other.Public()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("unknown key: %v", err)
	}
}

// A signer that fails leaves no unsigned checkpoint behind.
func TestFailingSignerWritesNoCheckpoint(t *testing.T) {
	dir := t.TempDir()
	k := ecdsaSigner(t)
	k.signer = failingSigner{k.signer}
	l := openLog(t, dir, func(o *Options) { o.CheckpointKey = k })
	appendN(t, l, 0, 10)
	if _, err := l.Checkpoint(context.Background()); err == nil {
		t.Fatal("checkpoint with a failing signer succeeded")
	}
	l.Close()
	cks, _ := ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl"))
	if len(cks) != 0 {
		t.Fatalf("%d checkpoints written", len(cks))
	}
}

type failingSigner struct{ signature.Signer }

func (failingSigner) SignMessage(_ io.Reader, _ ...signature.SignOption) ([]byte, error) {
	return nil, errors.New("kms unavailable")
}
