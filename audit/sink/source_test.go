package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// memSource is an in-memory audit.Source: the test double the sinks are
// written against (the real log implements the same interface).
type memSource struct {
	mu      sync.Mutex
	entries []audit.Entry
	pruned  uint64 // indexes below this were removed by "retention"
	changed chan struct{}
}

var _ audit.Source = (*memSource)(nil)

func newMemSource() *memSource {
	return &memSource{changed: make(chan struct{})}
}

// Append commits entries, assigning their indexes.
func (s *memSource) Append(es ...audit.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range es {
		e.Index = uint64(len(s.entries))
		s.entries = append(s.entries, e)
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *memSource) Prune(below uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = below
}

func (s *memSource) Size() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.entries))
}

func (s *memSource) Read(ctx context.Context, from uint64, max int) ([]audit.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < s.pruned {
		return nil, audit.ErrPruned
	}
	if from >= uint64(len(s.entries)) {
		return nil, nil
	}
	end := min(from+uint64(max), uint64(len(s.entries)))
	return append([]audit.Entry(nil), s.entries[from:end]...), nil
}

func (s *memSource) Wait(ctx context.Context, n uint64) error {
	for {
		s.mu.Lock()
		size, ch := uint64(len(s.entries)), s.changed
		s.mu.Unlock()
		if size > n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// testEntry makes a varied entry for index i: decisions with every outcome
// and events with attributes, carrying the characters that formats must
// escape (| \ = newlines, tabs, NUL, non-ASCII).
func testEntry(i int) audit.Entry {
	ts := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	if i%10 == 9 {
		return audit.Entry{
			Time: ts, Kind: audit.KindEvent, Type: audit.EventBundleActivation, Severity: "high",
			Message: fmt.Sprintf("bundle activated | rev=%d\nsecond line", i),
			Attrs:   map[string]string{"bundle": "main", "note": `a\b=c|d`},
			Subject: "ops",
		}
	}
	outcomes := []string{audit.OutcomeAllow, audit.OutcomeDeny, audit.OutcomeUndefined, audit.OutcomeError}
	e := audit.Entry{
		Time: ts, Kind: audit.KindDecision, Type: string(audit.KindDecision),
		DecisionID: fmt.Sprintf("dec-%06d", i),
		Revision:   "sha256:abc|def",
		Path:       "app/authz/allow",
		Outcome:    outcomes[i%len(outcomes)],
		LatencyNS:  int64(1000 + i),
		Caller:     fmt.Sprintf("127.0.0.%d:%d", 1+i%200, 40000+i%1000),
		Subject:    fmt.Sprintf("user=%d|ü\\x", i%7),
	}
	input := map[string]any{"user": fmt.Sprintf("u%d", i%7), "note": "tab\there\nnl = | \\ \x00 é"}
	e.Input, _ = json.Marshal(input)
	switch e.Outcome {
	case audit.OutcomeAllow:
		e.Result = json.RawMessage(`true`)
		e.Defined = true
	case audit.OutcomeDeny:
		e.Result = json.RawMessage(`{"allow":false,"reasons":["no role"]}`)
		e.Defined = true
	case audit.OutcomeError:
		e.Error = "eval_conflict_error: functions must not produce multiple outputs"
	}
	return e
}

func testEntries(from, n int) []audit.Entry {
	out := make([]audit.Entry, n)
	for i := range out {
		out[i] = testEntry(from + i)
	}
	return out
}
