package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openLog(t testing.TB, dir string, mod ...func(*Options)) *Log {
	t.Helper()
	opts := Options{Dir: dir}
	for _, m := range mod {
		m(&opts)
	}
	l, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func decisionEntry(i int) *Entry {
	return &Entry{
		Kind: KindDecision, DecisionID: fmt.Sprintf("d-%06d", i), Revision: "sha256:abc",
		Path:   "security/authz/allow",
		Input:  json.RawMessage(fmt.Sprintf(`{"subject":{"id":"user%d","roles":["dev"]},"action":"read","resource":{"type":"repo","id":"r%d"}}`, i%100, i)),
		Result: json.RawMessage(`true`), Outcome: OutcomeAllow, Defined: true, LatencyNS: 12345, Caller: "127.0.0.1:5000",
	}
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := from; i < from+n; i++ {
		wg.Go(func() {
			if _, err := l.Append(context.Background(), decisionEntry(i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func mustVerify(t *testing.T, dir string) *VerifyReport {
	t.Helper()
	rep, err := Verify(context.Background(), dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir)
	appendN(t, l, 0, 500)
	if l.Size() != 500 {
		t.Fatalf("size %d", l.Size())
	}
	got, err := l.Read(context.Background(), 0, 1000)
	if err != nil || len(got) != 500 {
		t.Fatalf("read %d entries, %v", len(got), err)
	}
	seen := map[string]bool{}
	for i, e := range got {
		if e.Index != uint64(i) || e.Kind != KindDecision || e.Type != "decision" {
			t.Fatalf("entry %d: %+v", i, e)
		}
		seen[e.DecisionID] = true
	}
	if len(seen) != 500 {
		t.Fatalf("%d distinct decisions", len(seen))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLog(t, dir)
	appendN(t, l, 500, 10)
	if l.Size() != 510 {
		t.Fatalf("size after reopen %d", l.Size())
	}
	l.Close()
	rep := mustVerify(t, dir)
	if !rep.OK() || rep.Entries != 510 || rep.Checkpoints == 0 {
		t.Fatalf("verify: %+v", rep)
	}
}

func TestSegmentsRollAndCompress(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 8 << 10; o.CheckpointEvery = 100 })
	for r := range 20 {
		appendN(t, l, r*50, 50) // a segment rolls after each batch
	}
	l.Close()
	segs, _ := listSegments(filepath.Join(dir, "segments"))
	zst := 0
	for _, s := range segs {
		if s.compressed {
			zst++
		}
	}
	if len(segs) < 10 || zst != len(segs)-1 {
		t.Fatalf("%d segments, %d compressed; want many, all but the active compressed", len(segs), zst)
	}
	// A compressed segment is a plain zstd stream (the frame index is a
	// skippable frame) that decodes to a valid segment with as many records
	// as its index says.
	x, ok, err := readZIndex(segs[0].path)
	if err != nil || !ok {
		t.Fatalf("no frame index: %v", err)
	}
	whole, err := segs[0].content()
	if err != nil {
		t.Fatal(err)
	}
	if res, err := scanBytes(whole, true); err != nil || res.count != x.count || res.torn || res.corrupt {
		t.Fatalf("decoded segment: %+v %v, index says %d records", res, err, x.count)
	}
	l = openLog(t, dir)
	defer l.Close()
	for _, from := range []uint64{0, 63, 64, 500, 999} {
		got, err := l.Read(context.Background(), from, 3)
		if err != nil || len(got) == 0 || got[0].Index != from {
			t.Fatalf("read from %d: %v %v", from, got, err)
		}
	}
	rep := mustVerify(t, dir)
	if !rep.OK() || rep.Entries != 1000 || rep.Checkpoints < 9 {
		t.Fatalf("verify: %+v", rep)
	}
}

// tamper rewrites the first segment's records through f.
func tamper(t *testing.T, dir string, f func(recs [][]byte) [][]byte) {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, "segments"))
	if err != nil || len(segs) == 0 {
		t.Fatal(err)
	}
	b, err := os.ReadFile(segs[0].path)
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	off := headerSize
	for off < len(b) {
		r, err := parseRecord(b[off:])
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b[off:off+r.size])
		off += r.size
	}
	out := bytes.Clone(b[:headerSize])
	for _, r := range f(recs) {
		out = append(out, r...)
	}
	if err := os.WriteFile(segs[0].path, out, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyNamesTamperedIndex(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(recs [][]byte) [][]byte
		kind   string
		index  uint64
	}{
		{"flip a byte", func(r [][]byte) [][]byte { r[10] = bytes.Clone(r[10]); r[10][len(r[10])-5] ^= 1; return r }, ProblemCorrupt, 10},
		{"delete an entry", func(r [][]byte) [][]byte { return append(r[:20:20], r[21:]...) }, ProblemChain, 20},
		{"swap two entries", func(r [][]byte) [][]byte { r[30], r[31] = r[31], r[30]; return r }, ProblemChain, 30},
		{"insert a copy", func(r [][]byte) [][]byte { return append(r[:40:40], append([][]byte{r[5]}, r[40:]...)...) }, ProblemChain, 40},
		{"truncate", func(r [][]byte) [][]byte { return r[:90] }, ProblemTruncated, 90},
		{"rewrite with a valid checksum", func(r [][]byte) [][]byte {
			var rec record
			rec, _ = parseRecord(r[50])
			payload := bytes.Replace(rec.payload, []byte(`"result":true`), []byte(`"result":null`), 1)
			r[50] = appendRecord(nil, rec.chain, payload)
			return r
		}, ProblemChain, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
			appendN(t, l, 0, 100)
			l.Close()
			if rep := mustVerify(t, dir); !rep.OK() {
				t.Fatalf("clean log: %+v", rep.Problems)
			}
			tamper(t, dir, tc.mutate)
			rep := mustVerify(t, dir)
			if rep.OK() {
				t.Fatal("tampering not detected")
			}
			p := rep.Problems[0]
			if p.Kind != tc.kind || p.Index != tc.index {
				t.Fatalf("first problem %+v, want %s at %d (all: %+v)", p, tc.kind, tc.index, rep.Problems)
			}
		})
	}
}

func TestTornTailIsCutAndReported(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendN(t, l, 0, 50)
	l.Close()
	segs, _ := listSegments(filepath.Join(dir, "segments"))
	last := segs[len(segs)-1].path
	// Half a record: a length that promises more than was written.
	f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(appendRecord(nil, [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32},
		[]byte(`{"kind":"decision","decision_id":"never-acked"}`))[:30])
	f.Close()

	l = openLog(t, dir)
	rec := l.Recovery()
	if rec.TornBytes != 30 || rec.Segment == "" {
		t.Fatalf("recovery %+v", rec)
	}
	if l.Size() != 51 {
		t.Fatalf("size %d, want 50 entries plus the torn_tail event", l.Size())
	}
	got, _ := l.Read(context.Background(), 50, 1)
	if len(got) != 1 || got[0].Type != EventTornTail {
		t.Fatalf("last entry %+v", got)
	}
	l.Close()
	if rep := mustVerify(t, dir); !rep.OK() {
		t.Fatalf("after recovery: %+v", rep.Problems)
	}
}

func TestDamageInsideLastSegmentRefusesOpen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendN(t, l, 0, 50)
	l.Close()
	tamper(t, dir, func(r [][]byte) [][]byte { r[7] = bytes.Clone(r[7]); r[7][len(r[7])-1] ^= 0xff; return r })
	_, err := Open(context.Background(), Options{Dir: dir})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("entry 7")) {
		t.Fatalf("want a refusal naming entry 7, got %v", err)
	}
}

func TestTruncationBelowCheckpointRefusesOpen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.NoCompress = true })
	appendN(t, l, 0, 60)
	l.Close() // signs a checkpoint at 60
	tamper(t, dir, func(r [][]byte) [][]byte { return r[:40] })
	os.RemoveAll(filepath.Join(dir, "tree")) // a careful attacker drops the tree too
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("want ErrTruncated, got %v", err)
	}
}

func TestProofsVerifyWithTheMerkleLibrary(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.CheckpointEvery = 64 })
	defer l.Close()
	appendN(t, l, 0, 300)
	ctx := context.Background()
	pub := l.key.Public()
	for _, i := range []uint64{0, 1, 63, 64, 150, 299} {
		p, err := l.ProveInclusion(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusionProof(p, pub); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		// A proof for a different payload must fail.
		bad := p
		bad.Payload = append(bytes.Clone(p.Payload), ' ')
		if VerifyInclusionProof(bad, pub) == nil {
			t.Fatalf("entry %d: altered payload verified", i)
		}
	}
	cp, err := l.ProveConsistency(64, 300)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistencyProof(cp); err != nil {
		t.Fatal(err)
	}
	cp.Root1 = bytes.Clone(cp.Root2)
	if VerifyConsistencyProof(cp) == nil {
		t.Fatal("a forged consistency proof verified")
	}
}

func TestWaitWakesOnAppend(t *testing.T) {
	l := openLog(t, t.TempDir())
	defer l.Close()
	done := make(chan error, 1)
	go func() { done <- l.Wait(context.Background(), 0) }()
	time.Sleep(10 * time.Millisecond)
	appendN(t, l, 0, 1)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not wake")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, 5); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestHashesMatchRFC6962(t *testing.T) {
	l, r := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 32)
	if got, want := hashChildren(l, r), hasher.HashChildren(l, r); !bytes.Equal(got, want) {
		t.Fatalf("hashChildren %x, want %x", got, want)
	}
	h := newLeafHasher()
	for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("entry"), 100)} {
		if got, want := h.sum(nil, p), hasher.HashLeaf(p); !bytes.Equal(got, want) {
			t.Fatalf("leaf of %q: %x, want %x", p, got, want)
		}
	}
}

// A committer that cannot keep up (here: held at the tree update) stops the
// writer after MaxUnsynced entries and the queue after QueueSize more; an
// append beyond that waits, gives up with its context and is not written,
// and once the committer resumes every waiting append completes.
func TestBackPressureBoundsPendingAppends(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.QueueSize = 8; o.MaxUnsynced = 32; o.MaxBatch = 4 })
	defer l.Close()
	l.tree.mu.RLock() // the syncer blocks taking it for writing
	var wg sync.WaitGroup
	var acked atomic.Int64
	for i := range 200 {
		wg.Go(func() {
			if _, err := l.Append(context.Background(), decisionEntry(i)); err == nil {
				acked.Add(1)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if n := l.unsynced.Load(); n > 32+4 {
		t.Fatalf("%d entries written and unsynced, bound is 32 (+ one batch)", n)
	}
	if q := len(l.queue); q != 8 {
		t.Fatalf("queue holds %d, want it full at 8", q)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Append(ctx, decisionEntry(999)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("append into a full log: %v, want the context's deadline", err)
	}
	if acked.Load() != 0 || l.Size() != 0 {
		t.Fatalf("%d acknowledged, size %d, before anything was durable", acked.Load(), l.Size())
	}
	l.tree.mu.RUnlock()
	wg.Wait()
	if acked.Load() != 200 || l.Size() != 200 {
		t.Fatalf("%d acknowledged, size %d, want 200", acked.Load(), l.Size())
	}
	es, _ := l.Read(context.Background(), 0, 300)
	for _, e := range es {
		if e.DecisionID == "d-000999" {
			t.Fatal("the append that gave up was written")
		}
	}
}
