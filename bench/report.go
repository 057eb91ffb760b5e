package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"
)

type row struct {
	Policy      string  `json:"policy"`
	Server      string  `json:"server"`
	Concurrency int     `json:"concurrency"`
	RPS         float64 `json:"rps"`
	P50us       float64 `json:"p50_us"`
	P99us       float64 `json:"p99_us"`
	P999us      float64 `json:"p999_us"`
	RSSMB       float64 `json:"rss_mb"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	Errors      int64   `json:"errors"`
	Rounds      int     `json:"rounds"`
}

type checked struct {
	Policy     string `json:"policy"`
	Inputs     int    `json:"inputs"`
	Servers    int    `json:"servers"`
	Mismatches int    `json:"mismatches"`
	Example    string `json:"example,omitempty"`
}

type report struct {
	Started     time.Time `json:"started"`
	Duration    string    `json:"duration"`
	Client      string    `json:"client"`
	ClientProcs int       `json:"client_procs"`
	ServerProcs int       `json:"server_procs"` // 0: the Go default
	Pinned      bool      `json:"pinned"`
	BdEnv       []string  `json:"belladonna_env,omitempty"`
	Rows        []row     `json:"rows"`
	Checked     []checked `json:"checked"`
	Mismatches  int       `json:"mismatches"`
}

func (r *report) find(policy, server string, conc int) *row {
	for i := range r.Rows {
		if x := &r.Rows[i]; x.Policy == policy && x.Server == server && x.Concurrency == conc {
			return x
		}
	}
	return nil
}

// print writes the table: each row with its throughput and p99 as a ratio
// to stock OPA's best (its -O=1 bundle) at the same concurrency.
func (r *report) print(w io.Writer) {
	procs := "the Go default (all cores)"
	if r.ServerProcs > 0 {
		procs = fmt.Sprint(r.ServerProcs)
	}
	pinned := "not pinned"
	if r.Pinned {
		pinned = "load generator on CPU 0, servers on the others"
	}
	fmt.Fprintf(w, "load generator: %s client, GOMAXPROCS %d; servers' GOMAXPROCS: %s; %s; %s per measurement\n", r.Client, r.ClientProcs, procs, pinned, r.Duration)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tserver\tconc\treq/s\tp50 µs\tp99 µs\tp99.9 µs\tRSS MB\tpeak MB\terrors\treq/s vs opa -O=1\tp99 vs opa -O=1\t")
	for _, x := range r.Rows {
		ratio, p99 := "", ""
		if best := r.find(x.Policy, "opa -O=1", x.Concurrency); best != nil && best.RPS > 0 && best.P99us > 0 {
			ratio = fmt.Sprintf("%.2fx", x.RPS/best.RPS)
			p99 = fmt.Sprintf("%.2fx", x.P99us/best.P99us)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t%s\t%s\t\n", x.Policy, x.Server, x.Concurrency,
			x.RPS, x.P50us, x.P99us, x.P999us, x.RSSMB, x.PeakRSSMB, x.Errors, ratio, p99)
	}
	tw.Flush()
	for _, c := range r.Checked {
		fmt.Fprintf(w, "%s: %d inputs on %d servers, %d answered differently %s\n", c.Policy, c.Inputs, c.Servers, c.Mismatches, c.Example)
	}
}

func (r *report) write(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// compare reports belladonna rows whose throughput fell, or whose p99
// rose, by more than threshold percent against the baseline file.
func (r *report) compare(file string, threshold float64, w io.Writer) (int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("baseline: %w", err)
	}
	var base report
	if err := json.Unmarshal(b, &base); err != nil {
		return 0, fmt.Errorf("baseline %s: %w", file, err)
	}
	// Figures taken with another load generator or CPU split do not compare.
	if base.Client != r.Client || base.ClientProcs != r.ClientProcs || base.ServerProcs != r.ServerProcs || base.Pinned != r.Pinned {
		return 0, fmt.Errorf("baseline %s was measured with the %s client at GOMAXPROCS %d, servers at %d, pinned %v; this run with %s at %d, %d, pinned %v: rerun with the same -client, -clientprocs, -serverprocs and -pin",
			file, base.Client, base.ClientProcs, base.ServerProcs, base.Pinned, r.Client, r.ClientProcs, r.ServerProcs, r.Pinned)
	}
	n := 0
	for _, x := range r.Rows {
		if x.Server == "opa" || x.Server == "opa -O=1" {
			continue
		}
		old := base.find(x.Policy, x.Server, x.Concurrency)
		if old == nil {
			continue
		}
		if drop := (old.RPS - x.RPS) / old.RPS * 100; drop > threshold {
			fmt.Fprintf(w, "REGRESSION %s %s conc %d: %.0f req/s, baseline %.0f (-%.1f%%)\n", x.Policy, x.Server, x.Concurrency, x.RPS, old.RPS, drop)
			n++
		}
		if rise := (x.P99us - old.P99us) / old.P99us * 100; rise > threshold {
			fmt.Fprintf(w, "REGRESSION %s %s conc %d: p99 %.0f µs, baseline %.0f (+%.1f%%)\n", x.Policy, x.Server, x.Concurrency, x.P99us, old.P99us, rise)
			n++
		}
	}
	if n == 0 {
		fmt.Fprintf(w, "no regression beyond %.0f%% against %s\n", threshold, file)
	}
	return n, nil
}
