package policyrepo

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Errors a caller can branch on.
var (
	// ErrNotRepository: the path is not inside a git repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrUnknownRevision: the revision names no commit in the repository.
	ErrUnknownRevision = errors.New("unknown revision")
)

// Repo is a policy repository.
type Repo struct {
	git  *git.Repository
	path string
}

// Open opens the repository at path or in a parent of it (as git does), or
// a bare repository at path.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	r, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		// A bare repository (a mirror) has no .git to detect.
		r, err = git.PlainOpen(abs)
	}
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%w: %s", ErrNotRepository, path)
	}
	if err != nil {
		return nil, fmt.Errorf("opening repository %s: %w", path, err)
	}
	return &Repo{git: r, path: abs}, nil
}

// Root is the top of the work tree ("" for a bare repository).
func (r *Repo) Root() string {
	wt, err := r.git.Worktree()
	if err != nil {
		return ""
	}
	return wt.Filesystem.Root()
}

// Resolve turns a revision (commit id or unique prefix, branch, tag, HEAD,
// HEAD~2, main^...) into a commit.
func (r *Repo) Resolve(rev string) (*object.Commit, error) {
	if rev == "" {
		rev = "HEAD"
	}
	if strings.Contains(rev, ":") {
		// git's REV:PATH names a file, not a commit.
		return nil, fmt.Errorf("%w %q in %s: want a commit, not a path in one", ErrUnknownRevision, rev, r.path)
	}
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		// go-git reports walking past the root (HEAD~N) as io.EOF.
		if errors.Is(err, io.EOF) || errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) ||
			strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "invalid") {
			return nil, fmt.Errorf("%w %q in %s", ErrUnknownRevision, rev, r.path)
		}
		return nil, fmt.Errorf("resolving %q in %s: %w", rev, r.path, err)
	}
	c, err := r.git.CommitObject(*h)
	if err != nil {
		// A tag pointing at a tree, or a damaged object store.
		return nil, fmt.Errorf("revision %q (%s) in %s: %w", rev, h, r.path, err)
	}
	return c, nil
}

// HasRef reports whether the reference (refs/heads/main, refs/tags/v1) exists.
func (r *Repo) HasRef(name plumbing.ReferenceName) bool {
	_, err := r.git.Reference(name, false)
	return err == nil
}
