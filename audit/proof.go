package audit

import (
	"context"
	"crypto"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// InclusionProof shows that the entry at Index, whose stored payload is
// Payload, is leaf Index of the tree of Size leaves with root Root. With the
// checkpoint that signed Root it can be checked offline by anyone.
type InclusionProof struct {
	Index      uint64      `json:"index"`
	Size       uint64      `json:"size"`
	Payload    []byte      `json:"payload"`
	LeafHash   []byte      `json:"leaf_hash"`
	Root       []byte      `json:"root"`
	Hashes     [][]byte    `json:"hashes"`
	Checkpoint *Checkpoint `json:"checkpoint,omitempty"`
}

// ConsistencyProof shows that the tree of Size1 leaves is a prefix of the
// tree of Size2 leaves: nothing before Size1 was changed since.
type ConsistencyProof struct {
	Size1  uint64   `json:"size1"`
	Size2  uint64   `json:"size2"`
	Root1  []byte   `json:"root1"`
	Root2  []byte   `json:"root2"`
	Hashes [][]byte `json:"hashes"`
}

// ProveInclusion proves entry index against the latest checkpoint, signing a
// new one first when the latest does not cover index yet.
func (l *Log) ProveInclusion(ctx context.Context, index uint64) (InclusionProof, error) {
	if index >= l.Size() {
		return InclusionProof{}, fmt.Errorf("audit: entry %d does not exist (log size %d)", index, l.Size())
	}
	ck, err := l.latestCheckpoint()
	if err != nil || ck.Size <= index {
		if ck, err = l.Checkpoint(ctx); err != nil {
			return InclusionProof{}, err
		}
	}
	p, err := l.proveInclusionAt(index, ck.Size)
	if err != nil {
		return InclusionProof{}, err
	}
	p.Checkpoint = &ck
	return p, nil
}

func (l *Log) proveInclusionAt(index, size uint64) (InclusionProof, error) {
	payloads, err := l.readPayloads(index, 1)
	if err != nil {
		return InclusionProof{}, err
	}
	if len(payloads) != 1 {
		return InclusionProof{}, fmt.Errorf("audit: entry %d not readable", index)
	}
	l.tree.mu.Lock()
	defer l.tree.mu.Unlock()
	if err := l.tree.flush(); err != nil {
		return InclusionProof{}, err
	}
	leaf, err := l.tree.node(compact.NewNodeID(0, index))
	if err != nil {
		return InclusionProof{}, err
	}
	root, err := l.tree.rootAt(size)
	if err != nil {
		return InclusionProof{}, err
	}
	hashes, err := l.tree.inclusion(index, size)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Index: index, Size: size, Payload: payloads[0], LeafHash: leaf, Root: root, Hashes: hashes}, nil
}

// ProveConsistency proves that the tree of size1 is a prefix of the tree of
// size2 (both at most the log's size).
func (l *Log) ProveConsistency(size1, size2 uint64) (ConsistencyProof, error) {
	if size1 > size2 || size2 > l.Size() {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency from %d to %d: want size1 <= size2 <= %d", size1, size2, l.Size())
	}
	l.tree.mu.Lock()
	defer l.tree.mu.Unlock()
	if err := l.tree.flush(); err != nil {
		return ConsistencyProof{}, err
	}
	r1, err := l.tree.rootAt(size1)
	if err != nil {
		return ConsistencyProof{}, err
	}
	r2, err := l.tree.rootAt(size2)
	if err != nil {
		return ConsistencyProof{}, err
	}
	hashes, err := l.tree.consistency(size1, size2)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{Size1: size1, Size2: size2, Root1: r1, Root2: r2, Hashes: hashes}, nil
}

// VerifyInclusionProof checks p with the Merkle library's own verifier: the
// payload hashes to the leaf, the leaf and path give the root, and, when keys
// are given, the checkpoint carrying the root is signed by one of them.
func VerifyInclusionProof(p InclusionProof, keys ...crypto.PublicKey) error {
	if got := hasher.HashLeaf(p.Payload); string(got) != string(p.LeafHash) {
		return fmt.Errorf("audit: proof for entry %d: the payload does not hash to the leaf hash", p.Index)
	}
	if err := proof.VerifyInclusion(hasher, p.Index, p.Size, p.LeafHash, p.Hashes, p.Root); err != nil {
		return fmt.Errorf("audit: proof for entry %d: %w", p.Index, err)
	}
	return verifyProofCheckpoint(p.Checkpoint, p.Size, p.Root, keys)
}

// VerifyConsistencyProof checks p with the Merkle library's verifier.
func VerifyConsistencyProof(p ConsistencyProof) error {
	if err := proof.VerifyConsistency(hasher, p.Size1, p.Size2, p.Hashes, p.Root1, p.Root2); err != nil {
		return fmt.Errorf("audit: consistency %d -> %d: %w", p.Size1, p.Size2, err)
	}
	return nil
}

func verifyProofCheckpoint(ck *Checkpoint, size uint64, root []byte, keys []crypto.PublicKey) error {
	if len(keys) == 0 {
		return nil
	}
	if ck == nil {
		return fmt.Errorf("audit: proof carries no checkpoint to check the root's signature")
	}
	if ck.Size != size || string(ck.Root) != string(root) {
		return fmt.Errorf("audit: proof root is not the checkpoint's (size %d vs %d)", size, ck.Size)
	}
	return VerifyCheckpoint(*ck, keys...)
}
