# METADATA
# title: Syscall policy denies exec from temporary directories
# description: >-
#   The library must hold a syscall policy (package syscall or below) whose
#   data.syscall.decision denies an execve of /tmp/x and of /dev/shm/x. Judged by
#   evaluating the compiled policy with fixed probe events (input.probes), not by
#   rule names.
# custom:
#   category: policy
#   severity: error
#   needs_compile: true
package validators.policy.syscall_exec_tmp

import data.validators.lib

# probed maps a probe name to the path its exec event runs.
probed := {"syscall_exec_tmp": "/tmp/x", "syscall_exec_dev_shm": "/dev/shm/x"}

syscall_modules := [m |
	some m in lib.policy_modules
	lib.in_namespace(m.package, "syscall")
]

anchor := syscall_modules[0]

findings contains {
	"rule": "policy/syscall-exec-tmp",
	"severity": "error",
	"message": concat(" ", [
		"no syscall policy: no module in package syscall or below,",
		"so nothing denies exec from temporary directories",
	]),
} if {
	count(syscall_modules) == 0
}

findings contains {
	"rule": "policy/syscall-exec-tmp",
	"severity": "error",
	"file": anchor.file,
	"line": anchor.package_line,
	"message": sprintf(
		"data.syscall.decision is undefined for an execve of %s: the syscall policy must decide it",
		[path],
	),
} if {
	some name, path in probed
	not input.probes[name]
	not input.probe_errors[name]
}

findings contains {
	"rule": "policy/syscall-exec-tmp",
	"severity": "error",
	"file": anchor.file,
	"line": anchor.package_line,
	"message": sprintf("evaluating data.syscall.decision for an execve of %s failed: %s", [path, msg]),
} if {
	some name, path in probed
	msg := input.probe_errors[name]
}

findings contains {
	"rule": "policy/syscall-exec-tmp",
	"severity": "error",
	"file": anchor.file,
	"line": anchor.package_line,
	"message": sprintf(
		"data.syscall.decision allows an execve of %s: exec from temporary directories must be denied",
		[path],
	),
} if {
	some name, path in probed
	decision := input.probes[name]
	object.get(decision, "allow", true) != false
}
