# METADATA
# title: Burst of eBPF alerts from one process
# description: >-
#   Raises an incident when one cgroup (or, for events without one, one pid)
#   raises at least `threshold` eBPF alerts within 30 seconds: a single alert
#   may be noise, a burst is a process doing several suspicious things in a
#   row. The threshold defaults to 3 and is read from
#   data.config.correlate.ebpf_burst.threshold.
# custom:
#   component: correlate
#   severity: high
#   window: 30s
#   group_by: [attrs.cgroup, attrs.pid]
#   match:
#     type: ebpf_alert
package correlate.ebpf_burst

default threshold := 3

threshold := data.config.correlate.ebpf_burst.threshold

# kinds are the distinct alert rules in a burst, for the message.
kinds(alerts) := sort({k | some e in alerts; k := object.get(e, ["attrs", "rule"], "alert")})

incident := {
	"message": sprintf(
		"%d eBPF alerts within 30s from %s (%s)",
		[count(alerts), input.group, concat(", ", kinds(alerts))],
	),
	"indexes": [e.index | some e in alerts],
} if {
	alerts := [e | some e in input.window; e.type == "ebpf_alert"]
	count(alerts) >= threshold
}
