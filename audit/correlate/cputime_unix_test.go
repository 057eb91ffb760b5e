//go:build unix

package correlate

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (user and system, all
// threads, so the garbage collector's share counts too). Benchmarks divide
// by it to report throughput per CPU second, which, unlike wall time, does
// not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
