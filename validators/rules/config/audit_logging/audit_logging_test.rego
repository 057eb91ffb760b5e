package validators.config.audit_logging_test

import data.validators.config.audit_logging

in_put(enabled, tamper_evident) := {
	"config": {"audit": {"enabled": enabled, "tamper_evident": tamper_evident}},
	"config_file": "",
}

test_disabled_is_error if {
	[f] := [x | some x in audit_logging.findings] with input as in_put(false, true)
	f.severity == "error"
	contains(f.message, "audit.enabled")
}

test_not_tamper_evident_is_error if {
	[f] := [x | some x in audit_logging.findings] with input as in_put(true, false)
	contains(f.message, "tamper_evident")
}

test_on_and_tamper_evident_is_clean if {
	count(audit_logging.findings) == 0 with input as in_put(true, true)
}

test_no_config_is_clean if {
	count(audit_logging.findings) == 0 with input as {"config": {}, "config_file": ""}
}
