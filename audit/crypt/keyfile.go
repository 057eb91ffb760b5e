package crypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// keyringVersion is the keyring file format version.
const keyringVersion = 1

// keyringFile is the keyring's on-disk form (JSON, mode 0600):
//
//	{
//	  "version": 1,
//	  "subject_index_key": "<base64, 32 bytes>",
//	  "keys": [
//	    {"id": "k1-5c0ffee1", "created": "2026-01-02T03:04:05Z", "key": "<base64, 32 bytes>", "state": "retired"},
//	    {"id": "k2-9a8b7c6d", "created": "2026-03-04T05:06:07Z", "key": "<base64, 32 bytes>", "state": "active"}
//	  ]
//	}
//
// This type is the only place key bytes are marshalled.
type keyringFile struct {
	Version         int          `json:"version"`
	SubjectIndexKey []byte       `json:"subject_index_key"`
	Keys            []keyFileKey `json:"keys"`
}

type keyFileKey struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Key     []byte    `json:"key"`
	State   KeyState  `json:"state"`
}

func readKeyringFile(path string) (*keyringState, error) {
	bs, err := readPrivate(path)
	if err != nil {
		return nil, fmt.Errorf("crypt: reading keyring: %w", err)
	}
	st, err := parseKeyring(bs)
	if err != nil {
		return nil, fmt.Errorf("crypt: keyring %s: %w", path, err)
	}
	return st, nil
}

// parseKeyring decodes and validates a keyring file. Errors name key ids and
// fields, never key bytes.
func parseKeyring(bs []byte) (*keyringState, error) {
	var kf keyringFile
	dec := json.NewDecoder(bytes.NewReader(bs))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		// encoding/json errors quote at most one character of the input, so
		// they cannot reveal a key.
		return nil, fmt.Errorf("%w: %v", ErrInvalidKeyring, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrInvalidKeyring)
	}
	if kf.Version != keyringVersion {
		return nil, fmt.Errorf("%w: keyring version %d", ErrUnsupportedVersion, kf.Version)
	}
	if len(kf.SubjectIndexKey) != keySize {
		return nil, fmt.Errorf("%w: subject_index_key must be %d bytes", ErrInvalidKeyring, keySize)
	}
	keys := make([]*masterKey, 0, len(kf.Keys))
	for i, fk := range kf.Keys {
		if !validKeyID(fk.ID) {
			return nil, fmt.Errorf("%w: key #%d: id must be 1-64 of [A-Za-z0-9._-]", ErrInvalidKeyring, i+1)
		}
		if len(fk.Key) != keySize {
			return nil, fmt.Errorf("%w: key %q must be %d bytes", ErrInvalidKeyring, fk.ID, keySize)
		}
		if fk.State != StateActive && fk.State != StateRetired {
			return nil, fmt.Errorf("%w: key %q: state %q, want active or retired", ErrInvalidKeyring, fk.ID, fk.State)
		}
		keys = append(keys, newMasterKeyFrom(KeyInfo{ID: fk.ID, Created: fk.Created, State: fk.State}, fk.Key))
	}
	st, _, err := buildState(keys, kf.SubjectIndexKey)
	if err != nil {
		return nil, err
	}
	st.digest = sha256.Sum256(bs)
	return st, nil
}

// buildState checks the invariants (unique ids, exactly one active key) and
// returns the state with the file bytes that represent it.
func buildState(keys []*masterKey, index []byte) (*keyringState, []byte, error) {
	st := &keyringState{keys: make(map[string]*masterKey, len(keys)), order: keys, index: index}
	kf := keyringFile{Version: keyringVersion, SubjectIndexKey: index, Keys: make([]keyFileKey, 0, len(keys))}
	for _, mk := range keys {
		if st.keys[mk.info.ID] != nil {
			return nil, nil, fmt.Errorf("%w: duplicate key id %q", ErrInvalidKeyring, mk.info.ID)
		}
		st.keys[mk.info.ID] = mk
		if mk.info.State == StateActive {
			if st.active != nil {
				return nil, nil, fmt.Errorf("%w: keys %q and %q are both active", ErrInvalidKeyring, st.active.info.ID, mk.info.ID)
			}
			st.active = mk
		}
		kf.Keys = append(kf.Keys, keyFileKey{ID: mk.info.ID, Created: mk.info.Created, Key: mk.key, State: mk.info.State})
	}
	if st.active == nil {
		return nil, nil, fmt.Errorf("%w: no active key", ErrInvalidKeyring)
	}
	bs, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("crypt: encoding keyring: %w", err)
	}
	bs = append(bs, '\n')
	st.digest = sha256.Sum256(bs)
	return st, bs, nil
}

// validKeyID bounds master key ids: they travel in every envelope.
func validKeyID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
