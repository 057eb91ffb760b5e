package validators.lib_test

import data.validators.lib

test_loopback_addresses if {
	lib.loopback("127.0.0.1:8181")
	lib.loopback("127.1.2.3:80")
	lib.loopback("localhost:8181")
	lib.loopback("[::1]:8181")
	lib.loopback("unix:///run/belladonna.sock")
}

test_non_loopback_addresses if {
	not lib.loopback(":8181")
	not lib.loopback("0.0.0.0:8181")
	not lib.loopback("10.0.0.5:8181")
	not lib.loopback("[::]:8181")
	not lib.loopback("example.com:8181")
	not lib.loopback("garbage")
}

test_in_namespace if {
	lib.in_namespace("syscall", "syscall")
	lib.in_namespace("syscall.exec", "syscall")
	not lib.in_namespace("syscalls", "syscall")
}

test_auth_disabled if {
	lib.auth_disabled({"authentication": {"mode": "none"}})
	lib.auth_disabled({})
	not lib.auth_disabled({"authentication": {"mode": "token"}})
}

test_policy_modules_excludes_tests if {
	mods := lib.policy_modules with input as {"modules": [
		{"file": "a.rego", "is_test": false},
		{"file": "a_test.rego", "is_test": true},
	]}
	mods == {{"file": "a.rego", "is_test": false}}
}
