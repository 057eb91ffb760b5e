package crypt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

func TestErasure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const subject = "kim@example.com"

	erasedEntry := decisionEntry(subject)
	kept := [][]byte{f.encode(t, decisionEntry("")), f.encode(t, decisionEntry("lena")), f.encode(t, eventEntry())}
	target := f.encode(t, erasedEntry)
	stored := bytes.Clone(target) // what the log holds and the Merkle leaf commits to
	skid, err := f.store.KeyID(subject)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, f.codec, target) // warm the caches: erasure must beat them

	rec, err := f.store.Erase(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SubjectKeyID != skid || rec.ErasedAt.IsZero() {
		t.Errorf("record %+v, want key %q", rec, skid)
	}

	if !bytes.Equal(stored, target) {
		t.Fatal("stored payload bytes changed by erasure")
	}
	want := audit.Entry{
		Time: erasedEntry.Time, Kind: erasedEntry.Kind, Type: erasedEntry.Type, DecisionID: erasedEntry.DecisionID,
		Revision: erasedEntry.Revision, Path: erasedEntry.Path, Outcome: erasedEntry.Outcome, Defined: erasedEntry.Defined,
		LatencyNS: erasedEntry.LatencyNS, Erased: true,
	}
	for name, c := range map[string]*Codec{"same process": f.codec, "after restart": f.reopen(t)} {
		t.Run(name, func(t *testing.T) {
			if got := decode(t, c, stored); !reflect.DeepEqual(got, want) {
				t.Errorf("erased entry:\n got  %+v\n want %+v", got, want)
			}
			for _, p := range kept {
				if e := decode(t, c, p); e.Erased || (e.Kind == audit.KindDecision && e.Input == nil) {
					t.Errorf("unrelated entry affected: %+v", e)
				}
			}
		})
	}

	// The key is gone from disk, only the tombstone is left; the subject is
	// no longer linked to anything.
	if _, err := os.Stat(f.store.keyPath(skid)); !os.IsNotExist(err) {
		t.Errorf("key file still there: %v", err)
	}
	if !f.store.tombstoned(skid) {
		t.Error("no tombstone")
	}
	if _, err := f.store.KeyID(subject); !errors.Is(err, ErrUnknownSubject) {
		t.Errorf("KeyID after erasure: %v", err)
	}
	if _, err := f.store.Erase(ctx, subject); !errors.Is(err, ErrUnknownSubject) {
		t.Errorf("second Erase: %v", err)
	}

	// The subject's next entries get a fresh key and read normally.
	again := f.encode(t, decisionEntry(subject))
	if h, _ := Inspect(again); h.SubjectKeyID == skid || h.SubjectKeyID == "" {
		t.Errorf("new entry reuses erased key %q", h.SubjectKeyID)
	}
	if e := decode(t, f.reopen(t), again); e.Erased || e.Subject != subject {
		t.Errorf("entry after erasure: %+v", e)
	}

	ev := rec.Entry()
	if ev.Type != audit.EventErasure || ev.Kind != audit.KindEvent || ev.Attrs["subject_key_id"] != skid || ev.Subject != "" {
		t.Errorf("erasure event %+v", ev)
	}
	if _, err := f.codec.Encode(ev); err != nil {
		t.Errorf("erasure event does not encode: %v", err)
	}
}

func TestErasureTamperStillDetected(t *testing.T) {
	// After erasure the master-key part still authenticates the whole
	// envelope, including the now unreadable subject part.
	f := newFixture(t)
	p := f.encode(t, decisionEntry("mia"))
	if _, err := f.store.Erase(context.Background(), "mia"); err != nil {
		t.Fatal(err)
	}
	for _, edit := range []func([]byte) []byte{
		func(p []byte) []byte { return bytes.Replace(p, []byte(`"deny"`), []byte(`"allow"`), 1) },
		func(p []byte) []byte { i := bytes.Index(p, []byte(`"sct":"`)) + 10; p[i] ^= 1; return p },
	} {
		q := edit(bytes.Clone(p))
		if err := f.codec.Decode(q, &audit.Entry{}); !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrMalformed) {
			t.Errorf("tampered erased entry: %v", err)
		}
	}
}

func TestMissingSubjectKeyFailsClosed(t *testing.T) {
	// A key file that vanished without a tombstone is data loss or a wrong
	// directory, not an erasure: Decode errors instead of reporting Erased.
	f := newFixture(t)
	p := f.encode(t, decisionEntry("nora"))
	h, _ := Inspect(p)
	if err := os.Remove(f.store.keyPath(h.SubjectKeyID)); err != nil {
		t.Fatal(err)
	}
	c := f.reopen(t)
	assertKeyError(t, c.Decode(p, &audit.Entry{}), ErrSubjectKeyMissing, h.SubjectKeyID)
	if _, err := c.Encode(decisionEntry("nora")); !errors.Is(err, ErrSubjectKeyMissing) {
		t.Errorf("encode for a subject whose key vanished: %v, want ErrSubjectKeyMissing", err)
	}
}

func TestInterruptedErasureCompletes(t *testing.T) {
	// Crash after the tombstone: the key file and index are still there.
	f := newFixture(t)
	p := f.encode(t, decisionEntry("olga"))
	h, _ := Inspect(p)
	if err := writeFileAtomic(f.store.tombPath(h.SubjectKeyID), []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	c := f.reopen(t)
	if e := decode(t, c, p); !e.Erased {
		t.Errorf("entry under a tombstoned key not erased: %+v", e)
	}
	// Retrying Erase finishes the job.
	store, _ := OpenSubjectStore(f.dir, f.kr)
	if _, err := store.Erase(context.Background(), "olga"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(store.keyPath(h.SubjectKeyID)); !os.IsNotExist(err) {
		t.Errorf("key file survived the retried erasure: %v", err)
	}
}

func TestEraseHonoursContext(t *testing.T) {
	f := newFixture(t)
	p := f.encode(t, decisionEntry("pia"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.store.Erase(ctx, "pia"); !errors.Is(err, context.Canceled) {
		t.Errorf("Erase with a cancelled context: %v", err)
	}
	if e := decode(t, f.codec, p); e.Erased {
		t.Error("cancelled Erase erased")
	}
}

func TestSwappedSubjectIndexDetected(t *testing.T) {
	// Pointing one subject's index at another subject's key must not make
	// new entries land under the wrong person's key.
	f := newFixture(t)
	f.encode(t, decisionEntry("quinn"))
	f.encode(t, decisionEntry("ray"))
	ray, _ := f.store.KeyID("ray")
	if err := writeFileAtomic(f.store.idxPath(f.store.indexName("quinn")), []byte(ray+"\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reopen(t).Encode(decisionEntry("quinn")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("encode through a swapped index: %v, want ErrAuthFailed", err)
	}
}

func TestEraseConcurrentWithUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := f.encode(t, decisionEntry("hot"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, err := f.codec.Encode(decisionEntry("hot"))
				if err != nil {
					t.Error(err)
					return
				}
				var e audit.Entry
				if err := f.codec.Decode(p, &e); err != nil {
					t.Error(err) // erased or readable, never an error
					return
				}
				_ = f.codec.Decode(before, &e)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := f.store.Erase(ctx, "hot"); err != nil {
		t.Fatal(err)
	}
	if e := decode(t, f.codec, before); !e.Erased {
		t.Errorf("entry from before Erase readable after it returned: %+v", e)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if e := decode(t, f.codec, before); !e.Erased {
		t.Errorf("entry from before Erase readable after concurrent use: %+v", e)
	}
	after := f.encode(t, decisionEntry("hot"))
	if e := decode(t, f.reopen(t), after); e.Erased {
		t.Error("entry after erasure unreadable")
	}
}
