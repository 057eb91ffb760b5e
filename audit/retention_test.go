package audit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRetentionRemovesAPrefixAndRecordsIt(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 8 << 10; o.CheckpointEvery = 50 })
	ctx := context.Background()
	for r := range 10 {
		appendN(t, l, r*40, 40)
	}
	before := l.Size()
	pub := l.key.Public()
	// An event in the middle keeps its segment (and all after it) when only
	// decisions may go.
	l.Append(ctx, &Entry{Kind: KindEvent, Type: EventSignatureFailure, Message: "bad bundle signature"})
	for r := range 5 {
		appendN(t, l, 1000+r*40, 40)
	}
	l.compressing.Wait() // let compression settle
	archive := filepath.Join(t.TempDir(), "archive")
	res, err := l.ApplyRetention(ctx, RetentionPolicy{MaxAge: time.Nanosecond, Types: []string{"decision"}, ArchiveDir: archive}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Segments) == 0 || res.FirstIndex == 0 || res.FirstIndex > before {
		t.Fatalf("retention result %+v (event at %d)", res, before)
	}
	archived, _ := os.ReadDir(archive)
	if len(archived) != len(res.Segments) {
		t.Fatalf("archived %d files, removed %d segments", len(archived), len(res.Segments))
	}
	if _, err := l.Read(ctx, 0, 1); !errors.Is(err, ErrPruned) {
		t.Fatalf("reading a removed entry: %v", err)
	}
	last, err := l.Read(ctx, l.Size()-1, 1)
	if err != nil || last[0].Type != EventRetention || last[0].Attrs["first_removed"] != "0" {
		t.Fatalf("retention not recorded: %+v %v", last, err)
	}
	// Proofs for remaining entries still verify against checkpoints.
	p, err := l.ProveInclusion(ctx, res.FirstIndex)
	if err != nil || VerifyInclusionProof(p, pub) != nil {
		t.Fatalf("proof after retention: %v", err)
	}
	l.Close()
	rep, err := Verify(ctx, dir, VerifyOptions{})
	if err != nil || !rep.OK() || rep.Entries != l.Size() {
		t.Fatalf("verify after retention: %v %+v", err, rep)
	}
	if l2 := openLog(t, dir); l2.Size() != l.Size() {
		t.Fatalf("reopened size %d", l2.Size())
	} else {
		l2.Close()
	}
}

func TestRetentionBySizeKeepsActiveSegment(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, func(o *Options) { o.SegmentBytes = 4 << 10; o.NoCompress = true })
	defer l.Close()
	for r := range 8 {
		appendN(t, l, r*20, 20)
	}
	res, err := l.ApplyRetention(context.Background(), RetentionPolicy{MaxBytes: 1}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(filepath.Join(dir, "segments"))
	// What remains: the segment that was active, plus one the retention
	// event itself may have started.
	if len(segs) > 2 || len(res.Segments) < 6 || segs[0].first != res.FirstIndex {
		t.Fatalf("%d segments remain after removing %v (first index %d)", len(segs), res.Segments, res.FirstIndex)
	}
	if got, err := l.Read(context.Background(), res.FirstIndex, 1); err != nil || len(got) != 1 {
		t.Fatalf("first retained entry: %v", err)
	}
}
