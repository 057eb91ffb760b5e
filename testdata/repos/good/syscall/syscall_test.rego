package syscall_test

import data.syscall

test_exec_from_tmp_denied if {
	d := syscall.decision with input as {"syscall": "execve", "path": "/tmp/x"}
	not d.allow
	d.anomaly_score == 80
}

test_exec_from_usr_allowed if {
	d := syscall.decision with input as {"syscall": "execve", "path": "/usr/bin/ls"}
	d.allow
}
