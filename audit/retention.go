package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// RetentionPolicy says which whole closed segments may leave the log. Only a
// prefix of the log is ever removed (oldest first), so what remains is a
// contiguous, verifiable suffix; the Merkle tree files are kept, so old
// checkpoints and proofs for remaining entries still check.
type RetentionPolicy struct {
	// MaxAge removes segments whose newest entry is older than this.
	MaxAge time.Duration
	// MaxBytes removes the oldest segments while the segments' total size
	// exceeds it.
	MaxBytes int64
	// Types, when set, limits removal to segments holding only entries of
	// these types (e.g. "decision"), so security events outlive decisions.
	Types []string
	// ArchiveDir, when set, receives the segments instead of deleting them.
	ArchiveDir string
}

// RetentionResult lists what ApplyRetention removed.
type RetentionResult struct {
	Segments []string
	Entries  uint64
	Bytes    int64
	// FirstIndex is the first entry still in the log.
	FirstIndex uint64
}

// ApplyRetention removes (or archives) the closed segments the policy
// selects and records what it did in the log itself, as a retention event.
func (l *Log) ApplyRetention(ctx context.Context, p RetentionPolicy, now time.Time) (RetentionResult, error) {
	var res RetentionResult
	if p.MaxAge <= 0 && p.MaxBytes <= 0 {
		return res, nil
	}
	l.mu.RLock()
	segs := slices.Clone(l.segments)
	l.mu.RUnlock()
	active := len(segs) - 1 // never the segment being written
	var total int64
	sizes := make([]int64, len(segs))
	for i, s := range segs {
		path, _ := s.location()
		if st, err := os.Stat(path); err == nil {
			sizes[i] = st.Size()
			total += st.Size()
		}
	}
	var remove []*segment
	for i := 0; i < active; i++ {
		s := segs[i]
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := s.ensureScanned(); err != nil {
			return res, err
		}
		s.mu.Lock()
		first, count, sealed := s.first, s.count, s.sealed
		s.mu.Unlock()
		if count == 0 || !sealed {
			break
		}
		entries, err := l.Read(ctx, first, int(count))
		if err != nil {
			return res, err
		}
		old := p.MaxAge > 0 && now.Sub(entries[len(entries)-1].Time) > p.MaxAge
		big := p.MaxBytes > 0 && total > p.MaxBytes
		if !old && !big {
			break // a prefix only: stop at the first segment that stays
		}
		if len(p.Types) > 0 && slices.ContainsFunc(entries, func(e Entry) bool { return !slices.Contains(p.Types, e.Type) }) {
			break
		}
		remove = append(remove, s)
		total -= sizes[i]
		res.Entries += count
		res.Bytes += sizes[i]
	}
	if len(remove) == 0 {
		return res, nil
	}
	for _, s := range remove {
		path, _ := s.location()
		if p.ArchiveDir != "" {
			if err := archiveFile(path, p.ArchiveDir); err != nil {
				return res, err
			}
		} else if err := os.Remove(path); err != nil {
			return res, fmt.Errorf("audit: retention: removing %s: %w", filepath.Base(path), err)
		}
		res.Segments = append(res.Segments, filepath.Base(path))
	}
	if err := syncDir(l.segDir); err != nil {
		return res, err
	}
	l.mu.Lock()
	l.segments = l.segments[len(remove):]
	res.FirstIndex = l.segments[0].first
	l.mu.Unlock()

	action := "deleted"
	if p.ArchiveDir != "" {
		action = "archived to " + p.ArchiveDir
	}
	l.log.Info("audit retention", logfields.Segments, len(res.Segments), logfields.Count, res.Entries, logfields.Action, action)
	_, err := l.Append(ctx, &Entry{Kind: KindEvent, Type: EventRetention, Severity: "info",
		Message: fmt.Sprintf("retention %s %d segment(s): entries %d to %d (%d bytes)", action, len(res.Segments), res.FirstIndex-res.Entries, res.FirstIndex-1, res.Bytes),
		Attrs: map[string]string{
			"first_removed": strconv.FormatUint(res.FirstIndex-res.Entries, 10),
			"last_removed":  strconv.FormatUint(res.FirstIndex-1, 10),
			"segments":      strconv.Itoa(len(res.Segments)),
			"action":        action,
		}})
	return res, err
}

// archiveFile moves path into dir, copying when dir is on another device.
func archiveFile(path, dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("audit: archive dir: %w", err)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if err := os.Rename(path, dst); err == nil {
		return syncDir(dir)
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("audit: archiving %s: %w", filepath.Base(path), err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("audit: archiving %s: %w", filepath.Base(path), err)
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return os.Remove(path)
}
