package impact

import (
	"context"
	"encoding/json"

	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Report is the impact of going from Base to Head.
type Report struct {
	Base Revision `json:"base"`
	Head Revision `json:"head"`
	// Rules and Data added, removed and changed, by component.
	Rules []Change `json:"rules"`
	Data  []Change `json:"data"`
	// Replay figures: inputs from tests and from the audit log, distinct
	// (path, input) pairs evaluated on both sides, and how long it took.
	TestInputs     int           `json:"test_inputs"`
	RecordedInputs int           `json:"recorded_inputs"`
	Replayed       int           `json:"replayed"`
	ReplayTime     time.Duration `json:"replay_ns"`
	// Evaluator is what replayed: "ir-vm" (OPA's IR plan run by
	// engine/vm, checked against topdown on a sample) or "topdown".
	Evaluator string `json:"evaluator"`
	Counts    Counts `json:"counts"`
	// ByComponent counts per component of the decision path.
	ByComponent map[string]*Counts `json:"by_component"`
	// Flips are examples of changed decisions, at most MaxExamples per
	// direction and path.
	Flips    []Flip    `json:"flips"`
	Warnings []Warning `json:"warnings"`
	Risk     int       `json:"risk"`
	// RiskFactors explain the score, term by term.
	RiskFactors []string `json:"risk_factors"`

	unmeasured int
}

// Counts of replayed decisions.
type Counts struct {
	Replayed  int `json:"replayed"`
	Unchanged int `json:"unchanged"`
	Tightened int `json:"tightened"`
	Loosened  int `json:"loosened"`
	Modified  int `json:"modified"`
}

// Warning is a compatibility problem for callers of the policy.
type Warning struct {
	Kind    string `json:"kind"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Warning kinds.
const (
	WarnRemovedEntrypoint = "removed_entrypoint"
	WarnResultShape       = "result_shape"
	// WarnEvaluator: the IR VM disagreed with topdown on a sampled case,
	// so that revision was replayed on topdown.
	WarnEvaluator = "evaluator"
)

// MaxExamples bounds the flips kept per direction and path.
const MaxExamples = 5

// Options for Compare.
type Options struct {
	// Recorded are decision inputs from the audit log (RecordedCases).
	Recorded []Case
	// Topdown replays on OPA's topdown evaluator only (no IR VM).
	Topdown bool
}

// Compare loads and compiles both revisions, diffs their rules and data,
// and replays the test inputs of both and opts.Recorded through both.
func Compare(ctx context.Context, baseRev, headRev Revision, opts Options) (*Report, error) {
	base, err := load(ctx, baseRev)
	if err != nil {
		return nil, err
	}
	head, err := load(ctx, headRev)
	if err != nil {
		return nil, err
	}
	r := &Report{Base: baseRev, Head: headRev, ByComponent: map[string]*Counts{}, Flips: []Flip{}, Warnings: []Warning{}}
	r.Rules, r.Data = diffRules(base, head), diffData(base, head)

	tests := append(TestCases(ctx, base.state), TestCases(ctx, head.state)...)
	r.TestInputs, r.RecordedInputs = len(tests), len(opts.Recorded)
	var cases []Case
	seen := map[string]bool{}
	for _, c := range slices.Concat(tests, opts.Recorded) {
		if k := c.key(); !seen[k] {
			seen[k] = true
			cases = append(cases, c)
		}
	}
	start := time.Now()
	r.Evaluator = "topdown"
	if !opts.Topdown {
		base.planVM(ctx, cases)
		head.planVM(ctx, cases)
		for _, s := range []*side{base, head} {
			if why := s.spotCheck(ctx, cases); why != "" {
				r.Warnings = append(r.Warnings, Warning{Kind: WarnEvaluator, Message: why})
			}
		}
		if len(base.vms)+len(head.vms) > 0 {
			r.Evaluator = "ir-vm"
		}
	}
	res, err := replay(ctx, base, head, cases)
	if err != nil {
		return nil, err
	}
	r.ReplayTime = time.Since(start)
	r.Replayed = len(res)
	r.classify(res)
	r.warn(base, head, opts.Recorded, res)
	r.unmeasured = unmeasured(r.Rules, cases)
	r.Risk, r.RiskFactors = Score(r)
	return r, nil
}

func (r *Report) classify(res []replayed) {
	examples := map[string]int{}
	for _, x := range res {
		comp := pathComponent(x.c.Path)
		cc := r.ByComponent[comp]
		if cc == nil {
			cc = &Counts{}
			r.ByComponent[comp] = cc
		}
		r.Counts.Replayed++
		cc.Replayed++
		b, a := x.before.res, x.after.res
		if b.Outcome == a.Outcome && string(b.Result) == string(a.Result) && b.Error == a.Error {
			r.Counts.Unchanged++
			cc.Unchanged++
			continue
		}
		d := direction(b.Outcome, a.Outcome)
		switch d {
		case Tightened:
			r.Counts.Tightened++
			cc.Tightened++
		case Loosened:
			r.Counts.Loosened++
			cc.Loosened++
		default:
			r.Counts.Modified++
			cc.Modified++
		}
		k := d + "\x00" + x.c.Path
		if examples[k] < MaxExamples {
			examples[k]++
			var in []byte
			if x.c.Input != nil {
				if v, err := ast.JSON(x.c.Input); err == nil {
					in, _ = json.Marshal(v)
				}
			}
			r.Flips = append(r.Flips, Flip{Path: x.c.Path, Component: comp, Direction: d, Source: x.c.Source, Input: in, Before: b, After: a})
		}
	}
	order := map[string]int{Loosened: 0, Tightened: 1, Modified: 2}
	slices.SortStableFunc(r.Flips, func(a, b Flip) int { return order[a.Direction] - order[b.Direction] })
}

func (r *Report) warn(base, head *side, recorded []Case, res []replayed) {
	hb := rules(head)
	exists := func(p string) bool {
		for k := range hb {
			if k == p || strings.HasPrefix(k, p+"/") {
				return true
			}
		}
		return false
	}
	paths := map[string]string{}
	for _, p := range base.state.Entrypoints() {
		paths[p] = "entrypoint"
	}
	for _, c := range recorded {
		if _, ok := paths[c.Path]; !ok {
			paths[c.Path] = "recorded decision path"
		}
	}
	keys := make([]string, 0, len(paths))
	for p := range paths {
		keys = append(keys, p)
	}
	slices.Sort(keys)
	for _, p := range keys {
		if !exists(p) {
			r.Warnings = append(r.Warnings, Warning{Kind: WarnRemovedEntrypoint, Path: p,
				Message: fmt.Sprintf("%s data.%s is no longer defined in %s", paths[p], strings.ReplaceAll(p, "/", "."), r.Head.Label)})
		}
	}
	shapes := map[string]bool{}
	for _, x := range res {
		if x.before.defined && x.after.defined && x.before.shape != x.after.shape && !shapes[x.c.Path] {
			shapes[x.c.Path] = true
			r.Warnings = append(r.Warnings, Warning{Kind: WarnResultShape, Path: x.c.Path,
				Message: fmt.Sprintf("data.%s was %s and is now %s", strings.ReplaceAll(x.c.Path, "/", "."), x.before.shape, x.after.shape)})
		}
	}
}

// unmeasured counts changed security rules no replayed case reads (by
// package prefix): their direction could not be measured.
func unmeasured(changes []Change, cases []Case) int {
	n := 0
	for _, ch := range changes {
		if !isSecurity(ch.Component) {
			continue
		}
		pkg := ch.Path[:max(0, strings.LastIndex(ch.Path, "/"))]
		if !slices.ContainsFunc(cases, func(c Case) bool { return pkg != "" && strings.HasPrefix(c.Path, pkg) }) {
			n++
		}
	}
	return n
}
