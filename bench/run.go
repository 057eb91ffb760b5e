package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

func run(ctx context.Context, o options) (*report, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "belladonna-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	fmt.Fprintln(os.Stderr, "building opa (pinned module) and belladonna ...")
	opa, bd, err := binaries(ctx, root, work)
	if err != nil {
		return nil, err
	}
	ws, err := workloads(1, o.inputs)
	if err != nil {
		return nil, err
	}
	if o.pin {
		if runtime.NumCPU() < 2 {
			return nil, fmt.Errorf("-pin needs at least 2 CPUs, this machine has %d", runtime.NumCPU())
		}
		if err := pinSelf(0); err != nil {
			return nil, err
		}
	}
	rep := &report{Started: time.Now().UTC(), Duration: o.duration.String(), Client: o.client, ClientProcs: o.clientProcs, ServerProcs: o.serverProcs, Pinned: o.pin, BdEnv: o.bdEnv}
	for _, w := range ws {
		if !slices.Contains(o.policies, w.Name) {
			continue
		}
		if err := runWorkload(ctx, o, rep, w, work, opa, bd); err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
	}
	return rep, nil
}

func runWorkload(ctx context.Context, o options, rep *report, w *workload, work, opa, bd string) error {
	dir := filepath.Join(work, w.Name)
	tree := filepath.Join(dir, "tree")
	if err := w.writeTree(tree); err != nil {
		return err
	}
	plain, opt := filepath.Join(dir, "plain.tar.gz"), filepath.Join(dir, "o1.tar.gz")
	if err := opaBuild(ctx, opa, tree, plain, ""); err != nil {
		return err
	}
	if err := opaBuild(ctx, opa, tree, opt, w.Entrypoint); err != nil {
		return err
	}
	cfg := func(name string, audit bool, cache int) (string, error) {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", err
		}
		return d, os.WriteFile(filepath.Join(d, "belladonna.yaml"),
			fmt.Appendf(nil, "log:\n  level: warn\nserver:\n  result_cache: %d\naudit:\n  enabled: %v\n", cache, audit), 0o644)
	}
	type spec struct {
		name string
		argv []string
		dir  string
	}
	specs := []spec{
		{"opa", []string{opa, "run", "--server", "--addr", "ADDR", "--log-level", "error", "--skip-version-check", "-b", plain}, dir},
		{"opa -O=1", []string{opa, "run", "--server", "--addr", "ADDR", "--log-level", "error", "--skip-version-check", "-b", opt}, dir},
	}
	d, err := cfg("bd", false, 100_000)
	if err != nil {
		return err
	}
	specs = append(specs, spec{"belladonna", []string{bd, "serve", "--addr", "ADDR", "-b", plain}, d})
	if o.nocache {
		// Every request evaluated: what a miss costs.
		d, err := cfg("bd-nocache", false, 0)
		if err != nil {
			return err
		}
		specs = append(specs, spec{"belladonna nocache", []string{bd, "serve", "--addr", "ADDR", "-b", plain}, d})
	}
	if o.audit {
		d, err := cfg("bd-audit", true, 100_000)
		if err != nil {
			return err
		}
		specs = append(specs, spec{"belladonna+audit", []string{bd, "serve", "--addr", "ADDR", "-b", plain}, d})
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
			if o.serverLogs {
				fmt.Fprintf(os.Stderr, "== %s output\n%s", s.Name, s.logs.String())
			}
		}
	}()
	for _, sp := range specs {
		var env []string
		if o.serverProcs > 0 {
			env = append(env, fmt.Sprintf("GOMAXPROCS=%d", o.serverProcs))
		}
		if sp.argv[0] == bd {
			env = append(env, o.bdEnv...)
		}
		argv := sp.argv
		if o.pin {
			argv = pinArgv(fmt.Sprintf("1-%d", runtime.NumCPU()-1), argv)
		}
		s, err := start(ctx, sp.name, sp.dir, env, argv...)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	c := client(max(64, slices.Max(o.conc)))
	fmt.Fprintf(os.Stderr, "%s: checking %d inputs on %d servers ...\n", w.Name, len(w.Inputs), len(servers))
	diffs, example, err := sameResults(c, servers, w.Path, w.Inputs)
	if err != nil {
		return err
	}
	rep.Mismatches += diffs
	rep.Checked = append(rep.Checked, checked{Policy: w.Name, Inputs: len(w.Inputs), Servers: len(servers), Mismatches: diffs, Example: example})
	for _, conc := range o.conc {
		// Servers take turns, round after round, and each figure is the
		// median of its rounds: a burst of load from elsewhere on the
		// machine then skews one round of one server, not the comparison.
		runs := make([][]row, len(servers))
		for round := range o.rounds {
			for i, s := range servers {
				fmt.Fprintf(os.Stderr, "%s: %s at concurrency %d, round %d/%d ...\n", w.Name, s.Name, conc, round+1, o.rounds)
				url := s.URL + "/v1/data/" + w.Path
				newSender := netHTTPSender(c, url, w.Inputs)
				if o.client == "wire" {
					if newSender, err = wireSender(url, w.Inputs); err != nil {
						return err
					}
				}
				res := closedLoop(ctx, newSender, len(w.Inputs), conc, o.warmup, o.duration)
				cur, peak := s.rss()
				runs[i] = append(runs[i], row{Policy: w.Name, Server: s.Name, Concurrency: conc,
					RPS: float64(res.Requests) / res.Elapsed.Seconds(), Errors: res.Errors,
					P50us: us(res.Hist.quantile(0.5)), P99us: us(res.Hist.quantile(0.99)), P999us: us(res.Hist.quantile(0.999)),
					RSSMB: float64(cur) / (1 << 20), PeakRSSMB: float64(peak) / (1 << 20)})
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
		for _, rs := range runs {
			rep.Rows = append(rep.Rows, medianRow(rs))
		}
	}
	return nil
}

// medianRow takes each figure's median over the rounds (errors summed,
// peak memory the largest).
func medianRow(rs []row) row {
	med := func(f func(row) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	out := rs[len(rs)-1]
	out.Rounds = len(rs)
	out.RPS = med(func(r row) float64 { return r.RPS })
	out.P50us = med(func(r row) float64 { return r.P50us })
	out.P99us = med(func(r row) float64 { return r.P99us })
	out.P999us = med(func(r row) float64 { return r.P999us })
	out.Errors = 0
	for _, r := range rs {
		out.Errors += r.Errors
		out.PeakRSSMB = max(out.PeakRSSMB, r.PeakRSSMB)
	}
	return out
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
