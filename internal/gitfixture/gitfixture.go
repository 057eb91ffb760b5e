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
	"github.com/go-git/go-git/v5/config"
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

// Clone clones url into a temporary directory (bare or with a work tree);
// the clone's remote origin is url.
func Clone(t testing.TB, url string, bare bool) *Repo {
	t.Helper()
	dir := t.TempDir()
	r, err := git.PlainClone(dir, bare, &git.CloneOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return &Repo{t: t, Dir: dir, Git: r, when: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

// SetClock sets the time the next commit is made an hour after.
func (r *Repo) SetClock(t time.Time) { r.when = t }

// Push pushes every branch to remote.
func (r *Repo) Push(remote string) {
	r.t.Helper()
	err := r.Git.Push(&git.PushOptions{RemoteName: remote, RefSpecs: []config.RefSpec{"refs/heads/*:refs/heads/*"}})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		r.t.Fatalf("push to %s: %v", remote, err)
	}
}

// AddRemote adds a remote named name at url.
func (r *Repo) AddRemote(name, url string) {
	r.t.Helper()
	if _, err := r.Git.CreateRemote(&config.RemoteConfig{Name: name, URLs: []string{url}}); err != nil {
		r.t.Fatal(err)
	}
}

// Reopen opens the repository afresh, to see objects another go-git
// instance (the code under test) added.
func (r *Repo) Reopen() {
	r.t.Helper()
	g, err := git.PlainOpen(r.Dir)
	if err != nil {
		r.t.Fatal(err)
	}
	r.Git = g
}

// PushNotes pushes every notes ref to remote.
func (r *Repo) PushNotes(remote string) {
	r.t.Helper()
	err := r.Git.Push(&git.PushOptions{RemoteName: remote, RefSpecs: []config.RefSpec{"refs/notes/*:refs/notes/*"}})
	if err != nil && err != git.NoErrAlreadyUpToDate {
		r.t.Fatalf("push notes to %s: %v", remote, err)
	}
}
