package syscall_test

import data.syscall

event(overrides) := object.union(
	{
		"syscall": "openat",
		"pid": 4242,
		"ppid": 1,
		"uid": 1000,
		"comm": "bash",
		"exe": "/usr/bin/bash",
		"path": "/home/alice/notes.txt",
		"flags": 0,
		"cgroup": "/system.slice/app.service",
	},
	overrides,
)

exec_tmp := {
	"rule": "exec-from-tmp",
	"severity": "high",
	"score": 40,
	"mitre": "T1059",
	"message": "bash (pid 4242, uid 1000) executed /tmp/x from a writable temporary directory",
}

test_benign_read_is_allowed if {
	syscall.decision == {"allow": true, "violations": set(), "anomaly_score": 0} with input as event({})
}

test_exec_from_tmp if {
	e := event({"syscall": "execve", "path": "/tmp/x"})
	syscall.decision == {"allow": false, "violations": {exec_tmp}, "anomaly_score": 40} with input as e
}

test_execveat_from_dev_shm_and_var_tmp if {
	syscall.violations[_].rule == "exec-from-tmp" with input as event({"syscall": "execveat", "path": "/dev/shm/.k"})
	syscall.violations[_].rule == "exec-from-tmp" with input as event({"syscall": "execve", "path": "/var/tmp/run.sh"})
}

test_exec_from_usr_bin_is_allowed if {
	syscall.allow with input as event({"syscall": "execve", "path": "/usr/bin/ls"})
}

test_tmp_lookalike_directory_is_not_tmp if {
	syscall.allow with input as event({"syscall": "execve", "path": "/tmpfiles/x"})
}

test_opening_tmp_file_is_not_exec if {
	syscall.allow with input as event({"path": "/tmp/x", "flags": 577})
}

test_write_etc_with_o_wronly if {
	e := event({"path": "/etc/passwd", "flags": 1})
	syscall.violations == {{
		"rule": "write-etc",
		"severity": "high",
		"score": 35,
		"mitre": "T1543",
		"message": "bash (pid 4242, uid 1000) opened /etc/passwd for writing",
	}} with input as e
	not syscall.allow with input as e
}

test_write_etc_with_o_rdwr_and_o_creat if {
	syscall.violations[_].rule == "write-etc" with input as event({"path": "/etc/cron.d/job", "flags": 2})
	syscall.violations[_].rule == "write-etc" with input as event({"path": "/etc/cron.d/job", "flags": 64})
	syscall.violations[_].rule == "write-etc" with input as event({"syscall": "creat", "path": "/etc/x"})
}

test_read_only_open_of_etc_is_allowed if {
	# O_RDONLY | O_CLOEXEC (0x80000)
	syscall.allow with input as event({"path": "/etc/passwd", "flags": 524288})
}

test_write_usr if {
	e := event({"syscall": "open", "path": "/usr/bin/sudo", "flags": 577})
	syscall.violations == {{
		"rule": "write-usr",
		"severity": "high",
		"score": 35,
		"mitre": "T1554",
		"message": "bash (pid 4242, uid 1000) opened /usr/bin/sudo for writing",
	}} with input as e
}

test_write_boot if {
	e := event({"syscall": "openat2", "path": "/boot/vmlinuz", "flags": 1, "uid": 0, "comm": "dd"})
	syscall.decision == {
		"allow": false,
		"violations": {{
			"rule": "write-boot",
			"severity": "critical",
			"score": 50,
			"mitre": "T1542",
			"message": "dd (pid 4242, uid 0) opened /boot/vmlinuz for writing",
		}},
		"anomaly_score": 50,
	} with input as e
}

test_missing_flags_are_read_only if {
	syscall.allow with input as json.remove(event({"path": "/etc/shadow"}), ["flags"])
}

test_unlink_audit_log if {
	e := event({"syscall": "unlinkat", "path": "/var/log/audit/audit.log", "uid": 0, "comm": "rm"})
	syscall.violations == {{
		"rule": "delete-audit-log",
		"severity": "critical",
		"score": 50,
		"mitre": "T1070.002",
		"message": "rm (pid 4242, uid 0) removed audit log /var/log/audit/audit.log with unlinkat",
	}} with input as e
}

test_rename_belladonna_audit_file if {
	e := event({"syscall": "renameat2", "path": "/srv/belladonna-data/audit/000001.log"})
	syscall.violations[_].rule == "delete-audit-log" with input as e
}

test_unlink_ordinary_log_is_allowed if {
	syscall.allow with input as event({"syscall": "unlink", "path": "/var/log/nginx/access.log.1"})
}

test_connect_outside_allowed_networks if {
	e := event({"syscall": "connect", "path": "", "dst_ip": "203.0.113.50", "dst_port": 4444, "comm": "curl"})
	syscall.decision == {
		"allow": false,
		"violations": {{
			"rule": "egress-not-allowed",
			"severity": "medium",
			"score": 25,
			"mitre": "T1071",
			"message": "curl (pid 4242, uid 1000) connected to 203.0.113.50:4444 outside the allowed networks",
		}},
		"anomaly_score": 25,
	} with input as e
}

test_connect_inside_allowed_networks if {
	syscall.allow with input as event({"syscall": "connect", "dst_ip": "10.0.3.4", "dst_port": 5432})
	syscall.allow with input as event({"syscall": "connect", "dst_ip": "::1", "dst_port": 8181})
}

test_connect_without_address_is_allowed if {
	# AF_UNIX sockets carry no IP address.
	syscall.allow with input as event({"syscall": "connect", "dst_ip": "", "path": "/run/app.sock"})
}

test_connect_to_unparseable_address_is_flagged if {
	syscall.violations[_].rule == "egress-not-allowed" with input as event({"syscall": "connect", "dst_ip": "bogus"})
}

test_privileged_bind_by_non_root if {
	e := event({"syscall": "bind", "dst_ip": "0.0.0.0", "dst_port": 22, "comm": "sshd-fake"})
	syscall.violations == {{
		"rule": "privileged-bind-non-root",
		"severity": "medium",
		"score": 20,
		"mitre": "T1571",
		"message": "sshd-fake (pid 4242, uid 1000) bound privileged port 22",
	}} with input as e
}

test_privileged_bind_by_root_is_allowed if {
	syscall.allow with input as event({"syscall": "bind", "dst_port": 443, "uid": 0})
}

test_unprivileged_and_ephemeral_binds_are_allowed if {
	syscall.allow with input as event({"syscall": "bind", "dst_port": 8080})
	syscall.allow with input as event({"syscall": "bind", "dst_port": 0})
}

test_bind_without_uid_is_treated_as_non_root if {
	e := json.remove(event({"syscall": "bind", "dst_port": 80}), ["uid"])
	syscall.violations[_].rule == "privileged-bind-non-root" with input as e
}

test_anomaly_score_sums_violations if {
	# A write under /etc and /usr by the same event is impossible, so widen
	# the protected prefixes to make one event match several rules.
	paths := {"etc": ["/opt/"], "usr": ["/opt/"], "boot": ["/opt/"]}
	e := event({"path": "/opt/x", "flags": 1})
	syscall.anomaly_score == 100 with input as e with data.config.syscall.protected_paths as paths
	count(syscall.violations) == 3 with input as e with data.config.syscall.protected_paths as paths
}

test_anomaly_score_below_cap if {
	paths := {"etc": ["/opt/"], "usr": ["/opt/"], "boot": []}
	e := event({"path": "/opt/x", "flags": 1})
	syscall.anomaly_score == 70 with input as e with data.config.syscall.protected_paths as paths
}

test_event_without_process_details if {
	msg := "<unknown> (pid <unknown>, uid <unknown>) executed /tmp/x from a writable temporary directory"
	e := {"syscall": "execve", "path": "/tmp/x"}
	syscall.violations == {object.union(exec_tmp, {"message": msg})} with input as e
}
