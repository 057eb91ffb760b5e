package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/open-policy-agent/opa/v1/server/types"

	"github.com/belladonna-dev/belladonna/internal/httpstatus"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

type clientKey struct{}

func clientFrom(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(string)
	return c
}

// guard applies rate limiting, then authentication, to API routes.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.RateLimit != nil && !s.opts.RateLimit.allow() {
			s.metrics.rejected.WithLabelValues("rate_limited").Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limited", "request rate limit exceeded (server.rate_limit)")
			return
		}
		if s.opts.Authenticator != nil {
			client, err := s.opts.Authenticator.Authenticate(r)
			if err != nil {
				s.metrics.rejected.WithLabelValues("unauthorized").Inc()
				// The reason is logged, never the credential.
				s.log.Warn("request rejected", logfields.Addr, r.RemoteAddr, logfields.Error, err)
				status := http.StatusUnauthorized
				if !errors.Is(err, ErrUnauthorized) {
					status = http.StatusInternalServerError
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="belladonna"`)
				writeError(w, status, types.CodeUnauthorized, err.Error())
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), clientKey{}, client))
		}
		next.ServeHTTP(w, r)
	})
}

// count records every response's status class.
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := httpstatus.Wrap(w)
		next.ServeHTTP(sw, r)
		s.metrics.request(sw.Status)
	})
}

// health is 200 once a policy is active, as OPA's /health is once bundles
// are activated; 500 before.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st := s.eng.Current()
	if st == nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "no policy activated"}, false)
		return
	}
	// ?bundles asks, as OPA's does, whether the pulled bundle is ready; here
	// it also fails once that bundle is stale (see bundles.max_age).
	if _, ok := r.URL.Query()["bundles"]; ok && s.opts.BundlesReady != nil {
		if err := s.opts.BundlesReady(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error(), "revision": st.Revision()}, false)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"revision": st.Revision()}, false)
}
