package runtime

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"

	"github.com/belladonna-dev/belladonna/audit"
)

// CheckpointKMSKey resolves a sigstore KMS URI to a checkpoint signer (see
// LoadSigner).
func CheckpointKMSKey(ctx context.Context, uri string) (*audit.CheckpointKey, error) {
	s, err := LoadSigner(ctx, uri)
	if err == nil {
		var k *audit.CheckpointKey
		if k, err = audit.NewCheckpointSigner(ctx, s); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("audit.checkpoint_kms_key: %w", err)
}

// cloudKMS are the schemes whose providers a default build leaves out.
var cloudKMS = []string{"awskms://", "gcpkms://", "azurekms://"}

// LoadSigner is a sigstore signer for key: a KMS URI or an unencrypted PEM
// private key file (ECDSA, RSA or Ed25519). KMS providers are registered by
// the binary that links them (cmd/belladonna); any other scheme NAME:// is
// served by a sigstore-kms-NAME plugin on PATH, as for cosign.
func LoadSigner(ctx context.Context, key string) (signature.Signer, error) {
	if strings.Contains(key, "://") {
		sv, err := kms.Get(ctx, key, crypto.SHA256)
		if _, ok := errors.AsType[*kms.ProviderNotFoundError](err); ok {
			for _, scheme := range cloudKMS {
				if strings.HasPrefix(key, scheme) {
					return nil, fmt.Errorf("key %s: this build has no %s provider: build with -tags cloudkms, or put a sigstore-kms-%s plugin on PATH: %w",
						key, strings.TrimSuffix(scheme, "://"), strings.TrimSuffix(scheme, "://"), err)
				}
			}
		}
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
