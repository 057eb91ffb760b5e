package policies_test

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/policies"
)

// TestLibraryRegoTests runs every Rego test of the embedded library with
// OPA's tester, as `belladonna test policies/` and `opa test policies/` do.
func TestLibraryRegoTests(t *testing.T) {
	src, err := engine.LoadFS(policies.FS, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store := inmem.NewFromObject(src.Data)
	compiler := ast.NewCompiler().WithStrict(true).WithEnablePrintStatements(true)
	txn := storage.NewTransactionOrDie(ctx, store)
	defer store.Abort(ctx, txn)
	ch, err := tester.NewRunner().SetCompiler(compiler).SetStore(store).SetModules(src.Modules).RunTests(ctx, txn)
	if err != nil {
		t.Fatal(err)
	}
	passed := 0
	for r := range ch {
		switch {
		case r.Error != nil:
			t.Errorf("%s:%d: %s.%s: error: %v", r.Location.File, r.Location.Row, r.Package, r.Name, r.Error)
		case r.Fail:
			t.Errorf("%s:%d: %s.%s: FAIL", r.Location.File, r.Location.Row, r.Package, r.Name)
		case r.Skip:
		default:
			passed++
		}
	}
	if passed < 50 {
		t.Fatalf("only %d library tests passed; want the whole library covered", passed)
	}
	t.Logf("%d Rego tests passed", passed)
}

// TestEveryModuleHasTests keeps the library's rule: a _test.rego beside each module.
func TestEveryModuleHasTests(t *testing.T) {
	src, err := engine.LoadFS(policies.FS, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name := range src.Modules {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		test := strings.TrimSuffix(name, ".rego") + "_test.rego"
		if _, ok := src.Modules[test]; !ok {
			t.Errorf("%s has no %s beside it", name, test)
		}
	}
}
