package policyrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// mergeApprovals fetches the peer's approvals notes and adds to the local
// ones every approval the peer has and this repository lacks. Approvals are
// signed statements checked when they are counted, so a union is safe; no
// approval is ever removed. With dryRun it only counts them. It returns
// how many approvals were (or would be) added.
func (r *Repo) mergeApprovals(ctx context.Context, remote string, dryRun bool) (int, error) {
	remoteRef := plumbing.ReferenceName("refs/notes/belladonna/remotes/" + remote + "/approvals")
	spec := gitconfig.RefSpec("+" + ApprovalsRef + ":" + string(remoteRef))
	err := r.git.FetchContext(ctx, &git.FetchOptions{RemoteName: remote, RefSpecs: []gitconfig.RefSpec{spec}})
	switch {
	case errors.Is(err, git.NoMatchingRefSpecError{}):
		return 0, nil // the peer has no approvals yet
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return 0, fmt.Errorf("fetching approvals from %s: %w", remote, err)
	}
	tree, _, err := r.notesTree(remoteRef)
	if err != nil || tree == nil {
		return 0, err
	}
	updates := map[plumbing.Hash][]byte{}
	added := 0
	err = tree.Files().ForEach(func(f *object.File) error {
		hex := strings.ReplaceAll(f.Name, "/", "")
		if len(hex) != 40 {
			return nil
		}
		theirs, err := f.Contents()
		if err != nil {
			return fmt.Errorf("reading %s's approvals of %s: %w", remote, hex, err)
		}
		commit := plumbing.NewHash(hex)
		ours, err := r.readNote(ApprovalsRef, commit)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, l := range bytes.Split(ours, []byte("\n")) {
			have[string(bytes.TrimSpace(l))] = true
		}
		merged := bytes.TrimRight(ours, "\n")
		n := 0
		for _, l := range strings.Split(theirs, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || have[l] {
				continue
			}
			have[l] = true
			if len(merged) > 0 {
				merged = append(merged, '\n')
			}
			merged = append(merged, l...)
			n++
		}
		if n > 0 {
			updates[commit] = append(merged, '\n')
			added += n
		}
		return nil
	})
	if err != nil || added == 0 || dryRun {
		return added, err
	}
	who := object.Signature{Name: "belladonna sync", Email: "belladonna@localhost", When: time.Now()}
	return added, r.writeNotes(ApprovalsRef, updates, who, fmt.Sprintf("merge %d approvals from %s", added, remote))
}
