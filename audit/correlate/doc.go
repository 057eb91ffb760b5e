// Package correlate is a small rules engine over the audit log: Rego rules
// look at windows of recent entries (N denials for one subject within T, a
// signature failure followed by an activation) and raise incidents, which
// go back into the same log, and so to the sinks, as events of type
// incident.
//
// The model: an Engine holds compiled rules and, per rule and group, a
// window of the entries that rule has seen. Process(ctx, entry) adds the
// entry to the windows it belongs to, evaluates the rules whose window it
// joined and returns the incidents; it does no I/O. A Runner tails an
// audit.Source from a cursor file, calls Process in index order and appends
// the incidents through an audit.Appender.
//
// Pitfalls. Time is entry time: windows move with the newest entry time
// seen, never the wall clock, so a replay of the same log raises the same
// incidents (time.now_ns in a rule is the entry's time too). An entry that
// arrives already a whole window older than that is not correlated.
// Incidents are never fed back into rules. Memory is bounded: each rule
// keeps at most MaxGroups groups (the least recently active is evicted) and
// each window at most MaxWindowEntries entries (the oldest are dropped); both
// are counted in belladonna_correlate_window_evictions_total, as is the
// approximate byte bound per rule (MaxBytes, estimated from input and
// result sizes). A rule whose threshold exceeds the entry bound can never
// fire, and an evicted group forgets its cooldown. Entries without
// any group_by value (a denial with no subject) are not correlated, rather
// than lumped into one group.
//
// # Rule contract
//
// A rule is a Rego v1 module in package correlate.<name> (lower case,
// digits, underscores), compiled in strict mode with http.send,
// net.lookup_ip_addr, opa.runtime, rand.intn and uuid.rfc4122 unavailable,
// since a rule must give the same answer on replay. Its package METADATA
// declares:
//
//	title:        required
//	description:  what the incident means
//	custom:
//	  severity:   critical|high|medium|low|info (default medium)
//	  window:     required, a Go duration ("30s", "5m", "1h")
//	  cooldown:   how long a group stays quiet after firing (default: window)
//	  group_by:   a field or a list of fields, the first non-empty keys the
//	              group; "" or absent for one global window. Fields: kind,
//	              type, severity, outcome, path, revision, caller, subject,
//	              attrs.<key>
//	  match:      {field: value or [values]}: only matching entries enter
//	              the rule's windows or trigger it (absent: all entries)
//	  component:  informational (the repository's metadata lint asks for it)
//
// Unknown custom keys, fields or values are errors, reported with
// file:line:col like parse and compile errors (*LoadError).
//
// The rule defines incident, a single object {"message": string,
// "severity"?: string, "indexes"?: [number]}, when it fires. Its input is
//
//	{"event":  the new entry,
//	 "window": the entries of its group within the window, oldest first,
//	           the new one last,
//	 "now":    the new entry's time (RFC 3339),
//	 "group":  the group's value ("" for a global rule)}
//
// Entries appear as audit.Entry marshals to JSON (index, time, kind, type,
// outcome, subject, input, result, attrs, ...), with input and result parsed
// and subject resolved: Entry.Subject, else the decision input's
// subject.id, else its user. A rule reads its parameters from
// data.config.correlate.<name> (WithRuleParams).
//
// When incident is defined and the group is not cooling down, the engine
// raises an entry {kind: event, type: incident, time: the trigger's time,
// severity, message} with attrs rule, title, trigger (the new entry's
// index), indexes (the rule's, or the whole window's) and, for grouped
// rules, group_by and group. A rule grouped by subject also sets the
// incident's Subject, so that per-subject keys and erasure cover it.
//
// # Default rules
//
// Embedded from audit/correlate/rules (see its README): brute_force,
// signature_then_activation, ebpf_burst and rollback_without_approval.
package correlate
