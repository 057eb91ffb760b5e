package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/runtime"
	"github.com/belladonna-dev/belladonna/validators/impact"
)

// impactParams are the flags of commands that measure a policy change.
type impactParams struct {
	repo        string
	dir         string
	format      string
	auditLast   int
	auditSince  time.Duration
	noAudit     bool
	failRisk    int
	summaryFile string
}

func (p *impactParams) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&p.repo, "repo", ".", "policy git repository")
	fs.StringVar(&p.dir, "dir", "", "policy directory inside the repository (default: its root)")
	fs.StringVar(&p.format, "format", "text", "output format: "+strings.Join(impact.Formats, "|"))
	fs.IntVar(&p.auditLast, "audit-last", 10000, "replay the newest N recorded decisions from the audit log (0: all in --audit-since)")
	fs.DurationVar(&p.auditSince, "audit-since", 0, "replay only decisions recorded within this long (e.g. 24h)")
	fs.BoolVar(&p.noAudit, "no-audit", false, "replay only the Rego tests' inputs, not recorded decisions")
	fs.IntVar(&p.failRisk, "fail-risk", 101, "exit 1 when the risk score is at or above this (0-100)")
	fs.StringVar(&p.summaryFile, "summary-file", "", "also append the markdown report to this file (e.g. $GITHUB_STEP_SUMMARY)")
}

func (p *impactParams) check() error {
	if !slices.Contains(impact.Formats, p.format) {
		return usageError(fmt.Errorf("unknown --format %q: want %s", p.format, strings.Join(impact.Formats, "|")))
	}
	if p.auditLast < 0 || p.failRisk < 0 {
		return usageError(errors.New("--audit-last and --fail-risk want numbers from 0"))
	}
	return nil
}

// tree is the policy tree of rev: the repository's, or --dir within it.
func (p *impactParams) tree(r *policyrepo.Repo, rev string) (impact.Revision, error) {
	fsys, c, err := r.FS(rev)
	if err != nil {
		return impact.Revision{}, usageError(err)
	}
	if d := strings.Trim(p.dir, "/"); d != "" {
		if fsys, err = fs.Sub(fsys, d); err != nil {
			return impact.Revision{}, usageError(err)
		}
		if _, err := fs.Stat(fsys, "."); err != nil {
			return impact.Revision{}, usageError(fmt.Errorf("--dir %s is not in %s: %w", d, rev, err))
		}
	}
	return impact.Revision{Label: rev, Commit: c.Hash.String(), FS: fsys}, nil
}

// recorded reads the decisions to replay from the configured audit log; no
// log yet is no recorded decisions.
func (p *impactParams) recorded(ctx context.Context, g *globalParams) ([]impact.Case, error) {
	if p.noAudit {
		return nil, nil
	}
	dir := runtime.AuditDir(g.cfg.DataDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	codec, _, err := runtime.OpenCodec(g.cfg)
	if err != nil {
		return nil, err
	}
	r, err := audit.OpenReader(dir, codec)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	opts := impact.RecordedOptions{Last: p.auditLast}
	if p.auditSince > 0 {
		opts.Filter.Since = time.Now().Add(-p.auditSince)
	}
	return impact.RecordedCases(ctx, r, opts)
}

// report writes r and turns the risk threshold into the exit code.
func (p *impactParams) report(stdout io.Writer, r *impact.Report) error {
	if err := impact.Write(stdout, r, p.format); err != nil {
		return err
	}
	if p.summaryFile != "" {
		f, err := os.OpenFile(p.summaryFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return usageError(err)
		}
		werr := impact.Write(f, r, "markdown")
		if err := errors.Join(werr, f.Close()); err != nil {
			return err
		}
	}
	if r.Risk >= p.failRisk {
		return findingsError(fmt.Errorf("risk score %d is at or above --fail-risk %d", r.Risk, p.failRisk))
	}
	return nil
}

func newDiffCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var p impactParams
	cmd := &cobra.Command{
		Use:   "diff BASE [HEAD]",
		Short: "Impact of a policy change between two revisions: rules, data, replayed decisions, risk",
		Long: `Compile BASE and HEAD (default HEAD) from git, list the rules and data added,
removed and changed per component, and replay through both the inputs of
the Rego tests and the decisions recorded in the audit log (when one
exists): allow->deny is tightened, deny->allow loosened, other result
changes modified. Prints flipped decisions with examples, compatibility
warnings (removed entrypoints, changed result shapes) and a 0-100 risk
score (see the README for its formula).`,
		Example: `  belladonna diff main HEAD
  belladonna diff --format markdown --summary-file "$GITHUB_STEP_SUMMARY" origin/main
  belladonna diff --audit-since 24h --fail-risk 50 v1.4.0 v1.5.0`,
		Args:    cobra.RangeArgs(1, 2),
		PreRunE: func(*cobra.Command, []string) error { return p.check() },
		RunE: func(cmd *cobra.Command, args []string) error {
			head := "HEAD"
			if len(args) == 2 {
				head = args[1]
			}
			repo, err := (&repoParams{repo: p.repo}).open()
			if err != nil {
				return err
			}
			var revs [2]impact.Revision
			for i, rev := range []string{args[0], head} {
				if revs[i], err = p.tree(repo, rev); err != nil {
					return err
				}
			}
			recorded, err := p.recorded(cmd.Context(), g)
			if err != nil {
				return usageError(err)
			}
			r, err := impact.Compare(cmd.Context(), revs[0], revs[1], impact.Options{Recorded: recorded})
			if err != nil {
				return usageError(err)
			}
			return p.report(stdout, r)
		},
	}
	p.addFlags(cmd)
	return cmd
}
