package audit

import (
	"context"
	"time"
)

// Filter selects entries for queries and replays. Zero fields match anything.
type Filter struct {
	Since, Until time.Time // Until is exclusive
	Kind         Kind
	Type         string
	Path         string // exact, or a prefix when it ends in "/"
	Outcome      string
	Revision     string
	Subject      string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e *Entry) bool {
	switch {
	case !f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && !e.Time.Before(f.Until),
		f.Kind != "" && e.Kind != f.Kind,
		f.Type != "" && e.Type != f.Type,
		f.Outcome != "" && e.Outcome != f.Outcome,
		f.Revision != "" && e.Revision != f.Revision,
		f.Subject != "" && e.Subject != f.Subject:
		return false
	}
	if f.Path != "" {
		if n := len(f.Path); f.Path[n-1] == '/' {
			return len(e.Path) >= n-1 && e.Path[:n-1] == f.Path[:n-1]
		}
		return e.Path == f.Path
	}
	return true
}

// Scan calls fn for every entry of src from index from that matches f, in
// order, until the end of the log, fn returns false, or ctx ends. It is the
// streaming read the impact replay and compliance evidence use.
func Scan(ctx context.Context, src Source, from uint64, f Filter, fn func(Entry) bool) error {
	const batch = 1024
	for {
		entries, err := src.Read(ctx, from, batch)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return nil
		}
		for i := range entries {
			if f.Match(&entries[i]) && !fn(entries[i]) {
				return nil
			}
		}
		from = entries[len(entries)-1].Index + 1
	}
}
