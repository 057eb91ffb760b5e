package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/version"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newBundleCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build OPA bundles from git revisions of the policy repository",
	}
	cmd.AddCommand(newBundleBuildCommand(stdout), newBundleSignCommand(stdout), newBundleVerifyCommand(stdout))
	return cmd
}

// signParams are the flags that sign a bundle.
type signParams struct {
	key, alg, keyID string
}

func (p *signParams) addFlags(cmd *cobra.Command, name string) {
	fs := cmd.Flags()
	fs.StringVar(&p.key, name, "", "signing key: a PEM private key file (RSA or ECDSA) or a KMS URI (hashivault://KEY, awskms:///ARN, ...)")
	fs.StringVar(&p.alg, "signing-alg", "", "JWT algorithm (default from the key: RS256, ES256, ES384, ES512; PS256... for RSA)")
	fs.StringVar(&p.keyID, "key-id", bundles.DefaultKeyID, "the key's name in the signature, as in OPA's keys config")
}

func (p *signParams) signKey(cmd *cobra.Command) (bundles.SignKey, error) {
	k := bundles.SignKey{KeyID: p.keyID, Algorithm: p.alg}
	if strings.Contains(p.key, "://") {
		s, err := runtime.LoadSigner(cmd.Context(), p.key)
		if err != nil {
			return k, usageError(err)
		}
		pub, err := s.PublicKey()
		if err != nil {
			return k, usageError(fmt.Errorf("key %s: %w", p.key, err))
		}
		k.Signer, k.Public = s, pub
		return k, nil
	}
	b, err := os.ReadFile(p.key)
	if err != nil {
		return k, usageError(fmt.Errorf("signing key: %w", err))
	}
	k.PEM = b
	return k, nil
}

func newBundleSignCommand(stdout io.Writer) *cobra.Command {
	var sp signParams
	var out string
	cmd := &cobra.Command{
		Use:   "sign FILE",
		Short: "Sign a bundle in OPA's .signatures.json format",
		Long: `Add a signature to FILE in OPA's own format (a JWT over the digests of its
files), which stock OPA verifies with the public key (--verification-key).
OPA signatures are RS/PS/ES 256/384/512: Ed25519 keys are refused. A KMS
key signs with SHA-256 (RS256, ES256); its DER ECDSA signature is converted
to the JWT form OPA expects.`,
		Example: `  belladonna bundle sign bundle.tar.gz --key signing.pem
  belladonna bundle sign bundle.tar.gz --key hashivault://bundles -o signed.tar.gz`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sp.key == "" {
				return usageError(errors.New("--key is required"))
			}
			k, err := sp.signKey(cmd)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError(err)
			}
			signed, err := bundles.Sign(cmd.Context(), b, k)
			if err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
			}
			if out == "" {
				out = args[0]
			}
			if err := writeFileAtomic(out, signed); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "signed %s with key id %s\n", out, sp.keyID)
			return nil
		},
	}
	sp.addFlags(cmd, "key")
	cmd.Flags().StringVarP(&out, "output", "o", "", "where to write the signed bundle (default: over FILE)")
	return cmd
}

func newBundleVerifyCommand(stdout io.Writer) *cobra.Command {
	var key, keyID, scope string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify a bundle's signature offline, as OPA does before activating it",
		Long: `Check FILE's .signatures.json with the public key: every file's digest must
match the signed list and the signature must verify. Exit 0 when it does,
1 when it does not (the reason names the file or the signature).`,
		Example: `  belladonna bundle verify bundle.tar.gz --key signing.pub.pem`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return usageError(errors.New("--key is required (a PEM public key)"))
			}
			pub, err := os.ReadFile(key)
			if err != nil {
				return usageError(err)
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError(err)
			}
			bun, err := bundles.Verify(b, pub, keyID, scope)
			if err != nil {
				return findingsError(fmt.Errorf("%s: %w", args[0], err))
			}
			fmt.Fprintf(stdout, "verified %s: revision %s, %d modules\n", args[0], bun.Manifest.Revision, len(bun.Modules))
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "PEM public key (or certificate) of the signer")
	cmd.Flags().StringVar(&keyID, "key-id", bundles.DefaultKeyID, "the key's name in the signature")
	cmd.Flags().StringVar(&scope, "scope", "", "the scope the signature must carry, if any")
	return cmd
}

func newBundleBuildCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var sp signParams
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
on the --entrypoint documents, as opa build -O does. --signing-key signs it
as belladonna bundle sign does.`,
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
			if sp.key != "" {
				k, err := sp.signKey(cmd)
				if err != nil {
					return err
				}
				if b.Bytes, err = bundles.Sign(cmd.Context(), b.Bytes, k); err != nil {
					return usageError(err)
				}
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
	sp.addFlags(cmd, "signing-key")
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
