package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// ErrNoPolicy is returned by Decide before any State has been activated.
var ErrNoPolicy = errors.New("no policy activated")

// Engine answers decisions from the active State.
type Engine struct {
	state       atomic.Pointer[State]
	logger      DecisionLogger
	log         *slog.Logger
	opts        CompileOptions
	activations atomic.Uint64
}

// Option configures an Engine.
type Option func(*Engine)

// WithDecisionLogger sends every decision to l.
func WithDecisionLogger(l DecisionLogger) Option { return func(e *Engine) { e.logger = l } }

// WithLogger sets the engine's own structured logger.
func WithLogger(l *slog.Logger) Option { return func(e *Engine) { e.log = l } }

// WithCompileOptions sets the options Activate compiles with.
func WithCompileOptions(o CompileOptions) Option { return func(e *Engine) { e.opts = o } }

// New returns an Engine with no active policy.
func New(opts ...Option) *Engine {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Activate compiles src and, only if that succeeds, makes it the active State.
// A failed compile leaves the previous State serving.
func (e *Engine) Activate(ctx context.Context, src *Source) (*State, error) {
	opts := e.opts
	if opts.Logger == nil {
		opts.Logger = e.log
	}
	st, err := Compile(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	e.Swap(st)
	return st, nil
}

// Swap makes st the active State and returns the previous one (nil if none).
// Requests already evaluating keep the State they loaded.
func (e *Engine) Swap(st *State) *State {
	old := e.state.Swap(st)
	e.activations.Add(1)
	e.log.Info("policy activated", logfields.Revision, st.Revision())
	return old
}

// Activations counts the States made active.
func (e *Engine) Activations() uint64 { return e.activations.Load() }

// Current returns the active State, or nil.
func (e *Engine) Current() *State { return e.state.Load() }

// Decide evaluates the document at path ("security/authz/allow") for input.
// input may be nil (no input), an ast.Value (already parsed) or any
// JSON-shaped Go value.
func (e *Engine) Decide(ctx context.Context, path string, input any, opts ...DecideOption) (*Decision, error) {
	st := e.state.Load()
	if st == nil {
		return nil, ErrNoPolicy
	}
	d := &Decision{
		Time:     time.Now(),
		Revision: st.revision,
		Path:     normalizePath(path),
		Input:    input,
	}
	for _, o := range opts {
		o(d)
	}
	if d.ID == "" {
		d.ID = newDecisionID()
	}
	result, defined, err := st.eval(ctx, d.Path, input)
	d.Duration = time.Since(d.Time)
	d.Result, d.Defined = result, defined
	if err != nil {
		d.Error = err.Error()
	}
	if e.logger != nil {
		if lerr := e.logger.LogDecision(ctx, d); lerr != nil {
			return nil, fmt.Errorf("recording decision %s: %w", d.ID, lerr)
		}
	}
	if err != nil {
		return d, fmt.Errorf("evaluating data.%s: %w", d.Path, err)
	}
	return d, nil
}
