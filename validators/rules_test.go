package validators

import (
	"context"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/belladonna-dev/belladonna/validators/rules"
)

// TestShippedRuleTests runs the Rego tests beside every shipped rule, so that
// go test covers them without an opa binary.
func TestShippedRuleTests(t *testing.T) {
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		bs, err := fs.ReadFile(rules.FS, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(bs), ast.ParserOptions{ProcessAnnotation: true})
		if err != nil {
			return err
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().SetCompiler(newCompiler(ast.RegoV1)).SetModules(modules).RunTests(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		if !r.Pass() {
			t.Errorf("%s.%s (%s): %v", r.Package, r.Name, r.Location, r.String())
		}
	}
	if n == 0 {
		t.Fatal("no rule tests ran")
	}
}

// TestRuleContract checks what every shipped rule promises: its package
// matches its directory, it has METADATA with a valid severity, a test file
// beside it, and there are at least ten lint rules across Regal's categories.
func TestRuleContract(t *testing.T) {
	rs, err := loadRules(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lint := map[string]int{}
	for _, r := range rs.rules {
		cat, name, _ := strings.Cut(r.ID, "/")
		dir := path.Join(cat, strings.ReplaceAll(name, "-", "_"))
		base := path.Base(dir)
		for _, f := range []string{base + ".rego", base + "_test.rego"} {
			if _, err := fs.Stat(rules.FS, path.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", r.ID, err)
			}
		}
		if r.Title == r.ID || r.Description == "" || r.Severity == 0 || r.HelpURI == "" {
			t.Errorf("%s: incomplete metadata %+v", r.ID, r.RuleInfo)
		}
		switch cat {
		case "bugs", "idiomatic", "imports", "style", "testing":
			lint[cat]++
		}
	}
	total := 0
	for _, c := range []string{"bugs", "idiomatic", "imports", "style", "testing"} {
		if lint[c] == 0 {
			t.Errorf("no lint rule in category %s", c)
		}
		total += lint[c]
	}
	if total < 10 {
		t.Errorf("%d lint rules, want at least 10", total)
	}
}

// TestRulesLintThemselves dogfoods the rules: the shipped rule tree passes its
// own lint (the syscall probe rule is about policy libraries, not rule trees).
func TestRulesLintThemselves(t *testing.T) {
	res := validate(t, func(o *Options) {
		o.Config = nil
		o.Disable = []string{"policy/syscall-exec-tmp"}
	}, "rules")
	if len(res.Findings) != 0 || !res.Tests.OK() {
		t.Errorf("findings on the shipped rules: %v; tests %+v", wheres(res.Findings), res.Tests)
	}
}

func TestUserRulesDir(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "team/no_deny/no_deny.rego", `# METADATA
# title: No deny rules
# description: The team writes allow rules only.
# related_resources:
#   - ref: https://example.com/team-style
# custom:
#   category: team
#   severity: info
package validators.team.no_deny

findings contains {"message": "deny rule", "file": m.file, "line": r.line} if {
	some m in input.modules
	some r in m.rules
	r.name == "deny"
}
`)
	res := validate(t, func(o *Options) { o.RuleDirs = []string{dir} }, repos+"findings")
	var found bool
	for _, f := range res.Findings {
		if f.Rule == "team/no-deny" {
			found = f.Severity == SeverityInfo && f.Line == 25
		}
	}
	if !found {
		t.Errorf("user rule finding missing or wrong: %v", wheres(res.Findings))
	}
	for _, r := range res.Rules {
		if r.ID == "team/no-deny" && r.HelpURI != "https://example.com/team-style" {
			t.Errorf("help uri = %q", r.HelpURI)
		}
	}
}

func TestBrokenUserRuleIsRulesError(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.rego", "package validators.team.bad\n\nfindings contains x if {\n")
	opts := NewOptions()
	opts.Paths = []string{repos + "good"}
	opts.RuleDirs = []string{dir}
	_, err := Validate(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "validator rules") {
		t.Errorf("err = %v, want a RulesError", err)
	}
}

func TestRuleEvalErrorIsValidatorError(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "x.rego", `# METADATA
# title: Broken
# description: Produces a finding without a message.
# custom:
#   category: team
#   severity: warning
package validators.team.broken

findings contains {"file": "x"}
`)
	res := validate(t, func(o *Options) { o.RuleDirs = []string{dir} }, repos+"good")
	var got []string
	for _, f := range res.Findings {
		if f.Rule == RuleValidatorError {
			got = append(got, f.Message)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "team/broken") {
		t.Errorf("validator errors = %v", got)
	}
}
