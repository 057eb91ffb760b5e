package server

import (
	"sync"

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

	mu    sync.RWMutex
	paths map[string]bool
}

const maxPathLabels = 100

func newMetrics(eng *engine.Engine) *metrics {
	return &metrics{
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
		paths: map[string]bool{},
	}
}

// pathLabel bounds the path label's values.
func (m *metrics) pathLabel(p string) string {
	m.mu.RLock()
	known := m.paths[p]
	m.mu.RUnlock()
	if known {
		return p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paths[p] {
		return p
	}
	if len(m.paths) >= maxPathLabels {
		return "other"
	}
	m.paths[p] = true
	return p
}

// observe counts one answered decision.
func (m *metrics) observe(d *engine.Decision, err error) {
	path := m.pathLabel(d.Path)
	m.decisionSeconds.WithLabelValues(path).Observe(d.Duration.Seconds())
	m.decisions.WithLabelValues(path, outcome(d, err)).Inc()
	switch {
	case d.Cached:
		m.cache.WithLabelValues("hit").Inc()
	case d.CacheMiss:
		m.cache.WithLabelValues("miss").Inc()
	}
}

// outcome is the decision's allow/deny reading, or error.
func outcome(d *engine.Decision, err error) string {
	if err != nil {
		return engine.OutcomeError
	}
	return d.Outcome()
}

// register adds the metrics to reg and pre-creates the label values that
// do not depend on traffic so dashboards see zeros rather than gaps.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.decisions, m.decisionSeconds, m.cache, m.requests, m.rejected, m.activations} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	for _, r := range []string{"hit", "miss"} {
		m.cache.WithLabelValues(r)
	}
	for _, c := range []string{"2xx", "4xx", "5xx"} {
		m.requests.WithLabelValues(c)
	}
	for _, r := range []string{"unauthorized", "rate_limited", "too_large", "bad_request"} {
		m.rejected.WithLabelValues(r)
	}
	return nil
}
