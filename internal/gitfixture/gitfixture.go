// Package gitfixture builds throwaway git repositories for tests with
// go-git: commits of given files with fixed authors and times, so tests
// read like a history.
package gitfixture

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Repo is a repository with a work tree in a temporary directory.
type Repo struct {
	t    testing.TB
	Dir  string
	Git  *git.Repository
	when time.Time
}

// New initialises an empty repository (branch main).
func New(t testing.TB) *Repo {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: "refs/heads/main"}})
	if err != nil {
		t.Fatal(err)
	}
	return &Repo{t: t, Dir: dir, Git: r, when: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

// Commit writes files (path -> content; nil content deletes the file) and
// commits them as author with msg, one hour after the previous commit. It
// returns the commit id.
func (r *Repo) Commit(author, msg string, files map[string][]byte) string {
	r.t.Helper()
	wt, err := r.Git.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	for p, content := range files {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if content == nil {
			if _, err := wt.Remove(p); err != nil {
				r.t.Fatalf("removing %s: %v", p, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, content, 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(p); err != nil {
			r.t.Fatalf("adding %s: %v", p, err)
		}
	}
	r.when = r.when.Add(time.Hour)
	sig := &object.Signature{Name: author, Email: author + "@example.com", When: r.when}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}
