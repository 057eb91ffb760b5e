package engine

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

type preparedQuery struct {
	query rego.PreparedEvalQuery
}

// prepare returns the prepared query for a data path, building it once per
// State. Concurrent first requests for the same path may both prepare; one
// wins and the other's work is dropped, which is cheaper than serialising
// every lookup behind a write lock.
func (s *State) prepare(ctx context.Context, path string) (*preparedQuery, error) {
	key := normalizePath(path)
	s.mu.RLock()
	pq, ok := s.prepared[key]
	s.mu.RUnlock()
	if ok {
		return pq, nil
	}
	ref, err := pathToRef(key)
	if err != nil {
		return nil, err
	}
	q, err := rego.New(
		rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))),
		rego.Compiler(s.compiler),
		rego.Store(s.store),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing data.%s: %w", key, err)
	}
	pq = &preparedQuery{query: q}
	s.mu.Lock()
	if existing, ok := s.prepared[key]; ok {
		pq = existing
	} else {
		s.prepared[key] = pq
	}
	s.mu.Unlock()
	return pq, nil
}

// Eval evaluates the document at path for input without recording a
// decision (impact replay, tooling). See eval.
func (s *State) Eval(ctx context.Context, path string, input any) (result any, defined bool, err error) {
	return s.eval(ctx, normalizePath(path), input)
}

// eval evaluates the document at path, with the IR VM when the path has a
// plan, else with topdown. defined is false when the document is undefined
// for this input (OPA's server then omits "result").
func (s *State) eval(ctx context.Context, path string, input any) (result any, defined bool, err error) {
	return s.evalWith(ctx, s.fast.get(path), path, input)
}

// evalWith is eval with path's VM already looked up (fp, nil for none).
func (s *State) evalWith(ctx context.Context, fp *fastPath, path string, input any) (result any, defined bool, err error) {
	if r, d, ok, err := s.evalFast(ctx, fp, path, input); ok {
		return r, d, err
	}
	return s.evalTopdown(ctx, path, input)
}

// evalTopdown evaluates with OPA's prepared query.
func (s *State) evalTopdown(ctx context.Context, path string, input any) (result any, defined bool, err error) {
	pq, err := s.prepare(ctx, path)
	if err != nil {
		return nil, false, err
	}
	var opts []rego.EvalOption
	switch in := input.(type) {
	case nil:
	case ast.Value:
		opts = append(opts, rego.EvalParsedInput(in))
	default:
		opts = append(opts, rego.EvalInput(in))
	}
	rs, err := pq.query.Eval(ctx, opts...)
	if err != nil {
		return nil, false, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

// Query evaluates an ad hoc query (as `opa eval` does) against this State.
// It is not on the hot path: the query is prepared for each call.
func (s *State) Query(ctx context.Context, query string, input any) (rego.ResultSet, error) {
	opts := []func(*rego.Rego){
		rego.Query(query),
		rego.Compiler(s.compiler),
		rego.Store(s.store),
	}
	if input != nil {
		opts = append(opts, rego.Input(input))
	}
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("evaluating %q: %w", query, err)
	}
	return rs, nil
}
