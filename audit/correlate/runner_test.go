package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// memLog is an in-memory audit.Source and audit.Appender. Entries below
// pruned read as audit.ErrPruned. onAppend, when set, runs instead of the
// plain append (to simulate failures and crashes).
type memLog struct {
	mu       sync.Mutex
	entries  []audit.Entry
	pruned   uint64
	changed  chan struct{}
	onAppend func(ctx context.Context, l *memLog, e *audit.Entry) (uint64, error)
}

func newMemLog() *memLog { return &memLog{changed: make(chan struct{})} }

func (l *memLog) Append(ctx context.Context, e *audit.Entry) (uint64, error) {
	if f := l.onAppend; f != nil {
		return f(ctx, l, e)
	}
	return l.add(*e), nil
}

func (l *memLog) add(e audit.Entry) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Index = uint64(len(l.entries))
	// A stored copy, as a real log stores bytes.
	bs, _ := json.Marshal(e)
	var cp audit.Entry
	_ = json.Unmarshal(bs, &cp)
	cp.Index = e.Index
	l.entries = append(l.entries, cp)
	close(l.changed)
	l.changed = make(chan struct{})
	return e.Index
}

func (l *memLog) Size() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.entries))
}

func (l *memLog) Read(_ context.Context, from uint64, max int) ([]audit.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from < l.pruned {
		return nil, audit.ErrPruned
	}
	if from >= uint64(len(l.entries)) {
		return nil, nil
	}
	end := min(uint64(len(l.entries)), from+uint64(max))
	return append([]audit.Entry(nil), l.entries[from:end]...), nil
}

func (l *memLog) Wait(ctx context.Context, n uint64) error {
	for {
		l.mu.Lock()
		size, ch := uint64(len(l.entries)), l.changed
		l.mu.Unlock()
		if size > n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *memLog) incidents() []audit.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []audit.Entry
	for _, e := range l.entries {
		if e.Type == audit.EventIncident {
			out = append(out, e)
		}
	}
	return out
}

func (l *memLog) denials(subject string, at time.Duration, n int) {
	for i := range n {
		l.add(*deny(0, subject, at+time.Duration(i)*time.Second))
	}
}

// startRunner starts a runner with a fresh engine over l with its cursor in
// dir; the returned stop function stops it and fails the test on error.
func startRunner(t *testing.T, l *memLog, dir string, opts ...RunnerOption) (*Runner, func()) {
	t.Helper()
	eng, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(eng, l, l, dir, append([]RunnerOption{WithCheckpointInterval(time.Hour)}, opts...)...)
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r, func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Fatalf("stop: %v", err)
		}
	}
}

// waitCaughtUp waits until the runner has processed everything in the log,
// its own incidents included.
func waitCaughtUp(t *testing.T, r *Runner, l *memLog) {
	t.Helper()
	waitFor(t, "the runner to catch up", func() bool {
		r.mu.Lock()
		pending := len(r.pending)
		r.mu.Unlock()
		return pending == 0 && r.Cursor() >= l.Size()
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRunnerAppendsAndResumes(t *testing.T) {
	dir := t.TempDir()
	l := newMemLog()
	l.denials("alice", 0, 5)            // 0-4: brute force
	l.denials("bob", 10*time.Second, 3) // 5-7: bob is on his way

	r, stop := startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	incs := l.incidents()
	if len(incs) != 1 || incs[0].Attrs[AttrGroup] != "alice" || incs[0].Index != 8 || incs[0].Attrs[AttrIndexes] != "0,1,2,3,4" {
		t.Fatalf("after the first run: %s", describe(incs))
	}
	if got := readCursorT(t, dir).Next; got != 9 {
		t.Errorf("cursor %d after stop, want 9 (past the incident)", got)
	}

	// While stopped: alice goes on within her cooldown, bob reaches five.
	l.denials("alice", 20*time.Second, 5)
	l.denials("bob", 25*time.Second, 2)
	r, stop = startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	incs = l.incidents()
	if len(incs) != 2 || incs[1].Attrs[AttrGroup] != "bob" || incs[1].Attrs[AttrIndexes] != "5,6,7,14,15" {
		t.Fatalf("after the restart, want bob's incident only (alice is cooling down, bob's window was refilled):\n%s", describe(incs))
	}

	// A restart with nothing new raises nothing.
	r, stop = startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	if n := len(l.incidents()); n != 2 {
		t.Fatalf("a restart re-raised: %s", describe(l.incidents()))
	}

	// Once the cooldown has passed alice can fire again.
	l.denials("alice", 2*time.Minute, 5)
	r, stop = startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	if incs := l.incidents(); len(incs) != 3 || incs[2].Attrs[AttrGroup] != "alice" {
		t.Fatalf("after the cooldown: %s", describe(incs))
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.tmp*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestRunnerTailsLive appends while the runner waits.
func TestRunnerTailsLive(t *testing.T) {
	l := newMemLog()
	r, stop := startRunner(t, l, t.TempDir())
	defer stop()
	l.denials("carol", 0, 5)
	waitFor(t, "the incident", func() bool { return len(l.incidents()) == 1 })
	waitCaughtUp(t, r, l)
	if r.Cursor() != 6 {
		t.Errorf("cursor %d, want 6", r.Cursor())
	}
}

// TestRunnerCrashAfterAppend: the incident reached the log but the runner
// died before writing its cursor again; the restart must not repeat it.
func TestRunnerCrashAfterAppend(t *testing.T) {
	dir := t.TempDir()
	l := newMemLog()
	l.denials("alice", 0, 5)
	appended := make(chan struct{})
	l.onAppend = func(ctx context.Context, l *memLog, e *audit.Entry) (uint64, error) {
		l.add(*e)
		close(appended)
		<-ctx.Done() // the acknowledgement never arrives
		return 0, ctx.Err()
	}
	_, stop := startRunner(t, l, dir)
	<-appended
	stop()
	if st := readCursorT(t, dir); len(st.Pending) != 1 || st.Next != 5 {
		t.Fatalf("cursor %+v, want the incident pending and next 5", st)
	}

	l.onAppend = nil
	r, stop := startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	if incs := l.incidents(); len(incs) != 1 {
		t.Fatalf("the incident was repeated:\n%s", describe(incs))
	}
	if st := readCursorT(t, dir); len(st.Pending) != 0 {
		t.Errorf("still pending: %+v", st.Pending)
	}
}

// TestRunnerCrashBeforeAppend: the runner died with the incident written
// ahead but not appended; the restart appends it once.
func TestRunnerCrashBeforeAppend(t *testing.T) {
	dir := t.TempDir()
	l := newMemLog()
	l.denials("alice", 0, 5)
	tried := make(chan struct{})
	var once sync.Once
	l.onAppend = func(ctx context.Context, _ *memLog, _ *audit.Entry) (uint64, error) {
		once.Do(func() { close(tried) })
		return 0, errors.New("disk full")
	}
	_, stop := startRunner(t, l, dir)
	<-tried
	stop()
	if n := len(l.incidents()); n != 0 {
		t.Fatal("failed appends reached the log")
	}
	l.onAppend = nil
	r, stop := startRunner(t, l, dir)
	waitCaughtUp(t, r, l)
	stop()
	if incs := l.incidents(); len(incs) != 1 || incs[0].Attrs[AttrTrigger] != "4" {
		t.Fatalf("want the pending incident appended once:\n%s", describe(incs))
	}
}

func TestRunnerPrunedLog(t *testing.T) {
	l := newMemLog()
	l.denials("alice", 0, 4)             // 0-3, pruned below
	l.denials("alice", 5*time.Second, 4) // 4-7
	l.pruned = 4
	r, stop := startRunner(t, l, t.TempDir())
	waitCaughtUp(t, r, l)
	stop()
	if n := len(l.incidents()); n != 0 {
		t.Fatalf("pruned entries were correlated: %s", describe(l.incidents()))
	}
}

func TestRunnerSkipHistory(t *testing.T) {
	l := newMemLog()
	l.denials("alice", 0, 10)
	r, stop := startRunner(t, l, t.TempDir(), WithSkipHistory())
	if r.Cursor() != 10 {
		t.Errorf("cursor %d, want the end of the log", r.Cursor())
	}
	l.denials("bob", time.Second, 5)
	waitFor(t, "the incident", func() bool { return len(l.incidents()) == 1 })
	waitCaughtUp(t, r, l)
	stop()
	if incs := l.incidents(); len(incs) != 1 || incs[0].Attrs[AttrGroup] != "bob" {
		t.Fatalf("%s", describe(incs))
	}
}

func TestRunnerCorruptCursor(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CursorFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	eng, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(eng, newMemLog(), newMemLog(), dir)
	if err := r.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("got %v, want a corrupt cursor error", err)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRunnerCheckpointInterval(t *testing.T) {
	dir := t.TempDir()
	l := newMemLog()
	eng, err := New()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(eng, l, l, dir, WithCheckpointInterval(time.Millisecond), WithBatchSize(2))
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Stop(context.Background())
	l.denials("alice", 0, 3)
	waitFor(t, "the cursor to reach 3 on disk while running", func() bool {
		st, ok, _ := readCursor(filepath.Join(dir, CursorFile))
		return ok && st.Next == 3
	})
}

func readCursorT(t *testing.T, dir string) cursorState {
	t.Helper()
	st, ok, err := readCursor(filepath.Join(dir, CursorFile))
	if err != nil || !ok {
		t.Fatalf("cursor: %v (exists %v)", err, ok)
	}
	return st
}
