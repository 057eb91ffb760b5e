package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/belladonna-dev/belladonna/validators"
)

// JSONVersion is the version of the json format; schema/belladonna-validate.schema.json
// describes it. Adding fields keeps the version; removing or changing one bumps it.
const JSONVersion = "1"

// jsonReporter writes the documented JSON document.
type jsonReporter struct{ opts options }

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonSummary struct {
	validators.Summary
	Compiled bool   `json:"compiled"`
	FailOn   string `json:"fail_on"`
}

// jsonDocument is the shape of the json format. Fields that may be absent are
// null rather than missing, so consumers can tell "not run" from "forgotten".
type jsonDocument struct {
	Version      string                     `json:"version"`
	Tool         jsonTool                   `json:"tool"`
	Paths        []string                   `json:"paths"`
	Summary      jsonSummary                `json:"summary"`
	Findings     []validators.Finding       `json:"findings"`
	Tests        *validators.TestReport     `json:"tests"`
	Coverage     *validators.CoverageReport `json:"coverage"`
	Baseline     *validators.BaselineStatus `json:"baseline"`
	Rules        []validators.RuleInfo      `json:"rules"`
	SkippedRules []validators.SkippedRule   `json:"skipped_rules"`
}

func (j *jsonReporter) Report(w io.Writer, r *validators.Result) error {
	doc := jsonDocument{
		Version:      JSONVersion,
		Tool:         jsonTool{Name: "belladonna", Version: j.opts.toolVersion},
		Paths:        nonNil(r.Paths),
		Summary:      jsonSummary{Summary: r.Summary(), Compiled: r.Compiled, FailOn: r.FailOn.String()},
		Findings:     nonNil(r.Findings),
		Tests:        r.Tests,
		Coverage:     r.Coverage,
		Baseline:     r.Baseline,
		Rules:        nonNil(r.Rules),
		SkippedRules: nonNil(r.Skipped),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing json report: %w", err)
	}
	return nil
}

// nonNil turns a nil slice into an empty one: [] in JSON, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
