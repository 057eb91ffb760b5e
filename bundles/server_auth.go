package bundles

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// allowed authenticates the request for bundle ref ("" for any bundle:
// attestations, status reports) and answers the refusal itself. Every
// refusal is logged and recorded for the audit log.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, ref string) bool {
	if s.Tokens == nil && !s.ClientCerts {
		return true
	}
	if s.ClientCerts && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	status, why := http.StatusUnauthorized, "a client certificate is required"
	if s.Tokens != nil {
		status, why = s.authorize(r, ref)
		if status == 0 {
			return true
		}
	}
	s.log().Warn("bundle request refused", "ref", ref, "remote", r.RemoteAddr, logfields.Error, why)
	s.record(r.Context(), EventAuthFailure, "bundle server refused a client: "+why,
		map[string]string{"ref": ref, "remote": r.RemoteAddr, "path": r.URL.Path, "status": strconv.Itoa(status)})
	http.Error(w, why, status)
	return false
}

// authorize checks the bearer token and its scope; a non-zero status says
// why not. Failed attempts are rate limited per client address.
func (s *Server) authorize(r *http.Request, ref string) (int, string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok {
		if scopes, found := s.Tokens.lookup(token); found {
			for _, sc := range scopes {
				if m, _ := path.Match(sc, ref); m || ref == "" {
					return 0, ""
				}
			}
			return http.StatusForbidden, fmt.Sprintf("the token is not scoped to bundle %q", ref)
		}
	}
	if !s.limiter(host).Allow() {
		return http.StatusTooManyRequests, "too many failed attempts"
	}
	if !ok {
		return http.StatusUnauthorized, "a bearer token is required"
	}
	return http.StatusUnauthorized, "unknown token"
}

func (s *Server) limiter(host string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limits == nil {
		s.limits = map[string]*rate.Limiter{}
	}
	l, ok := s.limits[host]
	if !ok {
		l = rate.NewLimiter(rate.Every(time.Second), 5)
		s.limits[host] = l
	}
	return l
}

// Tokens are bearer tokens stored as SHA-256 digests, each scoped to
// bundle names (globs).
type Tokens struct {
	entries []tokenEntry
}

type tokenEntry struct {
	digest [sha256.Size]byte
	scopes []string
}

// LoadTokens reads a tokens file: one "sha256:HEX SCOPE[,SCOPE...]" per
// line (# comments), where a scope is a bundle name or glob ("main",
// "release/*", "*"). Plain tokens are never stored.
func LoadTokens(file string) (*Tokens, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	t := &Tokens{}
	for n, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, fmt.Errorf("tokens %s:%d: want \"sha256:HEX SCOPES\"", file, n+1)
		}
		hexDigest, ok := strings.CutPrefix(fields[0], "sha256:")
		d, err := hex.DecodeString(hexDigest)
		if !ok || err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("tokens %s:%d: want a sha256:HEX digest of the token, not the token", file, n+1)
		}
		var e tokenEntry
		copy(e.digest[:], d)
		for _, sc := range strings.Split(fields[1], ",") {
			if _, err := path.Match(sc, "x"); err != nil || sc == "" {
				return nil, fmt.Errorf("tokens %s:%d: bad scope %q", file, n+1, sc)
			}
			e.scopes = append(e.scopes, sc)
		}
		t.entries = append(t.entries, e)
	}
	if len(t.entries) == 0 {
		return nil, errors.New("tokens " + file + ": no tokens")
	}
	return t, nil
}

// TokenDigest is what a tokens file holds for token.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// lookup compares token's digest with every entry in constant time.
func (t *Tokens) lookup(token string) ([]string, bool) {
	d := sha256.Sum256([]byte(token))
	var found []string
	ok := 0
	for _, e := range t.entries {
		if subtle.ConstantTimeCompare(d[:], e.digest[:]) == 1 {
			found, ok = e.scopes, 1
		}
	}
	return found, ok == 1
}
