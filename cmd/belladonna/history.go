package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/belladonna-dev/belladonna/policyrepo"
)

// repoParams are the flags of commands that read the policy repository.
type repoParams struct {
	repo string
	json bool
}

func (p *repoParams) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.repo, "repo", ".", "policy git repository (or a directory inside it)")
	fs.BoolVar(&p.json, "json", false, "print JSON")
}

func (p *repoParams) open() (*policyrepo.Repo, error) {
	r, err := policyrepo.Open(p.repo)
	if err != nil {
		return nil, usageError(err)
	}
	return r, nil
}

func newHistoryCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var limit int
	cmd := &cobra.Command{
		Use:   "history [REV]",
		Short: "List policy versions (commits) with the components each one changed",
		Long: `List the commits reachable from REV (default HEAD), newest first: id, author,
time, subject and the policy components changed (authn, authz, ratelimit,
syscall, compliance, validators, data, other). Read from git objects: the
work tree is never touched.`,
		Example: `  belladonna history --limit 10
  belladonna history --repo ../policies --json main`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError(fmt.Errorf("--limit %d: want 0 (all) or more", limit))
			}
			r, err := p.open()
			if err != nil {
				return err
			}
			rev := "HEAD"
			if len(args) == 1 {
				rev = args[0]
			}
			hist, err := r.History(cmd.Context(), rev, limit)
			if err != nil {
				return usageError(err)
			}
			if p.json {
				return writeJSON(stdout, hist)
			}
			for _, v := range hist {
				comps := strings.Join(v.Components, ",")
				if comps == "" {
					comps = "-"
				}
				appr := ""
				if v.Approvals > 0 {
					appr = fmt.Sprintf(" (%d approvals)", v.Approvals)
				}
				fmt.Fprintf(stdout, "%s %s %-16s %-28s %s%s\n", v.Short(), v.Time.UTC().Format(time.RFC3339), v.Author, "["+comps+"]", v.Subject, appr)
			}
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	cmd.Flags().IntVarP(&limit, "limit", "n", 0, "show at most N versions (0: all)")
	return cmd
}

func newShowCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	cmd := &cobra.Command{
		Use:   "show REV",
		Short: "Describe one policy version: commit, author, message, trailers and changed files by component",
		Example: `  belladonna show HEAD
  belladonna show --json 3f2a9c1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			v, err := r.Version(cmd.Context(), args[0])
			if err != nil {
				return usageError(err)
			}
			if p.json {
				return writeJSON(stdout, v)
			}
			fmt.Fprintf(stdout, "commit %s\nauthor %s <%s>\ndate   %s\n", v.Commit, v.Author, v.Email, v.Time.UTC().Format(time.RFC3339))
			if len(v.Parents) > 0 {
				fmt.Fprintf(stdout, "parent %s\n", strings.Join(v.Parents, " "))
			}
			fmt.Fprintf(stdout, "components %s\napprovals  %d stored (belladonna approvals verify checks them)\n\n", strings.Join(v.Components, ", "), v.Approvals)
			for _, line := range strings.Split(strings.TrimRight(v.Message, "\n"), "\n") {
				fmt.Fprintf(stdout, "    %s\n", line)
			}
			fmt.Fprintln(stdout)
			for _, f := range v.Files {
				comp := f.Component
				if comp == "" {
					comp = "-"
				}
				fmt.Fprintf(stdout, "%-8s %-11s %s\n", f.Action, comp, f.Path)
			}
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	return cmd
}
