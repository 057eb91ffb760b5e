package server

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/engine"
)

// metrics are declared here with bounded label values only: paths are
// labelled as asked for up to maxPathLabels distinct ones, "other" after.
type metrics struct {
	decisions       *prometheus.CounterVec // path, outcome: allow|deny|defined|undefined|error
	decisionSeconds *prometheus.HistogramVec
	cache           *prometheus.CounterVec // result: hit|miss
	requests        *prometheus.CounterVec // code: 2xx|4xx|5xx
	rejected        *prometheus.CounterVec // reason: unauthorized|rate_limited|too_large|bad_request
	activations     prometheus.CounterFunc

	// The series the hot path touches, resolved once: WithLabelValues
	// hashes its labels on every call.
	cacheHit, cacheMiss prometheus.Counter
	requestsByClass     [6]prometheus.Counter // index: status / 100

	mu    sync.RWMutex
	paths map[string]*pathMetrics
}

// pathMetrics are one path label's series.
type pathMetrics struct {
	label    string
	seconds  prometheus.Observer
	outcomes [len(outcomes)]atomic.Pointer[prometheus.Counter] // made on first use
}

var outcomes = [...]string{engine.OutcomeAllow, engine.OutcomeDeny, engine.OutcomeDefined, engine.OutcomeUndefined, engine.OutcomeError}

func (p *pathMetrics) outcome(m *metrics, o string) prometheus.Counter {
	i := slices.Index(outcomes[:], o)
	if i < 0 {
		return m.decisions.WithLabelValues(p.label, o)
	}
	if c := p.outcomes[i].Load(); c != nil {
		return *c
	}
	c := m.decisions.WithLabelValues(p.label, o)
	p.outcomes[i].Store(&c)
	return c
}

const maxPathLabels = 100

func newMetrics(eng *engine.Engine) *metrics {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_decisions_total",
			Help: "Decisions answered, by path and outcome (allow, deny, defined, undefined, error).",
		}, []string{"path", "outcome"}),
		decisionSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "belladonna_decision_duration_seconds",
			Help:    "Policy evaluation time per decision, by path (a cache hit included).",
			Buckets: []float64{0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25},
		}, []string{"path"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_decision_cache_total",
			Help: "Result cache lookups of deterministic paths, by result (hit, miss).",
		}, []string{"result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_http_requests_total",
			Help: "HTTP requests to the decision API, by status class.",
		}, []string{"code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_http_rejected_total",
			Help: "Requests refused before evaluation, by reason.",
		}, []string{"reason"}),
		activations: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "belladonna_policy_activations_total",
			Help: "Policy states activated (each bundle or policy swap).",
		}, func() float64 { return float64(eng.Activations()) }),
		paths: map[string]*pathMetrics{},
	}
	// Made here, so they exist (at zero) whether or not anyone registers.
	m.cacheHit, m.cacheMiss = m.cache.WithLabelValues("hit"), m.cache.WithLabelValues("miss")
	for _, c := range []int{2, 4, 5} {
		m.requestsByClass[c] = m.requests.WithLabelValues(strconv.Itoa(c) + "xx")
	}
	return m
}

// path returns p's series, bounding the path label's values.
func (m *metrics) path(p string) *pathMetrics {
	m.mu.RLock()
	pm := m.paths[p]
	m.mu.RUnlock()
	if pm != nil {
		return pm
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pm := m.paths[p]; pm != nil {
		return pm
	}
	label := p
	if len(m.paths) >= maxPathLabels {
		label = "other"
		if pm := m.paths[label]; pm != nil {
			return pm // not stored under p: the map stays bounded
		}
		p = label
	}
	pm = &pathMetrics{label: label, seconds: m.decisionSeconds.WithLabelValues(label)}
	m.paths[p] = pm
	return pm
}

// observe counts one answered decision.
func (m *metrics) observe(d *engine.Decision, err error) {
	pm := m.path(d.Path)
	pm.seconds.Observe(d.Duration.Seconds())
	pm.outcome(m, outcome(d, err)).Inc()
	switch {
	case d.Cached:
		m.cacheHit.Inc()
	case d.CacheMiss:
		m.cacheMiss.Inc()
	}
}

// request counts one response by its status class.
func (m *metrics) request(status int) {
	if c := status / 100; c >= 0 && c < len(m.requestsByClass) && m.requestsByClass[c] != nil {
		m.requestsByClass[c].Inc()
		return
	}
	m.requests.WithLabelValues(strconv.Itoa(status/100) + "xx").Inc()
}

// outcome is the decision's allow/deny reading, or error.
func outcome(d *engine.Decision, err error) string {
	if err != nil {
		return engine.OutcomeError
	}
	return d.Outcome()
}

// register adds the metrics to reg and pre-creates the label values that
// do not depend on traffic so dashboards see zeros rather than gaps (the
// cache and status-class series newMetrics made).
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.decisions, m.decisionSeconds, m.cache, m.requests, m.rejected, m.activations} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	for _, r := range []string{"unauthorized", "rate_limited", "too_large", "bad_request"} {
		m.rejected.WithLabelValues(r)
	}
	return nil
}
