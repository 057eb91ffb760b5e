package impact

import (
	"context"
	"encoding/json"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Directions of a decision change.
const (
	Tightened = "tightened" // allow -> deny, undefined or error
	Loosened  = "loosened"  // deny, undefined or error -> allow
	Modified  = "modified"  // any other change of result
)

// Outcome names a result the way the directions use it.
func Outcome(result any, defined bool, err error) string {
	switch {
	case err != nil:
		return "error"
	case !defined:
		return "undefined"
	}
	switch v := result.(type) {
	case bool:
		if v {
			return "allow"
		}
		return "deny"
	case map[string]any:
		if a, ok := v["allow"].(bool); ok {
			if a {
				return "allow"
			}
			return "deny"
		}
	}
	return "defined"
}

func direction(before, after string) string {
	switch {
	case before == "allow" && after != "allow":
		return Tightened
	case before != "allow" && after == "allow":
		return Loosened
	}
	return Modified
}

// Flip is one replayed decision whose result changed.
type Flip struct {
	Path      string          `json:"path"`
	Component string          `json:"component"`
	Direction string          `json:"direction"`
	Source    string          `json:"source"`
	Input     json.RawMessage `json:"input"`
	Before    Result          `json:"before"`
	After     Result          `json:"after"`
}

// Result is one side of a replayed decision.
type Result struct {
	Outcome string          `json:"outcome"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   string          `json:"error,omitempty"`
}

type evaluated struct {
	res     Result
	shape   string
	defined bool
}

func evalOn(ctx context.Context, s *side, c Case) evaluated {
	if m := s.vms[c.Path]; m != nil {
		if ev, ok := evalVM(ctx, m, c); ok {
			return ev
		}
	}
	return evalTopdown(ctx, s, c)
}

func evalTopdown(ctx context.Context, s *side, c Case) evaluated {
	var input any
	if c.Input != nil {
		input = c.Input
	}
	v, defined, err := s.state.Eval(ctx, c.Path, input)
	return evaluatedFrom(v, defined, err)
}

// shape is the type of a result, with object keys: a change of shape
// breaks callers that read the result.
func shape(v any) string {
	switch x := v.(type) {
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, int, int64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "object{" + strings.Join(keys, ",") + "}"
	case nil:
		return "null"
	}
	return "other"
}

type replayed struct {
	c             Case
	before, after evaluated
}

// replay evaluates every case on both sides, on all cores.
func replay(ctx context.Context, base, head *side, cases []Case) ([]replayed, error) {
	out := make([]replayed, len(cases))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(cases) || ctx.Err() != nil {
					return
				}
				out[i] = replayed{c: cases[i], before: evalOn(ctx, base, cases[i]), after: evalOn(ctx, head, cases[i])}
			}
		})
	}
	wg.Wait()
	return out, ctx.Err()
}
