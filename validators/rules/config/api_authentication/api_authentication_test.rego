package validators.config.api_authentication_test

import data.validators.config.api_authentication

cfg(addr, mode) := {"server": {"addr": addr, "authentication": {"mode": mode}}}

test_public_addr_without_auth_is_error if {
	fs := api_authentication.findings with input as {
		"config": cfg("0.0.0.0:8181", "none"),
		"config_file": "belladonna.yaml",
	}
	some f in fs
	f.severity == "error"
	f.file == "belladonna.yaml"
	count(fs) == 1
}

test_loopback_without_auth_is_info if {
	fs := api_authentication.findings with input as {"config": cfg("127.0.0.1:8181", "none"), "config_file": ""}
	[f] := [x | some x in fs]
	f.severity == "info"
}

test_token_auth_is_clean if {
	count(api_authentication.findings) == 0 with input as {"config": cfg(":8181", "token"), "config_file": ""}
}

test_no_config_is_clean if {
	count(api_authentication.findings) == 0 with input as {"config": {}, "config_file": ""}
}
