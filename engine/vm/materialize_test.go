package vm_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/engine/vm"
)

// Rules that depend on data alone are computed once per VM and shared;
// rules that read input, directly, through a built-in, through a helper
// function or under `with`, never are. Topdown's answers decide, over many
// inputs and from many goroutines at once.
const materializePolicy = `package m

table := {k: v | some k, v in data.t}

doubled := {k: d | some k, v in table; d := v * 2}

pick(x) := doubled[x]

via_builtin := object.get(input, "k", "none")

uses_input := doubled[input.k]

through_helper := pick(input.k)

shadowed := x if x := doubled with data.t as {"a": 100}

mixed := [uses_input, through_helper, via_builtin, shadowed, table]
`

func TestMaterializedRulesMatchTopdown(t *testing.T) {
	ctx := context.Background()
	src, err := engine.LoadFS(fstest.MapFS{"m/m.rego": {Data: []byte(materializePolicy)},
		"t/data.json": {Data: []byte(`{"a": 1, "b": 2, "c": 3}`)}}, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.Compile(ctx, src, engine.CompileOptions{Topdown: true})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"m/mixed", "m/uses_input", "m/through_helper", "m/via_builtin", "m/shadowed", "m/doubled"}
	pol, err := vm.Plan(ctx, src.Modules, src.Raw, paths)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := ast.InterfaceToValue(src.Data)
	m, err := vm.New(pol, data)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := []string{"a", "b", "c", "zz"}[(g+i)%4]
				in, _ := ast.ParseTerm(fmt.Sprintf(`{"k": %q}`, k))
				for _, p := range paths {
					got, gotDef, err := m.Eval(ctx, p, in.Value)
					if err != nil {
						errs <- err
						return
					}
					want, wantDef, err := st.Eval(ctx, p, in.Value)
					if err != nil {
						errs <- err
						return
					}
					w, _ := ast.InterfaceToValue(want)
					if gotDef != wantDef || (gotDef && w.Compare(got) != 0) {
						errs <- fmt.Errorf("%s with k=%s: vm %v, topdown %v", p, k, got, want)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
