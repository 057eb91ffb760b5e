package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/version"
	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newBundleServeCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var p repoParams
	var sp signParams
	var dir, addr, tokens, attestKey, tlsCert, tlsKey, clientCA, hookSecret, remote string
	var staleAfter time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve bundles of the repository's branches and tags to OPA agents and sidecars",
		Long: `Serve GET /bundles/{branch or tag} with OPA's bundle service protocol (ETag,
If-None-Match -> 304, long polling with Prefer: wait=N), so stock OPA and
belladonna sidecars pull from it. A bundle is built from the ref's commit
when first asked for and kept per commit; a ref that moves is rebuilt on
the next request. --signing-key signs every bundle; --attestation-key
attests it (in-toto SLSA provenance, DSSE), served at
/attestations/{sha256} and linked from the bundle's response. A branch that
repository.protected_branches protects is refused (403) until its commit
holds the approvals.

Clients authenticate with bearer tokens (--tokens: a file of "sha256:HEX
SCOPES" lines; belladonna never stores the token itself; make a line with:
printf %s TOKEN | sha256sum) or client certificates (--client-ca, mutual
TLS); failed attempts are rate limited and recorded in the audit log.

POST /hooks/push takes a git host's push webhook (--webhook-secret-file:
GitHub/Gitea/Forgejo X-Hub-Signature-256 or GitLab X-Gitlab-Token): on a
bare mirror it fetches --remote, then builds the pushed ref and answers
waiting long polls at once.

POST /status takes OPA status reports (stock OPA's status plugin and
belladonna sidecars); GET /fleet and belladonna fleet status show which
edge runs which commit; /metrics has belladonna_fleet_* gauges.`,
		Example: `  belladonna bundle serve --repo ../policies --dir policies --signing-key signing.pem --tokens tokens.txt
  belladonna bundle serve --repo /srv/policies.git --signing-key signing.pem --attestation-key attest.pem \
    --tls-cert server.crt --tls-key server.key --client-ca edges-ca.crt --webhook-secret-file hook.secret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			rules, err := runtime.Protections(g.cfg.Repository)
			if err != nil {
				return usageError(err)
			}
			s := &bundles.Server{Repo: r, Options: bundles.BuildOptions{Dir: dir, Builder: "belladonna " + version.Version},
				Protections: rules, Logger: g.logger, Fleet: &bundles.Fleet{StaleAfter: staleAfter}}
			if sp.key != "" {
				k, err := sp.signKey(cmd)
				if err != nil {
					return err
				}
				s.Sign = &k
			}
			if attestKey != "" {
				if s.Attest, err = runtime.LoadSigner(cmd.Context(), attestKey); err != nil {
					return usageError(err)
				}
			}
			if tokens != "" {
				if s.Tokens, err = bundles.LoadTokens(tokens); err != nil {
					return usageError(err)
				}
			}
			if hookSecret != "" {
				b, err := os.ReadFile(hookSecret)
				if err != nil {
					return usageError(fmt.Errorf("--webhook-secret-file: %w", err))
				}
				if s.WebhookSecret = trimSecret(b); len(s.WebhookSecret) == 0 {
					return usageError(fmt.Errorf("--webhook-secret-file %s is empty", hookSecret))
				}
				if r.Root() == "" {
					s.Fetch = func(ctx context.Context) error { return r.FetchMirror(ctx, remote) }
				}
			}
			bs, err := runtime.NewBundleServe(cmd.Context(), runtime.BundleServeParams{Config: g.cfg, Server: s, Addr: addr,
				TLSCert: tlsCert, TLSKey: tlsKey, ClientCA: clientCA, Logger: g.logger})
			if err != nil {
				return usageError(err)
			}
			bound, err := bs.Start(cmd.Context())
			if err != nil {
				bs.Stop(context.Background())
				return usageError(err)
			}
			scheme := "http"
			if bs.TLS() {
				scheme = "https"
			}
			fmt.Fprintf(stdout, "serving bundles of %s on %s://%s/bundles/{branch or tag}\n", repoName(r), scheme, bound)
			<-cmd.Context().Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return bs.Stop(ctx)
		},
	}
	p.addFlags(cmd.Flags())
	sp.addFlags(cmd, "signing-key")
	fs := cmd.Flags()
	fs.StringVar(&dir, "dir", "", "the policy directory inside the repository (default: its root)")
	fs.StringVarP(&addr, "addr", "a", "127.0.0.1:8282", "address to listen on")
	fs.StringVar(&tokens, "tokens", "", "bearer tokens file (sha256:HEX SCOPES per line); unset: no token needed")
	fs.StringVar(&attestKey, "attestation-key", "", "attest every bundle with this key (PEM file or KMS URI)")
	fs.StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fs.StringVar(&tlsKey, "tls-key", "", "the certificate's private key (PEM)")
	fs.StringVar(&clientCA, "client-ca", "", "require client certificates signed by this CA (mutual TLS; with --tokens, either is enough)")
	fs.StringVar(&hookSecret, "webhook-secret-file", "", "enable POST /hooks/push with this shared secret")
	fs.StringVar(&remote, "remote", "origin", "with a webhook on a bare mirror: the remote to fetch")
	fs.DurationVar(&staleAfter, "stale-after", 5*time.Minute, "an edge silent for this long is stale in the fleet view")
	return cmd
}

func repoName(r *policyrepo.Repo) string {
	if r.Root() != "" {
		return r.Root()
	}
	return "the bare repository"
}

func trimSecret(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
