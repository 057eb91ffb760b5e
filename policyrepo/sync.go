package policyrepo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Sync strategies.
const (
	FFOnly       = "ff-only"       // fast-forward or refuse
	UseLocal     = "use-local"     // on divergence, a merge commit keeping the local tree
	UseRemote    = "use-remote"    // on divergence, a merge commit taking the remote tree
	UseLatest    = "use-latest"    // on divergence, the side whose tip is newer
	ManualReview = "manual-review" // change nothing; report the divergence
)

// Strategies lists them, default first.
var Strategies = []string{FFOnly, UseLocal, UseRemote, UseLatest, ManualReview}

// ErrDiverged: local and remote both have commits the other lacks.
var ErrDiverged = errors.New("local and remote have diverged")

// SyncReport says what Sync found and did.
type SyncReport struct {
	Remote   string `json:"remote"`
	Branch   string `json:"branch"`
	Strategy string `json:"strategy"`
	Local    string `json:"local"`
	Upstream string `json:"upstream"`
	Base     string `json:"merge_base,omitempty"`
	// State: up-to-date, ahead, behind or diverged.
	State string `json:"state"`
	// Action: none, fast-forward, merge-local, merge-remote, refused, reported.
	Action string `json:"action"`
	// Result is the branch's commit afterwards.
	Result string `json:"result"`
	// LocalOnly and RemoteOnly are the commits each side has alone.
	LocalOnly  []Version `json:"local_only"`
	RemoteOnly []Version `json:"remote_only"`
	// BothChanged are files changed on both sides since the merge base:
	// where a manual review must look.
	BothChanged []string `json:"both_changed"`
	// ApprovalsMerged counts the peer's approvals added to the local notes
	// (under manual-review: that would be added).
	ApprovalsMerged int `json:"approvals_merged"`
}

// Sync fetches branch (default: the current one) from remote and
// reconciles it with the local branch by strategy. Only fast-forwards and
// merge commits are made: local history is never rewritten. A dirty work
// tree is refused before anything changes.
func (r *Repo) Sync(ctx context.Context, remote, branch, strategy string) (*SyncReport, error) {
	if !slices.Contains(Strategies, strategy) {
		return nil, fmt.Errorf("unknown strategy %q: want one of %v", strategy, Strategies)
	}
	wt, err := r.git.Worktree()
	if err != nil {
		return nil, fmt.Errorf("sync needs a work tree: %w", err)
	}
	head, err := r.git.Head()
	if err != nil {
		return nil, fmt.Errorf("reading HEAD: %w", err)
	}
	if branch == "" {
		if !head.Name().IsBranch() {
			return nil, errors.New("HEAD is detached: name the branch to sync")
		}
		branch = head.Name().Short()
	}
	if head.Name() != plumbing.NewBranchReferenceName(branch) {
		return nil, fmt.Errorf("check out %s first (HEAD is %s)", branch, head.Name().Short())
	}
	spec := gitconfig.RefSpec(fmt.Sprintf("+refs/heads/%s:refs/remotes/%s/%s", branch, remote, branch))
	err = r.git.FetchContext(ctx, &git.FetchOptions{RemoteName: remote, RefSpecs: []gitconfig.RefSpec{spec}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetching %s from %s: %w", branch, remote, err)
	}
	upRef, err := r.git.Reference(plumbing.NewRemoteReferenceName(remote, branch), true)
	if err != nil {
		return nil, fmt.Errorf("remote %s has no branch %s: %w", remote, branch, err)
	}
	local, err := r.git.CommitObject(head.Hash())
	if err != nil {
		return nil, err
	}
	up, err := r.git.CommitObject(upRef.Hash())
	if err != nil {
		return nil, err
	}
	rep := &SyncReport{Remote: remote, Branch: branch, Strategy: strategy, Local: local.Hash.String(), Upstream: up.Hash.String(),
		Result: local.Hash.String(), LocalOnly: []Version{}, RemoteOnly: []Version{}, BothChanged: []string{}}
	if err := r.describeDivergence(ctx, rep, local, up); err != nil {
		return nil, err
	}
	if rep.ApprovalsMerged, err = r.mergeApprovals(ctx, remote, strategy == ManualReview); err != nil {
		return nil, err
	}
	switch {
	case rep.State == "up-to-date" || rep.State == "ahead":
		rep.Action = "none"
		return rep, nil
	case strategy == ManualReview:
		rep.Action = "reported"
		return rep, nil
	}
	st, err := wt.Status()
	if err != nil {
		return nil, err
	}
	if !st.IsClean() {
		return rep, fmt.Errorf("%w in %s: commit or stash them before syncing", ErrDirty, wt.Filesystem.Root())
	}
	var target plumbing.Hash
	switch {
	case rep.State == "behind":
		rep.Action, target = "fast-forward", up.Hash
	case strategy == FFOnly:
		rep.Action = "refused"
		return rep, fmt.Errorf("%w on %s: %d local and %d remote commits since %s; pick --strategy use-local, use-remote, use-latest or manual-review",
			ErrDiverged, branch, len(rep.LocalOnly), len(rep.RemoteOnly), rep.Base[:12])
	default:
		keepLocal := strategy == UseLocal || (strategy == UseLatest && !up.Committer.When.After(local.Committer.When))
		tree, action := up.TreeHash, "merge-remote"
		if keepLocal {
			tree, action = local.TreeHash, "merge-local"
		}
		who := object.Signature{Name: "belladonna sync", Email: "belladonna@localhost", When: time.Now()}
		mc := &object.Commit{Author: who, Committer: who, TreeHash: tree, ParentHashes: []plumbing.Hash{local.Hash, up.Hash},
			Message: fmt.Sprintf("Sync %s with %s/%s (%s)\n\nSync-Strategy: %s\n", branch, remote, branch, action, strategy)}
		obj := r.git.Storer.NewEncodedObject()
		if err := mc.Encode(obj); err != nil {
			return nil, err
		}
		if target, err = r.git.Storer.SetEncodedObject(obj); err != nil {
			return nil, fmt.Errorf("writing the merge commit: %w", err)
		}
		rep.Action = action
	}
	if err := r.git.Storer.CheckAndSetReference(plumbing.NewHashReference(head.Name(), target), head); err != nil {
		return nil, fmt.Errorf("moving %s (did it move meanwhile?): %w", branch, err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: target, Mode: git.HardReset}); err != nil {
		return nil, fmt.Errorf("%s is at %s, but updating the work tree failed (run git reset --hard): %w", branch, target, err)
	}
	rep.Result = target.String()
	return rep, nil
}

func (r *Repo) describeDivergence(ctx context.Context, rep *SyncReport, local, up *object.Commit) error {
	if local.Hash == up.Hash {
		rep.State = "up-to-date"
		return nil
	}
	bases, err := local.MergeBase(up)
	if err != nil {
		return fmt.Errorf("finding the merge base: %w", err)
	}
	if len(bases) == 0 {
		return fmt.Errorf("%s and %s share no history", rep.Local[:12], rep.Upstream[:12])
	}
	base := bases[0]
	rep.Base = base.Hash.String()
	if rep.LocalOnly, err = r.Undone(ctx, rep.Base, rep.Local); err != nil {
		return err
	}
	if rep.RemoteOnly, err = r.Undone(ctx, rep.Base, rep.Upstream); err != nil {
		return err
	}
	switch {
	case base.Hash == up.Hash:
		rep.State = "ahead"
	case base.Hash == local.Hash:
		rep.State = "behind"
	default:
		rep.State = "diverged"
		mine, theirs := map[string]bool{}, map[string]bool{}
		for _, v := range rep.LocalOnly {
			for _, f := range v.Files {
				mine[f.Path] = true
			}
		}
		for _, v := range rep.RemoteOnly {
			for _, f := range v.Files {
				if mine[f.Path] && !theirs[f.Path] {
					rep.BothChanged = append(rep.BothChanged, f.Path)
				}
				theirs[f.Path] = true
			}
		}
		slices.Sort(rep.BothChanged)
	}
	return nil
}
