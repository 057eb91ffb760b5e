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
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/version"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newBundleCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bundle",
		Short: "Build OPA bundles from git revisions of the policy repository",
	}
	cmd.AddCommand(newBundleBuildCommand(stdout), newBundleSignCommand(stdout), newBundleVerifyCommand(stdout), newBundleServeCommand(g, stdout), newBundlePushCommand(stdout))
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
			if err := bundles.CheckTarball(b, bundles.Limits{}); err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
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
	var key, keyID, scope, attestation, attestKey, repository, branch string
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Verify a bundle's signature and attestation offline, as an edge does before activating it",
		Long: `With --key, check FILE's .signatures.json with the public key: every file's
digest must match the signed list and the signature must verify. With
--attestation, check the in-toto statement: its DSSE signature (with
--attestation-key), that it attests exactly FILE's sha256, and, when given,
the --repository (its identity, git:<root commit>) and --branch it was built
from. Exit 0 when all hold, 1 when one does not (the reason says which).`,
		Example: `  belladonna bundle verify bundle.tar.gz --key signing.pub.pem
  belladonna bundle verify bundle.tar.gz --attestation bundle.tar.gz.intoto.json \
    --attestation-key attest.pub.pem --branch main`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" && attestation == "" {
				return usageError(errors.New("give --key (a PEM public key) for the signature, --attestation for the provenance, or both"))
			}
			if attestation != "" && attestKey == "" {
				return usageError(errors.New("--attestation needs --attestation-key"))
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError(err)
			}
			if err := bundles.CheckTarball(b, bundles.Limits{}); err != nil {
				return findingsError(fmt.Errorf("%s: %w", args[0], err))
			}
			if key != "" {
				pub, err := os.ReadFile(key)
				if err != nil {
					return usageError(err)
				}
				bun, err := bundles.Verify(b, pub, keyID, scope)
				if err != nil {
					return findingsError(fmt.Errorf("%s: %w", args[0], err))
				}
				fmt.Fprintf(stdout, "signature verified: %s, revision %s, %d modules\n", args[0], bun.Manifest.Revision, len(bun.Modules))
			}
			if attestation != "" {
				env, err := os.ReadFile(attestation)
				if err != nil {
					return usageError(err)
				}
				v, err := runtime.LoadVerifier(attestKey)
				if err != nil {
					return usageError(err)
				}
				st, err := bundles.VerifyAttestation(env, b, v, bundles.Expect{Repository: repository, Branch: branch})
				if err != nil {
					return findingsError(fmt.Errorf("%s: %w", attestation, err))
				}
				p := st.Predicate.BuildDefinition
				fmt.Fprintf(stdout, "attestation verified: built by %s from %s at %s (branch %q)\n",
					st.Predicate.RunDetails.Builder.ID, p.ExternalParameters.Repository, p.ResolvedDependencies[0].Digest["gitCommit"], p.ExternalParameters.Branch)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "PEM public key (or certificate) of the bundle signer")
	cmd.Flags().StringVar(&keyID, "key-id", bundles.DefaultKeyID, "the key's name in the signature")
	cmd.Flags().StringVar(&scope, "scope", "", "the scope the signature must carry, if any")
	cmd.Flags().StringVar(&attestation, "attestation", "", "the bundle's attestation (DSSE envelope, OUTPUT.intoto.json)")
	cmd.Flags().StringVar(&attestKey, "attestation-key", "", "PEM public key of the attestation signer")
	cmd.Flags().StringVar(&repository, "repository", "", "the repository identity the bundle must come from (git:<root commit>)")
	cmd.Flags().StringVar(&branch, "branch", "", "the branch the bundle must be built from")
	return cmd
}

func newBundleBuildCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var sp signParams
	var rev, dir, out, attestKey string
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
as belladonna bundle sign does; --attestation-key writes its in-toto SLSA
provenance (commit, repository, branch, builder, approvals present, file
digests) in a DSSE envelope beside it.`,
		Example: `  belladonna bundle build --rev main -o bundle.tar.gz
  belladonna bundle build --repo ../policies --dir policies --rev v1.4.0 \
    --entrypoint security/authz/allow --optimize 1 -o authz.tar.gz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			started := time.Now()
			opts := bundles.BuildOptions{Dir: dir, Entrypoints: entrypoints, Optimize: optimize, Builder: "belladonna " + version.Version}
			b, err := bundles.BuildRevision(cmd.Context(), r, rev, opts)
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
			var attestation string
			if attestKey != "" {
				signer, err := runtime.LoadSigner(cmd.Context(), attestKey)
				if err != nil {
					return usageError(err)
				}
				in, err := bundles.Provenance(r, rev, b, opts, filepath.Base(out), b.Bytes, started)
				if err != nil {
					return err
				}
				env, err := bundles.Attest(in, signer)
				if err != nil {
					return err
				}
				attestation = out + ".intoto.json"
				if err := writeFileAtomic(attestation, env); err != nil {
					return err
				}
			}
			if err := writeFileAtomic(out, b.Bytes); err != nil {
				return err
			}
			sum := sha256.Sum256(b.Bytes)
			if p.json {
				return writeJSON(stdout, map[string]any{"file": out, "commit": b.Commit, "sequence": b.Sequence,
					"commit_time": b.CommitTime, "modules": b.Modules, "bytes": len(b.Bytes), "sha256": hex.EncodeToString(sum[:]),
					"attestation": attestation})
			}
			fmt.Fprintf(stdout, "built %s: commit %s (sequence %d), %d modules, %d bytes, sha256 %s\n",
				out, b.Commit[:12], b.Sequence, len(b.Modules), len(b.Bytes), hex.EncodeToString(sum[:]))
			if attestation != "" {
				fmt.Fprintf(stdout, "attestation %s (in-toto SLSA provenance, DSSE)\n", attestation)
			}
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
	fs.StringVar(&attestKey, "attestation-key", "", "sign an in-toto SLSA provenance statement (DSSE) with this key (PEM file or KMS URI), written as OUTPUT.intoto.json")
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
