package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// CursorFile is the runner's state file inside its directory.
const CursorFile = "correlate.cursor"

const cursorVersion = 1

// cursorState is what the runner persists: where to resume, what the
// engine's windows and cooldowns looked like there, and the incidents it was
// about to append when it wrote the file (write-ahead, so that a crash
// between the append and the next write neither loses nor repeats them).
type cursorState struct {
	Version int `json:"version"`
	// Next is the index of the next entry to process.
	Next uint64 `json:"next"`
	// ReplayFrom is the lowest index any window held; on restart the entries
	// from there to Next refill the windows (without evaluating).
	ReplayFrom uint64          `json:"replay_from"`
	Clock      time.Time       `json:"clock,omitzero"`
	Cooldowns  []cooldownState `json:"cooldowns,omitempty"`
	// Pending are incidents raised for entries before Next whose append was
	// not yet confirmed; Horizon is the log size before they were appended,
	// so they can only be found at or after it.
	Pending []audit.Entry `json:"pending,omitempty"`
	Horizon uint64        `json:"horizon,omitempty"`
}

// cooldownState is one group that must stay quiet until Until.
type cooldownState struct {
	Rule  string    `json:"rule"`
	By    string    `json:"by,omitempty"`
	Group string    `json:"group,omitempty"`
	Until time.Time `json:"until"`
}

// readCursor reads the state file; ok is false when there is none yet.
func readCursor(path string) (st cursorState, ok bool, err error) {
	bs, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cursorState{}, false, nil
	}
	if err != nil {
		return cursorState{}, false, fmt.Errorf("correlate: reading cursor: %w", err)
	}
	if err := json.Unmarshal(bs, &st); err != nil {
		return cursorState{}, false, fmt.Errorf("correlate: cursor %s is corrupt (remove it to start over from the beginning of the log): %w", path, err)
	}
	if st.Version != cursorVersion {
		return cursorState{}, false, fmt.Errorf("correlate: cursor %s has version %d, want %d", path, st.Version, cursorVersion)
	}
	return st, true, nil
}

// writeCursor replaces the state file atomically: a temporary file in the
// same directory, fsynced, renamed over the old one, and the directory
// fsynced so that the rename itself survives a crash.
func writeCursor(path string, st cursorState) error {
	st.Version = cursorVersion
	bs, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("correlate: encoding cursor: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, CursorFile+".tmp*")
	if err != nil {
		return fmt.Errorf("correlate: writing cursor: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op once renamed
	if _, err := f.Write(bs); err != nil {
		f.Close()
		return fmt.Errorf("correlate: writing cursor: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("correlate: syncing cursor: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("correlate: writing cursor: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("correlate: replacing cursor: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("correlate: syncing cursor directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("correlate: syncing cursor directory: %w", err)
	}
	return nil
}

// snapshot captures the engine state to persist with cursor next.
func (e *Engine) snapshot(next uint64) cursorState {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := cursorState{Next: next, ReplayFrom: next, Clock: e.clock}
	for _, r := range e.rules {
		for g := r.head; g != nil; g = g.next {
			if len(g.slots) > 0 && g.slots[0].index < st.ReplayFrom {
				st.ReplayFrom = g.slots[0].index
			}
			if g.coolUntil.After(e.clock) {
				st.Cooldowns = append(st.Cooldowns, cooldownState{Rule: r.Name, By: g.by, Group: g.value, Until: g.coolUntil})
			}
		}
	}
	return st
}

// fill adds an entry to the windows without evaluating any rule: the
// runner's warm-up after a restart.
func (e *Engine) fill(ctx context.Context, ent *audit.Entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.process(ctx, ent, false)
}

// restore puts back the clock and cooldowns of a snapshot. Cooldowns of
// rules (or group_by fields) that are no longer loaded are dropped.
func (e *Engine) restore(st cursorState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.Clock.After(e.clock) {
		e.clock = st.Clock
	}
	for _, c := range st.Cooldowns {
		for _, r := range e.rules {
			if r.Name != c.Rule {
				continue
			}
			i := -1
			for j, f := range r.groupBy {
				if f.name == c.By {
					i = j
				}
			}
			if (c.By == "") != (i < 0) {
				continue
			}
			key := ""
			if i >= 0 {
				key = r.keyFor(i, c.Group)
			}
			g, evicted := r.lookup(key, c.Group, c.By, e.maxGroups)
			if evicted {
				r.mEvictGroups.Inc()
			}
			if c.Until.After(g.coolUntil) {
				g.coolUntil = c.Until
			}
		}
	}
}
