package correlate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// Log keys of this package that internal/logfields does not have yet.
const (
	logKeyRule  = "rule"
	logKeyIndex = "index"
)

// Runner defaults.
const (
	DefaultBatchSize          = 512
	DefaultCheckpointInterval = time.Second
	DefaultMaxReplay          = 1 << 20
)

// Runner tails an audit.Source from a persisted cursor, feeds every entry to
// an Engine and appends the incidents through an audit.Appender, normally
// the same log, so that sinks see them like any other event.
//
// The cursor file (<dir>/correlate.cursor) is replaced atomically after
// every batch that raised incidents, before they are appended, and at most
// every checkpoint interval otherwise. It records the next index, the
// engine's cooldowns and the lowest index its windows held, so a restart
// refills the windows from the log instead of starting blind, and neither
// loses nor repeats an incident.
type Runner struct {
	eng  *Engine
	src  audit.Source
	app  audit.Appender
	path string

	batch       int
	interval    time.Duration
	maxReplay   uint64
	skipHistory bool
	log         *slog.Logger

	next atomic.Uint64

	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	err     error

	resumed bool          // windows refilled and cooldowns restored
	inBatch bool          // the engine is part-way through a batch
	pending []audit.Entry // incidents written ahead but not yet appended
	horizon uint64        // log size before pending were appended
	saved   time.Time     // when the cursor was last written
	dirty   bool          // next moved since then

	errLogged time.Time // when a rule error was last logged (run goroutine only)
}

// RunnerOption configures NewRunner.
type RunnerOption func(*Runner)

// WithBatchSize sets how many entries one Read asks for (default 512).
func WithBatchSize(n int) RunnerOption { return func(r *Runner) { r.batch = n } }

// WithCheckpointInterval sets how often the cursor is written while no
// incident forces it (default 1s). A crash loses at most this much progress,
// which is then processed again without raising anything twice.
func WithCheckpointInterval(d time.Duration) RunnerOption {
	return func(r *Runner) { r.interval = d }
}

// WithMaxReplay bounds how many entries before the cursor a restart reads
// to refill windows (default 1Mi).
func WithMaxReplay(n uint64) RunnerOption { return func(r *Runner) { r.maxReplay = n } }

// WithSkipHistory makes a first start (no cursor file yet) begin at the end
// of the log rather than correlate everything already recorded.
func WithSkipHistory() RunnerOption { return func(r *Runner) { r.skipHistory = true } }

// WithRunnerLogger sets the runner's structured logger.
func WithRunnerLogger(l *slog.Logger) RunnerOption { return func(r *Runner) { r.log = l } }

// NewRunner returns a runner that keeps its cursor in dir. The engine must be
// fresh and used by this runner only: the runner rebuilds its windows.
func NewRunner(eng *Engine, src audit.Source, app audit.Appender, dir string, opts ...RunnerOption) *Runner {
	r := &Runner{
		eng:       eng,
		src:       src,
		app:       app,
		path:      filepath.Join(dir, CursorFile),
		batch:     DefaultBatchSize,
		interval:  DefaultCheckpointInterval,
		maxReplay: DefaultMaxReplay,
	}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = eng.log
	}
	if r.batch < 1 {
		r.batch = DefaultBatchSize
	}
	return r
}

// Cursor is the index of the next entry the runner will process.
func (r *Runner) Cursor() uint64 { return r.next.Load() }

// Start reads the cursor and starts tailing in the background. ctx bounds
// only the start itself; the runner runs until Stop. A cursor file that
// cannot be read or parsed is an error: starting over would raise every
// incident in the log again.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return errors.New("correlate: runner already started")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.path), 0o750); err != nil {
		return fmt.Errorf("correlate: creating %s: %w", filepath.Dir(r.path), err)
	}
	st, ok, err := readCursor(r.path)
	if err != nil {
		return err
	}
	if !ok && r.skipHistory {
		st.Next, st.ReplayFrom = r.src.Size(), r.src.Size()
	}
	r.next.Store(st.Next)
	r.eng.m.cursor.Set(float64(st.Next))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r.cancel, r.done, r.started = cancel, make(chan struct{}), true
	go func() {
		defer close(r.done)
		err := r.run(runCtx, st)
		if errors.Is(err, context.Canceled) {
			err = nil
		} else if err != nil {
			r.log.Error("correlation runner stopped", logfields.Error, err)
		}
		if cerr := r.checkpoint(); cerr != nil && err == nil {
			err = cerr
		}
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
	}()
	return nil
}

// Stop stops tailing, waits for the runner to finish the entry in hand and
// writes the cursor. It returns ctx's error if the runner does not finish in
// time, and otherwise the error that ended the runner, if any.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Runner) run(ctx context.Context, st cursorState) error {
	if err := r.resume(ctx, st); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := r.next.Load()
		entries, err := r.read(ctx, next, r.batch)
		if errors.Is(err, audit.ErrPruned) {
			first, ferr := r.firstRetained(ctx, next)
			if ferr != nil {
				return ferr
			}
			r.log.Warn("correlation cursor was behind retention, skipping pruned entries",
				logKeyIndex, next, logfields.Count, first-next)
			r.advance(first)
			continue
		}
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			if err := r.idle(ctx, next); err != nil {
				return err
			}
			continue
		}
		if err := r.processBatch(ctx, entries); err != nil {
			return err
		}
	}
}

// idle waits for the log to grow past next. With progress not yet on disk
// it waits no longer than the checkpoint is due, and writes it then.
func (r *Runner) idle(ctx context.Context, next uint64) error {
	if err := r.maybeCheckpoint(); err != nil {
		return err
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	r.mu.Lock()
	if r.dirty {
		wctx, cancel = context.WithTimeout(ctx, max(r.interval-time.Since(r.saved), time.Millisecond))
	}
	r.mu.Unlock()
	defer cancel()
	err := r.src.Wait(wctx, next)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		return r.maybeCheckpoint()
	default:
		r.log.Error("waiting for the audit log", logfields.Error, err)
		bo := backoff{}
		return bo.wait(ctx)
	}
}

// read reads from the source, retrying failures other than ErrPruned until
// ctx ends: a log that is briefly unreadable must not end correlation.
func (r *Runner) read(ctx context.Context, from uint64, n int) ([]audit.Entry, error) {
	var entries []audit.Entry
	err := r.retry(ctx, "reading audit log for correlation", func() error {
		var err error
		entries, err = r.src.Read(ctx, from, n)
		if errors.Is(err, audit.ErrPruned) {
			return retryStop{err}
		}
		return err
	})
	if stop, ok := errors.AsType[retryStop](err); ok {
		return nil, stop.err
	}
	return entries, err
}

// retryStop ends retry with an error that retrying cannot fix.
type retryStop struct{ err error }

func (e retryStop) Error() string { return e.err.Error() }

// processBatch correlates entries and appends their incidents: first the
// cursor is written with the incidents pending, then they are appended.
func (r *Runner) processBatch(ctx context.Context, entries []audit.Entry) error {
	// Until the batch is done the engine is ahead of the cursor; a
	// checkpoint now (on Stop) would persist cooldowns of incidents that
	// were never written, and lose them.
	r.mu.Lock()
	r.inBatch = true
	r.mu.Unlock()
	var incs []audit.Entry
	for i := range entries {
		out, err := r.eng.Process(ctx, &entries[i])
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// One broken rule must not stop the others: the error is
			// counted (rule_errors_total), logged at most once a minute,
			// and the stream moves on.
			if time.Since(r.errLogged) >= time.Minute {
				r.errLogged = time.Now()
				r.log.Warn("correlation rule failed", logfields.Error, err, logKeyIndex, entries[i].Index)
			}
		}
		incs = append(incs, out...)
	}
	next := entries[len(entries)-1].Index + 1
	r.mu.Lock()
	r.inBatch = false
	if len(incs) > 0 {
		r.pending, r.horizon = incs, r.src.Size()
	}
	r.mu.Unlock()
	r.advance(next)
	if len(incs) == 0 {
		return r.maybeCheckpoint()
	}
	if err := r.retry(ctx, "writing correlation cursor", r.checkpoint); err != nil {
		return err
	}
	return r.appendPending(ctx)
}

// appendPending appends the pending incidents, retrying until each is
// durable or ctx ends (they stay pending in the cursor file then).
func (r *Runner) appendPending(ctx context.Context) error {
	for {
		r.mu.Lock()
		if len(r.pending) == 0 {
			r.mu.Unlock()
			return nil
		}
		inc := r.pending[0]
		r.mu.Unlock()
		err := r.retry(ctx, "appending incident", func() error {
			_, err := r.app.Append(ctx, &inc)
			return err
		})
		if err != nil {
			return err
		}
		r.log.Info("incident raised", logKeyRule, inc.Attrs[AttrRule], logKeyIndex, inc.Attrs[AttrTrigger])
		r.mu.Lock()
		r.pending = r.pending[1:]
		r.dirty = true
		r.mu.Unlock()
	}
}

// resume rebuilds the engine's windows from the log, restores its
// cooldowns, and finishes appending incidents a previous run wrote ahead.
func (r *Runner) resume(ctx context.Context, st cursorState) error {
	from := min(st.ReplayFrom, st.Next)
	if st.Next-from > r.maxReplay {
		from = st.Next - r.maxReplay
	}
	for from < st.Next {
		entries, err := r.read(ctx, from, min(r.batch, int(st.Next-from)))
		if errors.Is(err, audit.ErrPruned) {
			if from, err = r.firstRetained(ctx, from); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			break
		}
		for i := range entries {
			if entries[i].Index >= st.Next {
				break
			}
			r.eng.fill(ctx, &entries[i])
		}
		from = entries[len(entries)-1].Index + 1
	}
	r.eng.restore(st)
	r.mu.Lock()
	r.resumed = true // from here on a checkpoint holds at least what st did
	r.mu.Unlock()
	if size := r.src.Size(); st.Next > size {
		r.log.Warn("correlation cursor is past the end of the audit log; waiting for the log to reach it",
			logKeyIndex, st.Next, logfields.Count, st.Next-size)
	}
	if len(st.Pending) == 0 {
		return nil
	}
	missing, err := r.missingIncidents(ctx, st.Pending, st.Horizon)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.pending, r.horizon = missing, r.src.Size()
	r.dirty = true
	r.mu.Unlock()
	return r.appendPending(ctx)
}

// missingIncidents returns the pending incidents that are not in the log at
// or after horizon, matched by rule and trigger index.
func (r *Runner) missingIncidents(ctx context.Context, pending []audit.Entry, horizon uint64) ([]audit.Entry, error) {
	type key struct{ rule, trigger string }
	want := map[key]int{}
	for i, p := range pending {
		want[key{p.Attrs[AttrRule], p.Attrs[AttrTrigger]}] = i
	}
	found := make([]bool, len(pending))
	left := len(pending)
	for from := horizon; left > 0; {
		entries, err := r.read(ctx, from, r.batch)
		if errors.Is(err, audit.ErrPruned) {
			if from, err = r.firstRetained(ctx, from); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			if e.Type != audit.EventIncident {
				continue
			}
			if i, ok := want[key{e.Attrs[AttrRule], e.Attrs[AttrTrigger]}]; ok && !found[i] {
				found[i] = true
				left--
			}
		}
		from = entries[len(entries)-1].Index + 1
	}
	var missing []audit.Entry
	for i, p := range pending {
		if !found[i] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// firstRetained finds the lowest index at or after from that retention has
// not removed, by bisection over [from, Size()).
func (r *Runner) firstRetained(ctx context.Context, from uint64) (uint64, error) {
	lo, hi := from, r.src.Size() // invariant: lo is pruned, hi is not (or the end)
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		_, err := r.read(ctx, mid, 1)
		switch {
		case errors.Is(err, audit.ErrPruned):
			lo = mid
		case err != nil:
			return 0, err
		default:
			hi = mid
		}
	}
	return hi, nil
}

func (r *Runner) advance(next uint64) {
	r.next.Store(next)
	r.eng.m.cursor.Set(float64(next))
	r.mu.Lock()
	r.dirty = true
	r.mu.Unlock()
}

// maybeCheckpoint writes the cursor when it is due. A failure is logged and
// retried at the next occasion: progress not on disk is only reprocessed.
func (r *Runner) maybeCheckpoint() error {
	r.mu.Lock()
	due := r.dirty && time.Since(r.saved) >= r.interval
	r.mu.Unlock()
	if !due {
		return nil
	}
	if err := r.checkpoint(); err != nil {
		r.log.Error("writing correlation cursor", logfields.Error, err, logfields.File, r.path)
		r.mu.Lock()
		r.saved = time.Now() // try again in an interval, not at once
		r.mu.Unlock()
	}
	return nil
}

// checkpoint writes the cursor with the engine's state and the incidents
// still pending.
func (r *Runner) checkpoint() error {
	st := r.eng.snapshot(r.next.Load())
	r.mu.Lock()
	if !r.resumed || r.inBatch {
		// The windows are half refilled, or the engine has seen part of a
		// batch the cursor does not cover: keep the file as it is.
		r.mu.Unlock()
		return nil
	}
	if len(r.pending) > 0 {
		st.Pending, st.Horizon = r.pending, r.horizon
	}
	r.mu.Unlock()
	if err := writeCursor(r.path, st); err != nil {
		return err
	}
	r.mu.Lock()
	r.saved, r.dirty = time.Now(), false
	r.mu.Unlock()
	return nil
}

// retry runs f until it succeeds or ctx ends, backing off between failures.
func (r *Runner) retry(ctx context.Context, what string, f func() error) error {
	bo := backoff{}
	for {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if _, ok := errors.AsType[retryStop](err); ok {
			return err
		}
		r.log.Error(what, logfields.Error, err)
		if err := bo.wait(ctx); err != nil {
			return err
		}
	}
}

// backoff doubles from 100ms up to 5s.
type backoff struct{ d time.Duration }

func (b *backoff) reset() { b.d = 0 }

func (b *backoff) wait(ctx context.Context) error {
	b.d = min(max(2*b.d, 100*time.Millisecond), 5*time.Second)
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
