package vm_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/test/cases"
	"github.com/open-policy-agent/opa/v1/test/cases/testdata"

	"github.com/belladonna-dev/belladonna/engine/vm"
)

// OPA's own conformance cases, replayed on topdown and on the VM: every case
// whose query is one data document the VM can plan must give topdown's
// result, undefinedness and error.
func TestConformanceCasesMatchTopdown(t *testing.T) {
	ctx := context.Background()
	var ran, unsupported, skipped int
	var mismatches []string
	err := fs.WalkDir(testdata.V1, "v1", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".yaml" {
			return err
		}
		b, err := fs.ReadFile(testdata.V1, p)
		if err != nil {
			return err
		}
		tmp := t.TempDir() + "/c.yaml"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return err
		}
		set, err := cases.Load(tmp)
		if err != nil {
			return nil // a file the loader does not take: not ours to test
		}
		for _, tc := range set.Cases {
			ep, ok := entrypoint(tc)
			if !ok {
				skipped++
				continue
			}
			res, err := compareCase(ctx, tc, ep)
			switch {
			case errors.Is(err, vm.ErrUnsupported):
				unsupported++
			case err != nil:
				skipped++
			case res != "":
				mismatches = append(mismatches, fmt.Sprintf("%s (%s): %s", tc.Note, p, res))
			default:
				ran++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d cases matched topdown, %d not supported by the VM (topdown runs them), %d skipped (query not one document, or a case topdown itself cannot set up)", ran, unsupported, skipped)
	if len(mismatches) > 0 {
		t.Fatalf("%d cases differ from topdown:\n%s", len(mismatches), strings.Join(mismatches, "\n"))
	}
	if ran < 500 {
		t.Fatalf("only %d cases ran on the VM", ran)
	}
}

// entrypoint is the data path a case queries, when its query is "data.a.b = x".
func entrypoint(tc cases.TestCase) (string, bool) {
	if tc.StrictError || len(tc.Env) > 0 || tc.ExperimentalKeywords {
		return "", false
	}
	body, err := ast.ParseBody(tc.Query)
	if err != nil || len(body) != 1 || !body[0].IsEquality() {
		return "", false
	}
	ops := body[0].Operands()
	ref, ok := ops[0].Value.(ast.Ref)
	if _, isVar := ops[1].Value.(ast.Var); !ok || !isVar || !ref.IsGround() || !ref.HasPrefix(ast.DefaultRootRef) || len(ref) < 2 {
		return "", false
	}
	var parts []string
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			return "", false
		}
		parts = append(parts, string(s))
	}
	return strings.Join(parts, "/"), true
}

// compareCase evaluates ep on topdown and on the VM; a non-empty result
// says how they differ.
func compareCase(ctx context.Context, tc cases.TestCase, ep string) (string, error) {
	mods := map[string]*ast.Module{}
	raw := map[string][]byte{}
	opts := []func(*rego.Rego){rego.Query("data." + strings.ReplaceAll(ep, "/", "."))}
	for i, m := range tc.Modules {
		name := fmt.Sprintf("m%d.rego", i)
		mod, err := ast.ParseModuleWithOpts(name, m, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return "", err
		}
		mods[name], raw[name] = mod, []byte(m)
		opts = append(opts, rego.ParsedModule(mod))
	}
	data := map[string]any{}
	if tc.Data != nil {
		data = *tc.Data
	}
	opts = append(opts, rego.Store(inmem.NewFromObject(data)))
	var input ast.Value
	switch {
	case tc.InputTerm != nil:
		t, err := ast.ParseTerm(*tc.InputTerm)
		if err != nil {
			return "", err
		}
		input = t.Value
	case tc.Input != nil:
		v, err := ast.InterfaceToValue(*tc.Input)
		if err != nil {
			return "", err
		}
		input = v
	}
	if input != nil {
		opts = append(opts, rego.ParsedInput(input))
	}
	pq, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return "", err
	}
	pol, err := vm.Plan(ctx, mods, raw, []string{ep})
	if err != nil {
		return "", err
	}
	dv, err := ast.InterfaceToValue(data)
	if err != nil {
		return "", err
	}
	m, err := vm.New(pol, dv)
	if err != nil {
		return "", err
	}
	rs, terr := pq.Eval(ctx)
	got, gdef, gerr := m.Eval(ctx, ep, input)
	if errors.Is(gerr, vm.ErrUnsupported) {
		return "", gerr
	}
	wdef := terr == nil && len(rs) > 0
	switch {
	case (terr != nil) != (gerr != nil):
		return fmt.Sprintf("topdown error %v, vm error %v", terr, gerr), nil
	case terr != nil:
		return "", nil
	case wdef != gdef:
		return fmt.Sprintf("topdown defined %v, vm defined %v (%v)", wdef, gdef, got), nil
	case !wdef:
		return "", nil
	}
	want, err := ast.InterfaceToValue(rs[0].Expressions[0].Value)
	if err != nil {
		return "", err
	}
	gj, err := ast.JSON(got)
	if err != nil {
		return "", err
	}
	gv, err := ast.InterfaceToValue(gj)
	if err != nil {
		return "", err
	}
	if ast.Compare(want, gv) != 0 {
		return fmt.Sprintf("topdown %v, vm %v", want, gv), nil
	}
	return "", nil
}
