package validators

import (
	"fmt"
	"strings"
)

// LoadError reports a path that could not be read at all (missing, permission
// denied). Files that were read but do not parse are findings, not LoadErrors.
type LoadError struct {
	Path string
	Err  error
}

func (e *LoadError) Error() string { return fmt.Sprintf("loading %s: %v", e.Path, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// BaselineError reports a baseline file that cannot be read or decoded.
type BaselineError struct {
	File string
	Err  error
}

func (e *BaselineError) Error() string { return fmt.Sprintf("baseline %s: %v", e.File, e.Err) }
func (e *BaselineError) Unwrap() error { return e.Err }

// RulesError reports validator rules (shipped or from --rules) that do not
// load, compile or carry the metadata a rule needs.
type RulesError struct {
	Err error
}

func (e *RulesError) Error() string { return fmt.Sprintf("validator rules: %v", e.Err) }
func (e *RulesError) Unwrap() error { return e.Err }

// UnknownRuleError reports --disable names that match no rule or category.
type UnknownRuleError struct {
	Names []string
	Known []string // every rule id, for the message
}

func (e *UnknownRuleError) Error() string {
	return fmt.Sprintf("unknown rule(s) to disable: %s; known rules: %s",
		strings.Join(e.Names, ", "), strings.Join(e.Known, ", "))
}
