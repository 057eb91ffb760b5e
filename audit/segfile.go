package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// Reused segment files.
//
// Appending to a fresh file grows it, and on ext4 every fsync of a grown
// file commits the journal. A file whose blocks are already written needs
// only the data flushed. So once a closed segment is compressed its plain
// file is kept as a spare instead of being deleted, and the next segment
// is written over it: the group commits then cost an fdatasync of blocks
// in place. Zero-filling new files ahead instead was measured and dropped:
// writing the zeros took a fifth of the CPU and their writeback slowed the
// log's own fsyncs.
//
// A reused file holds the old segment's records past the new segment's
// end. They are told apart by the hash chain: no stale record continues
// the chain of the new one (scanBytes with link, Reader.scanActive, the
// last segment in Verify). A segment is cut to its exact length before the
// next one is created and when the log closes, so only the segment being
// written can have such a tail.
//
// Readers of closed plain segments hold a shared flock while they read; a
// file is reused only if an exclusive flock succeeds after it was renamed
// away, so a reader never sees a file change under it (openSegmentFile).

// maxSpares bounds the reused files kept ready.
const maxSpares = 2

const sparePrefix = ".spare-"

type spareFile struct {
	// f holds LOCK_EX while a spare, and LOCK_SH once a segment is written
	// over it, until that segment is sealed: readers share the lock, so no
	// file anybody reads is ever reused.
	f    *os.File
	path string
	size int64
}

// recycle keeps the plain file of a segment just compressed as a spare,
// or removes it. A reader holding it (shared lock) makes it removed: the
// reader keeps its open file and the name is gone.
func (l *Log) recycle(path string) error {
	l.spareMu.Lock()
	full := len(l.spares) >= maxSpares
	l.spareMu.Unlock()
	if full || l.failure() != nil {
		return os.Remove(path)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() < l.opts.SegmentBytes {
		return os.Remove(path)
	}
	// Rename first, then lock: a reader that locks the file after this
	// sees that its name is gone and reads the compressed form instead.
	dst := filepath.Join(filepath.Dir(path), sparePrefix+strings.TrimPrefix(filepath.Base(path), "seg-"))
	if err := os.Rename(path, dst); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		os.Remove(dst)
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		// A reader still has it: let it finish on its own open file.
		f.Close()
		return os.Remove(dst)
	}
	// The rename must be durable before the file is written over: else a
	// crash could bring back seg-X.log holding another segment's header.
	if err := syncDir(filepath.Dir(dst)); err != nil {
		f.Close()
		os.Remove(dst)
		return err
	}
	l.spareMu.Lock()
	l.spares = append(l.spares, spareFile{f: f, path: dst, size: st.Size()})
	l.spareMu.Unlock()
	l.m.recycled.Inc()
	return nil
}

// takeSpare returns a spare file, or ok false when none is ready.
func (l *Log) takeSpare() (spareFile, bool) {
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	if len(l.spares) == 0 {
		return spareFile{}, false
	}
	s := l.spares[0]
	l.spares = l.spares[1:]
	return s, true
}

// dropSpares closes and removes the spare files.
func (l *Log) dropSpares() {
	l.spareMu.Lock()
	defer l.spareMu.Unlock()
	for _, s := range l.spares {
		s.f.Close()
		os.Remove(s.path)
	}
	l.spares = nil
}

// removeLeftovers deletes files a previous process left half made: a
// segment being created never got its name; spares are only a speed-up.
func removeLeftovers(segDir string) {
	for _, pattern := range []string{".new-*.log", sparePrefix + "*"} {
		if paths, err := filepath.Glob(filepath.Join(segDir, pattern)); err == nil {
			for _, p := range paths {
				os.Remove(p)
			}
		}
	}
}

// reuseSpare writes hdr over the start of a spare and renames it to path.
// The file keeps its size (its capacity); what follows the header is stale.
func reuseSpare(s spareFile, path string, hdr []byte) (*os.File, error) {
	err := func() error {
		if _, err := s.f.WriteAt(hdr, 0); err != nil {
			return fmt.Errorf("writing header: %w", err)
		}
		if err := datasync(s.f); err != nil {
			return err
		}
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists already", filepath.Base(path))
		}
		// Shared from here on: readers of the new segment lock it too.
		if err := syscall.Flock(int(s.f.Fd()), syscall.LOCK_SH); err != nil {
			return fmt.Errorf("sharing the lock: %w", err)
		}
		return os.Rename(s.path, path)
	}()
	if err != nil {
		s.f.Close()
		os.Remove(s.path)
		return nil, fmt.Errorf("audit: creating segment %s from a spare file: %w", filepath.Base(path), err)
	}
	return s.f, nil
}

// cutActive trims the active segment to its records and syncs that, so a
// reused file's stale tail never outlives the segment's writing.
func (l *Log) cutActive() error {
	if l.activeFile == nil || l.activeCap <= l.activeSize {
		return nil
	}
	if err := l.activeFile.Truncate(l.activeSize); err != nil {
		return fmt.Errorf("audit: cutting segment %s to its records: %w", filepath.Base(l.active.path), err)
	}
	if err := l.activeFile.Sync(); err != nil {
		return fmt.Errorf("audit: syncing segment %s: %w", filepath.Base(l.active.path), err)
	}
	l.activeCap = l.activeSize
	return nil
}

// errMoved: a closed plain segment was compressed and its file reused or
// removed; its records are in the .zst now.
var errMoved = errors.New("segment moved")

// openSegmentFile opens the segment's current file for reading. A plain
// file is returned holding a shared flock (released by Close), so it
// cannot be reused while read; if it was compressed meanwhile, the
// compressed file is opened instead.
func openSegmentFile(s *segment) (*os.File, string, bool, error) {
	for attempt := range 8 {
		if attempt > 0 {
			time.Sleep(time.Millisecond << attempt)
		}
		path, compressed := s.location()
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) && !compressed {
			s.moved()
			continue
		}
		if err != nil {
			return nil, path, compressed, fmt.Errorf("audit: opening segment %s: %w", filepath.Base(path), err)
		}
		if compressed {
			return f, path, true, nil
		}
		lockErr := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if same, err := sameFile(f, path); err != nil {
			f.Close()
			return nil, path, false, err
		} else if !same {
			// Renamed away (reused or about to be): read the compressed form.
			f.Close()
			s.moved()
			continue
		}
		if errors.Is(lockErr, syscall.EWOULDBLOCK) {
			// Only a file being made a spare is held exclusively, and it
			// is renamed first: a race with that rename; look again.
			f.Close()
			continue
		}
		if lockErr != nil {
			f.Close()
			return nil, path, false, fmt.Errorf("audit: locking segment %s: %w", filepath.Base(path), lockErr)
		}
		return f, path, false, nil
	}
	path, _ := s.location()
	return nil, path, false, fmt.Errorf("audit: segment %s keeps moving while read", filepath.Base(path))
}

// sameFile reports whether path still names the file f has open.
func sameFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("audit: stat of segment %s: %w", filepath.Base(path), err)
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("audit: stat of segment %s: %w", filepath.Base(path), err)
	}
	return os.SameFile(fi, pi), nil
}

// moved switches a plain segment to its compressed file name (another
// process compressed it; this one's listing is out of date).
func (s *segment) moved() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.compressed {
		// Offsets stay valid: they are offsets into the plain bytes.
		s.path, s.compressed = s.path+".zst", true
	}
}

// warnSpare logs a spare that could not be used; a fresh file is made.
func (l *Log) warnSpare(err error) {
	l.log.Warn("audit: reusing a segment file failed; creating a new one", logfields.Error, err)
}
