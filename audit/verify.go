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
	"runtime"
	"slices"
	"sync"
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
	// PublicKeys check checkpoint signatures (each checkpoint names its
	// key); none reads the keys the log directory keeps (PublicKeys).
	PublicKeys []crypto.PublicKey
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
	pub := opts.PublicKeys
	if len(pub) == 0 {
		k, err := PublicKeys(dir)
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
	// Read before the segments: every entry the tree holds now is already
	// in them, however far a live writer gets meanwhile.
	treeLeaves, haveTree := leafCount(filepath.Join(dir, "tree", "level-00.bin"))
	known := treeLeaves
	if n := len(cks); n > 0 {
		known = max(known, cks[n-1].Size)
	}
	leaves, closeLeaves, err := openLeafFile(filepath.Join(dir, "tree", "level-00.bin"))
	if err != nil {
		return nil, err
	}
	defer closeLeaves()

	fact := &compact.RangeFactory{Hash: hashChildren}
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
			if err := VerifyCheckpoint(c, pub...); err != nil {
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

	// Segments are checked in parallel (read, decompress, CRC, leaf hash,
	// chain within the segment: each segment is self-contained from its
	// header); the tree, checkpoints and links between segments are then
	// checked in order. At most a few segments' leaves are held at once.
	checks := checkSegments(ctx, segs)
	var idx uint64
	var chain [sha256.Size]byte
	started := false
	seen := 0
	for sc := range checks.results() {
		seen++
		if seen == len(segs) {
			sc.cutStaleTail(known)
		}
		if err := ctx.Err(); err != nil {
			checks.stop()
			return nil, err
		}
		name := sc.name
		if sc.err != nil {
			add(Problem{Index: idx, Segment: name, Kind: ProblemSegment, Message: sc.err.Error()})
			continue
		}
		h := sc.header
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
			}
		}
		inRange := func(i uint64) bool { return i >= opts.From && (opts.To == 0 || i < opts.To) }
		pi := 0
		for k := range sc.count {
			leaf := sc.leaves[k*sha256.Size : (k+1)*sha256.Size]
			for ; pi < len(sc.problems) && sc.problems[pi].Index <= idx; pi++ {
				if inRange(sc.problems[pi].Index) {
					add(sc.problems[pi])
				}
			}
			if inRange(idx) {
				rep.Checked++
				if stored, ok := leaves(idx); ok && string(stored) != string(leaf) {
					add(Problem{Index: idx, Segment: name, Kind: ProblemLeaf,
						Message: fmt.Sprintf("entry %d differs from the leaf hash recorded for it in the Merkle tree", idx)})
				}
			}
			if idx%2 == 0 {
				// A leaf at an even index stays in the compact range as is
				// (nothing to merge with yet): copy it, so the range does
				// not pin the segment's whole leaf buffer.
				leaf = slices.Clone(leaf)
			}
			if err := rng.Append(leaf, nil); err != nil {
				checks.stop()
				return nil, err
			}
			idx++
			checkCheckpoints(idx)
		}
		for ; pi < len(sc.problems); pi++ {
			add(sc.problems[pi]) // an unreadable record: reported whatever the range
		}
		chain = sc.lastChain
		if sc.count == 0 {
			chain = h.prevChain
		}
	}
	rep.Entries = idx
	if n := len(cks); n > 0 && cks[n-1].Size > idx {
		add(Problem{Index: idx, Kind: ProblemTruncated,
			Message: fmt.Sprintf("the log ends at entry %d but a checkpoint signed at %s covers %d entries: entries %d to %d are missing",
				idx, cks[n-1].Time.Format(time.RFC3339), cks[n-1].Size, idx, cks[n-1].Size-1)})
	}
	if n, ok := treeLeaves, haveTree; ok && n > idx {
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

// segCheck is what one segment's own check found.
type segCheck struct {
	name      string
	err       error // the segment could not be read at all
	header    segmentHeader
	count     int
	leaves    []byte // count leaf hashes, 32 bytes each
	lastChain [sha256.Size]byte
	// problems found inside the segment (chain breaks, an unreadable
	// record), in index order.
	problems []Problem
	// plain: read from an uncompressed file, the form the segment being
	// written has. breakCount and breakChain are count and chain before
	// the first problem.
	plain      bool
	breakCount int
	breakChain [sha256.Size]byte
	// damageAhead: the record after a bad one continues its chain, so the
	// bad one was written whole and damaged since, never a torn tail.
	damageAhead bool
}

// cutStaleTail treats what follows the first problem of the last segment
// as not yet written when no entry there was ever acknowledged (none is
// below known, what the tree or a checkpoint holds): the segment being
// written may be a reused file with stale records past its end, or end in a
// write in progress. Anything below known stays a problem.
func (sc *segCheck) cutStaleTail(known uint64) {
	if !sc.plain || sc.err != nil || len(sc.problems) == 0 || sc.damageAhead {
		return
	}
	if sc.header.first+uint64(sc.breakCount) < known {
		return
	}
	sc.count, sc.lastChain, sc.problems = sc.breakCount, sc.breakChain, nil
	sc.leaves = sc.leaves[:sc.count*sha256.Size]
}

// checkSegment reads one segment and checks what it can alone: record
// checksums and the hash chain from the segment header on.
func checkSegment(seg *segment) *segCheck {
	sc := &segCheck{name: filepath.Base(seg.path)}
	_, compressed := seg.location()
	sc.plain = !compressed
	rc, err := seg.openStream()
	if err != nil {
		sc.err = err
		return sc
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	hb := make([]byte, headerSize)
	if _, err := io.ReadFull(br, hb); err != nil {
		sc.err = errors.New("segment header unreadable")
		return sc
	}
	if sc.header, err = decodeHeader(hb); err != nil {
		sc.err = err
		return sc
	}
	idx, chain := sc.header.first, sc.header.prevChain
	var buf []byte
	lh := newLeafHasher()
	if seg.count > 0 {
		sc.leaves = make([]byte, 0, seg.count*sha256.Size)
	}
	for {
		r, err := readRecord(br, &buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if len(sc.problems) == 0 {
			sc.breakCount, sc.breakChain = sc.count, chain
		}
		if err != nil {
			if !errors.Is(err, errTorn) {
				bad := slices.Clone(buf)
				var next []byte
				if r2, err2 := readRecord(br, &next); err2 == nil && continuesChain(bad, next[:r2.size]) {
					sc.damageAhead = true
				}
			}
			sc.problems = append(sc.problems, Problem{Index: idx, Segment: sc.name, Kind: ProblemCorrupt,
				Message: fmt.Sprintf("entry %d: %v; the rest of the segment cannot be read", idx, err)})
			break
		}
		n := len(sc.leaves)
		sc.leaves = lh.sum(sc.leaves, r.payload)
		leaf := sc.leaves[n:]
		if want := chainNext(chain, leaf); want != r.chain && len(sc.problems) < maxProblems {
			sc.problems = append(sc.problems, Problem{Index: idx, Segment: sc.name, Kind: ProblemChain,
				Message: fmt.Sprintf("entry %d does not follow entry %d in the hash chain: modified, inserted, removed or reordered", idx, idx-1)})
		}
		chain = r.chain
		sc.count++
		idx++
	}
	sc.lastChain = chain
	return sc
}

// segmentChecks runs checkSegment over segments on every core and hands
// the results back in segment order.
type segmentChecks struct {
	ordered chan chan *segCheck
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func checkSegments(ctx context.Context, segs []*segment) *segmentChecks {
	ctx, cancel := context.WithCancel(ctx)
	workers := max(1, runtime.GOMAXPROCS(0))
	c := &segmentChecks{ordered: make(chan chan *segCheck, workers), cancel: cancel}
	type job struct {
		seg *segment
		out chan *segCheck
	}
	jobs := make(chan job)
	c.wg.Go(func() {
		defer close(c.ordered)
		defer close(jobs)
		for _, seg := range segs {
			out := make(chan *segCheck, 1)
			select {
			case c.ordered <- out: // bounds the segments held at once
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{seg, out}:
			case <-ctx.Done():
				return
			}
		}
	})
	for range workers {
		c.wg.Go(func() {
			for j := range jobs {
				j.out <- checkSegment(j.seg)
			}
		})
	}
	return c
}

// results yields the checks in segment order.
func (c *segmentChecks) results() func(func(*segCheck) bool) {
	return func(yield func(*segCheck) bool) {
		defer c.stop()
		for out := range c.ordered {
			if !yield(<-out) {
				return
			}
		}
	}
}

// stop ends the workers early and waits for them.
func (c *segmentChecks) stop() {
	c.cancel()
	go func() {
		for range c.ordered {
		}
	}()
	c.wg.Wait()
}
