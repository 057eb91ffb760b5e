package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/crypt"
)

// ErrNoEncryption: erasure and key rotation need audit.encryption.
var ErrNoEncryption = errors.New("audit.encryption.enabled is false: entries are not sealed, so there is no key to erase or rotate")

// Erased is what an erasure did.
type Erased struct {
	SubjectKeyID string `json:"subject_key_id"`
	Index        uint64 `json:"index"` // the erasure event's entry
}

// Rotated is what a key rotation did.
type Rotated struct {
	KeyID string `json:"key_id"`
	Index uint64 `json:"index"` // the key_rotation event's entry
}

// EraseSubject destroys subject's data key and records the erasure in l.
// It returns crypt.ErrUnknownSubject for a subject without a key.
func EraseSubject(ctx context.Context, l audit.Appender, subjects *crypt.SubjectStore, subject string) (Erased, error) {
	if subjects == nil {
		return Erased{}, ErrNoEncryption
	}
	rec, err := subjects.Erase(ctx, subject)
	if err != nil {
		return Erased{}, err
	}
	idx, err := l.Append(ctx, rec.Entry())
	if err != nil {
		return Erased{SubjectKeyID: rec.SubjectKeyID}, fmt.Errorf("key %s destroyed, but recording the erasure failed: %w", rec.SubjectKeyID, err)
	}
	return Erased{SubjectKeyID: rec.SubjectKeyID, Index: idx}, nil
}

// RotateKey makes a new master key active (entries written from now on use
// it; older ones stay readable) and records the rotation in l.
func RotateKey(ctx context.Context, l audit.Appender, subjects *crypt.SubjectStore) (Rotated, error) {
	if subjects == nil {
		return Rotated{}, ErrNoEncryption
	}
	info, err := subjects.Keyring().Rotate()
	if err != nil {
		return Rotated{}, err
	}
	idx, err := l.Append(ctx, &audit.Entry{Kind: audit.KindEvent, Type: audit.EventKeyRotation, Severity: "info",
		Message: "audit encryption key rotated: new entries are sealed under " + info.ID,
		Attrs:   map[string]string{"key_id": info.ID}})
	if err != nil {
		return Rotated{KeyID: info.ID}, fmt.Errorf("key %s is active, but recording the rotation failed: %w", info.ID, err)
	}
	return Rotated{KeyID: info.ID, Index: idx}, nil
}
