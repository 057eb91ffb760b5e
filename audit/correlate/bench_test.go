package correlate

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// mixedStream is a deterministic, roughly realistic log: one entry a
// millisecond, mostly allowed decisions with request-shaped inputs, some
// denials (a few subjects hammering), eBPF alerts from a set of cgroups and
// the occasional lifecycle event.
func mixedStream(n, subjects int) []audit.Entry {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]audit.Entry, n)
	input := func(subject string, inInput bool) json.RawMessage {
		in := map[string]any{
			"method":   []string{"GET", "POST", "DELETE"}[rng.IntN(3)],
			"path":     []string{"api", "v1", "orders", fmt.Sprint(rng.IntN(100000))},
			"resource": map[string]any{"kind": "order", "owner": fmt.Sprint("user-", rng.IntN(subjects))},
			"headers":  map[string]any{"user-agent": "client/1.2", "x-request-id": fmt.Sprintf("%016x", rng.Uint64())},
		}
		if inInput {
			in["subject"] = map[string]any{"id": subject, "roles": []string{"reader", "writer"}, "tenant": "acme"}
		}
		bs, _ := json.Marshal(in)
		return bs
	}
	for i := range out {
		e := audit.Entry{Index: uint64(i), Time: caseBase.Add(time.Duration(i) * time.Millisecond)}
		switch p := rng.IntN(1000); {
		case p < 940:
			subject := fmt.Sprint("user-", rng.IntN(subjects))
			e.Kind, e.Type, e.Outcome = audit.KindDecision, "decision", audit.OutcomeAllow
			if p >= 820 {
				e.Outcome = audit.OutcomeDeny
				if rng.IntN(10) == 0 {
					subject = fmt.Sprint("attacker-", rng.IntN(5))
				}
			}
			inInput := rng.IntN(2) == 0
			if !inInput {
				e.Subject = subject
			}
			e.Path, e.Revision, e.Caller = "security/authz/allow", "3f2a9c1", "orders-api"
			e.Input = input(subject, inInput)
			e.Result = json.RawMessage(fmt.Sprintf(`{"allow":%t}`, e.Outcome == audit.OutcomeAllow))
			e.DecisionID = fmt.Sprintf("%032x", rng.Uint64())
			e.LatencyNS = int64(20000 + rng.IntN(50000))
		case p < 980:
			e.Kind, e.Type = audit.KindEvent, audit.EventEBPFAlert
			e.Attrs = map[string]string{
				"cgroup": fmt.Sprint("/system.slice/app-", rng.IntN(50), ".service"),
				"pid":    fmt.Sprint(1000 + rng.IntN(5000)),
				"rule":   []string{"write-etc", "exec-from-tmp", "egress-not-allowed"}[rng.IntN(3)],
			}
			e.Severity = "high"
		case p < 990:
			e.Kind, e.Type = audit.KindEvent, audit.EventConfigChange
		case p < 995:
			e.Kind, e.Type, e.Revision = audit.KindEvent, audit.EventBundleActivation, "3f2a9c1"
		case p < 997:
			e.Kind, e.Type = audit.KindEvent, audit.EventSignatureFailure
		case p < 999:
			e.Kind, e.Type = audit.KindEvent, audit.EventRollback
		default:
			e.Kind, e.Type = audit.KindEvent, audit.EventApproval
		}
		out[i] = e
	}
	return out
}

// BenchmarkProcess measures Process over the mixed stream with the default
// rules, on one goroutine, and reports entries/s.
func BenchmarkProcess(b *testing.B) {
	stream := mixedStream(200000, 20000)
	e, err := New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	span := stream[len(stream)-1].Time.Sub(stream[0].Time) + time.Millisecond
	incidents := 0
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for i := range b.N {
		// Later laps shift time forward so that windows keep moving.
		k := i % len(stream)
		ent := stream[k]
		lap := i / len(stream)
		ent.Index += uint64(lap * len(stream))
		ent.Time = ent.Time.Add(time.Duration(lap) * span)
		out, err := e.Process(ctx, &ent)
		if err != nil {
			b.Fatal(err)
		}
		incidents += len(out)
	}
	reportRate(b, start, cpu)
	b.ReportMetric(float64(incidents)/float64(b.N)*1000, "incidents/1k")
}

// BenchmarkProcessDenials is the worst realistic case: every entry is a
// denial that brute_force has to evaluate, 100 a second from 5000 subjects.
func BenchmarkProcessDenials(b *testing.B) {
	e, err := New()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	in := json.RawMessage(`{"method":"POST","path":["api","v1","orders"],"subject":{"id":"x","roles":["reader"]}}`)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	for i := range b.N {
		ent := audit.Entry{
			Index: uint64(i), Time: caseBase.Add(time.Duration(i) * 10 * time.Millisecond),
			Kind: audit.KindDecision, Type: "decision", Outcome: audit.OutcomeDeny,
			Subject: fmt.Sprint("user-", i%5000), Input: in,
		}
		if _, err := e.Process(ctx, &ent); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, start, cpu)
}

// reportRate reports entries per wall second and per CPU second.
func reportRate(b *testing.B, start time.Time, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "entries/cpu-s")
	}
}
