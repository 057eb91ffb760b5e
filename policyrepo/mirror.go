package policyrepo

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
)

// FetchMirror updates a bare mirror's branches and tags from remote, as
// git fetch does for a `git clone --mirror` (refs are forced: the remote
// is the source of truth). It refuses a repository with a work tree, whose
// checked-out branch a fetch must not move.
func (r *Repo) FetchMirror(ctx context.Context, remote string) error {
	if r.Root() != "" {
		return fmt.Errorf("fetching into %s: only a bare mirror (git clone --mirror) is updated by the bundle server", r.Root())
	}
	err := r.git.FetchContext(ctx, &git.FetchOptions{
		RemoteName: remote,
		RefSpecs:   []gitconfig.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+refs/notes/*:refs/notes/*"},
		Tags:       git.NoTags,
		Prune:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetching %s: %w", remote, err)
	}
	return nil
}
