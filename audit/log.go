package audit

import (
	"bufio"
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// Options configure a Log. Zero values take the defaults noted.
type Options struct {
	// Dir holds the log: segments/, tree/, checkpoints.jsonl, checkpoint.key.
	Dir string
	// Codec encodes entries; nil means JSONCodec.
	Codec Codec
	// CheckpointKey signs checkpoints; nil loads Dir/checkpoint.key, creating
	// it (and checkpoint.key.pub) on first use.
	CheckpointKey *CheckpointKey
	// SegmentBytes closes a segment once it grows past this (default 32 MiB).
	SegmentBytes int64
	// QueueSize bounds appends waiting for the writer (default 8192); callers
	// beyond it block: back-pressure instead of unbounded memory.
	QueueSize int
	// MaxBatch bounds the entries one write(2) carries (default 4096).
	MaxBatch int
	// MaxUnsynced bounds the entries written but not yet fsynced (default
	// 16384); with QueueSize it bounds the memory appends hold.
	MaxUnsynced int
	// CheckpointEvery signs a checkpoint after this many entries (default
	// 100000) and CheckpointInterval after this much time with new entries
	// (default 10s).
	CheckpointEvery    uint64
	CheckpointInterval time.Duration
	// NoCompress keeps closed segments uncompressed (default: zstd).
	NoCompress bool
	Logger     *slog.Logger
}

func (o *Options) defaults() {
	if o.Codec == nil {
		o.Codec = JSONCodec{}
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 32 << 20
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 8192
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 4096
	}
	if o.MaxUnsynced <= 0 {
		o.MaxUnsynced = defaultMaxUnsynced
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 100000
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Errors a caller can branch on.
var (
	ErrClosed = errors.New("audit: log closed")
	// ErrTruncated: the log holds fewer entries than a signed checkpoint says
	// it had. Open refuses such a log.
	ErrTruncated = errors.New("audit: log truncated below a signed checkpoint")
	// ErrFailed wraps the write or sync error that stopped the log; nothing
	// is appended after it until the log is reopened.
	ErrFailed = errors.New("audit: log failed")
)

// Recovery describes what Open repaired.
type Recovery struct {
	// TornBytes were cut from the end of the last segment (a crash mid-write;
	// those entries had not been acknowledged).
	TornBytes int64
	Segment   string
	// FromIndex is the index the first cut record would have had; SavedTo
	// holds a copy of the cut bytes.
	FromIndex uint64
	SavedTo   string
	// ReplayedLeaves were re-hashed into the tree from the segments.
	ReplayedLeaves uint64
}

// Log is the append-only, hash-chained, Merkle-tree audit log.
type Log struct {
	opts   Options
	segDir string
	tree   *tree
	key    *CheckpointKey
	log    *slog.Logger
	m      *metrics

	mu       sync.RWMutex // segments slice and the active segment pointer
	segments []*segment

	// Writer-stage state (see writer.go).
	active     *segment
	activeFile *os.File
	activeSize int64
	activeCap  int64 // file size: past activeSize a reused file holds stale bytes
	chain      [sha256.Size]byte
	next       uint64 // index the next written entry gets
	buf        []byte

	// Syncer-stage state.
	treeFlushed time.Time
	lastCk      Checkpoint
	lastCkAt    time.Time
	ckFile      *os.File

	lock   *os.File
	failed atomic.Pointer[error]

	size     atomic.Uint64 // committed (fsynced) entries
	notifyMu sync.Mutex
	notify   chan struct{}

	// closeMu orders Close after every Append that got into the queue.
	closeMu sync.RWMutex
	closed  bool

	queue     chan *appendReq
	syncQ     chan *batch
	free      chan *batch // recycled batches
	unsynced  atomic.Int64
	released  chan struct{} // the syncer freed room under MaxUnsynced
	syncBusy  atomic.Bool   // the syncer is committing a group
	wantWork  chan struct{} // the syncer finished a group
	ckReq     chan chan error
	compressQ chan *segment
	// compressing counts sealed segments not yet compressed (or left
	// plain): tests wait on it.
	compressing sync.WaitGroup
	quit        chan struct{}
	done        chan struct{}
	bg          sync.WaitGroup
	recovery    Recovery

	spareMu sync.Mutex
	spares  []spareFile // plain files of compressed segments, to write over

	// commitHook, set by benchmarks before the first append, sees each
	// group commit's fsync time and entries (on the syncer).
	commitHook func(fsync time.Duration, entries int)
}

// Open opens (creating if needed) the log in opts.Dir, repairing a torn tail
// and rebuilding derived tree files. It refuses a log that is damaged in a
// way a crash cannot explain, or shorter than its last signed checkpoint.
func Open(ctx context.Context, opts Options) (*Log, error) {
	opts.defaults()
	if opts.Dir == "" {
		return nil, errors.New("audit: no directory")
	}
	l := &Log{
		opts:   opts,
		segDir: filepath.Join(opts.Dir, "segments"),
		log:    opts.Logger,
		m:      newMetrics(),
		notify: make(chan struct{}),
		queue:  make(chan *appendReq, opts.QueueSize),
		// Every batch holds at least one entry: the writer never blocks here.
		syncQ:    make(chan *batch, opts.MaxUnsynced),
		free:     make(chan *batch, 64),
		released: make(chan struct{}, 1),
		wantWork: make(chan struct{}, 1),
		ckReq:    make(chan chan error),
		// One compressor at a time: it competes with appends for the cores.
		compressQ: make(chan *segment, 16),
		quit:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if err := os.MkdirAll(l.segDir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: creating %s: %w", l.segDir, err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	l.lock = lock
	if err := l.openKey(); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.openSegments(); err != nil {
		l.closeFiles()
		return nil, err
	}
	if l.tree, err = openTree(filepath.Join(opts.Dir, "tree")); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.rebuildTree(ctx); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.checkCheckpoints(); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.next = l.Size()
	go l.writer()
	go l.syncer()
	if !opts.NoCompress {
		l.bg.Go(l.compressor)
	}
	if r := l.recovery; r.TornBytes > 0 {
		l.log.Warn("audit log: truncated a torn tail", logfields.Segment, r.Segment, logfields.Bytes, r.TornBytes, logfields.Count, l.Size(), logfields.File, r.SavedTo)
		_, err := l.Append(ctx, &Entry{Kind: KindEvent, Type: EventTornTail, Severity: "medium",
			Message: fmt.Sprintf("recovered after a crash: cut %d bytes from %s where entry %d would start (an unacknowledged write, or the rest of a reused file); a copy is in %s",
				r.TornBytes, r.Segment, r.FromIndex, r.SavedTo),
			Attrs: map[string]string{"segment": r.Segment, "bytes": strconv.FormatInt(r.TornBytes, 10),
				"from_index": strconv.FormatUint(r.FromIndex, 10), "saved_to": r.SavedTo}})
		if err != nil {
			l.Close()
			return nil, err
		}
	}
	return l, nil
}

func (l *Log) openKey() error {
	if l.opts.CheckpointKey != nil {
		l.key = l.opts.CheckpointKey
		return l.publishKey()
	}
	path := filepath.Join(l.opts.Dir, "checkpoint.key")
	k, err := LoadCheckpointKey(path)
	if errors.Is(err, os.ErrNotExist) {
		if k, err = GenerateCheckpointKey(path); err == nil {
			l.log.Info("audit log: created checkpoint signing key", logfields.File, path, logfields.KeyID, k.ID())
		}
	}
	if err != nil {
		return err
	}
	l.key = k
	return nil
}

// publishKey keeps checkpoint.key.pub equal to the configured key's public
// key, so verify and proofs find it beside the log; the previous one is kept
// as checkpoint.key.pub.<its id> for the checkpoints it signed.
func (l *Log) publishKey() error {
	path := filepath.Join(l.opts.Dir, "checkpoint.key.pub")
	if old, err := LoadPublicKey(path); err == nil {
		id, err := keyID(old)
		if err == nil && id == l.key.ID() {
			return nil
		}
		if err == nil {
			if err := writePublicKey(path+"."+id, old); err != nil {
				return err
			}
		}
	}
	if err := writePublicKey(path, l.key.Public()); err != nil {
		return err
	}
	l.log.Info("audit log: checkpoints are signed by a new key", "key_id", l.key.ID())
	return nil
}

// openSegments finds the segments, scans the last one and prepares it (or a
// fresh one) for appending.
func (l *Log) openSegments() error {
	removeLeftovers(l.segDir)
	segs, err := listSegments(l.segDir)
	if err != nil {
		return err
	}
	var first uint64
	var prev [sha256.Size]byte
	if n := len(segs); n > 0 {
		last := segs[n-1]
		b, err := last.content()
		if err != nil {
			return err
		}
		res, err := scanBytes(b, !last.compressed)
		if err != nil {
			return fmt.Errorf("audit: segment %s: %w", filepath.Base(last.path), err)
		}
		name := filepath.Base(last.path)
		end := res.header.first + res.count
		if res.corrupt {
			return fmt.Errorf("audit: segment %s: entry %d is damaged (%v) and entries follow it: not a crash; run belladonna audit verify", name, res.corruptIndex, res.corruptErr)
		}
		if known, what := l.knownEntries(); res.torn && end < known {
			// Nothing is cut from entries known to have been written.
			if res.breakErr == nil {
				return fmt.Errorf("%w: segment %s ends inside entry %d but %s holds %d entries; run belladonna audit verify", ErrTruncated, name, end, what, known)
			}
			return fmt.Errorf("audit: segment %s: entry %d is damaged (%v) but %s holds %d entries: not a crash; run belladonna audit verify", name, end, res.breakErr, what, known)
		}
		last.count, last.offsets, last.scanned = res.count, res.offsets, true
		for _, s := range segs[:n-1] {
			s.sealed = true
		}
		first, prev = end, res.lastChain
		if !last.compressed {
			if res.torn {
				if err := l.cutTail(last.path, b, res.end, end); err != nil {
					return err
				}
			}
			f, err := os.OpenFile(last.path, os.O_WRONLY, 0)
			if err != nil {
				return fmt.Errorf("audit: opening %s: %w", last.path, err)
			}
			l.segments, l.active, l.activeFile, l.activeSize, l.activeCap, l.chain = segs, last, f, res.end, res.end, res.lastChain
			l.size.Store(first)
			return nil
		}
		if res.torn {
			return fmt.Errorf("audit: compressed segment %s is incomplete", last.path)
		}
		last.sealed = true
	}
	l.segments = segs
	l.size.Store(first)
	return l.startSegment(first, prev)
}

// knownEntries is how many entries the tree files or the last checkpoint
// say the log held: an entry below it was acknowledged, so its loss is
// damage, never a crash.
func (l *Log) knownEntries() (uint64, string) { return knownEntries(l.opts.Dir) }

func knownEntries(dir string) (uint64, string) {
	known, what := uint64(0), ""
	if n, ok := leafCount(filepath.Join(dir, "tree", "level-00.bin")); ok && n > known {
		known, what = n, "the Merkle tree"
	}
	if cks, err := ReadCheckpoints(filepath.Join(dir, "checkpoints.jsonl")); err == nil && len(cks) > 0 && cks[len(cks)-1].Size > known {
		known, what = cks[len(cks)-1].Size, "the last signed checkpoint"
	}
	return known, what
}

// cutTail removes what follows the valid records of the last segment (an
// unacknowledged write cut by a crash, or the rest of a reused file), after
// saving those bytes under recovered/ for inspection: nothing is destroyed
// without a copy.
func (l *Log) cutTail(path string, b []byte, end int64, index uint64) error {
	name := filepath.Base(path)
	dir := filepath.Join(l.opts.Dir, "recovered")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("audit: saving the torn tail of %s: %w", name, err)
	}
	saved, err := saveTail(dir, fmt.Sprintf("%s.from-%d", name, index), b[end:])
	if err != nil {
		return fmt.Errorf("audit: saving the torn tail of %s: %w", name, err)
	}
	if err := os.Truncate(path, end); err != nil {
		return fmt.Errorf("audit: truncating torn tail of %s: %w", path, err)
	}
	l.recovery = Recovery{TornBytes: int64(len(b)) - end, Segment: name, SavedTo: saved, FromIndex: index}
	return nil
}

// saveTail writes b to a new file in dir named after base (never over an
// earlier copy: two crashes may cut at the same index) and makes it and
// its name durable.
func saveTail(dir, base string, b []byte) (string, error) {
	var f *os.File
	var err error
	for n := 0; ; n++ {
		name := base + ".tail"
		if n > 0 {
			name = fmt.Sprintf("%s.%d.tail", base, n)
		}
		f, err = os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	pruneSaved(dir, maxSavedTails)
	return f.Name(), syncDir(dir)
}

// maxSavedTails bounds recovered/: a crash loop must not fill the disk
// with copies of reused files' stale tails.
const maxSavedTails = 16

// pruneSaved keeps the newest keep files of dir.
func pruneSaved(dir string, keep int) {
	des, err := os.ReadDir(dir)
	if err != nil || len(des) <= keep {
		return
	}
	type saved struct {
		path string
		mod  time.Time
	}
	var all []saved
	for _, de := range des {
		if info, err := de.Info(); err == nil && info.Mode().IsRegular() {
			all = append(all, saved{filepath.Join(dir, de.Name()), info.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, s := range all[min(keep, len(all)):] {
		os.Remove(s.path)
	}
}

// startSegment makes the segment whose first entry is first the active one,
// written over a spare file when one is ready.
func (l *Log) startSegment(first uint64, prev [sha256.Size]byte) error {
	seg := &segment{first: first, path: filepath.Join(l.segDir, segmentName(first)), scanned: true}
	hdr := segmentHeader{first: first, prevChain: prev}.encode()
	var f *os.File
	capacity := int64(headerSize)
	if sp, ok := l.takeSpare(); ok {
		var err error
		if f, err = reuseSpare(sp, seg.path, hdr); err != nil {
			l.warnSpare(err)
			f = nil
		} else {
			capacity = sp.size
		}
	}
	if f == nil {
		var err error
		if f, err = createSegment(seg.path, hdr); err != nil {
			return err
		}
	}
	if err := syncDir(l.segDir); err != nil {
		f.Close()
		return err
	}
	l.mu.Lock()
	l.segments = append(l.segments, seg)
	l.mu.Unlock()
	l.active, l.activeFile, l.activeSize, l.activeCap, l.chain = seg, f, headerSize, capacity, prev
	return nil
}

// createSegment writes a segment holding only its header under a temporary
// name and renames it into place, so that a crash never leaves a segment
// file without a header.
func createSegment(path string, hdr []byte) (*os.File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".new-*.log")
	if err != nil {
		return nil, fmt.Errorf("audit: creating segment: %w", err)
	}
	err = func() error {
		if err := f.Chmod(0o640); err != nil {
			return err
		}
		if _, err := f.Write(hdr); err != nil {
			return fmt.Errorf("writing header: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("syncing: %w", err)
		}
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists already", filepath.Base(path))
		}
		return os.Rename(f.Name(), path)
	}()
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("audit: creating segment %s: %w", filepath.Base(path), err)
	}
	return f, nil
}

// rebuildTree makes the tree files match the segments exactly.
func (l *Log) rebuildTree(ctx context.Context) error {
	size := l.Size()
	leaves, err := l.tree.leafCount()
	if err != nil {
		return err
	}
	if leaves > size {
		// Tree leaves are written only after their entries are fsynced, so
		// a crash cannot leave more leaves than entries: entries were removed.
		return fmt.Errorf("%w: the Merkle tree holds %d leaves but the segments only %d entries: entries %d to %d are missing",
			ErrTruncated, leaves, size, size, leaves-1)
	}
	n, err := l.tree.consistentSize()
	if err != nil {
		return err
	}
	if err := l.tree.reset(n); err != nil {
		return err
	}
	for n < size {
		payloads, err := l.readPayloads(n, 4096)
		if err != nil {
			return fmt.Errorf("audit: rebuilding tree from entry %d: %w", n, err)
		}
		if len(payloads) == 0 {
			return fmt.Errorf("audit: rebuilding tree: entry %d missing from the segments", n)
		}
		for _, p := range payloads {
			if err := l.tree.append(hasher.HashLeaf(p)); err != nil {
				return err
			}
		}
		n += uint64(len(payloads))
		l.recovery.ReplayedLeaves += uint64(len(payloads))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return l.tree.flush()
}

// checkCheckpoints compares the last signed checkpoint with the log.
func (l *Log) checkCheckpoints() error {
	path := filepath.Join(l.opts.Dir, "checkpoints.jsonl")
	cks, err := ReadCheckpoints(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("audit: opening checkpoints: %w", err)
	}
	l.ckFile = f
	if len(cks) == 0 {
		return nil
	}
	last := cks[len(cks)-1]
	if size := l.Size(); last.Size > size {
		return fmt.Errorf("%w: checkpoint signed at %s says %d entries, the log has %d: entries %d to %d are missing",
			ErrTruncated, last.Time.Format(time.RFC3339), last.Size, size, size, last.Size-1)
	}
	if last.KeyID == l.key.ID() {
		if err := VerifyCheckpoint(last, l.key.Public()); err != nil {
			return err
		}
	}
	root, err := l.tree.rootAt(last.Size)
	if err != nil {
		return err
	}
	if string(root) != string(last.Root) {
		return fmt.Errorf("audit: the log's Merkle root at size %d differs from the signed checkpoint: entries before %d were altered; run belladonna audit verify", last.Size, last.Size)
	}
	l.lastCk, l.lastCkAt = last, time.Now()
	return nil
}

// Size is the number of committed (durable) entries.
func (l *Log) Size() uint64 { return l.size.Load() }

// Recovery reports what Open repaired.
func (l *Log) Recovery() Recovery { return l.recovery }

// Dir is the log's directory.
func (l *Log) Dir() string { return l.opts.Dir }

// PublicKey verifies this log's checkpoints.
func (l *Log) PublicKey() crypto.PublicKey { return l.key.Public() }

func (l *Log) wake() {
	l.notifyMu.Lock()
	close(l.notify)
	l.notify = make(chan struct{})
	l.notifyMu.Unlock()
}

// Wait blocks until the log holds more than n entries or ctx ends.
func (l *Log) Wait(ctx context.Context, n uint64) error {
	for {
		l.notifyMu.Lock()
		ch := l.notify
		l.notifyMu.Unlock()
		if l.Size() > n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			if l.Size() > n {
				return nil
			}
			return ErrClosed
		}
	}
}

func (l *Log) compressor() {
	for seg := range l.compressQ {
		if err := compressSegment(seg, l.recycle); err != nil {
			l.log.Warn("audit: compressing segment failed; it stays uncompressed", logfields.File, seg.path, logfields.Error, err)
		}
		l.compressing.Done()
	}
}

// compressSegment writes seg as .log.zst, then hands the plain file to
// dispose (which keeps it to reuse, or removes it). Readers switch under
// seg.mu; a crash in between leaves both and listSegments prefers the
// complete plain file.
func compressSegment(seg *segment, dispose func(path string) error) error {
	seg.mu.Lock()
	src := seg.path
	seg.mu.Unlock()
	dst := src + ".zst"
	tmp, err := os.CreateTemp(filepath.Dir(src), ".compress-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := writeCompressed(src, bw); err != nil {
		tmp.Close()
		return fmt.Errorf("compressing %s: %w", filepath.Base(src), err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(src)); err != nil {
		return err
	}
	x, ok, err := readZIndex(dst)
	if err != nil {
		return err
	}
	seg.mu.Lock()
	seg.path, seg.compressed = dst, true
	if ok {
		seg.zidx = &x
	}
	seg.mu.Unlock()
	if err := dispose(src); err != nil {
		return err
	}
	return syncDir(filepath.Dir(src))
}

// compressPace caps how fast closed segments are compressed (bytes of
// input per second). Unpaced, compression takes a whole core in bursts and
// doubles the append tail latency on a 2-core machine; paced, it spreads
// over the time the next segment takes to fill.
const compressPace = 128 << 20

// Checkpoint signs a checkpoint of the current size now (unless the last
// one already covers it) and returns the latest checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	reply := make(chan error, 1)
	select {
	case l.ckReq <- reply:
	case <-ctx.Done():
		return Checkpoint{}, ctx.Err()
	case <-l.done:
		return Checkpoint{}, ErrClosed
	}
	if err := <-reply; err != nil {
		return Checkpoint{}, err
	}
	return l.latestCheckpoint()
}

func (l *Log) latestCheckpoint() (Checkpoint, error) {
	cks, err := ReadCheckpoints(filepath.Join(l.opts.Dir, "checkpoints.jsonl"))
	if err != nil {
		return Checkpoint{}, err
	}
	if len(cks) == 0 {
		return Checkpoint{}, errors.New("audit: no checkpoint yet")
	}
	return cks[len(cks)-1], nil
}

// Close stops the writer after committing what is queued, signs a final
// checkpoint, and waits for background compression.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.closeMu.Unlock()
	close(l.quit)
	<-l.done
	close(l.compressQ)
	l.bg.Wait()
	var err error
	if l.failure() == nil {
		// A closed log's segments hold exactly their records.
		err = l.cutActive()
	}
	return errors.Join(err, l.closeFiles())
}

func (l *Log) closeFiles() error {
	l.dropSpares()
	var err error
	if l.activeFile != nil {
		err = errors.Join(err, l.activeFile.Close())
	}
	if l.ckFile != nil {
		err = errors.Join(err, l.ckFile.Close())
	}
	if l.tree != nil {
		err = errors.Join(err, l.tree.close())
	}
	if l.lock != nil {
		err = errors.Join(err, l.lock.Close())
	}
	return err
}

// segmentFor returns the segment holding index i.
func (l *Log) segmentFor(i uint64) (*segment, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segments) == 0 || i < l.segments[0].first {
		return nil, fmt.Errorf("%w: index %d", ErrPruned, i)
	}
	k := sort.Search(len(l.segments), func(k int) bool { return l.segments[k].first > i }) - 1
	return l.segments[k], nil
}

// readPayloads returns stored payloads from index from, up to max, within
// the committed size.
func (l *Log) readPayloads(from uint64, max int) ([][]byte, error) {
	size := l.Size()
	var out [][]byte
	for from < size && len(out) < max {
		seg, err := l.segmentFor(from)
		if err != nil {
			return out, err
		}
		n := min(uint64(max-len(out)), size-from)
		ps, err := seg.readRange(from, int(n))
		if err != nil {
			return out, err
		}
		if len(ps) == 0 {
			return out, fmt.Errorf("audit: entry %d not found in segment %s", from, filepath.Base(seg.path))
		}
		out = append(out, ps...)
		from += uint64(len(ps))
	}
	return out, nil
}

// Read returns up to max decoded entries from index from.
func (l *Log) Read(ctx context.Context, from uint64, max int) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ps, err := l.readPayloads(from, max)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ps))
	for i, p := range ps {
		if err := l.opts.Codec.Decode(p, &out[i]); err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w", from+uint64(i), err)
		}
		out[i].Index = from + uint64(i)
	}
	return out, nil
}
