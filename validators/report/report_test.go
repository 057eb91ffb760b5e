package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/belladonna-dev/belladonna/validators"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/validators/golden")

const (
	fixture    = "../../testdata/repos/findings"
	goldenDir  = "../../testdata/validators/golden"
	sarifSpec  = "../../testdata/schemas/sarif-schema-2.1.0.json"
	ourSchema  = "schema/belladonna-validate.schema.json"
	goldenName = "findings"
)

// fixtureResult validates the findings fixture with coverage and zeroes the
// durations, the only part of a result that changes from run to run.
func fixtureResult(t *testing.T) *validators.Result {
	t.Helper()
	opts := validators.NewOptions()
	opts.Paths = []string{fixture}
	opts.Coverage = true
	opts.Verbose = true
	opts.Config = map[string]any{
		"server": map[string]any{
			"addr":           "0.0.0.0:8181",
			"authentication": map[string]any{"mode": "none"},
			"rate_limit":     map[string]any{"enabled": true},
		},
		"audit": map[string]any{"enabled": true, "tamper_evident": false},
	}
	res, err := validators.Validate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	res.Tests.Duration = 0
	for i := range res.Tests.Results {
		res.Tests.Results[i].Duration = 0
		// Traces embed evaluation details that shift with OPA versions.
		res.Tests.Results[i].Trace = ""
	}
	return res
}

func render(t *testing.T, format string, res *validators.Result, opts ...Option) []byte {
	t.Helper()
	rep, err := New(format, append([]Option{WithToolVersion("test")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.Report(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	res := fixtureResult(t)
	for format, ext := range map[string]string{
		FormatText: "txt", FormatJSON: "json", FormatSARIF: "sarif", FormatJUnit: "xml", FormatGitHub: "github",
	} {
		t.Run(format, func(t *testing.T) {
			got := render(t, format, res, WithVerbose(true))
			path := filepath.Join(goldenDir, goldenName+"."+ext)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./validators/report -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s output differs from %s (run with -update to accept):\n%s", format, path, got)
			}
		})
	}
}

func compileSchema(t *testing.T, path string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	s, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compiling %s: %v", path, err)
	}
	return s
}

func validateAgainst(t *testing.T, s *jsonschema.Schema, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(inst); err != nil {
		t.Errorf("output does not match the schema: %v\n%s", err, doc)
	}
}

// results to validate: with findings, failed tests and coverage; clean; and
// one whose tests did not run and a baseline was applied.
func schemaCases(t *testing.T) map[string]*validators.Result {
	clean := &validators.Result{Paths: []string{"."}, Compiled: true, FailOn: validators.SeverityError,
		Tests: &validators.TestReport{Results: []validators.TestResult{}}}
	notRun := &validators.Result{Paths: []string{"p"}, FailOn: validators.SeverityWarning,
		Findings: []validators.Finding{{Rule: "rego-parse-error", Severity: validators.SeverityError,
			Message: "unexpected } token", File: "p/a b.rego", Line: 3, Col: 1, Fingerprint: strings.Repeat("0", 32)}},
		Tests:    &validators.TestReport{NotRun: "skipped", Results: []validators.TestResult{}},
		Baseline: &validators.BaselineStatus{File: "b.json", Suppressed: 2, Stale: []validators.BaselineEntry{{Fingerprint: strings.Repeat("a", 32), Rule: "x"}}},
	}
	return map[string]*validators.Result{"fixture": fixtureResult(t), "clean": clean, "not-run": notRun}
}

func TestJSONMatchesSchema(t *testing.T) {
	s := compileSchema(t, ourSchema)
	for name, res := range schemaCases(t) {
		t.Run(name, func(t *testing.T) { validateAgainst(t, s, render(t, FormatJSON, res)) })
	}
}

func TestSARIFMatchesOfficialSchema(t *testing.T) {
	s := compileSchema(t, sarifSpec)
	for name, res := range schemaCases(t) {
		t.Run(name, func(t *testing.T) {
			out := render(t, FormatSARIF, res)
			validateAgainst(t, s, out)
			checkGitHubIngestion(t, out)
		})
	}
}

// checkGitHubIngestion checks what GitHub code scanning demands beyond the
// schema: every result has a physical location with a relative URI and a
// start line of at least 1, and a ruleIndex that points at its rule.
func checkGitHubIngestion(t *testing.T, out []byte) {
	t.Helper()
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
						Region           *struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	if len(log.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(log.Runs))
	}
	run := log.Runs[0]
	for _, r := range run.Results {
		if r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s: ruleIndex %d does not point at its rule", r.RuleID, r.RuleIndex)
		}
		if len(r.Locations) == 0 {
			t.Errorf("result %s has no location", r.RuleID)
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI == "" || strings.HasPrefix(pl.ArtifactLocation.URI, "/") || strings.Contains(pl.ArtifactLocation.URI, `\`) {
			t.Errorf("result %s: uri %q is not repo-relative with forward slashes", r.RuleID, pl.ArtifactLocation.URI)
		}
		if pl.Region != nil && pl.Region.StartLine < 1 {
			t.Errorf("result %s: startLine %d", r.RuleID, pl.Region.StartLine)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	_, err := New("xml")
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("New(xml) = %v, want ErrUnknownFormat", err)
	}
	for _, f := range Formats() {
		if _, err := New(f); err != nil || !IsFormat(f) {
			t.Errorf("New(%s) = %v", f, err)
		}
	}
}

func TestGitHubEscaping(t *testing.T) {
	got := command("error", "a,b:c%.rego", 3, 4, "x/y", "50% done\r\nnext: a,b")
	want := "::error file=a%2Cb%3Ac%25.rego,line=3,col=4,title=x/y::50%25 done%0D%0Anext: a,b"
	if got != want {
		t.Errorf("command = %q\nwant      %q", got, want)
	}
}

func TestTextColour(t *testing.T) {
	res := &validators.Result{FailOn: validators.SeverityError, Findings: []validators.Finding{
		{Rule: "r/x", Severity: validators.SeverityError, Message: "m", File: "a.rego", Line: 1},
	}}
	if out := render(t, FormatText, res); bytes.Contains(out, []byte("\033[")) {
		t.Errorf("colour written to a non-terminal: %q", out)
	}
	if out := render(t, FormatText, res, WithColor(ColorAlways)); !bytes.Contains(out, []byte(ansiRed)) {
		t.Errorf("no colour with ColorAlways: %q", out)
	}
}
