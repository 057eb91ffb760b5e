package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newApproveCommand(stdout io.Writer) *cobra.Command {
	var p repoParams
	var key, approver string
	cmd := &cobra.Command{
		Use:   "approve REV",
		Short: "Sign an approval of a policy version and store it in git notes",
		Long: `Sign {repository, commit, approver, time, nonce} for REV with KEY (a PEM
private key file or a KMS URI: hashivault://; awskms://, gcpkms:// and
azurekms:// in a build with -tags cloudkms; or NAME:// for a
sigstore-kms-NAME plugin) and append it to
the commit's note in ` + policyrepo.ApprovalsRef + `. Push it with
'git push origin ` + policyrepo.ApprovalsRef + `'.`,
		Example: `  belladonna approve HEAD --key ~/.belladonna/approver.pem --approver bo@example.com
  belladonna approve 3f2a9c1 --key awskms:///arn:aws:kms:eu-west-1:111:key/abcd --approver bo`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || approver == "" {
				return usageError(errors.New("--key and --approver are required"))
			}
			r, err := p.open()
			if err != nil {
				return err
			}
			signer, err := runtime.LoadSigner(cmd.Context(), key)
			if err != nil {
				return usageError(err)
			}
			st, kid, err := r.Approve(cmd.Context(), args[0], approver, signer)
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "approved %s by %s (key %s, nonce %s)\n", st.Commit, st.Approver, kid, st.Nonce)
			return nil
		},
	}
	p.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&key, "key", "", "private key file (PEM) or KMS URI that signs the approval")
	cmd.Flags().StringVar(&approver, "approver", "", "who approves (name or e-mail), as recorded in the statement")
	return cmd
}

func newApprovalsCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "approvals", Short: "Check the signed approvals of policy versions",
		Example: "  belladonna approvals verify HEAD --keys .belladonna/approvers --require 2"}
	var p repoParams
	var keys string
	var require int
	verify := &cobra.Command{
		Use:   "verify REV",
		Short: "Verify REV's approvals against trusted keys and require N distinct approvers",
		Long: `Check every approval stored for REV: signed (nothing unsigned is counted), by a
key in --keys (PEM public keys or certificates; a certificate's validity
bounds its key), over a statement for this commit and this repository, with
a nonce no earlier approval used. Exit 0 when at least --require distinct
approvers hold a valid approval, 1 otherwise.

When REV is a branch that repository.protected_branches protects, its rule
gives the defaults of --keys and --require: the check that serve --repo
makes before serving the branch.`,
		Example: `  belladonna approvals verify HEAD --keys .belladonna/approvers --require 2
  # the rule configured for main
  belladonna approvals verify main`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := p.open()
			if err != nil {
				return err
			}
			if keys == "" {
				branch, err := r.BranchOf(args[0])
				if err != nil {
					return err
				}
				var rules []policyrepo.Protection
				for _, pb := range g.cfg.Repository.ProtectedBranches {
					rules = append(rules, policyrepo.Protection{Pattern: pb.Pattern, Approvals: pb.Approvals, KeysDir: pb.KeysDir})
				}
				if pb, ok := policyrepo.Protecting(rules, branch); ok {
					keys = pb.KeysDir
					if !cmd.Flags().Changed("require") {
						require = pb.Approvals
					}
					fmt.Fprintf(stdout, "branch %s is protected (repository.protected_branches %q): %d approvals by keys in %s\n", branch, pb.Pattern, pb.Approvals, pb.KeysDir)
				}
			}
			if keys == "" {
				return usageError(errors.New("--keys DIR is required (or REV a branch that repository.protected_branches protects)"))
			}
			if require < 1 {
				return usageError(fmt.Errorf("--require %d: want at least 1", require))
			}
			ks, err := policyrepo.LoadApprovalKeys(keys)
			if err != nil {
				return usageError(err)
			}
			rep, verr := r.VerifyApprovals(args[0], ks, require, time.Now())
			if verr != nil && !errors.Is(verr, policyrepo.ErrNotApproved) {
				return usageError(verr)
			}
			if p.json {
				if err := writeJSON(stdout, rep); err != nil {
					return err
				}
			} else {
				for _, a := range rep.Approvals {
					if a.Valid {
						fmt.Fprintf(stdout, "valid    %s key %s at %s\n", a.Approver, a.KeyID, a.Time.Format(time.RFC3339))
					} else {
						fmt.Fprintf(stdout, "INVALID  %s\n", a.Problem)
					}
				}
				fmt.Fprintf(stdout, "%s: %d distinct approvers (%s), %d required\n", rep.Commit[:12], len(rep.Approvers), rep, require)
			}
			if verr != nil {
				return findingsError(verr)
			}
			return nil
		},
	}
	p.addFlags(verify.Flags())
	verify.Flags().StringVar(&keys, "keys", "", "directory of trusted approver keys (.pem, .pub, .crt)")
	verify.Flags().IntVar(&require, "require", 1, "distinct approvers needed")
	cmd.AddCommand(verify)
	return cmd
}
