package audit

import (
	"bufio"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// Reader reads a log another process may be appending to (the CLI beside a
// running serve). It never writes: no recovery, no checkpoints. It sees
// entries once their segment bytes are complete.
type Reader struct {
	dir   string
	codec Codec
	poll  time.Duration

	mu        sync.Mutex
	closed    map[uint64]*segment // closed segments by first index, scanned once
	active    *segment            // the segment being written, scanned incrementally
	tree      *tree               // opened on first proof
	activeEnd int64               // offset after its last complete record
	// activeChain is the chain hash of the active segment's last record:
	// a record counts only if it continues it (a reused file holds stale
	// records past the end).
	activeChain [sha256.Size]byte
}

// OpenReader opens the log in dir for reading; codec nil means JSONCodec.
func OpenReader(dir string, codec Codec) (*Reader, error) {
	if codec == nil {
		codec = JSONCodec{}
	}
	if _, err := listSegments(filepath.Join(dir, "segments")); err != nil {
		return nil, err
	}
	return &Reader{dir: dir, codec: codec, poll: 200 * time.Millisecond, closed: map[uint64]*segment{}}, nil
}

// segments lists the current segments, reusing scans of closed ones; the
// last (active) one is rescanned on every call.
func (r *Reader) segments() ([]*segment, error) {
	segs, err := listSegments(filepath.Join(r.dir, "segments"))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range segs {
		last := i == len(segs)-1
		if c, ok := r.closed[s.first]; ok && !last && c.compressed == s.compressed {
			segs[i] = c
			continue
		}
		if last && !s.compressed {
			a, err := r.scanActive(s)
			if err != nil {
				return nil, err
			}
			segs[i] = a
			continue
		}
		if err := s.ensureScanned(); err != nil {
			return nil, err
		}
		r.closed[s.first] = s
	}
	return segs, nil
}

// scanActive brings the reader's view of the segment being written up to
// date by parsing only the bytes added since the last call. The records
// that count are those that pass their checksum and continue the hash
// chain; what follows is a write in progress or stale bytes of a reused
// file, unless the tree or a checkpoint already holds that entry (damage).
func (r *Reader) scanActive(s *segment) (*segment, error) {
	if r.active == nil || r.active.first != s.first {
		s.offsets, s.count, s.scanned = nil, 0, true
		r.active, r.activeEnd = s, headerSize
	}
	a := r.active
	// Before the file is read: every entry the tree holds now is in it,
	// however far the writer gets meanwhile.
	known, haveTree := leafCount(filepath.Join(r.dir, "tree", "level-00.bin"))
	f, err := os.Open(a.path)
	if errors.Is(err, os.ErrNotExist) {
		// Sealed and compressed since it was listed: the next listing has
		// it as a closed segment.
		return a, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: opening segment: %w", err)
	}
	defer f.Close()
	if r.activeEnd == headerSize {
		hb := make([]byte, headerSize)
		if _, err := io.ReadFull(f, hb); err != nil {
			return a, nil // header not yet written
		}
		h, err := decodeHeader(hb)
		if err != nil {
			return nil, fmt.Errorf("audit: segment %s: %w", filepath.Base(a.path), err)
		}
		r.activeChain = h.prevChain
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, r.activeEnd, 1<<62), 64<<10)
	var buf, leaf []byte
	lh := newLeafHasher()
	for {
		rec, err := readRecord(br, &buf)
		if errors.Is(err, io.EOF) || errors.Is(err, errTorn) {
			break
		}
		if err == nil {
			leaf = lh.sum(leaf[:0], rec.payload)
			if chainNext(r.activeChain, leaf) != rec.chain {
				err = errUnlinked
			}
		}
		if err != nil {
			// The tree's size is a stat; Open and Verify also weigh the
			// checkpoints, which this would read on every poll of a tail.
			if haveTree && a.first+a.count < known {
				return nil, fmt.Errorf("audit: segment %s: entry %d is damaged (%v) but the Merkle tree holds %d entries; run belladonna audit verify",
					filepath.Base(a.path), a.first+a.count, err, known)
			}
			break
		}
		a.mu.Lock()
		if a.count%sparseEvery == 0 {
			a.offsets = append(a.offsets, r.activeEnd)
		}
		a.count++
		a.mu.Unlock()
		r.activeEnd += int64(rec.size)
		r.activeChain = rec.chain
	}
	return a, nil
}

// Size is the number of complete entries on disk.
func (r *Reader) Size() uint64 {
	segs, err := r.segments()
	if err != nil || len(segs) == 0 {
		return 0
	}
	last := segs[len(segs)-1]
	return last.first + last.count
}

// Read returns up to max entries from index from.
func (r *Reader) Read(ctx context.Context, from uint64, max int) ([]Entry, error) {
	segs, err := r.segments()
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, nil
	}
	if from < segs[0].first {
		return nil, fmt.Errorf("%w: index %d", ErrPruned, from)
	}
	var out []Entry
	for len(out) < max {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := sort.Search(len(segs), func(k int) bool { return segs[k].first > from }) - 1
		if k < 0 {
			break
		}
		ps, err := segs[k].readRange(from, max-len(out))
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			break
		}
		for i, p := range ps {
			var e Entry
			if err := r.codec.Decode(p, &e); err != nil {
				return nil, fmt.Errorf("audit: entry %d: %w", from+uint64(i), err)
			}
			e.Index = from + uint64(i)
			out = append(out, e)
		}
		from += uint64(len(ps))
	}
	return out, nil
}

// Wait polls until the log holds more than n entries or ctx ends.
func (r *Reader) Wait(ctx context.Context, n uint64) error {
	t := time.NewTicker(r.poll)
	defer t.Stop()
	for r.Size() <= n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Checkpoints returns the signed checkpoints, oldest first.
func (r *Reader) Checkpoints() ([]Checkpoint, error) {
	return ReadCheckpoints(filepath.Join(r.dir, "checkpoints.jsonl"))
}

// PublicKeys reads the log's checkpoint verification keys (see PublicKeys).
func (r *Reader) PublicKeys() ([]crypto.PublicKey, error) {
	return PublicKeys(r.dir)
}

// ProveInclusion proves entry index against the latest checkpoint that
// covers it. A reader does not sign: an entry newer than the last
// checkpoint has to wait for the next one.
func (r *Reader) ProveInclusion(ctx context.Context, index uint64) (InclusionProof, error) {
	cks, err := r.Checkpoints()
	if err != nil {
		return InclusionProof{}, err
	}
	if len(cks) == 0 || cks[len(cks)-1].Size <= index {
		return InclusionProof{}, fmt.Errorf("audit: entry %d is not covered by a signed checkpoint yet (checkpoints come every 10s while the log grows); try again shortly", index)
	}
	ck := cks[len(cks)-1]
	entries, err := r.rawPayload(ctx, index)
	if err != nil {
		return InclusionProof{}, err
	}
	t, err := r.openTree()
	if err != nil {
		return InclusionProof{}, err
	}
	leaf, err := t.node(compact.NewNodeID(0, index))
	if err != nil {
		return InclusionProof{}, err
	}
	hashes, err := t.inclusion(index, ck.Size)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{Index: index, Size: ck.Size, Payload: entries, LeafHash: leaf, Root: ck.Root, Hashes: hashes, Checkpoint: &ck}, nil
}

// ProveConsistency proves that the tree at size1 is a prefix of the tree at
// size2, where size2 is at most the latest checkpoint's size.
func (r *Reader) ProveConsistency(size1, size2 uint64) (ConsistencyProof, error) {
	t, err := r.openTree()
	if err != nil {
		return ConsistencyProof{}, err
	}
	n, _ := leafCount(filepath.Join(r.dir, "tree", "level-00.bin"))
	if size1 > size2 || size2 > n {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency from %d to %d: want size1 <= size2 <= %d", size1, size2, n)
	}
	r1, err := t.rootAt(size1)
	if err != nil {
		return ConsistencyProof{}, err
	}
	r2, err := t.rootAt(size2)
	if err != nil {
		return ConsistencyProof{}, err
	}
	hashes, err := t.consistency(size1, size2)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{Size1: size1, Size2: size2, Root1: r1, Root2: r2, Hashes: hashes}, nil
}

// openTree opens the tree files once; nodes are read with ReadAt, which sees
// what the writing process adds later.
func (r *Reader) openTree() (*tree, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tree != nil && len(r.tree.levels) > 0 {
		if n, _ := leafCount(filepath.Join(r.dir, "tree", fmt.Sprintf("level-%02d.bin", len(r.tree.levels)-1))); n == 0 {
			return r.tree, nil // the top level is still open-ended
		}
		r.tree.close()
	}
	t, err := openTree(filepath.Join(r.dir, "tree"))
	if err != nil {
		return nil, err
	}
	for l := uint(0); l < 64; l++ {
		if _, _, err := t.level(l); err != nil {
			t.close()
			return nil, err
		}
		if n, _ := leafCount(filepath.Join(r.dir, "tree", fmt.Sprintf("level-%02d.bin", l))); n == 0 {
			break
		}
	}
	r.tree = t
	return t, nil
}

func (r *Reader) rawPayload(_ context.Context, index uint64) ([]byte, error) {
	if s := r.cachedSegment(index); s != nil {
		if ps, err := s.readRange(index, 1); err == nil && len(ps) == 1 {
			return ps[0], nil
		}
	}
	segs, err := r.segments()
	if err != nil {
		return nil, err
	}
	k := sort.Search(len(segs), func(k int) bool { return segs[k].first > index }) - 1
	if k < 0 {
		return nil, fmt.Errorf("%w: index %d", ErrPruned, index)
	}
	ps, err := segs[k].readRange(index, 1)
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		return nil, errors.New("audit: entry not found")
	}
	return ps[0], nil
}

// cachedSegment finds the closed segment holding index among those already
// scanned, sparing a directory listing on the proof path.
func (r *Reader) cachedSegment(index uint64) *segment {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.closed {
		if index >= s.first && index < s.first+s.count {
			return s
		}
	}
	return nil
}

// Close releases the tree files a proof opened.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tree == nil {
		return nil
	}
	err := r.tree.close()
	r.tree = nil
	return err
}
