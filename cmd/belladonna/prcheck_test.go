package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

// TestPRCheckScript runs the Action's script (scripts/pr-check.sh) as the
// workflow does, against a fixture policy repository whose pull request
// loosens an authz rule: the job summary gets the impact report and a risk
// threshold fails the check.
func TestPRCheckScript(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "belladonna")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("building belladonna: %v\n%s", err, out)
	}
	g := gitfixture.New(t)
	base := "package security.authz\n\ndefault allow := false\n\nallow if input.user.role == \"admin\"\n"
	test := "package security.authz_test\n\nimport data.security.authz\n\ntest_guest if not authz.allow with input as {\"user\": {\"role\": \"guest\"}}\n"
	g.Commit("ana", "base", map[string][]byte{
		"policies/security/authz/authz.rego": []byte(base), "policies/security/authz/authz_test.rego": []byte(test),
	})
	writeFile(t, g.Dir, "policies/security/authz/authz.rego", base+"\nallow if input.user.role == \"guest\"\n")
	writeFile(t, g.Dir, "policies/security/authz/authz_test.rego", strings.Replace(test, "if not authz.allow", "if authz.allow", 1))
	script, _ := filepath.Abs(filepath.Join("..", "..", "scripts", "pr-check.sh"))
	run := func(failRisk string) (int, string, string) {
		summary := filepath.Join(t.TempDir(), "summary.md")
		cmd := exec.Command(script)
		cmd.Dir = g.Dir
		cmd.Env = append(os.Environ(), "BELLADONNA="+bin, "POLICY_PATH=policies", "BASE_REF=HEAD",
			"GITHUB_STEP_SUMMARY="+summary, "FAIL_RISK="+failRisk, "FAIL_ON=error", "VALIDATE_ARGS=--disable policy/syscall-exec-tmp --no-audit", "GH_TOKEN=", "BELLADONNA_DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		md, _ := os.ReadFile(summary)
		return code, string(out), string(md)
	}
	code, out, md := run("101")
	if code != 0 || !strings.Contains(md, "### Belladonna policy impact: risk") || !strings.Contains(md, "| loosened | `data.security.authz.allow` | deny | allow |") {
		t.Fatalf("pass run: exit %d\n%s\nsummary:\n%s", code, out, md)
	}
	if code, out, md = run("40"); code != 1 || !strings.Contains(md, "risk") {
		t.Fatalf("risk threshold: exit %d\n%s\nsummary:\n%s", code, out, md)
	}
}
