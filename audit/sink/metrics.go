package sink

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a Runner. The only label is the sink's configured name, so the
// label's values are bounded by the configuration.
type metrics struct {
	sent   *prometheus.CounterVec
	errors *prometheus.CounterVec
	pruned *prometheus.CounterVec
	up     *prometheus.GaugeVec
	lag    *lagCollector
}

func newMetrics(lag func() map[string]float64) *metrics {
	return &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_audit_sink_sent_total",
			Help: "Audit entries a sink acknowledged (resends after a failed batch count again).",
		}, []string{"sink"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_audit_sink_errors_total",
			Help: "Failed attempts to deliver a batch or to persist a sink's cursor.",
		}, []string{"sink"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "belladonna_audit_sink_pruned_total",
			Help: "Audit entries retention removed before a sink could send them.",
		}, []string{"sink"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "belladonna_audit_sink_up",
			Help: "1 unless the sink's last delivery attempt failed.",
		}, []string{"sink"}),
		lag: &lagCollector{
			desc: prometheus.NewDesc("belladonna_audit_sink_lag_entries",
				"Committed audit entries a sink has not acknowledged yet (log size minus cursor).",
				[]string{"sink"}, nil),
			values: lag,
		},
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.sent, m.errors, m.pruned, m.up, m.lag} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// init pre-creates a sink's series so dashboards see zeros rather than gaps.
func (m *metrics) init(sink string) {
	m.sent.WithLabelValues(sink)
	m.errors.WithLabelValues(sink)
	m.pruned.WithLabelValues(sink)
	m.up.WithLabelValues(sink).Set(1)
}

// lagCollector computes the lag when scraped: a gauge updated by the sender
// would freeze while the sender is stuck in backoff, which is exactly when
// the lag matters.
type lagCollector struct {
	desc   *prometheus.Desc
	values func() map[string]float64
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	for name, v := range c.values() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, name)
	}
}
