package validators.policy.syscall_exec_tmp_test

import data.validators.policy.syscall_exec_tmp

mods := [{"file": "syscall/syscall.rego", "package": "syscall", "package_line": 7, "is_test": false}]

deny := {"allow": false, "violations": [{"rule": "exec_from_tmp"}], "anomaly_score": 80}

test_denying_policy_is_clean if {
	count(syscall_exec_tmp.findings) == 0 with input as {
		"modules": mods,
		"probes": {"syscall_exec_tmp": deny, "syscall_exec_dev_shm": deny},
		"probe_errors": {},
	}
}

test_missing_policy_is_error if {
	[f] := [x | some x in syscall_exec_tmp.findings] with input as {
		"modules": [{"file": "a.rego", "package": "security.authz", "is_test": false}],
		"probes": {},
		"probe_errors": {},
	}
	startswith(f.message, "no syscall policy")
}

test_allowing_policy_is_error if {
	fs := syscall_exec_tmp.findings with input as {
		"modules": mods,
		"probes": {"syscall_exec_tmp": {"allow": true}, "syscall_exec_dev_shm": deny},
		"probe_errors": {},
	}
	[f] := [x | some x in fs]
	contains(f.message, "allows an execve of /tmp/x")
	f.file == "syscall/syscall.rego"
	f.line == 7
}

test_undefined_decision_is_error if {
	fs := syscall_exec_tmp.findings with input as {"modules": mods, "probes": {}, "probe_errors": {}}
	count(fs) == 2
}

test_probe_error_is_reported if {
	fs := syscall_exec_tmp.findings with input as {
		"modules": mods,
		"probes": {"syscall_exec_dev_shm": deny},
		"probe_errors": {"syscall_exec_tmp": "eval_conflict_error"},
	}
	[f] := [x | some x in fs]
	contains(f.message, "eval_conflict_error")
}
