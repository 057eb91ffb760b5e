package validators

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// notCompiledReason is what reports say about work skipped because the tree
// did not compile.
const notCompiledReason = "skipped: the policies do not compile; fix the check errors first"

// Validate checks, tests and lints the policies under opts.Paths.
//
// Problems in the policies are in the Result; the error is for runs that could
// not happen at all: an unreadable path (*LoadError), a malformed baseline
// (*BaselineError), broken validator rules (*RulesError), an unknown rule in
// Disable (*UnknownRuleError), invalid options, or a cancelled context.
func Validate(ctx context.Context, opts Options) (*Result, error) {
	return run(ctx, opts, true)
}

// Test checks the policies under opts.Paths and runs their Rego tests, like
// opa test; no validator rules run. opts.SkipTests, the baseline and the rule
// options are ignored.
func Test(ctx context.Context, opts Options) (*Result, error) {
	opts.SkipTests = false
	opts.Baseline, opts.WriteBaseline = "", ""
	return run(ctx, opts, false)
}

func (o *Options) validate() error {
	if o.Run != "" {
		if _, err := regexp.Compile(o.Run); err != nil {
			return fmt.Errorf("invalid --run expression: %w", err)
		}
	}
	if o.Threshold < 0 || o.Threshold > 100 {
		return fmt.Errorf("invalid --threshold %v: want 0 to 100", o.Threshold)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("invalid --timeout %v: must not be negative", o.Timeout)
	}
	return nil
}

func run(ctx context.Context, opts Options, withRules bool) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	log := opts.logger()
	paths := opts.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	regoVersion := ast.RegoV1
	if opts.V0Compatible {
		regoVersion = ast.RegoV0
	}
	popts := ast.ParserOptions{ProcessAnnotation: true, RegoVersion: regoVersion}
	prog := newProgress(opts.Progress)
	defer prog.clear()

	// Fail fast on what makes the run meaningless, before any real work.
	var base *Baseline
	if opts.Baseline != "" {
		b, err := ReadBaseline(opts.Baseline)
		if err != nil {
			return nil, err
		}
		base = b
	}
	var rs *ruleSet
	var off map[string]bool
	if withRules {
		var err error
		if rs, err = loadRules(opts.RulesFS, opts.RuleDirs); err != nil {
			return nil, err
		}
		if off, err = rs.disabled(opts.Disable); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	src, err := load(ctx, paths, popts, prog)
	if err != nil {
		return nil, err
	}
	log.Debug("loaded policies", logfields.Count, len(src.files), logfields.Duration, time.Since(start))

	shown := make([]string, len(paths))
	for i, p := range paths {
		shown[i] = displayPath(p)
	}
	res := &Result{
		Paths:   shown,
		Files:   len(src.files),
		Modules: len(src.modules),
		FailOn:  cmp.Or(opts.FailOn, SeverityError),
	}
	findings := slices.Clone(src.findings)

	prog.phase("compiling")
	comp, compileFindings, err := check(ctx, src, regoVersion)
	if err != nil {
		return nil, err
	}
	findings = append(findings, compileFindings...)
	res.Compiled = len(findings) == 0 && comp != nil
	if !res.Compiled {
		comp = nil // never test or probe a partial tree
	}

	if !opts.SkipTests {
		prog.phase("testing")
		if comp == nil {
			res.Tests = &TestReport{NotRun: notCompiledReason, Results: []TestResult{}}
		} else {
			tests, cov, err := runTests(ctx, src, comp, &opts, regoVersion)
			if err != nil {
				return nil, err
			}
			res.Tests, res.Coverage = tests, cov
			log.Debug("ran tests", logfields.Count, tests.Total(), logfields.Duration, tests.Duration)
		}
	}

	if withRules {
		ruleFindings, err := runRules(ctx, rs, off, src, comp, &opts, popts, prog, res)
		if err != nil {
			return nil, err
		}
		findings = append(findings, ruleFindings...)
	}

	SortFindings(findings)
	fingerprint(findings, src.lines)
	res.Findings = findings
	res.Rules = ruleTable(rs, off, findings)

	if base != nil {
		kept, suppressed, stale := base.Filter(res.Findings)
		res.Findings, res.Suppressed = kept, suppressed
		res.Baseline = &BaselineStatus{File: opts.Baseline, Suppressed: len(suppressed), Stale: stale}
	}
	if opts.WriteBaseline != "" {
		all := append(slices.Clone(res.Findings), res.Suppressed...)
		SortFindings(all)
		if err := WriteBaselineFile(opts.WriteBaseline, all); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runRules evaluates every enabled validator rule and drops findings an
// inline directive silences.
func runRules(ctx context.Context, rs *ruleSet, off map[string]bool, src *source, comp *compiled,
	opts *Options, popts ast.ParserOptions, prog *progress, res *Result) ([]Finding, error) {
	params := inputParams{
		config:     opts.Config,
		configFile: opts.ConfigFile,
		compiled:   comp != nil,
		popts:      popts,
	}
	if comp != nil {
		probes, errs, err := runProbes(ctx, comp)
		if err != nil {
			return nil, err
		}
		params.probes, params.probeErrs = probes, errs
	}
	input, err := ast.InterfaceToValue(buildInput(src, params))
	if err != nil {
		return nil, fmt.Errorf("building validator input: %w", err)
	}
	ig := collectIgnores(src.modules)
	var out []Finding
	for i, r := range rs.rules {
		prog.step("rules", i+1, len(rs.rules))
		switch {
		case off[r.ID]:
			res.Skipped = append(res.Skipped, SkippedRule{ID: r.ID, Reason: "disabled"})
			continue
		case r.needsCompile && comp == nil:
			res.Skipped = append(res.Skipped, SkippedRule{ID: r.ID, Reason: notCompiledReason})
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for _, f := range rs.eval(ctx, r, input) {
			if !ig.ignored(f) {
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// ruleTable lists the rules that ran, then any other rule id a finding uses
// (check errors such as rego-parse-error), for the SARIF rule table.
func ruleTable(rs *ruleSet, off map[string]bool, findings []Finding) []RuleInfo {
	out := []RuleInfo{}
	known := map[string]bool{}
	if rs != nil {
		for _, r := range rs.rules {
			if !off[r.ID] {
				out = append(out, r.RuleInfo)
				known[r.ID] = true
			}
		}
	}
	for _, f := range findings {
		if known[f.Rule] {
			continue
		}
		known[f.Rule] = true
		out = append(out, checkRuleInfo(f.Rule))
	}
	slices.SortFunc(out, func(a, b RuleInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// checkRuleInfo describes the rule ids that come from OPA's errors and from
// loading data rather than from a validator rule.
func checkRuleInfo(id string) RuleInfo {
	info := RuleInfo{ID: id, Category: "check", Severity: SeverityError,
		HelpURI: "https://www.openpolicyagent.org/docs/policy-reference"}
	switch id {
	case RuleDataParseError:
		info.Title = "Data file does not parse"
		info.Description = "A JSON or YAML data file under the policy paths is malformed."
	case RuleDataConflict:
		info.Title = "Data files conflict"
		info.Description = "Two data files define the same path in the data document."
	case RuleValidatorError:
		info.Title = "Validator rule failed"
		info.Description = "A validator rule could not be evaluated or produced a malformed finding."
		info.HelpURI = rulesHelpBase
	default:
		// OPA error codes: rego-parse-error, rego-compile-error, rego-type-error...
		info.Title = "OPA " + strings.ReplaceAll(strings.TrimPrefix(id, "rego-"), "-", " ")
		info.Description = "The Rego policy does not pass OPA's " + strings.ReplaceAll(id, "-", "_") + " check (strict mode)."
		info.HelpURI = "https://www.openpolicyagent.org/docs/policy-language"
	}
	return info
}
