package bundles

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The last good bundle is kept on disk so that a restart with the server
// unreachable comes up serving it: the bundle, its attestation and what
// its verification found, each replaced atomically (write, fsync, rename,
// fsync the directory), the state file last, so a crash leaves the old
// set or the new one.

const (
	stateBundleFile      = "bundle.tar.gz"
	stateAttestationFile = "bundle.intoto.json"
	stateFile            = "state.json"
)

// Verification is what an edge found when it checked a bundle; it is
// persisted with the bundle and reported in the status.
type Verification struct {
	Source     string    `json:"source"`
	SHA256     string    `json:"sha256"`
	Revision   string    `json:"revision"`
	Sequence   uint64    `json:"sequence"`
	KeyID      string    `json:"key_id"`
	Attested   bool      `json:"attested"`
	Repository string    `json:"repository,omitempty"`
	Branch     string    `json:"branch,omitempty"`
	VerifiedAt time.Time `json:"verified_at"`
	ETag       string    `json:"etag,omitempty"`
}

type persisted struct {
	Verification Verification `json:"verification"`
	ActivatedAt  time.Time    `json:"activated_at"`
}

func saveState(dir string, bundleBytes, attestation []byte, st persisted) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bundle state %s: %w", dir, err)
	}
	if err := writeAtomic(dir, stateBundleFile, bundleBytes); err != nil {
		return err
	}
	if attestation != nil {
		if err := writeAtomic(dir, stateAttestationFile, attestation); err != nil {
			return err
		}
	} else if err := os.Remove(filepath.Join(dir, stateAttestationFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bundle state: %w", err)
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(dir, stateFile, append(b, '\n'))
}

// loadState returns the persisted bundle, or nil with no error when there
// is none. A bundle whose bytes are not the ones recorded is an error:
// the caller re-verifies anyway, but a mismatch means someone wrote there.
func loadState(dir string) (*persisted, []byte, []byte, error) {
	sb, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bundle state: %w", err)
	}
	var st persisted
	if err := json.Unmarshal(sb, &st); err != nil {
		return nil, nil, nil, fmt.Errorf("bundle state %s: %w", filepath.Join(dir, stateFile), err)
	}
	b, err := os.ReadFile(filepath.Join(dir, stateBundleFile))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("bundle state: %w", err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != st.Verification.SHA256 {
		return nil, nil, nil, fmt.Errorf("bundle state: %s has sha256 %s, the state file records %s", filepath.Join(dir, stateBundleFile), got, st.Verification.SHA256)
	}
	att, err := os.ReadFile(filepath.Join(dir, stateAttestationFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("bundle state: %w", err)
	}
	return &st, b, att, nil
}

func writeAtomic(dir, name string, b []byte) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return fmt.Errorf("bundle state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("bundle state %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("bundle state %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("bundle state %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("bundle state %s: %w", name, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("bundle state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("bundle state: syncing %s: %w", dir, err)
	}
	return nil
}
