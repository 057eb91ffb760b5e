// Package bundles builds OPA bundles from git revisions of a policy
// repository (and, later, signs, attests, serves and pulls them).
package bundles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// BuildOptions select what a bundle holds.
type BuildOptions struct {
	// Dir is the policy directory inside the repository ("" or "." for its
	// root); bundle paths are relative to it.
	Dir string
	// Entrypoints are data paths ("security/authz/allow") kept through
	// optimization; Optimize > 0 needs at least one.
	Entrypoints []string
	// Optimize is OPA's optimization level (opa build -O): 0 none, 1 and 2
	// partially evaluate the entrypoints.
	Optimize int
	// Builder names what built the bundle ("belladonna dev").
	Builder string
}

// Build is a built bundle.
type Build struct {
	// Bytes is the bundle tarball (.tar.gz), byte-identical for the same
	// commit and options.
	Bytes      []byte
	Commit     string
	CommitTime time.Time
	// Sequence is the commit's position on its first-parent line (the
	// root commit is 1): it only grows along a branch, which is what lets
	// edges refuse an older bundle.
	Sequence uint64
	Modules  []string // bundle paths of the modules, sorted
}

// Metadata keys in the bundle manifest.
const (
	MetaCommitTime = "commit_time"
	MetaSequence   = "sequence"
	MetaBuilder    = "builder"
	MetaRepository = "repository"
)

// ErrBuild wraps every failure to build a bundle from a revision.
var ErrBuild = errors.New("bundle build")

// BuildRevision builds the policy tree at rev (read from git objects, the
// work tree untouched) into an OPA bundle whose manifest revision is the
// commit id.
func BuildRevision(ctx context.Context, repo *policyrepo.Repo, rev string, opts BuildOptions) (*Build, error) {
	if opts.Optimize < 0 || opts.Optimize > 2 {
		return nil, fmt.Errorf("%w: optimization level %d: want 0, 1 or 2", ErrBuild, opts.Optimize)
	}
	if opts.Optimize > 0 && len(opts.Entrypoints) == 0 {
		return nil, fmt.Errorf("%w: optimization level %d needs at least one entrypoint (--entrypoint security/authz/allow)", ErrBuild, opts.Optimize)
	}
	fsys, c, err := repo.FS(rev)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	root := strings.Trim(path.Clean("/"+opts.Dir), "/")
	if root == "" {
		root = "."
	}
	if root != "." {
		if st, err := fs.Stat(fsys, root); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("%w: directory %s is not in %s (%s)", ErrBuild, root, rev, c.Hash.String()[:12])
		}
	}
	src, err := engine.LoadFS(fsys, root, engine.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: commit %s: %w", ErrBuild, c.Hash, err)
	}
	identity, err := repo.Identity()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBuild, err)
	}
	seq, err := sequence(c)
	if err != nil {
		return nil, fmt.Errorf("%w: commit %s: %w", ErrBuild, c.Hash, err)
	}

	in := &bundle.Bundle{Data: src.Data}
	if in.Data == nil {
		in.Data = map[string]any{}
	}
	in.Manifest.Init() // the whole data tree is this bundle's (roots [""])
	var modules []string
	for _, name := range slices.Sorted(maps.Keys(src.Modules)) {
		if strings.HasSuffix(name, "_test.rego") {
			continue // tests are for validate, not for edges
		}
		rel := name
		if root != "." {
			rel = strings.TrimPrefix(name, root+"/")
		}
		in.Modules = append(in.Modules, bundle.ModuleFile{URL: rel, Path: rel, Raw: src.Raw[name], Parsed: src.Modules[name]})
		modules = append(modules, rel)
	}
	cc := compile.New().WithBundle(in).WithOptimizationLevel(opts.Optimize).WithEntrypoints(opts.Entrypoints...).
		WithRegoVersion(ast.RegoV1)
	if err := cc.Build(ctx); err != nil {
		return nil, fmt.Errorf("%w: commit %s does not compile: %w", ErrBuild, c.Hash, err)
	}
	out := cc.Bundle()
	out.Manifest.Revision = c.Hash.String()
	out.Manifest.Metadata = map[string]any{
		MetaCommitTime: c.Committer.When.UTC().Format(time.RFC3339),
		MetaSequence:   seq,
		MetaBuilder:    opts.Builder,
		MetaRepository: identity,
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(*out); err != nil {
		return nil, fmt.Errorf("%w: writing the bundle of %s: %w", ErrBuild, c.Hash, err)
	}
	return &Build{Bytes: buf.Bytes(), Commit: c.Hash.String(), CommitTime: c.Committer.When.UTC(), Sequence: seq, Modules: modules}, nil
}

// sequence counts the commits on c's first-parent line, c included.
func sequence(c *object.Commit) (uint64, error) {
	n := uint64(1)
	for c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil {
			return 0, fmt.Errorf("reading the parent of %s: %w", c.Hash, err)
		}
		c = p
		n++
	}
	return n, nil
}
