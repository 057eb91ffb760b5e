package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
)

// Explain modes, as OPA's ?explain.
const (
	ExplainNotes = "notes"
	ExplainFails = "fails"
	ExplainFull  = "full"
	ExplainDebug = "debug"
)

// DecideExplained is DecideJSON evaluated by topdown with a tracer (never
// cached): the decision and its trace filtered as OPA's ?explain=mode does.
func (e *Engine) DecideExplained(ctx context.Context, path string, raw []byte, mode string, opts ...DecideOption) (*Decision, []*topdown.Event, error) {
	st := e.state.Load()
	if st == nil {
		return nil, nil, ErrNoPolicy
	}
	d := &Decision{Time: time.Now(), Revision: st.revision, Path: normalizePath(path)}
	for _, o := range opts {
		o(d)
	}
	if d.ID == "" {
		d.ID = newDecisionID()
	}
	var evalOpts []rego.EvalOption
	if raw = rawInput(raw); raw != nil {
		in, err := parseInput(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		evalOpts = append(evalOpts, rego.EvalParsedInput(in))
	}
	pq, err := st.prepare(ctx, d.Path)
	if err != nil {
		return nil, nil, err
	}
	buf := topdown.NewBufferTracer()
	evalOpts = append(evalOpts, rego.EvalQueryTracer(buf))
	rs, err := pq.query.Eval(ctx, evalOpts...)
	d.Duration = time.Since(d.Time)
	if err == nil && len(rs) > 0 && len(rs[0].Expressions) > 0 {
		d.Result, d.Defined = rs[0].Expressions[0].Value, true
	}
	if err != nil {
		d.Error = err.Error()
	}
	if lerr := e.logDecision(ctx, d, raw); lerr != nil {
		return nil, nil, lerr
	}
	if err != nil {
		return d, nil, fmt.Errorf("evaluating data.%s: %w", d.Path, err)
	}
	trace := []*topdown.Event(*buf)
	switch mode {
	case ExplainNotes:
		trace = lineage.Notes(trace)
	case ExplainFails:
		trace = lineage.Fails(trace)
	case ExplainDebug:
		trace = lineage.Debug(trace)
	default:
		trace = lineage.Full(trace)
	}
	return d, trace, nil
}
