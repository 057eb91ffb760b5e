package audit

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// Problem is one integrity failure found by Verify, located by entry index
// (and segment) wherever it can be.
type Problem struct {
	Index   uint64 `json:"index"`
	Segment string `json:"segment,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// Problem kinds.
const (
	ProblemCorrupt    = "corrupt"    // bytes do not match the record checksum
	ProblemChain      = "chain"      // hash chain broken: modified, inserted, deleted or reordered
	ProblemLeaf       = "leaf"       // entry differs from the leaf the tree recorded for it
	ProblemGap        = "gap"        // a segment does not start where the previous ended
	ProblemTruncated  = "truncated"  // fewer entries than a checkpoint or the tree says
	ProblemCheckpoint = "checkpoint" // checkpoint root or signature wrong
	ProblemSegment    = "segment"    // a segment cannot be read at all
)

// VerifyOptions select what Verify checks.
type VerifyOptions struct {
	// From and To bound the entries checked, [From, To); To 0 means the end.
	From, To uint64
	// PublicKey checks checkpoint signatures; nil reads Dir/checkpoint.key.pub.
	PublicKey ed25519.PublicKey
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Entries     uint64        `json:"entries"`
	Checked     uint64        `json:"checked"`
	Segments    int           `json:"segments"`
	Checkpoints int           `json:"checkpoints"`
	Root        []byte        `json:"root"`
	Problems    []Problem     `json:"problems"`
	Duration    time.Duration `json:"duration_ns"`
}

// OK reports whether nothing was found.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// maxProblems keeps a wrecked log from producing an unbounded report.
const maxProblems = 1000

// Verify recomputes the hash chain and the Merkle tree of the log in dir from
// its segments, compares every leaf with the stored tree and every signed
// checkpoint with the recomputed root, and reports each problem with the
// entry index involved. It reads the files directly and does not need the
// log to be open (but is safe while it is).
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*VerifyReport, error) {
	start := time.Now()
	rep := &VerifyReport{Problems: []Problem{}}
	add := func(p Problem) {
		if len(rep.Problems) < maxProblems {
			rep.Problems = append(rep.Problems, p)
		}
	}
	pub := opts.PublicKey
	if pub == nil {
		k, err := LoadPublicKey(filepath.Join(dir, "checkpoint.key.pub"))
		if err != nil {
			return nil, fmt.Errorf("audit verify: %w (pass the log's public key)", err)
		}
		pub = k
	}
	cks, err := ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl"))
	if err != nil {
		return nil, err
	}
	segs, err := listSegments(filepath.Join(dir, "segments"))
	if err != nil {
		return nil, err
	}
	rep.Segments = len(segs)
	leaves, closeLeaves, err := openLeafFile(filepath.Join(dir, "tree", "level-00.bin"))
	if err != nil {
		return nil, err
	}
	defer closeLeaves()

	fact := &compact.RangeFactory{Hash: hasher.HashChildren}
	rng := fact.NewEmptyRange(0)
	ckNext := 0
	checkCheckpoints := func(size uint64) {
		for ckNext < len(cks) && cks[ckNext].Size <= size {
			c := cks[ckNext]
			ckNext++
			if c.Size != size {
				continue // passed over (a gap); reported elsewhere
			}
			rep.Checkpoints++
			if err := VerifyCheckpoint(c, pub); err != nil {
				add(Problem{Index: c.Size, Kind: ProblemCheckpoint, Message: err.Error()})
			}
			if opts.From > 0 {
				continue // the recomputed range does not start at 0
			}
			root, err := rootOf(rng)
			if err == nil && string(root) != string(c.Root) {
				add(Problem{Index: c.Size, Kind: ProblemCheckpoint,
					Message: fmt.Sprintf("Merkle root of the first %d entries differs from the checkpoint signed at %s", c.Size, c.Time.Format(time.RFC3339))})
			}
		}
	}

	var idx uint64
	var chain [sha256.Size]byte
	started := false
	var buf []byte
	for _, seg := range segs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := filepath.Base(seg.path)
		rc, err := seg.openStream()
		if err != nil {
			add(Problem{Index: idx, Segment: name, Kind: ProblemSegment, Message: err.Error()})
			continue
		}
		br := bufio.NewReaderSize(rc, 1<<20)
		hb := make([]byte, headerSize)
		if _, err := io.ReadFull(br, hb); err != nil {
			rc.Close()
			add(Problem{Index: idx, Segment: name, Kind: ProblemSegment, Message: "segment header unreadable"})
			continue
		}
		h, err := decodeHeader(hb)
		if err != nil {
			rc.Close()
			add(Problem{Index: idx, Segment: name, Kind: ProblemSegment, Message: err.Error()})
			continue
		}
		if !started {
			started = true
			idx, chain = h.first, h.prevChain
			if h.first > 0 {
				// Retention removed the head: resume the tree from stored nodes.
				if r, err := rangeFromTree(dir, h.first); err == nil {
					rng = r
				} else {
					add(Problem{Index: h.first, Segment: name, Kind: ProblemSegment, Message: "cannot resume the tree after pruned segments: " + err.Error()})
				}
			}
		} else {
			if h.first != idx {
				msg := fmt.Sprintf("segment starts at entry %d, the previous one ended at %d", h.first, idx)
				if h.first > idx {
					msg = fmt.Sprintf("entries %d to %d are missing (segment %s starts at %d)", idx, h.first-1, name, h.first)
				}
				add(Problem{Index: idx, Segment: name, Kind: ProblemGap, Message: msg})
				idx = h.first
			}
			if h.prevChain != chain {
				add(Problem{Index: idx, Segment: name, Kind: ProblemChain, Message: "segment header does not continue the previous segment's hash chain"})
				chain = h.prevChain
			}
		}
		for {
			r, err := readRecord(br, &buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				add(Problem{Index: idx, Segment: name, Kind: ProblemCorrupt,
					Message: fmt.Sprintf("entry %d: %v; the rest of the segment cannot be read", idx, err)})
				break
			}
			inRange := idx >= opts.From && (opts.To == 0 || idx < opts.To)
			leaf := hasher.HashLeaf(r.payload)
			if inRange {
				rep.Checked++
				if want := chainNext(chain, leaf); want != r.chain {
					add(Problem{Index: idx, Segment: name, Kind: ProblemChain,
						Message: fmt.Sprintf("entry %d does not follow entry %d in the hash chain: modified, inserted, removed or reordered", idx, idx-1)})
				}
				if stored, ok := leaves(idx); ok && string(stored) != string(leaf) {
					add(Problem{Index: idx, Segment: name, Kind: ProblemLeaf,
						Message: fmt.Sprintf("entry %d differs from the leaf hash recorded for it in the Merkle tree", idx)})
				}
			}
			chain = r.chain
			if err := rng.Append(leaf, nil); err != nil {
				return nil, err
			}
			idx++
			checkCheckpoints(idx)
		}
		rc.Close()
	}
	rep.Entries = idx
	if n := len(cks); n > 0 && cks[n-1].Size > idx {
		add(Problem{Index: idx, Kind: ProblemTruncated,
			Message: fmt.Sprintf("the log ends at entry %d but a checkpoint signed at %s covers %d entries: entries %d to %d are missing",
				idx, cks[n-1].Time.Format(time.RFC3339), cks[n-1].Size, idx, cks[n-1].Size-1)})
	}
	if n, ok := leafCount(filepath.Join(dir, "tree", "level-00.bin")); ok && n > idx {
		add(Problem{Index: idx, Kind: ProblemTruncated,
			Message: fmt.Sprintf("the Merkle tree records %d entries but the segments hold %d: entries %d to %d are missing", n, idx, idx, n-1)})
	}
	if root, err := rootOf(rng); err == nil {
		rep.Root = root
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func rootOf(r *compact.Range) ([]byte, error) {
	if r.End() == 0 {
		return hasher.EmptyRoot(), nil
	}
	if r.Begin() != 0 {
		return nil, errors.New("range does not start at 0")
	}
	return r.GetRootHash(nil)
}

// rangeFromTree rebuilds the compact range [0, size) from stored tree nodes.
func rangeFromTree(dir string, size uint64) (*compact.Range, error) {
	t, err := openTree(filepath.Join(dir, "tree"))
	if err != nil {
		return nil, err
	}
	defer t.close()
	// Open existing level files read-only through the writer path is not
	// needed: node() reads files opened by level().
	for l := uint(0); size>>l > 0; l++ {
		if _, _, err := t.level(l); err != nil {
			return nil, err
		}
	}
	hashes, err := t.nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	return t.fact.NewRange(0, size, hashes)
}

// openLeafFile returns a lookup of stored leaf hashes by index, reading the
// level-0 file sequentially (Verify asks in increasing order).
func openLeafFile(path string) (func(uint64) ([]byte, bool), func(), error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return func(uint64) ([]byte, bool) { return nil, false }, func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit verify: %w", err)
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var next uint64
	cur := make([]byte, sha256.Size)
	lookup := func(i uint64) ([]byte, bool) {
		if i < next {
			// Out of order (after a gap): fall back to a positioned read.
			b := make([]byte, sha256.Size)
			if _, err := f.ReadAt(b, int64(i)*sha256.Size); err != nil {
				return nil, false
			}
			return b, true
		}
		for next <= i {
			if _, err := io.ReadFull(br, cur); err != nil {
				return nil, false
			}
			next++
		}
		return cur, true
	}
	return lookup, func() { f.Close() }, nil
}

func leafCount(path string) (uint64, bool) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return uint64(st.Size()) / sha256.Size, true
}
