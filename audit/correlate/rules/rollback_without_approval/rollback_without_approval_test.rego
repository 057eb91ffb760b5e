package correlate.rollback_without_approval_test

import data.correlate.rollback_without_approval as rule

rollback := {"index": 5, "type": "rollback", "revision": "v41"}

approval := {"index": 3, "type": "approval", "attrs": {"by": "carol"}}

test_rollback_without_approval if {
	inc := rule.incident with input as {"event": rollback, "window": [rollback]}
	inc.indexes == [5]
	contains(inc.message, "v41")
}

test_rollback_after_approval if {
	not rule.incident with input as {"event": rollback, "window": [approval, rollback]}
}

test_approval_event_itself if {
	not rule.incident with input as {"event": approval, "window": [approval]}
}

test_earlier_rollback_does_not_count_as_approval if {
	first := object.union(rollback, {"index": 1})
	rule.incident with input as {"event": rollback, "window": [first, rollback]}
}

test_unnamed_target if {
	bare := {"index": 5, "type": "rollback"}
	inc := rule.incident with input as {"event": bare, "window": [bare]}
	contains(inc.message, "an earlier revision")
}
