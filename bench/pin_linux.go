//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinSelf confines every thread of this process to cpu: the load generator
// then never runs on the servers' core.
func pinSelf(cpu int) error {
	var set unix.CPUSet
	set.Set(cpu)
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("pinning the load generator: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pinning the load generator's thread %d to CPU %d: %w", tid, cpu, err)
		}
	}
	return nil
}

// pinArgv runs argv on the CPUs in list (taskset's -c syntax).
func pinArgv(list string, argv []string) []string {
	return append([]string{"taskset", "-c", list}, argv...)
}
