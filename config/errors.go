package config

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinels carried by Problem.Err, so that callers can branch with errors.Is on
// an *Error (which unwraps to its problems) without matching message text.
var (
	// ErrSyntax: the content is not a single well-formed YAML document.
	ErrSyntax = errors.New("invalid YAML")
	// ErrUnknownKey: a key that Belladonna does not know (often a typo).
	ErrUnknownKey = errors.New("unknown key")
	// ErrRemovedKey: a key that an earlier version accepted and this one
	// rejects; the message names what replaces it (see RemovedKeys).
	ErrRemovedKey = errors.New("removed key")
	// ErrInvalidValue: a value of the wrong type or one that fails validation,
	// whether it came from the file or from an environment variable.
	ErrInvalidValue = errors.New("invalid value")
)

// maxProblems bounds how many problems one file can produce, so that a huge or
// hostile file yields a readable error instead of megabytes of them.
const maxProblems = 100

// Problem is one thing wrong with a configuration.
type Problem struct {
	// File is the name given to Parse (usually the path); empty when the value
	// did not come from a file.
	File string
	// Line and Column are 1-based positions in File; 0 when unknown.
	Line, Column int
	// Env is the environment variable that supplied the bad value, if any.
	// When set, File, Line and Column are empty.
	Env string
	// Key is the dotted key path the problem is about ("server.addr",
	// "validate.rules[2]"); empty for problems with the file as a whole.
	Key string
	// Message is the human-readable text without the location prefix. It
	// repeats the key, so it reads on its own.
	Message string
	// Err is the sentinel for the kind of problem (ErrSyntax, ErrUnknownKey,
	// ErrRemovedKey, ErrInvalidValue).
	Err error
}

// Error formats the problem as "file:line:col: message",
// "$VARIABLE: message" or just "message" when there is no location.
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Env != "":
		fmt.Fprintf(&b, "$%s: ", p.Env)
	case p.File != "" && p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", p.File, p.Line, p.Column)
	case p.File != "" && p.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", p.File, p.Line)
	case p.File != "":
		fmt.Fprintf(&b, "%s: ", p.File)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	b.WriteString(p.Message)
	return b.String()
}

// Unwrap returns the problem's sentinel.
func (p Problem) Unwrap() error { return p.Err }

// Error is returned by Parse, Load and Config.Validate when the configuration
// has problems. It lists all of them, in file order, followed by those without
// a position (environment variables, defaults). Match it with
// errors.AsType[*config.Error]; errors.Is sees through it to each Problem's
// sentinel.
type Error struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes every problem to errors.Is and errors.AsType.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// sortProblems orders problems as a reader meets them in the file; problems
// without a line (environment, defaults) keep their order and come last.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
