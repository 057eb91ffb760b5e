package crypt

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// KeyState is a master key's role: the one active key seals new entries,
// retired keys are kept so that older entries stay readable.
type KeyState string

const (
	StateActive  KeyState = "active"
	StateRetired KeyState = "retired"
)

// KeyInfo describes a master key without its material; it is what the CLI
// lists and what a key_rotation event may carry.
type KeyInfo struct {
	ID      string
	Created time.Time
	State   KeyState
}

type masterKey struct {
	info KeyInfo
	key  []byte
	// entry derives the per-epoch keys that seal entries; wrap, the key
	// that wraps subject keys. Pointers, so that copies made by Rotate share
	// them.
	entry, wrap *derivedSet
}

func newMasterKeyFrom(info KeyInfo, key []byte) *masterKey {
	return &masterKey{info: info, key: key, entry: &derivedSet{info: infoEntry}, wrap: &derivedSet{info: infoWrap}}
}

// keyringState is immutable once published, so readers (every Encode and
// Decode) take it with one atomic load and no lock.
type keyringState struct {
	keys   map[string]*masterKey
	order  []*masterKey // file order, oldest first
	active *masterKey
	// index keys the HMAC that names a subject's index file. It is never
	// rotated: rotating it would orphan every subject's key lookup.
	index []byte
	// digest is the SHA-256 of the file as last read or written; Rotate
	// compares it to detect a file rotated by another process meanwhile.
	digest [sha256.Size]byte
}

// Keyring holds the master keys, loaded from a private JSON file (see
// keyringFile). It is safe for concurrent use; Rotate and Reload serialize
// among themselves and never block readers.
//
// A Keyring never prints, logs or marshals key material: its String, Format
// and LogValue show the path and the active key id only.
type Keyring struct {
	path  string
	mu    sync.Mutex
	state atomic.Pointer[keyringState]
}

// GenerateKeyring creates a new keyring file at path with one active key and
// the subject index key, mode 0600 (parent directory created 0700 if
// missing). It refuses to overwrite an existing file (ErrKeyringExists):
// losing keys would make the log unreadable.
func GenerateKeyring(path string) (*Keyring, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("crypt: creating keyring directory: %w", err)
	}
	mk, err := newMasterKey(1)
	if err != nil {
		return nil, err
	}
	index, err := randomBytes(keySize)
	if err != nil {
		return nil, err
	}
	st, bs, err := buildState([]*masterKey{mk}, index)
	if err != nil {
		return nil, err
	}
	if err := createFileExclusive(path, bs); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrKeyringExists, path)
		}
		return nil, fmt.Errorf("crypt: writing keyring %s: %w", path, err)
	}
	k := &Keyring{path: path}
	k.state.Store(st)
	return k, nil
}

// LoadKeyring reads and validates the keyring at path. It fails closed on a
// file group or others can access (*PermissionError), an unknown field, a
// key that is not 32 bytes, duplicate ids, or anything but exactly one
// active key (ErrInvalidKeyring).
func LoadKeyring(path string) (*Keyring, error) {
	st, err := readKeyringFile(path)
	if err != nil {
		return nil, err
	}
	k := &Keyring{path: path}
	k.state.Store(st)
	return k, nil
}

// Path is the keyring file's path.
func (k *Keyring) Path() string { return k.path }

// Active describes the key that seals new entries.
func (k *Keyring) Active() KeyInfo { return k.state.Load().active.info }

// Keys describes every key, oldest first.
func (k *Keyring) Keys() []KeyInfo {
	st := k.state.Load()
	out := make([]KeyInfo, len(st.order))
	for i, mk := range st.order {
		out[i] = mk.info
	}
	return out
}

// Rotate generates a new active key, retires the current one (kept for
// reading) and rewrites the file atomically. Entries encoded after Rotate
// returns use the new key. The new key is used only once it is durable on
// disk: a key lost in a crash would make entries unreadable.
//
// If the file changed on disk since it was loaded (another process rotated
// it), Rotate returns ErrKeyringChanged and changes nothing; Reload first.
// NOTE: the check and the rename are not atomic across processes; run one
// rotation at a time.
func (k *Keyring) Rotate() (KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.state.Load()
	onDisk, err := readPrivate(k.path)
	if err != nil {
		return KeyInfo{}, fmt.Errorf("crypt: rotating keyring: %w", err)
	}
	if sha256.Sum256(onDisk) != cur.digest {
		return KeyInfo{}, fmt.Errorf("%w: %s (reload before rotating)", ErrKeyringChanged, k.path)
	}
	mk, err := newMasterKey(len(cur.order) + 1)
	if err != nil {
		return KeyInfo{}, err
	}
	for cur.keys[mk.info.ID] != nil { // the random suffix makes this near impossible
		if mk, err = newMasterKey(len(cur.order) + 1); err != nil {
			return KeyInfo{}, err
		}
	}
	keys := make([]*masterKey, 0, len(cur.order)+1)
	for _, old := range cur.order {
		cp := *old
		cp.info.State = StateRetired
		keys = append(keys, &cp)
	}
	keys = append(keys, mk)
	st, bs, err := buildState(keys, cur.index)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := writeFileAtomic(k.path, bs); err != nil {
		return KeyInfo{}, fmt.Errorf("crypt: writing keyring %s: %w", k.path, err)
	}
	k.state.Store(st)
	return mk.info, nil
}

// Reload rereads the file, picking up a rotation made by another process
// (the CLI while the server runs). It fails closed with ErrKeyringChanged if
// a key this process holds is gone or has different bytes, or the subject
// index key changed: either would make existing data unreadable.
func (k *Keyring) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.state.Load()
	st, err := readKeyringFile(k.path)
	if err != nil {
		return err
	}
	if st.digest == cur.digest {
		return nil
	}
	if !bytes.Equal(st.index, cur.index) {
		return fmt.Errorf("%w: subject index key differs", ErrKeyringChanged)
	}
	for id, old := range cur.keys {
		nk, ok := st.keys[id]
		if !ok || !bytes.Equal(nk.key, old.key) {
			return fmt.Errorf("%w: key %q removed or altered", ErrKeyringChanged, id)
		}
	}
	k.state.Store(st)
	return nil
}

func (k *Keyring) lookup(id string) (*masterKey, bool) {
	mk, ok := k.state.Load().keys[id]
	return mk, ok
}

func (k *Keyring) active() *masterKey { return k.state.Load().active }

func (k *Keyring) indexKey() []byte { return k.state.Load().index }

// String shows the path and active key id, never key material.
func (k *Keyring) String() string {
	st := k.state.Load()
	return fmt.Sprintf("crypt.Keyring{path: %q, active: %q, keys: %d}", k.path, st.active.info.ID, len(st.order))
}

// Format makes every fmt verb (%v, %+v, %#v...) go through String, so that
// reflection-based printing can never reach the key bytes.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue keeps slog from reflecting into the keyring.
func (k *Keyring) LogValue() slog.Value {
	st := k.state.Load()
	return slog.GroupValue(slog.String("path", k.path), slog.String("active_key", st.active.info.ID))
}

func newMasterKey(seq int) (*masterKey, error) {
	key, err := randomBytes(keySize)
	if err != nil {
		return nil, err
	}
	suffix, err := randomBytes(4)
	if err != nil {
		return nil, err
	}
	// The sequence number tells operators the order; the random suffix makes
	// ids from two installations differ, so a wrong keyring shows up as
	// "unknown key id" rather than as an authentication failure.
	info := KeyInfo{ID: fmt.Sprintf("k%d-%s", seq, hex.EncodeToString(suffix)), Created: time.Now().UTC().Truncate(time.Second), State: StateActive}
	return newMasterKeyFrom(info, key), nil
}
