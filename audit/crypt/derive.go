package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// keySize is the size of every key here: AES-256 and HMAC-SHA256 keys.
const keySize = 32

// saltSize is the size of the per-epoch salt that, with a master or subject
// key, derives the AES-GCM key actually used (see epoch in codec.go).
const saltSize = 16

// HKDF info strings separate the uses of one secret, so that the key that
// seals entries can never be the key that wraps subject keys.
const (
	infoEntry   = "belladonna audit/crypt v1 entry"
	infoSubject = "belladonna audit/crypt v1 subject"
	infoWrap    = "belladonna audit/crypt v1 subject-key wrap"
)

// aadPrefix starts every AAD; the version in it means a v1 ciphertext cannot
// be replayed under a later envelope version.
const aadPrefix = "belladonna/audit/crypt\x00v1\x00"

// Parts of an envelope, bound into the AAD so one sealed part cannot be
// moved into the other's slot.
const (
	partEntry   = "ct"
	partSubject = "sct"
	partWrap    = "wrap"
)

// newAEAD returns AES-256-GCM with random 96-bit nonces that Seal prepends
// (and Open strips). The returned AEAD is read-only after construction and so
// safe to share between goroutines.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// deriveAEAD derives an AES-256-GCM key from secret with HKDF-SHA256.
// Deriving per salt keeps each GCM key far below the 2^32 random-nonce limit
// however long one master or subject key stays in use.
func deriveAEAD(secret, salt []byte, info string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, salt, info, keySize)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	return newAEAD(k)
}

// randomBytes fills a new n-byte slice from crypto/rand. crypto/rand.Read
// does not fail on supported platforms (it crashes the program instead), the
// error check is for the contract.
func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("crypt: reading random bytes: %w", err)
	}
	return b, nil
}

// appendAAD appends the additional authenticated data for one sealed part:
// the version, the part name and every header field, each length-prefixed so
// that no two different headers give the same bytes. Swapping a key id, salt,
// subject key id or a byte of the plain metadata makes Open fail. bound is
// another sealed part this one vouches for (the master-key part binds the
// subject part, so the whole envelope stays authenticated after erasure).
func appendAAD(dst []byte, part, kid string, salt []byte, skid string, meta, bound []byte) []byte {
	dst = append(dst, aadPrefix...)
	dst = append(dst, part...)
	dst = append(dst, 0)
	dst = appendLP(dst, []byte(kid))
	dst = appendLP(dst, salt)
	dst = appendLP(dst, []byte(skid))
	dst = appendLP(dst, meta)
	dst = appendLP(dst, bound)
	return dst
}

func appendLP(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(b)))
	return append(dst, b...)
}
