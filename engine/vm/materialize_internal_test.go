package vm

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The analysis marks exactly the data-only rules as shared.
func TestInputFreeAnalysis(t *testing.T) {
	src := `package m

table := {k: v | some k, v in data.t}

doubled := {k: d | some k, v in table; d := v * 2}

pick(x) := doubled[x]

via_builtin := object.get(input, "k", "none")

uses_input := doubled[input.k]

through_helper := pick(input.k)

mixed := [uses_input, through_helper, via_builtin, table]
`
	mod, err := ast.ParseModule("m.rego", src)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := Plan(context.Background(), map[string]*ast.Module{"m.rego": mod}, map[string][]byte{"m.rego": []byte(src)}, []string{"m/mixed"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(pol, ast.NewObject())
	if err != nil {
		t.Fatal(err)
	}
	var global []string
	for _, f := range v.funcs {
		if f.global {
			global = append(global, f.f.Name[strings.LastIndex(f.f.Name, ".")+1:])
		}
	}
	slices.Sort(global)
	if strings.Join(global, ",") != "doubled,table" {
		t.Fatalf("shared rules: %v", global)
	}
}
