package sink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// Batching says when pending entries are sent: as soon as Size entries are
// waiting, or once the first of them has waited MaxLatency, whichever comes
// first. MaxLatency 0 sends whatever is committed without waiting.
type Batching struct {
	Size       int
	MaxLatency time.Duration
}

// Batching defaults.
const (
	DefaultBatchSize     = 500
	DefaultFlushInterval = time.Second
)

// DefaultBatching is what a zero Batching means.
func DefaultBatching() Batching {
	return Batching{Size: DefaultBatchSize, MaxLatency: DefaultFlushInterval}
}

// Option configures a Runner.
type Option func(*Runner)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(r *Runner) { r.log = l }
}

// WithBackoff sets the retry delays after a failed batch: min doubles per
// attempt up to max (each with jitter).
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(r *Runner) { r.backoff = backoff{min: minDelay, max: maxDelay} }
}

// Runner feeds sinks from an audit.Source, one goroutine and one cursor
// file per sink, so a slow or unreachable sink never holds back the others.
type Runner struct {
	src     audit.Source
	dir     string
	log     *slog.Logger
	backoff backoff
	metrics *metrics

	mu       sync.Mutex
	workers  []*worker
	started  bool
	stopped  bool
	stopLoop context.CancelFunc
	stopSend context.CancelFunc
	done     chan struct{}
}

// NewRunner returns a Runner that reads src and keeps its cursor files in dir.
func NewRunner(src audit.Source, dir string, opts ...Option) *Runner {
	r := &Runner{
		src:     src,
		dir:     dir,
		log:     slog.New(slog.DiscardHandler),
		backoff: backoff{min: DefaultMinBackoff, max: DefaultMaxBackoff},
	}
	for _, o := range opts {
		o(r)
	}
	if r.backoff.min <= 0 {
		r.backoff.min = DefaultMinBackoff
	}
	if r.backoff.max < r.backoff.min {
		r.backoff.max = r.backoff.min
	}
	r.metrics = newMetrics(r.lags)
	return r
}

// validName keeps sink names usable as file names and as metric labels.
var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Add registers s before Start. The Runner owns s from here on: Stop closes it.
// A zero Batching means DefaultBatching.
func (r *Runner) Add(s Sink, b Batching) error {
	name := s.Name()
	if !validName.MatchString(name) {
		return &ConfigError{Sink: name, Field: "name", Reason: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", Err: ErrInvalidConfig}
	}
	if b.Size <= 0 {
		b.Size = DefaultBatchSize
	}
	if b.MaxLatency < 0 {
		return &ConfigError{Sink: name, Field: "flush_interval", Reason: "must not be negative", Err: ErrInvalidConfig}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return ErrRunning
	}
	for _, w := range r.workers {
		if w.sink.Name() == name {
			return &ConfigError{Sink: name, Field: "name", Reason: "used by two sinks", Err: ErrInvalidConfig}
		}
	}
	r.workers = append(r.workers, &worker{
		sink:    s,
		batch:   b,
		cursor:  newCursorFile(r.dir, name),
		src:     r.src,
		backoff: r.backoff,
		log:     r.log.With(logfields.Component, "audit/sink/"+name),
		sent:    r.metrics.sent.WithLabelValues(name),
		errs:    r.metrics.errors.WithLabelValues(name),
		pruned:  r.metrics.pruned.WithLabelValues(name),
		up:      r.metrics.up.WithLabelValues(name),
	})
	r.metrics.init(name)
	return nil
}

// RegisterMetrics adds the Runner's metrics to reg.
func (r *Runner) RegisterMetrics(reg prometheus.Registerer) error {
	return r.metrics.register(reg)
}

// Cursor reports the next index the named sink will send, and whether such a
// sink exists.
func (r *Runner) Cursor(name string) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		if w.sink.Name() == name {
			return w.next.Load(), true
		}
	}
	return 0, false
}

func (r *Runner) lags() map[string]float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := r.src.Size()
	out := make(map[string]float64, len(r.workers))
	for _, w := range r.workers {
		var lag uint64
		if next := w.next.Load(); size > next {
			lag = size - next
		}
		out[w.sink.Name()] = float64(lag)
	}
	return out
}

// Start loads every sink's cursor and starts sending. It fails without
// starting anything when a cursor cannot be read. Cancelling ctx stops the
// senders at once (an unacknowledged batch is resent next time); call Stop
// for a graceful stop and to close the sinks.
func (r *Runner) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return ErrRunning
	}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return fmt.Errorf("audit sink: creating cursor directory: %w", err)
	}
	for _, w := range r.workers {
		next, err := w.cursor.load()
		if err != nil {
			return err
		}
		w.next.Store(next)
	}
	loopCtx, stopLoop := context.WithCancel(ctx)
	sendCtx, stopSend := context.WithCancel(ctx)
	r.stopLoop, r.stopSend = stopLoop, stopSend
	r.done = make(chan struct{})
	r.started = true
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Go(func() { w.run(loopCtx, sendCtx) })
	}
	go func() {
		wg.Wait()
		close(r.done)
	}()
	return nil
}

// Stop stops reading new batches, lets batches being sent finish until ctx is
// done, then closes the sinks. If ctx ends first, the sends in flight are
// cancelled (and resent after the next Start) and Stop returns ctx's error.
// Stop before Start only closes the sinks; a second Stop does nothing.
func (r *Runner) Stop(ctx context.Context) error {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return nil
	}
	r.stopped = true
	started, done := r.started, r.done
	workers := r.workers
	r.mu.Unlock()

	var errs []error
	if started {
		r.stopLoop()
		select {
		case <-done:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("audit sink: stop: abandoned batches in flight, they will be resent: %w", ctx.Err()))
			r.stopSend()
			<-done
		}
		r.stopSend()
	}
	for _, w := range workers {
		if err := w.sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit sink %s: closing: %w", w.sink.Name(), err))
		}
	}
	return errors.Join(errs...)
}
