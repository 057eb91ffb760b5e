// Package sdk is Belladonna for in-process use: load policies (paths, a
// file system, or a bundle whose signature it verifies), then ask for
// decisions from the same engine the sidecar runs (the IR VM, rules that
// depend on data alone computed once, a result cache for deterministic
// paths), with no HTTP in between. Results equal stock OPA's.
package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/engine"
)

// Decision is one answer: its id, the policy revision, the result (read
// it with Value: a cached result is kept as JSON and decoded on demand).
type Decision = engine.Decision

// Options tune a Policy. The zero value is ready to use.
type Options struct {
	// CacheEntries bounds the result cache (0: 10,000 entries; negative:
	// no cache).
	CacheEntries int
	// DecisionLogger receives every decision (the audit log, a test).
	DecisionLogger engine.DecisionLogger
	// Logger receives the engine's own logs.
	Logger *slog.Logger
	// RegoV0 parses modules without a version as Rego v0.
	RegoV0 bool
	// Entrypoints are planned for the VM at once (annotated entrypoints
	// always are); other paths are planned on first use.
	Entrypoints []string
}

// Policy is a compiled, swappable policy.
type Policy struct {
	eng  *engine.Engine
	opts Options
}

// New returns a Policy with nothing active yet; see Load*.
func New(opts Options) *Policy {
	cache := opts.CacheEntries
	switch {
	case cache == 0:
		cache = 10_000
	case cache < 0:
		cache = 0
	}
	rv := ast.RegoV1
	if opts.RegoV0 {
		rv = ast.RegoV0
	}
	eopts := []engine.Option{engine.WithCompileOptions(engine.CompileOptions{RegoVersion: rv, CacheEntries: cache, Entrypoints: opts.Entrypoints})}
	if opts.DecisionLogger != nil {
		eopts = append(eopts, engine.WithDecisionLogger(opts.DecisionLogger))
	}
	if opts.Logger != nil {
		eopts = append(eopts, engine.WithLogger(opts.Logger))
	}
	return &Policy{eng: engine.New(eopts...), opts: opts}
}

func (p *Policy) loadOptions() engine.LoadOptions {
	rv := ast.RegoV1
	if p.opts.RegoV0 {
		rv = ast.RegoV0
	}
	return engine.LoadOptions{RegoVersion: rv, SkipTests: true}
}

// LoadPaths compiles policy and data files or directories (as opa run)
// and makes them active; on error the previous policy stays active.
func (p *Policy) LoadPaths(ctx context.Context, paths ...string) error {
	src, err := engine.LoadPaths(paths, p.loadOptions())
	if err != nil {
		return err
	}
	_, err = p.eng.Activate(ctx, src)
	return err
}

// LoadFS is LoadPaths over a file system (an embed.FS, for one).
func (p *Policy) LoadFS(ctx context.Context, fsys fs.FS, root string) error {
	src, err := engine.LoadFS(fsys, root, p.loadOptions())
	if err != nil {
		return err
	}
	_, err = p.eng.Activate(ctx, src)
	return err
}

// ErrUnverified: LoadBundle was given no verification key.
var ErrUnverified = errors.New("sdk: a bundle is loaded only with the public key that verifies its signature")

// LoadBundle checks a bundle tarball's shape (paths, links, size), verifies
// its signature with publicKeyPEM (keyID "" is OPA's "default"), and only
// then makes it active. The previous policy stays active on any error.
func (p *Policy) LoadBundle(ctx context.Context, tarball, publicKeyPEM []byte, keyID string) error {
	if len(publicKeyPEM) == 0 {
		return ErrUnverified
	}
	if err := bundles.CheckTarball(tarball, bundles.Limits{}); err != nil {
		return err
	}
	if _, err := bundles.Verify(tarball, publicKeyPEM, keyID, ""); err != nil {
		return err
	}
	src, err := engine.LoadBundle(bytes.NewReader(tarball), p.loadOptions())
	if err != nil {
		return err
	}
	_, err = p.eng.Activate(ctx, src)
	return err
}

// Decide evaluates the document at path ("security/authz/allow") for a
// JSON-shaped Go input (maps, slices, strings, numbers, bools, nil). The
// input is encoded once so the result cache can answer repeats.
func (p *Policy) Decide(ctx context.Context, path string, input any) (*Decision, error) {
	var raw []byte
	if input != nil {
		var err error
		if raw, err = json.Marshal(input); err != nil {
			return nil, fmt.Errorf("sdk: encoding the input: %w", err)
		}
	}
	return p.eng.DecideJSON(ctx, path, raw)
}

// DecideJSON evaluates path for an input given as JSON; a cache hit
// neither parses nor evaluates it.
func (p *Policy) DecideJSON(ctx context.Context, path string, input []byte) (*Decision, error) {
	return p.eng.DecideJSON(ctx, path, input)
}

// Allowed is Decide for yes/no questions: true only when the result is
// true, or an object whose "allow" is true. Undefined is false.
func (p *Policy) Allowed(ctx context.Context, path string, input any) (bool, error) {
	d, err := p.Decide(ctx, path, input)
	if err != nil {
		return false, err
	}
	switch r := d.Value().(type) {
	case bool:
		return r, nil
	case map[string]any:
		a, _ := r["allow"].(bool)
		return a, nil
	}
	return false, nil
}

// Revision names the active policy (a bundle's manifest revision, or a
// digest of the loaded files); "" before anything is loaded.
func (p *Policy) Revision() string {
	if st := p.eng.Current(); st != nil {
		return st.Revision()
	}
	return ""
}

// Engine is the underlying engine, for what this package does not wrap.
func (p *Policy) Engine() *engine.Engine { return p.eng }
