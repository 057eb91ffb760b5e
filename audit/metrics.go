package audit

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	entries       prometheus.Counter
	appendErrors  prometheus.Counter
	checkpoints   prometheus.Counter
	appendSeconds prometheus.Histogram
	fsyncSeconds  prometheus.Histogram
	batchSize     prometheus.Histogram
	recycled      prometheus.Counter
}

func newMetrics() *metrics {
	return &metrics{
		entries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_audit_entries_total", Help: "Entries durably appended to the audit log."}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_audit_append_errors_total", Help: "Failed audit log writes, syncs and checkpoints."}),
		checkpoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_audit_checkpoints_total", Help: "Signed checkpoints written."}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belladonna_audit_append_duration_seconds", Help: "Time from Append to durable acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14)}),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belladonna_audit_fsync_duration_seconds", Help: "Duration of one group-commit write and fsync.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 14)}),
		recycled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_audit_segment_files_reused_total", Help: "Compressed segments' plain files kept to write the next segments over."}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "belladonna_audit_fsync_batch_entries", Help: "Entries committed per fsync.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13)}),
	}
}

// RegisterMetrics adds the log's metrics, and a gauge of its queue depth, to reg.
func (l *Log) RegisterMetrics(reg prometheus.Registerer) error {
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "belladonna_audit_queue_depth", Help: "Appends waiting for the writer."},
		func() float64 { return float64(len(l.queue)) })
	size := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "belladonna_audit_log_size_entries", Help: "Entries in the audit log."},
		func() float64 { return float64(l.Size()) })
	for _, c := range []prometheus.Collector{l.m.entries, l.m.appendErrors, l.m.checkpoints,
		l.m.appendSeconds, l.m.fsyncSeconds, l.m.batchSize, l.m.recycled, queue, size} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
