package validators

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// probeQuery is the syscall decision the eBPF layer asks for.
const probeQuery = "data.syscall.decision"

// probeEvents are fixed kernel events evaluated against the compiled policy,
// so that rules judge what the policy does, not what its rules are called.
// Keys are the names rules read under input.probes.
var probeEvents = map[string]map[string]any{
	"syscall_exec_tmp":     execEvent("/tmp/x"),
	"syscall_exec_dev_shm": execEvent("/dev/shm/x"),
}

func execEvent(p string) map[string]any {
	return map[string]any{
		"syscall": "execve", "path": p, "exe": p, "comm": "x",
		"pid": 1000, "ppid": 1, "uid": 1000, "flags": 0, "cgroup": "/",
	}
}

// runProbes evaluates probeQuery for every probe event. A probe whose decision
// is undefined is absent from the result; one whose evaluation fails is
// reported in errs instead.
func runProbes(ctx context.Context, c *compiled) (probes, errs map[string]any, err error) {
	probes, errs = map[string]any{}, map[string]any{}
	if len(c.compiler.GetRules(ast.MustParseRef(probeQuery))) == 0 {
		return probes, errs, nil
	}
	pq, err := rego.New(
		rego.Compiler(c.compiler),
		rego.Store(c.store),
		rego.Query(probeQuery),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("preparing probe query %s: %w", probeQuery, err)
	}
	for name, ev := range probeEvents {
		rs, err := pq.Eval(ctx, rego.EvalInput(ev))
		switch {
		case err != nil:
			errs[name] = err.Error()
		case len(rs) > 0 && len(rs[0].Expressions) > 0:
			probes[name] = rs[0].Expressions[0].Value
		}
	}
	return probes, errs, nil
}
