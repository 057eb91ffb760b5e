package crypt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// ErasureRecord describes a completed erasure. It names the destroyed key
// by its random id only: recording the subject would re-link the erased
// entries to the person (and an entry with Subject set would be sealed under
// a brand new key for that subject).
type ErasureRecord struct {
	SubjectKeyID string
	ErasedAt     time.Time
}

// Entry is the audit event to append for r (Type audit.EventErasure).
func (r ErasureRecord) Entry() *audit.Entry {
	return &audit.Entry{
		Time: r.ErasedAt, Kind: audit.KindEvent, Type: audit.EventErasure, Severity: "info",
		Message: "subject data key destroyed; entries sealed under it now read as erased",
		Attrs:   map[string]string{"subject_key_id": r.SubjectKeyID},
	}
}

// Erase destroys subject's data key (GDPR Art. 17 crypto-erasure). Stored
// payloads are not touched, so the Merkle tree and hash chain still verify;
// their sealed fields become unrecoverable and Decode reports them Erased.
// Once Erase returns without error, no Decode in this process (or any later
// one) yields those fields; entries encoded concurrently with the call may
// land under either the old key (and so be erased) or a new one.
//
// Steps, each durable before the next: tombstone written, key file
// overwritten and removed, index removed. Erase is idempotent under crashes:
// a retry (or the subject's next use) finishes an interrupted erasure.
// ErrUnknownSubject if the subject has no key (never seen, or already
// erased; by design these cannot be told apart). ctx is checked before
// anything is destroyed.
func (s *SubjectStore) Erase(ctx context.Context, subject string) (ErasureRecord, error) {
	if err := ctx.Err(); err != nil {
		return ErasureRecord{}, err
	}
	stripe := &s.stripes[s.stripe(subject)]
	stripe.Lock()
	defer stripe.Unlock()
	name := s.indexName(subject)
	skid, err := s.readIndex(name)
	if err != nil {
		return ErasureRecord{}, err
	}
	if skid == "" {
		return ErasureRecord{}, ErrUnknownSubject
	}

	// Forget the key in memory first: from here on no lookup in this
	// process returns it, even if a step below fails.
	s.mu.Lock()
	s.erased[skid] = struct{}{}
	delete(s.bySubject, subject)
	delete(s.byID, skid)
	s.mu.Unlock()

	now := time.Now().UTC()
	bs, err := json.Marshal(&tombstoneFile{Version: subjectFileVersion, ID: skid, Erased: now})
	if err != nil {
		return ErasureRecord{}, fmt.Errorf("crypt: encoding tombstone: %w", err)
	}
	if err := os.MkdirAll(s.shard(skid), 0o700); err != nil {
		return ErasureRecord{}, fmt.Errorf("crypt: erasing subject key: %w", err)
	}
	if !s.tombstoned(skid) { // keep the first erasure time on a retry
		if err := writeFileAtomic(s.tombPath(skid), bs); err != nil {
			return ErasureRecord{}, keyErr(skid, fmt.Errorf("crypt: writing tombstone: %w", err))
		}
	}
	if err := s.finishErase(skid, name); err != nil {
		return ErasureRecord{}, err
	}
	return ErasureRecord{SubjectKeyID: skid, ErasedAt: now}, nil
}

// finishErase destroys the key file and removes the index once the
// tombstone is down. Runs with the subject's stripe held.
func (s *SubjectStore) finishErase(skid, name string) error {
	if err := destroyFile(s.keyPath(skid)); err != nil {
		return keyErr(skid, fmt.Errorf("crypt: destroying subject key: %w", err))
	}
	if err := syncDir(s.shard(skid)); err != nil {
		return keyErr(skid, fmt.Errorf("crypt: destroying subject key: %w", err))
	}
	if err := os.Remove(s.idxPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return keyErr(skid, fmt.Errorf("crypt: removing subject index: %w", err))
	}
	if err := syncDir(s.shard(name)); err != nil {
		return keyErr(skid, fmt.Errorf("crypt: removing subject index: %w", err))
	}
	return nil
}
