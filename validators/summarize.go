package validators

import (
	"bytes"
	"encoding/json"
	"path"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// summarizeModule turns a parsed module into the JSON-shaped summary that
// validator rules read as an element of input.modules. It is a summary rather
// than OPA's full AST so that rules stay short and the input stays small; the
// fields are documented on BuildInput.
func summarizeModule(file string, relDir []string, m *ast.Module, raw []byte, popts ast.ParserOptions) map[string]any {
	pkgParts := refParts(m.Package.Path[1:])
	lines := splitLines(raw)
	s := map[string]any{
		"file":          file,
		"dir":           path.Dir(file),
		"rel_dir":       stringsToAny(relDir),
		"package":       strings.Join(pkgParts, "."),
		"package_parts": stringsToAny(pkgParts),
		"package_line":  row(m.Package.Location),
		"is_test":       strings.HasSuffix(file, "_test.rego"),
		"rego_version":  m.RegoVersion().String(),
		"line_count":    len(lines),
		"lines":         stringsToAny(lines),
		"annotations":   annotationList(m.Annotations),
		"imports":       importList(m.Imports),
		"rules":         ruleList(m.Rules),
		"exprs":         exprList(m.Rules),
		"calls":         callList(m.Rules),
		"vars":          varList(m.Rules),
		"comments":      commentList(m.Comments),
	}
	if md := packageMetadata(m); md != nil {
		s["metadata"] = md
	}
	if out, err := format.SourceWithOpts(file, raw, format.Opts{RegoVersion: popts.RegoVersion, ParserOptions: &popts}); err == nil {
		s["formatted"] = bytes.Equal(out, raw)
	}
	return s
}

func row(loc *ast.Location) int {
	if loc == nil {
		return 0
	}
	return loc.Row
}

func stringsToAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// refParts renders each ref element as plain text: vars and strings by their
// value, anything else in Rego syntax.
func refParts(ref ast.Ref) []string {
	out := make([]string, 0, len(ref))
	for _, t := range ref {
		switch v := t.Value.(type) {
		case ast.Var:
			out = append(out, string(v))
		case ast.String:
			out = append(out, string(v))
		default:
			out = append(out, v.String())
		}
	}
	return out
}

// toJSONMap round-trips a value through encoding/json into the generic shape
// rules see.
func toJSONMap(v any) map[string]any {
	bs, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out map[string]any
	if err := json.Unmarshal(bs, &out); err != nil {
		return nil
	}
	return out
}

func annotationMap(a *ast.Annotations) map[string]any {
	m := toJSONMap(a)
	if m == nil {
		m = map[string]any{}
	}
	delete(m, "location")
	m["line"] = row(a.Location)
	return m
}

func annotationList(as []*ast.Annotations) []any {
	out := make([]any, 0, len(as))
	for _, a := range as {
		out = append(out, annotationMap(a))
	}
	return out
}

// packageMetadata is the package- or subpackages-scoped METADATA block of
// this module, if it has one.
func packageMetadata(m *ast.Module) map[string]any {
	for _, a := range m.Annotations {
		if a.Scope == "package" || a.Scope == "subpackages" {
			return annotationMap(a)
		}
	}
	return nil
}

func importList(imps []*ast.Import) []any {
	out := make([]any, 0, len(imps))
	for _, imp := range imps {
		ref, _ := imp.Path.Value.(ast.Ref)
		name := string(imp.Alias)
		if name == "" {
			name = imp.Name().String()
		}
		out = append(out, map[string]any{
			"path":  imp.Path.String(),
			"parts": stringsToAny(refParts(ref)),
			"alias": string(imp.Alias),
			"name":  name,
			"line":  row(imp.Location),
		})
	}
	return out
}

func ruleList(rules []*ast.Rule) []any {
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		ref := r.Head.Ref()
		parts := refParts(ref.GroundPrefix())
		leaf := ""
		if len(parts) > 0 {
			leaf = parts[len(parts)-1]
		}
		e := map[string]any{
			"name":      ref[0].Value.String(),
			"head_ref":  ref.String(),
			"leaf":      leaf,
			"kind":      ruleKind(r),
			"default":   r.Default,
			"args":      len(r.Head.Args),
			"annotated": len(r.Annotations) > 0,
			"line":      row(r.Location),
			"col":       0,
		}
		if r.Location != nil {
			e["col"] = r.Location.Col
		}
		if r.Head.Value != nil && r.Head.Value.IsGround() {
			if v, err := ast.JSON(r.Head.Value.Value); err == nil {
				e["value"] = v
				if r.Default {
					e["default_value"] = v
				}
			}
		}
		out = append(out, e)
	}
	return out
}

func ruleKind(r *ast.Rule) string {
	if len(r.Head.Args) > 0 {
		return "function"
	}
	switch r.Head.DocKind() {
	case ast.PartialSetDoc:
		return "partial_set"
	case ast.PartialObjectDoc:
		return "partial_object"
	}
	return "complete"
}

// ruleName is the first element of a rule's head, for exprs/calls/vars.
func ruleName(r *ast.Rule) string { return r.Head.Ref()[0].Value.String() }

// eachRule visits every rule including else branches.
func eachRule(rules []*ast.Rule, f func(owner string, r *ast.Rule)) {
	for _, r := range rules {
		owner := ruleName(r)
		for x := r; x != nil; x = x.Else {
			f(owner, x)
		}
	}
}

func termType(t *ast.Term) string {
	switch t.Value.(type) {
	case ast.Ref:
		return "ref"
	case ast.Var:
		return "var"
	case ast.String:
		return "string"
	case ast.Number:
		return "number"
	case ast.Boolean:
		return "boolean"
	case ast.Null:
		return "null"
	case ast.Call:
		return "call"
	case *ast.Array:
		return "array"
	case ast.Object:
		return "object"
	case ast.Set:
		return "set"
	case *ast.ArrayComprehension, *ast.SetComprehension, *ast.ObjectComprehension:
		return "comprehension"
	}
	return "other"
}

func hasWildcard(t *ast.Term) bool {
	found := false
	ast.WalkVars(t, func(v ast.Var) bool {
		if v.IsWildcard() {
			found = true
		}
		return found
	})
	return found
}

func operand(t *ast.Term) map[string]any {
	return map[string]any{"type": termType(t), "text": t.String(), "wildcard": hasWildcard(t)}
}

// exprList lists every body expression that is a call (operators included) or
// a single term, with its operands' types: enough for constant-condition and
// not-equals-in-loop style checks.
func exprList(rules []*ast.Rule) []any {
	out := []any{}
	eachRule(rules, func(owner string, r *ast.Rule) {
		ast.WalkExprs(r.Body, func(e *ast.Expr) bool {
			if e.Generated || e.Location == nil {
				return false
			}
			entry := map[string]any{"line": e.Location.Row, "rule": owner, "negated": e.Negated}
			switch terms := e.Terms.(type) {
			case []*ast.Term:
				entry["op"] = e.Operator().String()
				ops := []any{}
				for _, t := range e.Operands() {
					ops = append(ops, operand(t))
				}
				entry["operands"] = ops
			case *ast.Term:
				entry["op"] = ""
				entry["operands"] = []any{operand(terms)}
			default:
				return false
			}
			out = append(out, entry)
			return false
		})
	})
	return out
}

// callList lists calls of functions (built-in or user-defined), but not of
// infix operators, which every body is full of.
func callList(rules []*ast.Rule) []any {
	out := []any{}
	add := func(name string, loc *ast.Location, owner string) {
		if b, ok := ast.BuiltinMap[name]; ok && b.Infix != "" {
			return
		}
		out = append(out, map[string]any{"name": name, "line": row(loc), "rule": owner})
	}
	eachRule(rules, func(owner string, r *ast.Rule) {
		ast.NewGenericVisitor(func(x any) bool {
			switch x := x.(type) {
			case *ast.Expr:
				if x.IsCall() && !x.Generated {
					add(x.Operator().String(), x.Location, owner)
				}
			case *ast.Term:
				if c, ok := x.Value.(ast.Call); ok && len(c) > 0 {
					add(c[0].String(), x.Location, owner)
				}
			}
			return false
		}).Walk(r)
	})
	return out
}

// varList lists the variables a rule declares (:=, some, every), for naming
// checks. Generated and wildcard variables are left out.
func varList(rules []*ast.Rule) []any {
	out := []any{}
	add := func(t *ast.Term, owner string) {
		ast.WalkVars(t, func(v ast.Var) bool {
			if !v.IsWildcard() && !v.IsGenerated() && !strings.HasPrefix(string(v), "__") {
				out = append(out, map[string]any{"name": string(v), "line": row(t.Location), "rule": owner})
			}
			return false
		})
	}
	eachRule(rules, func(owner string, r *ast.Rule) {
		ast.WalkExprs(r.Body, func(e *ast.Expr) bool {
			switch {
			case e.IsAssignment():
				add(e.Operand(0), owner)
			case e.IsSome():
				for _, sym := range e.Terms.(*ast.SomeDecl).Symbols {
					if c, ok := sym.Value.(ast.Call); ok && len(c) > 2 {
						// some k, v in xs: declared are all operands but the collection.
						for _, t := range c[1 : len(c)-1] {
							add(t, owner)
						}
						continue
					}
					add(sym, owner)
				}
			case e.IsEvery():
				ev := e.Terms.(*ast.Every)
				if ev.Key != nil {
					add(ev.Key, owner)
				}
				add(ev.Value, owner)
			}
			return false
		})
	})
	return out
}

func commentList(cs []*ast.Comment) []any {
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{"line": row(c.Location), "text": string(c.Text)})
	}
	return out
}
