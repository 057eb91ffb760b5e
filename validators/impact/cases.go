package impact

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/engine"
)

// Case is one decision to replay: a document path and an input.
type Case struct {
	Path  string    `json:"path"`
	Input ast.Value `json:"-"`
	// Source says where the input came from: "test file:line" or
	// "audit #index".
	Source string `json:"source"`
}

func (c Case) key() string {
	if c.Input == nil {
		return c.Path + "\x00"
	}
	return c.Path + "\x00" + c.Input.String()
}

// TestCases extracts the inputs the Rego tests of st use: every
// `<expr> with input as <value>` in a test rule, paired with the first
// document the expression reads. The value is a constant, or built from
// constants and data only (a test's base input rule, a helper function
// called with constants): then it is evaluated once here. Values that
// depend on the test's local variables are skipped.
func TestCases(ctx context.Context, st *engine.State) []Case {
	var out []Case
	c := st.Compiler()
	files := make([]string, 0, len(c.Modules))
	for f := range c.Modules {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		for _, r := range c.Modules[f].Rules {
			if !strings.HasPrefix(ruleName(r), "test_") {
				continue
			}
			// The compiler moves a non-ground with value into a generated
			// local assigned just before: follow such locals back.
			locals := map[ast.Var]*ast.Term{}
			ast.WalkExprs(r.Body, func(e *ast.Expr) bool {
				switch {
				case len(e.With) > 0:
				case e.IsEquality():
					if v, ok := e.Operand(0).Value.(ast.Var); ok && v.IsGenerated() {
						locals[v] = e.Operand(1)
					}
				case e.IsCall():
					// f(args, __localN__): the output of a call.
					ops := e.Operands()
					if n := len(ops); n > 0 {
						if v, ok := ops[n-1].Value.(ast.Var); ok && v.IsGenerated() {
							locals[v] = ast.CallTerm(append([]*ast.Term{e.OperatorTerm()}, ops[:n-1]...)...)
						}
					}
				}
				var input ast.Value
				for _, w := range e.With {
					if w.Target.Value.Compare(ast.InputRootRef) == 0 {
						t := w.Value
						for range 8 { // follow __local1__ = __local0__ = f(...)
							v, ok := t.Value.(ast.Var)
							if !ok || locals[v] == nil {
								break
							}
							t = locals[v]
						}
						input = constantValue(ctx, st, t)
					}
				}
				if input == nil {
					return false
				}
				if path := firstDataPath(e, c); path != "" {
					src := f
					if e.Location != nil {
						src = fmt.Sprintf("%s:%d", f, e.Location.Row)
					}
					out = append(out, Case{Path: path, Input: input, Source: "test " + src})
				}
				return false
			})
		}
	}
	return out
}

// constantValue is t's value when it needs no local variable: ground, or
// made of data references and calls over constants.
func constantValue(ctx context.Context, st *engine.State, t *ast.Term) ast.Value {
	if t.IsGround() && !ast.ContainsRefs(t) {
		return t.Value
	}
	vv := ast.NewVarVisitor().WithParams(ast.VarVisitorParams{SkipRefHead: true})
	vv.Walk(t)
	if len(vv.Vars()) > 0 {
		return nil
	}
	rs, err := st.Query(ctx, t.String(), nil)
	if err != nil || len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil
	}
	v, err := ast.InterfaceToValue(rs[0].Expressions[0].Value)
	if err != nil {
		return nil
	}
	return v
}

// firstDataPath is the path of the first document (not a test rule) e
// reads, cut to its ground prefix.
func firstDataPath(e *ast.Expr, c *ast.Compiler) string {
	var path string
	// The expression without its with modifiers (whose targets may mock data).
	bare := e.Copy()
	bare.With = nil
	ast.WalkRefs(bare, func(ref ast.Ref) bool {
		if path != "" || !ref.HasPrefix(ast.DefaultRootRef) || len(ref) < 2 {
			return path != ""
		}
		var parts []string
		for _, t := range ref[1:] {
			s, ok := t.Value.(ast.String)
			if !ok {
				break
			}
			parts = append(parts, string(s))
		}
		if len(parts) == 0 || strings.HasPrefix(parts[len(parts)-1], "test_") {
			return false
		}
		path = strings.Join(parts, "/")
		return true
	})
	return path
}

// RecordedOptions select recorded decisions to replay.
type RecordedOptions struct {
	// Last replays at most this many of the newest decisions (0: all in
	// the filter's range).
	Last   int
	Filter audit.Filter
}

// RecordedCases reads decision inputs from an audit log (newest Last, or
// those the filter selects), skipping decisions without an input and
// erased ones.
func RecordedCases(ctx context.Context, src audit.Source, opts RecordedOptions) ([]Case, error) {
	var from uint64
	if size := src.Size(); opts.Last > 0 && uint64(opts.Last) < size {
		from = size - uint64(opts.Last)
	}
	f := opts.Filter
	f.Kind = audit.KindDecision
	var out []Case
	var bad error
	err := audit.Scan(ctx, src, from, f, func(e audit.Entry) bool {
		if e.Erased || len(e.Input) == 0 || e.Path == "" {
			return true
		}
		v, err := ast.ValueFromReader(bytes.NewReader(e.Input))
		if err != nil {
			bad = fmt.Errorf("audit entry %d: input: %w", e.Index, err)
			return false
		}
		out = append(out, Case{Path: e.Path, Input: v, Source: fmt.Sprintf("audit #%d", e.Index)})
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("reading recorded decisions: %w", err)
	}
	return out, nil
}
