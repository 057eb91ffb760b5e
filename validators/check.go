package validators

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// newCompiler returns the compiler every stage uses: strict, with no limit on
// the number of errors (a CI run wants all of them, not the first ten), and
// the default Rego version of the run.
func newCompiler(v ast.RegoVersion) *ast.Compiler {
	return ast.NewCompiler().
		WithStrict(true).
		SetErrorLimit(0).
		WithCapabilities(ast.CapabilitiesForThisVersion()).
		WithDefaultRegoVersion(v)
}

// compiled is a policy tree that compiled without errors, with its data.
type compiled struct {
	compiler *ast.Compiler
	store    storage.Store
}

// check compiles the modules that parsed, with data path conflicts checked
// against the store. It returns the compile errors as findings; compiled is
// nil when there are any.
func check(ctx context.Context, src *source, v ast.RegoVersion) (*compiled, []Finding, error) {
	store := inmem.NewFromObjectWithOpts(src.data, inmem.OptRoundTripOnWrite(false))
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("opening data store: %w", err)
	}
	defer store.Abort(ctx, txn)

	c := newCompiler(v).WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn))
	c.Compile(src.modules)
	if c.Failed() {
		return nil, astFindings(c.Errors, ""), nil
	}
	return &compiled{compiler: c, store: store}, nil, nil
}
