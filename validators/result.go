package validators

import (
	"time"
)

// Result is everything one validation found. Reports render it; the caller
// decides the exit code with Failed and CheckFailed.
type Result struct {
	// Paths are the PATH arguments, as given.
	Paths []string `json:"paths"`
	// Files and Modules count what was loaded: every policy and data file, and
	// the Rego modules that parsed.
	Files   int `json:"files"`
	Modules int `json:"modules"`
	// Compiled is false when any file failed to parse or compile.
	Compiled bool `json:"compiled"`
	// Findings are sorted (SortFindings) and exclude baseline-suppressed and
	// inline-ignored ones.
	Findings []Finding `json:"findings"`
	// Suppressed are the findings a baseline matched; kept so that
	// --write-baseline together with --baseline records everything.
	Suppressed []Finding `json:"-"`
	// Tests is nil when tests were not asked for (--skip-tests).
	Tests *TestReport `json:"tests,omitempty"`
	// Coverage is nil unless coverage was asked for.
	Coverage *CoverageReport `json:"coverage,omitempty"`
	// Rules lists the validator rules that ran, then the check rule ids
	// (rego-*) that occur in Findings, sorted by id: the SARIF rule table.
	Rules []RuleInfo `json:"rules"`
	// Skipped are rules not run, with the reason (disabled, needs a compiled tree).
	Skipped []SkippedRule `json:"skipped_rules,omitempty"`
	// Baseline is set when findings were filtered against a baseline.
	Baseline *BaselineStatus `json:"baseline,omitempty"`
	// FailOn is the threshold Failed applies.
	FailOn Severity `json:"fail_on"`
}

// RuleInfo describes a rule for reports (the SARIF rule table, help links).
type RuleInfo struct {
	ID          string   `json:"id"`
	Category    string   `json:"category"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Severity    Severity `json:"severity"`
	HelpURI     string   `json:"help_uri,omitempty"`
}

// SkippedRule is a rule that was not evaluated, and why.
type SkippedRule struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// BaselineStatus says what a baseline did to this run.
type BaselineStatus struct {
	File       string `json:"file"`
	Suppressed int    `json:"suppressed"`
	// Stale are baseline entries no current finding matched: fixed, or moved
	// so much that their line text changed.
	Stale []BaselineEntry `json:"stale,omitempty"`
}

// TestStatus is the outcome of one Rego test.
type TestStatus string

const (
	TestPass  TestStatus = "pass"
	TestFail  TestStatus = "fail"
	TestError TestStatus = "error"
	TestSkip  TestStatus = "skip" // todo_test_ rules
)

// TestReport holds the Rego test run.
type TestReport struct {
	// NotRun is the reason the tests did not run (the tree did not compile);
	// empty when they ran.
	NotRun  string `json:"not_run,omitempty"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Errored int    `json:"errored"`
	Skipped int    `json:"skipped"`
	// Results are sorted by file, line, then name.
	Results  []TestResult  `json:"results"`
	Duration time.Duration `json:"-"`
}

// Total counts the tests that were found, skipped ones included.
func (t *TestReport) Total() int { return t.Passed + t.Failed + t.Errored + t.Skipped }

// OK is true when every test that ran passed.
func (t *TestReport) OK() bool { return t.NotRun == "" && t.Failed == 0 && t.Errored == 0 }

// TestResult is one Rego test.
type TestResult struct {
	Package  string        `json:"package"` // "data.security.authz_test"
	Name     string        `json:"name"`    // "test_allow_admin"
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Status   TestStatus    `json:"status"`
	Duration time.Duration `json:"-"`
	// Message says why a test failed or errored.
	Message string `json:"message,omitempty"`
	// Output is what print() wrote during the test, when verbose or failed.
	Output string `json:"output,omitempty"`
	// Trace is the evaluation trace of a failed test, with verbose only.
	Trace string `json:"trace,omitempty"`
}

// CoverageReport is the line coverage of the Rego tests (OPA's v1/cover).
type CoverageReport struct {
	Percent         float64        `json:"percent"`
	Threshold       float64        `json:"threshold,omitempty"`
	CoveredLines    int            `json:"covered_lines"`
	NotCoveredLines int            `json:"not_covered_lines"`
	Files           []FileCoverage `json:"files"`
}

// BelowThreshold is true when a threshold was set and coverage is under it.
func (c *CoverageReport) BelowThreshold() bool {
	return c != nil && c.Threshold > 0 && c.Percent < c.Threshold
}

// FileCoverage is one file's coverage.
type FileCoverage struct {
	File            string      `json:"file"`
	Percent         float64     `json:"percent"`
	CoveredLines    int         `json:"covered_lines"`
	NotCoveredLines int         `json:"not_covered_lines"`
	NotCovered      []LineRange `json:"not_covered,omitempty"`
}

// LineRange is an inclusive range of 1-based lines.
type LineRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// Summary counts a result for the summary line of every report.
type Summary struct {
	Errors     int  `json:"errors"`
	Warnings   int  `json:"warnings"`
	Info       int  `json:"info"`
	Suppressed int  `json:"suppressed"`
	Stale      int  `json:"stale"`
	Files      int  `json:"files"`
	Modules    int  `json:"modules"`
	Failed     bool `json:"failed"`
}

// Summary counts findings by severity.
func (r *Result) Summary() Summary {
	s := Summary{Files: r.Files, Modules: r.Modules, Failed: r.Failed()}
	for _, f := range r.Findings {
		switch f.Severity {
		case SeverityError:
			s.Errors++
		case SeverityWarning:
			s.Warnings++
		case SeverityInfo:
			s.Info++
		}
	}
	if r.Baseline != nil {
		s.Suppressed = r.Baseline.Suppressed
		s.Stale = len(r.Baseline.Stale)
	}
	return s
}

// CheckFailed is true when some file did not parse or compile.
func (r *Result) CheckFailed() bool { return !r.Compiled }

// Failed is the verdict: a finding at or above FailOn remains, a test failed
// or errored, or coverage is below its threshold.
func (r *Result) Failed() bool {
	failOn := r.FailOn
	if failOn == 0 {
		failOn = SeverityError
	}
	for _, f := range r.Findings {
		if f.Severity >= failOn {
			return true
		}
	}
	if r.Tests != nil && r.Tests.NotRun == "" && !r.Tests.OK() {
		return true
	}
	return r.Coverage.BelowThreshold()
}
