# METADATA
# title: Syscall event rules
# description: >-
#   Judges one kernel syscall event {syscall, pid, ppid, uid, comm, exe, path,
#   flags, dst_ip, dst_port, cgroup} from the eBPF layer. Every matching rule
#   adds a violation carrying its severity, score and MITRE ATT&CK technique;
#   the event is allowed when there is none. Paths, networks and the port limit
#   are read from data.config.syscall.
# custom:
#   component: syscall
#   severity: high
package syscall

cfg := data.config.syscall

exec_syscalls := {"execve", "execveat"}

open_syscalls := {"open", "openat", "openat2"}

# Calls that remove a file or move it out of the way.
remove_syscalls := {"unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2"}

# O_WRONLY (1) | O_RDWR (2) | O_CREAT (64)
write_flags := 67

under(path, prefixes) if {
	some prefix in prefixes
	startswith(path, prefix)
}

opens_for_write if {
	input.syscall in open_syscalls
	bits.and(input.flags, write_flags) != 0
}

opens_for_write if input.syscall == "creat"

process := sprintf("%v (pid %v, uid %v)", [
	object.get(input, "comm", "<unknown>"),
	object.get(input, "pid", "<unknown>"),
	object.get(input, "uid", "<unknown>"),
])

# METADATA
# title: Violations
# description: The rules this event breaks, each {"rule", "severity", "score", "mitre", "message"}.
# scope: document

# METADATA
# title: Execution from a temporary directory
# description: >-
#   A binary or script is executed from a world-writable temporary directory, a
#   common step after dropping a payload.
# custom:
#   severity: high
#   score: 40
#   mitre: T1059
violations contains {
	"rule": "exec-from-tmp",
	"severity": "high",
	"score": 40,
	"mitre": "T1059",
	"message": sprintf("%v executed %v from a writable temporary directory", [process, input.path]),
} if {
	input.syscall in exec_syscalls
	under(input.path, cfg.temp_dirs)
}

# METADATA
# title: Write under /etc
# description: A file under /etc is opened for writing or created, which can install services, cron jobs or accounts.
# custom:
#   severity: high
#   score: 35
#   mitre: T1543
violations contains {
	"rule": "write-etc",
	"severity": "high",
	"score": 35,
	"mitre": "T1543",
	"message": sprintf("%v opened %v for writing", [process, input.path]),
} if {
	opens_for_write
	under(input.path, cfg.protected_paths.etc)
}

# METADATA
# title: Write under /usr
# description: A system binary or library under /usr is opened for writing or created.
# custom:
#   severity: high
#   score: 35
#   mitre: T1554
violations contains {
	"rule": "write-usr",
	"severity": "high",
	"score": 35,
	"mitre": "T1554",
	"message": sprintf("%v opened %v for writing", [process, input.path]),
} if {
	opens_for_write
	under(input.path, cfg.protected_paths.usr)
}

# METADATA
# title: Write under /boot
# description: A kernel, initramfs or boot loader file under /boot is opened for writing or created.
# custom:
#   severity: critical
#   score: 50
#   mitre: T1542
violations contains {
	"rule": "write-boot",
	"severity": "critical",
	"score": 50,
	"mitre": "T1542",
	"message": sprintf("%v opened %v for writing", [process, input.path]),
} if {
	opens_for_write
	under(input.path, cfg.protected_paths.boot)
}

# METADATA
# title: Audit log removal
# description: An audit log (auditd or Belladonna's own) is unlinked, removed or renamed away.
# custom:
#   severity: critical
#   score: 50
#   mitre: T1070.002
violations contains {
	"rule": "delete-audit-log",
	"severity": "critical",
	"score": 50,
	"mitre": "T1070.002",
	"message": sprintf("%v removed audit log %v with %v", [process, input.path, input.syscall]),
} if {
	input.syscall in remove_syscalls
	some pattern in cfg.audit_log_globs
	glob.match(pattern, ["/"], input.path)
}

egress_allowed(ip) if {
	some cidr in cfg.allowed_egress_cidrs
	net.cidr_contains(cidr, ip)
}

# METADATA
# title: Connection outside allowed networks
# description: >-
#   A socket connects to an address outside the allowed egress networks, a
#   possible command-and-control or exfiltration channel.
# custom:
#   severity: medium
#   score: 25
#   mitre: T1071
violations contains {
	"rule": "egress-not-allowed",
	"severity": "medium",
	"score": 25,
	"mitre": "T1071",
	"message": sprintf("%v connected to %v:%v outside the allowed networks", [
		process,
		input.dst_ip,
		object.get(input, "dst_port", "?"),
	]),
} if {
	input.syscall == "connect"
	is_string(input.dst_ip)
	input.dst_ip != ""
	not egress_allowed(input.dst_ip)
}

is_root if input.uid == 0

# METADATA
# title: Privileged port bound by non-root
# description: >-
#   A process not running as root binds a port below the privileged limit, e.g.
#   a listener impersonating a system service.
# custom:
#   severity: medium
#   score: 20
#   mitre: T1571
violations contains {
	"rule": "privileged-bind-non-root",
	"severity": "medium",
	"score": 20,
	"mitre": "T1571",
	"message": sprintf("%v bound privileged port %v", [process, input.dst_port]),
} if {
	input.syscall == "bind"
	input.dst_port > 0
	input.dst_port < cfg.privileged_port_limit
	not is_root
}

# METADATA
# title: Allow
# scope: document
# description: True when the event matches no rule.
# entrypoint: true
default allow := false

allow if count(violations) == 0

# METADATA
# title: Anomaly score
# description: Sum of the violation scores, capped at 100.
anomaly_score := min([100, sum([v.score | some v in violations])])

# METADATA
# title: Decision
# description: The allow flag, the violations and the anomaly score of the event.
# entrypoint: true
decision := {"allow": allow, "violations": violations, "anomaly_score": anomaly_score}
