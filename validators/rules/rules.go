// Package rules embeds Belladonna's shipped validator rules: one directory per
// rule, validators/rules/<category>/<name>/<name>.rego in package
// validators.<category>.<name>, with a <name>_test.rego beside it, and shared
// helpers in lib/. See the validators package documentation for the contract
// a rule follows and the input it receives.
package rules

import "embed"

// FS holds the rule modules and their tests, rooted at this directory
// (paths like "style/line_length/line_length.rego").
//
//go:embed bugs config idiomatic imports lib policy style testing
var FS embed.FS
