package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/belladonna-dev/belladonna/validators"
)

// textReporter writes findings grouped by file, the test results, coverage
// and a summary line, for people.
type textReporter struct{ opts options }

const (
	ansiReset  = "\033[0m"
	ansiRed    = "\033[31m"
	ansiYellow = "\033[33m"
	ansiCyan   = "\033[36m"
	ansiBold   = "\033[1m"
)

// noFile is the heading for findings about the repository or configuration.
const noFile = "(repository and configuration)"

func (t *textReporter) colored(w io.Writer) bool {
	switch t.opts.color {
	case ColorAlways:
		return true
	case ColorNever:
		return false
	}
	return validators.IsTerminal(w)
}

func (t *textReporter) Report(w io.Writer, r *validators.Result) error {
	bw := bufio.NewWriter(w)
	p := textPrinter{w: bw, color: t.colored(w), verbose: t.opts.verbose}
	p.findings(r.Findings)
	p.tests(r.Tests)
	p.coverage(r.Coverage)
	p.baseline(r.Baseline)
	p.summary(r)
	return bw.Flush()
}

type textPrinter struct {
	w       io.Writer
	color   bool
	verbose bool
}

func (p textPrinter) paint(code, s string) string {
	if !p.color {
		return s
	}
	return code + s + ansiReset
}

func (p textPrinter) severity(s validators.Severity) string {
	name := fmt.Sprintf("%-7s", s)
	switch s {
	case validators.SeverityError:
		return p.paint(ansiRed, name)
	case validators.SeverityWarning:
		return p.paint(ansiYellow, name)
	}
	return p.paint(ansiCyan, name)
}

func (p textPrinter) findings(fs []validators.Finding) {
	// Findings are sorted by file, so those without one come first; print
	// them last, after the files, where a reader looks for the overall verdict.
	var general []validators.Finding
	current := "\x00"
	for _, f := range fs {
		if f.File == "" {
			general = append(general, f)
			continue
		}
		if f.File != current {
			if current != "\x00" {
				fmt.Fprintln(p.w)
			}
			current = f.File
			fmt.Fprintln(p.w, p.paint(ansiBold, f.File))
		}
		p.finding(f)
	}
	if len(general) > 0 {
		if current != "\x00" {
			fmt.Fprintln(p.w)
		}
		fmt.Fprintln(p.w, p.paint(ansiBold, noFile))
		for _, f := range general {
			p.finding(f)
		}
	}
	if len(fs) > 0 {
		fmt.Fprintln(p.w)
	}
}

func (p textPrinter) finding(f validators.Finding) {
	loc := "-"
	if f.Line > 0 {
		loc = fmt.Sprint(f.Line)
		if f.Col > 0 {
			loc += fmt.Sprintf(":%d", f.Col)
		}
	}
	fmt.Fprintf(p.w, "  %-7s  %s  %s  (%s)\n", loc, p.severity(f.Severity), f.Message, f.Rule)
}

func (p textPrinter) tests(t *validators.TestReport) {
	if t == nil {
		return
	}
	if t.NotRun != "" {
		fmt.Fprintf(p.w, "Tests: not run (%s)\n", t.NotRun)
		return
	}
	for _, tr := range t.Results {
		if !p.verbose && (tr.Status == validators.TestPass || tr.Status == validators.TestSkip) {
			continue
		}
		status := strings.ToUpper(string(tr.Status))
		switch tr.Status {
		case validators.TestFail, validators.TestError:
			status = p.paint(ansiRed, status)
		case validators.TestSkip:
			status = p.paint(ansiYellow, status)
		}
		fmt.Fprintf(p.w, "%s %s.%s (%s:%d)\n", status, tr.Package, tr.Name, tr.File, tr.Line)
		if tr.Status == validators.TestError {
			fmt.Fprintf(p.w, "  %s\n", tr.Message)
		}
		indent(p.w, tr.Output)
		indent(p.w, tr.Trace)
	}
	fmt.Fprintf(p.w, "Tests: %d passed, %d failed, %d errors, %d skipped\n", t.Passed, t.Failed, t.Errored, t.Skipped)
}

func indent(w io.Writer, text string) {
	text = strings.TrimRight(text, "\n")
	if text == "" {
		return
	}
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "  | %s\n", l)
	}
}

func (p textPrinter) coverage(c *validators.CoverageReport) {
	if c == nil {
		return
	}
	if p.verbose {
		for _, f := range c.Files {
			fmt.Fprintf(p.w, "  %6.2f%%  %s\n", f.Percent, f.File)
		}
	}
	line := fmt.Sprintf("Coverage: %.2f%%", c.Percent)
	if c.Threshold > 0 {
		line += fmt.Sprintf(" (threshold %.2f%%)", c.Threshold)
		if c.BelowThreshold() {
			line = p.paint(ansiRed, line+": below threshold")
		}
	}
	fmt.Fprintln(p.w, line)
}

func (p textPrinter) baseline(b *validators.BaselineStatus) {
	if b == nil {
		return
	}
	fmt.Fprintf(p.w, "Baseline %s: %d findings suppressed, %d entries fixed or stale\n", b.File, b.Suppressed, len(b.Stale))
}

func (p textPrinter) summary(r *validators.Result) {
	s := r.Summary()
	line := fmt.Sprintf("Summary: %d errors, %d warnings, %d info in %d files", s.Errors, s.Warnings, s.Info, s.Files)
	if r.Failed() {
		line = p.paint(ansiRed, line+fmt.Sprintf(": failed (fail-on %s)", r.FailOn))
	}
	fmt.Fprintln(p.w, line)
}
