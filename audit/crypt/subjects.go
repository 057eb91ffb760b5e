package crypt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SubjectStore keeps one 32-byte data key per data subject, created on first
// use, wrapped (AES-256-GCM) by the master key active at creation, under
// <dir>/subjects/:
//
//	<hh>/s<32 hex>.key     the wrapped key, named by its random subject key id
//	<hh>/s<32 hex>.erased  tombstone left by Erase (no key material)
//	<hh>/i<64 hex>.idx     HMAC(subject index key, subject) -> subject key id
//
// (<hh> is the first two hex digits, to keep directories small.) Subject ids
// never appear in clear on disk or in payloads. Payloads carry the random
// subject key id; the index file, which links a subject to it, is removed on
// erasure, so afterwards nothing links the remaining ciphertext to the
// subject, even for someone holding every key.
//
// A SubjectStore is safe for concurrent use by many encoders. Key file I/O for
// one subject is serialized (creation against erasure); cache hits take one
// short mutex.
type SubjectStore struct {
	root    string
	keyring *Keyring
	max     int
	seed    maphash.Seed

	mu        sync.Mutex
	bySubject map[string]*slot
	byID      map[string]*slot
	// erased holds subject key ids erased by this process. It closes the race
	// in which a lookup read a key file before Erase destroyed it.
	erased map[string]struct{}

	stripes [64]sync.Mutex
}

// subjectKey is an unwrapped subject data key.
type subjectKey struct {
	id      string
	key     []byte
	derived *derivedSet
}

// slot is a cache entry; ready is closed once key or err is set, so that
// concurrent first uses of one subject create one key.
type slot struct {
	ready chan struct{}
	key   *subjectKey
	err   error
}

// StoreOption configures a SubjectStore.
type StoreOption func(*SubjectStore)

// WithCacheSize bounds the number of unwrapped subject keys kept in memory
// (default 10000; each costs about 1.5 KB with its AES-GCM state, per data
// key epoch in use). A miss costs a key file read and an unwrap, tens of
// microseconds.
func WithCacheSize(n int) StoreOption {
	return func(s *SubjectStore) {
		if n > 0 {
			s.max = n
		}
	}
}

const subjectFileVersion = 1

// subjectKeyFile is a <skid>.key file. Index binds the key to its subject's
// index name (authenticated as AAD), so a swapped index file is detected.
type subjectKeyFile struct {
	Version int       `json:"v"`
	ID      string    `json:"skid"`
	KeyID   string    `json:"kid"`
	Index   string    `json:"index"`
	Created time.Time `json:"created"`
	Wrapped []byte    `json:"wrapped"`
}

type tombstoneFile struct {
	Version int       `json:"v"`
	ID      string    `json:"skid"`
	Erased  time.Time `json:"erased"`
}

// OpenSubjectStore opens (creating, mode 0700) <dir>/subjects. An existing
// directory that group or others can access is refused (*PermissionError).
func OpenSubjectStore(dir string, keyring *Keyring, opts ...StoreOption) (*SubjectStore, error) {
	if keyring == nil {
		return nil, errors.New("crypt: OpenSubjectStore: nil keyring")
	}
	root := filepath.Join(dir, "subjects")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("crypt: creating subject store: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("crypt: subject store: %w", err)
	}
	if err := checkPrivate(root, fi); err != nil {
		return nil, fmt.Errorf("crypt: subject store: %w", err)
	}
	s := &SubjectStore{
		root: root, keyring: keyring, max: 10_000, seed: maphash.MakeSeed(),
		bySubject: make(map[string]*slot), byID: make(map[string]*slot), erased: make(map[string]struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// KeyID returns the subject key id entries about subject carry (the "skid"
// of their envelopes), so that a query by subject can select payloads
// without decrypting them. It does not create a key: ErrUnknownSubject if the
// subject has none (never seen, or erased).
func (s *SubjectStore) KeyID(subject string) (string, error) {
	s.mu.Lock()
	if sl, ok := s.bySubject[subject]; ok {
		s.mu.Unlock()
		<-sl.ready
		if sl.err == nil {
			return sl.key.id, nil
		}
	} else {
		s.mu.Unlock()
	}
	stripe := &s.stripes[s.stripe(subject)]
	stripe.Lock()
	defer stripe.Unlock()
	skid, err := s.readIndex(s.indexName(subject))
	if err != nil {
		return "", err
	}
	if skid == "" || s.tombstoned(skid) {
		return "", ErrUnknownSubject
	}
	return skid, nil
}

// keyFor returns subject's key, creating and persisting it on first use. A
// new key is durable (fsynced) before it is returned: an entry sealed under
// a key lost in a crash would be unreadable without having been erased.
func (s *SubjectStore) keyFor(subject string) (*subjectKey, error) {
	s.mu.Lock()
	if sl, ok := s.bySubject[subject]; ok {
		s.mu.Unlock()
		<-sl.ready
		return sl.key, sl.err
	}
	sl := &slot{ready: make(chan struct{})}
	s.insert(s.bySubject, subject, sl)
	s.mu.Unlock()

	stripe := &s.stripes[s.stripe(subject)]
	stripe.Lock()
	defer stripe.Unlock()
	sk, err := s.loadOrCreate(subject)

	s.mu.Lock()
	sl.key, sl.err = sk, err
	if s.bySubject[subject] == sl {
		if err != nil {
			delete(s.bySubject, subject)
		} else if _, ok := s.byID[sk.id]; !ok {
			s.insert(s.byID, sk.id, readySlot(sk))
		}
	}
	close(sl.ready)
	s.mu.Unlock()
	return sk, err
}

// keyByID returns the key named in a payload. Its error wraps
// ErrSubjectErased after Erase, ErrSubjectKeyMissing if there is neither key
// nor tombstone.
func (s *SubjectStore) keyByID(skid string) (*subjectKey, error) {
	s.mu.Lock()
	if _, ok := s.erased[skid]; ok {
		s.mu.Unlock()
		return nil, keyErr(skid, ErrSubjectErased)
	}
	if sl, ok := s.byID[skid]; ok {
		s.mu.Unlock()
		<-sl.ready
		return sl.key, sl.err
	}
	sl := &slot{ready: make(chan struct{})}
	s.insert(s.byID, skid, sl)
	s.mu.Unlock()

	sk, err := s.loadByID(skid)

	s.mu.Lock()
	if _, ok := s.erased[skid]; ok {
		sk, err = nil, keyErr(skid, ErrSubjectErased)
	}
	sl.key, sl.err = sk, err
	// Erasure is final, so it is cached; other failures are retried.
	if s.byID[skid] == sl && err != nil && !errors.Is(err, ErrSubjectErased) {
		delete(s.byID, skid)
	}
	close(sl.ready)
	s.mu.Unlock()
	return sk, err
}

func readySlot(sk *subjectKey) *slot {
	sl := &slot{ready: make(chan struct{}), key: sk}
	close(sl.ready)
	return sl
}

// insert adds to one of the caches, evicting at random when full. Evicting
// an in-flight slot is harmless: its loader sees it is gone and does not
// cache the result.
func (s *SubjectStore) insert(m map[string]*slot, k string, sl *slot) {
	if len(m) >= s.max {
		evictSome(m, s.max)
	}
	m[k] = sl
}

// loadOrCreate runs with the subject's stripe held.
func (s *SubjectStore) loadOrCreate(subject string) (*subjectKey, error) {
	name := s.indexName(subject)
	skid, err := s.readIndex(name)
	if err != nil {
		return nil, err
	}
	if skid != "" {
		if !s.tombstoned(skid) {
			return s.readKey(skid, name)
		}
		// A crash interrupted Erase after the tombstone: finish it, then
		// give the subject a fresh key.
		if err := s.finishErase(skid, name); err != nil {
			return nil, err
		}
	}
	return s.create(name)
}

func (s *SubjectStore) create(name string) (*subjectKey, error) {
	idb, err := randomBytes(16)
	if err != nil {
		return nil, err
	}
	skid := "s" + hex.EncodeToString(idb)
	key, err := randomBytes(keySize)
	if err != nil {
		return nil, err
	}
	mk := s.keyring.active()
	wa, err := mk.wrap.aead(mk.key, [saltSize]byte{})
	if err != nil {
		return nil, keyErr(mk.info.ID, err)
	}
	f := subjectKeyFile{
		Version: subjectFileVersion, ID: skid, KeyID: mk.info.ID, Index: name, Created: time.Now().UTC(),
		Wrapped: wa.Seal(nil, nil, key, wrapAAD(mk.info.ID, skid, name)),
	}
	bs, err := json.Marshal(&f)
	if err != nil {
		return nil, fmt.Errorf("crypt: encoding subject key: %w", err)
	}
	if err := os.MkdirAll(s.shard(skid), 0o700); err != nil {
		return nil, fmt.Errorf("crypt: subject store: %w", err)
	}
	// Key first, index second: a crash between leaves an orphan key, never
	// an index naming a key that is not there.
	if err := createFileExclusive(s.keyPath(skid), bs); err != nil {
		return nil, fmt.Errorf("crypt: writing subject key: %w", err)
	}
	if err := os.MkdirAll(s.shard(name), 0o700); err != nil {
		return nil, fmt.Errorf("crypt: subject store: %w", err)
	}
	if err := writeFileAtomic(s.idxPath(name), []byte(skid+"\n")); err != nil {
		return nil, fmt.Errorf("crypt: writing subject index: %w", err)
	}
	return &subjectKey{id: skid, key: key, derived: &derivedSet{info: infoSubject}}, nil
}

func (s *SubjectStore) loadByID(skid string) (*subjectKey, error) {
	if s.tombstoned(skid) {
		return nil, keyErr(skid, ErrSubjectErased)
	}
	sk, err := s.readKey(skid, "")
	if errors.Is(err, fs.ErrNotExist) {
		if s.tombstoned(skid) { // erased while we looked
			return nil, keyErr(skid, ErrSubjectErased)
		}
		return nil, keyErr(skid, ErrSubjectKeyMissing)
	}
	return sk, err
}

// readKey reads and unwraps a key file. wantIndex, if set, must be the index
// name the key was created for.
func (s *SubjectStore) readKey(skid, wantIndex string) (*subjectKey, error) {
	bs, err := readPrivate(s.keyPath(skid))
	if errors.Is(err, fs.ErrNotExist) {
		if wantIndex != "" {
			// The index names a key that is gone without a tombstone:
			// refuse rather than silently start a new key.
			return nil, keyErr(skid, ErrSubjectKeyMissing)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("crypt: reading subject key: %w", err)
	}
	var f subjectKeyFile
	dec := json.NewDecoder(bytes.NewReader(bs))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, keyErr(skid, fmt.Errorf("%w: subject key file: %v", ErrMalformed, err))
	}
	if f.Version != subjectFileVersion {
		return nil, keyErr(skid, fmt.Errorf("%w: subject key file version %d", ErrUnsupportedVersion, f.Version))
	}
	if f.ID != skid || (wantIndex != "" && f.Index != wantIndex) {
		return nil, keyErr(skid, fmt.Errorf("%w: subject key file names another key or subject", ErrAuthFailed))
	}
	mk, ok := s.keyring.lookup(f.KeyID)
	if !ok {
		return nil, keyErr(f.KeyID, ErrUnknownKey)
	}
	wa, err := mk.wrap.aead(mk.key, [saltSize]byte{})
	if err != nil {
		return nil, keyErr(mk.info.ID, err)
	}
	key, err := wa.Open(nil, nil, f.Wrapped, wrapAAD(f.KeyID, skid, f.Index))
	if err != nil || len(key) != keySize {
		return nil, keyErr(skid, fmt.Errorf("%w (unwrapping with %q)", ErrAuthFailed, f.KeyID))
	}
	return &subjectKey{id: skid, key: key, derived: &derivedSet{info: infoSubject}}, nil
}

// readIndex returns the subject key id an index file names, "" if none.
func (s *SubjectStore) readIndex(name string) (string, error) {
	bs, err := readPrivate(s.idxPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("crypt: reading subject index: %w", err)
	}
	skid, ok := bytes.CutSuffix(bs, []byte("\n"))
	if !ok || !validSubjectKeyID(string(skid)) {
		return "", fmt.Errorf("%w: subject index file %s", ErrMalformed, name)
	}
	return string(skid), nil
}

func (s *SubjectStore) tombstoned(skid string) bool {
	_, err := os.Lstat(s.tombPath(skid))
	return err == nil
}

// indexName is "i" + hex HMAC-SHA256(subject index key, subject). Keyed, so
// that the names cannot be recomputed from a list of candidate subjects
// without the keyring.
func (s *SubjectStore) indexName(subject string) string {
	h := hmac.New(sha256.New, s.keyring.indexKey())
	_, _ = io.WriteString(h, "belladonna audit/crypt v1 subject index\x00")
	_, _ = io.WriteString(h, subject)
	return "i" + hex.EncodeToString(h.Sum(nil))
}

func (s *SubjectStore) stripe(subject string) int {
	return int(maphash.String(s.seed, subject) % uint64(len(s.stripes)))
}

// shard is the directory of a file name ("s…" or "i…"): its first two hex digits.
func (s *SubjectStore) shard(name string) string { return filepath.Join(s.root, name[1:3]) }

func (s *SubjectStore) keyPath(skid string) string {
	return filepath.Join(s.shard(skid), skid+".key")
}

func (s *SubjectStore) tombPath(skid string) string {
	return filepath.Join(s.shard(skid), skid+".erased")
}

func (s *SubjectStore) idxPath(name string) string {
	return filepath.Join(s.shard(name), name+".idx")
}

func wrapAAD(kid, skid, index string) []byte {
	return appendAAD(nil, partWrap, kid, nil, skid, []byte(index), nil)
}

// String keeps key material out of prints, as on Keyring.
// Keyring is the keyring the store wraps subject keys with.
func (s *SubjectStore) Keyring() *Keyring { return s.keyring }

func (s *SubjectStore) String() string { return fmt.Sprintf("crypt.SubjectStore{dir: %q}", s.root) }

// Format routes every fmt verb through String.
func (s *SubjectStore) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }
