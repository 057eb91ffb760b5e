package policyrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// Version is one commit of the policy history.
type Version struct {
	Commit  string    `json:"commit"`
	Author  string    `json:"author"`
	Email   string    `json:"email"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
	Message string    `json:"message"`
	Parents []string  `json:"parents"`
	// Components the commit changed, in Components order.
	Components []string     `json:"components"`
	Files      []FileChange `json:"files"`
	// Trailers are the message's "Key: value" trailers (Security-Fix,
	// Signed-off-by...).
	Trailers map[string][]string `json:"trailers,omitempty"`
	// Approvals is how many approvals are stored for the commit (signed
	// statements in ApprovalsRef; `approvals verify` says which are valid).
	Approvals int `json:"approvals"`
}

// Short is the abbreviated commit id.
func (v Version) Short() string { return v.Commit[:min(12, len(v.Commit))] }

// FileChange is one file a commit changed, against its first parent.
type FileChange struct {
	Path      string `json:"path"`
	Action    string `json:"action"` // added, modified, deleted
	Component string `json:"component,omitempty"`
}

// Version describes the commit rev names.
func (r *Repo) Version(ctx context.Context, rev string) (Version, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return Version{}, err
	}
	v, err := describe(ctx, c)
	if err != nil {
		return Version{}, err
	}
	return v, r.countApprovals(&v)
}

func (r *Repo) countApprovals(v *Version) error {
	note, err := r.readNote(ApprovalsRef, plumbing.NewHash(v.Commit))
	if err != nil {
		return err
	}
	for _, line := range bytes.Split(note, []byte("\n")) {
		if len(bytes.TrimSpace(line)) > 0 {
			v.Approvals++
		}
	}
	return nil
}

// History lists versions from rev back (newest first, by committer time),
// at most limit (0: all).
func (r *Repo) History(ctx context.Context, rev string, limit int) ([]Version, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return nil, err
	}
	it, err := r.git.Log(&git.LogOptions{From: c.Hash, Order: git.LogOrderCommitterTime})
	if err != nil {
		return nil, fmt.Errorf("reading history from %s: %w", rev, err)
	}
	defer it.Close()
	var out []Version
	for limit <= 0 || len(out) < limit {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading history from %s: %w", rev, err)
		}
		v, err := describe(ctx, c)
		if err != nil {
			return nil, err
		}
		if err := r.countApprovals(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func describe(ctx context.Context, c *object.Commit) (Version, error) {
	v := Version{
		Commit: c.Hash.String(), Author: c.Author.Name, Email: c.Author.Email, Time: c.Author.When,
		Message: c.Message, Subject: strings.SplitN(strings.TrimSpace(c.Message), "\n", 2)[0],
		Trailers: Trailers(c.Message), Components: []string{}, Files: []FileChange{},
	}
	for _, p := range c.ParentHashes {
		v.Parents = append(v.Parents, p.String())
	}
	to, err := c.Tree()
	if err != nil {
		return v, fmt.Errorf("commit %s: reading its tree: %w", c.Hash, err)
	}
	var from *object.Tree
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return v, fmt.Errorf("commit %s: reading its parent: %w", c.Hash, err)
		}
		if from, err = p.Tree(); err != nil {
			return v, fmt.Errorf("commit %s: reading its parent's tree: %w", c.Hash, err)
		}
	}
	changes, err := object.DiffTreeWithOptions(ctx, from, to, nil)
	if err != nil {
		return v, fmt.Errorf("commit %s: diffing against its parent: %w", c.Hash, err)
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		action, err := ch.Action()
		if err != nil {
			return v, fmt.Errorf("commit %s: %w", c.Hash, err)
		}
		fc := FileChange{Path: ch.To.Name}
		tree := to
		switch action {
		case merkletrie.Insert:
			fc.Action = "added"
		case merkletrie.Delete:
			fc.Action, fc.Path, tree = "deleted", ch.From.Name, from
		default:
			fc.Action = "modified"
		}
		// The path classifies most files; only Rego outside a known
		// directory needs its package line, so only then is the blob read.
		fc.Component = ComponentOf(fc.Path, nil)
		if fc.Component == ComponentOther {
			if f, err := tree.File(fc.Path); err == nil {
				if s, err := f.Contents(); err == nil {
					fc.Component = ComponentOf(fc.Path, []byte(s))
				}
			}
		}
		if fc.Component != "" {
			seen[fc.Component] = true
		}
		v.Files = append(v.Files, fc)
	}
	for _, comp := range Components {
		if seen[comp] {
			v.Components = append(v.Components, comp)
		}
	}
	slices.SortFunc(v.Files, func(a, b FileChange) int { return strings.Compare(a.Path, b.Path) })
	return v, nil
}

// Trailers parses the trailer block (the last paragraph of "Key: value"
// lines) of a commit message.
func Trailers(msg string) map[string][]string {
	paras := strings.Split(strings.TrimSpace(msg), "\n\n")
	if len(paras) < 2 {
		return nil
	}
	out := map[string][]string{}
	for _, line := range strings.Split(paras[len(paras)-1], "\n") {
		k, val, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil // not a trailer block
		}
		out[k] = append(out[k], strings.TrimSpace(val))
	}
	return out
}
