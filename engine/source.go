package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/loader"
)

// Source is an uncompiled policy set: parsed modules by file name and the data
// document. It is what Compile takes.
type Source struct {
	// Modules maps a file name (as it appears in error locations) to its module.
	Modules map[string]*ast.Module
	// Raw holds module source text by file name, for digests and tooling.
	Raw map[string][]byte
	// Data is the base document (JSON-shaped).
	Data map[string]any
	// Revision names the policy version: a bundle's manifest revision, or a
	// content digest ("sha256:...") for directories and file systems.
	Revision string
	// Bundle is set when the source came from a bundle (its manifest).
	Manifest *bundle.Manifest
}

// LoadOptions control parsing.
type LoadOptions struct {
	// RegoVersion is the default Rego version of modules; zero means v1.
	RegoVersion ast.RegoVersion
	// SkipTests leaves out *_test.rego modules.
	SkipTests bool
	// AsBundles reads every path as a bundle (a tarball or a bundle root
	// directory, whose data comes only from data.json/data.yaml files), as
	// OPA's --bundle flag does.
	AsBundles bool
}

func (o LoadOptions) regoVersion() ast.RegoVersion {
	if o.RegoVersion == ast.RegoUndefined {
		return ast.RegoV1
	}
	return o.RegoVersion
}

func (o LoadOptions) filter() loader.Filter {
	return func(abspath string, info fs.FileInfo, depth int) bool {
		name := info.Name()
		if info.IsDir() {
			// Hidden directories (.git, .github) never hold policy.
			return depth > 0 && strings.HasPrefix(name, ".")
		}
		return o.SkipTests && strings.HasSuffix(name, "_test.rego")
	}
}

// LoadPaths loads policy and data from directories, files and bundle tarballs
// the way `opa run` does: a *.tar.gz file or a directory holding a .manifest is
// read as a bundle; anything else through OPA's loader, where data files land
// under the path of their directory.
func LoadPaths(paths []string, opts LoadOptions) (*Source, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no policy paths given")
	}
	src := newSource()
	var plain []string
	for _, p := range paths {
		if opts.AsBundles || isBundlePath(p) {
			b, err := loader.NewFileLoader().
				WithRegoVersion(opts.regoVersion()).
				WithProcessAnnotation(true).
				WithFilter(opts.filter()).
				AsBundle(p)
			if err != nil {
				return nil, fmt.Errorf("loading bundle %s: %w", p, err)
			}
			if err := src.addBundle(b); err != nil {
				return nil, fmt.Errorf("loading bundle %s: %w", p, err)
			}
			continue
		}
		plain = append(plain, p)
	}
	if len(plain) > 0 {
		res, err := loader.NewFileLoader().
			WithRegoVersion(opts.regoVersion()).
			WithProcessAnnotation(true).
			Filtered(plain, opts.filter())
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", strings.Join(plain, ", "), err)
		}
		if err := src.addResult(res); err != nil {
			return nil, err
		}
	}
	src.finish()
	return src, nil
}

// LoadFS loads every module and data file under root in fsys (an embed.FS, a
// git tree, a fstest.MapFS) with the same rules as LoadPaths for directories.
func LoadFS(fsys fs.FS, root string, opts LoadOptions) (*Source, error) {
	res, err := loader.NewFileLoader().
		WithFS(fsys).
		WithRegoVersion(opts.regoVersion()).
		WithProcessAnnotation(true).
		Filtered([]string{root}, opts.filter())
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", root, err)
	}
	src := newSource()
	if err := src.addResult(res); err != nil {
		return nil, err
	}
	src.finish()
	return src, nil
}

// LoadBundle reads an OPA bundle tarball (.tar.gz). Signature verification is
// the caller's business (the bundles package) and happens before this.
func LoadBundle(r io.Reader, opts LoadOptions) (*Source, error) {
	b, err := bundle.NewCustomReader(bundle.NewTarballLoader(r)).
		WithRegoVersion(opts.regoVersion()).
		WithProcessAnnotations(true).
		WithSkipBundleVerification(true).
		Read()
	if err != nil {
		return nil, fmt.Errorf("reading bundle: %w", err)
	}
	src := newSource()
	if err := src.addBundle(&b); err != nil {
		return nil, err
	}
	if opts.SkipTests {
		for name := range src.Modules {
			if strings.HasSuffix(name, "_test.rego") {
				delete(src.Modules, name)
				delete(src.Raw, name)
			}
		}
	}
	src.finish()
	return src, nil
}

func newSource() *Source {
	return &Source{Modules: map[string]*ast.Module{}, Raw: map[string][]byte{}, Data: map[string]any{}}
}

func isBundlePath(p string) bool {
	if strings.HasSuffix(p, ".tar.gz") {
		return true
	}
	info, err := os.Stat(p)
	if err != nil || !info.IsDir() {
		return false
	}
	_, err = os.Stat(filepath.Join(p, ".manifest"))
	return err == nil
}

func (s *Source) addResult(res *loader.Result) error {
	for name, f := range res.Modules {
		if err := s.addModule(name, f.Parsed, f.Raw); err != nil {
			return err
		}
	}
	if err := MergeData(s.Data, res.Documents, ""); err != nil {
		return err
	}
	return nil
}

func (s *Source) addBundle(b *bundle.Bundle) error {
	for _, m := range b.Modules {
		if err := s.addModule(m.Path, m.Parsed, m.Raw); err != nil {
			return err
		}
	}
	if err := MergeData(s.Data, b.Data, ""); err != nil {
		return err
	}
	if s.Manifest == nil {
		man := b.Manifest
		s.Manifest = &man
	} else {
		// Several bundles: no single revision describes them.
		s.Manifest = nil
	}
	return nil
}

// Merge adds other's modules and data to s; a module file present in both or
// a data path defined by both is an error. The revision becomes a digest of
// the combined content.
func (s *Source) Merge(other *Source) error {
	if s.Modules == nil {
		s.Modules, s.Raw = map[string]*ast.Module{}, map[string][]byte{}
	}
	if s.Data == nil {
		s.Data = map[string]any{}
	}
	for name, m := range other.Modules {
		if err := s.addModule(name, m, other.Raw[name]); err != nil {
			return err
		}
	}
	if err := MergeData(s.Data, other.Data, ""); err != nil {
		return err
	}
	s.Manifest = nil
	s.finish()
	return nil
}

func (s *Source) addModule(name string, m *ast.Module, raw []byte) error {
	if _, dup := s.Modules[name]; dup {
		return fmt.Errorf("module %s loaded twice", name)
	}
	s.Modules[name] = m
	s.Raw[name] = raw
	return nil
}

// finish fixes the revision: the manifest's when there is exactly one bundle,
// otherwise a digest of the content so two loads of the same tree agree.
func (s *Source) finish() {
	if s.Manifest != nil && s.Manifest.Revision != "" {
		s.Revision = s.Manifest.Revision
		return
	}
	h := sha256.New()
	names := make([]string, 0, len(s.Raw))
	for n := range s.Raw {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.Raw[n]))
		h.Write(s.Raw[n])
	}
	fmt.Fprintf(h, "data\x00%s", canonicalJSON(s.Data))
	s.Revision = "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// MergeData deep-merges src into dst, refusing to overwrite a value: two
// files claiming the same path is a load error, not a silent
// last-writer-wins. at is the path prefix used in the error ("" for root).
func MergeData(dst, src map[string]any, at string) error {
	for k, v := range src {
		path := at + "/" + k
		existing, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		em, eok := existing.(map[string]any)
		vm, vok := v.(map[string]any)
		if !eok || !vok {
			return fmt.Errorf("data conflict at %s: defined by more than one file", path)
		}
		if err := MergeData(em, vm, path); err != nil {
			return err
		}
	}
	return nil
}
