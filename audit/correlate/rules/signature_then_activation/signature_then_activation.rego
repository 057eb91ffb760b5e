# METADATA
# title: Bundle activated after a signature failure
# description: >-
#   Raises an incident when a bundle is activated within ten minutes after a
#   bundle signature failed to verify anywhere: a forged bundle may have been
#   retried until something (a disabled check, a swapped key) let it through.
# custom:
#   component: correlate
#   severity: critical
#   window: 10m
#   group_by: ""
#   match:
#     type: [signature_failure, bundle_activation]
package correlate.signature_then_activation

failures := [e |
	some e in input.window
	e.type == "signature_failure"
	e.index < input.event.index
]

# name is what an event says about the bundle it concerns.
name(e) := b if {
	b := e.attrs.bundle
} else := r if {
	r := e.revision
	r != ""
} else := "(unnamed)"

incident := {
	"message": sprintf("bundle %s activated after %d signature failure(s) within 10m (first: %s)", [
		name(input.event), count(failures), name(failures[0]),
	]),
	"indexes": array.concat([e.index | some e in failures], [input.event.index]),
} if {
	input.event.type == "bundle_activation"
	count(failures) > 0
}
