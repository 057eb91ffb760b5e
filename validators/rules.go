package validators

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/belladonna-dev/belladonna/validators/rules"
)

// shippedRulesDir is where the embedded rules live in this repository; help
// links point there.
const (
	shippedRulesDir = "validators/rules"
	rulesHelpBase   = "https://github.com/belladonna-dev/belladonna/tree/main/" + shippedRulesDir + "/"
)

// rule is one validator rule package, ready to query.
type rule struct {
	RuleInfo
	query        string
	needsCompile bool
}

// ruleSet is the compiled set of validator rules.
type ruleSet struct {
	compiler *ast.Compiler
	rules    []rule // sorted by ID
}

// ruleSource is a tree of rule modules: the embedded rules or a --rules dir.
type ruleSource struct {
	fsys    fs.FS
	prefix  string // file name prefix in errors: where the tree lives
	shipped bool
}

// loadRules parses and compiles the shipped rules plus the user's rule
// directories. Test modules are left out: they are run by the rules' own tests.
func loadRules(shipped fs.FS, dirs []string) (*ruleSet, error) {
	if shipped == nil {
		shipped = rules.FS
	}
	srcs := []ruleSource{{fsys: shipped, prefix: shippedRulesDir, shipped: true}}
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return nil, &RulesError{Err: fmt.Errorf("rules directory: %w", err)}
		}
		srcs = append(srcs, ruleSource{fsys: os.DirFS(d), prefix: displayPath(d)})
	}
	modules := map[string]*ast.Module{}
	shippedFile := map[string]bool{}
	var errs []error
	for _, s := range srcs {
		err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
				return nil
			}
			bs, err := fs.ReadFile(s.fsys, p)
			if err != nil {
				return err
			}
			name := path.Join(s.prefix, p)
			m, err := ast.ParseModuleWithOpts(name, string(bs), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			modules[name] = m
			shippedFile[name] = s.shipped
			return nil
		})
		if err != nil {
			return nil, &RulesError{Err: fmt.Errorf("reading %s: %w", s.prefix, err)}
		}
	}
	if len(errs) > 0 {
		return nil, &RulesError{Err: errors.Join(errs...)}
	}
	c := newCompiler(ast.RegoV1)
	c.Compile(modules)
	if c.Failed() {
		return nil, &RulesError{Err: c.Errors}
	}
	rs := &ruleSet{compiler: c}
	byID := map[string]*rule{}
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		m := modules[name]
		r, ok, err := ruleFromModule(name, m, shippedFile[name])
		if err != nil {
			return nil, &RulesError{Err: err}
		}
		if !ok {
			continue
		}
		if prev, dup := byID[r.ID]; dup {
			// A rule split over several files: keep the first metadata found.
			if prev.Title == prev.ID && r.Title != r.ID {
				*prev = r
			}
			continue
		}
		byID[r.ID] = &r
	}
	for _, r := range byID {
		rs.rules = append(rs.rules, *r)
	}
	slices.SortFunc(rs.rules, func(a, b rule) int { return cmp.Compare(a.ID, b.ID) })
	return rs, nil
}

// ruleFromModule recognizes a rule module by its package,
// validators.<category>.<name>, and reads its METADATA.
func ruleFromModule(file string, m *ast.Module, shipped bool) (rule, bool, error) {
	parts := refParts(m.Package.Path[1:])
	if len(parts) != 3 || parts[0] != "validators" || strings.HasSuffix(parts[2], "_test") {
		return rule{}, false, nil
	}
	id := parts[1] + "/" + strings.ReplaceAll(parts[2], "_", "-")
	r := rule{
		RuleInfo: RuleInfo{ID: id, Category: parts[1], Title: id, Severity: SeverityWarning},
		query:    m.Package.Path.String() + ".findings",
	}
	if shipped {
		r.HelpURI = rulesHelpBase + path.Dir(strings.TrimPrefix(file, shippedRulesDir+"/"))
	}
	md := packageAnnotations(m)
	if md == nil {
		return r, true, nil
	}
	r.Title = cmp.Or(md.Title, id)
	r.Description = strings.TrimSpace(md.Description)
	if s, ok := md.Custom["severity"].(string); ok {
		sev, err := ParseSeverity(s)
		if err != nil {
			return rule{}, false, fmt.Errorf("%s: custom.severity: %w", file, err)
		}
		r.Severity = sev
	}
	if b, ok := md.Custom["needs_compile"].(bool); ok {
		r.needsCompile = b
	}
	if len(md.RelatedResources) > 0 && r.HelpURI == "" {
		r.HelpURI = md.RelatedResources[0].Ref.String()
	}
	return r, true, nil
}

func packageAnnotations(m *ast.Module) *ast.Annotations {
	for _, a := range m.Annotations {
		if a.Scope == "package" || a.Scope == "subpackages" {
			return a
		}
	}
	return nil
}

// ids lists every rule id.
func (rs *ruleSet) ids() []string {
	out := make([]string, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = r.ID
	}
	return out
}

// disabled resolves --disable names against the rule set: an id, a rule name
// without its category, or a category. Unknown names are an error, so that a
// typo does not silently keep a rule on.
func (rs *ruleSet) disabled(names []string) (map[string]bool, error) {
	out := map[string]bool{}
	var unknown []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		hit := false
		for _, r := range rs.rules {
			if r.ID == n || r.Category == n || strings.TrimPrefix(r.ID, r.Category+"/") == n {
				out[r.ID] = true
				hit = true
			}
		}
		if !hit {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownRuleError{Names: unknown, Known: rs.ids()}
	}
	return out, nil
}

// eval runs one rule over the input and decodes its findings. An evaluation
// error or a malformed finding becomes a validator-error finding: one broken
// rule must not hide the others' results.
func (rs *ruleSet) eval(ctx context.Context, r rule, input ast.Value) []Finding {
	pq, err := rego.New(rego.Compiler(rs.compiler), rego.Query(r.query)).PrepareForEval(ctx)
	if err != nil {
		return []Finding{validatorError(r.ID, err)}
	}
	res, err := pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return []Finding{validatorError(r.ID, err)}
	}
	if len(res) == 0 || len(res[0].Expressions) == 0 {
		return nil
	}
	items, ok := res[0].Expressions[0].Value.([]any)
	if !ok {
		return []Finding{validatorError(r.ID, fmt.Errorf("findings is %T, want a set of objects", res[0].Expressions[0].Value))}
	}
	out := make([]Finding, 0, len(items))
	for _, it := range items {
		f, err := decodeFinding(r, it)
		if err != nil {
			out = append(out, validatorError(r.ID, err))
			continue
		}
		out = append(out, f)
	}
	return out
}

func validatorError(id string, err error) Finding {
	return Finding{
		Rule:     RuleValidatorError,
		Severity: SeverityError,
		Message:  fmt.Sprintf("validator rule %s failed: %v", id, err),
	}
}

// decodeFinding reads one element of a findings set. The rule id always comes
// from the package, so --disable and the SARIF rule table stay truthful.
func decodeFinding(r rule, v any) (Finding, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return Finding{}, fmt.Errorf("finding %v is not an object", v)
	}
	f := Finding{Rule: r.ID, Severity: r.Severity}
	msg, ok := obj["message"].(string)
	if !ok || msg == "" {
		return Finding{}, fmt.Errorf("finding %v has no message", v)
	}
	f.Message = msg
	if s, ok := obj["severity"].(string); ok {
		sev, err := ParseSeverity(s)
		if err != nil {
			return Finding{}, err
		}
		f.Severity = sev
	}
	if s, ok := obj["file"].(string); ok {
		f.File = s
	}
	f.Line = intField(obj["line"])
	f.Col = intField(obj["col"])
	return f, nil
}

func intField(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err == nil && i > 0 {
			return int(i)
		}
	case float64:
		if n > 0 {
			return int(n)
		}
	case int:
		if n > 0 {
			return n
		}
	}
	return 0
}
