package vm

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/ir"
)

// Plan compiles modules (file name -> parsed module, as loaded) to OPA's
// IR for the entrypoints ("security/authz/allow"), with OPA's own planner.
func Plan(ctx context.Context, modules map[string]*ast.Module, raw map[string][]byte, entrypoints []string) (*ir.Policy, error) {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	b := &bundle.Bundle{Data: map[string]any{}}
	for _, n := range names {
		src, ok := raw[n]
		if !ok {
			src = []byte(modules[n].String())
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: n, Path: n, Raw: src, Parsed: modules[n]})
	}
	c := compile.New().WithTarget(compile.TargetPlan).WithEntrypoints(entrypoints...).WithBundle(b).WithPruneUnused(true)
	if err := c.Build(ctx); err != nil {
		return nil, fmt.Errorf("%w: planning: %v", ErrUnsupported, err)
	}
	out := c.Bundle()
	for _, pm := range out.PlanModules {
		var pol ir.Policy
		if err := json.Unmarshal(pm.Raw, &pol); err != nil {
			return nil, fmt.Errorf("vm: decoding the plan: %w", err)
		}
		return &pol, nil
	}
	return nil, fmt.Errorf("%w: the compiler produced no plan", ErrUnsupported)
}
