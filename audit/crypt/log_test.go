package crypt

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

// TestErasureKeepsLogVerifying runs the codec under the real log: after a
// subject's key is destroyed, the hash chain, Merkle tree and checkpoints
// still verify, and reads show the erased entries with their meta fields.
func TestErasureKeepsLogVerifying(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	dir := filepath.Join(f.dir, "log")
	lg, err := audit.Open(ctx, audit.Options{Dir: dir, Codec: f.codec, CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	subjects := []string{"", "ana", "ben", "ana", "", "ben", "ana"}
	for _, s := range subjects {
		if _, err := lg.Append(ctx, decisionEntry(s)); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := f.store.Erase(ctx, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Append(ctx, rec.Entry()); err != nil {
		t.Fatal(err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}

	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Checked != uint64(len(subjects)+1) {
		t.Fatalf("verify after erasure: %+v", rep)
	}

	r, err := audit.OpenReader(dir, f.reopen(t))
	if err != nil {
		t.Fatal(err)
	}
	es, err := r.Read(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(subjects)+1 {
		t.Fatalf("read %d entries", len(es))
	}
	for i, s := range subjects {
		e := es[i]
		switch {
		case s == "ana" && (!e.Erased || e.Input != nil || e.Subject != "" || e.DecisionID == "" || e.Outcome != audit.OutcomeDeny):
			t.Errorf("entry %d about ana: %+v", i, e)
		case s != "ana" && (e.Erased || e.Subject != s || e.Input == nil):
			t.Errorf("entry %d about %q: %+v", i, s, e)
		}
	}
	if last := es[len(es)-1]; last.Type != audit.EventErasure || last.Attrs["subject_key_id"] != rec.SubjectKeyID {
		t.Errorf("erasure event read back as %+v", last)
	}
}
