package correlate

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Error codes of problems found loading rules, beside OPA's own
// (rego_parse_error, rego_compile_error, rego_type_error, ...).
const (
	// CodeMetadata marks a rule whose METADATA is missing or invalid.
	CodeMetadata = "correlate_metadata_error"
	// CodeDuplicate marks a rule name defined by two files.
	CodeDuplicate = "correlate_duplicate_rule"
	// CodeRead marks a rule directory or file that could not be read.
	CodeRead = "correlate_read_error"
)

// Problem is one thing wrong with a rule file, at file:line:col.
type Problem struct {
	File    string
	Row     int
	Col     int
	Code    string
	Message string
}

func (p Problem) String() string {
	if p.File == "" {
		return fmt.Sprintf("%s: %s", p.Code, p.Message)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Row, p.Col, p.Code, p.Message)
}

// LoadError lists every problem found loading the rules. New returns it when
// any rule (default or user) does not read, parse, compile or carry valid
// metadata; no Engine is built from a partly broken rule set. Callers match
// it with errors.AsType.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "correlation rules: %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func problemFromAST(err *ast.Error) Problem {
	p := Problem{Code: err.Code, Message: err.Message}
	if err.Location != nil {
		p.File, p.Row, p.Col = err.Location.File, err.Location.Row, err.Location.Col
	}
	return p
}

func problemAt(loc *ast.Location, code, format string, args ...any) Problem {
	p := Problem{Code: code, Message: fmt.Sprintf(format, args...)}
	if loc != nil {
		p.File, p.Row, p.Col = loc.File, loc.Row, loc.Col
	}
	return p
}

// UnknownRuleError reports rule names given to an option (WithRuleParams,
// WithDisabled) that match no loaded rule, so that a typo does not silently
// leave a rule unconfigured.
type UnknownRuleError struct {
	Names []string
	Known []string
}

func (e *UnknownRuleError) Error() string {
	return fmt.Sprintf("unknown correlation rule(s): %s; known rules: %s",
		strings.Join(e.Names, ", "), strings.Join(e.Known, ", "))
}

// EvalError reports a rule that failed while evaluating one entry (a
// conflict, a builtin error, an incident of the wrong shape). The other
// rules' incidents for that entry are still returned beside it.
type EvalError struct {
	Rule  string
	Index uint64 // the entry being processed
	Err   error
}

func (e *EvalError) Error() string {
	return fmt.Sprintf("correlation rule %s at entry %d: %v", e.Rule, e.Index, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }
