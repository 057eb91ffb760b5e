package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrDirty: the work tree has uncommitted changes.
var ErrDirty = errors.New("the work tree has uncommitted changes")

// Undone lists the commits a rollback from head to target undoes: those
// reachable from head and not from target, newest first.
func (r *Repo) Undone(ctx context.Context, target, head string) ([]Version, error) {
	t, err := r.Resolve(target)
	if err != nil {
		return nil, err
	}
	keep := map[plumbing.Hash]bool{}
	it, err := r.git.Log(&git.LogOptions{From: t.Hash})
	if err != nil {
		return nil, err
	}
	err = it.ForEach(func(c *object.Commit) error { keep[c.Hash] = true; return ctx.Err() })
	if err != nil {
		return nil, err
	}
	h, err := r.Resolve(head)
	if err != nil {
		return nil, err
	}
	it, err = r.git.Log(&git.LogOptions{From: h.Hash, Order: git.LogOrderCommitterTime})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Version
	for {
		c, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if keep[c.Hash] {
			continue
		}
		v, err := describe(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Rollback writes a new commit on the current branch whose tree is
// target's, with HEAD as its parent (history is never rewritten), and
// brings the work tree to it. It refuses a dirty work tree. The branch
// moves only if it still points where it did; nothing is changed on error
// before that.
func (r *Repo) Rollback(target, message string, author object.Signature) (plumbing.Hash, error) {
	wt, err := r.git.Worktree()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("rollback needs a work tree: %w", err)
	}
	st, err := wt.Status()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !st.IsClean() {
		return plumbing.ZeroHash, fmt.Errorf("%w in %s: commit or stash them before a rollback", ErrDirty, wt.Filesystem.Root())
	}
	t, err := r.Resolve(target)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	head, err := r.git.Head()
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading HEAD: %w", err)
	}
	if !head.Name().IsBranch() {
		return plumbing.ZeroHash, errors.New("HEAD is detached: check out the branch to roll back")
	}
	if author.When.IsZero() {
		author.When = time.Now()
	}
	c := &object.Commit{Author: author, Committer: author, Message: message, TreeHash: t.TreeHash,
		ParentHashes: []plumbing.Hash{head.Hash()}}
	obj := r.git.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := r.git.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing the rollback commit: %w", err)
	}
	if err := r.git.Storer.CheckAndSetReference(plumbing.NewHashReference(head.Name(), h), head); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("moving %s (did it move meanwhile?): %w", head.Name().Short(), err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: h, Mode: git.HardReset}); err != nil {
		return h, fmt.Errorf("the rollback commit %s is on %s, but updating the work tree failed (run git reset --hard): %w", h, head.Name().Short(), err)
	}
	return h, nil
}
