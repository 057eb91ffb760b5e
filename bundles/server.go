package bundles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/time/rate"

	"github.com/belladonna-dev/belladonna/audit"
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
	// Attest, when set, attests every bundle built (in-toto SLSA
	// provenance in DSSE), served at /attestations/{sha256 of the bundle}
	// and linked from the bundle's response.
	Attest signature.Signer
	// Tokens, when set, are required (Authorization: Bearer) unless the
	// client presents a certificate the TLS config verified (ClientCerts).
	Tokens *Tokens
	// ClientCerts accepts a verified TLS client certificate as
	// authentication (mutual TLS); the listener's tls.Config verifies it.
	ClientCerts bool
	// WebhookSecret enables POST /hooks/push (GitHub/Gitea/Forgejo
	// X-Hub-Signature-256 HMAC or GitLab's X-Gitlab-Token): a push fetches
	// (Fetch), builds the pushed ref and wakes long polls at once.
	WebhookSecret []byte
	// Fetch updates the repository's refs (a mirror fetching its origin).
	Fetch func(ctx context.Context) error
	// Record receives security events (failed authentication, refused
	// bundles) for the audit log.
	Record func(ctx context.Context, e *audit.Entry)
	// Fleet, when set, takes OPA status reports (POST /status) and serves
	// GET /fleet.
	Fleet  *Fleet
	Logger *slog.Logger
	// MaxWait caps Prefer: wait=N (default 300 s); RefPoll is how often a
	// long poll looks at the ref (default 250 ms).
	MaxWait time.Duration
	RefPoll time.Duration

	mu      sync.Mutex
	cache   map[string]*served // by commit id
	byHash  map[string]*served // by the bundle's sha256 (hex)
	order   []string           // cache keys, oldest first
	limits  map[string]*rate.Limiter
	metrics *serverMetrics
	// moved is closed (and replaced) when a webhook says a ref moved.
	moved chan struct{}
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

// maxCached bounds the bundles kept: old commits fall out, the refs'
// current ones are rebuilt when asked for again.
const maxCached = 128

type served struct {
	bytes  []byte
	etag   string
	sha256 string
	att    []byte // DSSE envelope, when attesting
}

// Handler returns the HTTP handler: /bundles/{ref} and /health.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /bundles/{ref...}", s.serveBundle)
	mux.HandleFunc("GET /attestations/{digest}", s.serveAttestation)
	if s.WebhookSecret != nil {
		mux.HandleFunc("POST /hooks/push", s.pushHook)
	}
	if s.Fleet != nil {
		mux.HandleFunc("POST /status", s.postStatus)
		mux.HandleFunc("POST /status/", s.postStatus)
		mux.HandleFunc("GET /fleet", s.getFleet)
		s.Fleet.mu.Lock()
		s.Fleet.current = s.refHead
		s.Fleet.mu.Unlock()
		s.Fleet.register(s.m().reg)
	}
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
	if !s.allowed(w, r, ref) {
		return
	}
	b, status, err := s.current(r.Context(), ref)
	if err != nil {
		s.log().Warn("bundle not served", "ref", ref, logfields.Error, err)
		if status == http.StatusForbidden {
			s.record(r.Context(), EventBundleRefused, "bundle not served: "+err.Error(), map[string]string{"ref": ref, "remote": r.RemoteAddr})
		}
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
				case <-s.movedCh():
				case <-tick.C:
				}
				nb, _, err := s.current(r.Context(), ref)
				if err == nil && nb.etag != b.etag {
					b = nb
					break poll
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
	if b.att != nil {
		w.Header().Set("Link", fmt.Sprintf("</attestations/%s>; rel=%q", b.sha256, AttestationRel))
	}
	s.contentType(w, r)
	w.Header().Set("Content-Length", strconv.Itoa(len(b.bytes)))
	w.Write(b.bytes)
}

// AttestationRel is the Link relation naming a served bundle's attestation.
const AttestationRel = "https://belladonna.dev/rel/attestation"

// serveAttestation answers GET /attestations/{sha256}: the attestation of a
// bundle by its digest, so a client gets the one for exactly the bytes it
// holds even if the ref moved in between.
func (s *Server) serveAttestation(rw http.ResponseWriter, r *http.Request) {
	w := httpstatus.Wrap(rw)
	defer func() { s.m().requests.WithLabelValues(strconv.Itoa(w.Status)).Inc() }()
	if !s.allowed(w, r, "") {
		return
	}
	s.mu.Lock()
	b := s.byHash[r.PathValue("digest")]
	s.mu.Unlock()
	if b == nil || b.att == nil {
		http.Error(w, "no attestation for bundle sha256 "+r.PathValue("digest"), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.dsse.envelope.v1+json")
	w.Write(b.att)
}

// movedCh is closed when a push webhook reports a moved ref.
func (s *Server) movedCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.moved == nil {
		s.moved = make(chan struct{})
	}
	return s.moved
}

func (s *Server) wakePolls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.moved != nil {
		close(s.moved)
	}
	s.moved = make(chan struct{})
}

// Event types the bundle server and edges record in the audit log.
const (
	EventAuthFailure   = "auth_failure"
	EventBundleRefused = "bundle_refused"
)

func (s *Server) record(ctx context.Context, typ, msg string, attrs map[string]string) {
	if s.Record == nil {
		return
	}
	s.Record(ctx, &audit.Entry{Kind: audit.KindEvent, Type: typ, Severity: "medium", Message: msg, Attrs: attrs})
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
	// The attestation names the ref (its branch), so a commit is kept per
	// ref it is served as.
	key := rev + "@" + c.Hash.String()
	s.mu.Lock()
	b, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return b, 0, nil
	}
	start := time.Now()
	built, err := BuildRevision(ctx, s.Repo, c.Hash.String(), s.Options)
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
	b = &served{bytes: bytes, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, sha256: hex.EncodeToString(sum[:])}
	if s.Attest != nil {
		in, err := Provenance(s.Repo, rev, built, s.Options, ref+".tar.gz", bytes, start)
		if err != nil {
			return nil, http.StatusInternalServerError, err
		}
		if b.att, err = Attest(in, s.Attest); err != nil {
			return nil, http.StatusInternalServerError, err
		}
	}
	s.mu.Lock()
	if s.cache == nil {
		s.cache, s.byHash = map[string]*served{}, map[string]*served{}
	}
	s.cache[key] = b
	s.byHash[b.sha256] = b
	s.order = append(s.order, key)
	for len(s.order) > maxCached {
		if old := s.cache[s.order[0]]; old != nil {
			delete(s.byHash, old.sha256)
		}
		delete(s.cache, s.order[0])
		s.order = s.order[1:]
	}
	s.mu.Unlock()
	m := s.m()
	m.builds.Inc()
	m.buildSecs.Observe(time.Since(start).Seconds())
	m.bundleSize.WithLabelValues(ref).Set(float64(len(bytes)))
	s.log().Info("bundle built", "ref", ref, "commit", c.Hash.String(), "sequence", built.Sequence, logfields.Bytes, len(bytes))
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

// Registerer is where the server's metrics live, for others that belong on
// its /metrics (the audit log's).
func (s *Server) Registerer() prometheus.Registerer { return s.m().reg }
