package crypt

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/belladonna-dev/belladonna/audit"
)

// DefaultDataKeyLimit is how many entries one derived data key seals before
// the codec derives the next. With random 96-bit nonces, 2^28 messages per
// key keeps the nonce-collision probability below 2^-40; NIST's 2^32 bound
// would be reached in about 12 hours at 100k entries/s.
const DefaultDataKeyLimit = 1 << 28

// Codec is the encrypting audit.Codec. It is safe for concurrent use: the
// hot path takes atomic loads and, for entries with a subject, one short
// mutex on the subject store's cache.
type Codec struct {
	keyring  *Keyring
	subjects *SubjectStore
	limit    uint64

	epochMu sync.Mutex
	epoch   atomic.Pointer[epoch]
}

var _ audit.Codec = (*Codec)(nil)

// epoch is one derived data key: HKDF(master key, salt). A new epoch starts
// on process start, on key rotation and every limit entries; its salt is in
// each envelope, so Decode derives the same key.
type epoch struct {
	mk   *masterKey
	salt [saltSize]byte
	aead cipher.AEAD
	used atomic.Uint64
}

// Option configures a Codec.
type Option func(*Codec)

// WithDataKeyLimit sets how many entries one derived data key seals
// (DefaultDataKeyLimit). Tests lower it to exercise epoch changes.
func WithDataKeyLimit(n uint64) Option {
	return func(c *Codec) {
		if n > 0 {
			c.limit = n
		}
	}
}

// NewCodec returns a codec sealing with keyring's active key. subjects may be
// nil only if no entry has a Subject: Encode then refuses such entries
// (ErrNoSubjectStore) rather than sealing them where they cannot be erased.
func NewCodec(keyring *Keyring, subjects *SubjectStore, opts ...Option) (*Codec, error) {
	if keyring == nil {
		return nil, errors.New("crypt: NewCodec: nil keyring")
	}
	c := &Codec{keyring: keyring, subjects: subjects, limit: DefaultDataKeyLimit}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Encode seals e (without its Index) into a canonical envelope (see
// envelope). Fields in metaFields stay in clear; the others are sealed under
// the active master key, or under the subject's key when e.Subject is set.
func (c *Codec) Encode(e *audit.Entry) ([]byte, error) {
	if e == nil {
		return nil, errors.New("crypt: encoding nil entry")
	}
	if e.Erased {
		// Re-encoding a read-back erased entry would store a payload that
		// claims the data is gone while it never was sealed: refuse.
		return nil, errors.New("crypt: refusing to encode an erased entry")
	}
	ep, err := c.currentEpoch()
	if err != nil {
		return nil, err
	}
	sc := getScratch()
	defer putScratch(sc)
	if sc.meta, err = appendMeta(sc.meta[:0], e); err != nil {
		return nil, err
	}
	if sc.plain, err = appendSealed(sc.plain[:0], e); err != nil {
		return nil, err
	}
	env := envelope{kid: ep.mk.info.ID, salt: ep.salt, meta: sc.meta}
	plain := sc.plain
	if e.Subject != "" {
		if c.subjects == nil {
			return nil, ErrNoSubjectStore
		}
		sk, err := c.subjects.keyFor(e.Subject)
		if err != nil {
			return nil, err
		}
		sa, err := sk.derived.aead(sk.key, ep.salt)
		if err != nil {
			return nil, fmt.Errorf("crypt: deriving subject data key: %w", keyErr(sk.id, err))
		}
		env.skid = sk.id
		sc.aad = appendAAD(sc.aad[:0], partSubject, env.kid, env.salt[:], env.skid, env.meta, nil)
		sc.sct = sa.Seal(sc.sct[:0], nil, plain, sc.aad)
		env.sct = sc.sct
		// The master-key part then seals nothing: it authenticates the
		// header, meta and sct, which stays checkable after erasure.
		plain = nil
	}
	sc.aad = appendAAD(sc.aad[:0], partEntry, env.kid, env.salt[:], env.skid, env.meta, env.sct)
	sc.ct = ep.aead.Seal(sc.ct[:0], nil, plain, sc.aad)
	env.ct = sc.ct
	// The only allocation that outlives the call: everything above is
	// scratch, copied (or base64-encoded) into the payload here.
	return env.appendTo(make([]byte, 0, env.size())), nil
}

// Decode opens payload into e. On success *e is replaced, except e.Index,
// which the log owns and is kept. On failure e is left untouched: no partly
// decrypted entry escapes.
//
// An entry whose subject key was erased decodes with Erased set, its meta
// fields intact and its sealed fields (Input, Result, Caller, Subject,
// Message, Error, Attrs) empty; that is not an error. Errors:
// ErrMalformed / ErrUnsupportedVersion for a payload that is not an
// envelope this build reads; a *KeyError naming the key id, wrapping
// ErrUnknownKey (kid not in the keyring), ErrAuthFailed (wrong key or altered
// bytes) or ErrSubjectKeyMissing (subject key neither present nor erased).
func (c *Codec) Decode(payload []byte, e *audit.Entry) error {
	env, err := parseEnvelope(payload)
	if err != nil {
		return err
	}
	mk, ok := c.keyring.lookup(env.kid)
	if !ok {
		return keyErr(env.kid, ErrUnknownKey)
	}
	ea, err := mk.entry.aead(mk.key, env.salt)
	if err != nil {
		return keyErr(env.kid, err)
	}
	sc := getScratch()
	defer putScratch(sc)
	sc.aad = appendAAD(sc.aad[:0], partEntry, env.kid, env.salt[:], env.skid, env.meta, env.sct)
	plain, err := ea.Open(sc.plain[:0], nil, env.ct, sc.aad)
	if err != nil {
		return keyErr(env.kid, ErrAuthFailed)
	}
	sc.plain = plain

	var out audit.Entry
	if err := readMeta(env.meta, &out); err != nil {
		// Authentic but unparsable: written by a broken encoder.
		return fmt.Errorf("meta: %w", err)
	}

	if env.skid != "" {
		if len(plain) != 0 {
			return fmt.Errorf("%w: entry part not empty for a subject entry", ErrMalformed)
		}
		if plain, err = c.openSubject(&env, sc); errors.Is(err, ErrSubjectErased) {
			out.Erased = true
		} else if err != nil {
			return err
		}
	}
	if !out.Erased {
		if err := readSealed(plain, &out); err != nil {
			return fmt.Errorf("sealed fields: %w", err)
		}
		if (out.Subject != "") != (env.skid != "") {
			return fmt.Errorf("%w: subject and subject key disagree", ErrMalformed)
		}
	}
	out.Index = e.Index
	*e = out
	return nil
}

// openSubject opens the subject part into sc.sct; ErrSubjectErased when its
// key was destroyed.
func (c *Codec) openSubject(env *envelope, sc *scratch) ([]byte, error) {
	if c.subjects == nil {
		return nil, keyErr(env.skid, ErrNoSubjectStore)
	}
	sk, err := c.subjects.keyByID(env.skid)
	if err != nil {
		return nil, err
	}
	sa, err := sk.derived.aead(sk.key, env.salt)
	if err != nil {
		return nil, keyErr(sk.id, err)
	}
	sc.aad = appendAAD(sc.aad[:0], partSubject, env.kid, env.salt[:], env.skid, env.meta, nil)
	plain, err := sa.Open(sc.sct[:0], nil, env.sct, sc.aad)
	if err != nil {
		return nil, keyErr(env.skid, ErrAuthFailed)
	}
	sc.sct = plain
	return plain, nil
}

// currentEpoch returns the epoch to seal with, starting a new one when the
// active key changed or the current one is used up.
func (c *Codec) currentEpoch() (*epoch, error) {
	active := c.keyring.active()
	if ep := c.epoch.Load(); ep != nil && ep.mk == active && ep.used.Add(1) <= c.limit {
		return ep, nil
	}
	c.epochMu.Lock()
	defer c.epochMu.Unlock()
	if ep := c.epoch.Load(); ep != nil && ep.mk == active && ep.used.Add(1) <= c.limit {
		return ep, nil
	}
	salt, err := randomBytes(saltSize)
	if err != nil {
		return nil, err
	}
	ep := &epoch{mk: active}
	copy(ep.salt[:], salt)
	if ep.aead, err = active.entry.aead(active.key, ep.salt); err != nil {
		return nil, keyErr(active.info.ID, err)
	}
	ep.used.Store(1)
	c.epoch.Store(ep)
	return ep, nil
}

// String and Format keep key material out of prints, as on Keyring.
func (c *Codec) String() string {
	return fmt.Sprintf("crypt.Codec{keyring: %v}", c.keyring)
}

// Format routes every fmt verb through String.
func (c *Codec) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }
