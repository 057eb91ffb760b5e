package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
)

func newBundlePushCommand(stdout io.Writer) *cobra.Command {
	var attestation, username, passwordFile string
	var plainHTTP, asJSON bool
	cmd := &cobra.Command{
		Use:   "push FILE oci://REGISTRY/REPOSITORY:TAG",
		Short: "Push a bundle (and its attestation) to an OCI registry",
		Long: `Push FILE as an OCI artifact that stock OPA pulls (services: {type: oci}):
the bundle tarball is the manifest's tar+gzip layer. Each .rego file is a
layer of its own with Conftest's media type, so conftest pull reads the
same artifact. The attestation (--attestation, default FILE.intoto.json
when it exists) is pushed as an OCI referrer of the bundle, which
belladonna edges verify before activating. The bundle is checked
(paths, links, size) before anything is pushed. A loopback registry is
reached over plain HTTP; others need HTTPS unless --plain-http.`,
		Example: `  belladonna bundle build --rev main --signing-key signing.pem --attestation-key attest.pem -o bundle.tar.gz
  belladonna bundle push bundle.tar.gz oci://registry.example.com/policies/authz:main --username ci --password-file token`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageError(err)
			}
			ref, err := bundles.ParseOCIRef(args[1])
			if err != nil {
				return usageError(err)
			}
			if attestation == "" {
				attestation = args[0] + ".intoto.json"
				if _, err := os.Stat(attestation); errors.Is(err, fs.ErrNotExist) {
					attestation = ""
				}
			}
			var att []byte
			if attestation != "" {
				if att, err = os.ReadFile(attestation); err != nil {
					return usageError(err)
				}
			}
			o := bundles.OCIOptions{PlainHTTP: plainHTTP, Username: username}
			if passwordFile != "" {
				pw, err := os.ReadFile(passwordFile)
				if err != nil {
					return usageError(fmt.Errorf("--password-file: %w", err))
				}
				o.Password = strings.TrimSpace(string(pw))
			}
			res, err := bundles.PushOCI(cmd.Context(), ref, b, att, o)
			if err != nil {
				return findingsError(err)
			}
			if asJSON {
				out := map[string]any{"reference": ref.String(), "manifest": res.Manifest.Digest.String(), "size": res.Manifest.Size}
				if res.Attestation != nil {
					out["attestation"] = res.Attestation.Digest.String()
				}
				return writeJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "pushed %s: manifest %s\n", ref, res.Manifest.Digest)
			if res.Attestation != nil {
				fmt.Fprintf(stdout, "attestation %s (referrer of the bundle)\n", res.Attestation.Digest)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&attestation, "attestation", "", "the bundle's attestation (default: FILE.intoto.json when it exists)")
	fs.StringVar(&username, "username", "", "registry user name (with --password-file; without, the password is a bearer token)")
	fs.StringVar(&passwordFile, "password-file", "", "file holding the registry password or token")
	fs.BoolVar(&plainHTTP, "plain-http", false, "talk HTTP to a non-loopback registry (testing only)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
