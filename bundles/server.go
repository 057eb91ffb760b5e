package bundles

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/belladonna-dev/belladonna/internal/httpstatus"
	"github.com/belladonna-dev/belladonna/internal/logfields"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// Server serves bundles built from the branches and tags of a policy
// repository with OPA's bundle service protocol: GET /bundles/{ref}, an
// ETag per build and If-None-Match -> 304, long polling (Prefer: wait=N),
// so that stock OPA agents and Belladonna sidecars pull from it alike.
// A bundle is built when first asked for and kept per commit; a ref that
// moves is rebuilt on the next request.
type Server struct {
	Repo    *policyrepo.Repo
	Options BuildOptions
	// Sign, when set, signs every bundle served (OPA cannot sign deltas:
	// snapshots only).
	Sign *SignKey
	// Protections refuse a protected branch whose commit lacks its
	// approvals.
	Protections []policyrepo.Protection
	// Tokens, when set, are required (Authorization: Bearer).
	Tokens *Tokens
	Logger *slog.Logger
	// MaxWait caps Prefer: wait=N (default 300 s); RefPoll is how often a
	// long poll looks at the ref (default 250 ms).
	MaxWait time.Duration
	RefPoll time.Duration

	mu      sync.Mutex
	cache   map[string]*served // by commit id
	limits  map[string]*rate.Limiter
	metrics *serverMetrics
}

type serverMetrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	builds     prometheus.Counter
	buildSecs  prometheus.Histogram
	bundleSize *prometheus.GaugeVec
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_bundle_requests_total", Help: "Bundle requests by answer (200, 304, 401, 403, 404, 429, 500)."}, []string{"code"}),
		builds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_bundle_builds_total", Help: "Bundles built (one per commit served)."}),
		buildSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belladonna_bundle_build_duration_seconds", Help: "Time to build and sign a bundle.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 12)}),
		bundleSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "belladonna_bundle_size_bytes", Help: "Size of the bundle last built per ref."}, []string{"ref"}),
	}
	m.reg.MustRegister(m.requests, m.builds, m.buildSecs, m.bundleSize)
	return m
}

func (s *Server) m() *serverMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.metrics == nil {
		s.metrics = newServerMetrics()
	}
	return s.metrics
}

type served struct {
	bytes []byte
	etag  string
}

// Handler returns the HTTP handler: /bundles/{ref} and /health.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bundles/{ref...}", s.serveBundle)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m().reg, promhttp.HandlerOpts{}))
	return mux
}

func (s *Server) log() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) serveBundle(rw http.ResponseWriter, r *http.Request) {
	w := httpstatus.Wrap(rw)
	defer func() { s.m().requests.WithLabelValues(strconv.Itoa(w.Status)).Inc() }()
	ref := strings.TrimSuffix(r.PathValue("ref"), ".tar.gz")
	if s.Tokens != nil {
		if status, why := s.authorize(r, ref); status != 0 {
			s.log().Warn("bundle request refused", "ref", ref, "remote", r.RemoteAddr, logfields.Error, why)
			http.Error(w, why, status)
			return
		}
	}
	b, status, err := s.current(r.Context(), ref)
	if err != nil {
		s.log().Warn("bundle not served", "ref", ref, logfields.Error, err)
		http.Error(w, err.Error(), status)
		return
	}
	if matches(r.Header.Get("If-None-Match"), b.etag) {
		if wait := s.wait(r); wait > 0 {
			// Long poll: answer when the ref moves, or 304 at the end.
			deadline := time.NewTimer(wait)
			defer deadline.Stop()
			tick := time.NewTicker(s.refPoll())
			defer tick.Stop()
		poll:
			for {
				select {
				case <-r.Context().Done():
					return
				case <-deadline.C:
					break poll
				case <-tick.C:
					nb, _, err := s.current(r.Context(), ref)
					if err == nil && nb.etag != b.etag {
						b = nb
						break poll
					}
				}
			}
		}
		if matches(r.Header.Get("If-None-Match"), b.etag) {
			w.Header().Set("ETag", b.etag)
			s.contentType(w, r)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("ETag", b.etag)
	s.contentType(w, r)
	w.Header().Set("Content-Length", strconv.Itoa(len(b.bytes)))
	w.Write(b.bytes)
}

// contentType answers with OPA's bundle media type to a client that long
// polls (that is how OPA learns the server supports it), gzip otherwise.
func (s *Server) contentType(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Prefer"), "wait=") {
		w.Header().Set("Content-Type", "application/vnd.openpolicyagent.bundles")
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
}

func (s *Server) wait(r *http.Request) time.Duration {
	for _, p := range strings.Split(r.Header.Get("Prefer"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "wait="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return 0
			}
			maxWait := s.MaxWait
			if maxWait <= 0 {
				maxWait = 300 * time.Second
			}
			return min(time.Duration(n)*time.Second, maxWait)
		}
	}
	return 0
}

func (s *Server) refPoll() time.Duration {
	if s.RefPoll > 0 {
		return s.RefPoll
	}
	return 250 * time.Millisecond
}

// matches reports whether an If-None-Match header lists etag.
func matches(header, etag string) bool {
	for _, e := range strings.Split(header, ",") {
		if strings.TrimSpace(e) == etag {
			return true
		}
	}
	return false
}

// current returns the bundle of ref's commit now, building it if needed.
func (s *Server) current(ctx context.Context, ref string) (*served, int, error) {
	rev, err := s.resolveRef(ref)
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	c, err := s.Repo.Resolve(rev)
	if err != nil {
		return nil, http.StatusNotFound, err
	}
	// Protection is checked on every request: an approval may arrive, and
	// a new commit needs its own.
	if err := s.Repo.CheckProtected(rev, s.Protections, time.Now()); err != nil {
		return nil, http.StatusForbidden, err
	}
	key := c.Hash.String()
	s.mu.Lock()
	b, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return b, 0, nil
	}
	start := time.Now()
	built, err := BuildRevision(ctx, s.Repo, key, s.Options)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	bytes := built.Bytes
	if s.Sign != nil {
		if bytes, err = Sign(ctx, bytes, *s.Sign); err != nil {
			return nil, http.StatusInternalServerError, err
		}
	}
	sum := sha256.Sum256(bytes)
	b = &served{bytes: bytes, etag: `"` + hex.EncodeToString(sum[:16]) + `"`}
	s.mu.Lock()
	if s.cache == nil {
		s.cache = map[string]*served{}
	}
	s.cache[key] = b
	s.mu.Unlock()
	m := s.m()
	m.builds.Inc()
	m.buildSecs.Observe(time.Since(start).Seconds())
	m.bundleSize.WithLabelValues(ref).Set(float64(len(bytes)))
	s.log().Info("bundle built", "ref", ref, "commit", key, "sequence", built.Sequence, logfields.Bytes, len(bytes))
	return b, 0, nil
}

// resolveRef takes a branch or a tag name; anything else is not served.
func (s *Server) resolveRef(ref string) (string, error) {
	if ref == "" || strings.Contains(ref, "..") || path.Clean("/"+ref) != "/"+ref {
		return "", fmt.Errorf("no bundle %q: give a branch or tag name", ref)
	}
	for _, name := range []plumbing.ReferenceName{plumbing.NewBranchReferenceName(ref), plumbing.NewTagReferenceName(ref)} {
		if s.Repo.HasRef(name) {
			if name.IsBranch() {
				return ref, nil
			}
			return name.String(), nil
		}
	}
	return "", fmt.Errorf("no branch or tag %q", ref)
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
				if m, _ := path.Match(sc, ref); m {
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
