package crypt

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
)

func TestSubjectStoreFilesArePrivate(t *testing.T) {
	f := newFixture(t)
	for i := range 5 {
		f.encode(t, decisionEntry(fmt.Sprintf("user-%d", i)))
	}
	err := filepath.WalkDir(f.store.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := filepath.Glob(filepath.Join(f.store.root, "*", "s*.key"))
	idx, _ := filepath.Glob(filepath.Join(f.store.root, "*", "i*.idx"))
	if len(keys) != 5 || len(idx) != 5 {
		t.Errorf("%d key files and %d index files, want 5 each", len(keys), len(idx))
	}
}

func TestSmallSubjectCache(t *testing.T) {
	// Eviction under concurrency: keys reload from disk, one key per subject.
	dir := t.TempDir()
	f := newFixture(t)
	store, err := OpenSubjectStore(dir, f.kr, WithCacheSize(3))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCodec(f.kr, store)
	var wg sync.WaitGroup
	var mu sync.Mutex
	skids := map[string]map[string]bool{}
	for w := range 4 {
		wg.Go(func() {
			for i := range 40 {
				subject := fmt.Sprintf("s-%d", (i+w)%10)
				p, err := c.Encode(decisionEntry(subject))
				if err != nil {
					t.Error(err)
					return
				}
				if e := decode(t, c, p); e.Subject != subject {
					t.Errorf("decoded subject %q, want %q", e.Subject, subject)
				}
				h, _ := Inspect(p)
				mu.Lock()
				if skids[subject] == nil {
					skids[subject] = map[string]bool{}
				}
				skids[subject][h.SubjectKeyID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for s, ids := range skids {
		if len(ids) != 1 {
			t.Errorf("subject %s has %d keys", s, len(ids))
		}
	}
	store.mu.Lock()
	n := len(store.bySubject) + len(store.byID)
	store.mu.Unlock()
	if n > 6 {
		t.Errorf("cache holds %d slots, bound is 3 per map", n)
	}
}
