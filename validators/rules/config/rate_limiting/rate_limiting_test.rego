package validators.config.rate_limiting_test

import data.validators.config.rate_limiting

cfg(addr, enabled) := {"server": {"addr": addr, "rate_limit": {"enabled": enabled}}}

test_public_without_rate_limit_is_warning if {
	[f] := [x | some x in rate_limiting.findings] with input as {"config": cfg("10.1.2.3:8181", false), "config_file": ""}
	f.severity == "warning"
}

test_loopback_without_rate_limit_is_info if {
	[f] := [x | some x in rate_limiting.findings] with input as {"config": cfg("localhost:8181", false), "config_file": ""}
	f.severity == "info"
}

test_enabled_is_clean if {
	count(rate_limiting.findings) == 0 with input as {"config": cfg(":8181", true), "config_file": ""}
}
