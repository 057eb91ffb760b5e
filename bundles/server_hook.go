package bundles

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// maxHookBytes bounds a push event body (GitHub caps payloads at 25 MB;
// the ref is all that is read).
const maxHookBytes = 5 << 20

// pushHook answers POST /hooks/push from a git host: it checks the
// shared secret, fetches, builds the pushed ref's bundle and wakes long
// polls so that edges get the new commit without waiting for a poll.
func (s *Server) pushHook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHookBytes))
	if err != nil {
		http.Error(w, "reading the push event: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	if why := s.checkHookSecret(r, body); why != "" {
		s.log().Warn("push webhook refused", "remote", r.RemoteAddr, logfields.Error, why)
		s.record(r.Context(), EventAuthFailure, "push webhook refused: "+why, map[string]string{"remote": r.RemoteAddr, "path": r.URL.Path})
		http.Error(w, why, http.StatusUnauthorized)
		return
	}
	var ev struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Ref == "" {
		http.Error(w, `the push event must be JSON with a "ref" (refs/heads/NAME or refs/tags/NAME)`, http.StatusBadRequest)
		return
	}
	ref, ok := strings.CutPrefix(ev.Ref, "refs/heads/")
	if !ok {
		ref, ok = strings.CutPrefix(ev.Ref, "refs/tags/")
	}
	if !ok {
		http.Error(w, fmt.Sprintf("ref %q: want refs/heads/NAME or refs/tags/NAME", ev.Ref), http.StatusBadRequest)
		return
	}
	if s.Fetch != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
		err := s.Fetch(ctx)
		cancel()
		if err != nil {
			s.log().Error("push webhook: fetching", logfields.Error, err)
			http.Error(w, "fetching: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	out := map[string]string{"ref": ref}
	// Build now so the first edge to ask gets it from the cache; a ref
	// that is refused (protected, deleted) is reported, not an error of
	// the hook.
	if b, _, err := s.current(r.Context(), ref); err != nil {
		out["error"] = err.Error()
	} else {
		out["sha256"] = b.sha256
	}
	s.wakePolls()
	s.log().Info("push webhook", "ref", ref)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(out)
}

// checkHookSecret accepts GitHub/Gitea/Forgejo's X-Hub-Signature-256
// (HMAC-SHA256 of the body) or GitLab's X-Gitlab-Token, compared in
// constant time; "" means accepted.
func (s *Server) checkHookSecret(r *http.Request, body []byte) string {
	if sig := r.Header.Get("X-Hub-Signature-256"); sig != "" {
		got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
		if err != nil || !strings.HasPrefix(sig, "sha256=") {
			return "X-Hub-Signature-256 is not sha256=HEX"
		}
		mac := hmac.New(sha256.New, s.WebhookSecret)
		mac.Write(body)
		if !hmac.Equal(got, mac.Sum(nil)) {
			return "X-Hub-Signature-256 does not match the body and the webhook secret"
		}
		return ""
	}
	if tok := r.Header.Get("X-Gitlab-Token"); tok != "" {
		if subtle.ConstantTimeCompare([]byte(tok), s.WebhookSecret) != 1 {
			return "X-Gitlab-Token is not the webhook secret"
		}
		return ""
	}
	return "a signed push event is required (X-Hub-Signature-256 or X-Gitlab-Token)"
}
