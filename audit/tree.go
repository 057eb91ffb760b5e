package audit

import (
	"bufio"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// hasher is the RFC 6962 SHA-256 tree hasher every proof is checked with.
var hasher = rfc6962.New(crypto.SHA256)

// hashChildren is hasher.HashChildren, SHA-256(0x01 || l || r), without
// allocating a digest per node: verify and the writer hash one node per
// entry. TestHashesMatchRFC6962 holds it to the library's.
func hashChildren(l, r []byte) []byte {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = 1
	copy(buf[1:], l)
	copy(buf[1+sha256.Size:], r)
	sum := sha256.Sum256(buf[:])
	return sum[:]
}

// leafHasher computes RFC 6962 leaf hashes, SHA-256(0x00 || payload), with
// one reused digest. Not safe for concurrent use.
type leafHasher struct{ d hash.Hash }

func newLeafHasher() *leafHasher { return &leafHasher{d: sha256.New()} }

// sum appends the leaf hash of payload to dst.
func (h *leafHasher) sum(dst, payload []byte) []byte {
	h.d.Reset()
	h.d.Write([]byte{0})
	h.d.Write(payload)
	return h.d.Sum(dst)
}

// tree stores every perfect-subtree node of the log's Merkle tree, one file
// per level (level-00 holds the leaf hashes), so that a proof for any entry
// in any tree size is a handful of reads rather than a rehash of the log.
// The files are derived data: the segments are the source of truth, and
// Open rebuilds whatever a crash left missing.
type tree struct {
	// mu lets proofs read nodes while the writer appends: the writer holds
	// it exclusively for append+flush, readers share it.
	mu     sync.RWMutex
	dir    string
	levels []*os.File
	bufs   []*bufio.Writer
	fact   *compact.RangeFactory
	rng    *compact.Range
	werr   error // first write error from the visitor
}

func openTree(dir string) (*tree, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: creating %s: %w", dir, err)
	}
	t := &tree{dir: dir, fact: &compact.RangeFactory{Hash: hashChildren}}
	t.rng = t.fact.NewEmptyRange(0)
	return t, nil
}

func (t *tree) level(l uint) (*os.File, *bufio.Writer, error) {
	for uint(len(t.levels)) <= l {
		name := filepath.Join(t.dir, fmt.Sprintf("level-%02d.bin", len(t.levels)))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o640)
		if err != nil {
			return nil, nil, fmt.Errorf("audit: opening tree level %s: %w", name, err)
		}
		t.levels = append(t.levels, f)
		t.bufs = append(t.bufs, nil)
	}
	if t.bufs[l] == nil {
		if _, err := t.levels[l].Seek(0, io.SeekEnd); err != nil {
			return nil, nil, err
		}
		// Level 0 takes 32 bytes per entry; higher levels half as much each.
		t.bufs[l] = bufio.NewWriterSize(t.levels[l], max(4096, 64<<10>>l))
	}
	return t.levels[l], t.bufs[l], nil
}

// leafCount is the number of leaf hashes on disk (after a flush).
func (t *tree) leafCount() (uint64, error) {
	f, _, err := t.level(0)
	if err != nil {
		return 0, err
	}
	if err := t.flush(); err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return uint64(st.Size()) / sha256.Size, nil
}

// consistentSize is the largest n for which every node of the tree over
// [0, n) is on disk. Level files are not fsynced and a crash can leave them
// flushed to different points; leaf n needs floor(n/2^L) nodes at level L.
func (t *tree) consistentSize() (uint64, error) {
	n, err := t.leafCount()
	if err != nil {
		return 0, err
	}
	for l := uint(1); l < 64 && n>>l > 0; l++ {
		f, _, err := t.level(l)
		if err != nil {
			return 0, err
		}
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		count := uint64(st.Size()) / sha256.Size
		n = min(n, (count+1)<<l-1)
	}
	return n, nil
}

// reset makes the stored tree cover exactly [0, size): longer level files are
// cut back and the compact range is rebuilt from the stored nodes. size must
// not exceed leafCount.
func (t *tree) reset(size uint64) error {
	if err := t.flush(); err != nil {
		return err
	}
	for l := uint(0); l < 64; l++ {
		f, _, err := t.level(l)
		if err != nil {
			return err
		}
		want := int64(size>>l) * sha256.Size
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() > want {
			if err := f.Truncate(want); err != nil {
				return fmt.Errorf("audit: truncating tree level %d: %w", l, err)
			}
		}
		if size>>l == 0 && st.Size() == 0 {
			break
		}
		t.bufs[l] = nil // reposition at the new end on next write
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(id)
		if err != nil {
			return err
		}
		hashes[i] = h
	}
	rng, err := t.fact.NewRange(0, size, hashes)
	if err != nil {
		return fmt.Errorf("audit: rebuilding tree: %w", err)
	}
	t.rng = rng
	return nil
}

func (t *tree) visit(id compact.NodeID, hash []byte) {
	if t.werr != nil {
		return
	}
	_, w, err := t.level(id.Level)
	if err == nil {
		_, err = w.Write(hash)
	}
	if err != nil {
		t.werr = fmt.Errorf("audit: writing tree level %d: %w", id.Level, err)
	}
}

// append adds a leaf hash and stores every node it completes.
func (t *tree) append(leaf []byte) error {
	if err := t.rng.Append(leaf, t.visit); err != nil {
		return err
	}
	return t.werr
}

func (t *tree) flush() error {
	for _, b := range t.bufs {
		if b != nil {
			if err := b.Flush(); err != nil {
				return fmt.Errorf("audit: flushing tree: %w", err)
			}
		}
	}
	return t.werr
}

func (t *tree) size() uint64 { return t.rng.End() }

// root is the current tree's root hash (the empty-tree hash when empty).
func (t *tree) root() ([]byte, error) {
	if t.rng.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	return t.rng.GetRootHash(nil)
}

// errNodeMissing marks a tree node that is not (yet) stored.
var errNodeMissing = errors.New("tree node not stored")

// node reads a stored node. Only the writer creates level files, so a
// level that does not exist yet means the node is not stored.
func (t *tree) node(id compact.NodeID) ([]byte, error) {
	if int(id.Level) >= len(t.levels) {
		return nil, fmt.Errorf("audit: level %d index %d: %w", id.Level, id.Index, errNodeMissing)
	}
	f := t.levels[id.Level]
	h := make([]byte, sha256.Size)
	if _, err := f.ReadAt(h, int64(id.Index)*sha256.Size); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audit: level %d index %d: %w", id.Level, id.Index, errNodeMissing)
		}
		return nil, fmt.Errorf("audit: reading tree level %d: %w", id.Level, err)
	}
	return h, nil
}

func (t *tree) nodes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := t.node(id)
		if err != nil {
			return nil, err
		}
		out[i] = h
	}
	return out, nil
}

// rootAt computes the root of the tree's first size leaves from stored nodes.
func (t *tree) rootAt(size uint64) ([]byte, error) {
	if size == 0 {
		return hasher.EmptyRoot(), nil
	}
	hashes, err := t.nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	r, err := t.fact.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// inclusion returns the RFC 6962 inclusion proof of leaf index in a tree of size.
func (t *tree) inclusion(index, size uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, err
	}
	hashes, err := t.nodes(n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hashes, hashChildren)
}

// consistency returns the RFC 6962 consistency proof between two sizes.
func (t *tree) consistency(size1, size2 uint64) ([][]byte, error) {
	n, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, err
	}
	hashes, err := t.nodes(n.IDs)
	if err != nil {
		return nil, err
	}
	return n.Rehash(hashes, hashChildren)
}

func (t *tree) close() error {
	err := t.flush()
	for _, f := range t.levels {
		err = errors.Join(err, f.Close())
	}
	return err
}
