package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/validators"
	"github.com/belladonna-dev/belladonna/validators/impact"
	"github.com/belladonna-dev/belladonna/validators/report"
)

type validateParams struct {
	tests         testFlags
	format        *choiceFlag
	failOn        *choiceFlag
	output        string
	baseline      string
	writeBaseline string
	rules         []string
	disable       []string
	skipTests     bool
	noColor       bool
	// --base: measure the impact against a git revision too.
	base          string
	impactSummary string
	impact        impactParams
}

func newValidateCommand(g *globalParams, stdout, stderr io.Writer) *cobra.Command {
	p := &validateParams{
		format: newChoiceFlag(report.FormatText, report.Formats()...),
		failOn: newChoiceFlag("", validators.Severities()...),
	}
	cmd := &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check, test and lint policies (for CI and pull requests)",
		Long: `Validate the policy repository under each PATH (default: the current directory):

  check  parse every .rego, .json and .yaml file and compile the modules in strict
         mode; every error is a finding with file:line
  test   run the Rego tests (as 'opa test'), with --coverage and --threshold
  rules  run the validator rules (shipped ones, plus --rules directories) over the
         modules, the configuration and probe decisions of the compiled policy

A finding is silenced on one line by a comment on it or on the line before:
  # belladonna:ignore style/line-length

Exit codes: 0 when no finding is at or above --fail-on and every test passes;
1 otherwise (or coverage below --threshold); 2 on usage errors, unreadable paths,
a malformed baseline or broken validator rules.`,
		Example: `  belladonna validate policies/
  belladonna validate --format sarif -o results.sarif policies/
  belladonna validate --format github --fail-on warning policies/
  belladonna validate --write-baseline .belladonna-baseline.json policies/
  belladonna validate --baseline .belladonna-baseline.json policies/
  belladonna validate --disable style/line-length --rules ./team-rules policies/`,
		PreRunE: func(*cobra.Command, []string) error {
			return p.complete(g)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return validatePolicies(cmd.Context(), args, p, g, stdout, stderr)
		},
	}
	fs := cmd.Flags()
	p.tests.addFlags(fs)
	fs.VarP(p.format, "format", "f", "output format: text|json|sarif|junit|github")
	fs.StringVarP(&p.output, "output", "o", "", "write the report to this file instead of stdout")
	fs.Var(p.failOn, "fail-on", "exit 1 on findings at or above this severity: error|warning|info (default from config validate.fail_on, error)")
	fs.StringVar(&p.baseline, "baseline", "", "report only findings not recorded in this baseline file (default from config validate.baseline)")
	fs.StringVar(&p.writeBaseline, "write-baseline", "", "record the current findings in this baseline file")
	fs.StringArrayVar(&p.rules, "rules", nil, "directory of extra validator rules (repeatable; added to config validate.rules)")
	fs.StringArrayVar(&p.disable, "disable", nil, "rule id, rule name or category not to run (repeatable; added to config validate.disable)")
	fs.BoolVar(&p.skipTests, "skip-tests", false, "do not run the Rego tests")
	fs.BoolVar(&p.noColor, "no-color", false, "never colour the text output")
	fs.StringVar(&p.base, "base", "", "also report the impact against this git revision (e.g. origin/main): replayed decisions, risk score")
	fs.StringVar(&p.impactSummary, "impact-summary", "", "with --base: append the markdown impact report to this file (e.g. $GITHUB_STEP_SUMMARY)")
	fs.IntVar(&p.impact.failRisk, "fail-risk", 101, "with --base: exit 1 when the risk score is at or above this (0-100)")
	fs.IntVar(&p.impact.auditLast, "audit-last", 10000, "with --base: replay the newest N recorded decisions")
	fs.BoolVar(&p.impact.noAudit, "no-audit", false, "with --base: replay only the Rego tests' inputs")
	return cmd
}

// complete validates the flags and fills what they leave unset from the
// configuration, which the root command has loaded by now.
func (p *validateParams) complete(g *globalParams) error {
	if err := p.tests.validate(); err != nil {
		return usageError(err)
	}
	if p.failOn.value == "" {
		p.failOn.value = g.cfg.Validate.FailOn
	}
	if p.failOn.value == "" {
		p.failOn.value = "error"
	}
	if p.baseline == "" {
		p.baseline = g.cfg.Validate.Baseline
	}
	p.rules = append(append([]string{}, g.cfg.Validate.Rules...), p.rules...)
	p.disable = append(append([]string{}, g.cfg.Validate.Disable...), p.disable...)
	return nil
}

func validatePolicies(ctx context.Context, args []string, p *validateParams, g *globalParams, stdout, stderr io.Writer) error {
	failOn, err := validators.ParseSeverity(p.failOn.value)
	if err != nil {
		return usageError(err)
	}
	opts := validators.NewOptions()
	if len(args) > 0 {
		opts.Paths = args
	}
	p.tests.apply(&opts)
	opts.Config = g.cfg.Map()
	opts.ConfigFile = config.File(g.configFile)
	opts.RuleDirs = p.rules
	opts.Disable = p.disable
	opts.SkipTests = p.skipTests
	opts.FailOn = failOn
	opts.Baseline = p.baseline
	opts.WriteBaseline = p.writeBaseline
	opts.Logger = g.logger
	if validators.IsTerminal(stderr) {
		opts.Progress = stderr
	}
	rep, err := report.New(p.format.value, reportOptions(p.noColor, p.tests.verbose)...)
	if err != nil {
		return usageError(err)
	}
	res, err := validators.Validate(ctx, opts)
	if err != nil {
		return usageError(err)
	}
	if err := writeReport(rep, res, p.output, stdout); err != nil {
		return usageError(err)
	}
	var impactErr error
	if p.base != "" {
		// The findings report owns stdout unless it is text.
		w := stderr
		if p.format.value == report.FormatText && p.output == "" {
			w = stdout
			fmt.Fprintln(w)
		}
		impactErr = validateImpact(ctx, opts.Paths, p, g, w)
		if e, ok := errors.AsType[*ExitError](impactErr); ok && e.Code == ExitUsage {
			return impactErr
		}
	}
	if res.Failed() {
		return findingsError(nil)
	}
	return impactErr
}

// validateImpact compares the tree at --base with the directory being
// validated (work tree content, committed or not).
func validateImpact(ctx context.Context, paths []string, p *validateParams, g *globalParams, w io.Writer) error {
	if len(paths) != 1 {
		return usageError(errors.New("--base compares one policy directory: give exactly one PATH"))
	}
	dir, err := filepath.Abs(paths[0])
	if err != nil {
		return usageError(err)
	}
	repo, err := policyrepo.Open(dir)
	if err != nil {
		return usageError(fmt.Errorf("--base: %w", err))
	}
	rel, err := filepath.Rel(repo.Root(), dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return usageError(fmt.Errorf("--base: %s is not inside the work tree of %s", paths[0], repo.Root()))
	}
	baseFS, c, err := repo.FS(p.base)
	if err != nil {
		return usageError(err)
	}
	if rel != "." {
		if baseFS, err = fs.Sub(baseFS, filepath.ToSlash(rel)); err != nil {
			return usageError(err)
		}
	}
	p.impact.summaryFile, p.impact.format = p.impactSummary, "text"
	recorded, err := p.impact.recorded(ctx, g)
	if err != nil {
		return usageError(err)
	}
	r, err := impact.Compare(ctx,
		impact.Revision{Label: p.base, Commit: c.Hash.String(), FS: baseFS},
		impact.Revision{Label: "work tree " + paths[0], FS: os.DirFS(dir)},
		impact.Options{Recorded: recorded})
	if err != nil {
		return usageError(err)
	}
	return p.impact.report(w, r)
}
