package sink

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
)

func TestRunnerDeliversEveryEntryInOrderDespiteFailures(t *testing.T) {
	src := newMemSource()
	dir := t.TempDir()
	flaky := &recordingSink{name: "flaky", fail: func(call int, _ []audit.Entry) error {
		if call%3 == 0 {
			return errors.New("receiver hiccup")
		}
		return nil
	}}
	steady := &recordingSink{name: "steady"}
	reg := prometheus.NewRegistry()
	r := NewRunner(src, dir, fastBackoff())
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	for _, s := range []Sink{flaky, steady} {
		if err := r.Add(s, Batching{Size: 16, MaxLatency: 2 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := t.Context()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := 0; i < n; i += 50 {
		src.Append(testEntries(i, 50)...)
		time.Sleep(time.Millisecond)
	}
	for _, s := range []*recordingSink{flaky, steady} {
		waitFor(t, 10*time.Second, s.name+" to catch up", func() bool { c, _ := r.Cursor(s.name); return c == n })
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*recordingSink{flaky, steady} {
		got := s.delivered()
		if len(got) != n {
			t.Fatalf("%s: %d entries delivered, want %d (no duplicates: failed batches were never recorded)", s.name, len(got), n)
		}
		for i, idx := range got {
			if idx != uint64(i) {
				t.Fatalf("%s: delivery %d is index %d: out of order", s.name, i, idx)
			}
		}
		for _, size := range s.batchSizes() {
			if size > 16 {
				t.Fatalf("%s: batch of %d exceeds the batch size", s.name, size)
			}
		}
		if got := readCursorFile(t, dir, s.name); got != "1000" {
			t.Errorf("%s: cursor file holds %q, want 1000", s.name, got)
		}
		if !s.closed {
			t.Errorf("%s: Stop did not close the sink", s.name)
		}
		if v := metricValue(t, reg, "belladonna_audit_sink_sent_total", s.name); v != n {
			t.Errorf("%s: sent_total %v, want %d", s.name, v, n)
		}
		if v := metricValue(t, reg, "belladonna_audit_sink_lag_entries", s.name); v != 0 {
			t.Errorf("%s: lag %v, want 0", s.name, v)
		}
		if v := metricValue(t, reg, "belladonna_audit_sink_up", s.name); v != 1 {
			t.Errorf("%s: up %v, want 1", s.name, v)
		}
	}
	if v := metricValue(t, reg, "belladonna_audit_sink_errors_total", "flaky"); v == 0 {
		t.Error("flaky: errors_total is 0")
	}
	if v := metricValue(t, reg, "belladonna_audit_sink_errors_total", "steady"); v != 0 {
		t.Errorf("steady: errors_total %v, want 0", v)
	}
}

func TestRunnerResumesFromPersistedCursor(t *testing.T) {
	src := newMemSource()
	src.Append(testEntries(0, 300)...)
	dir := t.TempDir()

	// First run: the sink accepts 5 batches of 20, then fails for good.
	first := &recordingSink{name: "s", fail: func(call int, _ []audit.Entry) error {
		if call > 5 {
			return errors.New("down")
		}
		return nil
	}}
	r := NewRunner(src, dir, fastBackoff())
	if err := r.Add(first, Batching{Size: 20}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "failing retries", func() bool { first.mu.Lock(); defer first.mu.Unlock(); return first.calls > 8 })
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := readCursorFile(t, dir, "s"); got != "100" {
		t.Fatalf("cursor after first run %q, want 100", got)
	}

	// Second run, as after a restart: starts at the cursor.
	second := &recordingSink{name: "s"}
	r = NewRunner(src, dir, fastBackoff())
	if err := r.Add(second, Batching{Size: 20}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the rest", func() bool { c, _ := r.Cursor("s"); return c == 300 })
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := append(first.delivered(), second.delivered()...)
	if len(got) != 300 {
		t.Fatalf("%d deliveries over two runs, want exactly 300", len(got))
	}
	for i, idx := range got {
		if idx != uint64(i) {
			t.Fatalf("delivery %d is index %d", i, idx)
		}
	}
}

func TestRunnerBatchesBySizeOrLatency(t *testing.T) {
	src := newMemSource()
	s := &recordingSink{name: "b"}
	r := NewRunner(src, t.TempDir(), fastBackoff())
	if err := r.Add(s, Batching{Size: 100, MaxLatency: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())

	// A partial batch waits for MaxLatency, then goes out.
	start := time.Now()
	src.Append(testEntries(0, 3)...)
	waitFor(t, 5*time.Second, "the partial batch", func() bool { return len(s.delivered()) == 3 })
	if el := time.Since(start); el < 100*time.Millisecond {
		t.Errorf("partial batch sent after %v, before MaxLatency", el)
	}
	// A full batch goes out at once.
	start = time.Now()
	src.Append(testEntries(3, 100)...)
	waitFor(t, 5*time.Second, "the full batch", func() bool { return len(s.delivered()) >= 103 })
	if el := time.Since(start); el > 140*time.Millisecond {
		t.Errorf("full batch took %v: it waited for MaxLatency", el)
	}
	if sizes := s.batchSizes(); sizes[0] != 3 || sizes[1] != 100 {
		t.Errorf("batch sizes %v, want [3 100 ...]", sizes)
	}
}

func TestRunnerStopLetsInFlightBatchFinish(t *testing.T) {
	src := newMemSource()
	src.Append(testEntries(0, 10)...)
	dir := t.TempDir()
	s := &recordingSink{name: "slow", block: make(chan struct{})}
	r := NewRunner(src, dir)
	if err := r.Add(s, Batching{Size: 10}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the send to start", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.calls == 1 })
	time.AfterFunc(50*time.Millisecond, func() { close(s.block) })
	if err := r.Stop(t.Context()); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if got := readCursorFile(t, dir, "slow"); got != "10" {
		t.Errorf("cursor %q: the acknowledged batch was not persisted", got)
	}
}

func TestRunnerStopAbandonsBatchWhenContextEnds(t *testing.T) {
	src := newMemSource()
	src.Append(testEntries(0, 10)...)
	dir := t.TempDir()
	s := &recordingSink{name: "stuck", block: make(chan struct{})}
	r := NewRunner(src, dir)
	if err := r.Add(s, Batching{Size: 10}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the send to start", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.calls == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := r.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop = %v, want DeadlineExceeded", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stuck.cursor")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cursor written for an unacknowledged batch: %v", err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestRunnerStopsWhenContextIsCancelled(t *testing.T) {
	src := newMemSource()
	s := &recordingSink{name: "c"}
	r := NewRunner(src, t.TempDir())
	if err := r.Add(s, Batching{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("workers still running after ctx was cancelled")
	}
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRunnerSkipsPrunedEntriesAndCountsThem(t *testing.T) {
	src := newMemSource()
	src.Append(testEntries(0, 100)...)
	src.Prune(37)
	var logs bytes.Buffer
	s := &recordingSink{name: "p"}
	reg := prometheus.NewRegistry()
	r := NewRunner(src, t.TempDir(), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(s, Batching{Size: 50, MaxLatency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the retained entries", func() bool { c, _ := r.Cursor("p"); return c == 100 })
	r.Stop(t.Context())
	got := s.delivered()
	if len(got) != 63 || got[0] != 37 {
		t.Fatalf("delivered %d entries starting at %v, want 63 from 37", len(got), got[:1])
	}
	if v := metricValue(t, reg, "belladonna_audit_sink_pruned_total", "p"); v != 37 {
		t.Errorf("pruned_total %v, want 37", v)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "removed by retention") {
		t.Errorf("the loss was not logged as an error:\n%s", logs.String())
	}
}

func TestRunnerReportsLagAndDownWhileFailing(t *testing.T) {
	src := newMemSource()
	src.Append(testEntries(0, 40)...)
	s := &recordingSink{name: "down", fail: func(int, []audit.Entry) error { return errors.New("refused") }}
	reg := prometheus.NewRegistry()
	r := NewRunner(src, t.TempDir(), fastBackoff())
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(s, Batching{Size: 10}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	waitFor(t, 5*time.Second, "up to drop", func() bool { return metricValue(t, reg, "belladonna_audit_sink_up", "down") == 0 })
	src.Append(testEntries(40, 2)...)
	if v := metricValue(t, reg, "belladonna_audit_sink_lag_entries", "down"); v != 42 {
		t.Errorf("lag %v, want 42", v)
	}
}

func TestRunnerRejectsBadCursorAndNames(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.cursor"), []byte("twelve\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(newMemSource(), dir)
	if err := r.Add(&recordingSink{name: "x"}, Batching{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); !errors.Is(err, ErrCursor) {
		t.Errorf("Start with a corrupt cursor = %v, want ErrCursor", err)
	}
	for _, name := range []string{"", "../etc", "a b", ".hidden"} {
		if err := r.Add(&recordingSink{name: name}, Batching{}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Add(%q) = %v, want ErrInvalidConfig", name, err)
		}
	}
	if err := r.Add(&recordingSink{name: "x"}, Batching{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("duplicate name: %v", err)
	}
}

func TestCursorStoreIsAtomicAndLeavesNoTemporaries(t *testing.T) {
	dir := t.TempDir()
	c := newCursorFile(dir, "s")
	if n, err := c.load(); err != nil || n != 0 {
		t.Fatalf("missing cursor = %d, %v; want 0, nil", n, err)
	}
	for _, v := range []uint64{1, 500, 18446744073709551615} {
		if err := c.store(v); err != nil {
			t.Fatal(err)
		}
		if n, err := c.load(); err != nil || n != v {
			t.Fatalf("load = %d, %v; want %d", n, err, v)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the cursor", len(entries))
	}
}

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: 30 * time.Second}
	for attempt := range 80 {
		want := b.min
		for i := 0; i < attempt && want < b.max; i++ {
			want *= 2
		}
		want = min(want, b.max)
		for range 20 {
			d := b.delay(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
