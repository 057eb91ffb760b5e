package sink

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
)

// recordingSink records acknowledged batches; fail decides per call whether
// the call fails (before anything is recorded).
type recordingSink struct {
	name string
	fail func(call int, batch []audit.Entry) error
	// block, when set, makes Send wait for it or for ctx.
	block chan struct{}

	mu      sync.Mutex
	calls   int
	batches [][]uint64
	closed  bool
}

func (s *recordingSink) Name() string { return s.name }

func (s *recordingSink) Send(ctx context.Context, batch []audit.Entry) error {
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.mu.Unlock()
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.fail != nil {
		if err := s.fail(call, batch); err != nil {
			return err
		}
	}
	idx := make([]uint64, len(batch))
	for i, e := range batch {
		idx[i] = e.Index
	}
	s.mu.Lock()
	s.batches = append(s.batches, idx)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *recordingSink) delivered() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	for _, b := range s.batches {
		out = append(out, b...)
	}
	return out
}

func (s *recordingSink) batchSizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for _, b := range s.batches {
		out = append(out, len(b))
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastBackoff() Option { return WithBackoff(time.Millisecond, 10*time.Millisecond) }

// metricValue reads one series of a registry.
func metricValue(t *testing.T, reg *prometheus.Registry, name, sink string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "sink" && l.GetValue() == sink {
					switch {
					case m.Counter != nil:
						return m.Counter.GetValue()
					case m.Gauge != nil:
						return m.Gauge.GetValue()
					}
				}
			}
		}
	}
	t.Fatalf("no metric %s{sink=%q}", name, sink)
	return 0
}

func readCursorFile(t *testing.T, dir, name string) string {
	t.Helper()
	bs, err := os.ReadFile(filepath.Join(dir, name+".cursor"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(bs))
}
