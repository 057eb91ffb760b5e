package main

import (
	"errors"
	"fmt"
)

// Exit codes. They are part of the CLI's contract: CI pipelines branch on them.
const (
	// ExitOK: the command succeeded; for validate, no finding at or above --fail-on.
	ExitOK = 0
	// ExitFindings: validate found problems at or above --fail-on, tests failed,
	// coverage fell below --threshold, or eval --fail found an undefined/false result.
	ExitFindings = 1
	// ExitUsage: bad flags or arguments, unreadable or invalid configuration,
	// or input that could not be loaded at all.
	ExitUsage = 2
)

// ExitError carries an exit code out of a command; main maps it to os.Exit after
// every deferred cleanup has run.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usageError marks err as a usage or configuration error (exit 2).
func usageError(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

// findingsError reports that the command ran but the verdict is negative (exit 1).
// A nil err means the reason was already printed.
func findingsError(err error) error { return &ExitError{Code: ExitFindings, Err: err} }

// exitCode maps a command error to its exit code: typed errors keep theirs,
// anything else is treated as a usage/config failure.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	if e, ok := errors.AsType[*ExitError](err); ok {
		return e.Code
	}
	return ExitUsage
}
