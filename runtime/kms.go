package runtime

import (
	"context"
	"crypto"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/belladonna-dev/belladonna/audit"
)

// CheckpointKMSKey resolves a sigstore KMS URI to a checkpoint signer. The
// providers (hashivault, awskms, gcpkms, azurekms) are registered by the
// binary that links them (cmd/belladonna); any other scheme NAME:// is
// served by a sigstore-kms-NAME plugin on PATH, as for cosign.
func CheckpointKMSKey(ctx context.Context, uri string) (*audit.CheckpointKey, error) {
	sv, err := kms.Get(ctx, uri, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("audit.checkpoint_kms_key %s: %w", uri, err)
	}
	k, err := audit.NewCheckpointSigner(ctx, sv)
	if err != nil {
		return nil, fmt.Errorf("audit.checkpoint_kms_key %s: %w", uri, err)
	}
	return k, nil
}

// LoadSigner is a sigstore signer for key: a KMS URI (as for
// audit.checkpoint_kms_key) or an unencrypted PEM private key file
// (ECDSA, RSA or Ed25519).
func LoadSigner(ctx context.Context, key string) (signature.Signer, error) {
	if strings.Contains(key, "://") {
		sv, err := kms.Get(ctx, key, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key, err)
		}
		return sv, nil
	}
	s, err := signature.LoadSignerFromPEMFile(key, crypto.SHA256, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", key, err)
	}
	return s, nil
}
