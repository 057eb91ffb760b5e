package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/crypt"
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

The log must not be open in another process (stop serve first): a running
serve caches subject keys and would keep using the destroyed one.`,
		Example: `  belladonna audit erase alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := g.cfg
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if !cfg.Audit.Encryption.Enabled {
				return usageError(errors.New("audit.encryption.enabled is false: entries are not sealed per subject, so they cannot be crypto-erased"))
			}
			codec, subjects, err := runtime.OpenCodec(cfg)
			if err != nil {
				return usageError(err)
			}
			l, err := audit.Open(cmd.Context(), audit.Options{Dir: runtime.AuditDir(cfg.DataDir), Codec: codec})
			if err != nil {
				return usageError(err)
			}
			defer l.Close()
			rec, err := subjects.Erase(cmd.Context(), args[0])
			if errors.Is(err, crypt.ErrUnknownSubject) {
				return findingsError(fmt.Errorf("no key for subject %q: never recorded, or already erased", args[0]))
			}
			if err != nil {
				return usageError(err)
			}
			idx, err := l.Append(cmd.Context(), rec.Entry())
			if err != nil {
				return fmt.Errorf("key destroyed, but recording the erasure failed: %w", err)
			}
			fmt.Fprintf(stdout, "erased: subject key %s destroyed; recorded as entry %d\n", rec.SubjectKeyID, idx)
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	return cmd
}

func newAuditKeysCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:     "rotate-key",
		Short:   "Rotate the audit encryption key: new entries use a new key, old ones stay readable",
		Example: `  belladonna audit rotate-key`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := g.cfg
			if cmd.Flags().Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			path := cfg.Audit.Encryption.KeyringFile
			if path == "" {
				path = filepath.Join(runtime.AuditDir(cfg.DataDir), "keyring.json")
			}
			kr, err := crypt.LoadKeyring(path)
			if errors.Is(err, os.ErrNotExist) {
				return usageError(fmt.Errorf("no keyring at %s (audit.encryption creates it on first use)", path))
			}
			if err != nil {
				return usageError(err)
			}
			info, err := kr.Rotate()
			if err != nil {
				return usageError(err)
			}
			fmt.Fprintf(stdout, "rotated: key %s is now active\n", info.ID)
			return nil
		},
	}
	addDataDirFlag(cmd.Flags(), &dataDir)
	return cmd
}
