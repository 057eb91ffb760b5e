package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileLog appends hash-chained entries to <dir>/decisions.jsonl.
type FileLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  uint64
	prev string
}

// FileName is the log's file name inside the data directory.
const FileName = "decisions.jsonl"

// OpenFileLog opens (creating if needed) the log in dir and resumes the chain
// from its last entry. A log whose chain does not verify is refused: appending
// to a tampered log would launder it.
func OpenFileLog(dir string) (*FileLog, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("audit: creating %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	n, last, err := verifyFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("audit: opening %s: %w", path, err)
	}
	l := &FileLog{f: f, path: path, prev: genesis}
	if n > 0 {
		l.seq, l.prev = last.Seq, last.Hash
	}
	return l, nil
}

// Path is the log file's path.
func (l *FileLog) Path() string { return l.path }

// Append chains e to the log and writes it. Seq, PrevHash and Hash are set here.
func (l *FileLog) Append(_ context.Context, e Entry) error {
	return l.appendLegacy(legacyEntry{Time: e.Time, Kind: string(e.Kind), DecisionID: e.DecisionID, Revision: e.Revision,
		Path: e.Path, Input: e.Input, Result: e.Result, Defined: e.Defined, LatencyNS: e.LatencyNS, Caller: e.Caller, Error: e.Error})
}

func (l *FileLog) appendLegacy(e legacyEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit: log closed")
	}
	e.Seq = l.seq + 1
	e.PrevHash = l.prev
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	h, err := e.digest()
	if err != nil {
		return err
	}
	e.Hash = h
	bs, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit: encoding entry: %w", err)
	}
	if _, err := l.f.Write(append(bs, '\n')); err != nil {
		return fmt.Errorf("audit: writing %s: %w", l.path, err)
	}
	l.seq, l.prev = e.Seq, e.Hash
	return nil
}

// Close syncs and closes the file.
func (l *FileLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := errors.Join(l.f.Sync(), l.f.Close())
	l.f = nil
	return err
}

// ChainError names the first entry at which the chain breaks.
type ChainError struct {
	Line   int
	Reason string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("audit log chain broken at line %d: %s", e.Line, e.Reason)
}

// Verify checks the whole chain of the log at path and returns the number of
// entries. Any edited, inserted, deleted or reordered entry is a *ChainError.
func Verify(path string) (int, error) {
	n, _, err := verifyFile(path)
	return n, err
}

func verifyFile(path string) (int, legacyEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, legacyEntry{}, err
	}
	defer f.Close()
	return verifyReader(f)
}

func verifyReader(r io.Reader) (int, legacyEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64<<20)
	prev, n := genesis, 0
	var last legacyEntry
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		n++
		var e legacyEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return n, last, &ChainError{Line: n, Reason: "not a JSON entry: " + err.Error()}
		}
		if e.Seq != uint64(n) {
			return n, last, &ChainError{Line: n, Reason: fmt.Sprintf("sequence %d, want %d", e.Seq, n)}
		}
		if e.PrevHash != prev {
			return n, last, &ChainError{Line: n, Reason: "prev_hash does not match the previous entry"}
		}
		h, err := e.digest()
		if err != nil {
			return n, last, err
		}
		if h != e.Hash {
			return n, last, &ChainError{Line: n, Reason: "hash does not match the entry's content"}
		}
		prev, last = e.Hash, e
	}
	if err := sc.Err(); err != nil {
		return n, last, fmt.Errorf("reading audit log: %w", err)
	}
	return n, last, nil
}
