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
// Pitfalls: plain syslog over TCP has no application-level acknowledgement,
// so a receiver that dies after its kernel accepted bytes but before its
// process read them loses them unnoticed. The syslog sink narrows that window
// by probing the connection before and shortly after each batch and resending
// when the receiver closed it, but only a receiver with acknowledgements
// (HEC, the OPA protocol, PostgreSQL) makes the guarantee airtight. Entries that
// retention prunes before a sink sent them are skipped, logged and counted in
// belladonna_audit_sink_pruned_total.
package sink
