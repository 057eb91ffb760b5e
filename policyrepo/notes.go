package policyrepo

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ApprovalsRef is where approvals live: git notes, so that they travel with
// `git push/fetch refs/notes/*` and `git notes --ref belladonna/approvals
// show REV` reads them.
const ApprovalsRef = "refs/notes/belladonna/approvals"

// readNote returns the note on commit under ref, or nil when there is none.
// Notes trees may be flat or fanned out (ab/cdef...), as git writes them.
func (r *Repo) readNote(ref plumbing.ReferenceName, commit plumbing.Hash) ([]byte, error) {
	tree, _, err := r.notesTree(ref)
	if err != nil || tree == nil {
		return nil, err
	}
	hex := commit.String()
	for _, name := range []string{hex, hex[:2] + "/" + hex[2:], hex[:2] + "/" + hex[2:4] + "/" + hex[4:]} {
		f, err := tree.File(name)
		if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading note %s: %w", name, err)
		}
		rd, err := f.Reader()
		if err != nil {
			return nil, fmt.Errorf("reading note %s: %w", name, err)
		}
		defer rd.Close()
		return io.ReadAll(rd)
	}
	return nil, nil
}

func (r *Repo) notesTree(ref plumbing.ReferenceName) (*object.Tree, *plumbing.Reference, error) {
	head, err := r.git.Reference(ref, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	c, err := r.git.CommitObject(head.Hash())
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return t, head, nil
}

// writeNote replaces the note on commit under ref with content (see
// writeNotes).
func (r *Repo) writeNote(ref plumbing.ReferenceName, commit plumbing.Hash, content []byte, who object.Signature, msg string) error {
	return r.writeNotes(ref, map[plumbing.Hash][]byte{commit: content}, who, msg)
}

// writeNotes replaces the notes on the given commits under ref, as one new
// notes commit. The objects are written first and the ref moves last, only
// if nobody moved it meanwhile: a failure leaves the notes as they were.
func (r *Repo) writeNotes(ref plumbing.ReferenceName, notes map[plumbing.Hash][]byte, who object.Signature, msg string) error {
	tree, old, err := r.notesTree(ref)
	if err != nil {
		return err
	}
	st := r.git.Storer
	// A flat notes tree; fanned-out trees (from git with many notes) are
	// refused rather than half rewritten.
	var entries []object.TreeEntry
	if tree != nil {
		for _, e := range tree.Entries {
			if e.Mode == filemode.Dir {
				return fmt.Errorf("%s is fanned out: rewrite it with git notes first", ref)
			}
			if _, ok := notes[plumbing.NewHash(e.Name)]; ok {
				continue
			}
			entries = append(entries, e)
		}
	}
	for commit, content := range notes {
		blob := st.NewEncodedObject()
		blob.SetType(plumbing.BlobObject)
		w, err := blob.Writer()
		if err != nil {
			return err
		}
		if _, err := w.Write(content); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
		blobHash, err := st.SetEncodedObject(blob)
		if err != nil {
			return fmt.Errorf("writing note: %w", err)
		}
		entries = append(entries, object.TreeEntry{Name: commit.String(), Mode: filemode.Regular, Hash: blobHash})
	}
	slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(a.Name, b.Name) })
	nt := &object.Tree{Entries: entries}
	to := st.NewEncodedObject()
	if err := nt.Encode(to); err != nil {
		return err
	}
	treeHash, err := st.SetEncodedObject(to)
	if err != nil {
		return fmt.Errorf("writing notes tree: %w", err)
	}
	if who.When.IsZero() {
		who.When = time.Now()
	}
	nc := &object.Commit{Author: who, Committer: who, Message: msg, TreeHash: treeHash}
	if old != nil {
		nc.ParentHashes = []plumbing.Hash{old.Hash()}
	}
	co := st.NewEncodedObject()
	if err := nc.Encode(co); err != nil {
		return err
	}
	commitHash, err := st.SetEncodedObject(co)
	if err != nil {
		return fmt.Errorf("writing notes commit: %w", err)
	}
	if err := st.CheckAndSetReference(plumbing.NewHashReference(ref, commitHash), old); err != nil {
		return fmt.Errorf("updating %s (moved by someone else? try again): %w", ref, err)
	}
	return nil
}
