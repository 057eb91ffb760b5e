package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// fixedEntry is decisionEntry with every field of fixed width: all records
// are the same size, so the stale records of a reused file line up with
// the new segment's and pass their checksums; only the chain tells them.
func fixedEntry(i int) *Entry {
	e := decisionEntry(i)
	e.Input = json.RawMessage(fmt.Sprintf(`{"subject":{"id":"user%03d"},"resource":{"id":"r%06d"}}`, i%100, i))
	e.Time = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	return e
}

func appendFixed(t *testing.T, l *Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := l.Append(context.Background(), fixedEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// reusedLog fills segments of 16 KiB with compression until the segment
// being written is a reused file with stale records past its end.
func reusedLog(t *testing.T, dir string) *Log {
	t.Helper()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 16 << 10 })
	for round := 0; ; round++ {
		appendFixed(t, l, int(l.Size()), 40)
		l.compressing.Wait()
		st, err := l.activeFile.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > l.activeSize+recordOverhead {
			return l
		}
		if round > 200 {
			t.Fatal("no segment file was ever reused")
		}
	}
}

func reusedCount(t *testing.T, l *Log) float64 {
	var m dto.Metric
	if err := l.m.recycled.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.Counter.GetValue()
}

// TestReusedSegmentFilesHoldOnlyTheirEntries writes segments over the files
// of compressed ones and checks that the stale records past the end never
// count: not for the log, not for a reader in another process, not for
// verify, and not after a crash (a copy of the directory taken while the
// writer runs, as a kill -9 leaves it).
func TestReusedSegmentFilesHoldOnlyTheirEntries(t *testing.T) {
	dir := t.TempDir()
	l := reusedLog(t, dir)
	defer l.Close()
	if n := reusedCount(t, l); n == 0 {
		t.Fatal("reused-files metric is 0")
	}
	size := l.Size()

	r, err := OpenReader(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Size(); got != size {
		t.Fatalf("reader sees %d entries, the log has %d: stale records were counted", got, size)
	}
	got, err := r.Read(context.Background(), 0, int(size)+10)
	if err != nil || uint64(len(got)) != size {
		t.Fatalf("reader read %d entries (%v), want %d", len(got), err, size)
	}
	for i, e := range got {
		if want := fixedEntry(i).DecisionID; e.DecisionID != want || e.Index != uint64(i) {
			t.Fatalf("entry %d is %s (index %d), want %s", i, e.DecisionID, e.Index, want)
		}
	}
	if rep := mustVerify(t, dir); !rep.OK() || rep.Entries != size {
		t.Fatalf("verify of the live log: %d entries, problems %+v", rep.Entries, rep.Problems)
	}

	// What a crash leaves: the files as they are now, stale tail included.
	crashed := filepath.Join(t.TempDir(), "crashed")
	if out, err := exec.Command("cp", "-a", dir, crashed).CombinedOutput(); err != nil {
		t.Fatalf("copying the log: %v %s", err, out)
	}
	os.Remove(filepath.Join(crashed, "LOCK"))
	if rep := mustVerify(t, crashed); !rep.OK() || rep.Entries != size {
		t.Fatalf("verify after a crash: %d entries, problems %+v", rep.Entries, rep.Problems)
	}
	c := openLog(t, crashed)
	rec := c.Recovery()
	if rec.TornBytes == 0 || rec.FromIndex != size {
		t.Fatalf("recovery %+v, want the stale tail after entry %d cut", rec, size)
	}
	saved, err := os.ReadFile(rec.SavedTo)
	if err != nil || int64(len(saved)) != rec.TornBytes {
		t.Fatalf("saved tail: %d bytes (%v), want %d", len(saved), err, rec.TornBytes)
	}
	if c.Size() != size+1 {
		t.Fatalf("recovered log has %d entries, want %d and the torn_tail event", c.Size(), size)
	}
	appendFixed(t, c, int(size)+1, 30)
	c.Close()
	if rep := mustVerify(t, crashed); !rep.OK() || rep.Entries != size+31 {
		t.Fatalf("verify after recovery: %d entries, problems %+v", rep.Entries, rep.Problems)
	}
}

// TestClosedLogHasNoStaleTail: Close cuts a reused file to its records, so
// the files of a closed log hold exactly its entries.
func TestClosedLogHasNoStaleTail(t *testing.T) {
	dir := t.TempDir()
	l := reusedLog(t, dir)
	path, size := l.active.path, l.activeSize
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Size() != size {
		t.Fatalf("closed segment is %d bytes (%v), its records %d", st.Size(), err, size)
	}
	l = openLog(t, dir)
	defer l.Close()
	if rec := l.Recovery(); rec.TornBytes != 0 {
		t.Fatalf("reopening a closed log cut %d bytes", rec.TornBytes)
	}
}

// TestReaderKeepsASegmentFromReuse: a file being read is never written
// over; a reader with an old listing finds the compressed form.
func TestReaderKeepsASegmentFromReuse(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 8 << 10; o.NoCompress = true })
	defer l.Close()
	appendFixed(t, l, 0, 200) // one at a time: a batch never spans segments
	l.mu.RLock()
	segs := append([]*segment(nil), l.segments...)
	l.mu.RUnlock()
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	held, other := segs[0], segs[1]
	want, err := os.ReadFile(held.path)
	if err != nil {
		t.Fatal(err)
	}

	// A reader holds the first segment while it is compressed and handed
	// to reuse: the file is removed, not kept, and the reader's bytes stay.
	f, _, compressed, err := openSegmentFile(held)
	if err != nil || compressed {
		t.Fatalf("open: %v (compressed %v)", err, compressed)
	}
	defer f.Close()
	if err := compressSegment(held, l.recycle); err != nil {
		t.Fatal(err)
	}
	if n := len(l.spares); n != 0 {
		t.Fatalf("a file being read became a spare (%d spares)", n)
	}
	if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the reader's bytes changed under it (%v)", err)
	}

	// Unread, the second one is kept to reuse; a reader that listed it
	// before opens the compressed file instead of the spare.
	stale := &segment{first: other.first, path: other.path}
	if err := compressSegment(other, l.recycle); err != nil {
		t.Fatal(err)
	}
	if n := len(l.spares); n != 1 {
		t.Fatalf("%d spares, want the second segment's file", n)
	}
	g, path, compressed, err := openSegmentFile(stale)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	if !compressed || filepath.Ext(path) != ".zst" {
		t.Fatalf("a stale listing opened %s (compressed %v)", path, compressed)
	}
	got, err := l.Read(context.Background(), other.first, 3)
	if err != nil || len(got) != 3 || got[0].Index != other.first {
		t.Fatalf("read from the compressed form: %v %v", got, err)
	}
}

// A reader tells damage from a write in progress: an entry the tree holds
// that does not read back is an error naming it, not the end of the log.
func TestReaderReportsDamageBelowTheTree(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendFixed(t, l, 0, 20)
	l.Close()
	tamper(t, dir, func(r [][]byte) [][]byte { r[7] = bytes.Clone(r[7]); r[7][len(r[7])-1] ^= 0xff; return r })
	r, err := OpenReader(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(context.Background(), 0, 30); err == nil || !strings.Contains(err.Error(), "entry 7 is damaged") {
		t.Fatalf("want an error naming entry 7, got %v", err)
	}
}

// With neither tree nor checkpoints left to say which entries existed, a
// damaged record followed by one that continues its chain is still damage:
// Open refuses and verify names it, instead of cutting it as a torn tail.
func TestDamageWithEntriesAfterItIsNeverATornTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendFixed(t, l, 0, 20)
	l.Close()
	tamper(t, dir, func(r [][]byte) [][]byte { r[7] = bytes.Clone(r[7]); r[7][len(r[7])-3] ^= 0x40; return r })
	os.RemoveAll(filepath.Join(dir, "tree"))
	os.Remove(filepath.Join(dir, "checkpoints.jsonl"))
	rep := mustVerify(t, dir)
	if rep.OK() || rep.Problems[0].Kind != ProblemCorrupt || rep.Problems[0].Index != 7 {
		t.Fatalf("verify: want corrupt at 7, got %+v", rep.Problems)
	}
	if _, err := Open(context.Background(), Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "entry 7 is damaged") {
		t.Fatalf("open: want a refusal naming entry 7, got %v", err)
	}
}

// A reader of the segment being written (itself a reused file) keeps it from
// being reused again after it is sealed: its header never changes under
// the reader.
func TestReaderOfTheActiveSegmentKeepsItFromReuse(t *testing.T) {
	dir := t.TempDir()
	l := reusedLog(t, dir)
	defer l.Close()
	active := l.active
	f, _, compressed, err := openSegmentFile(active)
	if err != nil || compressed {
		t.Fatalf("open: %v (compressed %v)", err, compressed)
	}
	defer f.Close()
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	before := reusedCount(t, l)
	for reusedCount(t, l) < before+4 {
		appendFixed(t, l, int(l.Size()), 40)
		l.compressing.Wait()
	}
	now := make([]byte, headerSize)
	if _, err := f.ReadAt(now, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hdr, now) {
		t.Fatal("the file a reader holds was written over by another segment")
	}
}

// A reader polling a log under load never mistakes the write in progress,
// or a reused file's stale tail, for damage.
func TestLiveReaderSeesNoFalseDamage(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 16 << 10 })
	defer l.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			appendN(t, l, i*20, 20)
		}
	}()
	r, err := OpenReader(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	polls := 0
	for time.Now().Before(deadline) {
		n := l.Size()
		got, err := r.Read(context.Background(), n, 1)
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("poll %d: %v", polls, err)
		}
		_ = got
		polls++
	}
	close(stop)
	<-done
	if reusedCount(t, l) == 0 {
		t.Fatal("no segment file was reused during the run")
	}
	t.Logf("%d polls, %d entries, %v files reused", polls, l.Size(), reusedCount(t, l))
}

func TestSavedTailsAreBounded(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("t%02d.tail", i))
		os.WriteFile(p, []byte("x"), 0o640)
		os.Chtimes(p, base.Add(time.Duration(i)*time.Minute), base.Add(time.Duration(i)*time.Minute))
	}
	pruneSaved(dir, 16)
	des, _ := os.ReadDir(dir)
	if len(des) != 16 || des[0].Name() != "t04.tail" {
		t.Fatalf("kept %d files, oldest %s; want the newest 16 (t04 on)", len(des), des[0].Name())
	}
}

// Tampering inside the segment being written, over a reused file, is still
// named by verify: the entry is below what the tree holds, so it is not
// taken for the stale tail.
func TestVerifyNamesTamperingInAReusedActiveSegment(t *testing.T) {
	dir := t.TempDir()
	l := reusedLog(t, dir)
	defer l.Close()
	if _, err := l.Checkpoint(context.Background()); err != nil { // flushes the tree
		t.Fatal(err)
	}
	seg := l.active
	b, err := os.ReadFile(seg.path)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(headerSize)
	for range 2 {
		r, err := parseRecord(b[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += int64(r.size)
	}
	f, err := os.OpenFile(seg.path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{b[off+recordOverhead+5] ^ 0x20}, off+recordOverhead+5)
	f.Close()
	rep := mustVerify(t, dir)
	if rep.OK() || rep.Problems[0].Kind != ProblemCorrupt || rep.Problems[0].Index != seg.first+2 {
		t.Fatalf("want corrupt at %d, got %+v", seg.first+2, rep.Problems)
	}
}

// A segment cut inside an entry the checkpoint covers is a truncation:
// Open refuses and changes nothing.
func TestCutInsideAKnownEntryRefusesOpen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendFixed(t, l, 0, 20)
	l.Close()
	segs, _ := listSegments(filepath.Join(dir, "segments"))
	path := segs[len(segs)-1].path
	st, _ := os.Stat(path)
	if err := os.Truncate(path, st.Size()-200); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "ends inside entry") {
		t.Fatalf("want ErrTruncated naming the entry, got %v", err)
	}
	if st2, _ := os.Stat(path); st2.Size() != st.Size()-200 {
		t.Fatalf("refused open changed the segment: %d bytes", st2.Size())
	}
}
