// Package validators checks a policy repository the way CI needs it: it parses
// and strictly compiles every Rego module and data file under the given paths
// (check), runs the Rego tests with OPA's tester and optional coverage (test),
// and evaluates validator rules — Rego modules of their own, shipped under
// validators/rules and extendable with user directories — over a summary of the
// repository (rules). Findings can be filtered against a baseline and silenced
// inline with a "# belladonna:ignore RULE" comment.
//
// The model: Validate returns a Result; it never prints. Rendering is the job
// of validators/report, deciding the exit code is the caller's, using
// Result.Failed and Result.CheckFailed.
//
// Pitfalls: nothing runs on a half-loaded tree. When any file fails to parse
// or compile, the tests and the rules that need a compiled tree (custom
// needs_compile: true in their METADATA) are reported as not run rather than
// evaluated over whatever happened to compile. Lint rules only need the parse,
// so they still run over the modules that parsed.
//
// # Validator rule contract
//
// A rule is a Rego module in package validators.<category>.<name> with package
// METADATA (title, description, custom.category, custom.severity and,
// optionally, custom.needs_compile). Its rule id is "<category>/<name>" with
// underscores in the name turned into hyphens (validators.style.line_length is
// style/line-length). It defines a set named findings whose elements are
// objects {message, file, line, col, severity, rule}; only message is
// required: rule defaults to the id, severity to custom.severity. Each rule
// package is queried on its own (data.validators.<category>.<name>.findings),
// so a rule that fails to evaluate yields a validator-error finding instead of
// taking the others down. Helpers live in other packages (validators.lib).
//
// The input document is built by BuildInput; see the input.go comment for its
// shape.
package validators
