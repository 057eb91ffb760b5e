package engine

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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
	mu       sync.RWMutex
	paths    map[string]*fastPath
	planning map[string]bool
	// what planning needs
	modules map[string]*ast.Module
	raw     map[string][]byte
	// The base document as an OPA value, converted once, in the
	// background, by the first plan that needs it (not at activation).
	json     map[string]any
	dataOnce sync.Once
	data     ast.Value
	dataErr  error
	log      *slog.Logger
	off      bool
}

// plan plans paths together (one compile, one VM); when that fails, each
// path is planned alone, so one unplannable path leaves the others fast.
func (f *fastPaths) plan(ctx context.Context, paths []string) {
	if len(paths) > 1 {
		if m, err := f.build(ctx, paths); err == nil {
			f.mu.Lock()
			for _, p := range paths {
				f.paths[p] = &fastPath{vm: m}
				delete(f.planning, p)
			}
			f.mu.Unlock()
			return
		}
	}
	for _, p := range paths {
		var fp *fastPath
		m, err := f.build(ctx, []string{p})
		if err == nil {
			fp = &fastPath{vm: m}
		} else {
			f.log.Debug("no IR plan: topdown evaluates this path", logfields.Path, p, logfields.Error, err)
		}
		f.mu.Lock()
		f.paths[p] = fp
		delete(f.planning, p)
		f.mu.Unlock()
	}
}

func (f *fastPaths) build(ctx context.Context, paths []string) (*vm.VM, error) {
	pol, err := vm.Plan(ctx, f.modules, f.raw, paths)
	if err != nil {
		return nil, err
	}
	f.dataOnce.Do(func() { f.data, f.dataErr = ast.InterfaceToValue(f.json) })
	if f.dataErr != nil {
		return nil, f.dataErr
	}
	return vm.New(pol, f.data)
}

// planInBackground plans paths off the activation path: until a path's VM
// is ready, topdown answers it.
func (f *fastPaths) planInBackground(paths []string) {
	if f.off || len(paths) == 0 {
		return
	}
	f.mu.Lock()
	var todo []string
	for _, p := range paths {
		if _, done := f.paths[p]; !done && !f.planning[p] {
			f.planning[p] = true
			todo = append(todo, p)
		}
	}
	f.mu.Unlock()
	if len(todo) > 0 {
		go f.plan(context.Background(), todo)
	}
}

// FastPathsReady waits until every path being planned has its VM (or is
// known to have none), for tests and benchmarks that measure the fast
// path.
func (s *State) FastPathsReady(ctx context.Context) error {
	for {
		s.fast.mu.Lock()
		n := len(s.fast.planning)
		s.fast.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// get returns path's VM, or nil while there is none; the first request
// for an unplanned path starts planning it in the background.
func (f *fastPaths) get(path string) *fastPath {
	if f == nil || f.off {
		return nil
	}
	// Every decision asks: the planned case takes a read lock only.
	f.mu.RLock()
	fp, ok := f.paths[path]
	f.mu.RUnlock()
	if ok {
		return fp
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if fp, ok = f.paths[path]; !ok && !f.planning[path] {
		f.planning[path] = true
		go f.plan(context.Background(), []string{path})
	}
	return fp
}

// usable reports whether fp may answer: planned and still agreeing with
// topdown.
func (fp *fastPath) usable() bool { return fp != nil && !fp.disabled.Load() }

// evalFast evaluates with fp, path's VM (nil when it has none); ok is
// false when the caller must use topdown.
func (s *State) evalFast(ctx context.Context, fp *fastPath, path string, input any) (result any, defined, ok bool, err error) {
	if !fp.usable() {
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

// sameValue compares what the API would answer: both results as JSON
// (a set is an array there, as OPA returns it).
func sameValue(topdownResult any, v ast.Value) bool {
	w, err := ast.InterfaceToValue(topdownResult)
	if err != nil {
		return false
	}
	j, err := ast.JSON(v)
	if err != nil {
		return false
	}
	g, err := ast.InterfaceToValue(j)
	return err == nil && w.Compare(g) == 0
}

// setupFast keeps what planning needs; with opts.Topdown every path stays
// on topdown.
func (s *State) setupFast(src *Source, data map[string]any, opts CompileOptions) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.fast = &fastPaths{paths: map[string]*fastPath{}, planning: map[string]bool{}, modules: src.Modules, raw: src.Raw,
		json: data, log: log, off: opts.Topdown}
}

// cacheable reports whether results from fp's path may be cached: it has
// an IR plan (deterministic) that agrees with topdown so far.
func (s *State) cacheable(fp *fastPath) bool { return s.cache != nil && fp.usable() }
