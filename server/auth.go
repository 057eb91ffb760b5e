package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Authenticator decides whether a request may use the API. It returns the
// client identity to record with decisions.
type Authenticator interface {
	Authenticate(r *http.Request) (client string, err error)
}

// ErrUnauthorized is returned by authenticators for a missing or bad credential.
var ErrUnauthorized = errors.New("unauthorized")

// TokenAuthenticator accepts `Authorization: Bearer <token>` when the token's
// SHA-256 digest is in its set. Tokens are never held in plain text.
type TokenAuthenticator struct {
	digests [][]byte
}

// LoadTokenFile reads SHA-256 hex digests, one per line; blank lines and
// lines starting with # are ignored. A line that is not a digest is an error
// naming its line, so a plain-text token pasted by mistake is refused.
func LoadTokenFile(path string) (*TokenAuthenticator, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokens file: %w", err)
	}
	defer f.Close()
	ta := &TokenAuthenticator{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "sha256:")
		d, err := hex.DecodeString(line)
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("%s:%d: want a SHA-256 hex digest of a token (sha256sum), not the token itself", path, n)
		}
		ta.digests = append(ta.digests, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading tokens file %s: %w", path, err)
	}
	if len(ta.digests) == 0 {
		return nil, fmt.Errorf("tokens file %s holds no token digests", path)
	}
	return ta, nil
}

// NewTokenAuthenticator accepts the given digests (for tests and embedding).
func NewTokenAuthenticator(digests ...[sha256.Size]byte) *TokenAuthenticator {
	ta := &TokenAuthenticator{}
	for _, d := range digests {
		ta.digests = append(ta.digests, d[:])
	}
	return ta
}

// Authenticate compares in constant time against every digest, so timing
// reveals neither which digest matched nor how much of it.
func (t *TokenAuthenticator) Authenticate(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || token == "" {
		return "", fmt.Errorf("%w: missing bearer token", ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for _, d := range t.digests {
		match |= subtle.ConstantTimeCompare(sum[:], d)
	}
	if match != 1 {
		return "", fmt.Errorf("%w: invalid bearer token", ErrUnauthorized)
	}
	// The digest prefix identifies the client in logs without revealing the token.
	return "token:" + hex.EncodeToString(sum[:4]), nil
}
