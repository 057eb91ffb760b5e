package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/version"
)

func newBundleCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build OPA bundles from git revisions of the policy repository",
	}
	cmd.AddCommand(newBundleBuildCommand(stdout))
	return cmd
}

func newBundleBuildCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var rev, dir, out string
	var entrypoints []string
	var optimize int
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the policies of a git revision into an OPA bundle",
		Long: `Read the policy tree at --rev from git objects (the work tree is never
touched), compile it and write an OPA bundle (.tar.gz) that stock OPA and
belladonna serve -b load. The manifest's revision is the commit id; its
metadata holds the commit time, the commit's sequence number on its
first-parent line (it only grows along a branch) and the builder. The same
revision and flags always give a byte-identical bundle. Rego tests
(*_test.rego) are left out. --optimize 1 or 2 runs OPA's partial evaluation
on the --entrypoint documents, as opa build -O does.`,
		Example: `  belladonna bundle build --rev main -o bundle.tar.gz
  belladonna bundle build --repo ../policies --dir policies --rev v1.4.0 \
    --entrypoint security/authz/allow --optimize 1 -o authz.tar.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			b, err := bundles.BuildRevision(cmd.Context(), r, rev, bundles.BuildOptions{
				Dir: dir, Entrypoints: entrypoints, Optimize: optimize, Builder: "belladonna " + version.Version})
			if err != nil {
				return usageError(err)
			}
			if err := writeFileAtomic(out, b.Bytes); err != nil {
				return err
			}
			sum := sha256.Sum256(b.Bytes)
			if p.json {
				return writeJSON(stdout, map[string]any{"file": out, "commit": b.Commit, "sequence": b.Sequence,
					"commit_time": b.CommitTime, "modules": b.Modules, "bytes": len(b.Bytes), "sha256": hex.EncodeToString(sum[:])})
			}
			fmt.Fprintf(stdout, "built %s: commit %s (sequence %d), %d modules, %d bytes, sha256 %s\n",
				out, b.Commit[:12], b.Sequence, len(b.Modules), len(b.Bytes), hex.EncodeToString(sum[:]))
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringVar(&rev, "rev", "HEAD", "the revision to build (commit, branch, tag)")
	fs.StringVar(&dir, "dir", "", "the policy directory inside the repository (default: its root)")
	fs.StringVarP(&out, "output", "o", "bundle.tar.gz", "where to write the bundle")
	fs.StringArrayVarP(&entrypoints, "entrypoint", "e", nil, "a document kept through optimization (repeatable): security/authz/allow")
	fs.IntVarP(&optimize, "optimize", "O", 0, "OPA's optimization level: 0, 1 or 2 (1 and 2 need --entrypoint)")
	return cmd
}

// writeFileAtomic writes b to path through a temporary file and a rename,
// so that a reader never sees half a bundle.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}
