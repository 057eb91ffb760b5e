// Command bench compares belladonna serve with stock OPA (built from the
// OPA module version go.mod pins) on the same bundles, under the same
// closed-loop load, and checks that both answer every input alike.
//
//	go run ./bench [-client wire|net/http] [-clientprocs 1] [-serverprocs 1] [-pin=true] [-bdenv GOGC=200] [-duration 3s] [-rounds 3] [-conc 1,8,64] [-policies rbac,gateway,syscall]
//	               [-out bench/results.json] [-baseline FILE -threshold PCT]
//
// BASELINE_FILE and BASELINE_THRESHOLD set -baseline and -threshold.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type options struct {
	duration, warmup time.Duration
	conc             []int
	policies         []string
	inputs, rounds   int
	out, baseline    string
	threshold        float64
	audit, nocache   bool
	client           string
	bdEnv            []string
	clientProcs      int
	serverProcs      int
	serverLogs       bool
	pin              bool
}

func main() {
	var o options
	var conc, pols string
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "measured time per server, policy, concurrency and round")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	flag.StringVar(&conc, "conc", "1,8,64", "concurrency levels (closed-loop workers)")
	flag.StringVar(&pols, "policies", "rbac,gateway,syscall", "workloads to run")
	flag.IntVar(&o.inputs, "inputs", 5000, "distinct inputs per workload (sent round robin)")
	flag.IntVar(&o.rounds, "rounds", 3, "measurements per server and concurrency, taken in turns; figures are their medians")
	flag.StringVar(&o.out, "out", "", "write the results as JSON to this file")
	flag.StringVar(&o.baseline, "baseline", os.Getenv("BASELINE_FILE"), "compare with this earlier -out file and fail on regressions")
	flag.Float64Var(&o.threshold, "threshold", envFloat("BASELINE_THRESHOLD", 10), "regression threshold in percent (throughput down or p99 up)")
	flag.BoolVar(&o.audit, "audit", true, "also run belladonna with its audit log on (every decision recorded)")
	flag.BoolVar(&o.nocache, "nocache", true, "also run belladonna with its result cache off (every request evaluated)")
	flag.StringVar(&o.client, "client", "wire", "load generator client: wire (lean HTTP/1.1, like wrk) or net/http")
	var bdEnv string
	flag.StringVar(&bdEnv, "bdenv", "", "extra environment for the belladonna servers, comma-separated (e.g. GOGC=200), to try runtime settings")
	procs := flag.Int("clientprocs", 1, "GOMAXPROCS of the load generator: 1 (as wrk -t1) leaves the servers the other core of a 2-core machine; 0 is the Go default")
	flag.BoolVar(&o.pin, "pin", runtime.NumCPU() >= 2, "pin the load generator to CPU 0 and the servers to the other CPUs (taskset), so that neither runs on the other's core")
	flag.BoolVar(&o.serverLogs, "serverlogs", false, "print each server's output when it stops (with -bdenv GODEBUG=gctrace=1, say)")
	flag.IntVar(&o.serverProcs, "serverprocs", 1, "GOMAXPROCS of every server, opa and belladonna alike: 1 runs each as a sidecar with one CPU (as a Kubernetes limit of 1 sets it) beside the load generator's core; 0 leaves the Go default (all cores)")
	flag.Parse()
	if *procs > 0 {
		runtime.GOMAXPROCS(*procs)
	}
	o.clientProcs = runtime.GOMAXPROCS(0)
	if bdEnv != "" {
		o.bdEnv = strings.Split(bdEnv, ",")
	}
	if o.client != "wire" && o.client != "net/http" {
		fmt.Fprintf(os.Stderr, "bench: -client %q: want wire or net/http\n", o.client)
		os.Exit(2)
	}
	for _, c := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: -conc %q: want positive integers\n", conc)
			os.Exit(2)
		}
		o.conc = append(o.conc, n)
	}
	o.policies = strings.Split(pols, ",")
	if o.rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout)
	if o.out != "" {
		if err := rep.write(o.out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
	if rep.Mismatches > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d inputs answered differently\n", rep.Mismatches)
		os.Exit(1)
	}
	if o.baseline != "" {
		regressions, err := rep.compare(o.baseline, o.threshold, os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		if regressions > 0 {
			os.Exit(1)
		}
	}
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}
