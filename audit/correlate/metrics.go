package correlate

import "github.com/prometheus/client_golang/prometheus"

// Eviction reasons, the values of the window_evictions_total "reason" label.
const (
	evictGroupLimit = "group_limit" // a group pushed out by MaxGroups
	evictEntryLimit = "entry_limit" // an entry pushed out by MaxWindowEntries
	evictByteLimit  = "byte_limit"  // a group or entry pushed out by MaxBytes
)

// metrics are declared here with bounded label values only: rule names come
// from the loaded rule set, reasons from the constants above.
type metrics struct {
	incidents  *prometheus.CounterVec // rule
	evaluated  prometheus.Counter
	evictions  *prometheus.CounterVec // rule, reason
	ruleErrors *prometheus.CounterVec // rule
	cursor     prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		incidents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_correlate_incidents_total",
			Help: "Incidents raised by correlation rules, by rule.",
		}, []string{"rule"}),
		evaluated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_correlate_evaluated_total",
			Help: "Audit entries the correlation engine processed (incidents themselves are skipped).",
		}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_correlate_window_evictions_total",
			Help: "Window state dropped to keep memory bounded, by rule and reason (group_limit, entry_limit, byte_limit).",
		}, []string{"rule", "reason"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_correlate_rule_errors_total",
			Help: "Correlation rule evaluations that failed, by rule.",
		}, []string{"rule"}),
		cursor: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "belladonna_correlate_cursor",
			Help: "Index of the next audit entry the correlation runner will read.",
		}),
	}
}

// register adds the metrics to reg. Label values are pre-created in init.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.incidents, m.evaluated, m.evictions, m.ruleErrors, m.cursor} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// init pre-creates every label value so dashboards see zeros, not gaps.
func (m *metrics) init(rules []*rule) {
	for _, r := range rules {
		m.incidents.WithLabelValues(r.Name)
		m.ruleErrors.WithLabelValues(r.Name)
		for _, reason := range []string{evictGroupLimit, evictEntryLimit, evictByteLimit} {
			m.evictions.WithLabelValues(r.Name, reason)
		}
	}
}
