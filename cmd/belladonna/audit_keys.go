package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/crypt"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/runtime"
)

func newAuditEraseCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "erase SUBJECT",
		Short: "Crypto-erase a data subject's entries (GDPR Art. 17)",
		Long: `Destroy the data key that sealed SUBJECT's entries (audit.encryption must be
on). The stored bytes stay, so the hash chain, the Merkle tree and every
checkpoint still verify; the sealed fields (input, result, caller, message)
read as erased from now on. The erasure is recorded in the log.

While serve runs, the erasure is made by serve itself (through the control
socket in the audit directory), so its key cache and its sinks stop using
the key at once; otherwise the log is opened here.`,
		Example: `  belladonna audit erase alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := g.cfg
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if !cfg.Audit.Encryption.Enabled {
				return usageError(runtime.ErrNoEncryption)
			}
			res, err := runtime.NewControlClient(runtime.AuditDir(cfg.DataDir)).Erase(cmd.Context(), args[0])
			via := "serve"
			if errors.Is(err, runtime.ErrNotRunning) {
				via = "this process"
				err = withLog(cmd, cfg, func(l *audit.Log, subjects *crypt.SubjectStore) error {
					res, err = runtime.EraseSubject(cmd.Context(), l, subjects, args[0])
					return err
				})
			}
			if ce, ok := errors.AsType[*runtime.ControlError](err); (ok && ce.Code == "unknown_subject") || errors.Is(err, crypt.ErrUnknownSubject) {
				return findingsError(fmt.Errorf("no key for subject %q: never recorded, or already erased", args[0]))
			}
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "erased: subject key %s destroyed by %s; recorded as entry %d\n", res.SubjectKeyID, via, res.Index)
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	return cmd
}

// withLog opens the audit log with the configured codec for a command that
// writes to it (serve is not running).
func withLog(cmd *cobra.Command, cfg config.Config, f func(*audit.Log, *crypt.SubjectStore) error) error {
	codec, subjects, err := runtime.OpenCodec(cfg)
	if err != nil {
		return err
	}
	l, err := audit.Open(cmd.Context(), audit.Options{Dir: runtime.AuditDir(cfg.DataDir), Codec: codec})
	if err != nil {
		return err
	}
	return errors.Join(f(l, subjects), l.Close())
}

func newAuditKeysCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Rotate the audit encryption key: new entries use a new key, old ones stay readable",
		Long: `Make a new master key active in the keyring; entries written from now on are
sealed under it and older entries stay readable. The rotation is recorded in
the log. While serve runs, serve rotates its own keyring (through the
control socket), so it switches at once.`,
		Example: `  belladonna audit rotate-key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := g.cfg
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if !cfg.Audit.Encryption.Enabled {
				return usageError(runtime.ErrNoEncryption)
			}
			res, err := runtime.NewControlClient(runtime.AuditDir(cfg.DataDir)).RotateKey(cmd.Context())
			via := "serve"
			if errors.Is(err, runtime.ErrNotRunning) {
				via = "this process"
				err = withLog(cmd, cfg, func(l *audit.Log, subjects *crypt.SubjectStore) error {
					res, err = runtime.RotateKey(cmd.Context(), l, subjects)
					return err
				})
			}
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "rotated: key %s is now active (rotated by %s; recorded as entry %d)\n", res.KeyID, via, res.Index)
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	return cmd
}
