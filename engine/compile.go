package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// CompileError lists every problem found compiling a Source, each with its
// file:line:col. Callers match it with errors.AsType.
type CompileError struct {
	Errors ast.Errors
}

func (e *CompileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d compile error(s):", len(e.Errors))
	for _, err := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(formatASTError(err))
	}
	return b.String()
}

// formatASTError prints file:line:col: code: message, the form editors and CI
// annotators jump to.
func formatASTError(err *ast.Error) string {
	if err.Location == nil {
		return fmt.Sprintf("%s: %s", err.Code, err.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", err.Location.File, err.Location.Row, err.Location.Col, err.Code, err.Message)
}

// CompileOptions tune Compile.
type CompileOptions struct {
	// Entrypoints are data paths ("security/authz/allow") to prepare eagerly in
	// addition to those annotated `entrypoint: true`.
	Entrypoints []string
	// RegoVersion for modules that do not say; zero means v1.
	RegoVersion ast.RegoVersion
	// Topdown turns the IR VM fast path off: every path is evaluated by
	// OPA's topdown evaluator.
	Topdown bool
	// CacheEntries bounds the result cache of deterministic paths; 0 turns
	// it off.
	CacheEntries int
	// Logger receives the fast path's warnings (set by Engine).
	Logger *slog.Logger
}

// Compile compiles src in strict mode and prepares its entrypoints. It never
// returns a partially usable State: any error means nothing is returned.
func Compile(ctx context.Context, src *Source, opts CompileOptions) (*State, error) {
	if src == nil {
		return nil, errors.New("compile: nil source")
	}
	rv := opts.RegoVersion
	if rv == ast.RegoUndefined {
		rv = ast.RegoV1
	}
	compiler := ast.NewCompiler().
		WithStrict(true).
		WithDefaultRegoVersion(rv).
		WithEnablePrintStatements(false)
	if compiler.Compile(src.Modules); compiler.Failed() {
		return nil, &CompileError{Errors: sortErrors(compiler.Errors)}
	}

	data, err := roundTripData(src.Data)
	if err != nil {
		return nil, fmt.Errorf("compile: data: %w", err)
	}
	st := &State{
		revision: src.Revision,
		compiler: compiler,
		store:    inmem.NewFromObjectWithOpts(data, inmem.OptRoundTripOnWrite(false)),
		prepared: map[string]*preparedQuery{},
		cache:    newResultCache(opts.CacheEntries),
	}
	st.setupFast(src, data, opts)
	eps := slices.Clone(opts.Entrypoints)
	eps = append(eps, annotatedEntrypoints(compiler)...)
	slices.Sort(eps)
	for _, p := range slices.Compact(eps) {
		if _, err := st.prepare(ctx, p); err != nil {
			return nil, fmt.Errorf("compile: preparing entrypoint %s: %w", p, err)
		}
	}
	st.entrypoints = slices.Compact(eps)
	st.fast.planInBackground(st.entrypoints)
	return st, nil
}

func sortErrors(errs ast.Errors) ast.Errors {
	out := slices.Clone(errs)
	slices.SortStableFunc(out, func(a, b *ast.Error) int {
		if a.Location == nil || b.Location == nil {
			return 0
		}
		if c := strings.Compare(a.Location.File, b.Location.File); c != 0 {
			return c
		}
		return a.Location.Row - b.Location.Row
	})
	return out
}

// annotatedEntrypoints returns the data paths of every METADATA block that
// says `entrypoint: true`.
func annotatedEntrypoints(c *ast.Compiler) []string {
	var out []string
	for _, ref := range c.GetAnnotationSet().Flatten() {
		if ref.Annotations == nil || !ref.Annotations.Entrypoint {
			continue
		}
		if p, ok := refToPath(ref.Path); ok {
			out = append(out, p)
		}
	}
	return out
}

// roundTripData gives the store plain JSON types (json.Number, []any,
// map[string]any), as OPA's own loader produces, so values from YAML or Go
// callers compare equal to the same values from JSON.
func roundTripData(data map[string]any) (map[string]any, error) {
	bs, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(bs)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func canonicalJSON(v any) string {
	bs, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(bs)
}

// State is one compiled, immutable policy version.
type State struct {
	revision    string
	compiler    *ast.Compiler
	store       storage.Store
	entrypoints []string

	mu       sync.RWMutex
	prepared map[string]*preparedQuery
	fast     *fastPaths
	cache    *resultCache
}

// Revision names the policy version this State was compiled from.
func (s *State) Revision() string { return s.revision }

// Entrypoints are the paths prepared at compile time.
func (s *State) Entrypoints() []string { return slices.Clone(s.entrypoints) }

// Compiler exposes the compiled modules (read-only) to tooling such as eval.
func (s *State) Compiler() *ast.Compiler { return s.compiler }

// Store is the data store the State evaluates against (read-only use).
func (s *State) Store() storage.Store { return s.store }
