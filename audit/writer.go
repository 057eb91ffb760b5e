package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// The append path is a two-stage pipeline, so that writing batches
// overlaps the fsync that makes earlier ones durable:
//
//	Append (encode, leaf hash; on the caller's core)
//	  -> queue -> writer: chain, frame, one write(2) per batch
//	  -> syncQ -> syncer: one fsync for every batch written so far,
//	              Merkle tree, acknowledge, checkpoint
//
// While an fsync runs the writer keeps writing what arrives, and the next
// fsync covers all of it: the fsync rate is bounded by the disk's latency,
// not by the arrival rate, and its batches grow with the load. At most
// Options.MaxUnsynced entries are written and not yet durable, so a slow disk
// pushes back on callers through the bounded queue instead of growing
// memory. Indexes are assigned by the writer in queue order; an entry is
// visible to readers (Size) only once the syncer has fsynced it.

// defaultMaxUnsynced is Options.MaxUnsynced when unset.
const defaultMaxUnsynced = 16384

// maxGroup bounds the batches one fsync commits.
const maxGroup = 1024

type appendReq struct {
	payload []byte
	leaf    []byte // RFC 6962 leaf hash; retained by the tree, never reused
	done    chan appendResult
	// buf is 0x00 (RFC 6962's leaf prefix) followed by the payload when the
	// codec encodes in place; reused with the request.
	buf []byte
}

// treeFlushEvery bounds how long tree nodes stay buffered under load.
const treeFlushEvery = 50 * time.Millisecond

// maxPooledPayload: larger payload buffers are not kept with a pooled request.
const maxPooledPayload = 64 << 10

type appendResult struct {
	index uint64
	err   error
}

// reqPool recycles requests and their reply channels: at 100k appends/s
// they are most of the append path's garbage.
var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan appendResult, 1)} }}

// batch is what one write(2) and one fsync commit.
type batch struct {
	reqs    []*appendReq
	offsets []int64 // file offset of each record
	base    uint64  // index of reqs[0]
	seg     *segment
	file    *os.File
	err     error // set by the writer: answer every caller with it
	// seal: the segment filled up with this batch; once it is synced the
	// syncer closes the file and hands the segment to the compressor.
	seal bool
}

// Append encodes e, queues it and returns once it is fsynced, with e.Index
// set. Concurrent callers share fsyncs (group commit). A full queue blocks
// the caller until there is room or ctx ends.
func (l *Log) Append(ctx context.Context, e *Entry) (uint64, error) {
	start := time.Now()
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if e.Type == "" && e.Kind == KindDecision {
		e.Type = string(KindDecision)
	}
	req := reqPool.Get().(*appendReq)
	if ae, ok := l.opts.Codec.(AppendEncoder); ok {
		buf, err := ae.AppendEncode(append(req.buf[:0], 0), e)
		if err != nil {
			return 0, err
		}
		// The leaf hash is SHA-256(0x00 || payload): hash the buffer whole.
		sum := sha256.Sum256(buf)
		req.payload, req.leaf = buf[1:], sum[:]
		if cap(buf) <= maxPooledPayload {
			req.buf = buf
		}
	} else {
		payload, err := l.opts.Codec.Encode(e)
		if err != nil {
			return 0, err
		}
		req.payload, req.leaf = payload, hasher.HashLeaf(payload)
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case l.queue <- req:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return 0, ctx.Err()
	}
	l.closeMu.RUnlock()
	// Once queued the entry will be written; wait for the verdict even if
	// ctx ends, so the caller never mistakes a durable entry for a lost one.
	res := <-req.done
	req.payload, req.leaf = nil, nil
	reqPool.Put(req)
	l.m.appendSeconds.Observe(time.Since(start).Seconds())
	if res.err != nil {
		return 0, res.err
	}
	e.Index = res.index
	return res.index, nil
}

// failure is the error that stopped the log, or nil.
func (l *Log) failure() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// fail records err as the log's failure unless one is recorded already,
// and returns the recorded one.
func (l *Log) fail(err error) error {
	l.failed.CompareAndSwap(nil, &err)
	return l.failure()
}

// writer is the first stage: it forms batches from the queue and writes them.
func (l *Log) writer() {
	defer close(l.syncQ)
	for {
		select {
		case r := <-l.queue:
			l.writeBatch(r)
		case <-l.quit:
			// Close set closed under closeMu: nothing more is queued after
			// what is there now.
			for {
				select {
				case r := <-l.queue:
					l.writeBatch(r)
					continue
				default:
				}
				return
			}
		}
	}
}

func (l *Log) writeBatch(first *appendReq) {
	// Back-pressure: at most MaxUnsynced entries written and not yet
	// durable; the queue in front holds the rest.
	// The syncer signals released after every group it commits, and it
	// runs until the writer closes syncQ, so this always wakes.
	for l.unsynced.Load() >= int64(l.opts.MaxUnsynced) {
		<-l.released
	}
	var b *batch
	select {
	case b = <-l.free:
	default:
		b = &batch{}
	}
	b.reqs = append(b.reqs[:0], first)
drain:
	for len(b.reqs) < l.opts.MaxBatch {
		select {
		case r := <-l.queue:
			b.reqs = append(b.reqs, r)
		default:
			break drain
		}
	}
	// While the syncer is in an fsync, what is written now waits for the
	// next one anyway: gather until it asks for work, so that one write(2)
	// carries a whole fsync's worth (each write costs the kernel a journal
	// handle, and small ones took a sixth of the CPU).
gather:
	for l.syncBusy.Load() && len(b.reqs) < l.opts.MaxBatch {
		select {
		case r := <-l.queue:
			b.reqs = append(b.reqs, r)
		case <-l.wantWork:
			break gather
		}
	}
	l.unsynced.Add(int64(len(b.reqs)))
	l.write(b)
	l.syncQ <- b
}

// write frames the batch's records onto the active segment with one write.
func (l *Log) write(b *batch) {
	b.err, b.seal = nil, false
	if err := l.failure(); err != nil {
		b.err = err
		return
	}
	b.base, b.seg, b.file = l.next, l.active, l.activeFile
	prevChain, start := l.chain, l.activeSize
	l.buf = l.buf[:0]
	b.offsets = b.offsets[:0]
	for _, r := range b.reqs {
		l.chain = chainNext(l.chain, r.leaf)
		b.offsets = append(b.offsets, start+int64(len(l.buf)))
		l.buf = appendRecord(l.buf, l.chain, r.payload)
	}
	if _, err := l.activeFile.WriteAt(l.buf, start); err != nil {
		// Nothing of this batch was acknowledged: cut any partial write so
		// the next batch starts on a record boundary, and let callers retry.
		l.chain = prevChain
		terr := l.activeFile.Truncate(start)
		err = fmt.Errorf("audit: appending %d entries at index %d to %s: %w", len(b.reqs), b.base, filepath.Base(l.active.path), err)
		if terr != nil {
			err = l.fail(fmt.Errorf("%w: %w (and could not cut the partial write: %v)", ErrFailed, err, terr))
		}
		l.log.Error("audit append failed", logfields.Error, err)
		l.m.appendErrors.Inc()
		b.err = err
		return
	}
	l.activeSize = start + int64(len(l.buf))
	l.next += uint64(len(b.reqs))
	if l.activeSize >= l.opts.SegmentBytes {
		// The written batch stays good: the syncer commits it in the old
		// file. Only what follows needs the new segment. A reused file is
		// cut to its records first, durably, so that only the last segment
		// can ever have a stale tail.
		if err := l.cutActive(); err != nil {
			err = l.fail(fmt.Errorf("%w: %w", ErrFailed, err))
			l.log.Error("audit segment roll failed", logfields.Error, err)
			b.err = err
			return
		}
		if err := l.startSegment(l.next, l.chain); err != nil {
			err = l.fail(fmt.Errorf("%w: %w", ErrFailed, err))
			l.log.Error("audit segment roll failed", logfields.Error, err)
			return
		}
		b.seal = true
		// Counted before any caller of this batch is answered, so that
		// waiting on it after an Append returned sees the compression.
		l.compressing.Add(1)
	}
}

// syncer is the second stage: it makes written batches durable, extends the
// tree, acknowledges callers and signs checkpoints.
func (l *Log) syncer() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.CheckpointInterval)
	defer tick.Stop()
	group := make([]*batch, 0, maxGroup)
	for {
		select {
		case b, ok := <-l.syncQ:
			l.syncBusy.Store(true)
			open := ok
			group = group[:0]
			if ok {
				group = append(group, b)
			}
		drain:
			for open && len(group) < maxGroup {
				select {
				case b, ok := <-l.syncQ:
					if !ok {
						open = false
						break drain
					}
					group = append(group, b)
				default:
					break drain
				}
			}
			if len(group) > 0 {
				l.commit(group)
			}
			n := 0
			for _, b := range group {
				n += len(b.reqs)
				clear(b.reqs)
				select {
				case l.free <- b:
				default:
				}
			}
			l.unsynced.Add(-int64(n))
			select {
			case l.released <- struct{}{}:
			default:
			}
			l.syncBusy.Store(false)
			select {
			case l.wantWork <- struct{}{}:
			default:
			}
			if !open {
				// A final checkpoint covers everything written, so proofs
				// for the newest entries work after a clean shutdown.
				if l.failure() == nil && l.Size() != l.lastCk.Size {
					if err := l.writeCheckpoint(); err != nil {
						l.log.Error("audit final checkpoint failed", logfields.Error, err)
					}
				}
				return
			}
		case <-tick.C:
			l.maybeCheckpoint(true)
		case reply := <-l.ckReq:
			err := l.failure()
			if err == nil && l.Size() != l.lastCk.Size {
				err = l.writeCheckpoint()
			}
			reply <- err
		}
	}
}

// commit makes a group of written batches durable with one fsync per file
// (two when a segment rolled in between), then answers every caller.
func (l *Log) commit(group []*batch) {
	// Full segments are sealed once the group is answered.
	defer func() {
		for _, b := range group {
			if b.seal {
				l.seal(b)
			}
		}
	}()
	t0 := time.Now()
	var synced *os.File
	entries := 0
	for _, b := range group {
		if b.err == nil {
			// An earlier batch's fsync failed after this one was written.
			b.err = l.failure()
		}
		if b.err != nil || b.file == synced {
			continue
		}
		if err := datasync(b.file); err != nil {
			// After a failed fsync the page cache state is unknown; stop.
			b.err = l.fail(fmt.Errorf("%w: syncing %s: %w", ErrFailed, filepath.Base(b.seg.path), err))
			l.log.Error("audit fsync failed", logfields.Error, b.err)
			l.m.appendErrors.Inc()
			continue
		}
		synced = b.file
	}
	for _, b := range group {
		if b.err == nil {
			entries += len(b.reqs)
		}
	}
	if entries > 0 {
		d := time.Since(t0)
		l.m.fsyncSeconds.Observe(d.Seconds())
		l.m.batchSize.Observe(float64(entries))
		if l.commitHook != nil {
			l.commitHook(d, entries)
		}
	}

	var treeErr error
	l.tree.mu.Lock()
	for _, b := range group {
		if b.err != nil {
			continue
		}
		for _, r := range b.reqs {
			if treeErr = l.tree.append(r.leaf); treeErr != nil {
				break
			}
		}
		if treeErr != nil {
			break
		}
	}
	// The tree files are derived (rebuilt on open after a crash), so they
	// are flushed now and then, not per fsync: under load that saves a
	// dozen writes per commit. In-process proofs flush first (proof.go);
	// checkpoints flush, so other processes see every checkpointed node.
	if treeErr == nil && (time.Since(l.treeFlushed) >= treeFlushEvery || len(l.queue) == 0 && len(l.syncQ) == 0) {
		treeErr = l.tree.flush()
		l.treeFlushed = time.Now()
	}
	l.tree.mu.Unlock()
	for _, b := range group {
		if b.err != nil {
			continue
		}
		seg := b.seg
		seg.mu.Lock()
		for i, off := range b.offsets {
			if (seg.count+uint64(i))%sparseEvery == 0 {
				seg.offsets = append(seg.offsets, off)
			}
		}
		seg.count += uint64(len(b.reqs))
		seg.mu.Unlock()
		l.size.Store(b.base + uint64(len(b.reqs)))
	}
	if entries > 0 {
		l.m.entries.Add(float64(entries))
		l.wake()
	}
	for _, b := range group {
		for i, r := range b.reqs {
			if b.err != nil {
				r.done <- appendResult{err: b.err}
			} else {
				r.done <- appendResult{index: b.base + uint64(i)}
			}
		}
	}
	if treeErr != nil {
		// The entries are durable; the derived tree is rebuilt on reopen.
		err := l.fail(fmt.Errorf("%w: %w", ErrFailed, treeErr))
		l.log.Error("audit tree update failed", logfields.Error, err)
		return
	}
	l.maybeCheckpoint(false)
}

// seal closes a full segment after its last batch and queues it for
// compression.
func (l *Log) seal(b *batch) {
	if err := b.file.Close(); err != nil {
		l.log.Warn("audit: closing segment", logfields.File, b.seg.path, logfields.Error, err)
	}
	b.seg.mu.Lock()
	b.seg.sealed = true
	b.seg.mu.Unlock()
	if l.opts.NoCompress || l.failure() != nil {
		l.compressing.Done()
		return
	}
	select {
	case l.compressQ <- b.seg:
	default:
		l.compressing.Done()
		// The compressor is behind: this segment stays plain (readable
		// all the same) rather than queueing without bound.
		l.log.Warn("audit: compression is behind; segment left uncompressed", logfields.File, b.seg.path)
	}
}

// maybeCheckpoint signs a checkpoint when enough entries or time passed.
func (l *Log) maybeCheckpoint(timed bool) {
	size := l.Size()
	if size == l.lastCk.Size || l.failure() != nil {
		return
	}
	due := size-l.lastCk.Size >= l.opts.CheckpointEvery ||
		(timed && time.Since(l.lastCkAt) >= l.opts.CheckpointInterval)
	if !due {
		return
	}
	if err := l.writeCheckpoint(); err != nil {
		l.log.Error("audit checkpoint failed", logfields.Error, err)
		l.m.appendErrors.Inc()
	}
}

func (l *Log) writeCheckpoint() error {
	l.tree.mu.Lock()
	err := l.tree.flush()
	l.tree.mu.Unlock()
	if err != nil {
		return err
	}
	root, err := l.tree.root()
	if err != nil {
		return err
	}
	c := Checkpoint{Size: l.tree.size(), Root: root, Time: time.Now().UTC()}
	if err := l.key.sign(&c); err != nil {
		return err
	}
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if _, err := l.ckFile.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit: writing checkpoint: %w", err)
	}
	if err := l.ckFile.Sync(); err != nil {
		return fmt.Errorf("audit: syncing checkpoint: %w", err)
	}
	l.lastCk, l.lastCkAt = c, time.Now()
	l.m.checkpoints.Inc()
	return nil
}
