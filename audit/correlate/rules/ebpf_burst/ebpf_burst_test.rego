package correlate.ebpf_burst_test

import data.correlate.ebpf_burst

alert(i, rule) := {"index": i, "type": "ebpf_alert", "attrs": {"cgroup": "/app", "rule": rule}}

test_fires_at_threshold if {
	w := [alert(1, "write-etc"), alert(2, "exec-from-tmp"), alert(3, "write-etc")]
	inc := ebpf_burst.incident with input as {"event": w[2], "window": w, "group": "/app"}
	inc.indexes == [1, 2, 3]
	contains(inc.message, "exec-from-tmp, write-etc")
	contains(inc.message, "/app")
}

test_silent_below_threshold if {
	w := [alert(1, "write-etc"), alert(2, "write-etc")]
	not ebpf_burst.incident with input as {"event": w[1], "window": w, "group": "/app"}
}

test_threshold_from_data if {
	w := [alert(1, "write-etc"), alert(2, "write-etc")]
	ebpf_burst.incident with input as {"event": w[1], "window": w, "group": "/app"}
		with data.config.correlate.ebpf_burst.threshold as 2
}

test_alert_without_rule_attr if {
	w := [{"index": i, "type": "ebpf_alert"} | some i in numbers.range(1, 3)]
	inc := ebpf_burst.incident with input as {"event": w[2], "window": w, "group": "42"}
	contains(inc.message, "(alert)")
}
