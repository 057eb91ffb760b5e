package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/runtime"
)

// auditParams are the flags every audit subcommand shares.
type auditParams struct {
	dataDir    string
	publicKeys []string
	format     string
}

func (p *auditParams) addFlags(cmd *cobra.Command, formats bool) {
	addDataDirFlag(cmd.Flags(), &p.dataDir)
	cmd.Flags().StringArrayVar(&p.publicKeys, "public-key", nil, "public key (PKIX PEM: Ed25519, ECDSA or RSA) that signs checkpoints; repeat for keys used over time (default: the log's checkpoint.key.pub*)")
	if formats {
		cmd.Flags().StringVar(&p.format, "format", "text", "output format: text|json")
	}
}

func (p *auditParams) dir(g *globalParams, cmd *cobra.Command) string {
	if cmd.Flags().Changed("data-dir") {
		return runtime.AuditDir(p.dataDir)
	}
	return runtime.AuditDir(g.cfg.DataDir)
}

// reader opens the log read-only with the codec the configuration sets
// (encrypted logs decode with the keyring).
func (p *auditParams) reader(g *globalParams, cmd *cobra.Command) (*audit.Reader, error) {
	cfg := g.cfg
	if cmd.Flags().Changed("data-dir") {
		cfg.DataDir = p.dataDir
	}
	codec, _, err := runtime.OpenCodec(cfg)
	if err != nil {
		return nil, usageError(err)
	}
	r, err := audit.OpenReader(runtime.AuditDir(cfg.DataDir), codec)
	if err != nil {
		return nil, usageError(err)
	}
	return r, nil
}

func (p *auditParams) check() error {
	if p.format != "" && p.format != "text" && p.format != "json" {
		return usageError(fmt.Errorf("unknown --format %q: want text or json", p.format))
	}
	return nil
}

func (p *auditParams) pub() ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, path := range p.publicKeys {
		k, err := audit.LoadPublicKey(path)
		if err != nil {
			return nil, usageError(err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func newAuditCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read, verify and prove the tamper-evident audit log",
		Long: `The audit log records every decision and security event in hash-chained
segments under <data-dir>/audit, with an RFC 6962 Merkle tree and signed
checkpoints. These commands read it without writing, so they are safe beside
a running 'belladonna serve'.`,
		Example: `  belladonna audit tail -n 20
  belladonna audit verify
  belladonna audit prove 42 > proof.json && belladonna audit verify-proof proof.json`,
	}
	cmd.AddCommand(
		newAuditVerifyCommand(g, stdout),
		newAuditProveCommand(g, stdout),
		newAuditVerifyProofCommand(g, stdout),
		newAuditConsistencyCommand(g, stdout),
		newAuditTailCommand(g, stdout),
		newAuditQueryCommand(g, stdout),
		newAuditEraseCommand(g, stdout),
		newAuditKeysCommand(g, stdout),
	)
	return cmd
}

func newAuditVerifyCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	var from, to uint64
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the hash chain and Merkle tree and check every checkpoint signature",
		Long: `Recompute the hash chain and Merkle tree from the segments, compare every
entry with the tree and every signed checkpoint with the recomputed root.
Each modified, deleted, inserted, reordered or truncated entry is reported
with its index. Exit 1 when anything is wrong.`,
		Example: `  belladonna audit verify
  belladonna audit verify --from 1000 --to 2000 --format json`,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error { return p.check() },
		RunE: func(cmd *cobra.Command, _ []string) error {
			pub, err := p.pub()
			if err != nil {
				return err
			}
			rep, err := audit.Verify(cmd.Context(), p.dir(g, cmd), audit.VerifyOptions{From: from, To: to, PublicKeys: pub})
			if err != nil {
				return usageError(err)
			}
			if p.format == "json" {
				if err := writeJSON(stdout, rep); err != nil {
					return err
				}
			} else {
				for _, pr := range rep.Problems {
					fmt.Fprintf(stdout, "entry %d: %s: %s\n", pr.Index, pr.Kind, pr.Message)
				}
				rate := float64(rep.Checked) / max(rep.Duration.Seconds(), 1e-9)
				fmt.Fprintf(stdout, "%d entries in %d segments, %d checked, %d checkpoints verified, root %x (%.0f entries/s)\n",
					rep.Entries, rep.Segments, rep.Checked, rep.Checkpoints, rep.Root, rate)
			}
			if !rep.OK() {
				return findingsError(fmt.Errorf("audit log verification failed: %d problem(s)", len(rep.Problems)))
			}
			if p.format != "json" {
				fmt.Fprintln(stdout, "OK")
			}
			return nil
		},
	}
	p.addFlags(cmd, true)
	cmd.Flags().Uint64Var(&from, "from", 0, "first entry index to check")
	cmd.Flags().Uint64Var(&to, "to", 0, "check entries before this index (0: to the end)")
	return cmd
}

func newAuditProveCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	cmd := &cobra.Command{
		Use:   "prove INDEX",
		Short: "Print an inclusion proof (JSON) for an entry against the latest checkpoint",
		Example: `  belladonna audit prove 42 > proof.json
  belladonna audit verify-proof --public-key checkpoint.key.pub proof.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			idx, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return usageError(fmt.Errorf("INDEX %q is not an entry index", args[0]))
			}
			r, err := p.reader(g, cmd)
			if err != nil {
				return err
			}
			proof, err := r.ProveInclusion(cmd.Context(), idx)
			if err != nil {
				return usageError(err)
			}
			return writeJSON(stdout, proof)
		},
	}
	p.addFlags(cmd, false)
	return cmd
}

func newAuditVerifyProofCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	cmd := &cobra.Command{
		Use:     "verify-proof FILE",
		Short:   "Check an inclusion or consistency proof offline",
		Example: `  belladonna audit verify-proof --public-key checkpoint.key.pub proof.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(args[0])
			if err != nil {
				return usageError(err)
			}
			var probe map[string]json.RawMessage
			if err := json.Unmarshal(raw, &probe); err != nil {
				return usageError(fmt.Errorf("%s is not a JSON proof: %w", args[0], err))
			}
			if _, ok := probe["size1"]; ok {
				var cp audit.ConsistencyProof
				if err := json.Unmarshal(raw, &cp); err != nil {
					return usageError(err)
				}
				if err := audit.VerifyConsistencyProof(cp); err != nil {
					return findingsError(err)
				}
				fmt.Fprintf(stdout, "OK: the tree of %d entries is a prefix of the tree of %d entries\n", cp.Size1, cp.Size2)
				return nil
			}
			var ip audit.InclusionProof
			if err := json.Unmarshal(raw, &ip); err != nil {
				return usageError(err)
			}
			pub, err := p.pub()
			if err != nil {
				return err
			}
			if len(pub) == 0 {
				if r, err := audit.OpenReader(p.dir(g, cmd), nil); err == nil {
					pub, _ = r.PublicKeys()
				}
			}
			if len(pub) == 0 {
				return usageError(errors.New("no public key: pass --public-key to check the checkpoint signature"))
			}
			if err := audit.VerifyInclusionProof(ip, pub...); err != nil {
				return findingsError(err)
			}
			fmt.Fprintf(stdout, "OK: entry %d is in the log of %d entries (root %x, checkpoint signed by %s)\n", ip.Index, ip.Size, ip.Root, ip.Checkpoint.KeyID)
			return nil
		},
	}
	p.addFlags(cmd, false)
	return cmd
}

func newAuditConsistencyCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	cmd := &cobra.Command{
		Use:     "consistency OLD NEW",
		Short:   "Print a consistency proof (JSON) between two tree sizes",
		Example: `  belladonna audit consistency 1000 5000 > consistency.json`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sizes [2]uint64
			for i, a := range args {
				n, err := strconv.ParseUint(a, 10, 64)
				if err != nil {
					return usageError(fmt.Errorf("%q is not a tree size", a))
				}
				sizes[i] = n
			}
			r, err := p.reader(g, cmd)
			if err != nil {
				return err
			}
			proof, err := r.ProveConsistency(sizes[0], sizes[1])
			if err != nil {
				return usageError(err)
			}
			return writeJSON(stdout, proof)
		},
	}
	p.addFlags(cmd, false)
	return cmd
}

func newAuditTailCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	var n uint64
	var follow bool
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print the last entries, and with -f new ones as they are appended",
		Example: `  belladonna audit tail -n 50
  belladonna audit tail -f --format json | jq .`,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error { return p.check() },
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := p.reader(g, cmd)
			if err != nil {
				return err
			}
			size := r.Size()
			from := uint64(0)
			if size > n {
				from = size - n
			}
			return streamEntries(cmd.Context(), r, from, audit.Filter{}, follow, 0, p.format, stdout)
		},
	}
	p.addFlags(cmd, true)
	cmd.Flags().Uint64VarP(&n, "lines", "n", 10, "number of entries to print")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing entries as they are appended")
	return cmd
}

func newAuditQueryCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &auditParams{}
	var f audit.Filter
	var since, until, kind string
	var limit int
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Find entries by time range, path, outcome, revision, subject or type",
		Example: `  belladonna audit query --outcome deny --since 1h
  belladonna audit query --subject alice --path security/authz/ --format json
  belladonna audit query --type signature_failure --since 2026-11-01T00:00:00Z`,
		Args:    cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error { return p.check() },
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if f.Since, err = parseWhen(since); err != nil {
				return usageError(fmt.Errorf("--since: %w", err))
			}
			if f.Until, err = parseWhen(until); err != nil {
				return usageError(fmt.Errorf("--until: %w", err))
			}
			if kind != "" && kind != string(audit.KindDecision) && kind != string(audit.KindEvent) {
				return usageError(fmt.Errorf("--kind %q: want decision or event", kind))
			}
			f.Kind = audit.Kind(kind)
			outcomes := []string{"", audit.OutcomeAllow, audit.OutcomeDeny, audit.OutcomeDefined, audit.OutcomeUndefined, audit.OutcomeError}
			if !slices.Contains(outcomes, f.Outcome) {
				return usageError(fmt.Errorf("--outcome %q: want allow, deny, defined, undefined or error", f.Outcome))
			}
			r, err := p.reader(g, cmd)
			if err != nil {
				return err
			}
			return streamEntries(cmd.Context(), r, 0, f, false, limit, p.format, stdout)
		},
	}
	p.addFlags(cmd, true)
	fs := cmd.Flags()
	fs.StringVar(&since, "since", "", "entries at or after: RFC 3339 time or a duration ago (1h, 30m)")
	fs.StringVar(&until, "until", "", "entries before: RFC 3339 time or a duration ago")
	fs.StringVar(&f.Path, "path", "", "decision path, or a prefix ending in /")
	fs.StringVar(&f.Outcome, "outcome", "", "allow|deny|defined|undefined|error")
	fs.StringVar(&f.Revision, "revision", "", "policy revision")
	fs.StringVar(&f.Subject, "subject", "", "data subject (user id)")
	fs.StringVar(&f.Type, "type", "", "entry type: decision, bundle_activation, signature_failure, incident, ...")
	fs.StringVar(&kind, "kind", "", "decision|event")
	fs.IntVar(&limit, "limit", 0, "stop after this many entries (0: no limit)")
	return cmd
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return t, nil
}

// streamEntries prints matching entries from index from; with follow it
// waits for new ones until the command is interrupted.
func streamEntries(ctx context.Context, src audit.Source, from uint64, f audit.Filter, follow bool, limit int, format string, w io.Writer) error {
	printed := 0
	for {
		var werr error
		err := audit.Scan(ctx, src, from, f, func(e audit.Entry) bool {
			werr = printEntry(w, format, &e)
			printed++
			from = e.Index + 1
			return werr == nil && (limit == 0 || printed < limit)
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			return usageError(err)
		}
		if !follow || (limit > 0 && printed >= limit) {
			return nil
		}
		if size := src.Size(); size > from {
			from = size // skipped entries did not match
		}
		if err := src.Wait(ctx, from); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

func printEntry(w io.Writer, format string, e *audit.Entry) error {
	if format == "json" {
		bs, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", bs)
		return err
	}
	ts := e.Time.UTC().Format(time.RFC3339Nano)
	if e.Kind == audit.KindDecision {
		subject := e.Subject
		if subject == "" {
			subject = "-"
		}
		_, err := fmt.Fprintf(w, "%d %s decision %s %s subject=%s rev=%s id=%s latency=%s\n",
			e.Index, ts, e.Path, e.Outcome, subject, e.Revision, e.DecisionID, time.Duration(e.LatencyNS))
		return err
	}
	_, err := fmt.Fprintf(w, "%d %s %s %s %s\n", e.Index, ts, e.Type, e.Severity, e.Message)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
