// Package rules embeds Belladonna's default correlation rules: one directory
// per rule, rules/<name>/<name>.rego in package correlate.<name>, with a
// <name>_test.rego beside it. The correlate package documents the contract a
// rule follows and the input it receives.
package rules

import "embed"

// FS holds the rule modules and their tests, rooted at this directory
// (paths like "brute_force/brute_force.rego").
//
//go:embed brute_force ebpf_burst rollback_without_approval signature_then_activation
var FS embed.FS
