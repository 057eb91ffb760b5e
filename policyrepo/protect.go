package policyrepo

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Protection requires signed approvals of a commit before it is served or
// built from a matching branch (config repository.protected_branches).
type Protection struct {
	// Pattern matches short branch names as path.Match does: "main",
	// "release/*".
	Pattern   string
	Approvals int
	Keys      []ApprovalKey
	// KeysDir is where Keys came from, for messages.
	KeysDir string
}

// ErrProtected: a protected branch's commit lacks the approvals it needs.
var ErrProtected = errors.New("protected branch")

// CheckPattern reports a pattern path.Match cannot use.
func CheckPattern(p string) error {
	if p == "" {
		return errors.New("empty branch pattern")
	}
	if _, err := path.Match(p, "x"); err != nil {
		return fmt.Errorf("branch pattern %q: %w", p, err)
	}
	return nil
}

// BranchOf names the branch that rev denotes: a branch name (with or without
// refs/heads/) or HEAD when it points at a branch. It returns "" for
// anything else (a commit id, a tag, HEAD~1), which no branch rule covers.
func (r *Repo) BranchOf(rev string) (string, error) {
	if rev == "" || rev == "HEAD" {
		ref, err := r.git.Reference(plumbing.HEAD, false)
		if err != nil {
			return "", fmt.Errorf("reading HEAD of %s: %w", r.path, err)
		}
		if ref.Type() == plumbing.SymbolicReference && ref.Target().IsBranch() {
			return ref.Target().Short(), nil
		}
		return "", nil
	}
	name := strings.TrimPrefix(rev, "refs/heads/")
	if _, err := r.git.Reference(plumbing.NewBranchReferenceName(name), false); err == nil {
		return name, nil
	}
	return "", nil
}

// Protecting returns the first rule whose pattern matches branch.
func Protecting(rules []Protection, branch string) (Protection, bool) {
	if branch == "" {
		return Protection{}, false
	}
	for _, p := range rules {
		if ok, _ := path.Match(p.Pattern, branch); ok {
			return p, true
		}
	}
	return Protection{}, false
}

// CheckProtected returns nil when rev is not a protected branch, or when its
// commit holds the approvals the matching rule requires; otherwise an error
// wrapping ErrProtected that names the branch, the commit, what was found
// and why each approval that did not count failed.
func (r *Repo) CheckProtected(rev string, rules []Protection, now time.Time) error {
	branch, err := r.BranchOf(rev)
	if err != nil {
		return err
	}
	rule, ok := Protecting(rules, branch)
	if !ok {
		return nil
	}
	rep, err := r.VerifyApprovals(rev, rule.Keys, rule.Approvals, now)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrNotApproved) {
		return err
	}
	var why []string
	for _, a := range rep.Approvals {
		if !a.Valid {
			why = append(why, a.Problem)
		}
	}
	msg := fmt.Sprintf("%v: branch %q matches %q, which needs %d approvals by keys in %s (belladonna approve %s --key ...)",
		err, branch, rule.Pattern, rule.Approvals, rule.KeysDir, rep.Commit[:12])
	if len(why) > 0 {
		msg += "; not counted: " + strings.Join(why, "; ")
	}
	return fmt.Errorf("%w: %s", ErrProtected, msg)
}
