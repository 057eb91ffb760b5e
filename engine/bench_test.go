package engine

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// rbacModule is a role-inheritance policy of the kind issue benchmarks use.
const rbacModule = `package rbac

default allow := false

roles_of(user) := {r | some r in data.rbac.bindings[user]}

inherited contains [role, parent] if {
	some role, parents in data.rbac.parents
	some parent in graph.reachable(data.rbac.parents, {role})
}

allow if {
	some role in roles_of(input.user)
	some [role2, r] in inherited
	role2 == role
	some p in data.rbac.permissions[r]
	p.action == input.action
	p.resource == input.resource
}
`

func rbacData(users, roles int) map[string]any {
	parents := map[string]any{}
	perms := map[string]any{}
	for i := range roles {
		var ps []any
		if i > 0 {
			ps = append(ps, fmt.Sprintf("role%d", i-1))
		}
		parents[fmt.Sprintf("role%d", i)] = ps
		perms[fmt.Sprintf("role%d", i)] = []any{map[string]any{"action": "read", "resource": fmt.Sprintf("res%d", i)}}
	}
	bindings := map[string]any{}
	for u := range users {
		bindings[fmt.Sprintf("user%d", u)] = []any{fmt.Sprintf("role%d", u%roles)}
	}
	return map[string]any{"rbac": map[string]any{"parents": parents, "permissions": perms, "bindings": bindings}}
}

// BenchmarkDecide compares Engine.Decide with stock OPA's prepared query on
// the same policy, data and input (same module version, same process).
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	data := rbacData(1000, 50)
	input := map[string]any{"user": "user49", "action": "read", "resource": "res3"}

	engine := func(b *testing.B, opts CompileOptions) *Engine {
		mod, err := ast.ParseModule("rbac.rego", rbacModule)
		if err != nil {
			b.Fatal(err)
		}
		src := &Source{Modules: map[string]*ast.Module{"rbac.rego": mod}, Raw: map[string][]byte{"rbac.rego": []byte(rbacModule)}, Data: data}
		src.finish()
		opts.Entrypoints = []string{"rbac/allow"}
		e := New(WithCompileOptions(opts))
		st, err := e.Activate(ctx, src)
		if err != nil {
			b.Fatal(err)
		}
		st.FastPathsReady(ctx)
		return e
	}
	raw := []byte(`{"user": "user49", "action": "read", "resource": "res3"}`)
	// A miss: the input parsed and evaluated on the IR VM, no cache.
	b.Run("belladonna-miss", func(b *testing.B) {
		e := engine(b, CompileOptions{})
		b.ReportAllocs()
		for b.Loop() {
			d, err := e.DecideJSON(ctx, "rbac/allow", raw)
			if err != nil || d.Value() != true {
				b.Fatalf("%v %v", d, err)
			}
		}
	})
	// A hit: the same input bytes again.
	b.Run("belladonna-hit", func(b *testing.B) {
		e := engine(b, CompileOptions{CacheEntries: 1000})
		b.ReportAllocs()
		for b.Loop() {
			d, err := e.DecideJSON(ctx, "rbac/allow", raw)
			if err != nil || d.Value() != true {
				b.Fatalf("%v %v", d, err)
			}
		}
	})
	// OPA's evaluator behind Decide, for comparison with the VM.
	b.Run("belladonna-topdown", func(b *testing.B) {
		e := engine(b, CompileOptions{Topdown: true})
		b.ReportAllocs()
		for b.Loop() {
			d, err := e.Decide(ctx, "rbac/allow", input)
			if err != nil || d.Value() != true {
				b.Fatalf("%v %v", d, err)
			}
		}
	})
	b.Run("opa", func(b *testing.B) {
		pq, err := rego.New(rego.Query("data.rbac.allow"), rego.Module("rbac.rego", rbacModule), rego.Store(inmem.NewFromObject(data))).PrepareForEval(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			rs, err := pq.Eval(ctx, rego.EvalInput(input))
			if err != nil || rs[0].Expressions[0].Value != true {
				b.Fatalf("%v %v", rs, err)
			}
		}
	})
}
