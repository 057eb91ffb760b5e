package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/validators/impact"
)

func newRollbackCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var p impactParams
	var dryRun, force bool
	var keys, author string
	var require int
	cmd := &cobra.Command{
		Use:   "rollback REV",
		Short: "Restore REV's policy tree as a new commit, after assessing what going back does",
		Long: `Measure the impact of going from HEAD back to REV (as belladonna diff does) and
classify the rollback: simple (data only or a few rules), moderate, complex
(several components, changed entrypoints) or dangerous (it loosens authn,
authz or syscall decisions, removes validator rules, or undoes a commit with
a Security-Fix: trailer). Then write a new commit whose tree is REV's:
history is never rewritten. A dangerous rollback is refused unless --force
is given and REV holds --require valid approvals (belladonna approve REV)
from keys in --keys. --dry-run prints the assessment and the impact report
and changes nothing.`,
		Example: `  belladonna rollback --dry-run HEAD~3
  belladonna rollback v1.4.0
  belladonna rollback --force --keys .belladonna/approvers --require 2 HEAD~1`,
		Args:    cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error { return p.check() },
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			r, err := (&repoParams{repo: p.repo}).open()
			if err != nil {
				return err
			}
			cur, err := p.tree(r, "HEAD")
			if err != nil {
				return err
			}
			tgt, err := p.tree(r, args[0])
			if err != nil {
				return err
			}
			head, _ := r.Resolve("HEAD")
			target, _ := r.Resolve(args[0])
			if head.Hash == target.Hash {
				return usageError(fmt.Errorf("%s is HEAD already: nothing to roll back", args[0]))
			}
			recorded, err := p.recorded(ctx, g)
			if err != nil {
				return usageError(err)
			}
			rep, err := impact.Compare(ctx, cur, tgt, impact.Options{Recorded: recorded})
			if err != nil {
				return usageError(err)
			}
			undone, err := r.Undone(ctx, args[0], "HEAD")
			if err != nil {
				return usageError(err)
			}
			var fixes []string
			for _, v := range undone {
				for _, f := range v.Trailers["Security-Fix"] {
					fixes = append(fixes, fmt.Sprintf("%s %q, Security-Fix: %s", v.Short(), v.Subject, f))
				}
			}
			a := impact.Assess(rep, fixes)
			fmt.Fprintf(stdout, "rollback of %s to %s: %s, undoing %d commits\n", head.Hash.String()[:12], target.Hash.String()[:12], a.Level, len(undone))
			for _, why := range a.Reasons {
				fmt.Fprintf(stdout, "  - %s\n", why)
			}
			fmt.Fprintln(stdout)
			// The report, and --fail-risk refusing a risky rollback as a diff would fail.
			if err := p.report(stdout, rep); err != nil {
				return err
			}
			if dryRun {
				return nil
			}
			if a.Level == impact.Dangerous {
				if !force {
					return findingsError(errors.New("refused: a dangerous rollback needs --force and signed approvals of the target (belladonna approve " + args[0] + ")"))
				}
				if keys == "" || require < 1 {
					return usageError(errors.New("a dangerous rollback needs --keys DIR and --require N (at least 1)"))
				}
				ks, err := policyrepo.LoadApprovalKeys(keys)
				if err != nil {
					return usageError(err)
				}
				if _, err := r.VerifyApprovals(target.Hash.String(), ks, require, time.Now()); err != nil {
					if errors.Is(err, policyrepo.ErrNotApproved) {
						return findingsError(fmt.Errorf("refused: %w", err))
					}
					return usageError(err)
				}
			}
			msg := fmt.Sprintf("Roll back to %s\n\n%s\n\nRollback-Of: %s\nRollback-Complexity: %s\n",
				target.Hash.String()[:12], strings.Join(a.Reasons, "\n"), target.Hash, a.Level)
			who := object.Signature{Name: author, Email: author, When: time.Now()}
			if author == "" {
				who.Name, who.Email = "belladonna", "belladonna@localhost"
			}
			h, err := r.Rollback(target.Hash.String(), msg, who)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "\nrolled back: commit %s restores %s\n", h, target.Hash)
			return nil
		},
	}
	p.addFlags(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the assessment and the impact report; change nothing")
	cmd.Flags().BoolVar(&force, "force", false, "allow a dangerous rollback (it still needs --require approvals)")
	cmd.Flags().StringVar(&keys, "keys", "", "directory of trusted approver keys, for a dangerous rollback")
	cmd.Flags().IntVar(&require, "require", 0, "distinct approvers of the target a dangerous rollback needs")
	cmd.Flags().StringVar(&author, "author", "", "author of the rollback commit (default belladonna)")
	return cmd
}
