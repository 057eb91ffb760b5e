package main

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/runtime"
)

type serveParams struct {
	asBundles    bool
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
			return serve(cmd.Context(), runtime.ServeParams{Config: cfg, Paths: args, AsBundles: p.asBundles, Logger: g.logger})
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&p.addr, "addr", "a", "127.0.0.1:8181", "address to listen on (config server.addr, $BELLADONNA_ADDR)")
	fs.BoolVarP(&p.asBundles, "bundle", "b", false, "load every PATH as a bundle (tarball or bundle root directory), as opa run -b")
	addDataDirFlag(fs, &p.dataDir)
	addV0CompatibleFlag(fs, &p.v0Compatible)
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
