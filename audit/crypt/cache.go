package crypt

import (
	"crypto/cipher"
	"sync"
	"sync/atomic"
)

// evictSome deletes about an eighth of m (at least one entry); map iteration
// order is random, so this is random eviction.
func evictSome[K comparable, V any](m map[K]V, max int) {
	n := max/8 + 1
	for k := range m {
		delete(m, k)
		if n--; n == 0 {
			return
		}
	}
}

// derived is one AES-GCM key derived from a secret and a salt.
type derived struct {
	salt [saltSize]byte
	aead cipher.AEAD
}

// derivedSet caches the AEADs derived from one secret. Encoding uses one
// salt at a time, which the lock-free last pointer serves; decoding older
// entries falls back to the small map.
type derivedSet struct {
	info string
	last atomic.Pointer[derived]
	mu   sync.Mutex
	m    map[[saltSize]byte]cipher.AEAD
}

// derivedSetMax bounds the salts cached per secret. Salts change per codec
// epoch (process start, key rotation, every WithDataKeyLimit entries), so a
// few cover current traffic and a sequential read of old entries; others
// are re-derived on demand (one HKDF, about a microsecond).
const derivedSetMax = 4

func (d *derivedSet) aead(secret []byte, salt [saltSize]byte) (cipher.AEAD, error) {
	if l := d.last.Load(); l != nil && l.salt == salt {
		return l.aead, nil
	}
	return d.derive(secret, salt)
}

// derive is aead's slow path, kept apart so that salt, whose slice goes to
// HKDF, escapes to the heap only on a miss.
func (d *derivedSet) derive(secret []byte, salt [saltSize]byte) (cipher.AEAD, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.m[salt]
	if !ok {
		var err error
		if a, err = deriveAEAD(secret, salt[:], d.info); err != nil {
			return nil, err
		}
		if d.m == nil {
			d.m = make(map[[saltSize]byte]cipher.AEAD)
		}
		if len(d.m) >= derivedSetMax {
			evictSome(d.m, derivedSetMax)
		}
		d.m[salt] = a
	}
	d.last.Store(&derived{salt: salt, aead: a})
	return a, nil
}
