//go:build !linux

package main

import "errors"

func pinSelf(int) error {
	return errors.New("-pin needs Linux (sched_setaffinity); run with -pin=false")
}

func pinArgv(_ string, argv []string) []string { return argv }
