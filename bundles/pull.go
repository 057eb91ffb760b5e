package bundles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// PullOptions configure an edge's bundle puller.
type PullOptions struct {
	// Source is http(s)://HOST/bundles/REF (OPA's bundle service protocol)
	// or oci://REGISTRY/REPOSITORY:TAG.
	Source string
	// Name is the bundle's name in status reports (default: the ref, the
	// source's last path element or tag).
	Name string
	// HTTPClient carries TLS and client certificates (default: a client
	// with no timeout; each download has Timeout).
	HTTPClient *http.Client
	// Token is sent as Authorization: Bearer (HTTP) or as the registry
	// password of RegistryUsername (OCI; with no user name it is a bearer
	// token).
	Token            string
	RegistryUsername string
	// PublicKey (PEM) verifies the bundle's .signatures.json; KeyID and
	// Scope as OPA's keyid and scope. Required: an unsigned bundle is
	// never activated.
	PublicKey []byte
	KeyID     string
	Scope     string
	// Attestation, when set, requires an attestation of exactly the
	// bundle's digest, signed by this verifier, naming Expect's repository
	// and branch when they are set.
	Attestation signature.Verifier
	Expect      Expect
	// MinDelay and MaxDelay bound the jittered polling interval (defaults
	// 10 s and 60 s, as OPA); failures back off exponentially up to
	// MaxDelay. LongPoll asks the server to hold the request up to that
	// long (Prefer: wait=N).
	MinDelay, MaxDelay, LongPoll time.Duration
	// Timeout bounds one download, including the attestation (default
	// 30 s plus LongPoll): a server that hangs mid-download fails the
	// attempt, not the edge.
	Timeout time.Duration
	// MaxAge, when set, makes Ready fail once no check has succeeded for
	// that long (stale bundle).
	MaxAge time.Duration
	// StateDir keeps the last good bundle and its verification.
	StateDir string
	Limits   Limits
	// MaxDownloadBytes bounds the compressed bundle (default 64 MiB).
	MaxDownloadBytes int64
	// Activate makes a verified bundle the one that answers; an error
	// refuses it and the previous one keeps serving.
	Activate func(ctx context.Context, p *Pulled) error
	// Record receives activations and refusals for the audit log.
	Record func(ctx context.Context, e *audit.Entry) error
	Logger *slog.Logger
	// Registerer receives the puller's metrics.
	Registerer prometheus.Registerer
}

// Pulled is a bundle that passed every check.
type Pulled struct {
	Bytes        []byte
	Attestation  []byte
	Bundle       *bundle.Bundle
	Verification Verification
}

// PullStatus is what an edge reports about its bundle (OPA's bundle
// status, plus what it verified).
type PullStatus struct {
	Name                     string        `json:"name"`
	Source                   string        `json:"source"`
	Active                   *Verification `json:"active,omitempty"`
	LastSuccessfulActivation time.Time     `json:"last_successful_activation"`
	LastSuccessfulDownload   time.Time     `json:"last_successful_download"`
	LastSuccessfulRequest    time.Time     `json:"last_successful_request"`
	LastRequest              time.Time     `json:"last_request"`
	Code                     string        `json:"code,omitempty"`
	Message                  string        `json:"message,omitempty"`
}

// Refusal reasons (metric label and audit attribute).
const (
	RefuseDownload    = "download"
	RefuseUnsafe      = "unsafe_tarball"
	RefuseSignature   = "signature"
	RefuseAttestation = "attestation"
	RefuseDowngrade   = "downgrade"
	RefuseActivation  = "activation"
)

// Puller polls a source, verifies what it gets and activates it.
type Puller struct {
	opts  PullOptions
	src   fetcher
	log   *slog.Logger
	rnd   *rand.Rand
	met   pullMetrics
	mu    sync.Mutex
	st    PullStatus
	etag  string
	att   []byte // the active bundle's attestation
	ready chan struct{}
	once  sync.Once
	// refused remembers the last refused bundle so that a server offering
	// it again is not re-verified and re-recorded on every poll.
	refused string
}

type pullMetrics struct {
	activations prometheus.Counter
	refusals    *prometheus.CounterVec
	sequence    prometheus.Gauge
	lastSuccess prometheus.Gauge
}

// NewPuller checks the options; nothing is fetched until Start.
func NewPuller(opts PullOptions) (*Puller, error) {
	if opts.Source == "" {
		return nil, errors.New("bundle puller: no source")
	}
	if len(opts.PublicKey) == 0 {
		return nil, fmt.Errorf("bundle puller %s: a verification key is required: bundles are activated only when their signature verifies", opts.Source)
	}
	if _, err := publicOfPEM(opts.PublicKey); err != nil {
		return nil, fmt.Errorf("bundle puller %s: verification key: %w", opts.Source, err)
	}
	if opts.Activate == nil {
		return nil, errors.New("bundle puller: no Activate")
	}
	if opts.MinDelay <= 0 {
		opts.MinDelay = 10 * time.Second
	}
	if opts.MaxDelay < opts.MinDelay {
		opts.MaxDelay = max(60*time.Second, opts.MinDelay)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30*time.Second + opts.LongPoll
	}
	if opts.MaxDownloadBytes <= 0 {
		opts.MaxDownloadBytes = 64 << 20
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	p := &Puller{opts: opts, log: opts.Logger, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), ready: make(chan struct{})}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	var err error
	switch {
	case strings.HasPrefix(opts.Source, "oci://"):
		p.src, err = newOCIFetcher(opts)
	case strings.HasPrefix(opts.Source, "http://"), strings.HasPrefix(opts.Source, "https://"):
		p.src = &httpFetcher{url: opts.Source, client: opts.HTTPClient, token: opts.Token, longPoll: opts.LongPoll, maxBytes: opts.MaxDownloadBytes}
	default:
		err = fmt.Errorf("bundle source %q: want http(s)://HOST/bundles/REF or oci://REGISTRY/REPOSITORY:TAG", opts.Source)
	}
	if err != nil {
		return nil, err
	}
	if p.opts.Name == "" {
		p.opts.Name = defaultBundleName(opts.Source)
	}
	p.st = PullStatus{Name: p.opts.Name, Source: opts.Source}
	p.met = pullMetrics{
		activations: prometheus.NewCounter(prometheus.CounterOpts{Name: "belladonna_bundle_activations_total", Help: "Verified bundles activated."}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "belladonna_bundle_refusals_total",
			Help: "Bundles or downloads refused, by reason (download, unsafe_tarball, signature, attestation, downgrade, activation)."}, []string{"reason"}),
		sequence:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "belladonna_bundle_active_sequence", Help: "Sequence number of the active bundle."}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "belladonna_bundle_last_success_timestamp_seconds", Help: "When the bundle source last answered (200 or 304)."}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{p.met.activations, p.met.refusals, p.met.sequence, p.met.lastSuccess} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("bundle puller metrics: %w", err)
			}
		}
	}
	return p, nil
}

func defaultBundleName(src string) string {
	s := strings.TrimSuffix(src, "/")
	if strings.HasPrefix(s, "oci://") {
		if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
			return s[i+1:]
		}
	}
	if i := strings.Index(s, "/bundles/"); i >= 0 {
		return strings.TrimSuffix(s[i+len("/bundles/"):], ".tar.gz")
	}
	return s[strings.LastIndex(s, "/")+1:]
}

// Restore activates the persisted last good bundle, verified again with
// the current keys; it reports whether one was activated. A persisted
// bundle that no longer verifies is refused (and recorded), never served.
func (p *Puller) Restore(ctx context.Context) (bool, error) {
	if p.opts.StateDir == "" {
		return false, nil
	}
	st, b, att, err := loadState(p.opts.StateDir)
	if err != nil {
		p.refuse(ctx, RefuseSignature, "", fmt.Errorf("persisted bundle: %w", err))
		return false, nil
	}
	if st == nil {
		return false, nil
	}
	pulled, reason, err := p.verify(b, att, st.Verification.ETag)
	if err != nil {
		p.refuse(ctx, reason, "", fmt.Errorf("persisted bundle %s: %w", st.Verification.Revision, err))
		return false, nil
	}
	if err := p.activate(ctx, pulled, "restored from "+p.opts.StateDir); err != nil {
		return false, err
	}
	return true, nil
}

// Run polls until ctx ends. Call Restore first to start from the last
// good bundle.
func (p *Puller) Run(ctx context.Context) {
	failures := 0
	for {
		longPoll, err := p.Poll(ctx)
		if ctx.Err() != nil {
			return
		}
		var delay time.Duration
		switch {
		case err != nil:
			failures++
			delay = p.backoff(failures)
		case longPoll:
			failures = 0
		default:
			failures = 0
			delay = p.opts.MinDelay + time.Duration(p.rnd.Int64N(int64(p.opts.MaxDelay-p.opts.MinDelay)+1))
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// backoff is exponential from MinDelay, capped at MaxDelay, with full
// jitter in its upper half so that a fleet does not retry in step.
func (p *Puller) backoff(failures int) time.Duration {
	d := p.opts.MinDelay
	for i := 1; i < failures && d < p.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.opts.MaxDelay)
	return d/2 + time.Duration(p.rnd.Int64N(int64(d/2)+1))
}

// Poll asks the source once and activates what verifies. It reports
// whether the server long polls (so the next request can follow at once).
func (p *Puller) Poll(ctx context.Context) (bool, error) {
	p.mu.Lock()
	etag := p.etag
	if p.refused != "" {
		etag = p.refused
	}
	p.st.LastRequest = time.Now()
	p.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	got, err := p.src.fetch(dctx, etag)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (no complete answer within %s)", err, p.opts.Timeout)
		}
		reason := RefuseDownload
		if errors.Is(err, ErrUnsafe) {
			reason = RefuseUnsafe
		}
		p.fail(reason, err)
		return false, err
	}
	now := time.Now()
	p.mu.Lock()
	p.st.LastSuccessfulRequest = now
	p.mu.Unlock()
	p.met.lastSuccess.Set(float64(now.Unix()))
	if got == nil {
		return p.longPolls(), nil
	}
	p.mu.Lock()
	p.st.LastSuccessfulDownload = now
	p.mu.Unlock()
	pulled, reason, err := p.verify(got.bytes, got.attestation, got.etag)
	if err != nil {
		p.refuse(ctx, reason, got.etag, err)
		return got.longPoll, err
	}
	if err := p.activate(ctx, pulled, "downloaded from "+p.opts.Source); err != nil {
		p.refuse(ctx, RefuseActivation, got.etag, err)
		return got.longPoll, err
	}
	return got.longPoll, nil
}

func (p *Puller) longPolls() bool { return p.opts.LongPoll > 0 }

// verify runs every check before anything is activated: the tarball's
// shape, the signature, the attestation, and the sequence against the
// active bundle's.
func (p *Puller) verify(b, att []byte, etag string) (*Pulled, string, error) {
	if err := CheckTarball(b, p.opts.Limits); err != nil {
		return nil, RefuseUnsafe, err
	}
	bun, err := Verify(b, p.opts.PublicKey, p.opts.KeyID, p.opts.Scope)
	if err != nil {
		return nil, RefuseSignature, err
	}
	sum := sha256.Sum256(b)
	v := Verification{Source: p.opts.Source, SHA256: hex.EncodeToString(sum[:]), Revision: bun.Manifest.Revision,
		KeyID: p.opts.KeyID, VerifiedAt: time.Now(), ETag: etag}
	if v.KeyID == "" {
		v.KeyID = DefaultKeyID
	}
	seq, err := manifestSequence(bun.Manifest)
	if err != nil {
		return nil, RefuseDowngrade, err
	}
	v.Sequence = seq
	if p.opts.Attestation != nil {
		if att == nil {
			return nil, RefuseAttestation, fmt.Errorf("%w: the source offers no attestation for bundle %s, and one is required", ErrAttestation, v.Revision)
		}
		st, err := VerifyAttestation(att, b, p.opts.Attestation, p.opts.Expect)
		if err != nil {
			return nil, RefuseAttestation, err
		}
		v.Attested = true
		v.Repository = st.Predicate.BuildDefinition.ExternalParameters.Repository
		v.Branch = st.Predicate.BuildDefinition.ExternalParameters.Branch
		for _, dep := range st.Predicate.BuildDefinition.ResolvedDependencies {
			if c := dep.Digest["gitCommit"]; c != "" && c != v.Revision {
				return nil, RefuseAttestation, fmt.Errorf("%w: it attests commit %s, the bundle's manifest names %s", ErrAttestation, c, v.Revision)
			}
		}
	}
	p.mu.Lock()
	active := p.st.Active
	p.mu.Unlock()
	if active != nil {
		switch {
		case v.Sequence < active.Sequence:
			return nil, RefuseDowngrade, fmt.Errorf("bundle %s has sequence %d, lower than the active %s's %d: an older bundle is never activated",
				v.Revision, v.Sequence, active.Revision, active.Sequence)
		case v.Sequence == active.Sequence && v.Revision != active.Revision:
			return nil, RefuseDowngrade, fmt.Errorf("bundle %s has sequence %d, the same as the active %s: only a later commit replaces it",
				v.Revision, v.Sequence, active.Revision)
		}
	}
	return &Pulled{Bytes: b, Attestation: att, Bundle: bun, Verification: v}, "", nil
}

// manifestSequence reads metadata.sequence; a bundle without one cannot
// be ordered, so it is refused.
func manifestSequence(m bundle.Manifest) (uint64, error) {
	raw, ok := m.Metadata[MetaSequence]
	if !ok {
		return 0, fmt.Errorf("bundle %s carries no metadata.sequence: build it with belladonna bundle build, which orders bundles by commit", m.Revision)
	}
	switch v := raw.(type) {
	case json.Number:
		return strconv.ParseUint(v.String(), 10, 64)
	case float64:
		if v < 0 || v != float64(uint64(v)) {
			return 0, fmt.Errorf("bundle %s: metadata.sequence %v is not a whole number", m.Revision, v)
		}
		return uint64(v), nil
	case string:
		return strconv.ParseUint(v, 10, 64)
	}
	return 0, fmt.Errorf("bundle %s: metadata.sequence is %T, want a number", m.Revision, raw)
}

// activate hands the bundle to the engine, persists it as the last good
// one and records the activation.
func (p *Puller) activate(ctx context.Context, b *Pulled, how string) error {
	if err := p.opts.Activate(ctx, b); err != nil {
		return err
	}
	now := time.Now()
	v := b.Verification
	if p.opts.StateDir != "" && !strings.HasPrefix(how, "restored") {
		if err := saveState(p.opts.StateDir, b.Bytes, b.Attestation, persisted{Verification: v, ActivatedAt: now}); err != nil {
			// Serving goes on with the verified bundle; only the restart
			// fallback is older. Say so loudly.
			p.log.Error("bundle activated but not persisted: a restart without the server would serve the previous one", logfields.Error, err)
		}
	}
	p.mu.Lock()
	p.st.Active = &v
	p.st.LastSuccessfulActivation = now
	p.st.Code, p.st.Message = "", ""
	p.etag, p.refused, p.att = v.ETag, "", b.Attestation
	p.mu.Unlock()
	p.met.activations.Inc()
	p.met.sequence.Set(float64(v.Sequence))
	p.once.Do(func() { close(p.ready) })
	attrs := map[string]string{"source": v.Source, "sha256": v.SHA256, "sequence": strconv.FormatUint(v.Sequence, 10),
		"key_id": v.KeyID, "attested": strconv.FormatBool(v.Attested), "how": how}
	p.log.Info("bundle activated", logfields.Revision, v.Revision, "sequence", v.Sequence, "sha256", v.SHA256[:16], "attested", v.Attested, "how", how)
	p.recordEvent(ctx, &audit.Entry{Kind: audit.KindEvent, Type: audit.EventBundleActivation, Severity: "info", Revision: v.Revision,
		Message: fmt.Sprintf("bundle %s (sequence %d) activated, %s", v.Revision, v.Sequence, how), Attrs: attrs})
	return nil
}

// fail notes a failed attempt (the previous bundle keeps serving).
func (p *Puller) fail(reason string, err error) {
	p.met.refusals.WithLabelValues(reason).Inc()
	p.mu.Lock()
	p.st.Code, p.st.Message = "bundle_error", err.Error()
	p.mu.Unlock()
	p.log.Warn("bundle download failed; the active bundle keeps serving", "reason", reason, logfields.Error, err)
}

// refuse records a refused bundle: log, metric, status and audit log.
func (p *Puller) refuse(ctx context.Context, reason, etag string, err error) {
	p.mu.Lock()
	again := etag != "" && etag == p.refused
	if etag != "" {
		p.refused = etag
	}
	p.mu.Unlock()
	p.fail(reason, err)
	if again {
		return
	}
	sev := "high"
	if reason == RefuseActivation {
		sev = "medium"
	}
	typ := EventBundleRefused
	if reason == RefuseSignature || reason == RefuseAttestation {
		typ = audit.EventSignatureFailure
	}
	p.recordEvent(ctx, &audit.Entry{Kind: audit.KindEvent, Type: typ, Severity: sev,
		Message: "bundle refused (" + reason + "): " + err.Error(), Attrs: map[string]string{"source": p.opts.Source, "reason": reason}})
}

func (p *Puller) recordEvent(ctx context.Context, e *audit.Entry) {
	if p.opts.Record == nil {
		return
	}
	// What was activated or refused is recorded even when polling is being
	// stopped at that moment.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := p.opts.Record(ctx, e); err != nil {
		p.log.Error("recording a bundle event in the audit log", "type", e.Type, logfields.Error, err)
	}
}

// Ready is nil once a verified bundle is active and, with MaxAge, while
// the source has answered within it.
func (p *Puller) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.Active == nil {
		if p.st.Message != "" {
			return fmt.Errorf("no verified bundle active yet (last attempt: %s)", p.st.Message)
		}
		return errors.New("no verified bundle active yet")
	}
	if p.opts.MaxAge > 0 {
		last := p.st.LastSuccessfulRequest
		if p.st.LastSuccessfulActivation.After(last) {
			last = p.st.LastSuccessfulActivation
		}
		if age := time.Since(last); age > p.opts.MaxAge {
			return fmt.Errorf("bundle %s is stale: the source last answered %s ago (max age %s)", p.st.Active.Revision, age.Round(time.Second), p.opts.MaxAge)
		}
	}
	return nil
}

// Activated is closed once a verified bundle is active.
func (p *Puller) Activated() <-chan struct{} { return p.ready }

// Status is a snapshot of the puller's state.
func (p *Puller) Status() PullStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	if st.Active != nil {
		v := *st.Active
		st.Active = &v
	}
	return st
}
