package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/belladonna-dev/belladonna/validators"
	"github.com/belladonna-dev/belladonna/validators/report"
)

// choiceFlag is a string flag limited to a set of values; an unknown value
// fails while the flags are parsed, before anything runs.
type choiceFlag struct {
	value   string
	choices []string
}

var _ pflag.Value = (*choiceFlag)(nil)

func newChoiceFlag(def string, choices ...string) *choiceFlag {
	return &choiceFlag{value: def, choices: choices}
}

func (c *choiceFlag) String() string { return c.value }
func (c *choiceFlag) Type() string   { return strings.Join(c.choices, "|") }

func (c *choiceFlag) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("unknown value %q: want one of %s", s, strings.Join(c.choices, ", "))
	}
	c.value = s
	return nil
}

// testFlags are the flags test and validate share, named as in opa test.
type testFlags struct {
	verbose      bool
	run          string
	coverage     bool
	threshold    float64
	timeout      time.Duration
	v0Compatible bool
}

func (t *testFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&t.verbose, "verbose", "v", false, "list every test, with print output and traces of failures")
	fs.StringVarP(&t.run, "run", "r", "", "run only tests whose full name (data.pkg.test_name) matches this regular expression")
	fs.BoolVarP(&t.coverage, "coverage", "c", false, "report test coverage")
	fs.Float64Var(&t.threshold, "threshold", 0, "fail (exit 1) when coverage is below this percentage; implies --coverage")
	fs.DurationVar(&t.timeout, "timeout", validators.DefaultTimeout, "time limit for each test")
	addV0CompatibleFlag(fs, &t.v0Compatible)
}

func (t *testFlags) validate() error {
	if t.threshold < 0 || t.threshold > 100 {
		return fmt.Errorf("invalid --threshold %v: want 0 to 100", t.threshold)
	}
	if t.timeout <= 0 {
		return fmt.Errorf("invalid --timeout %v: must be positive", t.timeout)
	}
	return nil
}

func (t *testFlags) apply(o *validators.Options) {
	o.Verbose = t.verbose
	o.Run = t.run
	o.Coverage = t.coverage || t.threshold > 0
	o.Threshold = t.threshold
	o.Timeout = t.timeout
	o.V0Compatible = t.v0Compatible
}

type testParams struct {
	tests   testFlags
	format  *choiceFlag
	noColor bool
}

func newTestCommand(g *globalParams, stdout, stderr io.Writer) *cobra.Command {
	p := &testParams{format: newChoiceFlag(report.FormatText, report.FormatText, report.FormatJSON)}
	cmd := &cobra.Command{
		Use:   "test [PATH...]",
		Short: "Run Rego tests, as 'opa test'",
		Long: `Compile the policies under each PATH (default: the current directory) in strict
mode and run their Rego tests (rules named test_*) with OPA's tester.

Exit codes: 0 when every test passes, 1 when a test fails or errors or coverage
is below --threshold, 2 when the policies do not compile or the flags are wrong.`,
		Example: `  belladonna test policies/
  belladonna test -v --run 'authz' policies/
  belladonna test --coverage --threshold 80 --format json policies/`,
		PreRunE: func(*cobra.Command, []string) error {
			if err := p.tests.validate(); err != nil {
				return usageError(err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTests(cmd.Context(), args, p, g, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	p.tests.addFlags(fs)
	fs.VarP(p.format, "format", "f", "output format: text|json")
	fs.BoolVar(&p.noColor, "no-color", false, "never colour the text output")
	return cmd
}

func runTests(ctx context.Context, args []string, p *testParams, g *globalParams, stdout, stderr io.Writer) error {
	opts := validators.NewOptions()
	if len(args) > 0 {
		opts.Paths = args
	}
	p.tests.apply(&opts)
	opts.Logger = g.logger
	if validators.IsTerminal(stderr) {
		opts.Progress = stderr
	}
	res, err := validators.Test(ctx, opts)
	if err != nil {
		return usageError(err)
	}
	rep, err := report.New(p.format.value, reportOptions(p.noColor, p.tests.verbose)...)
	if err != nil {
		return usageError(err)
	}
	if err := rep.Report(stdout, res); err != nil {
		return usageError(err)
	}
	switch {
	case res.CheckFailed():
		// The report lists the errors; exit 2 as for any input that cannot load.
		return usageError(nil)
	case res.Failed():
		return findingsError(nil)
	}
	return nil
}

func reportOptions(noColor, verbose bool) []report.Option {
	opts := []report.Option{report.WithVerbose(verbose)}
	if noColor {
		opts = append(opts, report.WithColor(report.ColorNever))
	}
	return opts
}

// writeReport renders res to stdout, or to file when one is given.
func writeReport(rep report.Reporter, res *validators.Result, file string, stdout io.Writer) (err error) {
	if file == "" {
		return rep.Report(stdout, res)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("creating report file: %w", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return rep.Report(f, res)
}
