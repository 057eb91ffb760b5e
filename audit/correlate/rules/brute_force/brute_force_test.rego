package correlate.brute_force_test

import data.correlate.brute_force

deny(i) := {"index": i, "type": "decision", "kind": "decision", "outcome": "deny", "subject": "alice"}

window(n) := [deny(i) | some i in numbers.range(1, n)]

test_fires_at_threshold if {
	inc := brute_force.incident with input as {"event": deny(5), "window": window(5), "group": "alice"}
	inc.indexes == [1, 2, 3, 4, 5]
	contains(inc.message, `"alice"`)
}

test_silent_below_threshold if {
	not brute_force.incident with input as {"event": deny(4), "window": window(4), "group": "alice"}
}

test_counts_only_denials if {
	w := array.concat(window(4), [{"index": 9, "type": "decision", "outcome": "allow"}])
	not brute_force.incident with input as {"event": deny(4), "window": w, "group": "alice"}
}

test_threshold_from_data if {
	brute_force.incident with input as {"event": deny(3), "window": window(3), "group": "alice"}
		with data.config.correlate.brute_force.threshold as 3
	not brute_force.incident with input as {"event": deny(3), "window": window(3), "group": "alice"}
}
