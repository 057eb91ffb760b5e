package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/policyrepo"
)

func newSyncCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var remote, strategy, branch, report string
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch the policy branch from a peer remote and reconcile it by strategy",
		Long: `Fetch BRANCH (default: the current branch) from REMOTE (a git URL: a local
path or file://, http(s)://, ssh) and reconcile:

  ff-only        fast-forward when behind; refuse (exit 1) when diverged (default)
  use-local      when diverged, a merge commit that keeps the local tree
  use-remote     when diverged, a merge commit that takes the remote tree
  use-latest     when diverged, the tree of whichever tip is newer
  manual-review  change nothing; report the divergence (--report FILE)

History is never rewritten: only fast-forwards and merge commits are made,
and a work tree with uncommitted changes is refused.`,
		Example: `  belladonna sync
  belladonna sync --remote peer --strategy use-remote
  belladonna sync --strategy manual-review --report divergence.json`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if !slices.Contains(policyrepo.Strategies, strategy) {
				return usageError(fmt.Errorf("unknown --strategy %q: want %s", strategy, strings.Join(policyrepo.Strategies, "|")))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			rep, err := r.Sync(cmd.Context(), remote, branch, strategy)
			if rep != nil && report != "" {
				f, ferr := os.Create(report)
				if ferr != nil {
					return usageError(ferr)
				}
				werr := writeJSON(f, rep)
				if cerr := errors.Join(werr, f.Close()); cerr != nil {
					return usageError(cerr)
				}
			}
			if rep != nil {
				if p.json {
					if err := writeJSON(stdout, rep); err != nil {
						return err
					}
				} else {
					printSync(stdout, rep)
				}
			}
			switch {
			case errors.Is(err, policyrepo.ErrDiverged):
				return findingsError(err)
			case err != nil:
				return usageError(err)
			}
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&remote, "remote", "origin", "peer remote to fetch from")
	cmd.Flags().StringVar(&strategy, "strategy", policyrepo.FFOnly, "reconciliation: "+strings.Join(policyrepo.Strategies, "|"))
	cmd.Flags().StringVar(&branch, "branch", "", "branch to sync (default: the current one)")
	cmd.Flags().StringVar(&report, "report", "", "write the sync report (JSON) to this file")
	return cmd
}

func printSync(w io.Writer, rep *policyrepo.SyncReport) {
	fmt.Fprintf(w, "%s vs %s/%s: %s; %s (%s)\n", rep.Branch, rep.Remote, rep.Branch, rep.State, rep.Action, rep.Strategy)
	for _, v := range rep.LocalOnly {
		fmt.Fprintf(w, "  local  %s %-12s %s\n", v.Short(), strings.Join(v.Components, ","), v.Subject)
	}
	for _, v := range rep.RemoteOnly {
		fmt.Fprintf(w, "  remote %s %-12s %s\n", v.Short(), strings.Join(v.Components, ","), v.Subject)
	}
	for _, f := range rep.BothChanged {
		fmt.Fprintf(w, "  changed on both sides: %s\n", f)
	}
	if rep.ApprovalsMerged > 0 {
		verb := "merged"
		if rep.Strategy == policyrepo.ManualReview {
			verb = "to merge"
		}
		fmt.Fprintf(w, "approvals %s from %s: %d\n", verb, rep.Remote, rep.ApprovalsMerged)
	}
	fmt.Fprintf(w, "%s is at %s\n", rep.Branch, rep.Result)
}
