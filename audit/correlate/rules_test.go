package correlate

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/belladonna-dev/belladonna/audit/correlate/rules"
)

// TestShippedRuleTests runs the Rego tests beside every default rule, with
// the engine's compiler settings (strict, restricted builtins), so that go
// test covers them without an opa binary.
func TestShippedRuleTests(t *testing.T) {
	modules, _, probs := readModules([]ruleSource{defaultSource()}, true)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ch, err := tester.NewRunner().SetCompiler(newCompiler()).SetModules(modules).RunTests(context.Background(), nil)
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
	if n < 16 {
		t.Fatalf("%d rule tests ran, want at least 16", n)
	}
}

// TestRuleContract checks what every default rule promises: its directory
// and package agree, it has a test file and complete METADATA, and the four
// documented rules are all there.
func TestRuleContract(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range e.Rules() {
		names = append(names, r.Name)
		for _, f := range []string{r.Name + ".rego", r.Name + "_test.rego"} {
			if _, err := fs.Stat(rules.FS, path.Join(r.Name, f)); err != nil {
				t.Errorf("%s: %v", r.Name, err)
			}
		}
		if r.File != path.Join(ShippedRulesDir, r.Name, r.Name+".rego") {
			t.Errorf("%s: metadata in %s", r.Name, r.File)
		}
		if r.Title == "" || r.Description == "" || r.Window <= 0 || r.Cooldown != r.Window || len(r.Match) == 0 {
			t.Errorf("%s: incomplete metadata %+v", r.Name, r)
		}
		if r.Severity != "high" && r.Severity != "critical" {
			t.Errorf("%s: severity %s", r.Name, r.Severity)
		}
	}
	want := []string{"brute_force", "ebpf_burst", "rollback_without_approval", "signature_then_activation"}
	if !slices.Equal(names, want) {
		t.Errorf("rules %v, want %v", names, want)
	}
}
