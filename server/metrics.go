package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are declared here with bounded label values only.
type metrics struct {
	decisions       *prometheus.CounterVec // outcome: defined|undefined|error
	decisionSeconds prometheus.Histogram
	requests        *prometheus.CounterVec // code: 2xx|4xx|5xx
	rejected        *prometheus.CounterVec // reason: unauthorized|rate_limited|too_large|bad_request
}

func newMetrics() *metrics {
	return &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_decisions_total",
			Help: "Decisions answered, by outcome (defined, undefined, error).",
		}, []string{"outcome"}),
		decisionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "belladonna_decision_duration_seconds",
			Help:    "Policy evaluation time per decision.",
			Buckets: []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25},
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_http_requests_total",
			Help: "HTTP requests to the decision API, by status class.",
		}, []string{"code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_http_rejected_total",
			Help: "Requests refused before evaluation, by reason.",
		}, []string{"reason"}),
	}
}

// register adds the metrics to reg and pre-creates every label value so
// dashboards see zeros rather than gaps.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.decisions, m.decisionSeconds, m.requests, m.rejected} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	for _, o := range []string{"defined", "undefined", "error"} {
		m.decisions.WithLabelValues(o)
	}
	for _, c := range []string{"2xx", "4xx", "5xx"} {
		m.requests.WithLabelValues(c)
	}
	for _, r := range []string{"unauthorized", "rate_limited", "too_large", "bad_request"} {
		m.rejected.WithLabelValues(r)
	}
	return nil
}
