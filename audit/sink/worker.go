package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// worker moves one sink's cursor through the log.
type worker struct {
	sink    Sink
	batch   Batching
	cursor  cursorFile
	src     audit.Source
	backoff backoff
	log     *slog.Logger

	sent, errs, pruned prometheus.Counter
	up                 prometheus.Gauge

	// next is the first index not yet acknowledged by the sink; what the
	// cursor file holds once persisted.
	next atomic.Uint64
}

// run sends batches until loopCtx is done. sendCtx outlives loopCtx during a
// graceful Stop so that a batch being sent can still be acknowledged.
func (w *worker) run(loopCtx, sendCtx context.Context) {
	if size := w.src.Size(); w.next.Load() > size {
		// The log is shorter than what was already sent: it was replaced
		// or restored from an older copy. Waiting keeps the sink from
		// resending entries it already has; say so, since it looks like a
		// stall.
		w.log.Warn("audit sink: cursor is past the end of the log; waiting for the log to reach it",
			logfields.Count, w.next.Load()-size)
	}
	failures := 0
	for loopCtx.Err() == nil {
		from := w.next.Load()
		batch, err := w.read(loopCtx, from)
		if loopCtx.Err() != nil {
			return
		}
		if errors.Is(err, audit.ErrPruned) {
			err = w.skipPruned(loopCtx, from)
		}
		if err != nil {
			w.errs.Inc()
			d := w.backoff.delay(failures)
			failures++
			w.log.Warn("audit sink: reading the audit log failed; retrying", logfields.Error, err, logfields.Duration, d)
			sleep(loopCtx, d)
			continue
		}
		failures = 0
		if len(batch) > 0 && !w.deliver(loopCtx, sendCtx, from, batch) {
			return
		}
	}
}

// read returns the next batch starting at from, waiting for entries to be
// committed and, for a partial batch, up to MaxLatency for it to fill.
func (w *worker) read(ctx context.Context, from uint64) ([]audit.Entry, error) {
	if w.src.Size() <= from {
		if err := w.src.Wait(ctx, from); err != nil {
			return nil, err
		}
	}
	want := uint64(w.batch.Size)
	if w.src.Size()-from < want && w.batch.MaxLatency > 0 {
		wctx, cancel := context.WithTimeout(ctx, w.batch.MaxLatency)
		err := w.src.Wait(wctx, from+want-1)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
	}
	batch, err := w.src.Read(ctx, from, w.batch.Size)
	if err != nil {
		return nil, err
	}
	// A source that skipped or repeated entries would make the cursor lie
	// about what was sent; refuse rather than advance it.
	if n := len(batch); n > 0 && (batch[0].Index != from || batch[n-1].Index != from+uint64(n)-1) {
		return nil, fmt.Errorf("audit sink: source returned entries %d..%d for a read from %d",
			batch[0].Index, batch[n-1].Index, from)
	}
	return batch, nil
}

// deliver sends batch until the sink acknowledges it, then persists the
// cursor. It returns false when the worker must stop.
func (w *worker) deliver(loopCtx, sendCtx context.Context, from uint64, batch []audit.Entry) bool {
	for attempt := 0; ; attempt++ {
		err := w.sink.Send(sendCtx, batch)
		if err == nil {
			break
		}
		if sendCtx.Err() != nil {
			return false
		}
		w.errs.Inc()
		w.up.Set(0)
		d := w.backoff.delay(attempt)
		if errors.Is(err, ErrRejected) {
			w.log.Error("audit sink: the receiver rejected a batch; fix the sink's configuration or the receiver's (retrying)",
				logfields.Error, err, logfields.Count, len(batch), logfields.Duration, d)
		} else {
			w.log.Warn("audit sink: delivery failed; retrying",
				logfields.Error, err, logfields.Count, len(batch), logfields.Duration, d)
		}
		if !sleep(loopCtx, d) {
			return false
		}
	}
	w.up.Set(1)
	w.sent.Add(float64(len(batch)))
	next := from + uint64(len(batch))
	w.next.Store(next)
	w.persist(loopCtx, next)
	return true
}

// persist writes the cursor, retrying until it is on disk: sending more
// before that would widen the window of entries resent after a crash.
func (w *worker) persist(ctx context.Context, next uint64) {
	for attempt := 0; ; attempt++ {
		err := w.cursor.store(next)
		if err == nil {
			return
		}
		w.errs.Inc()
		d := w.backoff.delay(attempt)
		w.log.Error("audit sink: persisting the cursor failed; retrying", logfields.Error, err, logfields.Duration, d)
		if !sleep(ctx, d) {
			return
		}
	}
}

// skipPruned moves the cursor past entries that retention removed before
// they were sent. They cannot be recovered; the loss is logged and counted.
// The first retained index is found by bisection because Source does not
// expose it.
func (w *worker) skipPruned(ctx context.Context, from uint64) error {
	lo, hi := from, w.src.Size() // lo is pruned; hi is retained or the end
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		_, err := w.src.Read(ctx, mid, 1)
		switch {
		case errors.Is(err, audit.ErrPruned):
			lo = mid
		case err != nil:
			return err
		default:
			hi = mid
		}
	}
	if hi <= from {
		return fmt.Errorf("audit sink: the log reports index %d pruned but holds only %d entries", from, hi)
	}
	w.pruned.Add(float64(hi - from))
	w.log.Error("audit sink: entries were removed by retention before this sink sent them; skipping them",
		logfields.Count, hi-from)
	w.next.Store(hi)
	w.persist(ctx, hi)
	return nil
}
