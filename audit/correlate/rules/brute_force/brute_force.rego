# METADATA
# title: Brute force against one subject
# description: >-
#   Raises an incident when one subject is denied at least `threshold` times
#   within one minute: password guessing, token stuffing or a client probing
#   for what it may do. The threshold defaults to 5 and is read from
#   data.config.correlate.brute_force.threshold.
# custom:
#   component: correlate
#   severity: high
#   window: 1m
#   group_by: subject
#   match:
#     type: decision
#     outcome: deny
package correlate.brute_force

default threshold := 5

threshold := data.config.correlate.brute_force.threshold

incident := {
	"message": sprintf(
		"%d denied decisions for subject %q within 1m (threshold %d)",
		[count(denials), input.group, threshold],
	),
	"indexes": [e.index | some e in denials],
} if {
	denials := [e | some e in input.window; e.outcome == "deny"]
	count(denials) >= threshold
}
