# METADATA
# title: Syscall decisions
# description: Decides kernel syscall events and denies exec from temporary directories.
# custom:
#   component: syscall
#   severity: high
package syscall

temp_dirs := ["/tmp/", "/dev/shm/", "/var/tmp/"]

exec_from_temp if {
	input.syscall == "execve"
	some dir in temp_dirs
	startswith(input.path, dir)
}

violations contains {
	"rule": "exec_from_temp",
	"severity": "high",
	"score": 80,
	"mitre": "T1059",
	"message": sprintf("exec of %s from a temporary directory", [input.path]),
} if exec_from_temp

decision := {
	"allow": count(violations) == 0,
	"violations": violations,
	"anomaly_score": sum([v.score | some v in violations]),
}
