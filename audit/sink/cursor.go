package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cursorFile is where a sink's next index to send is kept between runs.
type cursorFile struct {
	path string
}

func newCursorFile(dir, name string) cursorFile {
	return cursorFile{path: filepath.Join(dir, name+".cursor")}
}

// load returns the persisted next index; a missing file means nothing was
// sent yet.
func (c cursorFile) load() (uint64, error) {
	bs, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit sink: reading cursor %s: %w", c.path, err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(bs)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s holds %q", ErrCursor, c.path, truncate(string(bs), 40))
	}
	return n, nil
}

// store replaces the cursor so that a crash leaves either the old or the new
// value on disk, never a torn one: write a temporary file, fsync it, rename it
// over the cursor, then fsync the directory so that the rename itself is
// durable.
func (c cursorFile) store(next uint64) (err error) {
	dir := filepath.Dir(c.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(c.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("audit sink: writing cursor: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.WriteString(strconv.FormatUint(next, 10) + "\n"); err != nil {
		return fmt.Errorf("audit sink: writing cursor: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("audit sink: syncing cursor: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("audit sink: closing cursor: %w", err)
	}
	if err = os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("audit sink: replacing cursor: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit sink: syncing cursor directory: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("audit sink: syncing cursor directory: %w", err)
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...(truncated)"
}
