package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/engine/vm"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// The fast path runs a path's OPA IR plan in engine/vm instead of topdown.
// A plan exists only for deterministic policies (the VM refuses
// non-deterministic built-ins), which is also what makes the path's
// results cacheable. Each path's VM is checked against topdown on its
// first shadowChecks requests; one difference puts the path back on
// topdown for the life of the State, and says so.

const shadowChecks = 32

type fastPath struct {
	vm       *vm.VM
	checked  atomic.Int64
	disabled atomic.Bool
}

// fastPaths holds, per path, the VM (nil when the path cannot be planned)
// and whether planning is under way.
type fastPaths struct {
	mu       sync.Mutex
	paths    map[string]*fastPath
	planning map[string]bool
	// what planning needs
	modules map[string]*ast.Module
	raw     map[string][]byte
	data    ast.Value
	log     *slog.Logger
	off     bool
}

// plan plans path now (at compile time for entrypoints).
func (f *fastPaths) plan(ctx context.Context, path string) *fastPath {
	var fp *fastPath
	pol, err := vm.Plan(ctx, f.modules, f.raw, []string{path})
	if err == nil {
		var m *vm.VM
		if m, err = vm.New(pol, f.data); err == nil {
			fp = &fastPath{vm: m}
		}
	}
	if err != nil {
		f.log.Debug("no IR plan: topdown evaluates this path", logfields.Path, path, logfields.Error, err)
	}
	f.mu.Lock()
	f.paths[path] = fp
	delete(f.planning, path)
	f.mu.Unlock()
	return fp
}

// get returns path's VM, or nil while there is none; the first request
// for an unplanned path starts planning it in the background.
func (f *fastPaths) get(path string) *fastPath {
	if f == nil || f.off {
		return nil
	}
	f.mu.Lock()
	fp, ok := f.paths[path]
	if !ok && !f.planning[path] {
		f.planning[path] = true
		go f.plan(context.Background(), path)
	}
	f.mu.Unlock()
	return fp
}

// evalFast evaluates with the VM when the path has one; ok is false when
// the caller must use topdown.
func (s *State) evalFast(ctx context.Context, path string, input any) (result any, defined, ok bool, err error) {
	fp := s.fast.get(path)
	if fp == nil || fp.disabled.Load() {
		return nil, false, false, nil
	}
	var in ast.Value
	switch v := input.(type) {
	case nil:
	case ast.Value:
		in = v
	default:
		if in, err = ast.InterfaceToValue(v); err != nil {
			return nil, false, false, nil
		}
	}
	val, defined, err := fp.vm.Eval(ctx, path, in)
	if err != nil {
		// Errors (conflicts, built-in failures, the unsupported) are
		// reported as topdown reports them: let topdown answer.
		return nil, false, false, nil
	}
	if n := fp.checked.Add(1); n <= shadowChecks {
		want, wantDefined, terr := s.evalTopdown(ctx, path, input)
		if terr != nil || wantDefined != defined || (defined && !sameValue(want, val)) {
			fp.disabled.Store(true)
			s.fast.log.Warn("the IR VM disagreed with topdown: topdown evaluates this path from now on",
				logfields.Path, path, logfields.Revision, s.revision)
			return want, wantDefined, true, terr
		}
	}
	if !defined {
		return nil, false, true, nil
	}
	out, err := ast.JSON(val)
	if err != nil {
		return nil, false, false, nil
	}
	return out, true, true, nil
}

func sameValue(topdownResult any, v ast.Value) bool {
	w, err := ast.InterfaceToValue(topdownResult)
	return err == nil && w.Compare(v) == 0
}

// setupFast keeps what planning needs; with opts.Topdown every path stays
// on topdown.
func (s *State) setupFast(src *Source, data map[string]any, opts CompileOptions) error {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &fastPaths{paths: map[string]*fastPath{}, planning: map[string]bool{}, modules: src.Modules, raw: src.Raw, log: log, off: opts.Topdown}
	if !f.off {
		v, err := ast.InterfaceToValue(data)
		if err != nil {
			return err
		}
		f.data = v
	}
	s.fast = f
	return nil
}

// cacheable reports whether path's results may be cached: it has an IR
// plan (deterministic) that agrees with topdown so far.
func (s *State) cacheable(path string) bool {
	if s.cache == nil {
		return false
	}
	fp := s.fast.get(path)
	return fp != nil && !fp.disabled.Load()
}
