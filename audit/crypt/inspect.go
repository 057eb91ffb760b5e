package crypt

import (
	"fmt"

	"github.com/belladonna-dev/belladonna/audit"
)

// Header is what a payload shows without any key: its key ids and its meta
// fields. It is what stays queryable after erasure, and how entries about a
// subject are found: compare SubjectKeyID with SubjectStore.KeyID(subject).
type Header struct {
	KeyID        string
	SubjectKeyID string // "" for entries without a subject
	// Meta has only the meta fields set (Time, Kind, Type, Severity,
	// DecisionID, Revision, Path, Outcome, Defined, LatencyNS).
	Meta audit.Entry
}

// Inspect parses payload's envelope without decrypting. Nothing in the
// result is authenticated: trust it once the payload's Merkle inclusion is
// verified, or use Decode, which checks it with the master key.
func Inspect(payload []byte) (Header, error) {
	env, err := parseEnvelope(payload)
	if err != nil {
		return Header{}, err
	}
	h := Header{KeyID: env.kid, SubjectKeyID: env.skid}
	if err := readMeta(env.meta, &h.Meta); err != nil {
		return Header{}, fmt.Errorf("meta: %w", err)
	}
	return h, nil
}
