package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureRepos holds the validate fixtures (runCLI is in cli_test.go).
const fixtureRepos = "../../testdata/repos/"

func TestValidateExitCodes(t *testing.T) {
	dir := t.TempDir()
	badBaseline := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badBaseline, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want int
		out  string // substring of stdout+stderr
	}{
		{"good", []string{"validate", fixtureRepos + "good"}, ExitOK, "Tests: 5 passed"},
		{"broken", []string{"validate", fixtureRepos + "broken"}, ExitFindings, "13:1"},
		{"findings", []string{"validate", fixtureRepos + "findings"}, ExitFindings, "policy/default-allow"},
		{"fail-on info", []string{"validate", "--fail-on", "info", fixtureRepos + "good"}, ExitFindings, "config/rate-limiting"},
		{"skip tests", []string{"validate", "--skip-tests", "--format", "json", fixtureRepos + "good"}, ExitOK, `"tests": null`},
		{"v0 without flag", []string{"validate", "--disable", "policy/syscall-exec-tmp", fixtureRepos + "v0"}, ExitFindings, "rego-parse-error"},
		{"v0 compatible", []string{"validate", "--v0-compatible", "--disable", "policy/syscall-exec-tmp", fixtureRepos + "v0"}, ExitOK, "Tests: 1 passed"},
		{"malformed data", []string{"validate", fixtureRepos + "baddata"}, ExitFindings, "data-parse-error"},
		{"unknown format", []string{"validate", "--format", "xml", fixtureRepos + "good"}, ExitUsage, `unknown value "xml"`},
		{"unknown fail-on", []string{"validate", "--fail-on", "fatal", fixtureRepos + "good"}, ExitUsage, `unknown value "fatal"`},
		{"bad threshold", []string{"validate", "--threshold", "101", fixtureRepos + "good"}, ExitUsage, "threshold"},
		{"bad run regex", []string{"validate", "--run", "(", fixtureRepos + "good"}, ExitUsage, "--run"},
		{"unknown rule", []string{"validate", "--disable", "nope/nope", fixtureRepos + "good"}, ExitUsage, "nope/nope"},
		{"missing path", []string{"validate", "no/such/dir"}, ExitUsage, "no/such/dir"},
		{"malformed baseline", []string{"validate", "--baseline", badBaseline, fixtureRepos + "good"}, ExitUsage, badBaseline},
		{"coverage threshold", []string{"validate", "--threshold", "100", fixtureRepos + "findings", "--fail-on", "error"}, ExitFindings, "below threshold"},
		{"test good", []string{"test", fixtureRepos + "good"}, ExitOK, "Tests: 5 passed"},
		{"test failing", []string{"test", fixtureRepos + "findings"}, ExitFindings, "FAIL data.authz_test.test_guest_denied"},
		{"test broken", []string{"test", fixtureRepos + "broken"}, ExitUsage, "rego-compile-error"},
		{"test run filter", []string{"test", "--run", "syscall", "-f", "json", fixtureRepos + "good"}, ExitOK, `"passed": 2`},
		{"test sarif rejected", []string{"test", "--format", "sarif", fixtureRepos + "good"}, ExitUsage, `unknown value "sarif"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errOut)
			}
			if !strings.Contains(out+errOut, tc.out) {
				t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", tc.out, out, errOut)
			}
		})
	}
}

func TestValidateOutputFileAndBaseline(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "out.sarif")
	base := filepath.Join(dir, "base.json")
	code, out, errOut := runCLI(t, "validate", "-f", "sarif", "-o", report, "--write-baseline", base, fixtureRepos+"findings")
	if code != ExitFindings || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	var sarif map[string]any
	bs, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(bs, &sarif) != nil || sarif["version"] != "2.1.0" {
		t.Fatalf("sarif file: %v %s", err, bs)
	}
	// Every finding is in the baseline now: only the failing test remains.
	code, out, _ = runCLI(t, "validate", "--baseline", base, "-f", "json", fixtureRepos+"findings")
	var doc struct {
		Findings []any
		Summary  struct{ Suppressed int }
		Tests    struct{ Failed int }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if code != ExitFindings || len(doc.Findings) != 0 || doc.Summary.Suppressed == 0 || doc.Tests.Failed != 1 {
		t.Errorf("with baseline: exit %d, %+v", code, doc)
	}
	code, _, _ = runCLI(t, "validate", "--baseline", base, "--run", "manager", fixtureRepos+"findings")
	if code != ExitOK {
		t.Errorf("baseline plus passing tests: exit %d, want 0", code)
	}
}

func TestValidateHelpShowsExamples(t *testing.T) {
	code, out, _ := runCLI(t, "validate", "--help")
	if code != ExitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--format sarif") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}
