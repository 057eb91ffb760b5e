package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/belladonna-dev/belladonna/validators"
)

// junitReporter writes JUnit XML as Jenkins and GitLab read it: the Rego tests
// are one suite with a testcase each; the findings are one suite per file with
// a failing testcase per finding (classname = file, so dashboards group them).
type junitReporter struct{ opts options }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *struct{}     `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d interface{ Seconds() float64 }) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func (j *junitReporter) Report(w io.Writer, r *validators.Result) error {
	doc := junitSuites{Name: "belladonna"}
	if r.Tests != nil {
		doc.Suites = append(doc.Suites, testSuite(r.Tests))
	}
	doc.Suites = append(doc.Suites, findingSuites(r.Findings)...)
	if len(doc.Suites) == 0 {
		// An empty report reads as "no tests ran" in some dashboards; say
		// explicitly that validation ran and passed.
		doc.Suites = append(doc.Suites, junitSuite{Name: "belladonna validate", Tests: 1, Time: "0.000",
			Cases: []junitCase{{Name: "validate", Classname: "belladonna", Time: "0.000"}}})
	}
	for _, s := range doc.Suites {
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("writing junit report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func testSuite(t *validators.TestReport) junitSuite {
	s := junitSuite{Name: "rego tests", Time: seconds(t.Duration)}
	if t.NotRun != "" {
		// Not running is a failure of the run, not a pass: report one error.
		s.Tests, s.Errors = 1, 1
		s.Cases = []junitCase{{Name: "rego tests", Classname: "belladonna", Time: "0.000",
			Error: &junitProblem{Message: t.NotRun, Type: "not-run"}}}
		return s
	}
	for _, tr := range t.Results {
		c := junitCase{
			Name:      tr.Name,
			Classname: strings.TrimPrefix(tr.Package, "data."),
			File:      tr.File,
			Line:      tr.Line,
			Time:      seconds(tr.Duration),
			SystemOut: tr.Output,
		}
		switch tr.Status {
		case validators.TestFail:
			c.Failure = &junitProblem{Message: "test failed", Type: "fail", Text: tr.Trace}
			s.Failures++
		case validators.TestError:
			c.Error = &junitProblem{Message: tr.Message, Type: "error", Text: tr.Trace}
			s.Errors++
		case validators.TestSkip:
			c.Skipped = &struct{}{}
			s.Skipped++
		}
		s.Cases = append(s.Cases, c)
	}
	s.Tests = len(s.Cases)
	return s
}

// findingSuites groups findings by file (sorted already), one suite per file.
func findingSuites(fs []validators.Finding) []junitSuite {
	var out []junitSuite
	for _, f := range fs {
		name := f.File
		if name == "" {
			name = noFile
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, junitSuite{Name: name, Time: "0.000"})
		}
		s := &out[len(out)-1]
		caseName := f.Rule
		if f.Line > 0 {
			caseName = fmt.Sprintf("%s at line %d", f.Rule, f.Line)
		}
		s.Cases = append(s.Cases, junitCase{
			Name:      caseName,
			Classname: name,
			File:      f.File,
			Line:      f.Line,
			Time:      "0.000",
			Failure:   &junitProblem{Message: f.Message, Type: f.Severity.String(), Text: f.String()},
		})
		s.Tests++
		s.Failures++
	}
	return out
}
