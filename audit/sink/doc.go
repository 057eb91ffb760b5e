// Package sink forwards committed audit-log entries to external systems:
// syslog receivers (CEF or LEEF over TCP/TLS), Splunk HEC, OPA decision-log
// collectors and PostgreSQL.
//
// A [Runner] reads entries from an [audit.Source] in index order and hands
// them to each [Sink] in batches. Each sink has its own cursor file
// (<dir>/<name>.cursor) holding the next index to send; it is rewritten
// atomically only after the sink acknowledged a batch. Delivery is therefore
// at-least-once: after a crash or a failed batch, the last unacknowledged
// batch is sent again, so receivers must tolerate duplicates (PostgreSQL
// deduplicates on the index; the others carry the index and decision id).
//
// Pitfalls: plain syslog over TCP (RFC 5425/6587) has no acknowledgement, so
// the syslog sink uses one connection per batch and counts a batch delivered
// only when the receiver closes cleanly after reading it (see syslogSink); a
// receiver killed with SIGKILL can still lose what it had read but not yet
// written out, which no sender can detect. Entries that retention pruned
// before a sink sent them are skipped, logged at error level and counted in
// belladonna_audit_sink_pruned_total.
package sink
