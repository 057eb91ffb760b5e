package impact

import (
	"context"
	"fmt"
	"io/fs"
	"strings"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/engine/vm"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// Revision is one side of a comparison: a policy tree and its name.
type Revision struct {
	// Label is what the user asked for (main, HEAD~1, a path).
	Label string `json:"label"`
	// Commit is the git commit id, when the tree comes from git.
	Commit string `json:"commit,omitempty"`
	FS     fs.FS  `json:"-"`
}

type side struct {
	rev   Revision
	src   *engine.Source
	state *engine.State
	vms   map[string]*vm.VM // per path, where the IR VM runs it (fast.go)
}

func load(ctx context.Context, rev Revision) (*side, error) {
	src, err := engine.LoadFS(rev.FS, ".", engine.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rev.Label, err)
	}
	st, err := engine.Compile(ctx, src, engine.CompileOptions{Topdown: true}) // impact plans its own VMs
	if err != nil {
		return nil, fmt.Errorf("%s does not compile: %w", rev.Label, err)
	}
	return &side{rev: rev, src: src, state: st}, nil
}

// fileComponent classifies a module or data file by its path in the tree.
func fileComponent(file string, raw []byte) string {
	c := policyrepo.ComponentOf(strings.TrimPrefix(strings.TrimPrefix(file, "./"), "/"), raw)
	if c == "" {
		return policyrepo.ComponentOther
	}
	return c
}

// pathComponent classifies a decision path (security/authz/allow).
func pathComponent(path string) string { return policyrepo.ComponentOfDataPath(path) }
