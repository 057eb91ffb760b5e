package correlate.signature_then_activation_test

import data.correlate.signature_then_activation as rule

failure := {"index": 1, "type": "signature_failure", "attrs": {"bundle": "authz"}}

activation := {"index": 2, "type": "bundle_activation", "revision": "abc123"}

test_activation_after_failure if {
	inc := rule.incident with input as {"event": activation, "window": [failure, activation]}
	inc.indexes == [1, 2]
	contains(inc.message, "abc123")
	contains(inc.message, "authz")
}

test_activation_alone if {
	not rule.incident with input as {"event": activation, "window": [activation]}
}

test_failure_alone if {
	not rule.incident with input as {"event": failure, "window": [failure]}
}

test_failure_after_activation if {
	later := object.union(failure, {"index": 3})
	not rule.incident with input as {"event": later, "window": [activation, later]}
}

test_unnamed_bundle if {
	bare := {"index": 2, "type": "bundle_activation"}
	inc := rule.incident with input as {"event": bare, "window": [failure, bare]}
	contains(inc.message, "(unnamed)")
}
