package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/belladonna-dev/belladonna/engine/jsonast"
)

// ErrBadInput wraps an input that is not one JSON document.
var ErrBadInput = errors.New("input is not valid JSON")

// parseInput turns the raw JSON input into an OPA value directly (no
// interface{} round trip), equal to what OPA's own decoding gives.
var parseInput = jsonast.Parse

// DecideJSON is Decide for an input given as the JSON the client sent
// (nil or "null": no input). On a deterministic path the result cache is
// keyed by these bytes, so a hit neither parses nor evaluates.
func (e *Engine) DecideJSON(ctx context.Context, path string, raw []byte, opts ...DecideOption) (*Decision, error) {
	st := e.state.Load()
	if st == nil {
		return nil, ErrNoPolicy
	}
	d := &Decision{Time: time.Now(), Revision: st.revision, Path: normalizePath(path)}
	for _, o := range opts {
		o(d)
	}
	if d.ID == "" {
		d.ID = newDecisionID()
	}
	raw = rawInput(raw)
	var key cacheKey
	fp := st.fast.get(d.Path)
	cacheable := st.cacheable(fp)
	if cacheable {
		key = keyOf(d.Path, raw)
		if hit, ok := st.cache.get(key); ok {
			d.Defined, d.Cached, d.ResultJSON, d.outcome = hit.defined, true, hit.json, hit.outcome
			d.Duration = time.Since(d.Time)
			return d, e.logDecision(ctx, d, raw)
		}
		d.CacheMiss = true
	}
	var input ast.Value
	if raw != nil {
		var err error
		if input, err = parseInput(raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
	}
	var in any
	if input != nil {
		in = input
	}
	result, defined, err := st.evalWith(ctx, fp, d.Path, in)
	d.Duration = time.Since(d.Time)
	d.Result, d.Defined = result, defined
	if err != nil {
		d.Error = err.Error()
	} else if cacheable {
		entry := cacheEntry{defined: defined, outcome: outcomeOf(result)}
		keep := true
		if defined {
			b, err := json.Marshal(result)
			entry.json, d.ResultJSON, keep = b, b, err == nil
		}
		if keep {
			st.cache.put(key, entry)
		}
	}
	if lerr := e.logDecision(ctx, d, raw); lerr != nil {
		return nil, lerr
	}
	if err != nil {
		return d, fmt.Errorf("evaluating data.%s: %w", d.Path, err)
	}
	return d, nil
}

// rawInput trims the input's JSON; nil or null means no input.
func rawInput(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	return raw
}

// logDecision hands d to the decision logger, with the input as the Go
// value loggers mask and encode (decoded only when there is a logger).
func (e *Engine) logDecision(ctx context.Context, d *Decision, raw []byte) error {
	if e.logger == nil {
		return nil
	}
	if raw != nil && d.Input == nil {
		var v any
		if err := util.UnmarshalJSON(raw, &v); err != nil {
			return fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		d.Input = v
	}
	if err := e.logger.LogDecision(ctx, d); err != nil {
		return fmt.Errorf("recording decision %s: %w", d.ID, err)
	}
	return nil
}

// CacheStats are the active State's result cache counters.
func (e *Engine) CacheStats() CacheStats {
	st := e.state.Load()
	if st == nil || st.cache == nil {
		return CacheStats{}
	}
	return CacheStats{Hits: st.cache.hits.Load(), Misses: st.cache.misses.Load()}
}
