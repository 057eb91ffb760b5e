// Package policies holds Belladonna's shipped Rego library: security
// policies (authz, authn, ratelimit), syscall event rules, compliance
// controls (SOC 2, ISO/IEC 27001, GDPR, NIST CSF 2.0, SOX ITGCs) with their
// tests, and the library's default configuration data under config/, which
// lands at data.config.<component>.
//
// FS is rooted at this directory, so the paths inside it ("security/authz/
// authz.rego", "config/authz/data.json", ...) are the paths OPA's loader and
// bundle builder use to derive data paths. See README.md for the packages,
// entrypoints, input shapes and data keys.
package policies

import "embed"

// FS is the library: every .rego module (including *_test.rego) and every
// data.json of the directories below.
//
//go:embed all:security all:syscall all:compliance all:config
var FS embed.FS
