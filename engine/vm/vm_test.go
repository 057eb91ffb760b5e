package vm_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/engine/vm"
	"github.com/belladonna-dev/belladonna/policies"
)

// library loads the shipped policy library with topdown (engine) and the VM.
func library(t testing.TB) (*engine.State, *vm.VM, []string) {
	t.Helper()
	ctx := context.Background()
	src, err := engine.LoadFS(policies.FS, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.Compile(ctx, src, engine.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eps := st.Entrypoints()
	pol, err := vm.Plan(ctx, src.Modules, src.Raw, eps)
	if err != nil {
		t.Fatal(err)
	}
	data, err := ast.InterfaceToValue(src.Data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := vm.New(pol, data)
	if err != nil {
		t.Fatal(err)
	}
	return st, m, eps
}

// authzInput draws a request with the variety the library reacts to.
func authzInput(r *rand.Rand) ast.Value {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	subject := fmt.Sprintf(`{"id": %q, "roles": [%q], "tenant": %q}`, pick("alice", "bob", "carol", "u1", "u2", "dave"),
		pick("viewer", "developer", "maintainer", "admin", "contractor", "intern"), pick("acme", "globex"))
	if r.IntN(10) == 0 {
		subject = `{"id": "nobody"}`
	}
	in := fmt.Sprintf(`{"subject": %s, "action": %q, "resource": {"type": %q, "id": "r1", "owner": %q, "tenant": %q},
		"context": {"time": %q, "source_ip": %q}}`, subject,
		pick("read", "write", "delete", "run", "admin"), pick("repository", "pipeline", "secret", "*"),
		pick("alice", "bob", "u1", "u2"), pick("acme", "globex"),
		pick("2026-11-25T10:00:00Z", "2026-11-28T10:00:00Z", "2026-11-25T20:30:00Z", "not a time"),
		pick("10.1.2.3", "192.168.7.7", "8.8.8.8", "not-an-ip"))
	if r.IntN(20) == 0 {
		in = `{"action": "read"}`
	}
	v, err := ast.ParseTerm(in)
	if err != nil {
		panic(err)
	}
	return v.Value
}

// Every entrypoint of the shipped library gives topdown's answer on the VM.
func TestLibraryMatchesTopdown(t *testing.T) {
	st, m, eps := library(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		in := authzInput(r)
		for _, ep := range eps {
			want, wdef, werr := st.Eval(ctx, ep, in)
			got, gdef, gerr := m.Eval(ctx, ep, in)
			if (werr != nil) != (gerr != nil) || wdef != gdef {
				t.Fatalf("%s on input %d %v: topdown (%v, %v), vm (%v, %v)", ep, i, in, wdef, werr, gdef, gerr)
			}
			if !wdef {
				continue
			}
			wv, err := ast.InterfaceToValue(want)
			if err != nil {
				t.Fatal(err)
			}
			gj, err := ast.JSON(got)
			if err != nil {
				t.Fatal(err)
			}
			gv, err := ast.InterfaceToValue(gj)
			if err != nil {
				t.Fatal(err)
			}
			if ast.Compare(wv, gv) != 0 {
				t.Fatalf("%s on input %v:\n topdown %v\n vm      %v", ep, in, wv, got)
			}
		}
	}
}

func BenchmarkLibraryAllow(b *testing.B) {
	st, m, _ := library(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	ins := make([]ast.Value, 1000)
	for i := range ins {
		ins[i] = authzInput(r)
	}
	b.Run("topdown", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, _, err := st.Eval(ctx, "security/authz/allow", ins[i%len(ins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vm", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, _, err := m.Eval(ctx, "security/authz/allow", ins[i%len(ins)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func planOf(t *testing.T, src string, ep string) (*vm.VM, error) {
	t.Helper()
	mod, err := ast.ParseModuleWithOpts("p.rego", src, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		t.Fatal(err)
	}
	pol, err := vm.Plan(context.Background(), map[string]*ast.Module{"p.rego": mod}, map[string][]byte{"p.rego": []byte(src)}, []string{ep})
	if err != nil {
		return nil, err
	}
	return vm.New(pol, ast.NewObject())
}

// Plans the VM cannot answer like topdown are refused, so callers keep
// topdown: a clock or randomness, which topdown fixes per query.
func TestNondeterministicBuiltinsAreRefused(t *testing.T) {
	for _, src := range []string{
		"package p\n\nx := time.now_ns()\n",
		"package p\n\nx := rand.intn(\"a\", 10)\n",
		"package p\n\nx := uuid.rfc4122(\"a\")\n",
	} {
		if _, err := planOf(t, src, "p/x"); !errors.Is(err, vm.ErrUnsupported) {
			t.Fatalf("%q: want ErrUnsupported, got %v", src, err)
		}
	}
}

func TestEvalErrors(t *testing.T) {
	m, err := planOf(t, "package p\n\nx := 1\n\ny := z if { some z in [1, 2] }\n", "p/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Eval(context.Background(), "p/nope", nil); err == nil || !strings.Contains(err.Error(), "no plan for p/nope") {
		t.Fatalf("unknown path: %v", err)
	}
	if v, ok, err := m.Eval(context.Background(), "p/x", nil); err != nil || !ok || ast.Compare(v, ast.Number("1")) != 0 {
		t.Fatalf("p/x: %v %v %v", v, ok, err)
	}
	// A complete rule with two values: OPA's conflict error, not a value.
	m, err = planOf(t, "package p\n\ny := z if { some z in [1, 2] }\n", "p/y")
	if err != nil {
		t.Fatal(err)
	}
	var conflict *vm.ConflictError
	if _, _, err := m.Eval(context.Background(), "p/y", nil); !errors.As(err, &conflict) {
		t.Fatalf("conflict: %v", err)
	}
}

// A long evaluation stops when its context ends.
func TestEvalStopsWithItsContext(t *testing.T) {
	m, err := planOf(t, "package p\n\nn := count([x | some a in numbers.range(1, 300); some b in numbers.range(1, 300); x := a * b])\n", "p/n")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.Eval(ctx, "p/n", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
