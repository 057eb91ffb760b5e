package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newFleetCommand(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fleet",
		Short: "What the edges run: the bundle server's view of its fleet",
	}
	cmd.AddCommand(newFleetStatusCommand(stdout))
	return cmd
}

func newFleetStatusCommand(stdout io.Writer) *cobra.Command {
	var serverURL, tokenFile, caFile, certFile, keyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which edge runs which commit, which are behind, stale or failed",
		Long: `Ask a bundle server (belladonna bundle serve) for its fleet: every edge that
reported with OPA's status API (stock OPA's status plugin pointed at the
server, or a belladonna sidecar with bundles.status_url), the commit it
runs, the ref's current commit, and its state: current, behind, failed
(its last download or activation failed), stale (silent, or unable to
reach its source) or unknown (its bundle name is not a ref served there).
Exit code 0 when every edge is current, 1 otherwise.`,
		Example: `  belladonna fleet status --server http://bundles.internal:8282 --token-file admin.token`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := runtimeClient(caFile, certFile, keyFile)
			if err != nil {
				return usageError(err)
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodGet, strings.TrimSuffix(serverURL, "/")+"/fleet", nil)
			if err != nil {
				return usageError(err)
			}
			if tokenFile != "" {
				tok, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageError(err)
				}
				req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
			}
			resp, err := client.Do(req)
			if err != nil {
				return usageError(fmt.Errorf("asking %s: %w", serverURL, err))
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			if resp.StatusCode != http.StatusOK {
				return usageError(fmt.Errorf("%s/fleet: HTTP %d: %s", serverURL, resp.StatusCode, strings.TrimSpace(string(body))))
			}
			var view bundles.FleetView
			if err := json.Unmarshal(body, &view); err != nil {
				return usageError(fmt.Errorf("%s/fleet: %w", serverURL, err))
			}
			if asJSON {
				stdout.Write(body)
			} else {
				printFleet(stdout, view)
			}
			if view.Counts[bundles.EdgeCurrent] != len(view.Edges) {
				return findingsError(fmt.Errorf("%d of %d edges are not current", len(view.Edges)-view.Counts[bundles.EdgeCurrent], len(view.Edges)))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&serverURL, "server", "http://127.0.0.1:8282", "the bundle server")
	fs.StringVar(&tokenFile, "token-file", "", "file holding a bearer token the server accepts")
	fs.StringVar(&caFile, "ca-file", "", "CA of the server's certificate (PEM)")
	fs.StringVar(&certFile, "cert-file", "", "client certificate for mutual TLS (PEM)")
	fs.StringVar(&keyFile, "key-file", "", "the client certificate's key (PEM)")
	fs.BoolVar(&asJSON, "json", false, "print the server's JSON view")
	return cmd
}

func runtimeClient(ca, cert, key string) (*http.Client, error) {
	return runtime.HTTPClient(config.Bundles{CAFile: ca, CertFile: cert, KeyFile: key})
}

func printFleet(w io.Writer, v bundles.FleetView) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EDGE\tAGENT\tBUNDLE\tREVISION\tSTATE\tLAST REPORT\tMESSAGE")
	for _, e := range v.Edges {
		rev := e.ActiveRevision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s ago\t%s\n", e.ID, e.Agent, e.Bundle, rev, e.State,
			v.Generated.Sub(e.LastReport).Round(time.Second), e.Message)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d edges: %d current, %d behind, %d failed, %d stale, %d unknown\n", len(v.Edges),
		v.Counts[bundles.EdgeCurrent], v.Counts[bundles.EdgeBehind], v.Counts[bundles.EdgeFailed], v.Counts[bundles.EdgeStale], v.Counts[bundles.EdgeUnknown])
}
