package impact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/engine/vm"
)

// Replays run on the IR VM (engine/vm) for every path it can plan, several
// times faster than topdown; a path it cannot plan stays on topdown. The
// VM is checked against topdown on a sample of the cases before it is
// trusted, and any disagreement puts the whole side back on topdown: the
// report must be topdown's either way.

// minVMCases: a path replayed fewer times stays on topdown; planning costs
// about 100 ms, which only pays back over many decisions.
const minVMCases = 256

// planVM plans the paths that enough cases ask for, together (one
// compilation), or one at a time when the joint plan fails; paths the VM
// cannot run are left to topdown.
func (s *side) planVM(ctx context.Context, cases []Case) {
	s.vms = map[string]*vm.VM{}
	data, err := ast.InterfaceToValue(s.src.Data)
	if err != nil {
		return
	}
	count := map[string]int{}
	for _, c := range cases {
		count[c.Path]++
	}
	var paths []string
	for p, n := range count {
		if n >= minVMCases {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	if len(paths) == 0 {
		return
	}
	build := func(ps []string) *vm.VM {
		pol, err := vm.Plan(ctx, s.src.Modules, s.src.Raw, ps)
		if err != nil {
			return nil
		}
		m, err := vm.New(pol, data)
		if err != nil {
			return nil
		}
		return m
	}
	if m := build(paths); m != nil {
		for _, p := range paths {
			s.vms[p] = m
		}
		return
	}
	for _, p := range paths {
		if m := build([]string{p}); m != nil {
			s.vms[p] = m
		}
	}
}

// spotCheck compares the VM with topdown on a sample of cases and drops the
// VM (returning why) at the first difference.
func (s *side) spotCheck(ctx context.Context, cases []Case) string {
	for i, c := range cases {
		if i >= 64 && i%509 != 0 {
			continue
		}
		m := s.vms[c.Path]
		if m == nil {
			continue
		}
		fast, ok := evalVM(ctx, m, c)
		if !ok {
			continue
		}
		slow := evalTopdown(ctx, s, c)
		if fast.res.Outcome != slow.res.Outcome || string(fast.res.Result) != string(slow.res.Result) || fast.shape != slow.shape {
			s.vms = nil
			return fmt.Sprintf("%s: the IR VM gave %s where topdown gave %s for %s (%s); replayed on topdown",
				s.rev.Label, fast.res.Outcome, slow.res.Outcome, c.Path, c.Source)
		}
	}
	return ""
}

// evalVM evaluates c on the VM; ok is false when the VM cannot decide this
// case (then topdown does).
func evalVM(ctx context.Context, m *vm.VM, c Case) (ev evaluated, ok bool) {
	v, defined, err := m.Eval(ctx, c.Path, c.Input)
	if errors.Is(err, vm.ErrUnsupported) {
		return evaluated{}, false
	}
	var out any
	if err == nil && defined {
		out, err = ast.JSON(v)
	}
	return evaluatedFrom(out, defined, err), true
}

func evaluatedFrom(v any, defined bool, err error) evaluated {
	ev := evaluated{defined: defined, res: Result{Outcome: Outcome(v, defined, err)}}
	if err != nil {
		ev.res.Error = err.Error()
		return ev
	}
	if defined {
		ev.res.Result, _ = json.Marshal(v)
		ev.shape = shape(v)
	}
	return ev
}
