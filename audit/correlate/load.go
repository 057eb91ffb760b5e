package correlate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/belladonna-dev/belladonna/audit/correlate/rules"
)

// ShippedRulesDir is where the default rules live in this repository; their
// file names in errors start with it.
const ShippedRulesDir = "audit/correlate/rules"

// rulePackageRoot is the package every rule lives under: correlate.<name>.
const rulePackageRoot = "correlate"

// incidentRule is the rule each rule package defines.
const incidentRule = "incident"

// ruleSource is a tree of rule modules: the embedded defaults, a directory or
// an fs.FS a caller passed in.
type ruleSource struct {
	name string // prefix of file names in errors
	fsys fs.FS
}

func defaultSource() ruleSource { return ruleSource{name: ShippedRulesDir, fsys: rules.FS} }

// excludedBuiltins are builtins a correlation rule may not call: they do
// I/O or are random, so a replay of the same log would not raise the same
// incidents, and a slow lookup would stall the stream. time.now_ns stays: it
// is pinned to the entry's time.
var excludedBuiltins = []string{"http.send", "net.lookup_ip_addr", "opa.runtime", "rand.intn", "uuid.rfc4122"}

// capabilities are OPA's for this version without excludedBuiltins.
func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	c.Builtins = slices.DeleteFunc(c.Builtins, func(b *ast.Builtin) bool {
		return slices.Contains(excludedBuiltins, b.Name)
	})
	return c
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithStrict(true).
		SetErrorLimit(0).
		WithCapabilities(capabilities()).
		WithDefaultRegoVersion(ast.RegoV1)
}

// readModules parses every .rego file of the sources. With tests set it
// keeps the _test.rego files too (for running the rules' own tests) and
// leaves them out otherwise.
func readModules(srcs []ruleSource, tests bool) (map[string]*ast.Module, map[string]string, []Problem) {
	modules := map[string]*ast.Module{}
	sourceOf := map[string]string{} // file -> source name
	var probs []Problem
	for _, s := range srcs {
		err := fs.WalkDir(s.fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".rego") || (!tests && strings.HasSuffix(p, "_test.rego")) {
				return nil
			}
			name := path.Join(s.name, p)
			bs, err := fs.ReadFile(s.fsys, p)
			if err != nil {
				probs = append(probs, Problem{File: name, Code: CodeRead, Message: err.Error()})
				return nil
			}
			m, err := ast.ParseModuleWithOpts(name, string(bs), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
			if err != nil {
				probs = append(probs, problemsFrom(name, err)...)
				return nil
			}
			modules[name] = m
			sourceOf[name] = s.name
			return nil
		})
		if err != nil {
			probs = append(probs, Problem{File: s.name, Code: CodeRead, Message: err.Error()})
		}
	}
	return modules, sourceOf, probs
}

func problemsFrom(file string, err error) []Problem {
	if errs, ok := errors.AsType[ast.Errors](err); ok {
		out := make([]Problem, 0, len(errs))
		for _, e := range errs {
			out = append(out, problemFromAST(e))
		}
		return out
	}
	return []Problem{{File: file, Code: CodeRead, Message: err.Error()}}
}

// loadRules parses and compiles the sources and recognises the rules in
// them: every package correlate.<name>. Nothing is returned unless every
// file parses, compiles and every rule carries valid METADATA.
func loadRules(ctx context.Context, srcs []ruleSource, store storage.Store) (*ast.Compiler, []*rule, []Problem) {
	modules, sourceOf, probs := readModules(srcs, false)
	if len(probs) > 0 {
		return nil, nil, probs
	}
	if probs := duplicateRules(modules, sourceOf, srcs); len(probs) > 0 {
		return nil, nil, probs
	}
	c := newCompiler()
	if c.Compile(modules); c.Failed() {
		for _, e := range c.Errors {
			probs = append(probs, problemFromAST(e))
		}
		return nil, nil, sortProblems(probs)
	}

	files := make([]string, 0, len(modules))
	for f := range modules {
		files = append(files, f)
	}
	slices.Sort(files)
	type pkgInfo struct {
		files      []string
		annotation *ast.Annotations
		annFile    string
		incident   *ast.Rule
	}
	pkgs := map[string]*pkgInfo{}
	var names []string
	for _, f := range files {
		m := modules[f]
		name, ok := rulePackage(m.Package.Path)
		if !ok {
			continue
		}
		pi := pkgs[name]
		if pi == nil {
			pi = &pkgInfo{}
			pkgs[name] = pi
			names = append(names, name)
		}
		pi.files = append(pi.files, f)
		for _, a := range m.Annotations {
			if a.Scope != "package" && a.Scope != "subpackages" {
				continue
			}
			if pi.annotation != nil {
				probs = append(probs, problemAt(a.Location, CodeDuplicate,
					"rule %s already has package METADATA in %s", name, pi.annFile))
				continue
			}
			pi.annotation, pi.annFile = a, f
		}
		for _, r := range m.Rules {
			if r.Head.Ref().String() == incidentRule && pi.incident == nil {
				pi.incident = r
			}
		}
	}
	var out []*rule
	for _, name := range names {
		pi := pkgs[name]
		first := modules[pi.files[0]]
		if !ruleName.MatchString(name) {
			probs = append(probs, problemAt(first.Package.Location, CodeMetadata,
				"rule name %q: want lower case letters, digits and underscores", name))
			continue
		}
		if pi.annotation == nil {
			probs = append(probs, problemAt(first.Package.Location, CodeMetadata,
				"rule %s: package needs a METADATA block with title and custom.window", name))
			continue
		}
		if pi.incident == nil {
			probs = append(probs, problemAt(first.Package.Location, CodeMetadata,
				"rule %s: package defines no %q rule", name, incidentRule))
			continue
		}
		if pi.incident.Head.Value == nil || pi.incident.Head.Key != nil || len(pi.incident.Head.Args) > 0 {
			probs = append(probs, problemAt(pi.incident.Location, CodeMetadata,
				"rule %s: incident must be a single object (incident := {...} if ...), not a set or a function", name))
			continue
		}
		r, ps := ruleFromAnnotations(name, pi.annFile, pi.annotation)
		if len(ps) > 0 {
			probs = append(probs, ps...)
			continue
		}
		out = append(out, r)
	}
	if len(probs) > 0 {
		return nil, nil, sortProblems(probs)
	}
	for _, r := range out {
		ref := ast.MustParseRef(fmt.Sprintf("data.%s.%s.%s", rulePackageRoot, r.Name, incidentRule))
		pq, err := rego.New(
			rego.ParsedQuery(ast.NewBody(ast.NewExpr(ast.NewTerm(ref)))),
			rego.Compiler(c),
			rego.Store(store),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, nil, []Problem{{File: r.File, Code: CodeMetadata, Message: fmt.Sprintf("rule %s: preparing query: %v", r.Name, err)}}
		}
		r.query = pq
	}
	return c, out, nil
}

// duplicateRules reports a rule package defined in two sources (a user
// directory redefining a default rule): that is a second rule of the same
// name, not an extension of the first. It runs before compiling, whose
// errors for the merged package would not say so.
func duplicateRules(modules map[string]*ast.Module, sourceOf map[string]string, srcs []ruleSource) []Problem {
	rank := map[string]int{}
	for i, s := range srcs {
		rank[s.name] = i
	}
	files := make([]string, 0, len(modules))
	for f := range modules {
		files = append(files, f)
	}
	// Sources in the order given, so the later definition is the one blamed.
	slices.SortFunc(files, func(a, b string) int {
		if c := rank[sourceOf[a]] - rank[sourceOf[b]]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	first := map[string]string{} // rule -> first file
	var probs []Problem
	for _, f := range files {
		m := modules[f]
		name, ok := rulePackage(m.Package.Path)
		if !ok {
			continue
		}
		prev, seen := first[name]
		if !seen {
			first[name] = f
			continue
		}
		if sourceOf[prev] != sourceOf[f] {
			probs = append(probs, problemAt(m.Package.Location, CodeDuplicate,
				"rule %s is already defined by %s", name, prev))
		}
	}
	return probs
}

// rulePackage recognises package correlate.<name> (not a _test package).
func rulePackage(p ast.Ref) (string, bool) {
	// p is data.correlate.<name>
	if len(p) != 3 {
		return "", false
	}
	root, ok1 := p[1].Value.(ast.String)
	name, ok2 := p[2].Value.(ast.String)
	if !ok1 || !ok2 || string(root) != rulePackageRoot || strings.HasSuffix(string(name), "_test") {
		return "", false
	}
	return string(name), true
}

func sortProblems(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return a.Row - b.Row
	})
	return ps
}

// dirSource reads a user rule directory.
func dirSource(dir string) (ruleSource, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return ruleSource{}, err
	}
	if !st.IsDir() {
		return ruleSource{}, fmt.Errorf("%s is not a directory", dir)
	}
	return ruleSource{name: filepath.ToSlash(filepath.Clean(dir)), fsys: os.DirFS(dir)}, nil
}
