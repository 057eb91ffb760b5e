package engine

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/test/cases"
	"github.com/open-policy-agent/opa/v1/util"
)

// opaModuleDir finds the pinned OPA module's source so the differential test
// runs OPA's own conformance cases.
func opaModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/open-policy-agent/opa").Output()
	if err != nil {
		t.Fatalf("locating the OPA module (go list -m): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// nondeterministic marks cases whose answers legitimately differ between two
// evaluations (clock, randomness, network, environment).
var nondeterministic = []string{"time.now_ns", "rand.", "uuid.", "http.send", "opa.runtime", "net.lookup", "trace(", "print("}

// TestDifferentialConformance evaluates every rule of every OPA conformance case
// through Engine.Decide and through stock rego (as `opa run --server` would,
// non-strict) and requires identical results. Cases our strict compile rejects
// are counted, not compared: strict mode may only add errors.
func TestDifferentialConformance(t *testing.T) {
	dir := filepath.Join(opaModuleDir(t), "v1", "test", "cases", "testdata", "v1")
	set, err := cases.Load(dir)
	if err != nil {
		t.Fatalf("loading conformance cases: %v", err)
	}
	ctx := context.Background()
	var compared, strictRejected, skipped int
	for _, tc := range set.Cases {
		if len(tc.Modules) == 0 || len(tc.Env) > 0 || tc.InputTerm != nil || tc.ExperimentalKeywords ||
			slices.ContainsFunc(nondeterministic, func(s string) bool { return strings.Contains(strings.Join(tc.Modules, "\n"), s) }) {
			skipped++
			continue
		}
		src := newSource()
		ok := true
		for i, m := range tc.Modules {
			name := fmt.Sprintf("case%d.rego", i)
			mod, err := ast.ParseModuleWithOpts(name, m, ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				ok = false
				break
			}
			src.Modules[name], src.Raw[name] = mod, []byte(m)
		}
		if !ok {
			skipped++
			continue
		}
		if tc.Data != nil {
			src.Data = *tc.Data
		}
		src.finish()
		st, err := Compile(ctx, src, CompileOptions{})
		if err != nil {
			strictRejected++
			continue
		}
		eng := New()
		eng.Swap(st)
		var input any
		if tc.Input != nil {
			input = *tc.Input
		}
		for _, path := range rulePaths(st.compiler) {
			got, gerr := eng.Decide(ctx, path, input)
			want, wdefined, werr := stockEval(ctx, tc, path, input)
			if (gerr != nil) != (werr != nil) {
				t.Errorf("%s: data.%s: error mismatch: belladonna=%v opa=%v", tc.Note, path, gerr, werr)
				continue
			}
			if gerr != nil {
				compared++
				continue
			}
			if got.Defined != wdefined {
				t.Errorf("%s: data.%s: defined mismatch: belladonna=%v opa=%v", tc.Note, path, got.Defined, wdefined)
				continue
			}
			if wdefined && util.Compare(canonical(t, got.Result), canonical(t, want)) != 0 {
				t.Errorf("%s: data.%s: result mismatch:\n belladonna=%v\n opa=%v", tc.Note, path, got.Result, want)
			}
			compared++
		}
	}
	t.Logf("conformance differential: %d decisions compared, %d cases rejected by strict mode, %d cases skipped (nondeterministic/unsupported)", compared, strictRejected, skipped)
	if compared < 1000 {
		t.Fatalf("only %d decisions compared; the conformance corpus did not load as expected", compared)
	}
}

// rulePaths lists the data paths of every non-function rule.
func rulePaths(c *ast.Compiler) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range c.Modules {
		for _, r := range m.Rules {
			if len(r.Head.Args) > 0 {
				continue
			}
			p, ok := refToPath(r.Path().GroundPrefix())
			if !ok || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func stockEval(ctx context.Context, tc cases.TestCase, path string, input any) (any, bool, error) {
	ref, err := pathToRef(path)
	if err != nil {
		return nil, false, err
	}
	opts := []func(*rego.Rego){rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref))))}
	for i, m := range tc.Modules {
		opts = append(opts, rego.Module(fmt.Sprintf("case%d.rego", i), m))
	}
	data := map[string]any{}
	if tc.Data != nil {
		data = *tc.Data
	}
	opts = append(opts, rego.Store(inmem.NewFromObject(data)))
	if input != nil {
		opts = append(opts, rego.Input(input))
	}
	rs, err := rego.New(opts...).Eval(ctx)
	if err != nil {
		return nil, false, err
	}
	if len(rs) == 0 {
		return nil, false, nil
	}
	return rs[0].Expressions[0].Value, true, nil
}

func canonical(t *testing.T, v any) any {
	t.Helper()
	var out any
	if err := util.RoundTrip(&v); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	out = v
	return out
}
