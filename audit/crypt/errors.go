package crypt

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Callers branch with errors.Is; the key or file involved is
// carried by the *KeyError or *PermissionError that wraps them.
var (
	// ErrUnknownKey: a payload or subject key names a master key id the
	// keyring does not hold (typically: a keyring from another installation).
	ErrUnknownKey = errors.New("crypt: unknown key id")
	// ErrAuthFailed: AES-GCM authentication failed. The key is wrong, or the
	// ciphertext, its header or its plain metadata were altered.
	ErrAuthFailed = errors.New("crypt: authentication failed (wrong key or tampered data)")
	// ErrMalformed: the payload is not a well-formed envelope.
	ErrMalformed = errors.New("crypt: malformed envelope")
	// ErrUnsupportedVersion: the envelope or file has a version this build
	// does not read.
	ErrUnsupportedVersion = errors.New("crypt: unsupported version")
	// ErrSubjectKeyMissing: a payload names a subject key that is neither in
	// the subject store nor recorded as erased. Decoding fails rather than
	// reporting the entry as erased, so that a lost or misconfigured store is
	// never mistaken for a lawful erasure.
	ErrSubjectKeyMissing = errors.New("crypt: subject key missing (not erased, not found)")
	// ErrSubjectErased: the subject key was destroyed. Decode turns this into
	// Entry.Erased; it reaches callers only from lower-level lookups.
	ErrSubjectErased = errors.New("crypt: subject key erased")
	// ErrUnknownSubject: Erase or KeyID was asked about a subject that has
	// no live key (never seen, or already erased: the two cannot be told
	// apart, by design).
	ErrUnknownSubject = errors.New("crypt: no key for subject")
	// ErrNoSubjectStore: an entry has a Subject but the codec has no subject
	// store. Sealing it under a master key instead would make it impossible
	// to erase, so Encode refuses.
	ErrNoSubjectStore = errors.New("crypt: entry has a subject but no subject store is configured")
	// ErrInsecurePermissions: a key file or directory is accessible to group
	// or others.
	ErrInsecurePermissions = errors.New("crypt: key material accessible to group or others")
	// ErrInvalidKeyring: the keyring file violates its invariants (one
	// active key, 32-byte keys, unique ids...).
	ErrInvalidKeyring = errors.New("crypt: invalid keyring")
	// ErrKeyringChanged: the keyring file on disk no longer matches what was
	// loaded (another process rotated it, or keys were removed or altered).
	ErrKeyringChanged = errors.New("crypt: keyring file changed on disk")
	// ErrKeyringExists: GenerateKeyring refuses to overwrite a keyring;
	// losing keys would make the log unreadable.
	ErrKeyringExists = errors.New("crypt: keyring file already exists")
)

// KeyError names the key a failure is about: a master key id ("k2-1a2b3c4d")
// or a subject key id ("s" + 32 hex digits). It never holds key material.
type KeyError struct {
	KeyID string
	Err   error // one of the sentinels above, possibly wrapping a cause
}

func (e *KeyError) Error() string { return fmt.Sprintf("%v: key %q", e.Err, e.KeyID) }
func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(id string, err error) error { return &KeyError{KeyID: id, Err: err} }

// PermissionError reports a key file or directory whose mode lets group or
// others in. It wraps ErrInsecurePermissions.
type PermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%s has mode %04o: key material must not be accessible to group or others (chmod go-rwx %s)",
		e.Path, e.Mode.Perm(), e.Path)
}
func (e *PermissionError) Unwrap() error { return ErrInsecurePermissions }
