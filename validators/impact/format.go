package impact

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats Write knows.
var Formats = []string{"text", "json", "markdown"}

// Write renders r as text, json or markdown (for a pull-request comment or
// $GITHUB_STEP_SUMMARY).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "markdown":
		return writeMarkdown(w, r)
	case "text", "":
		return writeText(w, r)
	}
	return fmt.Errorf("unknown format %q: want %s", format, strings.Join(Formats, ", "))
}

func revName(rev Revision) string {
	if rev.Commit != "" && !strings.HasPrefix(rev.Commit, rev.Label) {
		return fmt.Sprintf("%s (%s)", rev.Label, rev.Commit[:min(12, len(rev.Commit))])
	}
	return rev.Label
}

func verdict(r *Report) string {
	switch {
	case r.Risk >= 70:
		return "high"
	case r.Risk >= 30:
		return "medium"
	case r.Risk > 0:
		return "low"
	}
	return "none"
}

func writeText(w io.Writer, r *Report) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("impact of %s -> %s: risk %d/100 (%s)\n", revName(r.Base), revName(r.Head), r.Risk, verdict(r))
	for _, f := range r.RiskFactors {
		p("  %s\n", f)
	}
	p("\nreplayed %d distinct decisions (%d test inputs, %d recorded) in %s on %s:\n", r.Replayed, r.TestInputs, r.RecordedInputs, r.ReplayTime.Round(1000), evaluatorName(r))
	p("  %d loosened, %d tightened, %d modified, %d unchanged\n", r.Counts.Loosened, r.Counts.Tightened, r.Counts.Modified, r.Counts.Unchanged)
	for _, comp := range sortedComponents(r) {
		c := r.ByComponent[comp]
		p("  %-11s %5d replayed: %d loosened, %d tightened, %d modified\n", comp, c.Replayed, c.Loosened, c.Tightened, c.Modified)
	}
	if len(r.Rules)+len(r.Data) > 0 {
		p("\nchanges:\n")
		for _, ch := range append(r.Rules, r.Data...) {
			p("  %-7s %-4s %-11s %s\n", ch.Action, ch.Kind, ch.Component, ch.Path)
		}
	}
	for _, wn := range r.Warnings {
		p("\nwarning: %s\n", wn.Message)
	}
	if len(r.Flips) > 0 {
		p("\nflipped decisions (examples):\n")
		for _, f := range r.Flips {
			p("  %-9s data.%s: %s -> %s  [%s] input %s\n", f.Direction, dotted(f.Path), f.Before.Outcome, f.After.Outcome, f.Source, clip(string(f.Input), 160))
		}
	}
	return nil
}

func writeMarkdown(w io.Writer, r *Report) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("### Belladonna policy impact: risk **%d/100** (%s)\n\n", r.Risk, verdict(r))
	p("`%s` → `%s`. Replayed **%d** distinct decisions (%d from Rego tests, %d recorded) in %s.\n\n",
		revName(r.Base), revName(r.Head), r.Replayed, r.TestInputs, r.RecordedInputs, r.ReplayTime.Round(1000))
	p("| component | replayed | loosened | tightened | modified |\n|---|---:|---:|---:|---:|\n")
	for _, comp := range sortedComponents(r) {
		c := r.ByComponent[comp]
		p("| %s | %d | %d | %d | %d |\n", comp, c.Replayed, c.Loosened, c.Tightened, c.Modified)
	}
	p("| **all** | %d | %d | %d | %d |\n\n", r.Counts.Replayed, r.Counts.Loosened, r.Counts.Tightened, r.Counts.Modified)
	if len(r.RiskFactors) > 0 {
		p("<details><summary>Risk score</summary>\n\n")
		for _, f := range r.RiskFactors {
			p("- %s\n", f)
		}
		p("\n</details>\n\n")
	}
	for _, wn := range r.Warnings {
		p("> [!WARNING]\n> %s\n\n", wn.Message)
	}
	if len(r.Rules)+len(r.Data) > 0 {
		p("<details><summary>%d rule and %d data changes</summary>\n\n| change | kind | component | path |\n|---|---|---|---|\n", len(r.Rules), len(r.Data))
		for _, ch := range append(r.Rules, r.Data...) {
			p("| %s | %s | %s | `%s` |\n", ch.Action, ch.Kind, ch.Component, ch.Path)
		}
		p("\n</details>\n\n")
	}
	if len(r.Flips) > 0 {
		p("<details open><summary>Flipped decisions (examples)</summary>\n\n| | decision | before | after | from | input |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Flips {
			p("| %s | `data.%s` | %s | %s | %s | `%s` |\n", f.Direction, dotted(f.Path), f.Before.Outcome, f.After.Outcome, f.Source, strings.ReplaceAll(clip(string(f.Input), 120), "|", "\\|"))
		}
		p("\n</details>\n")
	}
	return nil
}

func sortedComponents(r *Report) []string {
	var out []string
	for _, c := range []string{"authn", "authz", "ratelimit", "syscall", "compliance", "validators", "data", "other"} {
		if r.ByComponent[c] != nil {
			out = append(out, c)
		}
	}
	return out
}

func dotted(p string) string { return strings.ReplaceAll(p, "/", ".") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func evaluatorName(r *Report) string {
	if r.Evaluator == "" {
		return "topdown"
	}
	return r.Evaluator
}
