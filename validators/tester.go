package validators

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// runTests runs the Rego tests over the loaded modules with OPA's tester. The
// runner compiles the modules again with its own compiler, because it adds
// stages (test case rewriting) that the check compiler must not have.
func runTests(ctx context.Context, src *source, c *compiled, opts *Options, v ast.RegoVersion) (*TestReport, *CoverageReport, error) {
	txn, err := c.store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		return nil, nil, fmt.Errorf("opening data store: %w", err)
	}
	defer c.store.Abort(ctx, txn)

	comp := newCompiler(v).
		WithEnablePrintStatements(true).
		WithPathConflictsCheck(storage.NonEmpty(ctx, c.store, txn))

	var cov *cover.Cover
	runner := tester.NewRunner().
		SetCompiler(comp).
		SetStore(c.store).
		SetModules(src.modules).
		SetDefaultRegoVersion(v).
		CapturePrintOutput(true).
		EnableTracing(opts.Verbose).
		SetTimeout(cmp.Or(opts.Timeout, DefaultTimeout)).
		Filter(opts.Run)
	if opts.Coverage || opts.Threshold > 0 {
		cov = cover.New()
		runner = runner.SetCoverageQueryTracer(cov)
	}

	start := time.Now()
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		return nil, nil, fmt.Errorf("running tests: %w", err)
	}
	rep := &TestReport{Results: []TestResult{}}
	for tr := range ch {
		rep.add(tr, opts.Verbose)
	}
	rep.Duration = time.Since(start)
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(rep.Results, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})

	if cov == nil {
		return rep, nil, nil
	}
	return rep, coverageReport(cov.Report(src.modules), opts.Threshold), nil
}

func (t *TestReport) add(tr *tester.Result, verbose bool) {
	r := TestResult{
		Package:  tr.Package,
		Name:     tr.Name,
		Duration: tr.Duration,
	}
	if tr.Location != nil {
		r.File, r.Line = tr.Location.File, tr.Location.Row
	}
	switch {
	case tr.Skip:
		r.Status = TestSkip
		t.Skipped++
	case tr.Error != nil:
		r.Status = TestError
		r.Message = tr.Error.Error()
		t.Errored++
	case tr.Fail:
		r.Status = TestFail
		r.Message = "test failed"
		t.Failed++
	default:
		r.Status = TestPass
		t.Passed++
	}
	if verbose || r.Status == TestFail || r.Status == TestError {
		r.Output = string(tr.Output)
	}
	if verbose && r.Status == TestFail && len(tr.Trace) > 0 {
		var buf bytes.Buffer
		topdown.PrettyTraceWithLocation(&buf, tr.Trace)
		r.Trace = buf.String()
	}
	t.Results = append(t.Results, r)
}

func coverageReport(rep cover.Report, threshold float64) *CoverageReport {
	out := &CoverageReport{
		Percent:         round2(rep.Coverage),
		Threshold:       threshold,
		CoveredLines:    rep.CoveredLines,
		NotCoveredLines: rep.NotCoveredLines,
		Files:           []FileCoverage{},
	}
	for file, fr := range rep.Files {
		fc := FileCoverage{
			File:            file,
			Percent:         round2(fr.Coverage),
			CoveredLines:    fr.CoveredLines,
			NotCoveredLines: fr.NotCoveredLines,
		}
		for _, r := range fr.NotCovered {
			fc.NotCovered = append(fc.NotCovered, LineRange{Start: r.Start.Row, End: r.End.Row})
		}
		out.Files = append(out.Files, fc)
	}
	slices.SortFunc(out.Files, func(a, b FileCoverage) int { return cmp.Compare(a.File, b.File) })
	return out
}

// round2 keeps two decimals: reports and threshold comparisons then agree
// with what the text output shows.
func round2(f float64) float64 { return math.Round(f*100) / 100 }
