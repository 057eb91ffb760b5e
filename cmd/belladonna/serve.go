package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/runtime"
)

type serveParams struct {
	asBundles    bool
	repo, rev    string
	dir          string
	addr         string
	dataDir      string
	v0Compatible bool
}

func newServeCommand(g *globalParams, _ io.Writer) *cobra.Command {
	p := &serveParams{}
	cmd := &cobra.Command{
		Use:   "serve [PATH...]",
		Short: "Serve decisions over OPA's REST API (sidecar)",
		Long: `Serve decisions over OPA's REST API, like 'opa run --server'.

PATHs are policy/data directories or bundle files (.tar.gz). With none, the
paths in belladonna.yaml (policies.paths) are used, and with none there the
embedded policy library is served. The policy is compiled (strict) before the
listener opens: a policy that does not compile stops start-up.

Endpoints: POST/GET /v1/data/{path}, GET /health, GET /metrics.`,
		Example: `  # The embedded library on 127.0.0.1:8181
  belladonna serve

  # Your own policies and data, on another port
  belladonna serve --addr 127.0.0.1:9191 ./policies ./data

  # A git revision of a policy repository; decisions name the commit
  belladonna serve --repo ../policy-repo --rev main --dir policies

  # Ask for a decision
  curl -s localhost:8181/v1/data/security/authz/allow -d @testdata/inputs/authz-allow.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := g.cfg
			if cmd.Flags().Changed("addr") {
				cfg.Server.Addr = p.addr
			}
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = p.dataDir
			}
			if p.v0Compatible {
				cfg.Policies.V0Compatible = true
			}
			if err := cfg.Check(); err != nil {
				return usageError(err)
			}
			if p.repo != "" && len(args) > 0 {
				return usageError(errors.New("--repo serves a git revision: give no PATH (use --dir for a directory inside it)"))
			}
			return serve(cmd.Context(), runtime.ServeParams{Config: cfg, Paths: args, AsBundles: p.asBundles, Logger: g.logger,
				Repo: p.repo, Rev: p.rev, Dir: p.dir})
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&p.addr, "addr", "a", "127.0.0.1:8181", "address to listen on (config server.addr, $BELLADONNA_ADDR)")
	fs.BoolVarP(&p.asBundles, "bundle", "b", false, "load every PATH as a bundle (tarball or bundle root directory), as opa run -b")
	addDataDirFlag(fs, &p.dataDir)
	addV0CompatibleFlag(fs, &p.v0Compatible)
	fs.StringVar(&p.repo, "repo", "", "serve the policies of a git repository at --rev (read from git objects; decisions name the commit)")
	fs.StringVar(&p.rev, "rev", "HEAD", "with --repo: the revision to serve")
	fs.StringVar(&p.dir, "dir", "", "with --repo: the policy directory inside the repository")
	return cmd
}

func serve(ctx context.Context, p runtime.ServeParams) error {
	s, err := runtime.NewServe(ctx, p)
	if err != nil {
		return usageError(err)
	}
	if _, err := s.Start(ctx); err != nil {
		_ = s.Stop(context.Background())
		return usageError(err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Stop(stopCtx)
}
