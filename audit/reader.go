package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
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

	mu     sync.Mutex
	closed map[uint64]*segment // closed segments by first index, scanned once
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
		b, err := s.content()
		if err != nil {
			return nil, err
		}
		res, err := scanBytes(b)
		if err != nil {
			return nil, fmt.Errorf("audit: segment %s: %w", filepath.Base(s.path), err)
		}
		if res.corrupt {
			return nil, fmt.Errorf("audit: segment %s: entry %d is damaged: %v", filepath.Base(s.path), res.corruptIndex, res.corruptErr)
		}
		// A torn tail of the active segment is a write in progress: the
		// complete records before it are readable.
		s.count, s.offsets, s.scanned = res.count, res.offsets, true
		if !last {
			r.closed[s.first] = s
		}
	}
	return segs, nil
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

// PublicKey reads the log's checkpoint verification key.
func (r *Reader) PublicKey() (ed25519.PublicKey, error) {
	return LoadPublicKey(filepath.Join(r.dir, "checkpoint.key.pub"))
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
	defer t.close()
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
	defer t.close()
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

func (r *Reader) openTree() (*tree, error) {
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
	return t, nil
}

func (r *Reader) rawPayload(_ context.Context, index uint64) ([]byte, error) {
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
