package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/belladonna-dev/belladonna/validators"
)

// githubReporter writes GitHub Actions workflow commands, which the runner
// turns into annotations on the pull request:
//
//	::error file=policies/a.rego,line=3,col=5,title=style/line-length::line is 130 characters long
type githubReporter struct{ opts options }

// escapeData escapes a workflow command's message, as @actions/core does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a property value, where : and , are separators too.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func githubLevel(s validators.Severity) string {
	switch s {
	case validators.SeverityError:
		return "error"
	case validators.SeverityWarning:
		return "warning"
	}
	return "notice"
}

func command(level, file string, line, col int, title, msg string) string {
	var props []string
	if file != "" {
		props = append(props, "file="+escapeProperty(file))
		if line > 0 {
			props = append(props, fmt.Sprintf("line=%d", line))
			if col > 0 {
				props = append(props, fmt.Sprintf("col=%d", col))
			}
		}
	}
	props = append(props, "title="+escapeProperty(title))
	return fmt.Sprintf("::%s %s::%s", level, strings.Join(props, ","), escapeData(msg))
}

func (g *githubReporter) Report(w io.Writer, r *validators.Result) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Findings {
		fmt.Fprintln(bw, command(githubLevel(f.Severity), f.File, f.Line, f.Col, f.Rule, f.Message))
	}
	if t := r.Tests; t != nil {
		if t.NotRun != "" {
			fmt.Fprintln(bw, command("error", "", 0, 0, "rego tests", "tests not run: "+t.NotRun))
		}
		for _, tr := range t.Results {
			switch tr.Status {
			case validators.TestFail:
				fmt.Fprintln(bw, command("error", tr.File, tr.Line, 0, testFailureRule,
					strings.TrimRight(fmt.Sprintf("test %s.%s failed\n%s", tr.Package, tr.Name, tr.Output), "\n")))
			case validators.TestError:
				fmt.Fprintln(bw, command("error", tr.File, tr.Line, 0, testFailureRule,
					fmt.Sprintf("test %s.%s raised an error: %s", tr.Package, tr.Name, tr.Message)))
			}
		}
	}
	if c := r.Coverage; c.BelowThreshold() {
		fmt.Fprintln(bw, command("error", "", 0, 0, "coverage",
			fmt.Sprintf("coverage %.2f%% is below the threshold of %.2f%%", c.Percent, c.Threshold)))
	}
	s := r.Summary()
	fmt.Fprintf(bw, "belladonna: %d errors, %d warnings, %d info\n", s.Errors, s.Warnings, s.Info)
	return bw.Flush()
}
